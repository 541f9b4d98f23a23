"""`Refused`: the one error every service raises when it says no.

Services (layers/manage.py, dashboards/service.py, …) know nothing of Flask or Dash; they raise
`Refused(status, code, message_key, details, **fmt)` and each caller turns it into its own form:
the API into our JSON error (`api.errors.refused`), a page into a message in the viewer's language.
"""
from __future__ import annotations


class Refused(Exception):
    def __init__(self, status: int, code: str, message_key: str, details: list | None = None, **fmt):
        super().__init__(message_key)
        self.status, self.code, self.message_key, self.details, self.fmt = status, code, message_key, details or [], fmt
