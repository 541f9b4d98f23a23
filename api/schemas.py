"""The pydantic models of the API's requests and answers (declared once; api/contract.py validates
requests with them and api/openapi.py turns them into `/api/openapi.json`).

Query models read the query string (text, converted in pydantic's lax mode: `zoom=5` is 5); a
parameter not declared is ignored. Body models are strict JSON (`"5"` is no number), refuse
unknown fields where the whole set is known, and refuse numbers that are not finite.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

ISO = {"format": "date-time"}
TIME = r"^\d{4}-\d{2}-\d{2}"  # ISO 8601: a date first (an empty value is no time)
Text = Annotated[str, Field(max_length=200)]
NonBlank = Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S")]
Visibility = Literal["public", "private"]


class Query(BaseModel):
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class Answer(BaseModel):
    model_config = ConfigDict(extra="allow")


# ------------------------------------------------------------------ shared parts

class Names(Answer):
    ja: str | None = None
    en: str | None = None


class ErrorBody(BaseModel):
    """Every error: a code, a message in the request's language, and details (per field when the
    request did not fit its declaration: {field, message, type})."""
    error: str
    message: str
    details: list


# ------------------------------------------------------------------ layers

BBOX = r"^\s*-?\d+(\.\d+)?\s*(,\s*-?\d+(\.\d+)?\s*){3}$"


class FeaturesQuery(Query):
    bbox: str | None = Field(None, pattern=BBOX, max_length=200,
                             description="minLon,minLat,maxLon,maxLat (WGS84 degrees)")
    zoom: int | None = Field(None, ge=0, le=24, description="simplify outlines for this zoom")
    v: str | None = Field(None, max_length=40, description="the layer's version: the answer may be cached for good")


class Organisation(Answer):
    code: str
    name: Names


class LayerSummary(Answer):
    id: str
    name: Names
    kind: str
    group: str | None = None
    organisation: Organisation | None = None
    feature_count: int | None = None
    updated_at: str | None = None
    license: str | None = None
    attribution: Names
    visibility: Visibility
    features_url: str | None = None
    tiles: list | None = None


class LayerList(Answer):
    layers: list[LayerSummary]


class LayerInfo(Answer):
    id: str
    kind: str
    name: Names
    visibility: Visibility
    feature_count: int | None = None
    version: int | None = None


class LayerSettings(Body):
    """Settings of an uploaded layer; only the fields sent change."""
    name: NonBlank = Field(None, description="Japanese name (the same word as the upload's)")
    name_ja: NonBlank = None
    name_en: Text = None
    group: NonBlank = Field(None, description="menu group key or label")
    visibility: Visibility = None
    description_ja: Annotated[str, Field(max_length=5000)] = None
    description_en: Annotated[str, Field(max_length=5000)] = None
    license: Text = None
    attribution_ja: Annotated[str, Field(max_length=5000)] = None
    attribution_en: Annotated[str, Field(max_length=5000)] = None
    color: str = Field(None, pattern=r"^#[0-9a-fA-F]{6}$")
    shape: Literal["circle", "square", "marker"] = None
    popup: dict = Field(None, description='{"title": column, "fields": [[column, label ja, label en], …]}')


class UploadOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")
    file: bytes = Field(json_schema_extra={"format": "binary"},
                        description="CSV (UTF-8, UTF-8 BOM, CP932), GeoJSON, KML, KMZ, GPX, zipped Shapefile, "
                                    "GeoPackage; the kind is judged from the content")
    crs: str = Field(None, max_length=40, examples=["EPSG:6675"],
                            description="CRS when the file does not say; plane-rectangular X points north")
    lat_column: str = Field(None, max_length=200, description="CSV: the latitude (north-south) column")
    lon_column: str = Field(None, max_length=200, description="CSV: the longitude (east-west) column")
    on_invalid: Literal["", "skip", "fail"] = Field(
        None, description="skip: publish the placeable rows; otherwise unplaceable rows refuse the file (422)")


class NewLayerForm(UploadOptions):
    name: NonBlank
    name_en: Text = None
    visibility: Visibility
    group: NonBlank
    organisation: Text = Field(None, description="organisation code (admins)")
    description: Annotated[str, Field(max_length=5000)] = None
    license: Text = None
    attribution: Annotated[str, Field(max_length=5000)] = None


class Skipped(Answer):
    row: int | None = None
    reason: str | None = None
    message: str | None = None


class Created(Answer):
    id: str
    feature_count: int
    skipped: list[Skipped]
    skipped_count: int


class Replaced(Answer):
    id: str
    feature_count: int


# ------------------------------------------------------------------ sensors and readings

class TimeRange(Query):
    since: str | None = Field(None, max_length=40, pattern=TIME, json_schema_extra=ISO,
                              description="ISO 8601 (bare times are JST); default: 24 h ago")
    until: str | None = Field(None, max_length=40, pattern=TIME, json_schema_extra=ISO, description="default: now")


class Reading(BaseModel):
    """One reading; the route judges each item and names its index (and reason) when refused."""
    model_config = ConfigDict(extra="ignore", strict=True)
    sensor_id: Annotated[str, Field(min_length=1, max_length=120, pattern=r"\S")]
    attribute: Annotated[str, Field(max_length=60)] = None
    value: float = Field(description="a finite number")
    time: str = Field(max_length=40, json_schema_extra=ISO,
                      description="ISO 8601; bare times are JST; from 2000-01-01 to 5 minutes ahead")
    lon: float = Field(None, ge=-180, le=180, description="with lat: a new sensor of the poster's organisation")
    lat: float = Field(None, ge=-90, le=90)
    name: Text = None
    name_en: Text = None
    unit: Annotated[str, Field(max_length=20)] = None


Readings = Annotated[list[Reading], Field(min_length=1, max_length=10000)]


class ReadingsAccepted(Answer):
    accepted: int
    duplicates: int
    created_sensors: list[str]


class SensorOut(Answer):
    id: str
    layer_id: str
    name: Names
    lon: float | None = None
    lat: float | None = None
    attribute: str | None = None
    unit: str | None = None
    visibility: Visibility
    latest: dict | None = None


class SensorReadings(Answer):
    sensor: dict
    readings: list[dict]


class SensorsCsvQuery(Query):
    sensors: str | None = Field(None, max_length=2000, description="sensor ids, comma separated")
    sensor: str | None = Field(None, max_length=200)
    attr: str | None = Field(None, max_length=60)
    range: Literal["1h", "24h", "7d", "30d", "custom"] | None = None
    start: str | None = Field(None, max_length=40, description="JST, with range=custom")
    end: str | None = Field(None, max_length=40)
    agg: Literal["raw", "10min", "hour", "day"] | None = None


# ------------------------------------------------------------------ alert rules

class AlertRuleOptions(BaseModel):
    """Options of a road or snow-melting device rule (alerts/rules_json.py checks the values)."""
    model_config = ConfigDict(extra="allow", strict=True)
    condition: Literal["fault", "stopped_while_snow"] | None = Field(
        None, description="device rules: fault (故障 or no reports, the default) or stopped_while_snow "
                          "(停止 while the nearest snow-depth sensor reads more than depth_over cm)")
    depth_over: float | None = Field(None, ge=0, description="snow depth in cm (road rules; stopped_while_snow)")
    within_m: float | None = Field(None, ge=1, le=50000,
                                   description="stopped_while_snow: the nearest snow-depth sensor within this many "
                                               "metres (default 5000)")
    stale: bool | None = Field(None, description="device rules (fault): a device that stops reporting fires too")


class AlertRule(BaseModel):
    """An alert rule. alerts/rules.py checks the body against it and more (existence, the
    owner's permissions), naming every bad field in one answer; null is "unset", as a rule read
    back from the API has it."""
    model_config = ConfigDict(extra="allow", strict=True)
    name: str | None = None
    target: Literal["sensor", "layer", "area", "property", "road", "device"] | None = None
    sensor_id: str | None = None
    device_id: str | None = Field(None, description="target device: one snow-melting device (none: all it may see)")
    layer_id: str | None = None
    property: str | None = None
    area: list[float] | dict | None = Field(None, description="[minLon, minLat, maxLon, maxLat]")
    attribute: str | None = Field(None, examples=["snowDepth"])
    op: Literal[">", ">=", "<", "<=", "≥", "≤", "gt", "ge", "lt", "le"] | None = None
    threshold: float | None = None
    clear_threshold: float | None = None
    for_minutes: int | None = None
    repeat_minutes: int | None = None
    no_data_minutes: int | None = None
    quiet_hours: dict | None = Field(None, examples=[{"start": "22:00", "end": "06:00"}])
    recipients: list[str] | str | None = None
    groups: list[int] | None = None
    language: Literal["ja", "en"] | None = None
    public: bool | None = None
    paused: bool | None = None
    options: AlertRuleOptions | None = None


class AlertRuleOut(Answer):
    id: int
    name: str


# ------------------------------------------------------------------ sources

class Source(Body):
    """A broker (Orion) or CKAN source; sources/source_config.py checks addresses and names."""
    name: Text = None
    kind: Literal["orion", "ckan"] = None
    base_url: Annotated[str, Field(max_length=500)] = None
    service: Annotated[str, Field(max_length=50)] = None
    servicepath: Annotated[str, Field(max_length=600)] = None
    entity_type: Text = None
    q: Annotated[str, Field(max_length=2000)] = None
    georel: Text = None
    geometry: Annotated[str, Field(max_length=40)] = None
    coords: Annotated[str, Field(max_length=4000)] = None
    attrs: Annotated[list[Annotated[str, Field(min_length=1)]], Field(max_length=50)] = None
    key_values: bool = None
    token_header: Annotated[str, Field(max_length=80)] = None
    token: Annotated[str, Field(max_length=2000)] = None
    interval_s: float = Field(None, ge=10, le=7 * 24 * 3600)
    target: Text = None
    visibility: Visibility = None
    enabled: bool = None
    ckan_dataset: Text = None
    ckan_resource: Text = None
    organisation: Annotated[str, Field(max_length=40)] = Field(None, description="organisation code (admins)")
    id: int = Field(None, description="ignored")

    @field_validator("base_url")
    @classmethod
    def _url_parses(cls, value: str) -> str:
        parts = urlsplit(value.strip())  # ValueError (a broken [IPv6] host, a port beyond 65535): refused
        _ = parts.port
        return value


class SourceNew(Source):
    name: NonBlank
    base_url: Annotated[str, Field(min_length=1, max_length=500, pattern=r"^\s*https?://")]


class SourceOut(Answer):
    id: int
    name: str
    kind: str


class SourceList(Answer):
    sources: list[SourceOut]


# ------------------------------------------------------------------ cameras

class CameraPatch(Body):
    name: NonBlank = None
    name_en: Text = None
    lon: float = Field(None, ge=-180, le=180)
    lat: float = Field(None, ge=-90, le=90)
    url: str = Field(None, max_length=2000, pattern=r"^https?://[^\s/]+", description="snapshot URL (JPEG/PNG)")
    interval_s: int = Field(None, ge=30, le=86400)
    visibility: Visibility = None
    organisation: Annotated[str, Field(max_length=40)] = Field(None, description="organisation code (admins)")


class CameraNew(CameraPatch):
    name: NonBlank
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    url: str = Field(max_length=2000, pattern=r"^https?://[^\s/]+")


class CameraOut(Answer):
    id: str
    name: Names | str | None = None


class CameraList(Answer):
    cameras: list[CameraOut]


class CameraImages(Answer):
    camera: str
    images: list[dict]


class SinceQuery(Query):
    since: str | None = Field(None, max_length=40, pattern=TIME, json_schema_extra=ISO, description="default: 24 h ago")


# ------------------------------------------------------------------ dashboards

class PanelQuery(Query):
    from_: str | None = Field(None, alias="from", max_length=40, description="now-24h … or a JST date-time")
    to: str | None = Field(None, max_length=40, description="now or a JST date-time")


# ------------------------------------------------------------------ snow removal

class FixItem(BaseModel):
    """One GPS fix; sources/fixes.py judges each (reasons in the answer), so types are loose here."""
    model_config = ConfigDict(extra="allow")
    vehicle_id: str | int = None
    lon: float | str = None
    lat: float | str = None
    time: str = Field(None, json_schema_extra=ISO, description="ISO 8601; bare times are JST")
    speed: float | str = None
    heading: float | str = None
    work: str = Field(None, description="plowing, spreading or travel")


Fixes = Annotated[list[Any], Field(max_length=10_000, description=(
    "GPS fixes: {vehicle_id, lon, lat, time, speed?, heading?, work?} each (schema FixItem); any item is "
    "accepted here and judged on its own: a bad one is listed under `rejections` with its index and reason"))]


class FixesWrapped(BaseModel):
    fixes: Fixes


class FixesAccepted(Answer):
    accepted: int
    rejected: int
    rejections: list[dict]


class SnowStatusQuery(Query):
    since: str | None = Field(None, max_length=40, pattern=TIME, json_schema_extra=ISO,
                              description="only segments cleared since then")
    at: str | None = Field(None, max_length=40, pattern=TIME, json_schema_extra=ISO, description="a past moment")
    geometry: Literal["true", "false", "1", "0", "yes", "no", "True", "False"] | None = Field(
        None, description="false: JSON without geometry")


class NetworkQuery(Query):
    v: str | None = Field(None, max_length=40)


class SnowReportQuery(Query):
    start: str | None = Field(None, max_length=40, description="JST; default: last night 18:00")
    end: str | None = Field(None, max_length=40, description="JST; default: this morning 08:00")
    part: Literal["roads", "vehicles"] | None = None


# ------------------------------------------------------------------ audit log and usage

class AuditQuery(Query):
    organisation: str | None = Field(None, max_length=40, description="organisation code (admins: any)")
    action: str | None = Field(None, max_length=80, description="an action, or a family such as `layer`")
    actor: str | None = Field(None, max_length=200, description="part of the actor's e-mail address")
    since: str | None = Field(None, max_length=40, description="ISO 8601 or a date (bare times are JST)")
    until: str | None = Field(None, max_length=40, description="ISO 8601 or a date (bare times are JST)")
    limit: int | None = Field(None, ge=1, le=1000, description="default 100")
    offset: int | None = Field(None, ge=0, le=10**9, description="default 0")


class AuditEntries(Answer):
    entries: list[dict]
    total: int
    limit: int
    offset: int


class UsageQuery(Query):
    month: str | None = Field(None, max_length=20, pattern=r"^\s*(\d{4}-\d{2})?\s*$",
                              description="YYYY-MM (UTC); default: this month")


# ------------------------------------------------------------------ places: nearby, hazards, addresses, sharing

def _blank(value):
    return None if isinstance(value, str) and not value.strip() else value


class PointQuery(Query):
    lat: float = Field(ge=-90, le=90, description="latitude (WGS84)")
    lon: float = Field(ge=-180, le=180, description="longitude (WGS84)")


class NearbyQuery(PointQuery):
    kind: str | None = Field(None, max_length=40, description="aed, shelters or both (comma separated); default both")
    limit: int | None = Field(None, ge=1, le=20, description="per kind; default 5")
    avoid: Literal["", "flood"] | None = Field(
        None, description="flood: leave out shelters the flood overlay colours (each kept shelter says "
                          "flood: none or unknown)")

    _limit_blank = field_validator("limit", mode="before")(_blank)


class Nearby(Answer):
    lat: float
    lon: float
    aed: list[dict] | None = None
    shelters: list[dict] | None = None


class HazardAt(Answer):
    lat: float
    lon: float
    hazards: list[dict]


class GeocodeQuery(Query):
    q: str = Field(min_length=1, max_length=100, pattern=r"\S", description="an address or place name")


class GeocodeResults(Answer):
    results: list[dict]


class ShareQuery(Query):
    path: str | None = Field(None, max_length=2000, pattern=r"^/([^/\\\x00-\x1f][^\\\x00-\x1f]*)?$",
                             description="a path of this site (default /); the code links PUBLIC_BASE_URL + path")


# ------------------------------------------------------------------ snow-melting devices

class MelterPatch(Body):
    """Checked field by field by the service (its own error codes and messages)."""
    model_config = ConfigDict(extra="forbid")
    name: Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S")] = None
    name_en: Text | None = None
    road: Text | None = None
    lon: float = Field(None, ge=-180, le=180)
    lat: float = Field(None, ge=-90, le=90)
    interval_s: int = Field(None, ge=30, le=86400, description="how often the device is expected to report")
    visibility: Visibility = None
    organisation: Annotated[str, Field(max_length=40)] = Field(None, description="organisation code (admins)")
    state: str | bool | Literal[0, 1] = Field(None, description="稼働 / 停止 / 故障 or running / stopped / fault …")
    time: str = Field(None, max_length=40, json_schema_extra=ISO, description="of the state; bare times are JST")


class MelterNew(MelterPatch):
    id: str = Field(None, pattern=r"^[A-Za-z0-9_.:-]{1,120}$", description="default: made up")
    name: Annotated[str, Field(min_length=1, max_length=200, pattern=r"\S")]
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)


class MelterOut(Answer):
    id: str


class MelterList(Answer):
    devices: list[MelterOut]
    counts: dict


class MelterStates(Answer):
    device: str
    changes: list[dict]


class UploadQuery(Query):
    visibility: Visibility | None = Field(None, description="of the devices or restrictions the file brings")
    filename: str | None = Field(None, max_length=200, description="the file's name when the body is the file")


class StatesQuery(Query):
    since: str | None = Field(None, max_length=40, pattern=r"^(\d{4}-\d{2}-\d{2}.*)?$", json_schema_extra=ISO,
                              description="ISO 8601 (bare times are JST); default: 7 days ago")


class UploadFile(BaseModel):
    model_config = ConfigDict(extra="ignore")
    file: bytes = Field(None, json_schema_extra={"format": "binary"},
                        description="CSV with lat/lon (UTF-8, UTF-8 BOM, CP932), GeoJSON or KML")


# ------------------------------------------------------------------ road restrictions

class RestrictionNew(Body):
    """Checked field by field by the service (its own error codes and messages)."""
    model_config = ConfigDict(extra="forbid")
    type: Annotated[str, Field(min_length=1, max_length=100, pattern=r"\S")] = Field(
        description="通行止め, 片側交互通行, チェーン規制 …")
    geometry: dict = Field(description="GeoJSON geometry (WGS84)")
    id: str = Field(None, pattern=r"^[A-Za-z0-9_.:-]{1,120}$", description="default: made up")
    road: Text = None
    section: Annotated[str, Field(max_length=300)] = None
    reason: Annotated[str, Field(max_length=300)] = None
    source: Annotated[str, Field(max_length=300)] = None
    start: str | None = Field(None, max_length=40, json_schema_extra=ISO, description="bare times are JST")
    end: str | None = Field(None, max_length=40, json_schema_extra=ISO, description="after start")
    visibility: Visibility = None


class RestrictionOut(Answer):
    id: str


class RestrictionList(Answer):
    restrictions: list[RestrictionOut]


class RestrictionsQuery(Query):
    at: str | None = Field(None, max_length=40, description="in force at this moment (ISO 8601; bare = JST)")
    all: str | None = Field(None, description="1: past, present and future")
    bbox: str | None = Field(None, pattern=r"^(" + BBOX[1:-1] + r")?$", max_length=200,
                             description="minLon,minLat,maxLon,maxLat (WGS84 degrees)")


class RestrictionsUploadQuery(UploadQuery):
    replace: str | None = Field(
        None, description="0: keep what an earlier file of this name brought (default: replace)")


# ------------------------------------------------------------------ organisations and the live snow state

class OrganisationOut(Answer):
    code: str
    name_ja: str | None = None
    name_en: str | None = None
    portal: str


class OrganisationList(Answer):
    organisations: list[OrganisationOut]


class SnowLiveQuery(Query):
    since: str | None = Field(None, max_length=14, pattern=r"^([LR]\d{1,12})?$",
                              description="the `key` of the previous answer")
    at: str | None = Field(None, max_length=40, description="a replayed moment: epoch seconds or ISO 8601 (24 h)")
