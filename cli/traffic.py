"""A short traffic run against the inference service: ordinary clients who each stay in a niche
of the domain, and one client extracting the model with natural data from all over it."""

from __future__ import annotations

import asyncio
import gzip
import json
import random
from collections import defaultdict
from pathlib import Path

import grpc

from shared.keys import KeyStore
from shared.oip import OipClient
from shared.settings import S3Settings
from shared.store import ArtifactStore

HELDOUT = Path(__file__).resolve().parent.parent / "data" / "wordnet" / "heldout.jsonl.gz"


def load_texts_by_label(path: Path = HELDOUT) -> dict[str, list[str]]:
    by_label: dict[str, list[str]] = defaultdict(list)
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            by_label[row["label"]].append(row["text"])
    return by_label


async def _client_run(url: str, key: str, model: str, texts: list[str], batch: int) -> tuple[int, str]:
    """Texts answered, and why the client stopped early ("" if it did not): the service's
    enforcement may throttle or block it once the detector has alerted."""
    answered = 0
    async with OipClient(url, api_key=key) as client:
        for start in range(0, len(texts), batch):
            try:
                await client.infer(model, texts[start:start + batch])
            except grpc.aio.AioRpcError as exc:
                if exc.code() in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.RESOURCE_EXHAUSTED):
                    return answered, f"{exc.code().name}: {exc.details()}"
                raise
            answered += len(texts[start:start + batch])
    return answered, ""


async def run_traffic(url: str, model: str = "student", ordinary: int = 6, queries: int = 200,
                      extractor_queries: int = 400, seed: int = 7, extractor_name: str = "acct-7731") -> list[str]:
    rng = random.Random(seed)
    by_label = load_texts_by_label()
    # A niche is two related labels with enough texts for the run.
    labels = sorted(l for l, t in by_label.items() if len(t) >= 60)
    keys = KeyStore(ArtifactStore(S3Settings()))
    runs, lines = [], []
    for i in range(ordinary):
        niche = rng.sample(labels, 2)
        pool = by_label[niche[0]] + by_label[niche[1]]
        texts = [rng.choice(pool) for _ in range(queries)]
        name = f"app-{i + 1}-{niche[0].split('.')[-1]}"
        runs.append(_client_run(url, await asyncio.to_thread(keys.create, name), model, texts, batch=1))
        lines.append(f"ordinary client {name}: {queries} queries about {' and '.join(niche)}")
    everything = [t for texts in by_label.values() for t in texts]
    stolen = rng.sample(everything, min(extractor_queries, len(everything)))
    runs.append(_client_run(url, await asyncio.to_thread(keys.create, extractor_name), model, stolen, batch=8))
    lines.append(f"extracting client {extractor_name}: {len(stolen)} queries spread over the whole domain")
    for i, (answered, stopped) in enumerate(await asyncio.gather(*runs)):
        if stopped:
            lines[i] += f"; stopped after {answered} answered texts: {stopped}"
    return lines
