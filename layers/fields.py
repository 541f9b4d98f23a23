"""The field checks the staff services of placed things share (cameras, snow-melting devices): a
request body is checked field by field, every bad field becomes one `{"field", "message"}` detail
with the message from the service's own keys (`camera.field.<key>`) in the reader's language, and
`Refused(400)` lists them all at once.

    f = Fields(body, "camera.field", lang, FIELDS, partial)   # body: a dict
    f.name(); f.optional_text("name_en"); f.position(decimals=7)
    f.interval(MIN_INTERVAL_S, MAX_INTERVAL_S, default=DEFAULT_INTERVAL_S)
    f.visibility(); f.organisation()
    values = f.checked("invalid_camera", "camera.invalid")   # or Refused(400, …, details)

`partial` (a change): only the fields present are checked; otherwise (a new thing) the required ones
must be there.
"""
from __future__ import annotations

import math

from i18n import t
from refusal import Refused
from store.models import PRIVATE, PUBLIC


def number(value) -> float | None:
    """A finite JSON number (not a boolean), as float; else None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


class Fields:
    def __init__(self, body: dict, messages: str, lang: str, allowed: set[str], partial: bool = False):
        self.body, self.messages, self.lang, self.partial = body, messages, lang, partial
        self.values: dict = {}
        self.errors: list[dict] = []
        for key in body:
            if key not in allowed:
                self.bad(str(key)[:60], "unknown")

    def bad(self, field: str, key: str | None = None, **fmt) -> None:
        """Field `field` is wrong; the message is `<messages>.<key or field>`."""
        self.errors.append({"field": field, "message": t(f"{self.messages}.{key or field}", self.lang, **fmt)})

    def asked(self, field: str) -> bool:
        """Whether `field` is to be checked: present, or required because this is a new thing."""
        return field in self.body or not self.partial

    def name(self, field: str = "name", column: str = "name_ja") -> None:
        """A required name: text of 1–200 characters (trimmed)."""
        if self.asked(field):
            v = self.body.get(field)
            if not isinstance(v, str) or not v.strip() or len(v.strip()) > 200:
                self.bad(field)
            else:
                self.values[column] = v.strip()

    def optional_text(self, field: str, column: str | None = None) -> None:
        """Text of at most 200 characters when present; null clears it."""
        if field in self.body:
            v = self.body.get(field)
            if v is None:
                self.values[column or field] = ""
            elif not isinstance(v, str) or len(v.strip()) > 200:
                self.bad(field)
            else:
                self.values[column or field] = v.strip()

    def position(self, decimals: int) -> None:
        """`lon` and `lat`: WGS84 degrees, rounded to `decimals`."""
        for field, lo, hi in (("lon", -180, 180), ("lat", -90, 90)):
            if self.asked(field):
                v = number(self.body.get(field))
                if v is None or not lo <= v <= hi:
                    self.bad(field)
                else:
                    self.values[field] = round(v, decimals)

    def interval(self, lo: int, hi: int, default: int | None = None, field: str = "interval_s") -> None:
        """Whole seconds between `lo` and `hi`; a new thing without one gets `default` (if any)."""
        if field in self.body or (not self.partial and default is not None):
            v = self.body.get(field, default)
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                self.bad(field, "interval")
            else:
                self.values[field] = v

    def visibility(self) -> None:
        """公開 / 非公開 ("public" / "private"); a new thing is public unless it says otherwise."""
        if self.asked("visibility"):
            v = self.body.get("visibility", PUBLIC if not self.partial else None)
            if v not in (PUBLIC, PRIVATE):
                self.bad("visibility")
            else:
                self.values["visibility"] = v

    def organisation(self) -> None:
        """An organisation code (whether the staff may use it is the service's own question)."""
        if "organisation" in self.body:
            v = self.body.get("organisation")
            if not isinstance(v, str) or len(v) > 40:
                self.bad("organisation")
            else:
                self.values["organisation"] = v

    def checked(self, code: str, message_key: str) -> dict:
        """The clean values, or Refused(400, code, message_key) naming every bad field."""
        if self.errors:
            raise Refused(400, code, message_key, self.errors)
        return self.values
