"""Curation: from a job's teacher responses to a versioned dataset.

Drops (and counts, by reason) teacher errors, empty and oversized texts and exact duplicates, then
splits train/val/test by a hash of the normalised text: the same text always lands in the same
split, whichever job or run it comes from.
"""

from __future__ import annotations

import hashlib
import io
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from shared.events import NOT_ASKED, CurationSpec, DatasetReady, TeacherResponse, utcnow
from shared.fingerprint import normalise
from shared.store import ArtifactStore

SPLITS = ("train", "val", "test")
SCHEMA = pa.schema([
    ("prompt_id", pa.string()),
    ("text", pa.string()),
    ("teacher_label", pa.string()),
    ("probabilities", pa.list_(pa.float32())),
    ("embedding", pa.list_(pa.float32())),  # set by embedding teachers, which give no probabilities
])


def split_of(text: str, val_fraction: float, test_fraction: float) -> str:
    digest = hashlib.sha256(normalise(text).encode("utf-8")).digest()
    position = int.from_bytes(digest[:8], "big") / 2**64
    if position < test_fraction:
        return "test"
    if position < test_fraction + val_fraction:
        return "val"
    return "train"


@dataclass
class Curated:
    splits: dict[str, list[TeacherResponse]] = field(default_factory=lambda: {s: [] for s in SPLITS})
    dropped: Counter = field(default_factory=Counter)


def curate(responses: list[TeacherResponse], spec: CurationSpec) -> Curated:
    result = Curated()
    seen: set[str] = set()
    for response in sorted(responses, key=lambda r: r.seq):
        text = response.text.strip()
        if response.error is not None and response.error.startswith(NOT_ASKED):
            result.dropped["not_asked_budget"] += 1
        elif response.error is not None or (response.probabilities is None and response.embedding is None):
            result.dropped["teacher_error"] += 1
        elif not text or len(text) < spec.min_chars:
            result.dropped["empty"] += 1
        elif len(text) > spec.max_chars:
            result.dropped["oversized"] += 1
        elif normalise(text) in seen:
            result.dropped["duplicate"] += 1
        else:
            seen.add(normalise(text))
            result.splits[split_of(text, spec.val_fraction, spec.test_fraction)].append(response)
    return result


def to_parquet(rows: list[TeacherResponse]) -> bytes:
    classes = rows[0].classes if rows else []
    table = pa.table({
        "prompt_id": [r.prompt_id for r in rows],
        "text": [r.text.strip() for r in rows],
        "teacher_label": [classes[int(np.argmax(r.probabilities))] if r.probabilities else None for r in rows],
        "probabilities": [r.probabilities for r in rows],
        "embedding": [r.embedding for r in rows],
    }, schema=SCHEMA)
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def write_dataset(store: ArtifactStore, job_id: str, responses: list[TeacherResponse], spec: CurationSpec,
                  lineage: dict) -> DatasetReady:
    """Write the splits and the manifest; the manifest goes last, and a dataset that has one is never
    written again (datasets are immutable)."""
    dataset_id = f"{job_id}-v1"
    prefix = f"datasets/{dataset_id}"
    manifest_key = f"{prefix}/manifest.json"
    if not store.exists(manifest_key):
        curated = curate(responses, spec)
        classes = next((r.classes for r in responses if r.classes), [])
        counts = {name: len(rows) for name, rows in curated.splits.items()}
        for name, rows in curated.splits.items():
            store.put_bytes(f"{prefix}/{name}.parquet", to_parquet(rows), "application/vnd.apache.parquet")
        label_counts = Counter(classes[int(np.argmax(r.probabilities))]
                               for rows in curated.splits.values() for r in rows if r.probabilities)
        store.put_json(manifest_key, {
            "dataset_id": dataset_id, "job_id": job_id, "created_at": utcnow().isoformat(),
            "schema": {f.name: str(f.type) for f in SCHEMA}, "files": {s: f"{s}.parquet" for s in SPLITS},
            "counts": counts, "received": len(responses), "dropped": dict(curated.dropped),
            "classes": classes, "teacher_label_counts": dict(label_counts.most_common()),
            "curation": spec.model_dump(), "lineage": lineage,
        })
    manifest = store.get_json(manifest_key)
    return DatasetReady(job_id=job_id, dataset_id=dataset_id, uri=store.uri(prefix), manifest_uri=store.uri(manifest_key),
                        counts=manifest["counts"], dropped=manifest["dropped"], classes=manifest["classes"])


def read_split(store: ArtifactStore, dataset_uri: str, split: str) -> pa.Table:
    return pq.read_table(io.BytesIO(store.get_bytes(f"{dataset_uri}/{split}.parquet")))


def load_job_spec(store: ArtifactStore, job_id: str) -> dict:
    key = f"jobs/{job_id}/job.json"
    return store.get_json(key) if store.exists(key) else {}

