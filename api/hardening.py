"""What every answer of the app keeps to, whatever route gives it (installed once by app.py).

- Every JSON answer is valid JSON: a number that is not finite (±inf, NaN — never stored on
  purpose, but old rows or a computation may hold one) is written as `null`, never as the
  `Infinity`/`NaN` that JSON does not have.
"""
from __future__ import annotations

import math

from flask import Flask
from flask.json.provider import DefaultJSONProvider


def _finite(obj):
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


class FiniteJSONProvider(DefaultJSONProvider):
    def dumps(self, obj, **kwargs) -> str:
        kwargs["allow_nan"] = False
        try:
            return super().dumps(obj, **kwargs)
        except ValueError:  # a non-finite number somewhere: null instead
            return super().dumps(_finite(obj), **kwargs)


def init_hardening(server: Flask) -> None:
    server.json = FiniteJSONProvider(server)
