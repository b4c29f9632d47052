"""Quote a value from a request in an error message, as the request's format writes it."""

from __future__ import annotations

import json

# Long enough for any valid value, so a 5 MB string sent by mistake is not echoed back whole.
QUOTE_LIMIT = 80


def json_value(value: object, limit: int = QUOTE_LIMIT) -> str:
    """Write ``value`` as JSON spells it (true, null, "text"), cut to ``limit`` characters."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text
