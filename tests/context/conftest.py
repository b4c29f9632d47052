import pytest

from fim_server.context import extract_window

CURSOR = "|"


@pytest.fixture
def window_at():
    """Build a window from a snippet whose cursor is the first ``|``."""

    def build(language, snippet, **options):
        offset = snippet.index(CURSOR)
        text = snippet[:offset] + snippet[offset + 1 :]
        return extract_window(text, offset, language, **options)

    return build
