#!/usr/bin/env bash
# Runs the whole test suite, browser tests included (headless Chromium).
# Installs what it needs: the Python packages, and Debian's chromium + chromium-driver (and a
# Japanese font, so screenshots are readable) and clamav-daemon (for its clamd binary: the
# virus-scan tests start their own clamd on loopback with a one-line signature file, so they need
# neither the system's clamd service nor downloaded signatures) and nginx (the test of deploy/nginx.conf
# starts its own on loopback) when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v chromedriver >/dev/null 2>&1 || need+=(chromium-driver)
fc-list 2>/dev/null | grep -qi "Noto Sans CJK" || need+=(fonts-noto-cjk)
command -v clamd >/dev/null 2>&1 || [ -x /usr/sbin/clamd ] || need+=(clamav-daemon)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  echo "installing ${need[*]} from Debian's packages"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >/dev/null
fi
bash scripts/setup.sh test
exec .venv/bin/python -m pytest "$@"
