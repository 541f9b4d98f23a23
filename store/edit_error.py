"""The one error the store's editing functions raise: a change it refuses, as an i18n key and its
values (services turn it into `refusal.Refused`)."""
from __future__ import annotations


class EditError(ValueError):
    def __init__(self, message_key: str, **fmt):
        super().__init__(message_key)
        self.message_key, self.fmt = message_key, fmt
