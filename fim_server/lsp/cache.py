"""Suggestion cache keyed on document, prefix and suffix, with type-through hits.

An entry stores a suggestion made at one cursor. A later request hits it

* exactly, when the text around the cursor is unchanged, or
* by type-through, when the user has typed the first characters of the
  suggestion: the text after the cursor is unchanged and the characters just
  before it are a prefix of the suggestion. The hit returns the rest.

Keys hash a bounded span on either side of the cursor, wider than the model's
context window. A lookup therefore costs the same in a small file and a large
one, and an edit far from the cursor does not invalidate the entry. Entries are
bounded per document and in total. An entry made at a lower effort than the
lookup requests does not hit.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from ..engine.types import EFFORTS

PREFIX_SPAN = 8192  # code points before the cursor that take part in the key
SUFFIX_SPAN = 4096  # code points after the cursor that take part in the key


@dataclass(frozen=True, slots=True)
class ContextKey:
    prefix_hash: int
    suffix_hash: int
    prefix_span: int  # how many code points the prefix hash covers


@dataclass(frozen=True, slots=True)
class CacheEntry:
    text: str  # suggestion inserted at ``offset``
    replace_chars: int  # code points after the cursor that the suggestion replaces
    offset: int  # cursor offset (code points) the suggestion was made at
    key: ContextKey
    source: str  # "model" or "speculative"
    effort: str | None = None  # effort of the model call that made it; None serves every lookup


@dataclass(frozen=True, slots=True)
class CacheHit:
    text: str  # what is left of the suggestion, to insert at the cursor
    replace_chars: int
    kind: str  # "exact" or "type_through"
    source: str


def effort_covers(made: str | None, requested: str | None) -> bool:
    """Check that a suggestion made at effort ``made`` may serve a request for effort ``requested``."""
    if made is None or requested is None:
        return True
    order = list(EFFORTS)
    return order.index(made) >= order.index(requested)


def context_key(text: str, offset: int) -> ContextKey:
    start = max(0, offset - PREFIX_SPAN)
    return ContextKey(hash(text[start:offset]), hash(text[offset : offset + SUFFIX_SPAN]), offset - start)


class CompletionCache:
    """Least-recently-used suggestions per document."""

    def __init__(self, *, per_document: int = 32, max_documents: int = 64) -> None:
        self.per_document = per_document
        self.max_documents = max_documents
        self._documents: OrderedDict[str, OrderedDict[ContextKey, CacheEntry]] = OrderedDict()

    def __len__(self) -> int:
        return sum(len(entries) for entries in self._documents.values())

    def store(self, uri: str, text: str, offset: int, suggestion: str, replace_chars: int, source: str,
              effort: str | None = None) -> None:
        key = context_key(text, offset)
        entries = self._documents.pop(uri, None) or OrderedDict()
        entries.pop(key, None)
        entries[key] = CacheEntry(suggestion, replace_chars, offset, key, source, effort)
        while len(entries) > self.per_document:
            entries.popitem(last=False)
        self._documents[uri] = entries
        while len(self._documents) > self.max_documents:
            self._documents.popitem(last=False)

    def lookup(self, uri: str, text: str, offset: int, *, effort: str | None = None) -> CacheHit | None:
        """Return the suggestion for this cursor, exact or typed through, made at ``effort`` or higher."""
        entries = self._documents.get(uri)
        if not entries:
            return None
        key = context_key(text, offset)
        entry = entries.get(key)
        if entry is not None and effort_covers(entry.effort, effort):
            entries.move_to_end(key)
            return CacheHit(entry.text, entry.replace_chars, "exact", entry.source)
        for entry in reversed(entries.values()):
            if not effort_covers(entry.effort, effort):
                continue
            rest = _typed_through(entry, text, offset, key)
            if rest is not None:
                return CacheHit(rest, 0, "type_through", entry.source)
        return None

    def forget(self, uri: str) -> None:
        self._documents.pop(uri, None)

    def clear(self) -> None:
        self._documents.clear()


def _typed_through(entry: CacheEntry, text: str, offset: int, key: ContextKey) -> str | None:
    """Return the rest of ``entry`` when the user has typed part of it, else None."""
    typed = offset - entry.offset
    if entry.replace_chars or not 0 < typed < len(entry.text) or key.suffix_hash != entry.key.suffix_hash:
        return None
    if text[entry.offset : offset] != entry.text[:typed]:
        return None
    old_start = entry.offset - entry.key.prefix_span
    if old_start < 0 or hash(text[old_start : entry.offset]) != entry.key.prefix_hash:
        return None
    return entry.text[typed:]


__all__ = ["CacheHit", "CompletionCache", "context_key", "effort_covers"]
