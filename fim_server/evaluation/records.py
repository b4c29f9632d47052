"""Append-only JSON-lines files of a run: completions and sandbox outcomes.

Rows are flushed one by one, so an interrupted run loses at most the row being
written. The next writer drops that half-written line, and the resumed run
produces the row again.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

log = logging.getLogger("fim_server.evaluation.records")


def read_rows(path: Path) -> list[dict]:
    """Read every complete JSON row of ``path``; a missing file has no rows."""
    if not path.exists():
        return []
    rows = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError:
                log.warning("skipping unreadable line %d of %s (an interrupted write); it will be redone", number, path)
    return rows


def execution_key(task_id: str, text: str) -> str:
    """Return the cache key of one test program: the task and the middle put into it."""
    return hashlib.sha256(f"{task_id}\0{text}".encode()).hexdigest()


class RowWriter:
    """Append JSON rows to a file, flushing after each one."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._repair_last_line(path)
        self._handle = open(path, "a", encoding="utf-8")

    @staticmethod
    def _repair_last_line(path: Path) -> None:
        """Drop a half-written last line (an interrupted write), so the next row starts a line of its own."""
        if not path.exists() or not path.stat().st_size:
            return
        with open(path, "rb+") as handle:
            data = handle.read()
            if data.endswith(b"\n"):
                return
            keep = data.rfind(b"\n") + 1
            log.warning("dropping a half-written last row of %s; it will be redone", path)
            handle.truncate(keep)

    def write(self, row: dict) -> None:
        self._handle.write(json.dumps(row, ensure_ascii=False) + "\n")
        self._handle.flush()

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> RowWriter:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


__all__ = ["RowWriter", "execution_key", "read_rows"]
