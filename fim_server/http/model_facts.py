"""Facts about the served model folder for Ollama's ``/api/show`` and ``/api/tags``: size, digest, parameters.

Plugins read these to show the model and to size their prompts. ``model_info`` uses
GGUF-style keys such as ``<architecture>.context_length``. NOTE: which plugins read
which of these keys was not checked. Everything comes from the folder's own files.
The digest reads every weight file once. It is kept in the user's cache folder
under the files' paths, sizes, inodes and change times, so a restart over unchanged
weights does not read them again.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import struct
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

# Served dtype -> Ollama's quantization_level names.
QUANTIZATION_LEVELS = {"bfloat16": "BF16", "float32": "F32"}
_HEADER_LENGTH = struct.Struct("<Q")  # a safetensors file starts with its JSON header's length
_DIGEST_CACHE_ENTRIES = 32


@dataclass(frozen=True, slots=True)
class ModelFacts:
    """Facts that ``/api/show`` and ``/api/tags`` report about one model folder."""

    family: str = "fim-diffusion"
    parameter_count: int | None = None
    quantization_level: str = ""
    size_bytes: int = 0
    digest: str = ""
    modified_at: str = ""
    model_info: dict = field(default_factory=dict)
    weights_format: str = "safetensors"  # reported as details.format: "safetensors" or "pytorch"

    def details(self) -> dict:
        return {"parent_model": "", "format": self.weights_format, "family": self.family, "families": [self.family],
                "parameter_size": parameter_size(self.parameter_count),
                "quantization_level": self.quantization_level}


def parameter_size(count: int | None) -> str:
    """Format a parameter count as Ollama does ("6.8M", "1.5B"), or return "" when it is unknown."""
    if not count:
        return ""
    if count >= 1e9:
        return f"{count / 1e9:.1f}B"
    return f"{count / 1e6:.1f}M"


def _weight_files(folder: Path) -> tuple[str, list[Path]]:
    """Return the weights format ("safetensors" or "pytorch") and its files. Safetensors wins when both exist."""
    safetensors = sorted(folder.glob("*.safetensors"))
    if safetensors:
        return "safetensors", safetensors
    return "pytorch", sorted(folder.glob("pytorch_model*.bin"))


def _tensor_elements(path: Path) -> int:
    """Count the elements of every tensor in a weights file without reading the tensor data."""
    if path.suffix == ".bin":
        import torch

        state = torch.load(path, map_location="cpu", mmap=True, weights_only=True)
        return sum(tensor.numel() for tensor in state.values() if isinstance(tensor, torch.Tensor))
    with open(path, "rb") as handle:
        (length,) = _HEADER_LENGTH.unpack(handle.read(_HEADER_LENGTH.size))
        header = json.loads(handle.read(length))
    total = 0
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        elements = 1
        for extent in entry["shape"]:
            elements *= extent
        total += elements
    return total


def _context_length(config: dict) -> int | None:
    budget = [config.get(key) for key in ("max_prefix_tokens", "max_suffix_tokens", "max_canvas_tokens")]
    if all(isinstance(value, int) for value in budget):
        return sum(budget)
    for key in ("max_position_embeddings", "n_positions"):
        if isinstance(config.get(key), int):
            return config[key]
    return None


def digest_cache_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "fim-server" / "weight-digests.json"


def _file_identity(paths: list[Path]) -> str:
    """Return a key that changes when any of ``paths`` is replaced, resized or rewritten."""
    parts = []
    for path in paths:
        stat = path.stat()
        # ctime changes on every write, even when the modification time is set back.
        parts.append([str(path.resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino])
    return json.dumps(parts)


def _read_digest_cache(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_digest_cache(path: Path, entries: dict) -> None:
    """Write the cache aside and move it in. A cache that cannot be written is skipped."""
    temporary = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=".digests-", delete=False) as handle:
            temporary = handle.name
            json.dump(entries, handle)
        os.replace(temporary, path)
    except OSError:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)


def weights_digest(weights: list[Path]) -> str:
    """Return the sha256 of the weight files in order, from the cache when the files have not changed."""
    key = _file_identity(weights)
    cache_path = digest_cache_path()
    entries = _read_digest_cache(cache_path)
    cached = entries.get(key)
    if isinstance(cached, str) and len(cached) == 64:
        return cached
    digest = hashlib.sha256()
    for path in weights:
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    if _file_identity(weights) != key:  # The files changed while being read, so the digest is not cached.
        return digest.hexdigest()
    entries.pop(key, None)
    entries[key] = digest.hexdigest()
    while len(entries) > _DIGEST_CACHE_ENTRIES:
        entries.pop(next(iter(entries)))
    _write_digest_cache(cache_path, entries)
    return entries[key]


def read_model_facts(folder: str | Path | None, dtype: str | None) -> ModelFacts:
    """Read the facts of ``folder``. A missing folder or an unreadable file leaves them empty.

    Hashing reads every weight file unless their digest is cached, so call it before
    serving or in a worker thread.
    """
    level = QUANTIZATION_LEVELS.get(dtype or "", "")
    if folder is None:
        return ModelFacts(quantization_level=level)
    folder = Path(folder)
    try:
        config = json.loads((folder / "config.json").read_text())
        weights_format, weights = _weight_files(folder)
        if not weights:
            return ModelFacts(quantization_level=level)
        digest = weights_digest(weights)
        count = sum(_tensor_elements(path) for path in weights) or None
        files = [folder / "config.json", *weights]
        newest = max(path.stat().st_mtime for path in files)
    except Exception:  # A damaged file leaves the facts empty, because the model itself already loaded.
        return ModelFacts(quantization_level=level)
    family = str(config.get("model_type") or "unknown")
    info: dict = {"general.architecture": family}
    if count:
        info["general.parameter_count"] = count
    context = _context_length(config)
    if context:
        info[f"{family}.context_length"] = context
    for source, name in (("hidden_size", "embedding_length"), ("num_hidden_layers", "block_count"),
                         ("num_attention_heads", "attention.head_count"), ("vocab_size", "vocab_size")):
        if isinstance(config.get(source), int):
            info[f"{family}.{name}"] = config[source]
    modified = datetime.datetime.fromtimestamp(newest, datetime.timezone.utc).isoformat().replace("+00:00", "Z")
    return ModelFacts(family=family, parameter_count=count, quantization_level=level, weights_format=weights_format,
                      size_bytes=sum(path.stat().st_size for path in weights), digest=digest,
                      modified_at=modified, model_info=info)
