"""Language detection and the tree-sitter grammars with their node vocabularies.

Grammars come from the per-language wheels (``tree_sitter_python`` and so on),
loaded once on first use. A file in any other language is handled line by line.
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass
from pathlib import PurePath

import tree_sitter

LANGUAGE_IDS = {
    "python": "python",
    "javascript": "javascript",
    "javascriptreact": "javascript",
    "typescript": "typescript",
    "typescriptreact": "tsx",
    "go": "go",
    "rust": "rust",
    "java": "java",
    "c": "c",
    "cpp": "cpp",
}

EXTENSIONS = {
    ".py": "python", ".pyi": "python", ".pyw": "python",
    ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript", ".jsx": "javascript",
    ".ts": "typescript", ".mts": "typescript", ".cts": "typescript", ".tsx": "tsx",
    ".go": "go", ".rs": "rust", ".java": "java",
    ".c": "c", ".h": "c",
    ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".c++": "cpp", ".hpp": "cpp", ".hh": "cpp", ".hxx": "cpp",
}

# language -> (module, function returning the grammar pointer)
_GRAMMARS = {
    "python": ("tree_sitter_python", "language"),
    "javascript": ("tree_sitter_javascript", "language"),
    "typescript": ("tree_sitter_typescript", "language_typescript"),
    "tsx": ("tree_sitter_typescript", "language_tsx"),
    "go": ("tree_sitter_go", "language"),
    "rust": ("tree_sitter_rust", "language"),
    "java": ("tree_sitter_java", "language"),
    "c": ("tree_sitter_c", "language"),
    "cpp": ("tree_sitter_cpp", "language"),
}

SUPPORTED = tuple(_GRAMMARS)


def detect_language(language_id: str | None = None, path: str | None = None) -> str | None:
    """Return the canonical language name, or None for a file handled line by line.

    The LSP language id wins; the file extension is the fallback.
    """
    if language_id:
        found = LANGUAGE_IDS.get(language_id.lower())
        if found:
            return found
    if path:
        return EXTENSIONS.get(PurePath(path).suffix.lower())
    return None


@dataclass(frozen=True, slots=True)
class Syntax:
    """Node types of one grammar that the context layer reasons about."""

    strings: frozenset[str]  # literals whose inside is text, not code
    comments: frozenset[str]
    containers: frozenset[str]  # nodes whose children are statements or members
    definitions: frozenset[str]  # functions, classes and similar with a header and a body
    numbers: frozenset[str]
    header_openers: frozenset[str]  # tokens that end a block header (``:`` or ``{``)
    indent_scoped: bool  # blocks are delimited by indentation (Python)


_BRACE_CONTAINERS = {"statement_block", "class_body", "switch_body", "block", "compound_statement",
                     "declaration_list", "field_declaration_list", "interface_body", "enum_body"}
_SYNTAX = {
    "python": Syntax(
        strings=frozenset({"string", "concatenated_string"}),
        comments=frozenset({"comment"}),
        containers=frozenset({"module", "block"}),
        definitions=frozenset({"function_definition", "class_definition", "decorated_definition"}),
        numbers=frozenset({"integer", "float"}),
        header_openers=frozenset({":"}),
        indent_scoped=True,
    ),
    "javascript": Syntax(
        strings=frozenset({"string", "template_string", "regex"}),
        comments=frozenset({"comment", "html_comment"}),
        containers=frozenset({"program", *_BRACE_CONTAINERS}),
        definitions=frozenset({"function_declaration", "generator_function_declaration", "class_declaration",
                               "method_definition", "function_expression", "arrow_function"}),
        numbers=frozenset({"number"}),
        header_openers=frozenset({"{"}),
        indent_scoped=False,
    ),
    "go": Syntax(
        strings=frozenset({"interpreted_string_literal", "raw_string_literal", "rune_literal"}),
        comments=frozenset({"comment"}),
        containers=frozenset({"source_file", "block", "statement_list", "field_declaration_list",
                              "expression_switch_statement", "type_switch_statement", "select_statement"}),
        definitions=frozenset({"function_declaration", "method_declaration", "func_literal", "type_declaration"}),
        numbers=frozenset({"int_literal", "float_literal", "imaginary_literal"}),
        header_openers=frozenset({"{"}),
        indent_scoped=False,
    ),
    "rust": Syntax(
        strings=frozenset({"string_literal", "raw_string_literal", "char_literal"}),
        comments=frozenset({"line_comment", "block_comment"}),
        containers=frozenset({"source_file", "block", "declaration_list", "field_declaration_list", "match_block"}),
        definitions=frozenset({"function_item", "impl_item", "trait_item", "struct_item", "enum_item",
                               "mod_item", "closure_expression"}),
        numbers=frozenset({"integer_literal", "float_literal"}),
        header_openers=frozenset({"{"}),
        indent_scoped=False,
    ),
    "java": Syntax(
        strings=frozenset({"string_literal", "character_literal"}),
        comments=frozenset({"line_comment", "block_comment"}),
        containers=frozenset({"program", "block", "class_body", "interface_body", "enum_body",
                              "constructor_body", "switch_block", "switch_block_statement_group"}),
        definitions=frozenset({"class_declaration", "interface_declaration", "enum_declaration", "record_declaration",
                               "method_declaration", "constructor_declaration", "lambda_expression"}),
        numbers=frozenset({"decimal_integer_literal", "hex_integer_literal", "octal_integer_literal",
                           "binary_integer_literal", "decimal_floating_point_literal", "hex_floating_point_literal"}),
        header_openers=frozenset({"{"}),
        indent_scoped=False,
    ),
    "c": Syntax(
        strings=frozenset({"string_literal", "char_literal", "system_lib_string", "concatenated_string"}),
        comments=frozenset({"comment"}),
        containers=frozenset({"translation_unit", "compound_statement", "field_declaration_list",
                              "declaration_list", "enumerator_list"}),
        definitions=frozenset({"function_definition", "struct_specifier", "union_specifier", "enum_specifier"}),
        numbers=frozenset({"number_literal"}),
        header_openers=frozenset({"{"}),
        indent_scoped=False,
    ),
}
_SYNTAX["typescript"] = Syntax(
    strings=_SYNTAX["javascript"].strings,
    comments=_SYNTAX["javascript"].comments,
    containers=_SYNTAX["javascript"].containers | {"object_type", "enum_body", "interface_body"},
    definitions=_SYNTAX["javascript"].definitions | {"interface_declaration", "enum_declaration",
                                                     "abstract_class_declaration", "module", "internal_module"},
    numbers=_SYNTAX["javascript"].numbers,
    header_openers=frozenset({"{"}),
    indent_scoped=False,
)
_SYNTAX["tsx"] = _SYNTAX["typescript"]
_SYNTAX["cpp"] = Syntax(
    strings=_SYNTAX["c"].strings | {"raw_string_literal"},
    comments=_SYNTAX["c"].comments,
    containers=_SYNTAX["c"].containers,
    definitions=_SYNTAX["c"].definitions | {"class_specifier", "namespace_definition", "lambda_expression"},
    numbers=_SYNTAX["c"].numbers,
    header_openers=frozenset({"{"}),
    indent_scoped=False,
)

_loaded: dict[str, tree_sitter.Language] = {}
_lock = threading.Lock()


def grammar(language: str) -> tree_sitter.Language:
    """Return the tree-sitter grammar for a supported language (loaded once)."""
    found = _loaded.get(language)
    if found is not None:
        return found
    if language not in _GRAMMARS:
        raise ValueError(f"no tree-sitter grammar for {language!r}: supported are {', '.join(SUPPORTED)}")
    module_name, function_name = _GRAMMARS[language]
    with _lock:
        module = importlib.import_module(module_name)
        found = _loaded.setdefault(language, tree_sitter.Language(getattr(module, function_name)()))
    return found


def new_parser(language: str) -> tree_sitter.Parser:
    return tree_sitter.Parser(grammar(language))


def syntax(language: str) -> Syntax:
    return _SYNTAX[language]


_QUOTES = {"python": "\"'", "rust": '"', "go": "\"`'", "javascript": "\"'`", "typescript": "\"'`", "tsx": "\"'`"}


def quote_characters(language: str | None) -> str:
    """Return the characters that open a string or character literal.

    Rust leaves out ``'``, which also marks lifetimes there.
    """
    return _QUOTES.get(language, "\"'")


def is_supported(language: str | None) -> bool:
    return language in _GRAMMARS
