"""Build tiny Hugging Face masked LM folders with random weights for the hf-masked tests."""

import json
from pathlib import Path

import torch

PYTHON_SNIPPETS = [
    "def add(a, b):\n    return a + b\n",
    "for index in range(10):\n    print(index)\n",
    "class Stack:\n    def __init__(self):\n        self.items = []\n",
    "with open(path) as handle:\n    data = handle.read()\n",
    "if value is None:\n    raise ValueError('missing value')\n",
]
SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
PADDED_ROWS = 4  # logit rows past the tokenizer, as in checkpoints whose embedding table is padded


def build_tokenizer():
    """Train a byte-level BPE on a few Python snippets that adds [CLS] before and [SEP] after a text."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.BPE(unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=SPECIAL_TOKENS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    backend.train_from_iterator(PYTHON_SNIPPETS * 4, trainer)
    cls_id, sep_id = backend.token_to_id("[CLS]"), backend.token_to_id("[SEP]")
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)])
    return PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="[PAD]", unk_token="[UNK]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]")


def write_masked_lm(folder: Path, *, seed: int = 0, bias: dict[str | int, float] | None = None,
                    manifest: dict | None = None) -> Path:
    """Save a 2-layer ModernBertForMaskedLM and its tokenizer.

    ``bias`` adds to the LM head bias of a token, given as a string or as a logit row index.
    """
    from transformers import ModernBertConfig, ModernBertForMaskedLM

    tokenizer = build_tokenizer()
    ids = {token: tokenizer.convert_tokens_to_ids(token) for token in SPECIAL_TOKENS}
    config = ModernBertConfig(
        vocab_size=len(tokenizer) + PADDED_ROWS,
        hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2,
        max_position_embeddings=512, local_attention=16, pad_token_id=ids["[PAD]"], cls_token_id=ids["[CLS]"],
        bos_token_id=ids["[CLS]"], sep_token_id=ids["[SEP]"], eos_token_id=ids["[SEP]"])
    torch.manual_seed(seed)
    model = ModernBertForMaskedLM(config).eval()
    with torch.no_grad():
        for token, value in (bias or {}).items():
            row = token if isinstance(token, int) else tokenizer.convert_tokens_to_ids(token)
            model.decoder.bias[row] += value
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(folder))
    tokenizer.save_pretrained(str(folder))
    if manifest is not None:
        (folder / "fim_server.json").write_text(json.dumps(manifest), encoding="utf-8")
    return folder
