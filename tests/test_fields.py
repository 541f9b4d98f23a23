"""layers/fields.py: the field checks cameras and snow-melting devices share, each with its own messages."""
from __future__ import annotations

import pytest

from i18n import t
from layers import cameras_manage, melters_manage
from refusal import Refused


def refused(clean, body, **kw) -> Refused:
    with pytest.raises(Refused) as exc:
        clean(body, "en", **kw)
    return exc.value


@pytest.mark.parametrize("clean, area, code", [(cameras_manage.clean, "camera", "invalid_camera"),
                                               (melters_manage.clean, "melter", "invalid_device")])
def test_each_service_names_every_bad_field_in_its_own_words(clean, area, code):
    body = {"name": " ", "name_en": 5, "lon": 200, "lat": True, "interval_s": 10, "visibility": "secret",
            "organisation": ["kaga"], "extra": 1}
    err = refused(clean, body)
    assert (err.status, err.code) == (400, code)
    got = {d["field"]: d["message"] for d in err.details}
    want = {"extra": "unknown", "name": "name", "name_en": "name_en", "lon": "lon", "lat": "lat",
            "interval_s": "interval", "visibility": "visibility", "organisation": "organisation"}
    for field, key in want.items():
        assert got[field] == t(f"{area}.field.{key}", "en"), field
    assert refused(clean, []).code == code  # not an object


def test_a_change_checks_only_what_it_names_and_a_new_one_gets_defaults():
    assert melters_manage.clean({"name_en": None, "road": " 国道8号 "}, "ja", partial=True) == {
        "name_en": "", "road": "国道8号"}
    new = melters_manage.clean({"name": " 消雪 ", "lon": 136.123456789, "lat": 36.5}, "ja")
    assert new == {"name_ja": "消雪", "lon": 136.123457, "lat": 36.5, "visibility": "public"}  # no interval asked
    cam = cameras_manage.clean({"name": "カメラ", "lon": 136.123456789, "lat": 36.5,
                                "url": "http://127.0.0.1:1/a.jpg"}, "ja", allowed_hosts=["127.0.0.1"])
    assert cam["lon"] == 136.1234568 and cam["visibility"] == "public"
    assert cam["interval_s"] == cameras_manage.DEFAULT_INTERVAL_S
    assert [d["field"] for d in refused(cameras_manage.clean, {"lat": 91}, partial=True).details] == ["lat"]
