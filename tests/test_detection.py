"""The detection harness at a small scale: the simulator's ordinary clients and every attack
family against the real inference and detector services on the embedded stack."""

from __future__ import annotations

import asyncio
import re
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest

from benchmarks.detection import register_model, run_harness
from cli.simulator import ATTACK_FAMILIES
from services.detector.detection import ClientDetector, ClientState, DetectorSettings, RingLinker
from shared.events import ClientProfile, InferenceRequest


@pytest.fixture(scope="module")
def detection_stack(stack, store, tmp_path_factory):
    register_model(store)
    with stack.services_up(("inference", "detector"), {
            "INFERENCE_CLIENT_ADDRESS_HEADER": "x-forwarded-for",
            "INFERENCE_MODEL_CACHE": str(tmp_path_factory.mktemp("models")),
            "DETECTOR_ALLOW_CLIENTS": "distillery-teacher"}):
        yield stack


async def test_every_attack_family_is_caught_and_no_ordinary_client_is_flagged(detection_stack, store, tmp_path):
    plot = tmp_path / "roc.png"
    evaluation, plans, alerts, _ = await run_harness(detection_stack, store, ordinary=40, attackers=1, seed=5,
                                                     scale=0.6, plot=plot)
    report = "\n".join(evaluation.lines())
    assert set(evaluation.families) == set(ATTACK_FAMILIES), report
    for result in evaluation.families.values():
        assert result["rate"] == 1.0, report
    assert evaluation.ordinary_flagged == [], report
    # One alert names a whole ring; every alert explains itself with the numbers behind it.
    ring_alerts = [a for a in alerts if a.ring]
    assert ring_alerts and max(len(a.client_ids) for a in ring_alerts) >= 3
    assert all(a.explanation and a.findings for a in alerts)
    assert plot.stat().st_size > 10_000
    # The detector saw every answered text: the inference service dropped no event on the way.
    url = f"http://127.0.0.1:{detection_stack.config.inference_metrics_port}/metrics"
    metrics = await asyncio.to_thread(lambda: urllib.request.urlopen(url).read().decode())
    counts = dict(re.findall(r"^distillery_inference_request_events_(published|dropped)_total (\S+)$",
                             metrics, re.M))
    assert float(counts["dropped"]) == 0 and float(counts["published"]) >= sum(p.sent for p in plans)


def _event(client: str, i: int, network: str, minhash: list[int]) -> InferenceRequest:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return InferenceRequest(request_id=f"r{i}", client_id=client, model="m", model_version="1",
                            time=start + timedelta(seconds=i), text_sha256=f"{i:064x}", text_simhash="0" * 16,
                            text_chars=20, top_class=f"c{i % 45}", top_probability=0.9, entropy=0.3, n_classes=45,
                            text_minhash=minhash, client_network=network)


def test_a_ring_of_keys_each_under_the_thresholds_is_named_in_one_alert():
    config = DetectorSettings()
    detector, rings = ClientDetector(config), RingLinker(config)
    alerts = []
    for member in range(6):  # 6 keys x 60 queries: each under min_queries, together 360 over the domain
        for i in range(60):
            alert, profile = detector.observe(_event(f"key{member}", member * 1000 + i, "203.0.113.0/24",
                                                     [member * 1000 + i + k for k in range(8)]))
            assert alert is None
            if profile is not None and (ring_alert := rings.observe(profile)) is not None:
                alerts.append(ring_alert)
    assert alerts and alerts[0].status == "open" and alerts[0].ring
    assert alerts[-1].client_ids == [f"key{m}" for m in range(6)]  # grew to the whole ring
    assert {a.alert_id for a in alerts} == {alerts[0].alert_id}
    assert "ring_coverage" in alerts[-1].explanation


def test_detector_state_survives_a_checkpoint():
    config = DetectorSettings(min_queries=40)
    detector = ClientDetector(config)
    for i in range(30):
        detector.observe(_event("thief", i, "198.51.100.0/24", [i + k for k in range(8)]))
    saved = {key: state.to_json() for key, state in detector.clients.items()}
    restored = ClientDetector(config)
    restored.clients = {key: ClientState.from_json(state) for key, state in saved.items()}
    # The restored detector goes on exactly as the original: the same alert at the same query.
    for i in range(30, 60):
        a, _ = detector.observe(_event("thief", i, "198.51.100.0/24", [i + k for k in range(8)]))
        b, _ = restored.observe(_event("thief", i, "198.51.100.0/24", [i + k for k in range(8)]))
        assert (a is None) == (b is None)
        assert a is None or a.model_dump(exclude={"time"}) == b.model_dump(exclude={"time"})
    linker = RingLinker(config)
    profile = ClientProfile(client_id="x", model="m", window_start=datetime(2026, 1, 1, tzinfo=UTC),
                            time=datetime(2026, 1, 1, tzinfo=UTC), queries=5, n_classes=45,
                            class_counts={"c1": 5}, near_duplicate_rate=0.0, full_distribution_rate=0.0,
                            networks=["10.0.0.0/24"])
    linker.observe(profile)
    other = RingLinker(config)
    other.load_json(linker.to_json())
    assert other.profiles == linker.profiles and other.index == linker.index


async def test_a_restarted_detector_remembers_who_it_was_watching(detection_stack, store):
    """60 queries before a restart and 60 after: only a detector that kept the first 60 reaches
    min_queries (100) and alerts, with the client's full count."""
    from benchmarks.detection import wait_for_consumers
    from shared.events import AbuseAlert, utcnow
    from shared.kafka import make_broker
    from tests.streams import collect

    async def send(first: int) -> None:
        broker = make_broker(detection_stack.config.kafka(), "test-writer", logger=None)
        async with broker:
            for i in range(first, first + 60):
                # Event times are now: the detector's sweep drops clients quiet for a window.
                event = _event("restart-thief", i, "198.51.100.0/24", []).model_copy(update={"time": utcnow()})
                await broker.publish(event, "inference.requests", key=b"restart-thief")

    await send(0)
    await wait_for_consumers(detection_stack.config.kafka())
    detection_stack.stop("detector")  # SIGTERM: the detector writes its checkpoint as it stops
    assert any(key.startswith("detector/state/inference.requests-") for key in store.list("detector/state/"))
    detection_stack.start_services(names=("detector",))
    detection_stack.wait_services(names=("detector",), timeout_s=300)
    await send(60)
    alerts = await collect(detection_stack, "abuse.alerts", AbuseAlert,
                           lambda items: any("restart-thief" in a.client_ids for a in items))
    (alert,) = [a for a in alerts if "restart-thief" in a.client_ids]
    assert alert.queries["restart-thief"] == 100
