"""Byte-level BPE tokenizer with the special tokens of the FIM layout."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

MASK_TOKEN = "<|mask|>"
EOM_TOKEN = "<|eom|>"  # end of middle; also fills the rest of the canvas
PAD_TOKEN = "<|pad|>"  # slot padding, never a prediction target
SPECIAL_TOKENS = [MASK_TOKEN, EOM_TOKEN, PAD_TOKEN]  # ids 0, 1, 2


def train_tokenizer(texts: Iterable[str], vocab_size: int) -> Tokenizer:
    """Train a byte-level BPE whose first ids are the special tokens."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer=trainer)
    return tokenizer


def save_tokenizer(tokenizer: Tokenizer, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, mask_token=MASK_TOKEN, eos_token=EOM_TOKEN, pad_token=PAD_TOKEN
    )
    fast.save_pretrained(str(folder))


def load_tokenizer(folder: Path | str) -> PreTrainedTokenizerFast:
    """Load ``tokenizer.json`` from a model folder as a transformers fast tokenizer."""
    # Special-token text inside source code ("<|mask|>" in a string) stays ordinary text.
    tokenizer = PreTrainedTokenizerFast.from_pretrained(str(folder), split_special_tokens=True)
    for expected_id, token in enumerate(SPECIAL_TOKENS):
        if tokenizer.convert_tokens_to_ids(token) != expected_id:
            raise ValueError(f"tokenizer in {folder} has {token} at a different id than {expected_id}")
    return tokenizer


def iter_corpus_texts(path: Path, max_chars: int) -> Iterator[str]:
    total = 0
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            text = json.loads(line)["text"]
            total += len(text)
            yield text
            if total >= max_chars:
                return
