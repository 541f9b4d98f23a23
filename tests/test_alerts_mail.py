"""Alerts end to end against a real SMTP server (aiosmtpd on loopback): readings in, mails out."""
from __future__ import annotations

import html
from datetime import timedelta

import pytest
from sqlalchemy import select

from alerts import sender
from alerts.config import AlertConfig
from alerts.evaluation import tick
from alerts.hooks import install
from alerts.notification import preview, send_test_mail
from alerts.subscriptions import RateLimited, confirm_subscription, request_subscription, unsubscribe
from store import alerts as sa
from store.features import replace_features
from store.layers import ensure_organisation, upsert_layer
from store.models import Layer, Sensor
from store.sensors import add_reading, upsert_sensor
from tests.alert_helpers import T0, Clock
from tests.smtp_helpers import SmtpSink

SENSOR = "snow-hakui-01"


@pytest.fixture
def smtp():
    sink = SmtpSink().start()
    yield sink
    sink.stop()


class World:
    def __init__(self, db, smtp):
        self.db, self.smtp = db, smtp
        self.clock = Clock(T0)
        self.cfg = AlertConfig(base_url="http://map.example", mail_from="石川県 警報 <alerts@ishikawa.example>",
                               secret_key="k", clock=self.clock)
        install(db, self.cfg)
        with db.session() as s:
            org = ensure_organisation(s, "hakui", "羽咋市", "Hakui City")
            self.org_id = org.id
            upsert_layer(s, "snow-depth", kind="snow_depth", name_ja="積雪深", group="weather", organisation_id=org.id)
            upsert_sensor(s, SENSOR, layer_id="snow-depth", name_ja="羽咋市 羽咋小学校",
                          name_en="Hakui Elementary School", lon=136.771234, lat=36.891234,
                          attribute="snowDepth", unit="cm")
            upsert_sensor(s, "snow-hakui-02", layer_id="snow-depth", name_ja="羽咋市 千里浜公民館",
                          name_en="Chirihama", lon=136.75, lat=36.88, attribute="snowDepth", unit="cm")

    def rule(self, **fields) -> int:
        base = dict(name="羽咋小 積雪20cm", target="sensor", sensor_id=SENSOR, attribute="snowDepth", op=">",
                    threshold=20, clear_threshold=15, recipients=["duty@hakui.example"], language="ja")
        base.update(fields)
        with self.db.session() as s:
            return sa.create_rule(s, self.org_id, "yamada@hakui.example", created_at=self.clock(), **base).id

    def reading(self, value, minutes=None, sensor=SENSOR):
        at = self.clock() if minutes is None else T0 + timedelta(minutes=minutes)
        with self.db.session() as s:
            return add_reading(s, s.get(Sensor, sensor), value, at)

    def send(self, **kw):
        return sender.pump(self.db, self.smtp.url, self.cfg.mail_from, now=self.clock, **kw)

    def outbox(self):
        with self.db.session() as s:
            return list(s.scalars(select(sa.OutboxMail).order_by(sa.OutboxMail.id)))

    def events(self):
        with self.db.session() as s:
            return list(s.scalars(select(sa.AlertEvent).order_by(sa.AlertEvent.id)))


@pytest.fixture
def world(db, smtp):
    return World(db, smtp)


def test_one_mail_above_none_while_above_recovery_below_clear(world):
    rid = world.rule()
    world.reading(12)
    world.clock.advance(minutes=1)
    world.reading(24.5)
    assert world.send()["sent"] == 1
    (msg,) = world.smtp.messages
    assert msg["To"] == "duty@hakui.example" and msg["From"] == "石川県 警報 <alerts@ishikawa.example>"
    assert world.smtp.envelopes[0] == ("alerts@ishikawa.example", ["duty@hakui.example"])
    assert msg["Subject"].startswith("[いしかわマップ][発報][羽咋小 積雪20cm] 羽咋市 羽咋小学校: 24.5cm")
    assert msg.is_multipart() and msg.get_content_type() == "multipart/alternative"
    text, body_html = SmtpSink.text(msg), SmtpSink.html(msg)
    assert "<table" in body_html
    for part in (text, html.unescape(body_html)):
        assert "24.5cm" in part and "積雪深 > 20cm" in part and "15cm" in part  # value, threshold, clear
        assert "2026-01-20 12:01 JST" in part  # the time in JST
        assert "羽咋市 羽咋小学校" in part and "36.89123, 136.77123" in part
        assert "http://map.example/?lat=36.89123&lon=136.77123&z=15&lang=ja" in part
        assert "羽咋小 積雪20cm" in part and "羽咋市 / yamada@hakui.example" in part
    assert msg["List-Unsubscribe"].startswith("<http://map.example/alerts/unsubscribe?s=")
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert b"\nList-Unsubscribe: <http://map.example/alerts/unsubscribe?s=" in world.smtp.raw[0]  # not encoded
    assert msg["Message-ID"] == world.outbox()[0].message_id

    # still above: nothing new; between threshold and clear threshold: nothing either
    for v in (30, 18, 15):
        world.clock.advance(minutes=1)
        world.reading(v)
    assert world.send()["sent"] == 0 and len(world.smtp.messages) == 1

    world.clock.advance(minutes=1)
    world.reading(14)
    assert world.send()["sent"] == 1
    rec = world.smtp.messages[1]
    assert rec["Subject"].startswith("[いしかわマップ][復旧][羽咋小 積雪20cm] 羽咋市 羽咋小学校: 14cm")
    body = SmtpSink.text(rec)
    assert "継続時間" in body and "4分" in body and "積雪深 > 20cm" in body and "最大値" in body and "30cm" in body
    assert [e.kind for e in world.events()] == ["fired", "cleared"]
    assert all(m.status == sa.SENT for m in world.outbox())
    assert rid


def test_english_rule_and_layer_target(world):
    world.rule(name="Hakui snow", target="layer", sensor_id=None, layer_id="snow-depth", language="en",
               clear_threshold=None)
    world.reading(25)
    world.reading(21, sensor="snow-hakui-02")
    world.send()
    subjects = sorted(world.smtp.subjects())
    assert subjects == ["[Ishikawa Map][ALERT][Hakui snow] Chirihama: 21cm (Snow depth > 20cm)",
                        "[Ishikawa Map][ALERT][Hakui snow] Hakui Elementary School: 25cm (Snow depth > 20cm)"]


def test_bulk_readings_from_a_broker_poll_trigger_rules_too(world):
    """store.sensors.add_readings (broker polls) writes with a Core insert, not Reading objects."""
    from store.sensors import add_readings

    world.rule()
    with world.db.session() as s:
        sensor = s.get(Sensor, SENSOR)
        assert add_readings(s, [(sensor, 12.0, T0, "snowDepth"),
                                (sensor, 26.0, T0 + timedelta(minutes=1), "snowDepth")]) == 2
    assert [e.kind for e in world.events()] == ["fired"]
    assert world.send()["sent"] == 1 and "26cm" in world.smtp.messages[0]["Subject"]
    with pytest.raises(RuntimeError):  # a failed poll leaves nothing behind for the next commit
        with world.db.session() as s:
            add_readings(s, [(s.get(Sensor, SENSOR), 5.0, T0 + timedelta(minutes=2), "snowDepth")])
            raise RuntimeError("poll fails")
    with world.db.session() as s:
        s.get(Sensor, SENSOR)
    assert [e.kind for e in world.events()] == ["fired"]


def test_event_and_mail_are_written_with_the_reading_or_not_at_all(world):
    world.rule()
    with pytest.raises(RuntimeError):
        with world.db.session() as s:
            add_reading(s, s.get(Sensor, SENSOR), 30, T0)
            s.flush()
            raise RuntimeError("ingest fails after the reading")
    assert world.events() == [] and world.outbox() == []
    world.reading(30, minutes=0)
    assert [e.kind for e in world.events()] == ["fired"] and len(world.outbox()) == 1


def test_for_minutes_quiet_hours_repeat_and_no_data_with_the_clock(world):
    world.rule(name="for10", for_minutes=10, recipients=["a@x.example"])
    world.rule(name="repeat", repeat_minutes=30, recipients=["b@x.example"])
    world.rule(name="nodata", no_data_minutes=15, threshold=999, clear_threshold=None, recipients=["c@x.example"])
    # quiet 12:00-13:00 JST = now
    world.rule(name="quiet", quiet_start="12:00", quiet_end="13:00", recipients=["d@x.example"])
    world.reading(25)
    world.send()
    assert [m["To"] for m in world.smtp.messages] == ["b@x.example"]  # for10 waits, quiet holds
    world.clock.advance(minutes=10)
    tick(world.db, world.cfg)
    world.send()
    assert sorted(m["To"] for m in world.smtp.messages) == ["a@x.example", "b@x.example"]
    world.clock.advance(minutes=5)  # 15 min without data
    tick(world.db, world.cfg)
    world.send()
    nodata = world.smtp.to("c@x.example")
    assert len(nodata) == 1 and "[データ途絶][nodata]" in nodata[0]["Subject"]
    world.clock.advance(minutes=15)  # 30 min after firing: repeat (but no data: no repeat while silent)
    world.reading(26)
    tick(world.db, world.cfg)
    world.send()
    assert [m["Subject"].split("]")[1] for m in world.smtp.to("b@x.example")] == ["[発報", "[継続"]
    assert "データ再開" in world.smtp.to("c@x.example")[-1]["Subject"]
    world.clock.advance(minutes=30)  # 13:00 JST: quiet hours over, the held alert goes out
    world.reading(27)
    tick(world.db, world.cfg)
    world.send()
    quiet = world.smtp.to("d@x.example")
    assert len(quiet) == 1 and quiet[0]["Subject"].startswith("[いしかわマップ][発報][quiet]")
    assert "通知停止時間帯の後に送信" in SmtpSink.text(quiet[0])
    kinds = {(e.rule_name, e.kind, e.mailed, e.note) for e in world.events()}
    assert ("quiet", "fired", False, "quiet_hours") in kinds and ("quiet", "delayed", True, "") in kinds


def test_smtp_down_then_up_every_mail_exactly_once(world):
    world.rule(recipients=["a@x.example", "b@x.example", "c@x.example"])
    world.smtp.stop()
    world.reading(30)
    r = world.send()
    assert r["retry"] == 3 and r["sent"] == 0
    mails = world.outbox()
    assert all(m.status == sa.QUEUED and m.attempts == 1 and "connect" in m.last_error for m in mails)
    assert world.send()["sent"] == 0  # backoff: not due yet
    world.clock.advance(seconds=16)
    assert world.send()["retry"] == 3  # still down: second attempt, longer wait
    world.smtp.start()
    world.clock.advance(seconds=20)
    assert world.send()["sent"] == 0  # 30 s backoff not over
    world.clock.advance(seconds=15)
    assert world.send()["sent"] == 3
    assert world.send()["sent"] == 0
    assert sorted(m["To"] for m in world.smtp.messages) == ["a@x.example", "b@x.example", "c@x.example"]
    assert all(m.status == sa.SENT and m.attempts == 3 for m in world.outbox())


def test_refused_mail_is_retried_then_kept_as_failed(world):
    world.rule(recipients=["ok@x.example", "gone@x.example"])
    world.smtp.refuse.add("gone@x.example")
    world.reading(30)
    for _ in range(3):
        sender.send_due(world.db, world.smtp.url, world.cfg.mail_from, now=world.clock, max_attempts=3)
        world.clock.advance(hours=1)
    by_to = {m.to_addr: m for m in world.outbox()}
    assert by_to["ok@x.example"].status == sa.SENT
    assert by_to["gone@x.example"].status == sa.FAILED and by_to["gone@x.example"].attempts == 3
    assert "550" in by_to["gone@x.example"].last_error
    assert [m["To"] for m in world.smtp.messages] == ["ok@x.example"]


class Killed(BaseException):
    """The worker process dies (nothing after this line runs)."""


def test_worker_killed_between_send_and_mark_loses_nothing(world):
    world.rule(recipients=["a@x.example", "b@x.example"])
    world.reading(30)

    def die(_mail_id):
        raise Killed()

    with pytest.raises(Killed):
        sender.send_due(world.db, world.smtp.url, world.cfg.mail_from, now=world.clock, after_send=die)
    assert len(world.smtp.messages) == 1  # accepted by the server, never marked
    statuses = sorted(m.status for m in world.outbox())
    assert statuses == [sa.SENDING, sa.SENDING]
    assert world.send()["sent"] == 0  # a fresh worker does not touch a live claim
    world.clock.advance(minutes=3)  # the claim's lease ran out: the dead worker's mails are taken over
    assert world.send()["sent"] == 2
    assert all(m.status == sa.SENT for m in world.outbox())
    got = [(m["To"], m["Message-ID"]) for m in world.smtp.messages]
    keys = {m.to_addr: m.message_id for m in world.outbox()}
    # nothing lost: both arrived; the one in the crash window arrived again with the same Message-ID,
    # so the receiving side can tell it is the same mail — never a second, different mail
    assert set(got) == set(keys.items())
    assert len({mid for _, mid in got}) == 2
    assert len(got) == 3 and got[0] == got[1] == ('a@x.example', keys['a@x.example'])


def test_resident_double_opt_in_and_one_click_unsubscribe(world):
    rid = world.rule(public=True, recipients=[])
    with world.db.session() as s:
        sub = request_subscription(s, world.cfg, rid, "Resident@Home.example", "ja", client="203.0.113.5")
        token = sub.token
    world.send()
    (confirm,) = world.smtp.messages
    assert confirm["To"] == "Resident@Home.example" and "配信登録の確認" in confirm["Subject"]
    assert f"http://map.example/alerts/confirm?token={token}" in SmtpSink.text(confirm)
    world.reading(30)  # unconfirmed: nothing is sent to that address
    world.send()
    assert len(world.smtp.messages) == 1
    with world.db.session() as s:
        assert confirm_subscription(s, token, world.clock()) is not None
    world.clock.advance(minutes=1)
    world.reading(10)
    world.clock.advance(minutes=1)
    world.reading(31)
    world.send()
    alert = world.smtp.messages[-1]
    assert alert["To"] == "resident@home.example", ([(e.kind, e.mailed, e.note, e.observed_at) for e in world.events()],
                                                    [(m.to_addr, m.status) for m in world.outbox()])
    assert alert["To"] == "resident@home.example" and "[発報]" in alert["Subject"]
    assert alert["List-Unsubscribe"] == f"<http://map.example/alerts/unsubscribe?token={token}>"
    with world.db.session() as s:
        assert unsubscribe(s, world.cfg, world.clock(), token=token)
    world.clock.advance(minutes=1)
    world.reading(10)
    world.send()
    assert len(world.smtp.messages) == 2, world.smtp.subjects()  # no recovery mail after unsubscribing


def test_staff_recipient_unsubscribes_with_the_signed_link(world):
    world.rule()
    world.reading(30, minutes=0)
    world.send()
    url = world.smtp.messages[0]["List-Unsubscribe"].strip("<>")
    signed = url.split("s=", 1)[1]
    with world.db.session() as s:
        assert unsubscribe(s, world.cfg, world.clock(), signed=signed)
        assert not unsubscribe(s, world.cfg, world.clock(), signed=signed[:-2] + "xx")
    world.reading(10, minutes=1)
    world.send()
    assert len(world.smtp.messages) == 1
    assert world.events()[-1].kind == "cleared" and world.events()[-1].note == "no_recipients"


def test_subscription_page_is_rate_limited(world):
    rid = world.rule(public=True)
    with world.db.session() as s:
        for i in range(5):
            request_subscription(s, world.cfg, rid, f"p{i}@home.example", "ja", client="198.51.100.7")
        with pytest.raises(RateLimited):
            request_subscription(s, world.cfg, rid, "p9@home.example", "ja", client="198.51.100.7")
        request_subscription(s, world.cfg, rid, "other@home.example", "ja", client="198.51.100.8")
        with pytest.raises(ValueError):
            request_subscription(s, world.cfg, rid, "not-an-address", "ja", client="198.51.100.9")
        private = sa.create_rule(s, world.org_id, "x", name="private", sensor_id=SENSOR, threshold=1)
        with pytest.raises(ValueError):
            request_subscription(s, world.cfg, private.id, "p@home.example", "ja", client="198.51.100.9")
    world.clock.advance(hours=1, minutes=1)
    with world.db.session() as s:
        request_subscription(s, world.cfg, rid, "p9@home.example", "ja", client="198.51.100.7")


def test_property_rule_on_an_uploaded_layer(world):
    with world.db.session() as s:
        layer = upsert_layer(s, "hakui-water", kind="geojson", name_ja="水位", group="disaster",
                             organisation_id=world.org_id)
        replace_features(s, layer, [
            {"id": "g1", "type": "Feature", "geometry": {"type": "Point", "coordinates": [136.78, 36.9]},
             "properties": {"name": "子浦川 観測所", "level": 1.2}}])
    world.rule(name="水位", target="property", sensor_id=None, layer_id="hakui-water", property="level",
               threshold=2.5, clear_threshold=2.0, options={"unit": "m"})
    world.clock.advance(minutes=5)
    with world.db.session() as s:  # the layer is replaced by a new upload
        replace_features(s, s.get(Layer, "hakui-water"), [
            {"id": "g1", "type": "Feature", "geometry": {"type": "Point", "coordinates": [136.78, 36.9]},
             "properties": {"name": "子浦川 観測所", "level": "3.1"}}])
    world.send()
    (msg,) = world.smtp.messages
    assert "[発報][水位] 子浦川 観測所: 3.1m (level > 2.5m)" in msg["Subject"]


def test_preview_and_test_mail(world):
    rid = world.rule()
    world.reading(17, minutes=0)
    with world.db.session() as s:
        rule = s.get(sa.AlertRule, rid)
        subject, text, html = preview(s, world.cfg, rule)
        assert "17cm" in subject and "羽咋市 羽咋小学校" in text and "<table" in html
        assert send_test_mail(s, world.cfg, rule, to="me@hakui.example") == 1
    world.send()
    (msg,) = world.smtp.messages
    assert msg["To"] == "me@hakui.example" and "[テスト]" in msg["Subject"]
    assert "List-Unsubscribe" not in msg
    assert world.events()[-1].kind == "test"


def test_smtp_url_parsing():
    t = sender.parse_smtp_url("smtps://user%40x:p%3Ass@mail.example")
    assert (t.scheme, t.host, t.port, t.user, t.password) == ("smtps", "mail.example", 465, "user@x", "p:ss")
    assert sender.parse_smtp_url("smtp+starttls://m.example").port == 587
    assert sender.parse_smtp_url("smtp://m.example:2525").port == 2525
    with pytest.raises(ValueError):
        sender.parse_smtp_url("http://m.example")
    assert sender.backoff(1) == timedelta(seconds=15) and sender.backoff(20) == timedelta(minutes=30)


def test_without_smtp_url_mails_stay_in_the_outbox(world):
    world.rule()
    world.reading(30, minutes=0)
    assert sender.pump(world.db, "", world.cfg.mail_from, now=world.clock)["sent"] == 0
    assert [m.status for m in world.outbox()] == [sa.QUEUED]


def test_a_new_rule_fires_at_once_when_the_latest_value_is_already_over(world):
    from alerts.evaluation import evaluate_now

    world.reading(33, minutes=0)
    world.clock.advance(minutes=5)
    rid = world.rule(recipients=["now@x.example"])
    with world.db.session() as s:
        assert [e.kind for e in evaluate_now(s, world.cfg, s.get(sa.AlertRule, rid))] == ["fired"]
    world.send()
    assert [m["To"] for m in world.smtp.messages] == ["now@x.example"]
    # a stale latest value (older than an hour) updates the state but mails nobody
    world.clock.advance(hours=2)
    rid2 = world.rule(name="stale", recipients=["stale@x.example"])
    with world.db.session() as s:
        (ev,) = evaluate_now(s, world.cfg, s.get(sa.AlertRule, rid2))
        assert ev.kind == "fired" and not ev.mailed and ev.note == "late_data"


def test_demo_feed_crosses_the_threshold_mail_then_recovery_then_history(db, smtp):
    """End to end: a rule on a demo sensor; the demo feed's values cross it; the mail
    lands with value, threshold and map link; the recovery follows; the history shows both."""
    from pathlib import Path

    from alerts.history import rows as history_rows
    from layers.builtin import ensure_builtin
    from sources import demo_snow

    data = Path(__file__).resolve().parents[1] / "data"
    clock = Clock(T0)
    cfg = AlertConfig(base_url="http://map.example", mail_from="alerts@ishikawa.example", secret_key="k", clock=clock)
    install(db, cfg)
    with db.session() as s:
        ensure_builtin(s, data)
    demo_snow.tick(db, data, T0)  # the first run backfills a day
    series = demo_snow.load_series(data)
    site = next(d for d in demo_snow.load_sensors(data) if d.id == "snow-kaga-01")
    minutes = [T0 + timedelta(minutes=m) for m in range(1, 361)]
    values = [demo_snow.value_at(series, site, t) for t in minutes]
    assert values[0] < 30 < max(values)  # the replayed series rises past 30 cm in these hours, then falls
    up = next(i for i, v in enumerate(values) if v > 30)
    down = next(i for i, v in enumerate(values) if i > up and v < 25)
    with db.session() as s:
        sa.create_rule(s, None, "kaga-duty", name="錦城小 30cm", sensor_id="snow-kaga-01", op=">", threshold=30,
                       clear_threshold=25, recipients=["duty@kaga.example.jp"], created_at=T0)
    for t in minutes[9::10]:  # the feed runs every 10 minutes here; it writes every minute's reading
        clock.t = t
        demo_snow.tick(db, data, t)
        sender.pump(db, smtp.url, cfg.mail_from, now=clock)
    assert len(smtp.messages) == 2, smtp.subjects()
    fired, cleared = smtp.messages
    assert fired["Subject"] == (f"[いしかわマップ][発報][錦城小 30cm] 加賀市 加賀市立錦城小学校: "
                                f"{values[up]:g}cm (積雪深 > 30cm)")
    text = SmtpSink.text(fired)
    assert f"{minutes[up].astimezone(engine_jst()):%Y-%m-%d %H:%M} JST" in text
    assert "http://map.example/?lat=36.30774&lon=136.30819&z=15&lang=ja" in text
    assert cleared["Subject"].startswith(
        f"[いしかわマップ][復旧][錦城小 30cm] 加賀市 加賀市立錦城小学校: {values[down]:g}cm")
    lasted = minutes[down] - minutes[up]
    assert f"{lasted.seconds // 3600}時間{lasted.seconds % 3600 // 60}分" in SmtpSink.text(cleared)
    with db.session() as s:
        events, mails = sa.history(s, None, True)
        table = history_rows(events, mails, "ja")
    assert [r["status"] for r in table if r["type"] == "イベント"] == ["復旧", "発報"]
    assert [r["status"] for r in table if r["type"] == "メール"] == ["送信済み", "送信済み"]


def engine_jst():
    from timezones import JST

    return JST


KILLED_WORKER = """
import os, signal, sys
sys.path.insert(0, sys.argv[3])
from alerts import sender
from store.db import Database
db = Database(sys.argv[1])
# the worker process dies (SIGKILL: no clean-up at all) right after the server accepted a mail
sender.send_due(db, sys.argv[2], "alerts@ishikawa.example",
                after_send=lambda mail_id: os.kill(os.getpid(), signal.SIGKILL))
"""


def test_worker_process_sigkilled_after_send_before_mark(world):
    import subprocess
    import sys
    from pathlib import Path

    from store.db import utcnow

    world.rule(recipients=["a@x.example", "b@x.example"])
    world.reading(30, minutes=0)
    root = str(Path(__file__).resolve().parents[1])
    proc = subprocess.run([sys.executable, "-c", KILLED_WORKER, world.db.url, world.smtp.url, root],
                          capture_output=True, timeout=60)
    assert proc.returncode == -9, proc.stderr.decode()[-2000:]
    assert len(world.smtp.messages) == 1
    assert sorted(m.status for m in world.outbox()) == [sa.SENDING, sa.SENDING]
    world.clock.t = utcnow() + timedelta(seconds=30)
    assert world.send()["sent"] == 0  # the dead worker's claim is still fresh
    world.clock.t = utcnow() + sa.SENDING_LEASE + timedelta(seconds=1)
    assert world.send()["sent"] == 2
    assert all(m.status == sa.SENT for m in world.outbox())
    keys = {m.to_addr: m.message_id for m in world.outbox()}
    got = [(m["To"], m["Message-ID"]) for m in world.smtp.messages]
    assert set(got) == set(keys.items())  # nothing lost
    assert got[0] == got[1]  # the mail in the crash window came again, as the same message (same Message-ID)
    assert len(got) == 3


def test_concurrent_ingest_of_one_sensor_fires_once(world, monkeypatch):
    import threading
    import time

    from alerts import engine

    if world.db.backend != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite has one writer at a time")
    slow = engine.on_value

    def slow_on_value(*a, **kw):  # widen the window between reading a state and committing it
        time.sleep(0.3)
        return slow(*a, **kw)

    world.rule()
    world.reading(10, minutes=0)  # the state exists (ok) before the race
    monkeypatch.setattr(engine, "on_value", slow_on_value)
    barrier = threading.Barrier(6)
    errors = []

    def ingest(i):
        try:
            barrier.wait(10)
            world.reading(30 + i, minutes=1 + i)
        except Exception as exc:  # pragma: no cover - shows up in the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=ingest, args=(i,)) for i in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(30)
    assert errors == []
    assert [e.kind for e in world.events()] == ["fired"]
    assert len(world.outbox()) == 1


def test_a_slow_pass_hands_back_its_claims(world, monkeypatch):
    world.rule(recipients=["a@x.example", "b@x.example"])
    world.reading(30, minutes=0)
    monkeypatch.setattr(sa, "SENDING_LEASE", timedelta(0))  # every pass is "too slow" at once
    assert sender.send_due(world.db, world.smtp.url, world.cfg.mail_from, now=world.clock)["sent"] == 0
    assert [(m.status, m.attempts, m.claimed_at) for m in world.outbox()] == [(sa.QUEUED, 0, None)] * 2
    monkeypatch.undo()
    assert world.send()["sent"] == 2


def test_road_rule_through_the_provider_hook(world, monkeypatch):
    """Road passes plug in through registry.ROAD_PROVIDERS; the worker tick evaluates them."""
    from registry import ROAD_PROVIDERS

    monkeypatch.setattr(ROAD_PROVIDERS, "_items", {})  # only this test's provider
    segments = {"hours": 2.0, "depth": 35.0}

    def provider(s, rule, now):
        return [{"subject": "road:r8-12", "name_ja": "国道8号 加賀IC付近", "name_en": "Route 8 near Kaga IC",
                 "lon": 136.31, "lat": 36.3, "hours_since_cleared": segments["hours"],
                 "nearby_depth": segments["depth"]}]

    ROAD_PROVIDERS.register(provider)
    world.rule(name="未除雪3時間", target="road", sensor_id=None, layer_id="snow-depth", op=">=", threshold=3,
               clear_threshold=None, options={"depth_over": 20}, recipients=["road@x.example"])
    tick(world.db, world.cfg)
    world.send()
    assert world.smtp.messages == []
    segments["hours"] = 3.5
    world.clock.advance(minutes=1)
    tick(world.db, world.cfg)
    world.send()
    (msg,) = world.smtp.messages
    assert msg["Subject"] == "[いしかわマップ][発報][未除雪3時間] 国道8号 加賀IC付近: 3.5 (未除雪の時間（h） ≥ 3)"
    segments.update(hours=0.2)  # a plough passed
    world.clock.advance(minutes=1)
    tick(world.db, world.cfg)
    world.send()
    assert "[復旧]" in world.smtp.messages[-1]["Subject"]


def test_a_big_pass_goes_over_several_connections_in_order_per_recipient(world):
    world.rule(recipients=["a@x.example", "b@x.example", "c@x.example"])
    for i in range(20):
        world.reading(30 if i % 2 == 0 else 10, minutes=i)
    r = sender.send_due(world.db, world.smtp.url, world.cfg.mail_from, now=world.clock, parallel=4)
    assert r == {"sent": 60, "retry": 0, "failed": 0}
    assert len({m["Message-ID"] for m in world.smtp.messages}) == 60
    for addr in ("a@x.example", "b@x.example", "c@x.example"):
        states = [m["Subject"].split("]")[1].lstrip("[") for m in world.smtp.to(addr)]
        assert states == ["発報", "復旧"] * 10
    assert all(m.status == sa.SENT for m in world.outbox())
