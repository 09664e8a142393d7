"""A short traffic run against the inference service: ordinary clients who each stay in a niche
of the domain, and one client extracting the model with natural data from all over it. A small
case of the detection harness's simulator (cli/simulator.py)."""

from __future__ import annotations

import asyncio
import random

from cli.simulator import ClientPlan, Corpora, drive
from shared.keys import KeyStore
from shared.settings import S3Settings
from shared.store import ArtifactStore


async def run_traffic(url: str, model: str = "student", ordinary: int = 6, queries: int = 200,
                      extractor_queries: int = 400, seed: int = 7, extractor_name: str = "acct-7731") -> list[str]:
    rng = random.Random(seed)
    corpora = Corpora.load()
    # A niche is two related labels with enough texts for the run.
    labels = sorted(label for label, t in corpora.by_label.items() if len(t) >= 60)
    plans, lines = [], []
    for i in range(ordinary):
        niche = rng.sample(labels, 2)
        pool = corpora.by_label[niche[0]] + corpora.by_label[niche[1]]
        plans.append(ClientPlan(f"app-{i + 1}-{niche[0].split('.')[-1]}", "niche", False,
                                [rng.choice(pool) for _ in range(queries)]))
        lines.append(f"ordinary client {plans[-1].name}: {queries} queries about {' and '.join(niche)}")
    everything = corpora.everything
    stolen = rng.sample(everything, min(extractor_queries, len(everything)))
    plans.append(ClientPlan(extractor_name, "harvest", True, stolen, batch=8))
    lines.append(f"extracting client {extractor_name}: {len(stolen)} queries spread over the whole domain")
    keys = KeyStore(ArtifactStore(S3Settings()))
    await drive(url, model, plans, {p.name: await asyncio.to_thread(keys.create, p.name) for p in plans})
    return [line + (f"; stopped after {plan.sent} answered texts: {plan.stopped}" if plan.stopped else "")
            for plan, line in zip(plans, lines)]
