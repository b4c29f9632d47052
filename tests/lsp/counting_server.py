"""`fim-server lsp` that counts document parses and returns the count for `test/documentParses`.

Document parses go through ``fim_server.context.document.parser_for``, which
this script wraps before the server starts. The syntax check of candidates
imports the function under its own name, so its parses are not counted.
"""

import sys

from fim_server.cli import main
from fim_server.context import document as document_module
from fim_server.lsp import launch

COUNT_METHOD = "test/documentParses"
parses = {"count": 0}
_parser_for = document_module.parser_for
_register = launch.register


class CountingParser:
    def __init__(self, parser) -> None:
        self.parser = parser

    def parse(self, *args):
        parses["count"] += 1
        return self.parser.parse(*args)


def counting_parser_for(language: str) -> CountingParser:
    return CountingParser(_parser_for(language))


def register(server) -> None:
    _register(server)
    server.feature(COUNT_METHOD)(lambda ls, params: dict(parses))


document_module.parser_for = counting_parser_for
launch.register = register

if __name__ == "__main__":
    sys.exit(main(["lsp", *sys.argv[1:]]))
