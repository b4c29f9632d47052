"""$/cancelRequest, latest wins per document, and a request storm: one reply per id."""

import asyncio
import random

import pytest
from lsprotocol import types
from lsp_helpers import count_responses, inline_params, insert_text, open_document, stats
from pygls.exceptions import JsonRpcRequestCancelled
from pytest_lsp import LanguageClient

pytestmark = pytest.mark.asyncio(loop_scope="session")


def send_inline(client: LanguageClient, msg_id: str, uri: str, line: int, character: int, invoked: bool = True):
    future = client.protocol.send_request(types.TEXT_DOCUMENT_INLINE_COMPLETION,
                                          inline_params(uri, line, character, invoked), msg_id=msg_id)
    return asyncio.wrap_future(future)


def cancel(client: LanguageClient, msg_id: str) -> None:
    client.protocol.notify(types.CANCEL_REQUEST, types.CancelParams(id=msg_id))


def responses(client: LanguageClient):
    if not hasattr(client, "response_counts"):
        client.response_counts = count_responses(client)
    return client.response_counts


async def wait_until(client: LanguageClient, condition, timeout: float = 30.0) -> dict:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        current = await stats(client)
        if condition(current) or asyncio.get_running_loop().time() > deadline:
            return current
        await asyncio.sleep(0.05)


async def start_model_call(client: LanguageClient, msg_id: str, uri: str) -> tuple[dict, asyncio.Future]:
    """Open ``uri``, request a suggestion at its end and wait until the engine runs it."""
    open_document(client, uri, "total = ")
    before = await stats(client)
    reply = send_inline(client, msg_id, uri, 0, 8)
    running = await wait_until(client, lambda current: current["engineThread"]["busy"])
    assert running["engineThread"]["busy"] is True
    return before, reply


async def test_cancel_stops_the_model(slow: LanguageClient):
    counts = responses(slow)
    before, reply = await start_model_call(slow, "cancel-stop", "file:///tmp/cancel/stop.py")
    cancel(slow, "cancel-stop")
    with pytest.raises(JsonRpcRequestCancelled):
        await reply
    cancelled_before = before["engineThread"]["cancelledFills"]
    after = await wait_until(slow, lambda current: current["engineThread"]["cancelledFills"] > cancelled_before)
    assert after["engineThread"]["cancelledFills"] == cancelled_before + 1
    assert after["engineThread"]["fills"] == before["engineThread"]["fills"]  # it did not run to the end
    assert counts["cancel-stop"] == 1


async def test_newer_request_supersedes_older(slow: LanguageClient):
    counts = responses(slow)
    uri = "file:///tmp/cancel/supersede.py"
    before, older = await start_model_call(slow, "older", uri)
    insert_text(slow, uri, 2, 0, 8, "x")
    newer = send_inline(slow, "newer", uri, 0, 9)
    assert list(await older) == []
    [item] = await newer
    assert item.insert_text == "slow_completion()"
    after = await stats(slow)
    assert after["outcomes"]["superseded"] == before["outcomes"].get("superseded", 0) + 1
    assert after["engineThread"]["cancelledFills"] == before["engineThread"]["cancelledFills"] + 1
    assert counts["older"] == 1
    assert counts["newer"] == 1


async def test_cancel_after_reply_is_harmless(vscode: LanguageClient):
    counts = responses(vscode)
    uri = "file:///tmp/cancel/late.py"
    open_document(vscode, uri, "total = ")
    [item] = await send_inline(vscode, "late-cancel", uri, 0, 8)
    cancel(vscode, "late-cancel")
    assert item.insert_text == "compute_total(items)"
    assert (await stats(vscode))["openDocuments"] >= 1  # still serving
    assert counts["late-cancel"] == 1


async def test_storm_answers_every_id_once(slow: LanguageClient):
    counts = responses(slow)
    rng = random.Random(7)
    uris = [f"file:///tmp/cancel/storm{number}.py" for number in range(4)]
    columns = {uri: 8 for uri in uris}
    versions = {uri: 1 for uri in uris}
    for uri in uris:
        open_document(slow, uri, "total = ")
    replies, cancellers, cancelled_ids = {}, [], set()

    async def cancel_later(msg_id: str, delay: float) -> None:
        await asyncio.sleep(delay)
        cancel(slow, msg_id)

    for number in range(200):
        uri = rng.choice(uris)
        if rng.random() < 0.5:
            versions[uri] += 1
            insert_text(slow, uri, versions[uri], 0, columns[uri], "x")
            columns[uri] += 1
        msg_id = f"storm-{number}"
        replies[msg_id] = send_inline(slow, msg_id, uri, 0, columns[uri], invoked=rng.random() < 0.2)
        if rng.random() < 0.3:
            cancelled_ids.add(msg_id)
            cancellers.append(asyncio.create_task(cancel_later(msg_id, rng.uniform(0, 0.05))))
        await asyncio.sleep(rng.uniform(0, 0.01))

    results = await asyncio.wait_for(asyncio.gather(*replies.values(), return_exceptions=True), 180)
    await asyncio.gather(*cancellers)
    await asyncio.sleep(0.5)  # a duplicate reply would arrive in this window

    for msg_id, result in zip(replies, results):
        assert counts[msg_id] == 1, msg_id
        if isinstance(result, Exception):
            assert isinstance(result, JsonRpcRequestCancelled), (msg_id, result)
            assert msg_id in cancelled_ids
        else:
            assert isinstance(result, (list, tuple)), (msg_id, result)
    assert sum(1 for result in results if isinstance(result, (list, tuple)) and result) >= 1
    after = await stats(slow)
    assert after["openDocuments"] >= 4
    open_document(slow, "file:///tmp/cancel/after_storm.py", "total = ")
    [item] = await send_inline(slow, "after-storm", "file:///tmp/cancel/after_storm.py", 0, 8)
    assert item.insert_text == "slow_completion()"
