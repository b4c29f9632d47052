"""The completion pipeline uses the replace range and the syntax ranking from this package."""

from types import SimpleNamespace

import msgspec
import pytest

from fim_server.context import Document
from fim_server.context import document as document_module
from fim_server.engine.fake import FakeEngine
from fim_server.pipeline import CompletionPipeline, CompletionRequest, CompletionResult, RequestError


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


# The cursor is on the blank line of a JavaScript block comment. In code, such a line gets a block.
COMMENT_TEXT = "/*\n * Steps:\n \n */\nfunction run() {}\n"
COMMENT_BLOCK = " * read the input\n * write the output"


def complete_in_comment(policy: str, **request_fields) -> CompletionResult:
    engine = FakeEngine(lambda prefix, suffix: COMMENT_BLOCK)
    pipeline = CompletionPipeline(engine)
    try:
        return pipeline.complete(CompletionRequest(text=COMMENT_TEXT, line=2, character=1, language="javascript",
                                                   comments=policy, **request_fields))
    finally:
        pipeline.close()


def test_comment_policy_none():
    result = complete_in_comment("none")
    assert result.mode == "none"
    assert result.text == ""
    assert result.steps == ["context"]
    assert result.rejected == "no completion here: inside a comment"


def test_comment_policy_line():
    result = complete_in_comment("line")
    assert result.mode == "line"
    assert result.text == "* read the input"


def test_comment_policy_complete():
    result = complete_in_comment("complete")
    assert result.mode == "block"
    assert result.text == "* read the input\n * write the output"


def test_string_policy_separate_from_comments():
    result = complete_in_comment("none", strings="complete")
    assert result.mode == "none"


def test_invalid_policy_rejected():
    with pytest.raises(RequestError, match='invalid comments "sometimes": use one of complete, line, none'):
        complete_in_comment("sometimes")


def complete_with_engine(engine: FakeEngine, request: CompletionRequest) -> CompletionResult:
    pipeline = CompletionPipeline(engine)
    try:
        return pipeline.complete(request)
    finally:
        pipeline.close()


@pytest.mark.parametrize("mode", ["line", "block"])
def test_comment_policy_none_with_explicit_mode(mode):
    engine = FakeEngine(lambda prefix, suffix: COMMENT_BLOCK)
    request = CompletionRequest(text=COMMENT_TEXT, line=2, character=1, language="javascript", comments="none",
                                mode=mode)
    result = complete_with_engine(engine, request)
    assert result.mode == "none"
    assert result.text == ""
    assert result.rejected == "no completion here: inside a comment"
    assert result.steps == ["context"]
    assert engine.calls == [], "the model ran for a cursor that the policy rules out"


@pytest.mark.parametrize("mode", ["line", "block"])
def test_string_policy_none_with_explicit_mode(mode):
    engine = FakeEngine(lambda prefix, suffix: "world")
    request = CompletionRequest(text='greeting = "hello "\n', line=0, character=18, language="python",
                                strings="none", mode=mode)
    result = complete_with_engine(engine, request)
    assert result.mode == "none"
    assert result.rejected == "no completion here: inside a string"
    assert engine.calls == []


@pytest.mark.parametrize("policy", ["line", "complete"])
def test_explicit_mode_wins_over_other_policies(policy):
    engine = FakeEngine(lambda prefix, suffix: COMMENT_BLOCK)
    request = CompletionRequest(text=COMMENT_TEXT, line=2, character=1, language="javascript", comments=policy,
                                mode="block")
    result = complete_with_engine(engine, request)
    assert (result.mode, result.mode_reason) == ("block", "requested")
    assert result.text == "* read the input\n * write the output"
    assert len(engine.calls) == 1


def test_explicit_mode_in_code_ignores_comment_policy():
    engine = FakeEngine(lambda prefix, suffix: "compute(items)")
    request = CompletionRequest(text="total = \n", line=0, character=8, language="python", comments="none",
                                strings="none", mode="block")
    result = complete_with_engine(engine, request)
    assert (result.mode, result.mode_reason) == ("block", "requested")
    assert result.text == "compute(items)"


def test_policy_decoded_from_json():
    request = msgspec.json.decode(b'{"prefix": "# ", "strings": "none"}', type=CompletionRequest)
    assert (request.comments, request.strings) == ("line", "none")
    with pytest.raises(msgspec.ValidationError, match="comments"):
        msgspec.json.decode(b'{"prefix": "# ", "comments": "off"}', type=CompletionRequest)


class CountingParsers:
    """A wrapper of the document module's parser lookup that counts document parses."""

    def __init__(self, monkeypatch) -> None:
        self.count = 0
        original = document_module.parser_for

        def counted(language):
            parser = original(language)
            return SimpleNamespace(parse=lambda *args: self._parse(parser, *args))

        monkeypatch.setattr(document_module, "parser_for", counted)

    def _parse(self, parser, *args):
        self.count += 1
        return parser.parse(*args)


def test_given_document_is_not_parsed_again(monkeypatch):
    parses = CountingParsers(monkeypatch)
    document = Document("def add(a, b):\n    return a\n", "python")
    pipeline = CompletionPipeline(FakeEngine(lambda prefix, suffix: " + b"))
    try:
        for _ in range(3):
            document.replace(len(document.text) - 1, len(document.text) - 1, " ")
            request = CompletionRequest(text=document.text, offset=len(document.text) - 1, language="python",
                                        path="/tmp/add.py")
            result = pipeline.complete(request, document=document)
            assert result.steps == ["context", "fill", "postprocess", "rank"]
    finally:
        pipeline.close()
    assert parses.count == 3
    assert document.window_anchor is not None  # the window was cut from this document


async def test_async_context_step_uses_given_document(monkeypatch):
    parses = CountingParsers(monkeypatch)
    document = Document("total = \n", "python")
    pipeline = CompletionPipeline(FakeEngine(lambda prefix, suffix: "compute(items)"))
    try:
        request = CompletionRequest(text=document.text, offset=8, language="python", path="/tmp/total.py")
        result = await pipeline.complete_async(request, document=document)
    finally:
        pipeline.close()
    assert result.text == "compute(items)"
    assert parses.count == 1
    assert document.window_anchor is not None


def test_document_with_other_text_rejected():
    document = Document("x = 1\n", "python")
    pipeline = CompletionPipeline(FakeEngine())
    try:
        with pytest.raises(RequestError, match="does not contain the request's text"):
            pipeline.complete(CompletionRequest(text="y = 2\n", offset=4), document=document)
    finally:
        pipeline.close()


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_breaks_of_the_lsp_place_the_cursor(newline):
    text = newline.join(["def f():", "    return g(", "x = 1", ""])
    seen = []

    def reply(prefix, suffix):
        seen.append((prefix, suffix))
        return "1"

    pipeline = CompletionPipeline(FakeEngine(reply))
    try:
        result = pipeline.complete(CompletionRequest(text=text, line=1, character=13, language="python"))
    finally:
        pipeline.close()
    assert seen[0] == (f"def f():{newline}    return g(", f"{newline}x = 1{newline}")
    assert (result.start.line, result.start.character) == (1, 13)


@pytest.mark.parametrize(("line", "character", "message"), [
    (3, 0, "invalid line 3: the document has 3 lines"),
    (1, 4, "invalid character 4 on line 1: the line has 3 characters"),
])
def test_lone_carriage_return_ends_a_line(line, character, message):
    pipeline = CompletionPipeline(FakeEngine(lambda prefix, suffix: "x"))
    try:
        with pytest.raises(RequestError, match=message):
            pipeline.complete(CompletionRequest(text="a = 1\rb()\rc", line=line, character=character))
    finally:
        pipeline.close()
