#!/usr/bin/env bash
# Creates a virtual environment with the app's Python packages: `setup.sh app` or `setup.sh test`
# (adds the test tools). Idempotent and quick when pyproject.toml has not changed since the last
# install.
#   PYTHON=/path/to/python3.x   use that interpreter (it must be Python 3.11, 3.12 or 3.13)
#   PYTHON_VERSION=3.13         look only for that version (CI's second run)
#   VENV=.venv313               the environment's folder (default .venv)
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-app}"
venv="${VENV:-.venv}"
want="${PYTHON_VERSION:-}"
SUPPORTED="3.11, 3.12 or 3.13"
case "$want" in
  ""|3.11|3.12|3.13) ;;
  *) echo "PYTHON_VERSION=$want: ishikawa-map supports Python $SUPPORTED" >&2; exit 1 ;;
esac

# Is "$1" a working interpreter of a supported version (and of $want, when given)?
usable() {
  "$1" - "$want" >/dev/null 2>&1 <<'PY'
import ensurepip, sys, venv  # Debian splits venv's pip bootstrap off into python3-venv
version = "%d.%d" % sys.version_info[:2]
wanted = sys.argv[1]
sys.exit(not ((3, 11) <= sys.version_info[:2] < (3, 14) and (not wanted or version == wanted)))
PY
}

pick_python() {
  if [ -n "${PYTHON:-}" ]; then
    usable "$PYTHON" && { echo "$PYTHON"; return 0; }
    echo "PYTHON=$PYTHON is not a working Python $SUPPORTED${want:+ (wanted: $want)}" >&2
    return 1
  fi
  local candidates=() pyenv_root="${PYENV_ROOT:-$HOME/.pyenv}" c
  if [ -n "$want" ]; then
    candidates=("python$want" "$pyenv_root"/versions/"$want".*/bin/"python$want")
  else
    # 3.11 first (the version CI runs the whole suite on), then any other supported one; pyenv's
    # shims answer only for the active version, so its installed versions are tried by path too.
    candidates=(python3.11 python3.12 python3.13 python3
                "$pyenv_root"/versions/3.1[123].*/bin/python3.1[123])
  fi
  for c in "${candidates[@]}"; do
    if command -v "$c" >/dev/null 2>&1 && usable "$c"; then echo "$c"; return 0; fi
  done
  echo "No usable Python found: ishikawa-map needs Python ${want:-$SUPPORTED} with its venv module." >&2
  echo "Install one (Debian 12 or 13, Ubuntu 24.04: apt-get install python3 python3-venv), or point" >&2
  echo "PYTHON=/path/to/python3.x at one you have." >&2
  return 1
}

if [ -x "$venv/bin/python" ] && ! usable "$venv/bin/python"; then
  echo "$venv was made with an unsupported or different Python: making it again"
  rm -rf "$venv"
fi
if [ ! -x "$venv/bin/python" ]; then
  PY=$(pick_python)
  echo "creating $venv with $("$PY" -c 'import sys; print(sys.executable, sys.version.split()[0])')"
  "$PY" -m venv "$venv"
fi
hash=$(sha256sum pyproject.toml | cut -c1-16)
if [ -f "$venv/.installed-$hash-test" ] || [ -f "$venv/.installed-$hash-$mode" ]; then
  exit 0
fi
echo "installing Python packages into $venv ($mode)"
"$venv/bin/python" -m pip install -q --upgrade pip
if [ "$mode" = test ]; then extra=".[test]"; else extra="."; fi
"$venv/bin/python" -m pip install -q -e "$extra"
rm -f "$venv"/.installed-*
touch "$venv/.installed-$hash-$mode"
