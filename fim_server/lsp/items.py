"""Suggestions as LSP results: inline completion items and the completion fallback.

Ranges are converted from code points to the negotiated encoding here, and
only here, on the document the suggestion was computed for.
"""

from __future__ import annotations

from lsprotocol import types

from ..context.positions import Encoding
from .completion import Suggestion
from .documents import OpenDocument

LABEL_CHARS = 60
DETAIL = "fim-server"


def _range(doc: OpenDocument, start: int, end: int, encoding: Encoding) -> types.Range:
    return types.Range(start=doc.client_position(start, encoding), end=doc.client_position(end, encoding))


def inline_items(doc: OpenDocument, suggestion: Suggestion, encoding: Encoding) -> list[types.InlineCompletionItem]:
    if not suggestion.text:
        return []
    replaced = _range(doc, suggestion.offset, suggestion.offset + suggestion.replace_chars, encoding)
    return [types.InlineCompletionItem(insert_text=suggestion.text, range=replaced)]


def word_start(text: str, offset: int) -> int:
    """Return where the identifier that ends at ``offset`` starts (``offset`` when there is none)."""
    start = offset
    while start > 0 and (text[start - 1].isalnum() or text[start - 1] == "_"):
        start -= 1
    return start


def label_for(text: str) -> str:
    first = text.strip().split("\n", 1)[0].strip()
    more = "\u2026" if len(first) > LABEL_CHARS or "\n" in text.strip() else ""
    return first[:LABEL_CHARS] + more


def completion_list(doc: OpenDocument, suggestion: Suggestion, encoding: Encoding) -> types.CompletionList:
    """Offer the suggestion as one plain-text completion item.

    The edit starts at the beginning of the word left of the cursor, so that a
    client filtering items by the typed word keeps the item. The list is marked
    incomplete because every keystroke changes the suggestion.
    """
    if not suggestion.text:
        return types.CompletionList(is_incomplete=True, items=[])
    start = word_start(doc.text, suggestion.offset)
    new_text = doc.text[start : suggestion.offset] + suggestion.text
    edit = types.TextEdit(range=_range(doc, start, suggestion.offset + suggestion.replace_chars, encoding),
                          new_text=new_text)
    item = types.CompletionItem(
        label=label_for(new_text) or new_text,
        kind=types.CompletionItemKind.Text,
        detail=DETAIL,
        documentation=new_text,
        filter_text=new_text,
        sort_text="0",
        insert_text_format=types.InsertTextFormat.PlainText,
        text_edit=edit,
    )
    return types.CompletionList(is_incomplete=True, items=[item])


__all__ = ["completion_list", "inline_items"]
