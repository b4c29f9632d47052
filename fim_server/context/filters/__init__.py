"""Post-processing filters, each a small function from a draft to a draft, in the order they run."""

from .cleanup import (
    END_TOKENS,
    OTHER_TOKENS,
    is_useful,
    leading_space,
    line_break_before_code,
    max_lines,
    repetition,
    single_line,
    special_tokens,
    trailing_whitespace,
)
from .draft import Draft, Filter
from .indent import first_line_indent, indentation_scope, indentation_style
from .suffix import auto_closed, closing_duplicate, line_suffix_overlap, suffix_overlap

# max_lines runs separately because it takes the request's limit.
FILTERS: tuple[tuple[str, Filter], ...] = (
    ("special_tokens", special_tokens),
    ("single_line", single_line),
    ("leading_space", leading_space),
    ("repetition", repetition),
    ("first_line_indent", first_line_indent),
    ("indentation_style", indentation_style),
    ("indentation_scope", indentation_scope),
    ("suffix_overlap", suffix_overlap),
    ("closing_duplicate", closing_duplicate),
    ("auto_closed", auto_closed),
    ("line_suffix_overlap", line_suffix_overlap),
)
FINAL_FILTERS: tuple[tuple[str, Filter], ...] = (
    ("trailing_whitespace", trailing_whitespace),
    ("line_break_before_code", line_break_before_code),
)

__all__ = [
    "END_TOKENS",
    "FILTERS",
    "FINAL_FILTERS",
    "OTHER_TOKENS",
    "Draft",
    "Filter",
    "auto_closed",
    "closing_duplicate",
    "first_line_indent",
    "indentation_scope",
    "indentation_style",
    "is_useful",
    "leading_space",
    "line_break_before_code",
    "line_suffix_overlap",
    "max_lines",
    "repetition",
    "single_line",
    "special_tokens",
    "suffix_overlap",
    "trailing_whitespace",
]
