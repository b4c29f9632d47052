"""Post-processing: run the filters over a raw model completion and judge what is left."""

from __future__ import annotations

from dataclasses import dataclass, field

from .filters import FILTERS, FINAL_FILTERS, Draft, Filter, is_useful, max_lines as limit_lines
from .window import ContextWindow


@dataclass(slots=True)
class Processed:
    """A completion after the filters, or the reason it was rejected."""

    text: str
    rejected: str | None = None  # reason when nothing useful is left
    applied: list[str] = field(default_factory=list)  # names of filters that changed the text
    replace_chars: int = 0  # code points right of the cursor, on its line, that the text replaces


def _run(draft: Draft, window: ContextWindow, name: str, step: Filter, applied: list[str]) -> Draft:
    changed = step(draft, window)
    if changed != draft:
        applied.append(name)
    return changed


def postprocess(text: str, window: ContextWindow, *, max_lines: int = 20) -> Processed:
    """Run every filter in order; reject the result when it is empty or too short to help."""
    if max_lines < 1:
        raise ValueError(f"invalid max_lines {max_lines}: must be 1 or more")
    applied: list[str] = []
    draft = Draft(text)
    for name, step in FILTERS:
        draft = _run(draft, window, name, step, applied)
    draft = _run(draft, window, "max_lines", lambda d, w: limit_lines(d, w, max_lines), applied)
    for name, step in FINAL_FILTERS:
        draft = _run(draft, window, name, step, applied)
    result = Processed(draft.text, applied=applied, replace_chars=draft.replace_chars)
    if not draft.text.strip():
        result.rejected = "empty after post-processing"
    elif not is_useful(draft.text):
        result.rejected = f"too short to be useful: {draft.text.strip()!r}"
    return result
