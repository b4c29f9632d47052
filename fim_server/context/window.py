"""Prefix/suffix window around the cursor and the completion mode."""

from __future__ import annotations

from dataclasses import dataclass

CANVAS_TOKENS = {"line": 16, "block": 48}
BLOCK_OPENERS = (":", "{", "(", "[", "=>")


@dataclass(frozen=True, slots=True, kw_only=True)
class ContextWindow:
    """What the model sees and what post-processing needs to know about the cursor."""

    prefix: str
    suffix: str
    language: str | None
    mode: str  # "none", "line" or "block"
    mode_reason: str
    canvas_tokens: int
    line_prefix: str  # text of the cursor line left of the cursor
    line_suffix: str  # text of the cursor line right of the cursor
    indent: str  # leading whitespace of the cursor line (or of the block it opens)


def _cut_prefix(text: str, offset: int, budget: int) -> str:
    start = max(0, offset - budget)
    if start > 0:
        newline = text.find("\n", start, offset)
        start = newline + 1 if newline >= 0 else start
    return text[start:offset]


def _cut_suffix(text: str, offset: int, budget: int) -> str:
    end = min(len(text), offset + budget)
    if end < len(text):
        newline = text.rfind("\n", offset, end)
        end = newline + 1 if newline >= 0 else end
    return text[offset:end]


def choose_mode(line_prefix: str, line_suffix: str, previous_line: str) -> tuple[str, str]:
    """Decide none / line / block from the text around the cursor (line-based fallback)."""
    right = line_suffix.strip()
    if line_suffix[:1].isalnum() or line_suffix[:1] == "_":
        return "none", "cursor inside an identifier"
    if right and not all(ch in ")]}\"'`;,:" for ch in right):
        return "line", "text right of the cursor"
    if line_prefix.strip():
        return "line", "cursor after code on the line"
    if previous_line.rstrip().endswith(BLOCK_OPENERS):
        return "block", "empty line after a block header"
    return "block", "empty line"


def extract_window(
    text: str, offset: int, language: str | None, *, prefix_chars: int = 1500, suffix_chars: int = 500,
    mode: str = "auto",
) -> ContextWindow:
    if not 0 <= offset <= len(text):
        raise ValueError(f"cursor offset {offset} is outside the document (length {len(text)})")
    line_start = text.rfind("\n", 0, offset) + 1
    line_end = text.find("\n", offset)
    line_end = len(text) if line_end < 0 else line_end
    line_prefix, line_suffix = text[line_start:offset], text[offset:line_end]
    previous_start = text.rfind("\n", 0, max(line_start - 1, 0)) + 1
    previous_line = text[previous_start : max(line_start - 1, 0)] if line_start > 0 else ""
    chosen, reason = choose_mode(line_prefix, line_suffix, previous_line)
    if mode in ("line", "block"):
        chosen, reason = mode, "requested"
    indent = line_prefix[: len(line_prefix) - len(line_prefix.lstrip(" \t"))]
    return ContextWindow(
        prefix=_cut_prefix(text, offset, prefix_chars),
        suffix=_cut_suffix(text, offset, suffix_chars),
        language=language,
        mode=chosen,
        mode_reason=reason,
        canvas_tokens=CANVAS_TOKENS.get(chosen, 0),
        line_prefix=line_prefix,
        line_suffix=line_suffix,
        indent=indent,
    )
