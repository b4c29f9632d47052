"""argparse ``type`` functions for numeric options, with errors that give the valid range."""

from __future__ import annotations

import argparse


def number_argument(convert, valid, hint: str):
    """Return an argparse ``type`` that converts a value and rejects it with ``hint`` unless ``valid``."""
    def parse(value: str):
        try:
            number = convert(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid value {value!r}: {hint}") from None
        if not valid(number):
            raise argparse.ArgumentTypeError(f"invalid value {value!r}: {hint}")
        return number

    return parse


positive_int = number_argument(int, lambda number: number >= 1, "use a whole number >= 1")
positive_float = number_argument(float, lambda number: 0 < number < float("inf"), "use a number > 0")
tcp_port = number_argument(int, lambda number: 1 <= number <= 65535, "use a TCP port from 1 to 65535")
