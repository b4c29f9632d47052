"""The completion call behind every HTTP endpoint: limits, deadlines, stop strings and token caps."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import re
import time
from dataclasses import dataclass, field

from ..engine.batching import DeadlineExceeded, FillControl, Overloaded
from ..engine.types import FillCancelled
from ..pipeline import CompletionPipeline, CompletionRequest, CompletionResult, retrieve_outcome

log = logging.getLogger("fim_server.http")

_FALLBACK_TOKEN = re.compile(r"\s*(?:\w+|[^\w\s])")
# Usage counts cover at most this many characters on each side of the cursor: far more than the
# model reads, and a bound on the time that counting a multi-megabyte prompt would take.
USAGE_COUNT_CHARS = 65_536


class TokenCounter:
    """Count and cut text in model tokens; a word/punctuation estimate when the engine has no tokenizer."""

    def __init__(self, tokenizer=None) -> None:
        self.tokenizer = tokenizer

    def _token_ends(self, text: str) -> list[int]:
        if self.tokenizer is None:
            return [match.end() for match in _FALLBACK_TOKEN.finditer(text)]
        encoded = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
        return [end for _start, end in encoded["offset_mapping"]]

    def count(self, text: str) -> int:
        return len(self._token_ends(text)) if text else 0

    def truncate(self, text: str, max_tokens: int) -> tuple[str, bool]:
        """Keep the first ``max_tokens`` tokens; return (text, whether anything was cut)."""
        ends = self._token_ends(text)
        if len(ends) <= max_tokens:
            return text, False
        return (text[: ends[max_tokens - 1]] if max_tokens > 0 else ""), True


@dataclass(kw_only=True)
class FimCall:
    """One fill-in-the-middle request, whatever API it came from."""

    prefix: str
    suffix: str = ""
    effort: str | None = None
    max_tokens: int | None = None  # None: no cap beyond the model's canvas
    stop: list[str] = field(default_factory=list)
    min_indent: int | None = None  # llama.cpp n_indent: end at a later line indented less than this
    language: str | None = None
    path: str | None = None
    policies: dict[str, str] = field(default_factory=dict)  # CompletionRequest "comments"/"strings", when sent
    min_confidence: float | None = None  # None: the server's min_confidence setting
    budget_ms: float | None = None  # denoising time budget (llama.cpp t_max_predict_ms); None: the effort's


@dataclass(kw_only=True)
class FimOutcome:
    text: str
    finish_reason: str  # "stop" or "length"
    result: CompletionResult | None  # None when no model call was needed (max_tokens 0)
    prompt_tokens: int
    completion_tokens: int
    elapsed_s: float


def cut_at_stop(text: str, stop: list[str]) -> tuple[str, bool]:
    positions = [text.find(word) for word in stop if word]
    positions = [position for position in positions if position >= 0]
    return (text[: min(positions)], True) if positions else (text, False)


def cut_at_dedent(text: str, min_indent: int) -> str:
    """End the text before the first later line whose indentation is below ``min_indent`` columns."""
    lines = text.split("\n")
    for index in range(1, len(lines)):
        line = lines[index]
        if line.strip() and len(line) - len(line.lstrip(" \t")) < min_indent:
            return "\n".join(lines[:index])
    return text


class CompletionService:
    """Run pipeline completions on a bounded pool of threads with a per-request deadline.

    More than ``max_inflight`` concurrent completions raise ``Overloaded`` at
    once rather than queueing without bound.
    """

    def __init__(self, pipeline: CompletionPipeline, *, max_inflight: int = 64, request_timeout: float = 30.0,
                 on_activity=None) -> None:
        self.pipeline = pipeline
        self.engine = pipeline.engine
        self.max_inflight = max_inflight
        self.request_timeout = request_timeout
        self.on_activity = on_activity
        self.tokens = TokenCounter(getattr(pipeline.engine, "tokenizer", None))
        self.inflight = 0
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=max_inflight,
                                                               thread_name_prefix="fim-http")

    async def complete(self, request: CompletionRequest, *, budget_ms: float | None = None) -> CompletionResult:
        """Run the pipeline; raises RequestError, Overloaded, DeadlineExceeded or FillCancelled.

        ``budget_ms`` caps the denoising time of this request (see ``FillControl``).
        """
        if self.inflight >= self.max_inflight:
            raise Overloaded(f"server overloaded: {self.inflight} completions running (limit {self.max_inflight}); "
                             "retry shortly")
        if self.on_activity is not None:
            self.on_activity()
        control = FillControl(time.monotonic() + self.request_timeout, budget_ms)
        self.inflight += 1
        try:
            future = asyncio.get_running_loop().run_in_executor(self._executor, self.pipeline.complete, request,
                                                                control)
            try:
                return await asyncio.shield(future)
            except asyncio.CancelledError:
                control.cancel()  # the client went away: stop the model within one step
                future.add_done_callback(retrieve_outcome)
                raise
        except FillCancelled:
            if control.expired:
                raise DeadlineExceeded(f"the completion took longer than {self.request_timeout:g} s") from None
            raise
        finally:
            self.inflight -= 1
            if self.on_activity is not None:
                self.on_activity()  # idle time counts from the end of the last request

    def count_prompt_tokens(self, call: FimCall) -> int:
        """Count the prompt's tokens, up to ``USAGE_COUNT_CHARS`` characters on each side of the cursor."""
        return (self.tokens.count(call.prefix[-USAGE_COUNT_CHARS:])
                + self.tokens.count(call.suffix[:USAGE_COUNT_CHARS]))

    async def fill_in_middle(self, call: FimCall) -> FimOutcome:
        started = time.perf_counter()
        if call.max_tokens == 0:
            # Off the event loop, which also serves the other clients.
            prompt_tokens = await asyncio.to_thread(self.count_prompt_tokens, call)
            return FimOutcome(text="", finish_reason="length", result=None, prompt_tokens=prompt_tokens,
                              completion_tokens=0, elapsed_s=time.perf_counter() - started)
        request = CompletionRequest(prefix=call.prefix, suffix=call.suffix, effort=call.effort,
                                    language=call.language, path=call.path, min_confidence=call.min_confidence,
                                    **call.policies)
        result = await self.complete(request, budget_ms=call.budget_ms)
        if result.rejected:
            # HTTP replies have no field for this, so the log is where a user finds why a completion was empty.
            log.info("empty completion: %s", result.rejected)
        text, _ = cut_at_stop(result.text, call.stop)
        if call.min_indent:
            text = cut_at_dedent(text, call.min_indent)
        finish_reason = "stop"
        if call.max_tokens is not None and call.max_tokens > 0:
            text, cut = self.tokens.truncate(text, call.max_tokens)
            finish_reason = "length" if cut else "stop"
        prompt_tokens = await asyncio.to_thread(self.count_prompt_tokens, call)
        return FimOutcome(text=text, finish_reason=finish_reason, result=result, prompt_tokens=prompt_tokens,
                          completion_tokens=self.tokens.count(text), elapsed_s=time.perf_counter() - started)

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
