"""A caller that stops waiting for a fill leaves no unretrieved exception for asyncio to log.

Both the pipeline's ``complete_async`` and the HTTP service stop the engine
when their caller is cancelled. The fill then ends with FillCancelled, which
no caller awaits. asyncio logs "Future exception was never retrieved" for such a
future when it is garbage-collected, unless its exception was retrieved.
"""

import asyncio
import gc

import pytest

from fim_server.engine.fake import FakeEngine
from fim_server.http import CompletionService
from fim_server.pipeline import CompletionPipeline, CompletionRequest

REQUEST = CompletionRequest(prefix="total = ", language="python")


async def cancel_and_collect(start, pipeline: CompletionPipeline, executor) -> list[dict]:
    """Cancel the task from ``start()`` mid-fill and return what the loop's exception handler received."""
    loop = asyncio.get_running_loop()
    reported: list[dict] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    task = asyncio.ensure_future(start())
    while not pipeline.engine.calls:
        await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # The engine thread runs one job at a time, so this no-op finishes after the cancelled fill.
    await loop.run_in_executor(executor, lambda: None)
    await asyncio.sleep(0.05)  # let the fill's outcome reach its asyncio future
    gc.collect()
    return reported


async def test_complete_async_cancel_logs_nothing():
    pipeline = CompletionPipeline(FakeEngine(steps=500, step_seconds=0.01))
    try:
        reported = await cancel_and_collect(lambda: pipeline.complete_async(REQUEST), pipeline, pipeline._executor)
    finally:
        pipeline.close()
    assert [context.get("message") for context in reported] == []


async def test_http_service_cancel_logs_nothing():
    pipeline = CompletionPipeline(FakeEngine(steps=500, step_seconds=0.01))
    service = CompletionService(pipeline, max_inflight=1, request_timeout=60)
    try:
        reported = await cancel_and_collect(lambda: service.complete(REQUEST), pipeline, service._executor)
    finally:
        service.close()
        pipeline.close()
    assert [context.get("message") for context in reported] == []
