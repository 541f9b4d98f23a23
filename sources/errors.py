"""The error every source reader raises when a broker, a CKAN site or any outside address fails.

Its own module so that the outbound guard (url_guard.py), which the NGSI client (ngsi.py) uses,
need not import the client to raise it."""
from __future__ import annotations


class NgsiError(Exception):
    """A failed exchange with the broker. `retryable` tells the caller whether asking later may help."""

    def __init__(self, message: str, status: int | None = None, error: str = "", retryable: bool = True):
        super().__init__(message)
        self.status = status
        self.error = error
        self.retryable = retryable
