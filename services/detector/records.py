"""What the detector keeps in the artifact store: its checkpoints (`detector/state/`, per partition,
with the offset each covers), each model's benign reference (`detector/reference/<model>.json`),
which every replica adds to and an operator can seed from a sample of ordinary traffic, and every
client's risk (`detector/risk/`), which `distillery detector risk` lists."""

from __future__ import annotations

import json
from collections.abc import Iterable

from services.detector.detection import BenignReference, DetectorSettings, reference_from_events
from shared.events import InferenceRequest
from shared.store import ArtifactStore

REFERENCE_KEY = "detector/reference/{model}.json"
RISK_PREFIX = "detector/risk/"
STATE_PREFIX = "detector/state/"


def forget_offsets(store: ArtifactStore) -> int:
    """Deletes the checkpoints and the risk tables made from them, for a broker whose logs started
    empty (the local stack's memory broker, started afresh): their offsets point into logs that are
    gone, and a detector restoring them would skip the new log's records up to those offsets. The
    benign references are kept: they hold no offsets. Returns the objects deleted."""
    keys = [*store.list(STATE_PREFIX), *store.list(RISK_PREFIX)]
    for key in keys:
        store.delete(key)
    return len(keys)


def load_reference(store: ArtifactStore, model: str, reference: BenignReference) -> int:
    """Adds the stored reference of `model` to `reference`; returns the windows added."""
    saved = store.get_optional(REFERENCE_KEY.format(model=model))
    if not saved:
        return 0
    data = json.loads(saved)
    reference.load_json(data)
    return sum(len(v) for v in data.get("values", {}).values())


def save_reference(store: ArtifactStore, model: str, reference: bytes) -> None:
    """Stores a reference, `BenignReference.to_json` encoded (where nothing changes it meanwhile)."""
    store.put_bytes(REFERENCE_KEY.format(model=model), reference, "application/json")


def add_sample(store: ArtifactStore, events: Iterable[InferenceRequest]) -> dict[str, tuple[int, int]]:
    """An operator's sample of ordinary traffic, replayed through the detector's first stage, added
    to each model's stored reference. Returns, per model, (windows added, windows stored before)."""
    added = {}
    for model, sample in reference_from_events(events, DetectorSettings()).items():
        windows = sum(len(v) for v in sample.values.values())
        stored = load_reference(store, model, sample)  # the sample goes first; the rolling window keeps the newest
        save_reference(store, model, json.dumps(sample.to_json()).encode())
        added[model] = (windows, stored)
    return added


def save_risk(store: ArtifactStore, partition_name: str, table: bytes) -> None:
    """Stores a partition's risk table, `ClientDetector.risk_table` encoded."""
    store.put_bytes(f"{RISK_PREFIX}{partition_name}.json", table, "application/json")


def read_risk(store: ArtifactStore) -> list[dict]:
    """Every client's latest risk, from every partition's table, highest first."""
    rows = []
    for key in store.list(RISK_PREFIX):
        body = store.get_optional(key)
        if body:
            rows += json.loads(body)
    return sorted(rows, key=lambda r: -r["risk"])
