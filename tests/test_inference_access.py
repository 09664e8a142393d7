"""Who may call the inference service, as the real service process sees it on the embedded stack:
quotas per key, revocation at once through inference.control, the abuse-alert policy (throttle,
block with PERMISSION_DENIED) and an operator's reversal, and the Prometheus metrics."""

from __future__ import annotations

import asyncio
import urllib.request
from datetime import timedelta

import grpc
import pytest

from cli.access import lift_enforcement, revoke_key
from cli.stack import free_port
from shared.events import AbuseAlert, DetectorFinding, new_id, utcnow
from shared.kafka import make_broker
from shared.keys import EnforcementStore, KeyStore
from shared.oip import OipClient
from tests.streams import start_service

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def inference_process(stack, registered_teacher, tmp_path_factory):
    """The inference service as its own process, on its own ports. Keys are trusted for 10 minutes
    once seen, so only the inference.control event can explain a revocation seen sooner."""
    port, metrics_port = free_port(), free_port()
    start_service(stack, "inference", {
        "INFERENCE_PORT": str(port), "DISTILLERY_METRICS_PORT": str(metrics_port),
        "INFERENCE_MODEL_CACHE": str(tmp_path_factory.mktemp("models")), "INFERENCE_KEY_TTL_S": "600",
        "INFERENCE_THROTTLE_RPS": "2", "INFERENCE_RECONCILE_S": "600",
    }, timeout_s=300)
    yield {"url": f"127.0.0.1:{port}", "metrics": f"http://127.0.0.1:{metrics_port}/metrics"}
    stack.stop("inference")


async def outcome(url: str, key: str, text: str = "a domestic animal that barks") -> grpc.StatusCode:
    async with OipClient(url, key, timeout_s=30) as client:
        for _ in range(120):  # the process may still be loading the teacher
            try:
                await client.infer("teacher", [text])
                return grpc.StatusCode.OK
            except grpc.aio.AioRpcError as exc:
                if exc.code() != grpc.StatusCode.NOT_FOUND:
                    return exc.code()
                await asyncio.sleep(0.5)
    raise AssertionError("the teacher was never served")


async def until(check, timeout_s: float = 20.0) -> bool:
    """Poll `check()` until it holds (events take a moment to travel)."""
    for _ in range(int(timeout_s / 0.2)):
        if await check():
            return True
        await asyncio.sleep(0.2)
    return False


async def test_a_key_over_its_quota_is_refused_with_resource_exhausted(inference_process, store):
    key = KeyStore(store).create("quota-client", rps=1)
    codes = [await outcome(inference_process["url"], key) for _ in range(6)]
    assert codes[0] == grpc.StatusCode.OK
    assert grpc.StatusCode.RESOURCE_EXHAUSTED in codes  # six calls in well under six seconds
    async with OipClient(inference_process["url"], key) as client:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            for _ in range(5):
                await client.infer("teacher", ["again"])
    assert "over its quota of 1 requests/s" in info.value.details()


async def test_a_revoked_key_stops_working_at_once_on_the_replica(inference_process, store, stack):
    key = KeyStore(store).create("soon-revoked")
    assert await outcome(inference_process["url"], key) == grpc.StatusCode.OK  # now cached as valid
    await revoke_key(store, "soon-revoked", kafka=stack.config.kafka())
    assert await until(lambda: _is(outcome(inference_process["url"], key), grpc.StatusCode.UNAUTHENTICATED))
    assert KeyStore(store).lookup(key) is None
    assert next(r["revoked_at"] for r in KeyStore(store).list() if r["name"] == "soon-revoked")


async def _is(call, code) -> bool:
    return await call == code


def alert(clients: list[str], severity: str, status: str = "open", alert_id: str | None = None) -> AbuseAlert:
    now = utcnow()
    return AbuseAlert(alert_id=alert_id or new_id("alert"), status=status, client_ids=clients, model="teacher",
                      score=0.9, severity=severity, window_start=now - timedelta(minutes=5), window_end=now,
                      findings=[DetectorFinding(detector="volume", score=0.9, evidence={"queries": 5000})])


async def publish(stack, event: AbuseAlert) -> None:
    broker = make_broker(stack.config.kafka(), "test-detector", logger=None)
    async with broker:
        await broker.publish(event, "abuse.alerts", key=event.alert_id.encode())


async def test_alerts_throttle_or_block_by_severity_until_an_operator_lifts_them(inference_process, store, stack):
    url = inference_process["url"]
    thief, suspect, bystander = (KeyStore(store).create(n) for n in ("ring-thief", "ring-suspect", "bystander"))
    for key in (thief, suspect, bystander):
        assert await outcome(url, key) == grpc.StatusCode.OK
    blocking, throttling = alert(["ring-thief"], "critical"), alert(["ring-suspect"], "medium")
    await publish(stack, blocking)
    await publish(stack, throttling)

    assert await until(lambda: _is(outcome(url, thief), grpc.StatusCode.PERMISSION_DENIED))
    async with OipClient(url, thief) as client:
        with pytest.raises(grpc.aio.AioRpcError) as info:
            await client.infer("teacher", ["hello"])
    assert blocking.alert_id in info.value.details() and "distillery enforcement lift ring-thief" in info.value.details()
    # Throttled to 2 requests/s: a quick run of calls meets RESOURCE_EXHAUSTED.
    assert await until(lambda: _throttled(url, suspect))
    assert await outcome(url, bystander) == grpc.StatusCode.OK
    assert set(EnforcementStore(store).all()) >= {"ring-thief", "ring-suspect"}

    # The detector resolving its alert ends a throttle, never a block.
    await publish(stack, alert(["ring-suspect"], "medium", "resolve", throttling.alert_id))
    await publish(stack, alert(["ring-thief"], "critical", "resolve", blocking.alert_id))
    assert await until(lambda: _not_throttled(url, suspect))
    assert await outcome(url, thief) == grpc.StatusCode.PERMISSION_DENIED

    # An operator lifts the block; the same alert replayed does not bring it back.
    assert (await lift_enforcement(store, "ring-thief", kafka=stack.config.kafka())).alert_id == blocking.alert_id
    assert await until(lambda: _is(outcome(url, thief), grpc.StatusCode.OK))
    await publish(stack, blocking)
    await asyncio.sleep(2.0)
    assert await outcome(url, thief) == grpc.StatusCode.OK
    assert "ring-thief" not in EnforcementStore(store).all()


async def _throttled(url: str, key: str) -> bool:
    codes = [await outcome(url, key, "quick") for _ in range(8)]
    return grpc.StatusCode.RESOURCE_EXHAUSTED in codes


async def _not_throttled(url: str, key: str) -> bool:
    await asyncio.sleep(1.0)  # let the bucket fill, then a run of calls must all pass
    return not await _throttled(url, key)


async def test_prometheus_metrics_in_tritons_style(inference_process, store):
    key = KeyStore(store).create("metrics-client")
    assert await outcome(inference_process["url"], key) == grpc.StatusCode.OK
    async with OipClient(inference_process["url"], key) as client:
        await client.infer("teacher", ["two texts", "in one request"])
        with pytest.raises(grpc.aio.AioRpcError):
            await client.infer("teacher", ["x"] * 300)  # a failure of this model: too many texts
    text = await asyncio.to_thread(lambda: urllib.request.urlopen(inference_process["metrics"], timeout=10).read().decode())
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)

    def total(prefix: str) -> float:
        return sum(v for k, v in samples.items() if k.startswith(prefix) and 'model="teacher"' in k)

    assert total("nv_inference_request_success_total") >= 2
    assert total("nv_inference_request_failure_total") >= 1
    assert total("nv_inference_count_total") >= total("nv_inference_request_success_total")
    assert 1 <= total("nv_inference_exec_count_total") <= total("nv_inference_count_total")
    assert total("nv_inference_compute_infer_duration_us_total") > 0
    assert total("nv_inference_queue_duration_us_total") >= 0
    assert total("nv_inference_request_duration_us_total") >= total("nv_inference_compute_infer_duration_us_total") / 10
    assert total("distillery_inference_batch_size_count") == total("nv_inference_exec_count_total")
    assert "distillery_inference_request_events_dropped_total" in samples
    assert samples["distillery_inference_request_events_published_total"] >= 1
    # No label takes its values from clients (a ring of 24,000 keys would be 24,000 series).
    assert not [k for k in samples if 'client="' in k or "metrics-client" in k]
