"""Pick the engine class for a model folder.

The folder's ``fim_server.json`` manifest may name the format (see
``manifest.py``). Otherwise, or when it sets ``auto``, ``model_type`` in
``config.json`` decides: ``fim-diffusion`` and ``fim-autoregressive`` are the
project's own models, and a type that ``transformers.AutoModelForMaskedLM``
loads selects the ``hf-masked`` engine.
"""

from __future__ import annotations

import json
from pathlib import Path

from .manifest import MANIFEST_NAME, Manifest, check_format_fields, read_manifest

ENGINE_MODEL_TYPES = ("fim-diffusion", "fim-autoregressive")


def model_type_of(model_path: str | Path) -> str:
    """Return ``model_type`` from the folder's config.json; raise FileNotFoundError or ValueError."""
    config_path = Path(model_path) / "config.json"
    if not config_path.is_file():
        raise FileNotFoundError(
            f"model folder {model_path} has no config.json; pass a folder written by `fim-server train --export` "
            "or a Hugging Face masked language model folder"
        )
    try:
        model_type = json.loads(config_path.read_text(encoding="utf-8")).get("model_type")
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError) as exc:
        raise ValueError(f"invalid {config_path}: expected a JSON object with a model_type ({exc})") from None
    return model_type


def model_format_of(model_path: str | Path, manifest: Manifest | None = None) -> str:
    """Return ``fim-diffusion``, ``fim-autoregressive`` or ``hf-masked``; raise FileNotFoundError or ValueError."""
    manifest = manifest if manifest is not None else read_manifest(model_path)
    model_type = model_type_of(model_path)
    model_format = manifest.model_format
    if model_format == "auto":
        if model_type in ENGINE_MODEL_TYPES:
            model_format = model_type
        else:
            from .hf_masked import masked_lm_model_types

            if model_type not in masked_lm_model_types():
                raise ValueError(
                    f"unsupported model_type {model_type!r} in {Path(model_path) / 'config.json'}: expected "
                    f"{', '.join(ENGINE_MODEL_TYPES)} or a masked language model that transformers loads with "
                    "AutoModelForMaskedLM (such as modernbert, bert or roberta)"
                )
            model_format = "hf-masked"
    elif model_format in ENGINE_MODEL_TYPES and model_type != model_format:
        raise ValueError(
            f"invalid model_format {model_format!r} in {Path(model_path) / MANIFEST_NAME}: config.json has "
            f"model_type {model_type!r}; set model_format to \"auto\" or to the folder's real format"
        )
    check_format_fields(manifest, model_format, model_path)
    return model_format


def load_engine(model_path: str | Path, *, dtype: str = "auto", threads: int | None = None):
    """Load a ``DiffusionEngine``, ``AutoregressiveEngine`` or ``HFMaskedEngine``, whichever the folder holds."""
    manifest = read_manifest(model_path)
    model_format = model_format_of(model_path, manifest)
    if model_format == "hf-masked":
        from .hf_masked import HFMaskedEngine

        return HFMaskedEngine(model_path, dtype=dtype, threads=threads, manifest=manifest)
    if model_format == "fim-autoregressive":
        from .autoregressive import AutoregressiveEngine

        return AutoregressiveEngine(model_path, dtype=dtype, threads=threads)
    from .engine import DiffusionEngine

    return DiffusionEngine(model_path, dtype=dtype, threads=threads)


__all__ = ["ENGINE_MODEL_TYPES", "load_engine", "model_format_of", "model_type_of"]
