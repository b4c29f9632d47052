"""Fixtures for the HTTP API tests: a scripted engine behind a real server on loopback."""

import httpx
import pytest
from http_helpers import continuation, running_api

from fim_server.engine.fake import FakeEngine


@pytest.fixture
def fake_engine():
    return FakeEngine(continuation)


@pytest.fixture
def api(fake_engine):
    with running_api(fake_engine) as (url, _service):
        with httpx.Client(base_url=url, timeout=30) as client:
            yield client
