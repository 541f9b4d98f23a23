"""One extension mechanism: the registries of registry.py, filled once by plugins.register_all() —
by create_app and by the worker alike — and the README's example of adding plug-ins works as written."""
from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import registry
from tests.conftest import ROOT

# In a fresh interpreter: the registries before and after the composition root, and how often each
# name was registered (register_all may be called by create_app, init_store and again: still once).
_PROBE = r"""
import json, sys
import registry
from registry import ALL, Registry
from settings import Settings

calls = {}
_register = Registry.register
def counting(self, item, name=None):
    key = f"{self.what}/{name or self.name_of(item)}"
    calls[key] = calls.get(key, 0) + 1
    return _register(self, item, name)
Registry.register = counting

settings = Settings.from_env({"DATABASE_URL": sys.argv[2], "INSTANCE_PATH": sys.argv[3], "SECRET_KEY": "x",
                              "DEMO_FEED": "0"})
before = {r.what: len(r) for r in ALL}
if sys.argv[1] == "app":
    from app import create_app, init_store
    import plugins
    create_app(settings)
    init_store(settings)
    plugins.register_all()
    jobs = []
else:
    import worker
    db, jobs = worker.prepare(settings)
    db2, jobs2 = worker.prepare(settings)
print(json.dumps({"before": before, "after": {r.what: list(r) for r in ALL}, "calls": calls,
                  "jobs": [j.name for j in jobs]}))
"""


def _compose(kind: str, tmp_path: Path) -> dict:
    out = subprocess.run([sys.executable, "-c", _PROBE, kind, f"sqlite:///{tmp_path / 'p.sqlite3'}", str(tmp_path)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("root", ["app", "worker"])
def test_the_composition_root_fills_every_registry_once(root, tmp_path):
    got = _compose(root, tmp_path)
    assert set(got["before"]) == {r.what for r in registry.ALL}
    assert all(n == 0 for n in got["before"].values()), got["before"]  # importing a module registers nothing
    # the same plug-ins, in the same order, as this process (conftest calls register_all too)
    assert got["after"] == {r.what: list(r) for r in registry.ALL}
    assert all(got["after"].values())
    assert "snowplow" in got["after"]["layer kinds"] and "sensor_series" in got["after"]["dashboard query kinds"]
    assert got["after"]["road providers of alert rules"] == ["road_alert_segments"]
    assert set(got["calls"].values()) == {1}, got["calls"]  # each name registered once, however often called
    assert len(got["calls"]) == sum(len(r) for r in registry.ALL)
    if root == "worker":  # its jobs come from the job factories (DEMO_FEED=0: no demo feeds)
        assert "alerts-check" in got["jobs"] and "demo-snow" not in got["jobs"]


def test_a_name_is_taken_once():
    r = registry.Registry("things", lambda x: x["name"])
    a, b = {"name": "a"}, {"name": "a"}
    assert r.register(a) is a
    r.register(a)  # the same object again: no change
    with pytest.raises(ValueError, match="'a' is registered already"):
        r.register(b)
    assert list(r) == ["a"] and r["a"] is a and r.get("b") is None and len(r) == 1


def test_registry_is_a_leaf():
    """registry.py imports nothing of the project, so every layer may read it."""
    tree = ast.parse((ROOT / "registry.py").read_text())
    names = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    ours = {p.stem for p in ROOT.glob("*.py")} | {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()}
    assert not names & ours, names & ours


def _readme_example() -> str:
    text = (ROOT / "README.md").read_text()
    m = re.search(r"<!-- plugin-example -->\n```python\n(.*?)```\n<!-- /plugin-example -->", text, re.S)
    assert m, "README: the plug-in example is gone"
    return m.group(1)


def test_the_readme_example_of_adding_plugins_works(alerts_world, tmp_path, monkeypatch):
    from sqlalchemy import select

    from alerts import rules
    from alerts.evaluation import tick_session
    from alerts.notification import sample_place
    from dashboards.model import parse_query
    from jobs import build_jobs
    from layers.base import kind_of
    from store import alerts as sa
    from store.models import Layer
    from tests.conftest import make_settings

    db, cfg, clock, staff = alerts_world
    for r in registry.ALL:  # the example's entries vanish after the test
        monkeypatch.setattr(r, "_items", dict(r._items))
    ns: dict = {}
    exec(compile(_readme_example(), "README.md", "exec"), ns)

    layer = Layer(id="wells-1", kind="wells", name_ja="井戸", version=1)
    kind = kind_of(layer)
    assert isinstance(kind, ns["WellsKind"])
    spec = kind.map_spec(layer, "ja")
    assert spec.url == "/api/layers/wells-1/features?v=1" and spec.props["hideout"]["color"] == "#1f77b4"
    assert parse_query("stat", {"kind": "well_count"}, set()) == {"kind": "well_count", "layer": "wells"}
    names = [j.name for j in build_jobs(make_settings(tmp_path, db.url, demo_feed=False), db)]
    assert names[-1] == "wells-check" and "alerts-check" in names
    # the alert target: one registration, and rules on it are checked, previewed and evaluated at each tick
    assert isinstance(registry.ALERT_TARGETS["well"], ns["WellTarget"])
    with db.session() as s:
        rid = rules.create(s, staff["kaga"], {"name": "井戸の水位", "target": "well", "op": ">", "threshold": 1.0,
                                              "recipients": ["w@kaga.example.jp"]}, cfg).id
        assert sample_place(s, s.get(sa.AlertRule, rid))["name_ja"] == "井戸 1"
        tick_session(s, cfg, clock())
        assert [(e.subject, e.kind, e.value) for e in s.scalars(select(sa.AlertEvent).where(
            sa.AlertEvent.rule_id == rid))] == [("well-1", "fired", 1.2)]
        ns["WELL_LEVELS"]["well-1"] = ("井戸 1", "Well 1", 136.65, 36.56, 0.4)
        tick_session(s, cfg, clock.advance(minutes=1))
        assert [e.kind for e in s.scalars(select(sa.AlertEvent).where(sa.AlertEvent.rule_id == rid)
                                          .order_by(sa.AlertEvent.id))] == ["fired", "cleared"]


def test_every_target_the_rules_accept_is_a_registered_provider():
    """The shipped targets are providers in registry.ALERT_TARGETS; the API schema and the staff form
    offer no target that has none."""
    import typing

    from alerts.targets import AlertTarget
    from api.schemas import AlertRule

    assert set(registry.ALERT_TARGETS) == {"sensor", "layer", "area", "property", "road", "device"}
    assert all(isinstance(x, AlertTarget) for x in registry.ALERT_TARGETS.values())
    api_targets = {a for arg in typing.get_args(AlertRule.model_fields["target"].annotation)
                   for a in typing.get_args(arg)}
    assert api_targets == set(registry.ALERT_TARGETS)
    form = ast.parse((ROOT / "pages" / "staff_alerts.py").read_text())  # (a Dash page: read, not imported)
    (form_targets,) = [ast.literal_eval(n.value) for n in form.body if isinstance(n, ast.Assign)
                       and any(isinstance(x, ast.Name) and x.id == "TARGETS" for x in n.targets)]
    assert form_targets and set(form_targets) <= set(registry.ALERT_TARGETS)
