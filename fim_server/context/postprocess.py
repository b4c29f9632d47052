"""Post-processing filters applied to a raw model completion."""

from __future__ import annotations

from dataclasses import dataclass, field

from .window import ContextWindow

SPECIAL_TOKENS = ("<|mask|>", "<|eom|>", "<|pad|>")


@dataclass(slots=True)
class Processed:
    text: str
    rejected: str | None = None  # reason when nothing useful is left
    applied: list[str] = field(default_factory=list)  # names of filters that changed the text


def _indent_width(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def postprocess(text: str, window: ContextWindow, *, max_lines: int = 20) -> Processed:
    result = Processed(text)

    def apply(name: str, new: str) -> None:
        if new != result.text:
            result.applied.append(name)
            result.text = new

    cleaned = result.text
    for token in SPECIAL_TOKENS:
        cleaned = cleaned.replace(token, "")
    apply("special_tokens", cleaned)
    if window.mode == "line":
        apply("single_line", result.text.split("\n", 1)[0])
    lines = result.text.split("\n")
    if window.mode == "block" and len(lines) > 1:
        base = _indent_width(window.line_prefix) if not window.line_prefix.strip() else _indent_width(window.indent)
        kept = [lines[0]]
        for line in lines[1:]:
            if line.strip() and _indent_width(line) < base:
                break
            kept.append(line)
        apply("indentation_scope", "\n".join(kept))
    lines = result.text.split("\n")[:max_lines]
    apply("max_lines", "\n".join(lines))
    apply("trailing_whitespace", "\n".join(line.rstrip() for line in result.text.split("\n")).rstrip("\n"))
    right = window.line_suffix.strip()
    if right and result.text.rstrip().endswith(right):
        apply("suffix_overlap", result.text.rstrip()[: -len(right)])
    if not result.text.strip():
        result.rejected = "empty after post-processing"
    return result
