"""A few optimizer steps of the masked-diffusion objective lower the loss on a tiny corpus."""

import random
from pathlib import Path

import torch

from fim_server.model import FimDiffusionConfig, FimDiffusionModel
from fim_server.model.tokenizer import load_tokenizer, save_tokenizer, train_tokenizer
from fim_server.training.examples import collate, make_example
from fim_server.training.train import diffusion_with_prefix_lm_loss, masked_diffusion_loss

SOURCE = Path(__file__).resolve().parents[2] / "fim_server" / "context" / "mode.py"


def test_few_steps_lower_the_loss(tmp_path):
    texts = [SOURCE.read_text()]
    save_tokenizer(train_tokenizer(texts * 5, vocab_size=400), tmp_path / "tok")
    tokenizer = load_tokenizer(tmp_path / "tok")
    torch.manual_seed(0)
    config = FimDiffusionConfig(vocab_size=len(tokenizer), hidden_size=64, num_hidden_layers=2,
                                num_attention_heads=2, intermediate_size=128)
    model = FimDiffusionModel(config)
    rng = random.Random(0)
    examples = []
    while len(examples) < 8:
        example = make_example(texts[0], tokenizer, config, rng)
        if example is not None and example.middle:
            examples.append(example)
    batch = collate(examples, config, random.Random(1))
    with torch.no_grad():
        before = masked_diffusion_loss(model, batch).item()
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(30):
        loss = diffusion_with_prefix_lm_loss(model, batch)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        after = masked_diffusion_loss(model, batch).item()
    assert after < 0.7 * before, (before, after)
