"""Facts about the cursor that the mode decision and the filters share.

Syntax facts come from the tree when there is one. Where the tree has an
error around the cursor, or for the line-based fallback, a small lexer over
the cursor line fills in whether the cursor sits in a string or a comment.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import tree_sitter

from .document import Document
from .region import SyntaxView
from .languages import Syntax, quote_characters, syntax

_NEARBY_LINES = 40  # how far to look for the previous or next non-blank line
_PYTHON_HEADER = re.compile(
    r"^\s*(?:async\s+)?(?:def|class|if|elif|else|for|while|with|try|except|finally|match|case)\b.*:\s*(?:#.*)?$"
)
# Python statements whose `:` opens an indented body, as tree-sitter-python names them.
_PYTHON_BLOCKS = frozenset({
    "function_definition", "class_definition", "if_statement", "elif_clause", "else_clause", "for_statement",
    "while_statement", "try_statement", "except_clause", "except_group_clause", "finally_clause", "with_statement",
    "match_statement", "case_clause",
})
_COMMENT_MARKERS = {"python": ("#",), None: ("#", "//")}
_OPENERS = ("{", "(", "[")
_MAX_SCAN_CHARS = 20_000  # how much of a cursor line the lexer reads, counted back from its end
_STATEMENT_END = re.compile(r"[;}]")
CLOSERS = ")]}>\"'`;,"


@dataclass(frozen=True, slots=True)
class Cursor:
    """The cursor line split at the cursor, its neighbours and what encloses the cursor."""

    offset: int
    line_start: int
    line_prefix: str
    line_suffix: str
    previous_line: str  # nearest non-blank line above the cursor line, "" when none
    next_line: str  # nearest non-blank line below the cursor line, "" when none
    literal: str | None  # "string" or "comment" when the cursor is inside one
    header_above: bool  # the previous non-blank line ends a block header or opens a bracket
    header_here: bool  # the text left of the cursor ends a block header


def _nearby_line(document: Document, line: int, step: int) -> tuple[int, str]:
    """Return (line number, text) of the nearest non-blank line in direction ``step``, or (-1, "")."""
    for _ in range(_NEARBY_LINES):
        line += step
        if not 0 <= line < document.index.line_count:
            break
        text = document.line_text(line)
        if text.strip():
            return line, text
    return -1, ""


@functools.cache
def _lexer_patterns(language: str | None) -> tuple[re.Pattern, dict[str, re.Pattern]]:
    """Return the pattern of what opens a string or comment, and per quote the pattern of what ends it or escapes."""
    markers = _COMMENT_MARKERS.get(language, ("//",))
    quotes = quote_characters(language)
    opener = re.compile("|".join(re.escape(token) for token in (*markers, *quotes)))
    inside = {quote: re.compile(r"[\\" + re.escape(quote) + "]") for quote in quotes}
    return opener, inside


def scan_line(line_text: str, language: str | None) -> tuple[str | None, int]:
    """Lex one line: return what its end is inside ("string", "comment" or None) and where code ends.

    The second value is the index of a line comment, or ``len(line_text)``.
    """
    opener, inside = _lexer_patterns(language)
    index = 0
    if len(line_text) > _MAX_SCAN_CHARS:
        # NOTE: a longer line (a minified bundle) is lexed from a statement end near its last _MAX_SCAN_CHARS,
        # which can miss a string opened before. Lexing all of a 2 MB line took 0.2 s per keystroke.
        cut = len(line_text) - _MAX_SCAN_CHARS
        boundary = _STATEMENT_END.search(line_text, cut, cut + 1000)
        index = boundary.end() if boundary else cut
    while True:
        found = opener.search(line_text, index)
        if found is None:
            return None, len(line_text)
        token = found.group()
        if token not in inside:
            return "comment", found.start()
        closer = inside[token]
        index = found.end()
        while True:
            end = closer.search(line_text, index)
            if end is None:
                return "string", len(line_text)
            if end.group() == "\\":
                index = end.end() + 1
                continue
            index = end.end()
            break


def _ancestors(node: tree_sitter.Node | None):
    while node is not None:
        yield node
        node = node.parent


def tree_literal(root: tree_sitter.Node, byte: int, rules: Syntax) -> str | None:
    """Return "string" or "comment" when the tree puts ``byte`` inside one.

    Returns "code" for code embedded in a string, such as ``${x}`` in a
    template or ``{x}`` in an f-string, and None elsewhere.
    """
    for node in (root.descendant_for_byte_range(byte, byte), root.descendant_for_byte_range(max(byte - 1, 0), byte)):
        for ancestor in _ancestors(node):
            if ancestor.type in ("template_substitution", "interpolation"):
                return "code"
            inside = ancestor.start_byte < byte < ancestor.end_byte
            if ancestor.type in rules.strings and inside:
                return "string"
            if ancestor.type in rules.comments:
                line_comment = not ancestor.text.rstrip().endswith(b"*/")
                if inside or (line_comment and ancestor.start_byte < byte == ancestor.end_byte):
                    return "comment"
    return None


def _ends_with_opener(
    document: Document, view: SyntaxView | None, end: int, line_text: str, openers: tuple[str, ...]
) -> bool:
    """Check that ``line_text``, which ends at code point ``end``, ends a block header or opens a bracket."""
    language = document.language
    code_end = scan_line(line_text, language)[1]
    code = line_text[:code_end].rstrip()
    if language == "python":
        opens = bool(_PYTHON_HEADER.match(code)) or code.endswith(openers)
    else:
        opens = code.endswith(openers) or (language is None and code.endswith(":"))
    code_end = end - len(line_text) + len(code)
    if view is None or not view.start < code_end <= view.end:
        return opens
    byte = view.byte_at(code_end)
    rules = syntax(language)
    token = view.root.descendant_for_byte_range(byte - 1, byte)
    if token is None:
        return False
    if not opens:
        # A header wrapped over lines ends in a line such as `) -> int:`, which the pattern cannot see.
        return language == "python" and token.type == ":" and getattr(token.parent, "type", None) in _PYTHON_BLOCKS
    return token.type not in rules.comments and tree_literal(view.root, byte - 1, rules) is None


def build_cursor(document: Document, offset: int, view: SyntaxView | None) -> Cursor:
    """Collect the cursor facts for ``offset`` in ``document``, with the tree of the region around it."""
    text, language = document.text, document.language
    line = document.index.line_of(offset)
    line_start, line_end = document.index.line_span(text, line)
    offset = min(offset, line_end)  # an offset between \r and \n counts as the line end
    line_prefix, line_suffix = text[line_start:offset], text[offset:line_end]
    previous_number, previous_line = _nearby_line(document, line, -1)

    if view is not None:
        literal = tree_literal(view.root, view.byte_at(offset), syntax(language))
        if literal is None and view.root.has_error:  # an unterminated string parses as an error
            literal = scan_line(line_prefix, language)[0]
        elif literal == "code":
            literal = None
    else:
        literal = scan_line(line_prefix, language)[0]

    header_above = False
    if not line_prefix.strip() and previous_line:
        previous_end = document.index.line_span(text, previous_number)[1]
        header_above = _ends_with_opener(document, view, previous_end, previous_line, _OPENERS)
    header_here = bool(line_prefix.strip()) and _ends_with_opener(document, view, offset, line_prefix, ("{",))
    return Cursor(
        offset=offset, line_start=line_start, line_prefix=line_prefix, line_suffix=line_suffix,
        previous_line=previous_line, next_line=_nearby_line(document, line, 1)[1], literal=literal,
        header_above=header_above, header_here=header_here,
    )
