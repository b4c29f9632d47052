"""Filters for indentation: the first line on a blank line, the file's style, the block's scope."""

from __future__ import annotations

import re

from ..brackets import unmatched_closers
from ..indentation import indent_width, leading_whitespace
from ..mode import HEADER_END
from ..window import ContextWindow
from .draft import Draft, code_right_of_cursor, suffix_lines

_HEADER_ENDS = (":", "{", "(", "[")
_CLOSING_LINE = set(")]}>;,")
_CONTINUATION = re.compile(r"(?:else|elif|except|finally|catch)\b")


def _blank_cursor_line(window: ContextWindow) -> bool:
    return not window.line_prefix.strip()


def first_line_indent(draft: Draft, window: ContextWindow) -> Draft:
    """Fix the indentation the first line adds on a blank cursor line.

    The editor has often indented the blank line already; the model then
    indents again. The first line ends up at the block's indentation, unless
    the cursor is already deeper.
    """
    if not _blank_cursor_line(window):
        return draft
    typed = window.line_prefix
    added = leading_whitespace(draft.text)
    rest = draft.text[len(added) :]
    short = typed + added
    # A completion joined to closing characters right of the cursor is left alone.
    whole_lines = not window.line_suffix.strip() or code_right_of_cursor(window)
    if window.opens_block and whole_lines and len(short) < len(window.indent) \
            and window.indent.startswith(short) and rest.strip():
        # Under a Python block header a line as shallow as the header is an IndentationError, so the
        # model's lines move right together until the first one is inside the block.
        pad = window.indent[len(short) :]
        lines = rest.split("\n")
        moved = [lines[0], *(pad + line if line.strip() else line for line in lines[1:])]
        return draft.with_text(window.indent[len(typed) :] + "\n".join(moved))
    if not added:
        return draft
    if indent_width(typed) >= indent_width(window.indent):
        return draft.with_text(rest)
    if indent_width(typed + added) >= indent_width(window.indent) and window.indent.startswith(typed):
        return draft.with_text(window.indent[len(typed) :] + rest)  # the block's depth, in the file's characters
    return draft


def _completion_unit(lines: list[str]) -> int | None:
    """Return the width of one level in the completion, measured right after block headers."""
    widths = []
    for previous, line in zip(lines, lines[1:]):
        if line.strip() and previous.rstrip().endswith(_HEADER_ENDS):
            step = indent_width(line) - indent_width(previous)
            if step > 0:
                widths.append(step)
    return min(widths) if widths else None


def _target_width(whitespace: str, base: int, unit: int, file_unit: str) -> int:
    """Return the width a line's indentation should have in the file's style."""
    file_width = indent_width(file_unit)
    if "\t" in whitespace and file_unit != "\t":
        return whitespace.count("\t") * file_width + whitespace.count(" ")  # a tab is one level
    width = indent_width(whitespace)
    if unit != file_width and width > base and (width - base) % unit == 0:
        return base + (width - base) // unit * file_width
    return width


def indentation_style(draft: Draft, window: ContextWindow) -> Draft:
    """Rewrite indentation of the lines after the first into the file's style (tabs, 2 or 4 spaces)."""
    lines = draft.text.split("\n")
    if len(lines) < 2:
        return draft
    file_unit = window.indent_unit
    file_width = indent_width(file_unit)
    base = indent_width(window.indent if _blank_cursor_line(window) else leading_whitespace(window.line_prefix))
    unit = _completion_unit([window.line_prefix + lines[0], *lines[1:]]) or file_width
    rewritten = [lines[0]]
    for line in lines[1:]:
        whitespace = leading_whitespace(line)
        if not line.strip():
            rewritten.append("")
            continue
        levels, spaces = divmod(_target_width(whitespace, base, unit, file_unit), file_width)
        rewritten.append(file_unit * levels + " " * spaces + line[len(whitespace) :])
    return draft.with_text("\n".join(rewritten))


def _block_indent(window: ContextWindow, first_line: str) -> int:
    """Return the indentation width of the block the completion belongs to."""
    if _blank_cursor_line(window):
        typed = indent_width(window.line_prefix + leading_whitespace(first_line))
        return min(typed, indent_width(window.indent)) if first_line.strip() else indent_width(window.indent)
    own = indent_width(leading_whitespace(window.line_prefix))
    if window.mode_reason == HEADER_END:
        return own + indent_width(window.indent_unit)
    return own


def _continues_statement(line: str) -> bool:
    """Check that a line closes a bracket or continues a statement, as ``else:`` and ``} else {`` do."""
    return set(line) <= _CLOSING_LINE or line[:1] in ")]}" or _CONTINUATION.match(line) is not None


def _top_level_body_indent(window: ContextWindow) -> int | None:
    """Return the indentation of the body of the top-level statement around the cursor, if it has one yet."""
    lines = window.prefix.split("\n")
    for number in range(len(lines) - 1, -1, -1):
        line = lines[number]
        if line.strip() and not line[:1].isspace():
            body = [indent_width(leading_whitespace(later)) for later in lines[number + 1 :] if later.strip()]
            if not body:
                return None
            if line.rstrip().endswith(_HEADER_ENDS):
                # The window may start deep inside a long definition, below its shallowest lines.
                return min(min(body), indent_width(window.indent_unit))
            return min(body)
    return None


def _lowest_indent(window: ContextWindow, base: int) -> int:
    """Return the lowest indentation a completion line may have.

    The cursor's block sets it, unless the code after the completion sits lower:
    then the completion may close blocks down to that code's indentation, but
    it never leaves the body of the top-level definition around the cursor.
    When that code closes a bracket or continues a statement (``}``, ``else:``),
    the completion adds no line at its level.
    """
    following = suffix_lines(window)
    if window.line_suffix.strip():
        # Code right of the cursor sits at the cursor line's indentation, whatever is left of the cursor.
        indent = leading_whitespace(window.line_prefix + window.line_suffix)
        following.insert(0, indent + window.line_suffix.strip())
    if following:
        lowest = indent_width(leading_whitespace(following[0]))
        if _continues_statement(following[0].strip()):
            lowest += 1
    else:
        lowest = 0
    top_body = _top_level_body_indent(window)
    if lowest >= base or top_body is None:
        return base
    return min(base, max(lowest, top_body))


def indentation_scope(draft: Draft, window: ContextWindow) -> Draft:
    """Stop at the first line that dedents below the cursor's block, or below the code that follows it.

    A closing-bracket line there is kept when it closes a bracket the
    completion opened, or one the suffix does not close already.
    """
    lines = draft.text.split("\n")
    if window.mode != "block" or len(lines) < 2:
        return draft
    base = _lowest_indent(window, _block_indent(window, lines[0]))
    following = suffix_lines(window)
    for number in range(1, len(lines)):
        line = lines[number]
        if not line.strip() or indent_width(line) >= base:
            continue
        kept, cut = "\n".join(lines[: number + 1]), "\n".join(lines[:number])
        closer = line.strip()
        if not set(closer) <= _CLOSING_LINE:
            return draft.with_text(cut)
        if not unmatched_closers(kept):
            return draft.with_text(kept)  # it closes a bracket the completion opened
        if window.line_suffix.strip().startswith(closer[:1]):
            return draft.with_text(kept)  # the replace range takes over the auto-closed bracket
        if following and following[0].strip().startswith(closer):
            return draft.with_text(cut)  # the suffix closes it already, as in `}` before `} else {`
        return draft.with_text(kept)
    return draft
