"""Pick the engine class for a model folder from the ``model_type`` in its ``config.json``."""

from __future__ import annotations

import json
from pathlib import Path

ENGINE_MODEL_TYPES = ("fim-diffusion", "fim-autoregressive")


def model_type_of(model_path: str | Path) -> str:
    """Return ``model_type`` from the folder's config.json; raise FileNotFoundError or ValueError."""
    config_path = Path(model_path) / "config.json"
    if not config_path.is_file():
        raise FileNotFoundError(
            f"model folder {model_path} has no config.json; pass a folder written by `fim-server train --export`"
        )
    try:
        model_type = json.loads(config_path.read_text(encoding="utf-8")).get("model_type")
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError) as exc:
        raise ValueError(f"invalid {config_path}: expected a JSON object with a model_type ({exc})") from None
    if model_type not in ENGINE_MODEL_TYPES:
        raise ValueError(
            f"unsupported model_type {model_type!r} in {config_path}: expected one of {', '.join(ENGINE_MODEL_TYPES)}"
        )
    return model_type


def load_engine(model_path: str | Path, *, dtype: str = "bfloat16", threads: int | None = None):
    """Load a ``DiffusionEngine`` or an ``AutoregressiveEngine``, whichever the folder holds."""
    if model_type_of(model_path) == "fim-autoregressive":
        from .autoregressive import AutoregressiveEngine

        return AutoregressiveEngine(model_path, dtype=dtype, threads=threads)
    from .engine import DiffusionEngine

    return DiffusionEngine(model_path, dtype=dtype, threads=threads)


__all__ = ["ENGINE_MODEL_TYPES", "load_engine", "model_type_of"]
