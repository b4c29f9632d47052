"""The optional ``fim_server.json`` manifest that selects how a model folder loads.

A model folder may carry ``fim_server.json`` next to its ``config.json``::

    {"model_format": "hf-masked", "mask_token": "[MASK]", "end_tokens": ["[SEP]"],
     "max_prefix_tokens": 512, "max_suffix_tokens": 256, "max_canvas_tokens": 128}

Fields:

- ``model_format``: ``auto`` (the default), ``fim-diffusion``, ``fim-autoregressive`` or ``hf-masked``.
- ``mask_token``: the token of an undecided canvas slot (default: the tokenizer's mask token).
- ``end_tokens``: tokens that end the middle (default: the tokenizer's EOS, SEP and PAD).
- ``max_prefix_tokens``, ``max_suffix_tokens``, ``max_canvas_tokens``: budgets in model tokens
  (defaults 512, 256 and 128, shrunk to fit a model with fewer positions). Their sum plus the
  tokenizer's framing tokens must fit the model's ``max_position_embeddings``.

Every field is optional. Without a manifest, or with ``"model_format": "auto"``,
the format follows ``model_type`` in ``config.json``. The token and limit fields
apply only to ``hf-masked`` folders, because the project's own model folders
store them in their ``config.json``. This module does not import torch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path

MANIFEST_NAME = "fim_server.json"
MODEL_FORMATS = ("auto", "fim-diffusion", "fim-autoregressive", "hf-masked")
MAX_LIMIT_TOKENS = 32_768


@dataclass(frozen=True, slots=True, kw_only=True)
class Manifest:
    """Loading options for one model folder. A field left at ``None`` takes its default."""

    model_format: str = "auto"
    mask_token: str | None = None
    end_tokens: tuple[str, ...] | None = None
    max_prefix_tokens: int | None = None
    max_suffix_tokens: int | None = None
    max_canvas_tokens: int | None = None

    def hf_masked_fields(self) -> list[str]:
        """Return the names of the fields that are set and apply only to ``hf-masked`` folders."""
        return [name for name in _HF_ONLY if getattr(self, name) is not None]


_HF_ONLY = ("mask_token", "end_tokens", "max_prefix_tokens", "max_suffix_tokens", "max_canvas_tokens")


def check_format_fields(manifest: Manifest, model_format: str, model_path: str | Path) -> None:
    """Raise ValueError when ``hf-masked`` fields are set for a folder of another format."""
    misplaced = manifest.hf_masked_fields()
    if model_format != "hf-masked" and misplaced:
        raise ValueError(
            f"invalid {misplaced[0]} in {Path(model_path) / MANIFEST_NAME}: it applies only to model_format "
            f"\"hf-masked\"; remove it, because {model_format} folders keep their tokens and limits in config.json"
        )


def _check_field(path: Path, name: str, value) -> object:
    """Return ``value`` converted for field ``name``, or raise ValueError naming the field, value and fix."""
    where = f"{name} {value!r} in {path}"
    if name == "model_format":
        if value not in MODEL_FORMATS:
            raise ValueError(f"invalid {where}: use one of {', '.join(MODEL_FORMATS)}")
        return value
    if name == "mask_token":
        if not isinstance(value, str) or not value:
            raise ValueError(f"invalid {where}: use the mask token as a non-empty string, such as \"[MASK]\"")
        return value
    if name == "end_tokens":
        if not isinstance(value, list) or not value or not all(isinstance(t, str) and t for t in value):
            raise ValueError(f"invalid {where}: use a non-empty list of token strings, such as [\"[SEP]\"]")
        return tuple(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_LIMIT_TOKENS:
        raise ValueError(f"invalid {where}: use a whole number from 1 to {MAX_LIMIT_TOKENS}")
    return value


def read_manifest(model_path: str | Path) -> Manifest:
    """Return the folder's manifest, or the defaults when it has none.

    Raises ValueError when the file is invalid.
    """
    path = Path(model_path) / MANIFEST_NAME
    if not path.is_file():
        return Manifest()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"invalid {path}: not a JSON file ({exc}): fix the syntax or delete the file") from None
    if not isinstance(data, dict):
        raise ValueError(f"invalid {path}: expected a JSON object such as {{\"model_format\": \"hf-masked\"}}")
    known = [f.name for f in fields(Manifest)]
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ValueError(f"unknown field {unknown[0]!r} in {path}: known fields are {', '.join(known)}")
    values = {name: _check_field(path, name, value) for name, value in data.items()}
    return Manifest(**values)


__all__ = ["MANIFEST_NAME", "MODEL_FORMATS", "Manifest", "check_format_fields", "read_manifest"]
