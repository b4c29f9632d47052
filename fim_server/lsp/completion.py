"""From a document and a cursor to a suggestion: gating, cache, debounce, model.

Order of checks for one request:

1. gating: language turned off, unusable document;
2. the cache (exact or type-through hit), which needs no model call;
3. the comment and string settings at the cursor;
4. a speculative call already running for the same cursor, which is joined;
5. otherwise a latest-wins ticket, the adaptive debounce wait and a model call.

Steps 1 to 3 also supersede the document's older request, as step 5 does.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, replace

from ..pipeline import CompletionRequest, FillCancelled
from .cache import CompletionCache, context_key, effort_covers
from .debounce import AdaptiveDebounce
from .documents import OpenDocument
from .engines import ModelUnavailable, PipelineHolder
from .scheduler import LatestWins, Superseded, Ticket
from .scope import cursor_scope
from .settings import SCOPE_POLICIES, LspSettings
from .stats import ServerStats

log = logging.getLogger("fim_server.lsp.completion")


@dataclass(frozen=True, slots=True)
class Suggestion:
    """The result of one request: a suggestion (possibly empty) and how it was produced."""

    kind: str  # an outcome name from ``stats``
    text: str = ""
    offset: int = 0  # cursor, in code points
    replace_chars: int = 0  # code points after the cursor that ``text`` replaces
    speculative: bool = False  # produced by a speculative call
    reason: str = ""  # why there is no suggestion, for logs


class CompletionService:
    def __init__(self, *, pipelines: PipelineHolder, cache: CompletionCache, debounce: AdaptiveDebounce,
                 scheduler: LatestWins, stats: ServerStats) -> None:
        self.pipelines = pipelines
        self.cache = cache
        self.debounce = debounce
        self.scheduler = scheduler
        self.stats = stats
        # (uri, context key) -> (future of the running model call, its effort)
        self._inflight: dict[tuple, tuple[asyncio.Future[Suggestion], str]] = {}
        self._speculations: set[asyncio.Task] = set()

    # -- requests -------------------------------------------------------------------

    async def suggest(self, doc: OpenDocument, offset: int, settings: LspSettings, *, invoked: bool) -> Suggestion:
        reason = document_gate(doc, settings)
        if reason:
            self.scheduler.supersede(doc.uri)
            return Suggestion("skipped", offset=offset, reason=reason)
        text = doc.text
        effort = settings.effort if invoked else settings.typing_effort
        # A hit skips the scope check (and its reparse): the entry passed it when it was stored.
        hit = self.cache.lookup(doc.uri, text, offset, effort=effort)
        if hit is not None:
            self.scheduler.supersede(doc.uri)
            return Suggestion(hit.kind, hit.text, offset, hit.replace_chars, hit.source == "speculative")
        reason = scope_gate(doc, offset, settings)
        if reason:
            self.scheduler.supersede(doc.uri)
            return Suggestion("skipped", offset=offset, reason=reason)
        running, running_effort = self._inflight.get((doc.uri, context_key(text, offset)), (None, None))
        if running is not None and effort_covers(running_effort, effort):
            try:
                return replace(await asyncio.shield(running), kind="joined")
            except Superseded:
                return Suggestion("superseded", offset=offset, reason="the call it joined was superseded")
        ticket = self.scheduler.begin(doc.uri)
        try:
            delay_ms = 0.0 if invoked else self.debounce.delay_ms(
                doc.uri, settings.debounce_min_ms, settings.debounce_max_ms)
            await self.scheduler.wait(ticket, delay_ms / 1000)
            return await self._call_model(doc, text, offset, settings, ticket, effort=effort)
        except Superseded:
            return Suggestion("superseded", offset=offset, reason="a newer request for this document replaced it")
        finally:
            self.scheduler.finish(ticket)

    async def _call_model(self, doc: OpenDocument, text: str, offset: int, settings: LspSettings,
                          ticket: Ticket, *, effort: str) -> Suggestion:
        pipeline = await self.pipelines.get()
        ticket.check()
        if doc.document.text is not text:
            # An edit arrived during the wait; run_request drops results for an older version anyway.
            raise Superseded()
        key = (doc.uri, context_key(text, offset))
        running: asyncio.Future[Suggestion] = asyncio.get_running_loop().create_future()
        self._inflight[key] = (running, effort)
        self.stats.model_efforts[effort] += 1
        request = CompletionRequest(text=text, offset=offset, language=doc.language, path=doc.path,
                                    effort=effort,
                                    max_lines=settings.max_lines,
                                    min_confidence=settings.min_confidence,
                                    comments=SCOPE_POLICIES[settings.in_comments],
                                    strings=SCOPE_POLICIES[settings.in_strings])
        started = time.perf_counter()
        try:
            # The pipeline reads the open document's syntax tree, so an edit is parsed once. Its
            # context step runs before the first await in complete_async, so no edit can interleave.
            result = await pipeline.complete_async(request, ticket.cancel, document=doc.document)
            suggestion = self._remember(doc.uri, text, offset, result, ticket.speculative, started, effort)
        except FillCancelled:
            self.stats.model_calls += 1
            self.stats.model_cancelled += 1
            self._settle(key, running, error=Superseded())
            raise Superseded() from None
        except asyncio.CancelledError:
            self.stats.model_calls += 1
            self.stats.model_cancelled += 1  # complete_async has set ticket.cancel, so the engine stops too
            self._settle(key, running, error=Superseded())
            raise
        except BaseException as exc:
            self._settle(key, running, error=exc)
            raise
        self._settle(key, running, suggestion=suggestion)
        return suggestion

    def _settle(self, key: tuple, running: asyncio.Future[Suggestion], *, suggestion: Suggestion | None = None,
                error: BaseException | None = None) -> None:
        """Finish the in-flight entry that joined requests wait on."""
        if self._inflight.get(key, (None,))[0] is running:
            del self._inflight[key]
        if error is None:
            running.set_result(suggestion)
            return
        running.set_exception(error)
        running.exception()  # marks it retrieved; each joined request raises it again

    def _remember(self, uri: str, text: str, offset: int, result, speculative: bool, started: float,
                  effort: str) -> Suggestion:
        """Record the latency, fill the cache and turn a pipeline result into a suggestion."""
        if "fill" not in result.steps:
            return Suggestion("skipped", offset=offset, reason=result.rejected or "no completion at this cursor")
        self.stats.model_calls += 1
        latency_ms = (time.perf_counter() - started) * 1000
        self.stats.model_ms.append(latency_ms)
        self.debounce.record_latency(latency_ms)
        replace_chars = result.end.character - result.start.character if result.end.line == result.start.line else 0
        source = "speculative" if speculative else "model"
        self.cache.store(uri, text, offset, result.text, replace_chars, source, effort)
        return Suggestion("model", result.text, offset, replace_chars, speculative, result.rejected or "")

    # -- speculation after an accept ----------------------------------------------------------

    def speculate(self, doc: OpenDocument, offset: int, settings: LspSettings) -> bool:
        """Start a model call for the cursor after an accepted suggestion, if the model is idle."""
        if not self.scheduler.idle:
            return False
        if document_gate(doc, settings):
            return False
        text = doc.text
        if scope_gate(doc, offset, settings):
            return False
        if self.cache.lookup(doc.uri, text, offset, effort=settings.typing_effort) is not None:
            return False
        task = asyncio.get_running_loop().create_task(self._speculate(doc, text, offset, settings))
        self._speculations.add(task)
        task.add_done_callback(self._speculations.discard)
        return True

    async def _speculate(self, doc: OpenDocument, text: str, offset: int, settings: LspSettings) -> None:
        ticket = self.scheduler.begin(doc.uri, speculative=True)
        self.stats.speculative_calls += 1
        try:
            await self._call_model(doc, text, offset, settings, ticket, effort=settings.typing_effort)
        except (Superseded, ModelUnavailable):
            pass
        except Exception:
            log.exception("speculative completion for %s failed", doc.uri)
        finally:
            self.scheduler.finish(ticket)

    def cancel_all(self) -> None:
        self.scheduler.supersede_all()
        for task in list(self._speculations):
            task.cancel()


def document_gate(doc: OpenDocument, settings: LspSettings) -> str | None:
    """Return why this document gets no suggestions at all, or None."""
    if not settings.language_enabled(doc.language_id):
        return f"suggestions are off for language {doc.language_id!r} (setting 'languages')"
    return doc.unusable_reason(settings.max_document_chars)


def scope_gate(doc: OpenDocument, offset: int, settings: LspSettings) -> str | None:
    """Return why the comment and string settings rule out a suggestion at ``offset``, or None.

    "line" and "on" go to the pipeline with the request, which then decides the mode.
    """
    scope = cursor_scope(doc.document, offset)
    behaviour = {"comment": settings.in_comments, "string": settings.in_strings}.get(scope, "on")
    if behaviour == "off":
        return f"the cursor is in a {scope} and suggestions there are off"
    return None


__all__ = ["CompletionService", "Suggestion", "document_gate", "scope_gate"]
