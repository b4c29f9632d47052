"""LSP features: lifecycle, configuration, inline completion and the completion fallback.

Every request gets exactly one reply: a result (possibly an empty list), an
error for a request the server cannot serve (a document that is not open, a
position outside the document), or RequestCancelled when the client cancelled
it. When a newer request for the same document arrives, the older one gets an
empty list.

``fimServer/stats`` (params ``{"recent": true}`` optional) returns counters
and, on request, the recent outcomes by request id; the typing benchmark reads
it. With the model daemon, its ``daemon`` entry contains the socket and the pids of
the daemons this server started.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping

from lsprotocol import types
from pygls.capabilities import get_capability
from pygls.exceptions import JsonRpcInternalError, JsonRpcInvalidParams

from ..daemon.client import DaemonError
from .completion import Suggestion
from .documents import DocumentNotOpen, InvalidPosition, OpenDocument
from .engines import ModelUnavailable
from .items import completion_list, inline_items
from .server import FimLanguageServer
from .settings import KNOWN_KEYS, SECTION

log = logging.getLogger("fim_server.lsp.handlers")

STATS_METHOD = "fimServer/stats"
CONFIGURATION_TIMEOUT_S = 10.0
_HIT_KINDS = ("exact", "type_through")


# -- lifecycle and configuration ----------------------------------------------------------------


def initialize(ls: FimLanguageServer, params: types.InitializeParams) -> None:
    capabilities = params.capabilities
    ls.client_pulls_configuration = bool(get_capability(capabilities, "workspace.configuration", False))
    client = params.client_info.name if params.client_info else "an unnamed client"
    inline = get_capability(capabilities, "text_document.inline_completion") is not None
    log.info("initialize from %s: inline completion %s, position encoding %s", client,
             "supported" if inline else "not supported", ls.encoding)
    if params.initialization_options is not None:
        ls.apply_settings("initializationOptions", params.initialization_options, "initializationOptions")
    if not inline and types.TEXT_DOCUMENT_COMPLETION not in ls.protocol.fm.features:
        ls.feature(types.TEXT_DOCUMENT_COMPLETION, types.CompletionOptions(resolve_provider=False))(completion)


async def initialized(ls: FimLanguageServer, params: types.InitializedParams) -> None:
    if ls.client_pulls_configuration:
        await pull_configuration(ls)
    ls.on_initialized()


async def pull_configuration(ls: FimLanguageServer) -> None:
    """Read the ``fimServer`` section with ``workspace/configuration``."""
    request = types.ConfigurationParams(items=[types.ConfigurationItem(section=SECTION)])
    try:
        values = await asyncio.wait_for(ls.workspace_configuration_async(request), CONFIGURATION_TIMEOUT_S)
    except TimeoutError:
        log.warning("workspace/configuration timed out after %.0f s; keeping the current settings",
                    CONFIGURATION_TIMEOUT_S)
        return
    except Exception as exc:  # a client that fails this request must not stop the server
        log.warning("workspace/configuration failed (%s: %s); keeping the current settings", type(exc).__name__, exc)
        return
    if values and values[0] is not None:
        ls.apply_settings("workspace", values[0], "workspace/configuration")


async def did_change_configuration(ls: FimLanguageServer, params: types.DidChangeConfigurationParams) -> None:
    raw = params.settings
    relevant = isinstance(raw, Mapping) and (SECTION in raw or any(key in raw for key in KNOWN_KEYS))
    if relevant or (raw is not None and not isinstance(raw, Mapping)):
        ls.apply_settings("workspace", raw, "workspace/didChangeConfiguration")
    elif ls.client_pulls_configuration:
        await pull_configuration(ls)


async def shutdown(ls: FimLanguageServer, params: None) -> None:
    await ls.shutdown_work()


def stats(ls: FimLanguageServer, params) -> dict:
    recent = bool(getattr(params, "recent", None) or (isinstance(params, Mapping) and params.get("recent")))
    data = ls.stats.to_json(recent=recent)
    data["cachedSuggestions"] = len(ls.service.cache)
    data["openDocuments"] = len(ls.documents)
    data["engine"] = ls.engine_kind
    pipeline = ls.pipelines.current
    metered = getattr(pipeline.engine, "to_json", None) if pipeline is not None else None
    data["engineThread"] = metered() if metered else None
    daemon_info = getattr(pipeline.engine, "daemon_info", None) if pipeline is not None else None
    data["daemon"] = daemon_info() if daemon_info else None
    return data


# -- completions -------------------------------------------------------------------------------


def locate(ls: FimLanguageServer, uri: str, position: types.Position) -> tuple[OpenDocument, int]:
    try:
        doc = ls.documents.get(uri)
        return doc, doc.cursor_offset(position, ls.encoding)
    except (DocumentNotOpen, InvalidPosition) as exc:
        log.info("request %r rejected: %s", ls.protocol.msg_id, exc)
        raise JsonRpcInvalidParams(str(exc)) from None


async def run_request(ls: FimLanguageServer, doc: OpenDocument, offset: int, *, invoked: bool,
                 opened: OpenDocument | None = None) -> Suggestion:
    """Run the completion service for one request and record its outcome.

    ``opened`` is the stored document when ``doc`` is a detached copy of it; a
    suggestion for a document that changed meanwhile is dropped.
    """
    started = time.perf_counter()
    request_id = ls.protocol.msg_id
    opened = opened or doc
    version = opened.version
    try:
        result = await ls.service.suggest(doc, offset, ls.settings, invoked=invoked)
    except asyncio.CancelledError:
        ls.stats.record(request_id, "cancelled", started)
        raise
    except ModelUnavailable as exc:
        ls.stats.record(request_id, "skipped", started)
        log.info("no suggestion for request %r: %s", request_id, exc)
        return Suggestion("skipped", offset=offset, reason=str(exc))
    except DaemonError as exc:
        ls.stats.record(request_id, "error", started)
        log.error("completion request %r for %s failed: %s", request_id, doc.uri, exc)
        raise JsonRpcInternalError(f"completion failed: the model daemon is unavailable: {exc}") from None
    except Exception as exc:
        ls.stats.record(request_id, "error", started)
        log.exception("completion request %r for %s failed", request_id, doc.uri)
        raise JsonRpcInternalError(f"completion failed: {type(exc).__name__}: {exc}") from None
    if result.kind not in _HIT_KINDS and (opened.version != version or ls.documents.find(doc.uri) is not opened):
        result = Suggestion("superseded", offset=offset, reason="the document changed while the model ran")
    if result.kind == "skipped" and doc.unusable_reason(ls.settings.max_document_chars):
        ls.tell_once(doc, result.reason)
    ls.stats.record(request_id, result.kind, started, len(result.text), result.speculative)
    if opened is doc:
        ls.remember_shown(doc, result)
    log.debug("request %r: %s (%d characters) %s", request_id, result.kind, len(result.text), result.reason)
    return result


async def inline_completion(ls: FimLanguageServer, params: types.InlineCompletionParams):
    doc, offset = locate(ls, params.text_document.uri, params.position)
    selected = params.context.selected_completion_info
    if selected is not None:
        return await _extend_selected(ls, doc, offset, selected)
    invoked = params.context.trigger_kind == types.InlineCompletionTriggerKind.Invoked
    result = await run_request(ls, doc, offset, invoked=invoked)
    return inline_items(doc, result, ls.encoding)


async def _extend_selected(ls: FimLanguageServer, doc: OpenDocument, offset: int,
                           selected: types.SelectedCompletionInfo):
    """Suggest text that continues the item selected in the client's completion menu.

    The suggestion is computed as if the selected item were inserted, and the
    returned item replaces the item's range with the item text plus the suggestion.
    """
    start = doc.cursor_offset_or_none(selected.range.start, ls.encoding)
    end = doc.cursor_offset_or_none(selected.range.end, ls.encoding)
    if start is None or end is None or not start <= offset <= end or "\n" in selected.text:
        return []
    virtual = doc.with_replacement(start, end, selected.text)
    result = await run_request(ls, virtual, start + len(selected.text), invoked=False, opened=doc)
    if not result.text:
        return []
    return [types.InlineCompletionItem(insert_text=selected.text + result.text, range=selected.range)]


async def completion(ls: FimLanguageServer, params: types.CompletionParams) -> types.CompletionList:
    doc, offset = locate(ls, params.text_document.uri, params.position)
    invoked = params.context is None or params.context.trigger_kind == types.CompletionTriggerKind.Invoked
    result = await run_request(ls, doc, offset, invoked=invoked)
    return completion_list(doc, result, ls.encoding)


def register(server: FimLanguageServer) -> None:
    """Attach the features to ``server`` (completion is added at initialize for clients without inline support)."""
    server.feature(types.INITIALIZE)(initialize)
    server.feature(types.INITIALIZED)(initialized)
    server.feature(types.SHUTDOWN)(shutdown)
    server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)(did_change_configuration)
    server.feature(types.TEXT_DOCUMENT_INLINE_COMPLETION, types.InlineCompletionOptions())(inline_completion)
    server.feature(STATS_METHOD)(stats)


__all__ = ["STATS_METHOD", "register"]
