"""Files staff uploaded on the staff pages, kept briefly between preview and publish.

Kept as files under INSTANCE_PATH/uploads (shared by the web workers of one machine), each with
its owner; only that user can read it back. Tokens are random; names never come from users.
"""
from __future__ import annotations

import json
import re
import secrets
import time
from pathlib import Path

KEEP_S = 6 * 3600
TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


def _dir(instance_path: Path) -> Path:
    d = Path(instance_path) / "uploads"
    d.mkdir(parents=True, exist_ok=True)
    return d


def save(instance_path: Path, user_id: int, filename: str, raw: bytes) -> str:
    cleanup(instance_path)
    token = secrets.token_urlsafe(24)
    d = _dir(instance_path)
    (d / f"{token}.bin").write_bytes(raw)
    (d / f"{token}.json").write_text(json.dumps({"user_id": user_id, "filename": filename[:200], "size": len(raw),
                                                 "at": time.time()}))
    return token


def load(instance_path: Path, token: str | None, user_id: int) -> tuple[str, bytes] | None:
    """(filename, bytes) of a staged file, only for the user who staged it."""
    if not token or not TOKEN_RE.match(token):
        return None
    d = _dir(instance_path)
    try:
        meta = json.loads((d / f"{token}.json").read_text())
        if meta.get("user_id") != user_id:
            return None
        return meta.get("filename", ""), (d / f"{token}.bin").read_bytes()
    except (OSError, ValueError):
        return None


def discard(instance_path: Path, token: str | None) -> None:
    if token and TOKEN_RE.match(token):
        for ext in (".bin", ".json"):
            (_dir(instance_path) / f"{token}{ext}").unlink(missing_ok=True)


def cleanup(instance_path: Path, now: float | None = None) -> None:
    now = now or time.time()
    for meta in _dir(instance_path).glob("*.json"):
        try:
            if now - meta.stat().st_mtime > KEEP_S:
                discard(instance_path, meta.stem)
        except OSError:
            pass
