"""Dynamic batching: concurrent fills from many editors share each denoising step.

One scheduler thread owns the model. Callers ``submit`` a fill (or call the
blocking ``fill``, which has the same contract as ``DiffusionEngine.fill``) and
get a future. Between two steps the scheduler:

1. admits queued requests while the batch has free rows (a request takes one
   row per candidate), encoding each one's context through a pool of exact
   caches;
2. drops requests whose caller stopped them (``FillCancelled``) or whose
   deadline passed (``DeadlineExceeded``), and finishes requests with no masks
   left;
3. runs one model call for every remaining canvas (contexts padded with
   ``SLOT_PAD`` key slots) and commits tokens per request with that request's
   own effort profile.

The queue in front of the batch is bounded: ``submit`` raises ``Overloaded``
instead of letting memory grow with the request rate.

Errors::

    Overloaded(RuntimeError)       the queue is full; retry later
    DeadlineExceeded(RuntimeError) the request's deadline passed before it finished
    FillCancelled(Exception)       the caller's should_stop() turned true
"""

from __future__ import annotations

import collections
import concurrent.futures
import logging
import threading
import time
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from .batch_tensors import canvas_layout, new_canvas_state, pad_context_caches, stack_canvases
from .context_pool import ContextPool
from .engine import FillResult
from .sampler import EFFORTS, DenoiseSchedule, EffortProfile, FillCancelled, denoise_step, masked_slots
# Defined without torch for the daemon client.
from .types import DeadlineExceeded, FillControl, Overloaded, with_request_budget

log = logging.getLogger("fim_server.engine.batching")


@dataclass(eq=False)
class _Job:
    prefix: str
    suffix: str
    canvas_tokens: int
    profile: EffortProfile
    should_stop: object  # callable or None
    deadline: float | None
    future: concurrent.futures.Future
    queued_at: float = field(default_factory=time.perf_counter)
    timings: dict[str, float] = field(default_factory=dict)
    # Set on admission:
    state: object = None
    cache: object = None
    cache_state: str = "miss"
    prefix_ids: list[int] = field(default_factory=list)
    suffix_ids: list[int] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    schedule: DenoiseSchedule | None = None
    started_at: float = 0.0

    @property
    def rows(self) -> int:
        return self.profile.candidates

    @property
    def prefix_length(self) -> int:
        return len(self.prefix_ids)

    def stop_reason(self) -> Exception | None:
        if self.deadline is not None and time.monotonic() >= self.deadline:
            return DeadlineExceeded("the request deadline passed before the completion finished")
        if self.should_stop is not None and self.should_stop():
            return FillCancelled()
        return None


@dataclass
class BatchStats:
    """Counters read by the metrics endpoint; updated by the scheduler thread only."""

    steps: int = 0
    rows_per_step: collections.Counter = field(default_factory=collections.Counter)
    requests_per_step: collections.Counter = field(default_factory=collections.Counter)
    outcomes: collections.Counter = field(default_factory=collections.Counter)
    cache_states: collections.Counter = field(default_factory=collections.Counter)


class BatchedEngine:
    """Serve ``fill`` for many threads at once on one ``DiffusionEngine`` (cached layout only).

    ``max_batch_rows`` caps the canvas rows in one model call; ``max_queue``
    caps the requests waiting for a free row. ``batching=False`` runs one
    request at a time through the same scheduler (the baseline for benchmarks).
    ``context_slots`` is how many encoded contexts stay cached (about 1.6 MB
    each for the bundled model in bfloat16); give it at least one per editor,
    or editors typing at once evict each other's caches.
    The wrapped engine must not be used directly while this object runs.
    """

    kind = "diffusion"

    def __init__(self, engine, *, max_batch_rows: int = 16, max_queue: int = 64, batching: bool = True,
                 context_slots: int = 32) -> None:
        if engine.config.attention_layout != "cached":
            raise ValueError("batching needs a model with attention_layout='cached'; this model is bidirectional")
        if max_batch_rows < 1 or max_queue < 1:
            raise ValueError(f"invalid limits max_batch_rows={max_batch_rows}, max_queue={max_queue}: "
                             "use whole numbers >= 1")
        self.engine = engine
        self.tokenizer = engine.tokenizer
        self.config = engine.config
        self.max_batch_rows = max_batch_rows
        self.max_queue = max_queue
        self.batching = batching
        self.stats = BatchStats()
        self._pool = ContextPool(engine, context_slots)
        self._queue: collections.deque[_Job] = collections.deque()
        self._active: list[_Job] = []
        self._batch_key: tuple = ()
        self._batch = None  # (cache, positions, segments, width, plan) for the current membership
        self._last_step_ms = 0.0  # duration of the last shared model call
        self._cond = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="fim-batcher", daemon=True)
        self._thread.start()

    # -- public API -------------------------------------------------------------

    @property
    def queue_depth(self) -> int:
        return len(self._queue)

    @property
    def active_requests(self) -> int:
        return len(self._active)

    def submit(self, prefix: str, suffix: str, *, canvas_tokens: int, effort: str = "low", should_stop=None,
               deadline: float | None = None) -> concurrent.futures.Future:
        """Queue one fill; the future resolves to a ``FillResult`` or raises the errors listed above."""
        if effort not in EFFORTS:
            raise ValueError(f"invalid effort {effort!r}: use one of {', '.join(EFFORTS)}")
        if deadline is None:
            deadline = getattr(should_stop, "deadline", None)
        profile = with_request_budget(EFFORTS[effort], should_stop)
        job = _Job(prefix, suffix, canvas_tokens, profile, should_stop, deadline, concurrent.futures.Future())
        with self._cond:
            if self._closed:
                raise RuntimeError("the batched engine is closed")
            if len(self._queue) >= self.max_queue:
                self.stats.outcomes["overloaded"] += 1
                raise Overloaded(f"server overloaded: {len(self._queue)} requests queued (limit {self.max_queue}) "
                                 f"and {len(self._active)} running; retry shortly")
            self._queue.append(job)
            self._cond.notify()
        return job.future

    def fill(self, prefix: str, suffix: str, *, canvas_tokens: int, effort: str = "low", should_stop=None,
             deadline: float | None = None) -> FillResult:
        """Blocking fill with the ``DiffusionEngine.fill`` contract (plus ``deadline``)."""
        future = self.submit(prefix, suffix, canvas_tokens=canvas_tokens, effort=effort,
                             should_stop=should_stop, deadline=deadline)
        while not concurrent.futures.wait([future], timeout=1.0).done:
            if not self._thread.is_alive():
                raise RuntimeError("the batching scheduler thread stopped")
        return future.result()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join(timeout=10)

    # -- scheduler ----------------------------------------------------------------

    def _has_free_rows(self, job: _Job) -> bool:
        if not self._active:
            return True
        if not self.batching:
            return False
        used = sum(active.rows for active in self._active)
        return used + job.rows <= self.max_batch_rows

    def _take_admissible(self) -> list[_Job]:
        """Pop queued jobs that fit in the batch; drop queued jobs that were stopped. Holds the lock."""
        admitted = []
        for job in list(self._queue):
            reason = job.stop_reason()
            if reason is not None:
                self._queue.remove(job)
                self._resolve(job, error=reason)
        while self._queue and self._has_free_rows(self._queue[0]):
            job = self._queue.popleft()
            if job.future.set_running_or_notify_cancel():
                self._active.append(job)
                admitted.append(job)
        return admitted

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._closed and not self._queue and not self._active:
                    self._cond.wait()
                if self._closed:
                    break
                admitted = self._take_admissible()
            with torch.inference_mode():
                if admitted:
                    self._start_all(admitted)
                try:
                    self._step()
                except Exception as exc:  # keep serving: fail the requests in this batch, not the thread
                    log.exception("batched step failed; failing %d active requests", len(self._active))
                    for job in list(self._active):
                        self._resolve(job, error=exc)
        for job in list(self._active) + list(self._queue):
            self._resolve(job, error=RuntimeError("the batched engine was closed"))
        self._queue.clear()

    def _start_all(self, jobs: list[_Job]) -> None:
        """Tokenize and encode the contexts of newly admitted requests (fresh ones in one forward)."""
        engine = self.engine
        started = time.perf_counter()
        ready, contexts = [], []
        for job in jobs:
            job.timings["queue"] = (started - job.queued_at) * 1000
            try:
                contexts.append((engine.encode_prefix(job.prefix), engine.encode_suffix(job.suffix)))
                ready.append(job)
            except Exception as exc:  # one bad request must not stop the others
                log.exception("could not tokenize a request (prefix of %d characters)", len(job.prefix))
                self._resolve(job, error=exc)
        tokenized = time.perf_counter()
        try:
            looked_up = self._pool.lookup_many(contexts)
        except Exception as exc:
            log.exception("context encoding failed for %d requests", len(ready))
            for job in ready:
                self._resolve(job, error=exc)
            return
        encoded = time.perf_counter()
        for job, (prefix_ids, suffix_ids), (cache, cache_state) in zip(ready, contexts, looked_up):
            job.timings["tokenize"] = (tokenized - started) * 1000
            job.timings["encode_context"] = (encoded - tokenized) * 1000
            job.cache, job.cache_state = cache, cache_state
            job.prefix_ids, job.suffix_ids = prefix_ids, suffix_ids
            job.lengths = engine.canvas_lengths(job.canvas_tokens, job.profile.length_factors, job.profile.candidates)
            job.state = new_canvas_state(job.lengths, self.config.mask_token_id, self.config.pad_token_id)
            job.schedule = DenoiseSchedule(job.profile)
            job.started_at = encoded

    def _step(self) -> None:
        runnable = []
        now = time.perf_counter()
        for job in list(self._active):
            reason = job.stop_reason()
            if job.state.steps:
                # The last shared model call is the estimate for the next one.
                job.schedule.watch_time((now - job.started_at) * 1000, self._last_step_ms)
            if reason is not None:
                self._resolve(job, error=reason)
            elif not job.schedule.advance(job.state, self.config.mask_token_id):
                self._resolve(job, result=self._finish(job))
            else:
                runnable.append(job)
        if not runnable:
            return
        cache, positions, segments, width, plan = self._layout(runnable)
        states = [job.state for job in runnable]
        tokens = stack_canvases(states, width, self.config.pad_token_id)  # (R, W)
        masked = [masked_slots(state, self.config.mask_token_id) for state in states]
        output_mask = torch.cat([F.pad(rows, (0, width - rows.shape[1])) for rows in masked])  # (R, W)
        # Logits (N, V) of the masked slots only, in row-major order, so each job's slots form one contiguous run.
        logits = self.engine.model.score_canvas(cache, tokens, positions, segments, plan=plan,
                                                output_mask=output_mask)
        self._last_step_ms = (time.perf_counter() - now) * 1000
        self._record_step(runnable)
        start = 0
        for job, own in zip(runnable, masked):
            count = int(own.sum())
            denoise_step(job.state, logits[start : start + count], job.schedule,
                         mask_id=self.config.mask_token_id, eom_id=self.config.eom_token_id,
                         banned_ids=self.engine.banned_ids)
            start += count

    def _layout(self, runnable: list[_Job]):
        """Padded batch cache, positions and segments; rebuilt only when the membership changes."""
        key = tuple(id(job) for job in runnable)
        if key != self._batch_key:
            width = max(job.state.tokens.shape[1] for job in runnable)
            cache = pad_context_caches([job.cache for job in runnable], [job.rows for job in runnable])
            positions, segments = canvas_layout([job.prefix_length for job in runnable],
                                                [job.state for job in runnable], width)
            plan = self.engine.model.plan_canvas(cache, positions, segments)
            self._batch_key, self._batch = key, (cache, positions, segments, width, plan)
        return self._batch

    def _record_step(self, runnable: list[_Job]) -> None:
        stats = self.stats
        stats.steps += 1
        stats.rows_per_step[sum(job.rows for job in runnable)] += 1
        stats.requests_per_step[len(runnable)] += 1

    def _finish(self, job: _Job) -> FillResult:
        finished = time.perf_counter()
        job.timings["denoise"] = (finished - job.started_at) * 1000
        state = job.state
        candidates = self.engine.ranked_candidates(state, job.lengths, job.profile, job.cache, job.prefix_ids,
                                                   job.suffix_ids)
        job.timings["rank"] = (time.perf_counter() - finished) * 1000
        self.stats.cache_states[job.cache_state] += 1
        return FillResult(candidates, state.steps, state.tokens_per_step, job.timings, job.cache_state,
                          budget_hit=state.budget_hit)

    def _resolve(self, job: _Job, *, result: FillResult | None = None, error: Exception | None = None) -> None:
        if job in self._active:
            self._active.remove(job)
        future = job.future
        if not future.running() and not future.set_running_or_notify_cancel():
            return  # the caller cancelled the future itself
        if error is None:
            self.stats.outcomes["ok"] += 1
            future.set_result(result)
            return
        outcome = {FillCancelled: "cancelled", DeadlineExceeded: "deadline_exceeded"}.get(type(error), "error")
        self.stats.outcomes[outcome] += 1
        future.set_exception(error)


__all__ = ["BatchStats", "BatchedEngine", "DeadlineExceeded", "FillControl", "Overloaded"]
