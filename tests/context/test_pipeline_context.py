"""The completion pipeline uses the replace range and the syntax ranking from this package."""

from fim_server.engine.fake import FakeEngine
from fim_server.pipeline import CompletionPipeline, CompletionRequest


def test_replace_range_extends_result_end():
    pipeline = CompletionPipeline(FakeEngine(lambda prefix, suffix: '"hi")'))
    try:
        result = pipeline.complete(CompletionRequest(text="print()\n", line=0, character=6, language="python"))
    finally:
        pipeline.close()
    assert result.text == '"hi")'
    assert (result.start.line, result.start.character) == (0, 6)
    assert (result.end.line, result.end.character) == (0, 7)
    assert result.candidates[0].replace_chars == 1


def test_special_tokens_and_leading_space_cleaned():
    pipeline = CompletionPipeline(FakeEngine(lambda prefix, suffix: " compute(a)<|eom|>junk"))
    try:
        result = pipeline.complete(CompletionRequest(text="x = \n", line=0, character=4, path="a.py"))
    finally:
        pipeline.close()
    assert result.language == "python"
    assert result.text == "compute(a)"
    assert result.end == result.start
    assert result.candidates[0].syntax_errors_added is not None
