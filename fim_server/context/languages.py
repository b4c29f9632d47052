"""Language detection from an LSP language id or a file extension."""

from __future__ import annotations

from pathlib import PurePath

LANGUAGE_IDS = {
    "python": "python",
    "javascript": "javascript",
    "javascriptreact": "javascript",
    "typescript": "typescript",
    "typescriptreact": "tsx",
    "go": "go",
    "rust": "rust",
    "java": "java",
    "c": "c",
    "cpp": "cpp",
}

EXTENSIONS = {
    ".py": "python", ".pyi": "python",
    ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascript",
    ".ts": "typescript", ".mts": "typescript", ".cts": "typescript", ".tsx": "tsx",
    ".go": "go", ".rs": "rust", ".java": "java",
    ".c": "c", ".h": "c",
    ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hpp": "cpp", ".hh": "cpp", ".hxx": "cpp",
}


def detect_language(language_id: str | None = None, path: str | None = None) -> str | None:
    """Return the canonical language name, or None for a file handled line by line."""
    if language_id:
        found = LANGUAGE_IDS.get(language_id.lower())
        if found:
            return found
    if path:
        return EXTENSIONS.get(PurePath(path).suffix.lower())
    return None
