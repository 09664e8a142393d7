"""Both detection harnesses at a small scale, through the real inference and detector services on
the embedded stack: the tuning harness (cli/simulator.py) and the validation harness
(cli/holdout.py, other corpora and other kinds of client). The detector's benign reference starts
from an operator's sample of ordinary traffic, as `distillery detector reference` seeds it."""

from __future__ import annotations

import asyncio
import hashlib
import math
import re
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest

from benchmarks.detection import MODEL, ROOT, register_model, run_harness
from cli.holdout import holdout_population
from cli.simulator import plot_roc, population, seed_reference
from services.detector.records import read_risk
from shared.events import InferenceRequest

pytestmark = [pytest.mark.stack, pytest.mark.model]


@pytest.fixture(scope="module")
def detection_stack(stack, store, tmp_path_factory):
    from services.trainer.teacher_model import ensure_gold_student

    register_model(store)
    seed_reference(store, MODEL, ensure_gold_student(ROOT / ".cache"))
    with stack.services_up(("inference", "detector"), {
            "INFERENCE_CLIENT_ADDRESS_HEADER": "x-forwarded-for",
            "INFERENCE_MODEL_CACHE": str(tmp_path_factory.mktemp("models")),
            "DETECTOR_ALLOW_CLIENTS": "distillery-teacher",
            # Checkpoints only as it stops (SIGTERM), so what a SIGKILL loses is known.
            "DETECTOR_CHECKPOINT_S": "3600"}):
        yield stack


async def test_attacks_are_caught_and_no_ordinary_client_is_flagged_on_either_harness(detection_stack, store,
                                                                                      tmp_path):
    tuning = population(40, 1, seed=5, scale=0.6)
    validation = holdout_population(42, 1, seed=5, scale=0.6)
    tuned, tuned_alerts, _ = await run_harness(detection_stack, store, tuning)
    held, held_alerts, _ = await run_harness(detection_stack, store, validation)
    report = "\n".join(tuned.lines() + held.lines())
    for evaluation in (tuned, held):
        assert evaluation.ordinary_flagged == [] and evaluation.ordinary_blocked == [], report
    # What either harness catches at this scale. Template attackers need the reference to hold
    # enough templated clients, and the validation harness's coverage mixers, question harvesters
    # and 25-key ring are not caught at this scale: docs/BENCHMARKS.md has them at full scale.
    for family in ("synthetic", "perturbation", "knockoff", "harvest", "mixer", "ring"):
        assert tuned.families[family]["rate"] == 1.0, report
    for family in ("gibberish", "typo-probe", "docs-knockoff", "salad-mixer"):
        assert held.families[family]["rate"] == 1.0, report
    # One alert names a whole ring; every alert explains itself with the numbers behind it.
    ring_alerts = [a for a in tuned_alerts if a.ring]
    assert ring_alerts and max(len(a.client_ids) for a in ring_alerts) >= 3
    assert all(a.explanation and a.findings for a in tuned_alerts + held_alerts)
    # Every client that made a test's worth of queries (and a profile since) has a published risk,
    # alerted or not, so a ROC can be drawn; the ordinary ones are all below the alert line.
    for plans, evaluation in ((tuning, tuned), (validation, held)):
        scored = [p for p in plans if len(set(p.texts)) >= 100 and not p.stopped]
        assert scored
        assert all(math.isfinite(evaluation.scores[p.name]) and evaluation.scores[p.name] > -99 for p in scored)
        assert all(evaluation.scores[p.name] <= 0 for p in plans if not p.attacker), report
    plot = plot_roc([("tuning", tuned, tuning), ("validation", held, validation)], tmp_path / "roc.png")
    assert plot.stat().st_size > 10_000
    # The detector saw every answered text: the inference service dropped no event on the way.
    url = f"http://127.0.0.1:{detection_stack.config.inference_metrics_port}/metrics"
    metrics = await asyncio.to_thread(lambda: urllib.request.urlopen(url).read().decode())
    counts = dict(re.findall(r"^distillery_inference_request_events_(published|dropped)_total (\S+)$",
                             metrics, re.M))
    assert float(counts["dropped"]) == 0 and float(counts["published"]) >= sum(p.sent for p in tuning + validation)


def _event(client: str, i: int, network: str) -> InferenceRequest:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return InferenceRequest(request_id=f"r{i}", client_id=client, model="m", model_version="1",
                            time=start + timedelta(seconds=i), text_sha256=hashlib.sha256(str(i).encode()).hexdigest(),
                            text_simhash="0" * 16, text_chars=20, top_class=f"c{i % 45}", top_probability=0.9,
                            entropy=0.3, n_classes=45, client_network=network)


async def test_a_restarted_detector_remembers_who_it_was_watching(detection_stack, store):
    """40 queries before a restart and 40 after: only a detector that kept the first 40 fills its
    first window (64) and alerts, with the client's full count."""
    from benchmarks.detection import wait_for_consumers
    from shared.events import AbuseAlert, utcnow
    from shared.kafka import make_broker
    from tests.streams import collect

    async def send(first: int) -> None:
        broker = make_broker(detection_stack.config.kafka(), "test-writer", logger=None)
        async with broker:
            for i in range(first, first + 40):
                # Event times are now: the detector's sweep drops clients quiet for a window.
                event = _event("restart-thief", i, "198.51.100.0/24").model_copy(update={"time": utcnow()})
                await broker.publish(event, "inference.requests", key=b"restart-thief")

    await send(0)
    await wait_for_consumers(detection_stack.config.kafka())
    detection_stack.stop("detector")  # SIGTERM: the detector writes its checkpoint as it stops
    assert any(key.startswith("detector/state/inference.requests-") for key in store.list("detector/state/"))
    assert any(r["client_id"] == "restart-thief" for r in read_risk(store))  # every client's risk, for operators
    detection_stack.start_services(names=("detector",))
    detection_stack.wait_services(names=("detector",), timeout_s=300)
    await send(40)
    alerts = await collect(detection_stack, "abuse.alerts", AbuseAlert,
                           lambda items: any("restart-thief" in a.client_ids for a in items))
    first = next(a for a in alerts if "restart-thief" in a.client_ids)
    assert first.status == "open" and first.queries["restart-thief"] == 64


async def test_a_detector_killed_between_checkpoints_reads_again_what_it_had_not_saved(detection_stack, store):
    """SIGKILL: no checkpoint as it dies, and its consumer had committed the 40 queries since the
    last one. The restarted detector reads its partitions again from their checkpoints, so 40
    queries before the kill and 24 after fill the first window (64) and alert."""
    from benchmarks.detection import wait_for_consumers
    from shared.events import AbuseAlert, utcnow
    from shared.kafka import make_broker
    from tests.streams import collect

    async def send(first: int, last: int) -> None:
        broker = make_broker(detection_stack.config.kafka(), "test-writer", logger=None)
        async with broker:
            for i in range(first, last):
                event = _event("killed-thief", i, "203.0.113.0/24").model_copy(update={"time": utcnow()})
                await broker.publish(event, "inference.requests", key=b"killed-thief")

    await send(0, 40)
    await wait_for_consumers(detection_stack.config.kafka())  # consumed, and its offsets committed
    assert detection_stack.kill("detector")
    detection_stack.start_services(names=("detector",))
    detection_stack.wait_services(names=("detector",), timeout_s=300)
    await send(40, 64)
    alerts = await collect(detection_stack, "abuse.alerts", AbuseAlert,
                           lambda items: any("killed-thief" in a.client_ids for a in items))
    first = next(a for a in alerts if "killed-thief" in a.client_ids)
    assert first.queries["killed-thief"] == 64


async def test_a_chat_model_thief_is_alerted_from_inference_generations_and_its_users_are_not(detection_stack, store):
    """The same detector service reads chat traffic: the definition thief of the chat harness and
    ordinary chat users, as the inference service publishes their requests on
    `inference.generations`, against a reference seeded from an operator's sample of chat users."""
    from cli.chat_simulator import chat_population, generation_events
    from services.detector.records import add_sample
    from shared.events import AbuseAlert, InferenceGeneration, utcnow
    from shared.kafka import make_broker
    from tests.streams import collect

    model = "chat-harness"
    add_sample(store, (InferenceGeneration.model_validate_json(b)
                       for b in generation_events(chat_population(120, 0, seed=11), model, seed=11)))
    plans = [p for p in chat_population(24, 1, seed=5, scale=0.3) if p.family in ("definer", "curious", "trial")]
    thief = next(p.name for p in plans if p.family == "definer")
    broker = make_broker(detection_stack.config.kafka(), "test-writer", logger=None)
    async with broker:
        for body in generation_events(plans, model):
            event = InferenceGeneration.model_validate_json(body).model_copy(update={"time": utcnow()})
            await broker.publish(event, "inference.generations", key=event.client_id.encode())
    alerts = await collect(detection_stack, "abuse.alerts", AbuseAlert,
                           lambda items: any(thief in a.client_ids for a in items))
    named = {c for a in alerts if a.model == model for c in a.client_ids}
    assert thief in named and named <= {p.name for p in plans if p.attacker}
    first = next(a for a in alerts if thief in a.client_ids)
    assert "coverage" in first.explanation and first.queries[thief] >= 64
