"""Every string a person sees, in Japanese (default) and English. Nothing else holds UI text.

The strings live in one module per area of the product (i18n/map.py, staff.py, alerts.py, …);
STRINGS is all of them. `t(key, lang)` works outside requests too (mails render in the
recipient's language). tests/test_i18n.py checks for keys defined twice, keys nothing uses
and placeholders that differ between ja and en."""
from __future__ import annotations

from i18n import (
    alerts as _alerts,
    cameras as _cameras,
    dashboards as _dashboards,
    map as _map,
    organisations as _organisations,
    sensors as _sensors,
    snow as _snow,
    staff as _staff,
)

LANGS = ("ja", "en")
DEFAULT_LANG = "ja"

AREAS = (_map, _sensors, _staff, _organisations, _alerts, _dashboards, _snow, _cameras)
STRINGS: dict[str, dict[str, str]] = {k: v for area in AREAS for k, v in area.STRINGS.items()}


def normalize_lang(lang: str | None) -> str:
    lang = (lang or "").lower()[:2]
    return lang if lang in LANGS else DEFAULT_LANG


def t(key: str, lang: str | None = DEFAULT_LANG, **fmt) -> str:
    """The string for key in lang; a missing key shows itself (and fails the table test)."""
    entry = STRINGS.get(key)
    if entry is None:
        return key
    text = entry.get(normalize_lang(lang)) or entry[DEFAULT_LANG]
    return text.format(**fmt) if fmt else text


def lang_from_accept(header: str | None) -> str:
    """Pick ja/en from an Accept-Language header, Japanese when unsure."""
    for part in (header or "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGS:
            return code
    return DEFAULT_LANG
