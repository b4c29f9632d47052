"""The language server object: documents, settings, model and the completion service."""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging
import sys
import threading
from dataclasses import dataclass
from typing import BinaryIO

from lsprotocol import types
from pygls.io_ import StdinAsyncReader, StdoutWriter
from pygls.lsp.server import LanguageServer

from ..config import Settings
from ..context.positions import ENCODINGS, Encoding
from .cache import CompletionCache, context_key
from .completion import Suggestion, CompletionService
from .debounce import AdaptiveDebounce
from .documents import DocumentNotOpen, DocumentStore, OpenDocument
from .framing import MAX_BODY_BYTES, serve_frames
from .engines import ModelUnavailable, PipelineHolder, choose_loader
from .protocol import UNREADABLE, FimProtocol
from .scheduler import LatestWins
from .settings import LspSettings, PartlyAppliedSettings, SettingsError, SettingsState
from .stats import ServerStats

log = logging.getLogger("fim_server.lsp")

# Settings whose change makes cached suggestions stale.
_SUGGESTION_FIELDS = ("model", "effort", "typing_effort", "max_lines", "min_confidence", "in_comments", "in_strings")
# Settings whose change loads a new pipeline.
_ENGINE_FIELDS = ("model", "engine", "socket")


def _version() -> str:
    try:
        return importlib.metadata.version("fim-server")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


@dataclass(frozen=True, slots=True)
class ShownSuggestion:
    """The last suggestion sent for a document, to recognise its acceptance."""

    text: str
    offset: int
    replace_chars: int
    prefix_hash: int
    document_chars: int


class FimLanguageServer(LanguageServer):
    def __init__(self, *, server_settings: Settings, base: LspSettings, startup_error: str | None = None) -> None:
        super().__init__("fim-server", _version(), protocol_cls=FimProtocol)
        self.server_settings = server_settings
        self.default_model = server_settings.model
        loader, self.engine_kind = choose_loader(server_settings)
        self.startup_error = startup_error
        self.settings_state = SettingsState(base)
        self.documents = DocumentStore()
        self.stats = ServerStats()
        self.pipelines = PipelineHolder(loader)
        self.service = CompletionService(pipelines=self.pipelines, cache=CompletionCache(),
                                         debounce=AdaptiveDebounce(), scheduler=LatestWins(), stats=self.stats)
        self.last_shown: dict[str, ShownSuggestion] = {}
        self.client_pulls_configuration = False
        self._tasks: set[asyncio.Task] = set()
        self._initialized = False
        self.exit_code = 0  # the process's exit status once the transport stops

    # -- transports: pygls's, with the read loop of ``framing`` --------------------------------

    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        """Serve one client on stdin and stdout; ``exit_code`` is 1 after an ``exit`` without ``shutdown``."""
        self._stop_event = threading.Event()
        reader = StdinAsyncReader(stdin or sys.stdin.buffer, self.thread_pool)
        self.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
        try:
            code = asyncio.run(serve_frames(reader, self.protocol, self._stop_event, self.report_server_error))
            self.exit_code = code or 0
        except BrokenPipeError:
            log.error("the client closed the connection; shutting down")
        except KeyboardInterrupt:
            pass
        finally:
            self.shutdown()

    def start_tcp(self, host: str, port: int) -> None:
        """Serve one client at a time on a TCP port; the server stops when that client's session ends."""
        self._stop_event = stop_event = threading.Event()
        connected = False

        async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal connected
            peer = writer.get_extra_info("peername")
            if connected:
                # The protocol object, its documents and its replies belong to the first client.
                log.warning("connection from %s closed: another client is connected", peer)
                writer.close()
                return
            connected = True
            log.info("client connected from %s", peer)
            self.protocol.set_writer(writer)
            code = await serve_frames(reader, self.protocol, stop_event, self.report_server_error)
            self.exit_code = code or 0
            self.shutdown()

        async def listen() -> None:
            # asyncio drops a line over the limit, with any header at its end. With the limit at the largest
            # body, skipping a broken body line by line still finds the next frame's header.
            self._server = await asyncio.start_server(connection, host, port, limit=MAX_BODY_BYTES)
            async with self._server:
                await self._server.serve_forever()

        try:
            asyncio.run(listen())
        except asyncio.CancelledError:
            log.debug("the TCP server was cancelled")

    def report_server_error(self, error: Exception, source) -> None:
        if isinstance(error, UNREADABLE):
            self.protocol.reply_unreadable(error)
            return
        super().report_server_error(error, source)

    @property
    def settings(self) -> LspSettings:
        return self.settings_state.current

    @property
    def encoding(self) -> Encoding:
        chosen = str(getattr(self.workspace.position_encoding, "value", self.workspace.position_encoding))
        return chosen if chosen in ENCODINGS else "utf-16"

    # -- messages to the user -------------------------------------------------------------

    def tell_user(self, message: str, kind: types.MessageType = types.MessageType.Info, *, popup: bool = False) -> None:
        """Log ``message`` and send it to the editor (a popup for ``popup``, else the log panel)."""
        level = {types.MessageType.Error: logging.ERROR, types.MessageType.Warning: logging.WARNING}.get(
            kind, logging.INFO)
        log.log(level, "%s", message)
        if popup:
            self.window_show_message(types.ShowMessageParams(type=kind, message=f"fim-server: {message}"))
        else:
            self.window_log_message(types.LogMessageParams(type=kind, message=message))

    def tell_once(self, doc: OpenDocument, message: str) -> None:
        if message not in doc.notices:
            doc.notices.add(message)
            self.tell_user(f"no suggestions for {doc.uri}: {message}", types.MessageType.Warning)

    # -- settings and the model -----------------------------------------------------------

    def apply_settings(self, origin: str, raw: object, source: str) -> bool:
        """Validate and apply one settings layer; report bad keys, which keep their last valid values."""
        try:
            previous, layer = self.settings_state.update(origin, raw, source)
        except PartlyAppliedSettings as exc:
            self.tell_user(f"{exc}. Keeping the previous settings for these keys; the others apply.",
                           types.MessageType.Error, popup=True)
            previous, layer = exc.previous, exc.layer
        except SettingsError as exc:
            self.tell_user(f"{exc}. Keeping the previous settings.", types.MessageType.Error, popup=True)
            return False
        if layer.unknown:
            self.tell_user(f"ignoring unknown settings in {source}: {', '.join(layer.unknown)}",
                           types.MessageType.Warning, popup=True)
        current = self.settings
        if any(getattr(previous, name) != getattr(current, name) for name in _SUGGESTION_FIELDS):
            self.service.cache.clear()
        changed_engine = any(getattr(previous, name) != getattr(current, name) for name in _ENGINE_FIELDS)
        # A new idle timeout applies to daemons that the reloaded pipeline starts. Reconnecting to a
        # running daemon is cheap, and that daemon keeps its own timeout.
        if previous.idle_timeout != current.idle_timeout and self.engine_kind == "daemon":
            changed_engine = True
        if changed_engine and self._initialized:
            self.start_task(self.load_model())
        log.info("settings from %s applied: %s", source, current)
        self.window_log_message(types.LogMessageParams(type=types.MessageType.Info,
                                                       message=f"settings from {source} applied"))
        return True

    @property
    def model_path(self) -> str:
        return self.settings.model or self.default_model

    async def load_model(self) -> None:
        path = self.model_path
        loader, kind = choose_loader(self.server_settings, engine=self.settings.engine, socket=self.settings.socket,
                                     idle_timeout=self.settings.idle_timeout)
        self.tell_user(f"loading the {kind} engine from {path}")
        try:
            await self.pipelines.load(path, on_replace=self.service.cancel_all, loader=loader)
        except ModelUnavailable as exc:
            fix = ("Set 'engine' to \"local\" to load the model in the language server." if kind == "daemon"
                   else "Set 'modelPath' to a folder written by `fim-server train --export`.")
            self.tell_user(f"{exc}. {fix}", types.MessageType.Error, popup=True)
            return
        self.engine_kind = kind
        self.service.cache.clear()
        self.tell_user(f"model ready: {path} ({kind} engine)")

    def start_task(self, coroutine) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def on_initialized(self) -> None:
        self._initialized = True
        if self.startup_error:
            self.tell_user(f"{self.startup_error}. The server runs without these values; each one gives way "
                           "to the setting below it (flag, environment, config file, built-in default).",
                           types.MessageType.Error, popup=True)
        self.start_task(self.load_model())

    # -- document sync --------------------------------------------------------------------

    def open_document(self, params: types.DidOpenTextDocumentParams) -> None:
        doc = self.documents.open(params.text_document)
        log.debug("opened %s (%s, %d characters)", doc.uri, doc.language_id, len(doc.text))

    def change_document(self, params: types.DidChangeTextDocumentParams) -> None:
        uri = params.text_document.uri
        self.service.debounce.record_keystroke(uri)
        try:
            for change in params.content_changes:
                self.documents.apply(uri, params.text_document.version, change, self.encoding)
        except DocumentNotOpen as exc:
            log.warning("didChange ignored: %s", exc)
            return
        except ValueError as exc:
            self.forget(uri)
            self.tell_user(f"stopped tracking {uri} after an invalid edit ({exc}); reopen it to get suggestions",
                           types.MessageType.Warning, popup=True)
            return
        self._check_accept(self.documents.get(uri))

    def close_document(self, params: types.DidCloseTextDocumentParams) -> None:
        self.forget(params.text_document.uri)

    def forget(self, uri: str) -> None:
        self.documents.close(uri)
        self.service.scheduler.supersede(uri)
        self.service.cache.forget(uri)
        self.service.debounce.forget(uri)
        self.last_shown.pop(uri, None)

    # -- suggestions shown and accepted ---------------------------------------------------------

    def remember_shown(self, doc: OpenDocument, suggestion: Suggestion) -> None:
        if not suggestion.text:
            self.last_shown.pop(doc.uri, None)
            return
        key = context_key(doc.text, suggestion.offset)
        self.last_shown[doc.uri] = ShownSuggestion(suggestion.text, suggestion.offset, suggestion.replace_chars,
                                                   key.prefix_hash, len(doc.text))

    def _check_accept(self, doc: OpenDocument) -> None:
        """Start a speculative call when the last change inserted the whole shown suggestion."""
        shown = self.last_shown.pop(doc.uri, None)
        if shown is None:
            return
        text = doc.text
        end = shown.offset + len(shown.text)
        if len(text) != shown.document_chars + len(shown.text) - shown.replace_chars:
            return
        if text[shown.offset : end] != shown.text:
            return
        if context_key(text, shown.offset).prefix_hash != shown.prefix_hash:
            return
        self.stats.accepts += 1
        started = self.service.speculate(doc, end, self.settings)
        log.debug("accept in %s; speculative call %s", doc.uri, "started" if started else "not started")

    async def shutdown_work(self) -> None:
        self.service.cancel_all()
        for task in list(self._tasks):
            task.cancel()
        self.pipelines.close()


__all__ = ["FimLanguageServer"]
