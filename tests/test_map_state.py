from components.map_state import DEFAULT_ZOOM, MapState, exclusive_selection, parse_state, to_query

KNOWN = {"aed", "snow-depth", "hazard-flood", "hazard-tsunami"}


def test_round_trip():
    st = MapState(lat=36.3, lon=136.35, zoom=12, layers=["aed", "hazard-flood"], base="pale", lang="en",
                  opacity={"hazard-flood": 0.4})
    q = to_query(st)
    assert q.startswith("?lat=36.30000&lon=136.35000&z=12&layers=aed,hazard-flood&base=pale&lang=en")
    params = dict(p.split("=", 1) for p in q[1:].split("&"))
    back = parse_state(params, KNOWN)
    assert back == st


def test_garbage_falls_back_to_defaults():
    st = parse_state({"lat": "north", "lon": "999", "z": "-3", "base": "<script>", "lang": "xx",
                      "layers": "aed,unknown,<b>", "op": "aed:7,nope:0.1,hazard-flood:abc"}, KNOWN)
    assert st.zoom == DEFAULT_ZOOM and st.base == "std" and st.lang == "ja"
    assert st.lat == MapState().lat and st.lon == MapState().lon
    assert st.layers == ["aed"]
    assert st.opacity == {"aed": 0.7, "hazard-flood": 0.7}


def test_missing_layers_means_defaults_but_empty_means_none():
    assert parse_state({}, KNOWN).layers is None
    assert parse_state({"layers": ""}, KNOWN).layers == []


def test_exclusive_selection_keeps_the_new_one():
    excl = {"hazard-flood", "hazard-tsunami"}
    assert exclusive_selection(["hazard-flood"], ["hazard-flood", "hazard-tsunami", "aed"], excl) == [
        "hazard-tsunami", "aed"]
    assert exclusive_selection([], ["aed", "hazard-flood"], excl) == ["aed", "hazard-flood"]
