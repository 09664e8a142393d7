"""Detection harness: the traffic simulator (cli/simulator.py) drives the real inference service
over gRPC on the embedded stack; the real detector service reads `inference.requests` from the
broker and publishes `abuse.alerts`, which are scored against who really attacked.

    .venv/bin/python -m benchmarks.detection                 # full scale: 400 ordinary clients
    .venv/bin/python -m benchmarks.detection --ordinary 60 --attackers 1   # what `make test` runs

It also measures the detector's own speed: events per second through decoding and both stages,
on one core, in process (`--throughput-only` for that alone). The served model is a fast static
student trained on the teacher's gold labels (services.trainer.teacher_model.ensure_gold_student).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODEL = "harness"


def register_model(store) -> None:
    from services.trainer.teacher_model import ensure_gold_student
    from shared.registry import ModelRegistry

    registry = ModelRegistry(store)
    if not registry.promoted(MODEL):
        version, _ = registry.register(MODEL, ensure_gold_student(ROOT / ".cache"))
        registry.promote(MODEL, version)


async def wait_for_consumers(kafka, timeout_s: float = 600.0) -> None:
    """Until the detector's two consumer groups have committed everything written so far."""
    from aiokafka import AIOKafkaConsumer, TopicPartition

    deadline = time.monotonic() + timeout_s
    for group, topic in (("detector", "inference.requests"), ("detector-rings", "detector.profiles")):
        consumer = AIOKafkaConsumer(bootstrap_servers=kafka.bootstrap_servers, group_id=group, enable_auto_commit=False)
        await consumer.start()
        try:
            await consumer.topics()  # loads the cluster's metadata: partitions_for_topic is empty before
            partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
            assert partitions, f"topic {topic} has no partitions"
            while time.monotonic() < deadline:
                ends = await consumer.end_offsets(partitions)
                committed = [await consumer.committed(tp) or 0 for tp in partitions]
                if all(c >= ends[tp] for c, tp in zip(committed, partitions)):
                    break
                await asyncio.sleep(1.0)
        finally:
            await consumer.stop()


async def run_harness(stack, store, ordinary: int, attackers: int, seed: int = 7, scale: float = 1.0,
                      concurrency: int = 48, plot: Path | None = None):
    """Returns (evaluation, plans, alerts, seconds of traffic). The stack's inference and detector
    services must be running, the inference service trusting x-forwarded-for."""
    from cli.jobs import read_alerts
    from cli.simulator import drive, evaluate, plot_roc, population
    from shared.keys import KeyStore

    plans = population(ordinary, attackers, seed=seed, scale=scale)
    run = f"h{random.Random().randrange(16**6):06x}-"  # key names unique to this run
    key_store = KeyStore(store)
    keys = {p.name: await asyncio.to_thread(key_store.create, run + p.name) for p in plans}
    seconds = await drive(f"127.0.0.1:{stack.config.inference_port}", MODEL, plans, keys, concurrency)
    await wait_for_consumers(stack.config.kafka())
    alerts = [a for a in await read_alerts(idle_timeout_s=3.0, printer=None, kafka=stack.config.kafka())
              if any(c.startswith(run) for c in a.client_ids)]
    for alert in alerts:  # names as the simulator knows them
        alert.client_ids = [c[len(run):] for c in alert.client_ids]
        alert.queries = {c[len(run):]: n for c, n in alert.queries.items()}
    evaluation = evaluate(plans, alerts)
    if plot is not None:
        plot_roc(evaluation, plans, plot)
    return evaluation, plans, alerts, seconds


def detector_throughput(events: int = 60_000, seed: int = 3) -> dict:
    """Events per second through JSON decoding and both detector stages, one core, in process.
    The events are the simulator's population with fingerprints computed as the inference service
    computes them, and answers from the served model."""
    import numpy as np

    from cli.simulator import population
    from services.detector.detection import ClientDetector, DetectorSettings, RingLinker
    from services.trainer.teacher_model import ensure_gold_student
    from shared.domain import DomainReference
    from shared.events import InferenceRequest, utcnow
    from shared.fingerprint import fingerprints, network_of
    from shared.textmodel import TextClassifier

    model_dir = ensure_gold_student(ROOT / ".cache")
    classifier = TextClassifier(model_dir, device="cpu")
    plans = population(300, 3, seed=seed)
    texts = sorted({t for p in plans for t in p.texts})
    probabilities = classifier.predict_batched(texts)
    answer = {t: (classifier.classes[int(np.argmax(p))], float(p.max())) for t, p in zip(texts, probabilities)}
    rng = random.Random(seed)
    now, payloads = utcnow(), []
    queue = [(p, t) for p in plans for t in p.texts]
    rng.shuffle(queue)
    for i, (plan, text) in enumerate(queue[:events]):
        top, probability = answer[text]
        payloads.append(InferenceRequest(
            request_id=f"r{i}", client_id=plan.name, model=MODEL, model_version="1",
            time=now + timedelta(milliseconds=i), top_class=top, top_probability=probability, entropy=0.5,
            n_classes=len(classifier.classes), outputs=["LABEL"], client_network=network_of(plan.network),
            user_agent=plan.user_agent, **fingerprints(text)).model_dump_json().encode())
    reference = DomainReference.from_bytes((model_dir / "domain.npz").read_bytes())
    config = DetectorSettings()
    detector, rings = ClientDetector(config, reference=lambda m: reference), RingLinker(config)
    started, cpu = time.perf_counter(), time.process_time()
    for body in payloads:
        _, profile = detector.observe(InferenceRequest.model_validate_json(body))
        if profile is not None:
            rings.observe(profile)
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu
    return {"events": len(payloads), "seconds": round(wall, 2), "events_per_s": round(len(payloads) / wall),
            "events_per_cpu_s": round(len(payloads) / cpu)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ordinary", type=int, default=400)
    parser.add_argument("--attackers", type=int, default=5, help="per attack family (a ring counts once)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--plot", default=str(ROOT / "docs" / "detection-roc.png"))
    parser.add_argument("--throughput-only", action="store_true")
    args = parser.parse_args()
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, "1")  # as the detector service runs (before numpy loads)

    throughput = detector_throughput()
    print(f"detector: {throughput['events']} events in {throughput['seconds']} s on one core: "
          f"{throughput['events_per_s']} events/s ({throughput['events_per_cpu_s']} per CPU second); goal 10,000",
          flush=True)
    if args.throughput_only:
        return
    from cli.stack import EmbeddedStack, StackConfig
    from shared.store import ArtifactStore

    with tempfile.TemporaryDirectory() as tmp:
        stack = EmbeddedStack(StackConfig.on_free_ports(Path(tmp)))
        stack.start_infra()
        try:
            store = ArtifactStore(stack.config.s3())
            register_model(store)
            with stack.services_up(("inference", "detector"), {"INFERENCE_CLIENT_ADDRESS_HEADER": "x-forwarded-for",
                                                               "INFERENCE_MODEL_CACHE": str(Path(tmp) / "models")}):
                evaluation, plans, alerts, seconds = asyncio.run(run_harness(
                    stack, store, args.ordinary, args.attackers, seed=args.seed, plot=Path(args.plot)))
        finally:
            stack.down()
    queries = sum(p.sent for p in plans)
    print(f"traffic: {len(plans)} clients, {queries} queries answered in {seconds:.0f} s; {len(alerts)} alert events")
    print("\n".join(evaluation.lines()))
    print(f"ROC: {args.plot}")
    print(json.dumps({"families": evaluation.families, "false_positive_rate": evaluation.false_positive_rate,
                      "detection_rate": evaluation.detection_rate, "throughput": throughput}))
    sys.exit(0)


if __name__ == "__main__":
    main()
