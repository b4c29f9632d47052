"""Choosing the hf-masked engine for a folder, the fim_server.json manifest, and errors for unusable folders."""

import json
import shutil

import pytest
from masked_lm_helpers import write_masked_lm

from fim_server.cli import main as cli_main
from fim_server.engine.hf_masked import HFMaskedEngine
from fim_server.engine.loading import load_engine, model_format_of
from fim_server.engine.manifest import Manifest, read_manifest


def write_manifest(folder, data) -> None:
    (folder / "fim_server.json").write_text(json.dumps(data) if not isinstance(data, str) else data, encoding="utf-8")


@pytest.fixture()
def model_copy(masked_lm_path, tmp_path):
    """A private copy of the tiny masked LM folder that a test may add a manifest to."""
    return shutil.copytree(masked_lm_path, tmp_path / "model")


@pytest.fixture()
def gpt2_folder(tmp_path):
    from transformers import GPT2Config, GPT2LMHeadModel

    folder = tmp_path / "gpt2"
    GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=8, n_head=2, vocab_size=64, n_positions=32)).save_pretrained(folder)
    return folder


def test_format_follows_model_type_without_manifest(masked_lm_path, bundled_model_path):
    assert model_format_of(masked_lm_path) == "hf-masked"
    assert model_format_of(bundled_model_path) == "fim-diffusion"
    assert read_manifest(masked_lm_path) == Manifest()


def test_manifest_selects_hf_masked(model_copy):
    write_manifest(model_copy, {"model_format": "hf-masked", "mask_token": "[UNK]", "max_canvas_tokens": 24})
    engine = load_engine(model_copy, dtype="float32")
    assert isinstance(engine, HFMaskedEngine)
    assert engine.tokens.mask_id == engine.tokenizer.unk_token_id
    assert engine.limits.max_canvas_tokens == 24
    result = engine.fill("x = ", "\n", canvas_tokens=100, effort="instant")
    assert result.candidates[0].canvas_tokens == 24


def test_causal_lm_folder_is_rejected(gpt2_folder):
    with pytest.raises(ValueError, match="unsupported model_type 'gpt2'.*AutoModelForMaskedLM"):
        load_engine(gpt2_folder)
    write_manifest(gpt2_folder, {"model_format": "hf-masked"})
    with pytest.raises(ValueError, match="is not a masked language model: model_type 'gpt2'"):
        load_engine(gpt2_folder)


def test_custom_code_folder_is_rejected(tmp_path):
    (tmp_path / "config.json").write_text(json.dumps(
        {"model_type": "llada", "auto_map": {"AutoModel": "modeling_llada.LLaDAModelLM"}}))
    write_manifest(tmp_path, {"model_format": "hf-masked"})
    with pytest.raises(ValueError, match="custom model code"):
        load_engine(tmp_path)


def test_project_folder_as_hf_masked_is_rejected(bundled_model_path, tmp_path):
    shutil.copy(bundled_model_path / "config.json", tmp_path / "config.json")
    write_manifest(tmp_path, {"model_format": "hf-masked"})
    with pytest.raises(ValueError, match="model_type 'fim-diffusion' has no AutoModelForMaskedLM class"):
        load_engine(tmp_path)


def test_missing_tokenizer_is_reported(model_copy):
    for name in ("tokenizer.json", "tokenizer_config.json"):
        (model_copy / name).unlink()
    with pytest.raises(ValueError, match="cannot load a tokenizer from"):
        load_engine(model_copy, dtype="float32")


@pytest.mark.parametrize(("manifest", "message"), [
    ("{not json", "not a JSON file"),
    ("[1, 2]", "expected a JSON object"),
    ({"format": "hf-masked"}, "unknown field 'format'.*known fields are model_format"),
    ({"model_format": "bert"}, "invalid model_format 'bert'.*use one of auto, fim-diffusion"),
    ({"end_tokens": "[SEP]"}, "invalid end_tokens '\\[SEP\\]'.*non-empty list"),
    ({"mask_token": ""}, "invalid mask_token ''"),
    ({"max_canvas_tokens": 0}, "invalid max_canvas_tokens 0.*from 1 to"),
    ({"max_prefix_tokens": True}, "invalid max_prefix_tokens True"),
])
def test_invalid_manifest_is_rejected(model_copy, manifest, message):
    write_manifest(model_copy, manifest)
    with pytest.raises(ValueError, match=message):
        load_engine(model_copy, dtype="float32")


@pytest.mark.parametrize(("manifest", "message"), [
    ({"mask_token": "<mask>"}, "invalid mask_token '<mask>'.*the tokenizer has no such token"),
    ({"end_tokens": ["[SEP]", "</s>"]}, "invalid end_tokens '</s>'"),
    ({"end_tokens": ["[MASK]"]}, "the mask token cannot end the middle"),
    ({"max_prefix_tokens": 400, "max_suffix_tokens": 100, "max_canvas_tokens": 64},
     "max_prefix_tokens 400 \\+ max_suffix_tokens 100 \\+ max_canvas_tokens 64 exceed the 510 positions"),
])
def test_manifest_that_does_not_fit_the_model(model_copy, manifest, message):
    write_manifest(model_copy, manifest)
    with pytest.raises(ValueError, match=message):
        load_engine(model_copy, dtype="float32")


def test_hf_fields_on_project_format_are_rejected(bundled_model_path, tmp_path):
    shutil.copy(bundled_model_path / "config.json", tmp_path / "config.json")
    write_manifest(tmp_path, {"mask_token": "[MASK]"})
    with pytest.raises(ValueError, match="invalid mask_token.*applies only to model_format \"hf-masked\""):
        model_format_of(tmp_path)
    write_manifest(tmp_path, {"model_format": "fim-autoregressive"})
    with pytest.raises(ValueError, match="invalid model_format 'fim-autoregressive'.*model_type 'fim-diffusion'"):
        model_format_of(tmp_path)


def test_cli_complete_runs_hf_masked_model(masked_lm_path, tmp_path, capsys):
    source = tmp_path / "add.py"
    source.write_text("def add(a, b):\n    return \n\n\nprint(add(1, 2))\n", encoding="utf-8")
    code = cli_main(["complete", f"{source}:2:12", "--model", str(masked_lm_path), "--dtype", "float32",
                     "--threads", "1", "--effort", "instant", "--json"])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert 1 <= result["model_steps"] <= 4
    assert result["cache"] == "uncached"
    assert "[SEP]" not in result["text"]
