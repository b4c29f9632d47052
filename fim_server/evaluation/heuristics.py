"""Defects of a completion that can be seen without ground truth.

Used by the judge at positions that have neither tests nor a reference middle
(the Copilot Arena rows). Each check targets a failure users of completion tools
report: text that repeats the following code, duplicated closing characters,
leaked special tokens, degenerate repetition, text without code, a double space
after ``x = ``, syntax errors and brackets the completion leaves unbalanced.
"""

from __future__ import annotations

import re

from ..context import extract_window, syntax_error_delta

SPECIAL_TOKEN = re.compile(r"<\|[a-z_]+\|>|<fim_(prefix|suffix|middle)>|<(PRE|SUF|MID|EOT)>|</s>|<\|endoftext\|>")
REPEATED_UNIT = re.compile(r"(\S.{0,7}?)\1{5,}")
CLOSING_PUNCTUATION = set(")]}>;,:'\"`")
CONTEXT_LINES = 60
OPENERS, CLOSERS = "([{", ")]}"


def _nonblank_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def repeats_suffix(text: str, suffix: str) -> bool:
    """True when the completion ends with the text that already follows the cursor."""
    rest_of_line = suffix.split("\n", 1)[0].strip()
    if rest_of_line and text.rstrip().endswith(rest_of_line):
        return True
    following, produced = _nonblank_lines(suffix)[:1], _nonblank_lines(text)[-1:]
    return bool(following and produced and following == produced)


def repeats_prefix(text: str, prefix: str, window: int = 5) -> bool:
    """True when most substantial completion lines copy one of the last ``window`` lines before the cursor.

    A single copied line is common in real code (``fig, ax = plt.subplots()``), so
    at least half of the completion's lines of ten or more characters must be copies.
    """
    recent = set(_nonblank_lines(prefix)[-window:])
    substantial = [line for line in _nonblank_lines(text) if len(line) >= 10]
    copied = sum(line in recent for line in substantial)
    return bool(substantial) and copied * 2 >= len(substantial)


def is_repetitive(text: str, prefix: str, suffix: str) -> bool:
    """True for a line produced three times or a unit of up to eight characters repeated six times that the context lacks."""
    lines = [line for line in _nonblank_lines(text) if len(line) >= 4]
    if any(lines.count(line) >= 3 for line in set(lines)):
        return True
    context = prefix[-4000:] + suffix[:4000]
    return any(match.group(0) not in context for match in REPEATED_UNIT.finditer(text))


def bracket_errors(code: str, line_comment: str) -> int:
    """Count unmatched or mismatched brackets, skipping strings and comments (a lexer-free estimate)."""
    stack: list[str] = []
    errors = 0
    index, length = 0, len(code)
    while index < length:
        char = code[index]
        if code.startswith(line_comment, index):
            index = code.find("\n", index)
            index = length if index < 0 else index
            continue
        if line_comment == "//" and code.startswith("/*", index):
            end = code.find("*/", index + 2)
            index = length if end < 0 else end + 2
            continue
        if char in "\"'`":
            index = _skip_string(code, index)
            continue
        if char in OPENERS:
            stack.append(char)
        elif char in CLOSERS:
            if stack and OPENERS.index(stack[-1]) == CLOSERS.index(char):
                stack.pop()
            else:
                errors += 1
        index += 1
    return errors + len(stack)


def _skip_string(code: str, start: int) -> int:
    """Return the index after the string literal that opens at ``start`` (or the line end)."""
    quote = code[start]
    if code.startswith(quote * 3, start):
        end = code.find(quote * 3, start + 3)
        return len(code) if end < 0 else end + 3
    index = start + 1
    while index < len(code):
        if code[index] == "\\":
            index += 2
            continue
        if code[index] == quote or (code[index] == "\n" and quote != "`"):
            return index + 1
        index += 1
    return index


def adds_bracket_errors(text: str, prefix: str, suffix: str, language: str | None) -> bool:
    head = "\n".join(prefix.split("\n")[-CONTEXT_LINES:])
    tail = "\n".join(suffix.split("\n")[:CONTEXT_LINES])
    comment = "#" if language in (None, "python") else "//"
    return bracket_errors(head + text + tail, comment) > bracket_errors(head + tail, comment)


def has_no_code(text: str) -> bool:
    """True for text without letters or digits that is more than closing punctuation (``..``, ``___``)."""
    stripped = "".join(text.split())
    return not any(char.isalnum() for char in stripped) and not set(stripped) <= CLOSING_PUNCTUATION


def completion_defects(text: str, prefix: str, suffix: str, language: str | None) -> tuple[str, ...]:
    """Return the names of the defects found in ``text`` inserted between prefix and suffix."""
    if not text.strip():
        return ("empty",)
    found = []
    if has_no_code(text):
        found.append("no_code")
    if SPECIAL_TOKEN.search(text):
        found.append("special_tokens")
    if repeats_suffix(text, suffix):
        found.append("repeats_suffix")
    if repeats_prefix(text, prefix):
        found.append("repeats_prefix")
    if is_repetitive(text, prefix, suffix):
        found.append("repetitive")
    line_prefix = prefix.rsplit("\n", 1)[-1]
    if line_prefix.strip() and line_prefix.endswith(" ") and text.startswith(" "):
        found.append("double_space")
    # The tree-sitter check misses errors that merge into an ERROR node already
    # there (`return 3.14 * r * r)` counts as many errors as `return 3.14 *`), so
    # the bracket count runs as well, and a completion can carry both defects.
    window = extract_window(prefix + suffix, len(prefix), language)
    syntax_delta = syntax_error_delta(window, text)
    if syntax_delta is not None and syntax_delta > 0:
        found.append("syntax_errors")
    if adds_bracket_errors(text, prefix, suffix, language):
        found.append("unbalanced_brackets")
    return tuple(found)


__all__ = ["bracket_errors", "completion_defects", "is_repetitive", "repeats_prefix", "repeats_suffix"]
