"""FIM training examples that mirror real cursor positions, and their batching.

Each example cuts one source file into prefix, middle and suffix at a cursor
chosen like an editor user would place it; the three parts are tokenized
separately so that the cursor never falls inside a token, as at inference.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

import torch

from ..model import CANVAS, PREFIX, SLOT_PAD, SUFFIX, FimDiffusionConfig

KIND_WEIGHTS = {
    "line": 0.28,
    "block": 0.25,
    "span": 0.14,
    "end_of_file": 0.08,
    "mid_identifier": 0.12,
    "unconditional": 0.13,
}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{3,}")
_CHARS_PER_TOKEN_BOUND = 8  # generous, so a char window always covers the token budget


@dataclass(slots=True)
class FimExample:
    kind: str
    prefix: list[int]
    middle: list[int]
    suffix: list[int]


def _line_starts(text: str) -> list[int]:
    starts = [0]
    starts += [m.end() for m in re.finditer("\n", text)]
    return starts


def choose_cut(text: str, kind: str, rng: random.Random) -> tuple[int, int] | None:
    """Return (cursor, end of middle) character offsets for one kind of cursor."""
    starts = _line_starts(text)
    n_lines = len(starts)
    if kind == "mid_identifier":
        words = list(_IDENTIFIER.finditer(text))
        if not words:
            return None
        word = rng.choice(words)
        cursor = rng.randint(word.start() + 1, word.end() - 1)
        end = text.find("\n", cursor)
        return cursor, (len(text) if end < 0 else end)
    if kind == "span":
        cursor = rng.randrange(len(text))
        return cursor, min(len(text), cursor + rng.randint(1, 160))
    line = rng.randrange(n_lines)
    line_start = starts[line]
    line_end = starts[line + 1] - 1 if line + 1 < n_lines else len(text)
    indent = len(text[line_start:line_end]) - len(text[line_start:line_end].lstrip(" \t"))
    if kind == "line":
        cursor = rng.choice([line_start + indent, rng.randint(line_start + indent, max(line_end, line_start + indent))])
        return cursor, line_end
    count = rng.randint(1, 8)
    last = min(n_lines - 1, line + count - 1)
    end = starts[last + 1] - 1 if last + 1 < n_lines else len(text)
    cursor = line_start + indent if rng.random() < 0.7 else line_start
    if kind == "end_of_file":
        return cursor, len(text)
    if rng.random() < 0.3 and end < len(text):
        end += 1  # the middle includes its last newline
    return cursor, end


def make_example(text: str, tokenizer, config: FimDiffusionConfig, rng: random.Random) -> FimExample | None:
    kinds, weights = zip(*KIND_WEIGHTS.items())
    kind = rng.choices(kinds, weights)[0]
    max_middle = config.max_canvas_tokens - 1
    if kind == "unconditional":
        start = rng.randrange(max(1, len(text) - config.max_canvas_tokens * 4))
        ids = tokenizer.encode(text[start : start + config.max_canvas_tokens * _CHARS_PER_TOKEN_BOUND])
        return FimExample(kind, [], ids[: config.max_canvas_tokens], [])
    cut = choose_cut(text, kind, rng)
    if cut is None:
        return None
    cursor, end = cut
    if end <= cursor:
        return None
    middle_text = text[cursor:end]
    middle = tokenizer.encode(middle_text)
    if len(middle) > max_middle:
        middle = middle[:max_middle]
        decoded = tokenizer.decode(middle)
        if not middle_text.startswith(decoded):
            return None
        end = cursor + len(decoded)
    if kind == "end_of_file":
        suffix_text = ""
    else:
        suffix_text = text[end : end + config.max_suffix_tokens * _CHARS_PER_TOKEN_BOUND]
    prefix_text = text[max(0, cursor - config.max_prefix_tokens * _CHARS_PER_TOKEN_BOUND) : cursor]
    prefix = tokenizer.encode(prefix_text)[-config.max_prefix_tokens :] if prefix_text else []
    suffix = tokenizer.encode(suffix_text)[: config.max_suffix_tokens] if suffix_text else []
    return FimExample(kind, prefix, middle, suffix)


@dataclass(slots=True)
class Batch:
    input_ids: torch.Tensor  # (B, L) with masked canvas positions set to the mask id
    segment_ids: torch.Tensor  # (B, L)
    position_ids: torch.Tensor  # (B, L)
    targets: torch.Tensor  # (B, L) clean canvas tokens
    weights: torch.Tensor  # (B, L) float loss weight; zero outside masked canvas positions


def sample_canvas_length(middle_len: int, max_canvas: int, rng: random.Random, unconditional: bool) -> int:
    """Canvas = middle + a random number (at least one) of end-of-middle tokens."""
    if unconditional:
        return middle_len
    room = max_canvas - middle_len
    draw = rng.random()
    if draw < 0.4:
        extra = rng.randint(1, min(4, room))
    elif draw < 0.85:
        # Most padding stays near the middle's own length, so end-of-middle
        # targets do not outnumber code tokens and the model does not learn to
        # predict an empty middle everywhere.
        extra = rng.randint(1, min(room, 2 * middle_len + 4))
    else:
        extra = rng.randint(1, room)
    return middle_len + extra


def collate(
    examples: list[FimExample], config: FimDiffusionConfig, rng: random.Random, pad_weight: float = 0.25
) -> Batch:
    """Lay examples out in fixed suffix | prefix | canvas slots and apply the forward noising.

    Noising: the number of masked canvas tokens k is uniform on 1..C (stratified
    over the batch), and the k positions are uniform among the C canvas slots.
    Each masked token weighs 1/k, so a sequence contributes the mean
    cross-entropy of its masked tokens. This is the discrete form of the masked
    diffusion bound (t = k/C, weight 1/t per token, normalised by C); it avoids
    the unbounded 1/t weights that a continuous t near zero gives on short
    canvases, where one forced masked token would weigh up to 1000 times more
    than the rest of the batch. Trailing end-of-middle tokens after the first
    get ``pad_weight`` so that the model is not pushed towards short outputs.
    """
    s_max, p_max, c_max = config.max_suffix_tokens, config.max_prefix_tokens, config.max_canvas_tokens
    length = s_max + p_max + c_max
    batch = len(examples)
    input_ids = torch.full((batch, length), config.pad_token_id, dtype=torch.long)
    segment_ids = torch.full((batch, length), SLOT_PAD, dtype=torch.long)
    position_ids = torch.zeros((batch, length), dtype=torch.long)
    targets = torch.full((batch, length), config.pad_token_id, dtype=torch.long)
    weights = torch.zeros((batch, length))
    for row, example in enumerate(examples):
        s, p = len(example.suffix), len(example.prefix)
        canvas_len = sample_canvas_length(len(example.middle), c_max, rng, example.kind == "unconditional")
        canvas = example.middle + [config.eom_token_id] * (canvas_len - len(example.middle))
        input_ids[row, :s] = torch.tensor(example.suffix, dtype=torch.long)
        segment_ids[row, :s] = SUFFIX
        position_ids[row, :s] = config.suffix_position_offset + torch.arange(s)
        input_ids[row, s_max : s_max + p] = torch.tensor(example.prefix, dtype=torch.long)
        segment_ids[row, s_max : s_max + p] = PREFIX
        position_ids[row, s_max : s_max + p] = torch.arange(p)
        start = s_max + p_max
        fraction = (row + rng.random()) / batch  # stratified over the batch
        masked_count = min(canvas_len, 1 + int(fraction * canvas_len))
        masked = set(rng.sample(range(canvas_len), masked_count))
        for i, token in enumerate(canvas):
            targets[row, start + i] = token
            if i in masked:
                input_ids[row, start + i] = config.mask_token_id
                trailing_pad = i > len(example.middle)
                weights[row, start + i] = (pad_weight if trailing_pad else 1.0) / masked_count
            else:
                input_ids[row, start + i] = token
        segment_ids[row, start : start + canvas_len] = CANVAS
        position_ids[row, start : start + canvas_len] = p + torch.arange(canvas_len)
    return Batch(input_ids, segment_ids, position_ids, targets, weights)
