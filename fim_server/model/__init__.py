"""The masked-diffusion FIM model, registered with the transformers Auto classes."""

from transformers import AutoConfig, AutoModel

from .configuration import FimDiffusionConfig
from .modeling import CANVAS, PREFIX, SLOT_PAD, SUFFIX, ContextCache, FimDiffusionModel

AutoConfig.register(FimDiffusionConfig.model_type, FimDiffusionConfig, exist_ok=True)
AutoModel.register(FimDiffusionConfig, FimDiffusionModel, exist_ok=True)

__all__ = [
    "CANVAS",
    "PREFIX",
    "SLOT_PAD",
    "SUFFIX",
    "ContextCache",
    "FimDiffusionConfig",
    "FimDiffusionModel",
]
