"""The bundled tokenizer: lossless on any text, special tokens only where the layout puts them."""

import pytest

from fim_server.model.tokenizer import SPECIAL_TOKENS, load_tokenizer, save_tokenizer, train_tokenizer

SAMPLES = [
    "def naïve(x):\n    return x  # café ☕\n",
    "const 世界 = '🎉👩‍💻';\r\n\tlet z = `${a}`;\r\n",
    "s = 'e\u0301' + 'ẞ' + '\u200b' + '\U0001f600'\n",
    "    \t  \n\n\n",
    "x = \"<|mask|>\" + '<|eom|>' + '<|pad|>'\n",
]


@pytest.fixture(scope="module")
def bundled(bundled_model_path):
    return load_tokenizer(bundled_model_path)


@pytest.mark.parametrize("text", SAMPLES)
def test_round_trip_is_lossless(bundled, text):
    ids = bundled.encode(text)
    assert bundled.decode(ids) == text


def test_special_token_text_in_source_is_ordinary_text(bundled):
    ids = bundled.encode(SAMPLES[-1])
    assert not set(ids) & {0, 1, 2}


def test_special_ids_are_fixed(bundled):
    assert [bundled.convert_tokens_to_ids(token) for token in SPECIAL_TOKENS] == [0, 1, 2]


def test_trained_tokenizer_saves_and_loads(tmp_path):
    tokenizer = train_tokenizer(SAMPLES * 20, vocab_size=300)
    save_tokenizer(tokenizer, tmp_path / "tok")
    loaded = load_tokenizer(tmp_path / "tok")
    for text in SAMPLES:
        assert loaded.decode(loaded.encode(text)) == text
    assert loaded.encode("<|mask|>") != [0]
