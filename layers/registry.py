"""kind name -> kind object: every layer kind registers here."""
from __future__ import annotations

from layers.aed import AedKind
from layers.base import LayerKind
from layers.hazard import HazardTilesKind
from layers.ngsi import NgsiPointsKind, SensorPointsKind
from layers.outline import OutlineKind
from layers.shelters import ShelterKind
from layers.snow_depth import SnowDepthKind
from layers.snowplow import SnowplowKind
from layers.uploaded import UploadedKind
from store.models import Layer

KINDS: dict[str, LayerKind] = {k.kind: k for k in [
    AedKind(),
    OutlineKind(),
    ShelterKind(),
    SnowDepthKind(),
    HazardTilesKind(),
    SnowplowKind(),
    UploadedKind(),
    SensorPointsKind(),
    NgsiPointsKind(),
    __import__("layers.cameras", fromlist=["CamerasKind"]).CamerasKind(),
    __import__("layers.melters", fromlist=["MeltersKind"]).MeltersKind(),
    __import__("layers.restrictions", fromlist=["RestrictionsKind"]).RestrictionsKind(),
]}


def kind_of(layer: Layer) -> LayerKind:
    try:
        return KINDS[layer.kind]
    except KeyError:
        raise LookupError(f"layer {layer.id}: unknown kind {layer.kind!r}") from None
