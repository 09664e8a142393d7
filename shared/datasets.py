"""Reading what the curator wrote: a job's spec and a dataset's splits (Parquet shards listed in the
dataset's manifest)."""

from __future__ import annotations

import io

import pyarrow as pa
import pyarrow.parquet as pq

from shared.store import ArtifactStore


def load_job_spec(store: ArtifactStore, job_id: str) -> dict:
    key = f"jobs/{job_id}/job.json"
    return store.get_json(key) if store.exists(key) else {}


def read_manifest(store: ArtifactStore, dataset_uri: str) -> dict:
    return store.get_json(f"{dataset_uri}/manifest.json")


def read_split(store: ArtifactStore, dataset_uri: str, split: str, manifest: dict | None = None) -> pa.Table:
    manifest = manifest or read_manifest(store, dataset_uri)
    tables = [pq.read_table(io.BytesIO(store.get_bytes(f"{dataset_uri}/{shard['name']}")))
              for shard in manifest["files"][split]]
    return pa.concat_tables(tables)
