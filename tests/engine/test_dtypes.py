"""The auto dtype: bfloat16 only where the CPU runs it natively, float32 elsewhere."""

import pytest
import torch

from fim_server.config import ConfigError, load_settings
from fim_server.engine import dtypes
from fim_server.engine.dtypes import native_bfloat16, resolve_dtype
from fim_server.engine.engine import DiffusionEngine


@pytest.mark.parametrize(("native", "expected"), [(True, "bfloat16"), (False, "float32")])
def test_auto_follows_cpu(monkeypatch, native, expected):
    monkeypatch.setattr(dtypes, "native_bfloat16", lambda: native)
    assert resolve_dtype("auto") == expected


@pytest.mark.parametrize("name", ["bfloat16", "float32"])
def test_explicit_dtype_kept(monkeypatch, name):
    monkeypatch.setattr(dtypes, "native_bfloat16", lambda: name == "float32")
    assert resolve_dtype(name) == name


def test_unknown_dtype_rejected():
    with pytest.raises(ValueError, match="invalid dtype 'float16': use one of auto, bfloat16, float32"):
        resolve_dtype("float16")


def test_native_check_matches_torch():
    assert native_bfloat16() is bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def test_settings_default_to_auto(monkeypatch):
    monkeypatch.delenv("FIM_SERVER_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent")
    assert load_settings(environ={}).dtype == "auto"
    assert load_settings(environ={"FIM_SERVER_DTYPE": "float32"}).dtype == "float32"
    with pytest.raises(ConfigError, match="invalid dtype 'half' in --dtype: use one of auto, bfloat16, float32"):
        load_settings({"dtype": "half"}, environ={})


@pytest.mark.parametrize(("native", "expected"), [(True, torch.bfloat16), (False, torch.float32)])
def test_engine_loads_auto_dtype(monkeypatch, bundled_model_path, native, expected):
    monkeypatch.setattr(dtypes, "native_bfloat16", lambda: native)
    engine = DiffusionEngine(bundled_model_path, threads=1)
    assert engine.dtype == expected
    assert next(engine.model.parameters()).dtype == expected
