"""The masked-diffusion FIM model and its autoregressive baseline, registered with the transformers Auto classes."""

from transformers import AutoConfig, AutoModel

from .autoregressive import FimAutoregressiveConfig, FimAutoregressiveModel
from .configuration import FimDiffusionConfig
from .modeling import CANVAS, PREFIX, SLOT_PAD, SUFFIX, CanvasPlan, ContextCache, FimDiffusionModel

AutoConfig.register(FimDiffusionConfig.model_type, FimDiffusionConfig, exist_ok=True)
AutoModel.register(FimDiffusionConfig, FimDiffusionModel, exist_ok=True)
AutoConfig.register(FimAutoregressiveConfig.model_type, FimAutoregressiveConfig, exist_ok=True)
AutoModel.register(FimAutoregressiveConfig, FimAutoregressiveModel, exist_ok=True)

__all__ = [
    "CANVAS",
    "PREFIX",
    "SLOT_PAD",
    "SUFFIX",
    "CanvasPlan",
    "ContextCache",
    "FimAutoregressiveConfig",
    "FimAutoregressiveModel",
    "FimDiffusionConfig",
    "FimDiffusionModel",
]
