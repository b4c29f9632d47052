"""Weight dtypes, and the choice between bfloat16 and float32 for the CPU at hand.

bfloat16 halves the weights' memory and can be faster where the CPU supports
it natively (AVX-512 or AMX on x86, the BF16 extension on Arm). Elsewhere
oneDNN emulates it: on a 2-core AMD EPYC with AVX2 only, one-line fills of the
bundled model took three to four times as long in bfloat16 as in float32.
"""

from __future__ import annotations

import functools
import logging

log = logging.getLogger("fim_server.engine")

DTYPE_NAMES = ("auto", "bfloat16", "float32")
AUTO_DTYPE_HELP = "auto picks bfloat16 where the CPU supports it natively, else float32"


@functools.cache
def native_bfloat16() -> bool:
    """Return whether PyTorch's oneDNN runs bfloat16 natively on this CPU."""
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a build without oneDNN, or a PyTorch that renamed the check
        return False


def resolve_dtype(name: str) -> str:
    """Return the concrete dtype name for ``name``: "auto" becomes "bfloat16" or "float32"."""
    if name not in DTYPE_NAMES:
        raise ValueError(f"invalid dtype {name!r}: use one of {', '.join(DTYPE_NAMES)}")
    if name == "auto":
        chosen = "bfloat16" if native_bfloat16() else "float32"
        log.info("dtype auto: %s, because this CPU %s native bfloat16 support", chosen,
                 "has" if chosen == "bfloat16" else "has no")
        return chosen
    return name
