"""Prompts written in other models' FIM templates split back into prefix and suffix."""

import pytest

from fim_server.http.fim_prompt import split_fim_prompt


@pytest.mark.parametrize("prompt, expected", [
    ("<fim_prefix>a = <fim_suffix>\nb<fim_middle>", ("a = ", "\nb", "starcoder")),
    ("<repo_name>r\n<file_sep>x.py\n<fim_prefix>a<fim_suffix>b<fim_middle>", ("a", "b", "starcoder")),
    ("<|fim_prefix|>a<|fim_suffix|>b<|fim_middle|>", ("a", "b", "qwen")),
    ("<\uff5cfim\u2581begin\uff5c>a<\uff5cfim\u2581hole\uff5c>b<\uff5cfim\u2581end\uff5c>", ("a", "b", "deepseek")),
    ("<PRE> a = 1 <SUF>\nprint(a) <MID>", ("a = 1", "\nprint(a)", "codellama")),
    ("[SUFFIX]\nprint(a)[PREFIX]a = ", ("a = ", "\nprint(a)", "codestral")),
    ("<fim_prefix>def f(<fim_suffix>)<fim_middle>x", ("def f(x", ")", "starcoder")),
])
def test_known_templates(prompt, expected):
    assert split_fim_prompt(prompt) == expected


def test_plain_prompt_is_not_split():
    assert split_fim_prompt("def f(x):\n    return x\n") is None


def test_suffix_marker_before_prefix_marker_is_not_split():
    assert split_fim_prompt("<fim_suffix>b<fim_prefix>a") is None
