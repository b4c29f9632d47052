"""Several exact context caches at once, so that many editors typing together each keep theirs.

``DiffusionEngine.context_cache`` reuses one previous context: with one editor,
each keystroke appends a few prefix tokens to it. With several editors taking
turns, a single slot would be overwritten by every other request. The pool keeps
the most recently used contexts and hands the engine the one that shares the
longest token prefix with the new request (same suffix), so the engine's own
hit/append/miss logic decides what to re-encode.
"""

from __future__ import annotations

from ..model import ContextCache
from .batch_tensors import encode_contexts
from .engine import _CachedContext


def _common_prefix(left: list[int], right: list[int]) -> int:
    count = 0
    for a, b in zip(left, right):
        if a != b:
            break
        count += 1
    return count


class ContextPool:
    """Least-recently-used set of encoded contexts in front of one ``DiffusionEngine``.

    Not thread-safe: the batching scheduler thread is its only user.
    """

    def __init__(self, engine, slots: int = 32) -> None:
        if slots < 1:
            raise ValueError(f"invalid context slots {slots}: use at least 1")
        self.engine = engine
        self.slots = slots
        self._entries: list = []  # engine context entries, most recently used last

    def _best_match(self, prefix_ids: list[int], suffix_ids: list[int]):
        best, best_common = None, 0
        for entry in self._entries:
            if entry.suffix_ids != suffix_ids:
                continue
            common = _common_prefix(entry.prefix_ids, prefix_ids)
            exact = common == len(entry.prefix_ids) == len(prefix_ids)
            if exact:
                return entry
            if common > best_common:
                best, best_common = entry, common
        return best

    def lookup(self, prefix_ids: list[int], suffix_ids: list[int]) -> tuple[ContextCache, str]:
        """Return (cache of shape (1, H, Lc, D), "hit" | "append" | "miss") for this context."""
        match = self._best_match(prefix_ids, suffix_ids)
        # The engine reuses whatever context it remembers; point it at the best pooled one.
        self.engine._context = match
        cache, state = self.engine.context_cache(prefix_ids, suffix_ids)
        current = self.engine._context
        if match is not None and state != "miss":
            self._entries.remove(match)  # the appended context supersedes the one it grew from
        elif current in self._entries:
            self._entries.remove(current)
        self._entries.append(current)
        del self._entries[: -self.slots]
        return cache, state

    def lookup_many(self, contexts: list[tuple[list[int], list[int]]]) -> list[tuple[ContextCache, str]]:
        """``lookup`` for several (prefix ids, suffix ids) at once; contexts with nothing to reuse share one forward."""
        results: list = [None] * len(contexts)
        fresh = []
        for index, (prefix_ids, suffix_ids) in enumerate(contexts):
            if len(contexts) > 1 and self._best_match(prefix_ids, suffix_ids) is None:
                fresh.append(index)
            else:
                results[index] = self.lookup(prefix_ids, suffix_ids)
        if len(fresh) == 1:
            results[fresh[0]] = self.lookup(*contexts[fresh[0]])
        elif fresh:
            caches = encode_contexts(self.engine.model, [contexts[index] for index in fresh])
            for index, cache in zip(fresh, caches):
                prefix_ids, suffix_ids = contexts[index]
                self._entries.append(_CachedContext(suffix_ids, prefix_ids, cache))
                results[index] = (cache, "miss")
            del self._entries[: -self.slots]
        return results

    def clear(self) -> None:
        self._entries.clear()
        self.engine.forget_context()
