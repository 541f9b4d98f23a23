"""Lighthouse mobile performance of the public pages `/` and `/snow`.

    python bench/lighthouse.py [--runs 3] [--pages /,/snow] [--app-dir DIR] [--port 8199]

Starts the app itself on the embedded default (SQLite in a temporary instance folder, demo feed on),
then runs Lighthouse 12 (from npm, installed on first use into bench/.lighthouse/node_modules, which
git ignores; `LIGHTHOUSE=/path/to/lighthouse` uses another) with Debian's headless Chromium
(`CHROME_PATH`, default /usr/bin/chromium), mobile form factor and Lighthouse's default simulated
throttling (slow 4G, 4× CPU slow-down). The map tiles come from servers this closed network cannot
reach: their requests are blocked (`--blocked-url-patterns`), so they neither wait nor count.

Each page runs `--runs` times (the machine is shared and noisy) and the median is printed: the
performance score, LCP, TBT, CLS, FCP, Speed Index and the bytes transferred, with the machine's load
average before and after (on a busy machine the scores drop by 20–40 points: measure when it is quiet).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LH_DIR = Path(__file__).resolve().parent / ".lighthouse"
LH_VERSION = "12.2.3"
BLOCKED = ["*cyberjapandata.gsi.go.jp*", "*tile.openstreetmap.org*", "*openstreetmap.org*",
           "*.gsi.go.jp*"]


def lighthouse_bin() -> str:
    if os.environ.get("LIGHTHOUSE"):
        return os.environ["LIGHTHOUSE"]
    exe = LH_DIR / "node_modules" / ".bin" / "lighthouse"
    if not exe.exists():
        LH_DIR.mkdir(exist_ok=True)
        print(f"installing lighthouse@{LH_VERSION} into {LH_DIR} …", file=sys.stderr)
        subprocess.run(["npm", "i", "-E", f"lighthouse@{LH_VERSION}", "--no-audit", "--no-fund",
                        "--prefix", str(LH_DIR)], check=True)
    return str(exe)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_app(app_dir: Path, port: int, instance: Path) -> subprocess.Popen:
    env = {**os.environ, "PORT": str(port), "HOST": "127.0.0.1", "INSTANCE_PATH": str(instance)}
    for key in ("DATABASE_URL", "CACHE_REDIS_URL", "ORION_URL"):
        env.pop(key, None)
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=app_dir, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                break
        except OSError:
            if proc.poll() is not None:
                raise SystemExit("the app stopped while starting") from None
            time.sleep(0.5)
    else:
        proc.terminate()
        raise SystemExit("the app did not start within 120 s")
    # warm up: the first request of each page builds caches (snapshots; the static bundles are
    # compressed once per file version on first request, so fetch each script of the pages too)
    import re

    for path in ("/", "/snow"):
        try:
            html = urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=30).read().decode()
        except OSError:
            continue
        for src in re.findall(r'<(?:script|link)[^>]+(?:src|href)="(/[^"]+)"', html):
            req = urllib.request.Request(f"http://127.0.0.1:{port}{src}", headers={"Accept-Encoding": "br, gzip"})
            try:
                urllib.request.urlopen(req, timeout=60).read()
            except OSError:
                pass
    return proc


def run_once(lh: str, url: str, chrome: str, out: Path) -> dict:
    cmd = [lh, url, "--quiet", "--only-categories=performance", "--form-factor=mobile",
           "--output=json", f"--output-path={out}", f"--chrome-path={chrome}",
           "--chrome-flags=--headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage",
           "--max-wait-for-load=45000",
           f"--blocked-url-patterns={BLOCKED[0]}", *[f"--blocked-url-patterns={p}" for p in BLOCKED[1:]]]
    subprocess.run(cmd, check=True, env={**os.environ, "CHROME_PATH": chrome}, timeout=240,
                   stdout=subprocess.DEVNULL)
    report = json.loads(out.read_text(encoding="utf-8"))
    audits = report["audits"]

    def num(key):
        return audits.get(key, {}).get("numericValue")

    score = report["categories"]["performance"]["score"]
    return {"score": round(score * 100) if score is not None else None,
            "lcp_ms": num("largest-contentful-paint"), "tbt_ms": num("total-blocking-time"),
            "cls": num("cumulative-layout-shift"), "fcp_ms": num("first-contentful-paint"),
            "si_ms": num("speed-index"), "bytes": num("total-byte-weight")}


def median(rows: list[dict], key: str):
    values = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(values) if values else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pages", default="/,/snow")
    ap.add_argument("--app-dir", default=str(ROOT), help="the checkout to measure (default: this one)")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--url", default="", help="measure an app already running there instead of starting one")
    ap.add_argument("--save", default="", help="keep each run's Lighthouse JSON report in this folder")
    args = ap.parse_args()
    chrome = os.environ.get("CHROME_PATH", "/usr/bin/chromium")
    lh = lighthouse_bin()
    tmp = Path(tempfile.mkdtemp(prefix="lighthouse-"))
    proc = None
    try:
        if args.url:
            base = args.url.rstrip("/")
        else:
            port = args.port or free_port()
            proc = start_app(Path(args.app_dir), port, tmp / "instance")
            base = f"http://127.0.0.1:{port}"
        # the scores fall with the machine's load (other processes take the CPU Lighthouse times)
        print(f"Lighthouse {LH_VERSION}, mobile, simulated throttling; {args.runs} runs per page, median; "
              f"tiles blocked; app {base}; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
        print(f"{'page':<10}{'score':>7}{'LCP ms':>9}{'TBT ms':>9}{'CLS':>7}{'FCP ms':>9}{'SI ms':>9}{'KB':>8}"
              "   runs (score)")
        for page in [p for p in args.pages.split(",") if p]:
            rows = []
            for i in range(args.runs):
                out = Path(args.save) / f"{page.strip('/') or 'home'}-{i + 1}.json" if args.save else tmp / "run.json"
                out.parent.mkdir(parents=True, exist_ok=True)
                rows.append(run_once(lh, base + page, chrome, out))
            m = {k: median(rows, k) for k in rows[0]}
            print(f"{page:<10}{m['score']:>7.0f}{m['lcp_ms']:>9.0f}{m['tbt_ms']:>9.0f}{m['cls']:>7.3f}"
                  f"{m['fcp_ms']:>9.0f}{m['si_ms']:>9.0f}{m['bytes'] / 1024:>8.0f}   "
                  + ", ".join(str(r["score"]) for r in rows), flush=True)
        print(f"load average at the end {os.getloadavg()[0]:.2f}")
    finally:
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
