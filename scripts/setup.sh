#!/usr/bin/env bash
# Creates .venv with the app's Python packages: `setup.sh app` or `setup.sh test` (adds the test
# tools). Idempotent and quick when pyproject.toml has not changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-app}"
PY="${PYTHON:-python3.11}"
command -v "$PY" >/dev/null 2>&1 || PY=python3
[ -x .venv/bin/python ] || "$PY" -m venv .venv
hash=$(sha256sum pyproject.toml | cut -c1-16)
if [ -f ".venv/.installed-$hash-test" ] || [ -f ".venv/.installed-$hash-$mode" ]; then
  exit 0
fi
echo "installing Python packages into .venv ($mode)"
.venv/bin/python -m pip install -q --upgrade pip
if [ "$mode" = test ]; then extra=".[test]"; else extra="."; fi
.venv/bin/python -m pip install -q -e "$extra"
rm -f .venv/.installed-*
touch ".venv/.installed-$hash-$mode"
