"""Helpers that run the HTTP API on 127.0.0.1 (a free port) in a background thread."""

import threading
from contextlib import contextmanager

import uvloop

from fim_server.http import CompletionService, HttpOptions, bind_socket, create_app, make_server
from fim_server.http.common import LOOPBACK_HOST_NAMES
from fim_server.pipeline import CompletionPipeline


@contextmanager
def running_api(engine, *, api_key=None, max_body_bytes=4 * 1024 * 1024, request_timeout=30.0, max_inflight=64,
                allowed_hosts=LOOPBACK_HOST_NAMES, model_path=None, model_dtype=None, min_confidence=0.0):
    """Yield (base URL, service) while a real uvicorn server listens on loopback."""
    pipeline = CompletionPipeline(engine, min_confidence=min_confidence)
    service = CompletionService(pipeline, max_inflight=max_inflight, request_timeout=request_timeout)
    options = HttpOptions(model_name="test-model", api_key=api_key, max_body_bytes=max_body_bytes,
                          allowed_hosts=allowed_hosts, model_path=model_path, model_dtype=model_dtype)
    server = make_server(create_app(service, options))
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    thread = threading.Thread(target=lambda: uvloop.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    for _ in range(500):
        if server.started:
            break
        threading.Event().wait(0.01)
    try:
        yield f"http://127.0.0.1:{port}", service
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        service.close()
        pipeline.close()


def continuation(prefix: str, suffix: str) -> str:
    """Scripted model output that post-processing leaves alone; tests read FakeEngine.calls for the input."""
    return "result_value + 1"


