#!/usr/bin/env bash
# Runs the app with the embedded default: SQLite under instance/, built-in demo feed, shipped data.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh app
exec .venv/bin/python app.py "$@"
