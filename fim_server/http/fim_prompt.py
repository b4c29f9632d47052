"""Split prompts written in another model's FIM template back into prefix and suffix.

Plugins that talk to plain completion endpoints (llm.nvim through llm-ls,
Twinny, Continue with a template) send one ``prompt`` string with the
sentinel tokens of the model they expect, for example StarCoder's
``<fim_prefix>{prefix}<fim_suffix>{suffix}<fim_middle>``. This model has its
own layout, so the sentinels are parsed away.

Text before the first sentinel (repository and file headers) is dropped, and
text after the middle sentinel (the start of the middle that a client already
knows, as in llama.cpp's ``prompt`` field) is appended to the prefix.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FimTemplate:
    name: str
    prefix: str
    suffix: str
    middle: str | None  # None for suffix-prefix-middle templates that end with the prefix
    suffix_first: bool = False
    padded: bool = False  # sentinels written with one space inside, as in "<PRE> {prefix} <SUF>"


TEMPLATES = (
    FimTemplate("starcoder", "<fim_prefix>", "<fim_suffix>", "<fim_middle>"),
    FimTemplate("qwen", "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>"),
    FimTemplate("deepseek", "<\uff5cfim\u2581begin\uff5c>", "<\uff5cfim\u2581hole\uff5c>", "<\uff5cfim\u2581end\uff5c>"),
    FimTemplate("codellama", "<PRE>", "<SUF>", "<MID>", padded=True),
    FimTemplate("codestral", "[PREFIX]", "[SUFFIX]", None, suffix_first=True),
)


def _strip_one(text: str, *, left: bool = False, right: bool = False) -> str:
    if left and text.startswith(" "):
        text = text[1:]
    if right and text.endswith(" "):
        text = text[:-1]
    return text


def _split_psm(prompt: str, template: FimTemplate) -> tuple[str, str] | None:
    start = prompt.find(template.prefix)
    if start < 0:
        return None
    hole = prompt.find(template.suffix, start + len(template.prefix))
    if hole < 0:
        return None
    prefix = prompt[start + len(template.prefix) : hole]
    rest = prompt[hole + len(template.suffix) :]
    end = rest.find(template.middle) if template.middle else -1
    suffix, middle = (rest[:end], rest[end + len(template.middle) :]) if end >= 0 else (rest, "")
    if template.padded:
        # NOTE: "<PRE> {prefix} <SUF>{suffix} <MID>" (Meta's CodeLlama layout) is assumed; a client that also
        # writes a space after <SUF> sends a suffix with one extra leading space, which is kept.
        prefix = _strip_one(prefix, left=True, right=True)
        suffix = _strip_one(suffix, right=True)
        middle = _strip_one(middle, left=True)
    return prefix + middle, suffix


def _split_spm(prompt: str, template: FimTemplate) -> tuple[str, str] | None:
    start = prompt.find(template.suffix)
    if start < 0:
        return None
    hole = prompt.find(template.prefix, start + len(template.suffix))
    if hole < 0:
        return None
    return prompt[hole + len(template.prefix) :], prompt[start + len(template.suffix) : hole]


def split_fim_prompt(prompt: str) -> tuple[str, str, str] | None:
    """Return (prefix, suffix, template name) when ``prompt`` uses a known FIM template, else None."""
    for template in TEMPLATES:
        parts = _split_spm(prompt, template) if template.suffix_first else _split_psm(prompt, template)
        if parts is not None:
            return parts[0], parts[1], template.name
    return None
