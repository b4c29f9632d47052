"""The one completion pipeline behind every front end (CLI, stdio, LSP, HTTP, eval).

Steps: ``context`` (window and mode), ``fill`` (model), ``postprocess`` (filters)
and ``rank`` (syntax validity, then the engine's ranking). Each step records its
time in milliseconds; ``CompletionResult.steps`` lists the steps that ran.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from dataclasses import dataclass
from typing import Literal, Protocol, get_args

import msgspec

from .context import ContextWindow, Document, detect_language, extract_window, postprocess, syntax_error_delta
from .context.mode import POLICIES, LiteralPolicy
from .context.positions import LineIndex
from .engine.types import EFFORTS, FillCancelled, confidence_floor_problem
from .quoting import json_value

log = logging.getLogger("fim_server.pipeline")

MAX_DOCUMENT_CHARS = 20_000_000


class Position(msgspec.Struct, frozen=True):
    """Zero-based line and character (Python code points) in the document."""

    line: int
    character: int


Mode = Literal["auto", "line", "block"]  # "auto" decides line or block from the code at the cursor
MODES = get_args(Mode)


class CompletionRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A document and a cursor, or a prefix and suffix, plus completion options.

    Give either ``text`` with ``line``/``character`` (zero-based, code points) or
    ``offset``, or give ``prefix`` (and optionally ``suffix``) directly.
    ``comments`` and ``strings`` set what a cursor inside a comment or a string
    gets: "complete" (decided as in code), "line" (the rest of the line) or
    "none" (no completion). A ``mode`` of "line" or "block" replaces the mode
    decided from the code, but a "none" policy still offers nothing.
    ``min_confidence`` (0 to 1) drops candidates whose confidence, the
    geometric mean probability of their tokens, is below it. 0 keeps all, and
    leaving it out uses the pipeline's default (the ``min_confidence`` setting).
    """

    text: str | None = None
    line: int | None = None
    character: int | None = None
    offset: int | None = None
    prefix: str | None = None
    suffix: str | None = None
    language: str | None = None
    path: str | None = None
    effort: str | None = None
    # null in mode, comments or strings means the default, as leaving the field out does.
    mode: Mode | None = "auto"
    max_lines: int | None = None
    min_confidence: float | None = None
    comments: LiteralPolicy | None = "line"
    strings: LiteralPolicy | None = "line"


_DEFAULT_REQUEST = CompletionRequest()


class CandidateInfo(msgspec.Struct, kw_only=True):
    text: str
    confidence: float
    syntax_errors_added: int | None
    rejected: str | None
    replace_chars: int = 0  # characters right of the cursor (on its line) that the text replaces
    fit: float | None = None  # the engine's ranking score, where it has one (see engine Candidate.fit)


class CompletionResult(msgspec.Struct, kw_only=True):
    """A completion (possibly empty), where it goes and how it was produced."""

    text: str
    start: Position  # replace range start (the cursor)
    end: Position  # replace range end (beyond the cursor when closing characters are replaced)
    confidence: float
    mode: str
    mode_reason: str
    language: str | None
    effort: str
    steps: list[str]
    timings_ms: dict[str, float]
    model_steps: int = 0
    cache: str | None = None
    # The effort's time budget ended denoising early; the last step committed what was left.
    budget_hit: bool = False
    rejected: str | None = None
    candidates: list[CandidateInfo] = []


class RequestError(ValueError):
    """An invalid request; the message names the field and the reason."""


class Engine(Protocol):
    kind: str

    def fill(self, prefix: str, suffix: str, *, canvas_tokens: int, effort: str, should_stop=None): ...


def resolve_cursor(request: CompletionRequest) -> tuple[str, int]:
    """Return (document text, cursor offset) after checking the request."""
    if request.text is not None and (request.prefix is not None or request.suffix is not None):
        raise RequestError("conflicting input: give either 'text' with a cursor, or 'prefix' and 'suffix', not both")
    if request.offset is not None and (request.line is not None or request.character is not None):
        raise RequestError("conflicting cursor: give either 'offset', or 'line' and 'character', not both")
    if request.text is None:
        if request.prefix is None:
            raise RequestError("missing input: give 'text' with a cursor, or 'prefix' (and 'suffix')")
        return request.prefix + (request.suffix or ""), len(request.prefix)
    text = request.text
    if len(text) > MAX_DOCUMENT_CHARS:
        raise RequestError(f"document too large: {len(text)} characters, limit {MAX_DOCUMENT_CHARS}")
    if "\x00" in text[:8192]:
        raise RequestError("document looks binary (contains NUL bytes); completions are only offered for text")
    if request.offset is not None:
        if not 0 <= request.offset <= len(text):
            raise RequestError(f"invalid offset {request.offset}: the document has {len(text)} characters")
        return text, request.offset
    if request.line is None or request.character is None:
        raise RequestError("missing cursor: give 'line' and 'character' (zero-based) or 'offset'")
    index = LineIndex(text)
    if not 0 <= request.line < index.line_count:
        count = f"{index.line_count} line" + ("" if index.line_count == 1 else "s")
        raise RequestError(f"invalid line {request.line}: the document has {count} (zero-based)")
    start, end = index.line_span(text, request.line)
    if not 0 <= request.character <= end - start:
        raise RequestError(
            f"invalid character {request.character} on line {request.line}: the line has {end - start} characters"
        )
    offset = start + request.character
    return text, offset


def retrieve_outcome(future: asyncio.Future) -> None:
    """Mark a future's exception as retrieved, for fills whose caller has stopped waiting."""
    if not future.cancelled():
        future.exception()


def offset_to_position(text: str, offset: int) -> Position:
    """Return the line and character (code points) of ``offset``. Lines end at \\n, \\r\\n or \\r, as in the LSP."""
    return Position(*LineIndex(text).offset_to_position(text, offset, "utf-32"))


@dataclass(slots=True)
class _Context:
    """The outcome of the context step: the window and the result that the later steps fill in."""

    window: ContextWindow
    result: CompletionResult
    max_lines: int
    min_confidence: float


class CompletionPipeline:
    """Run requests through context, model, post-processing and ranking.

    Model calls run on one dedicated worker thread so that the engine (which is
    not re-entrant) is never used concurrently and async callers stay responsive.
    """

    def __init__(self, engine: Engine, *, default_effort: str = "low", max_lines: int = 20,
                 min_confidence: float = 0.0) -> None:
        self.engine = engine
        self.default_effort = default_effort
        self.max_lines = max_lines
        self.min_confidence = min_confidence
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="fim-engine")

    def complete(self, request: CompletionRequest, should_stop=None, *,
                 document: Document | None = None) -> CompletionResult:
        """Run the whole pipeline synchronously. Raises RequestError or FillCancelled.

        ``document`` is the caller's parsed copy of ``request.text``. Passing it
        reuses its syntax tree instead of parsing the text again, and the
        caller must not edit it until this returns.
        """
        context = self._context(request, document)
        if context.window.mode == "none":
            return context.result
        return self._generate(context, should_stop)

    def _context(self, request: CompletionRequest, document: Document | None) -> _Context:
        effort = request.effort or self.default_effort
        if effort not in EFFORTS:
            raise RequestError(f"invalid effort {json_value(effort)}: use one of {', '.join(EFFORTS)}")
        policies = {name: getattr(request, name) or getattr(_DEFAULT_REQUEST, name) for name in ("comments", "strings")}
        for name, policy in policies.items():
            if policy not in POLICIES:
                raise RequestError(f"invalid {name} {json_value(policy)}: use one of {', '.join(POLICIES)}")
        if request.max_lines is not None and request.max_lines < 1:
            raise RequestError(f"invalid max_lines {request.max_lines}: use 1 or more, or leave it out for the default")
        floor = self.min_confidence if request.min_confidence is None else request.min_confidence
        problem = confidence_floor_problem(floor)
        if problem:
            raise RequestError(f"invalid min_confidence {json_value(floor)}: {problem}")
        text, offset = resolve_cursor(request)
        if document is not None and document.text is not text and document.text != text:
            raise RequestError("the document passed with the request does not contain the request's text")
        timings: dict[str, float] = {}
        started = time.perf_counter()
        language = document.language if document is not None else detect_language(request.language, request.path)
        window = extract_window(text, offset, language, mode=request.mode or _DEFAULT_REQUEST.mode, **policies,
                                document=document, cache_key=request.path)
        timings["context"] = (time.perf_counter() - started) * 1000
        cursor = offset_to_position(text, offset)
        result = CompletionResult(
            text="", start=cursor, end=cursor, confidence=0.0, mode=window.mode, mode_reason=window.mode_reason,
            language=language, effort=effort, steps=["context"], timings_ms=timings,
        )
        if window.mode == "none":
            result.rejected = f"no completion here: {window.mode_reason}"
        return _Context(window, result, request.max_lines or self.max_lines, floor)

    def _generate(self, context: _Context, should_stop) -> CompletionResult:
        """Run the fill, post-processing and rank steps for a window that wants a completion."""
        window, result = context.window, context.result
        steps, timings = result.steps, result.timings_ms
        steps.append("fill")
        started = time.perf_counter()
        filled = self.engine.fill(window.prefix, window.suffix, canvas_tokens=window.canvas_tokens,
                                  effort=result.effort, should_stop=should_stop)
        timings["fill"] = (time.perf_counter() - started) * 1000
        for name, value in filled.timings_ms.items():
            timings[f"fill.{name}"] = value
        result.model_steps, result.cache = filled.steps, filled.cache
        result.budget_hit = filled.budget_hit

        steps.append("postprocess")
        started = time.perf_counter()
        processed = [postprocess(c.text, window, max_lines=context.max_lines) for c in filled.candidates]
        timings["postprocess"] = (time.perf_counter() - started) * 1000

        steps.append("rank")
        started = time.perf_counter()
        infos = []
        for candidate, done in zip(filled.candidates, processed):
            delta = None if done.rejected else syntax_error_delta(window, done.text, replace_chars=done.replace_chars)
            infos.append(CandidateInfo(text=done.text, confidence=candidate.confidence,
                                       syntax_errors_added=delta, rejected=done.rejected,
                                       replace_chars=done.replace_chars, fit=candidate.fit))
        floor = context.min_confidence
        for info in infos:
            if info.rejected is None and info.confidence < floor:
                info.rejected = f"confidence {info.confidence:.3f} is below min_confidence {floor:g}"
        usable = [info for info in infos if info.rejected is None]
        # A stable sort: among candidates that add as many syntax errors, the engine's ranking decides.
        usable.sort(key=lambda info: info.syntax_errors_added or 0)
        timings["rank"] = (time.perf_counter() - started) * 1000
        result.candidates = infos
        if not usable:
            result.rejected = infos[0].rejected if infos else "the model produced no candidate"
            return result
        best = usable[0]
        result.text, result.confidence = best.text, best.confidence
        result.end = Position(result.start.line, result.start.character + best.replace_chars)
        return result

    async def complete_async(self, request: CompletionRequest, cancelled: threading.Event | None = None, *,
                             document: Document | None = None) -> CompletionResult:
        """Run ``complete`` on the engine thread; setting ``cancelled`` stops it within one step.

        With ``document``, the context step runs here, on the caller's thread,
        so the caller may edit the document as soon as this coroutine first
        yields. Only the model and the steps after it run on the engine thread.
        """
        loop = asyncio.get_running_loop()
        event = cancelled or threading.Event()
        if document is None:
            future = loop.run_in_executor(self._executor, self.complete, request, event.is_set)
        else:
            context = self._context(request, document)
            if context.window.mode == "none":
                return context.result
            future = loop.run_in_executor(self._executor, self._generate, context, event.is_set)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            event.set()
            # The fill now ends with FillCancelled, which no caller awaits. Retrieving it stops asyncio
            # from logging "Future exception was never retrieved".
            future.add_done_callback(retrieve_outcome)
            raise

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


__all__ = [
    "CompletionPipeline",
    "CompletionRequest",
    "CompletionResult",
    "FillCancelled",
    "Position",
    "RequestError",
]
