"""`fim-server serve --http-port`: /health, the model listings and completion replies name what serves the
requests, a model folder or the scripted engine."""

import concurrent.futures
import hashlib
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from daemon_helpers import short_socket_path

REPO = Path(__file__).resolve().parents[2]
SCRIPTED_NAME = "scripted-test-engine"
PREFIX = "def area(r):\n    return "
SUFFIX = "\n\nprint(area(2))\n"
# Completion endpoints without a "model" field in the request, so every reply takes the served name.
COMPLETION_REQUESTS = {
    "/v1/completions": {"prompt": PREFIX, "suffix": SUFFIX},
    "/v1/fim/completions": {"prompt": PREFIX, "suffix": SUFFIX},
    "/infill": {"input_prefix": PREFIX, "input_suffix": SUFFIX},
    "/api/generate": {"prompt": PREFIX, "suffix": SUFFIX, "stream": False},
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serving_http(*options: str):
    """Run `fim-server serve` with the HTTP API on a free loopback port, and yield its base URL once /health replies."""
    port = free_port()
    command = [sys.executable, "-m", "fim_server.cli", "serve", "--socket", str(short_socket_path("fimd-http-")),
               "--http-port", str(port), *options]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, f"serve exited with {process.returncode}: {process.stderr.read()}"
            assert time.monotonic() < deadline, "serve did not reply to /health within 120 s"
            try:
                httpx.get(url + "/health", timeout=5)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        process.stderr.close()


def test_health_reports_scripted_engine():
    with serving_http("--engine", "fake") as url:
        health = httpx.get(url + "/health", timeout=30).json()
    assert health["status"] == "ok"
    assert health["engine"] == "fake"
    assert health["model"] is None, "no model folder serves the scripted engine"
    assert health["scripted"] is True
    assert health["model_path"] is None
    assert "scripted test engine" in health["message"]


def test_health_reports_model_folder(random_model_path):
    with serving_http("--model", str(random_model_path), "--dtype", "float32", "--threads", "1") as url:
        health = httpx.get(url + "/health", timeout=30).json()
    assert health["status"] == "ok"
    assert health["engine"] == "diffusion"
    assert health["scripted"] is False
    assert health["model"] == random_model_path.name
    assert health["model_path"] == str(random_model_path)


@pytest.fixture(scope="module")
def scripted_url():
    with serving_http("--engine", "fake") as url:
        yield url


def test_scripted_engine_named_in_listings(scripted_url):
    models = httpx.get(scripted_url + "/v1/models", timeout=30).json()
    tags = httpx.get(scripted_url + "/api/tags", timeout=30).json()
    assert [entry["id"] for entry in models["data"]] == [SCRIPTED_NAME]
    assert [entry["name"] for entry in tags["models"]] == [SCRIPTED_NAME]
    assert [entry["model"] for entry in tags["models"]] == [SCRIPTED_NAME]


@pytest.mark.parametrize("path", list(COMPLETION_REQUESTS))
def test_scripted_engine_named_in_completion(scripted_url, path):
    response = httpx.post(scripted_url + path, json=COMPLETION_REQUESTS[path], timeout=60)
    assert response.status_code == 200, response.text
    assert response.json()["model"] == SCRIPTED_NAME


def test_model_folder_named_in_listings(random_model_path):
    with serving_http("--model", str(random_model_path), "--dtype", "float32", "--threads", "1") as url:
        models = httpx.get(url + "/v1/models", timeout=30).json()
        tags = httpx.get(url + "/api/tags", timeout=30).json()
    assert [entry["id"] for entry in models["data"]] == [random_model_path.name]
    assert [entry["name"] for entry in tags["models"]] == [random_model_path.name]


def test_tags_digest_names_weights_loaded_at_start(random_model_path, tmp_path):
    model = Path(shutil.copytree(random_model_path, tmp_path / "served"))
    weights = model / "model.safetensors"
    loaded_digest = hashlib.sha256(weights.read_bytes()).hexdigest()
    with serving_http("--model", str(model), "--dtype", "float32", "--threads", "1") as url:
        weights.write_bytes(b"replaced after the server started")
        tag = httpx.get(url + "/api/tags", timeout=30).json()["models"][0]
        completion = httpx.post(url + "/v1/completions", json=COMPLETION_REQUESTS["/v1/completions"], timeout=60)
    assert tag["digest"] == loaded_digest
    assert tag["details"]["quantization_level"] == "F32"
    assert completion.status_code == 200


def test_idle_timeout_waits_for_http_requests():
    # Each of the scripted engine's 4 steps sleeps 1 s, so the completion outlasts the 1 s idle timeout.
    with serving_http("--engine", "fake", "--fake-step-seconds", "1", "--idle-timeout", "1") as url:
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            slow = pool.submit(httpx.post, url + "/v1/completions", json={"prompt": PREFIX}, timeout=60)
            time.sleep(2.5)
            assert httpx.get(url + "/health", timeout=5).status_code == 200  # still up while the fill runs
            assert slow.result().status_code == 200
        deadline = time.monotonic() + 30
        while True:  # and it stops once idle
            try:
                httpx.get(url + "/health", timeout=1)
            except httpx.TransportError:
                break
            assert time.monotonic() < deadline, "the daemon kept running after its idle timeout"
            time.sleep(0.2)
