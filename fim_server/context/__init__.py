"""Context on both sides of the model: the prefix/suffix window, the completion
mode, post-processing filters and the syntax validity check."""

from .document import Document
from .languages import detect_language
from .positions import LineIndex
from .postprocess import Processed, postprocess
from .validity import syntax_error_delta
from .window import ContextWindow, extract_window

__all__ = [
    "ContextWindow",
    "Document",
    "LineIndex",
    "Processed",
    "detect_language",
    "extract_window",
    "postprocess",
    "syntax_error_delta",
]
