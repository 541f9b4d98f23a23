"""Decoding Japanese office text files."""
from __future__ import annotations

import unicodedata


def decode_text(raw: bytes) -> tuple[str, str]:
    """(text, encoding) for UTF-8 (with or without BOM) or CP932/Shift_JIS, as Excel writes them."""
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8"), "utf-8-sig"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("cp932"), "cp932"
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"文字コードを判別できません（UTF-8 でも Shift_JIS でもありません: {exc.start} バイト目）"
        ) from exc


def nfkc(value: str | None) -> str:
    """Full-width digits, letters and spaces to their ASCII forms; trimmed."""
    return unicodedata.normalize("NFKC", value or "").strip()


def pick(props: dict, names: tuple[str, ...]) -> str:
    """The first of these column names (any case, spaces and full-width forms aside) that has a value
    in `props`, normalised; "" when none has."""
    keys = {nfkc(str(k)).lower().replace(" ", ""): k for k in props}
    for name in names:
        k = keys.get(name.lower())
        if k is not None and props.get(k) not in (None, ""):
            return nfkc(str(props[k]))
    return ""


def parse_float(value: str | None) -> float | None:
    text = nfkc(value).replace(",", "")
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        return None
    return number if number == number and abs(number) != float("inf") else None
