"""The prefix/suffix window given to the model, cut under a token budget at syntax boundaries."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .cursor import Cursor, build_cursor
from .document import Document, DocumentCache
from .region import BACK_CHARS, FORWARD_CHARS, SyntaxView
from .indentation import detect_indent_unit, leading_whitespace
from .mode import CANVAS_TOKENS, ModeOptions, decide_mode, requested_mode
from .syntax_cuts import enclosing_headers, prefix_cut, suffix_cut

PREFIX_TOKENS = 192  # the bundled model's prefix and suffix limits
SUFFIX_TOKENS = 64
# NOTE: an estimate. The bundled byte-level BPE measured 2.4 (C headers) to 3.3 (Python)
# characters per token on code, so a C window may run about 20% over the budget.
# Pass count_tokens to count exactly.
CHARS_PER_TOKEN = 3.0
CHARS_PER_TOKEN_MAX = 4  # for sizing the parsed region when tokens are counted exactly
STICKY_SLACK = 1.25  # how far a kept prefix may grow past the budget before it is cut again
_DEFAULT_UNITS = {"go": "\t", "javascript": "  ", "typescript": "  ", "tsx": "  "}

_documents = DocumentCache()


@dataclass(frozen=True, slots=True, kw_only=True)
class ContextWindow:
    """Model input (prefix and suffix) and the cursor facts that post-processing reads."""

    prefix: str  # header lines, then the document from prefix_start up to the cursor
    suffix: str
    language: str | None
    mode: str  # "none", "line" or "block"
    mode_reason: str
    canvas_tokens: int
    line_prefix: str  # text of the cursor line left of the cursor
    line_suffix: str  # text of the cursor line right of the cursor
    indent: str  # leading whitespace the cursor's block expects
    header: str = ""  # enclosing definition headers prepended to the prefix
    prefix_start: int = 0  # document offset where the windowed prefix text starts
    indent_unit: str = "    "  # one indentation level of the file: a tab or spaces
    literal: str | None = None  # "string" or "comment" when the cursor is inside one
    # The cursor line is blank under a Python block header (a line ending in ":"), so the first line
    # must be indented deeper than the header.
    opens_block: bool = False


@dataclass(frozen=True, slots=True)
class _Anchor:
    """The last prefix cut of a document, reused while the prefix only grows at its end."""

    start: int
    header: str
    prefix_text: str


def _budget(tokens: int, chars_per_token: float) -> int:
    return max(0, int(tokens * chars_per_token))


def _expected_indent(cursor: Cursor, unit: str) -> str:
    """Return the indentation the cursor's block expects."""
    if cursor.line_prefix.strip():
        return leading_whitespace(cursor.line_prefix)
    if cursor.line_prefix:
        return cursor.line_prefix  # whitespace the editor or the user already typed
    base = leading_whitespace(cursor.previous_line)
    return base + unit if cursor.header_above else base


def _sticky_anchor(document: Document, offset: int, limit: int, measure: Callable[[str], int]) -> _Anchor | None:
    anchor = getattr(document, "window_anchor", None)
    if not isinstance(anchor, _Anchor) or anchor.start > offset:
        return None
    grown = document.text[anchor.start : offset]
    if not grown.startswith(anchor.prefix_text) or measure(anchor.header + grown) > limit:
        return None
    return anchor


def _cut_prefix(
    document: Document, view: SyntaxView | None, cursor: Cursor, budget: int, measure: Callable[[str], int]
) -> tuple[int, str]:
    """Return (start offset, header text) for the prefix, reusing the last cut while text is appended."""
    anchor = _sticky_anchor(document, cursor.offset, int(budget * STICKY_SLACK), measure)
    if anchor is not None:
        return anchor.start, anchor.header
    start = prefix_cut(document, view, cursor.offset, budget, measure)
    header = enclosing_headers(view, cursor.offset, start, budget // 3, measure)
    if header:
        start = prefix_cut(document, view, cursor.offset, budget - measure(header), measure)
        header = enclosing_headers(view, cursor.offset, start, budget // 3, measure)
    return start, header


def _window_from_document(
    document: Document, offset: int, *, mode: str, prefix_budget: int, suffix_budget: int,
    measure: Callable[[str], int], options: ModeOptions,
) -> ContextWindow:
    # Tokens of code average under 4 characters (2.4 to 3.3 measured), so this region holds the window.
    reach = 2 * CHARS_PER_TOKEN_MAX if measure is not len else 2
    view = document.syntax_near(
        offset, max(BACK_CHARS, int(prefix_budget * reach)), max(FORWARD_CHARS, int(suffix_budget * reach))
    )
    cursor = build_cursor(document, offset, view)
    offset = cursor.offset
    if mode in ("line", "block"):
        chosen, reason = requested_mode(cursor, mode, options)
    else:
        chosen, reason = decide_mode(cursor, document.language, options)
    start, header = _cut_prefix(document, view, cursor, prefix_budget, measure)
    document.window_anchor = _Anchor(start, header, document.text[start:offset])
    end = suffix_cut(document, view, offset, suffix_budget, measure)
    text = document.text
    unit = detect_indent_unit(text[start:end], _DEFAULT_UNITS.get(document.language, "    "))
    return ContextWindow(
        prefix=header + text[start:offset],
        suffix=text[offset:end],
        language=document.language,
        mode=chosen,
        mode_reason=reason,
        canvas_tokens=CANVAS_TOKENS.get(chosen, 0),
        line_prefix=cursor.line_prefix,
        line_suffix=cursor.line_suffix,
        indent=_expected_indent(cursor, unit),
        header=header,
        prefix_start=start,
        indent_unit=unit,
        literal=cursor.literal,
        opens_block=(document.language == "python" and not cursor.line_prefix.strip() and cursor.header_above
                     and cursor.previous_line.rstrip().endswith(":")),
    )


def extract_window(
    text: str, offset: int, language: str | None, *, mode: str = "auto",
    prefix_tokens: int = PREFIX_TOKENS, suffix_tokens: int = SUFFIX_TOKENS, chars_per_token: float = CHARS_PER_TOKEN,
    count_tokens: Callable[[str], int] | None = None, comments: str = "line", strings: str = "line",
    document: Document | None = None, cache_key: str | None = None,
    prefix_chars: int | None = None, suffix_chars: int | None = None,
) -> ContextWindow:
    """Cut the window around code-point ``offset`` and decide the completion mode.

    The budgets count model tokens, estimated at ``chars_per_token`` unless
    ``count_tokens`` is given; ``prefix_chars``/``suffix_chars`` set them in
    characters instead. Pass the editor's ``document`` to reuse its tree, or a
    ``cache_key`` (such as the file path) so plain-text callers still get an
    incremental reparse between keystrokes. ``comments`` and ``strings`` pick
    the behaviour inside those: "complete", "line" or "none".
    """
    if not 0 <= offset <= len(text):
        raise ValueError(f"cursor offset {offset} is outside the document (length {len(text)})")
    if mode not in ("auto", "line", "block"):
        raise ValueError(f"invalid mode {mode!r}: use auto, line or block")
    options = ModeOptions(comments=comments, strings=strings)
    measure: Callable[[str], int] = len
    prefix_budget, suffix_budget = _budget(prefix_tokens, chars_per_token), _budget(suffix_tokens, chars_per_token)
    if count_tokens is not None:
        measure, prefix_budget, suffix_budget = count_tokens, prefix_tokens, suffix_tokens
    if prefix_chars is not None or suffix_chars is not None:
        measure = len
        prefix_budget = prefix_chars if prefix_chars is not None else prefix_budget
        suffix_budget = suffix_chars if suffix_chars is not None else suffix_budget
    settings = dict(
        mode=mode, options=options, measure=measure, prefix_budget=prefix_budget, suffix_budget=suffix_budget
    )
    if document is not None:
        if document.text is not text and document.text != text:
            raise ValueError("the document passed to extract_window does not hold the given text")
        return _window_from_document(document, offset, **settings)
    with _documents.use(text, language, cache_key) as cached:
        return _window_from_document(cached, offset, **settings)
