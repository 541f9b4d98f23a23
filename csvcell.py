"""One rule for every CSV the app writes (public downloads, staff downloads, the /sensors export,
the alert history): no cell is run as a formula when the file is opened in a spreadsheet.

A text cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading `'`
(OWASP "CSV injection"), header cells and ids included. Numbers stay numbers: a Python int or
float, or a text that is nothing but a decimal number (`-5`, `+81`, `1.5e3`), is written as it is.
"""
from __future__ import annotations

import re

import orjson

DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def cell(value) -> str:
    """A value as a safe CSV cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        return str(value)
    text = orjson.dumps(value).decode() if isinstance(value, (dict, list)) else str(value)
    if text.startswith(DANGEROUS_START) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def row(values) -> list[str]:
    return [cell(v) for v in values]
