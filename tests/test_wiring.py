"""The services as separate processes on the real embedded broker and S3 server: dead letters,
two replicas sharing a consumer group, and the whole distillation flow end to end."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from shared.events import AbuseAlert, InferenceRequest
from shared.kafka import DLQ_REASON, make_broker
from shared.oip import OipClient, labels_from_response
from tests.streams import collect

pytestmark = pytest.mark.stack
ROOT = Path(__file__).resolve().parent.parent


def extraction_events(client: str, n: int = 64) -> list[InferenceRequest]:
    """n distinct queries answered all over the domain: the detector's smallest window, once."""
    start = datetime.now(UTC)
    return [InferenceRequest(request_id=f"{client}-{i}", client_id=client, model="student", model_version="1",
                             time=start + timedelta(milliseconds=i),
                             text_sha256=hashlib.sha256(f"{client}/{i}".encode()).hexdigest(), text_simhash="0" * 16,
                             text_chars=30, top_class=f"class-{i % 45}", top_probability=0.8, entropy=0.5,
                             n_classes=45) for i in range(n)]


@pytest.fixture(scope="module")
def detectors(stack):
    """Two detector replicas in one consumer group, each its own process."""
    # As deployed, the platform's own teacher client is allow-listed: without it, the detectors would
    # alert on the end-to-end job's distillation and the inference service would throttle the teacher.
    env = {"DETECTOR_ALLOW_CLIENTS": "allowed-job,distillery-teacher",
           "DISTILLERY_LOG_LEVEL": "INFO"}
    names = ("detector", "detector-2")
    for name in names:
        stack._spawn(name, [__import__("sys").executable, "-m", "services.detector"],
                     {**stack.env(), **env})
    try:
        stack.wait_services(names=names, timeout_s=300)
        yield names
    finally:
        for name in names:
            stack.stop(name)


async def test_a_malformed_event_goes_to_the_dead_letter_topic_and_consuming_goes_on(stack, detectors):
    broker = make_broker(stack.config.kafka(), "test-writer", logger=None)
    async with broker:
        await broker.publish(b"{this is not json", "inference.requests", key=b"broken-client")
        await broker.publish(json.dumps({"client_id": "half-an-event"}).encode(), "inference.requests", key=b"half")
        for event in extraction_events("after-the-bad-ones"):
            await broker.publish(event, "inference.requests", key=event.client_id.encode())
    half_event = json.dumps({"client_id": "half-an-event"}).encode()
    # Wait for these two: earlier tests may have dead-lettered other events on this topic.
    dead = await collect(stack, "inference.requests.dlq", None, raw=True,
                         until=lambda items: {b"{this is not json", half_event} <= {body for body, _ in items})
    reasons = {body: headers[DLQ_REASON] for body, headers in dead}
    assert b"{this is not json" in reasons  # the bytes as they were sent, to inspect or replay
    assert all(headers["x-dlq-topic"] == "inference.requests" for _, headers in dead)
    half = reasons[half_event]
    assert "ValidationError" in half and "request_id" in half  # names the missing fields
    alerts = await collect(stack, "abuse.alerts", AbuseAlert,
                           lambda items: any("after-the-bad-ones" in a.client_ids for a in items))
    assert any("after-the-bad-ones" in a.client_ids for a in alerts)


async def test_two_replicas_share_the_consumer_group(stack, detectors):
    clients = [f"ring-member-{i}" for i in range(12)] + ["allowed-job"]
    broker = make_broker(stack.config.kafka(), "test-writer", logger=None)
    async with broker:
        for client in clients:
            for event in extraction_events(client):
                await broker.publish(event, "inference.requests", key=client.encode())
    alerts = await collect(stack, "abuse.alerts", AbuseAlert,
                           lambda items: {c for a in items for c in a.client_ids} >= set(clients[:-1]))
    alerted = [c for a in alerts for c in a.client_ids if c.startswith("ring-member") or c == "allowed-job"]
    assert sorted(alerted) == sorted(clients[:-1])  # each once; the allow-listed job never
    # Each replica handled a share of the clients (keys spread over the partitions).
    per_replica = {}
    for name in detectors:
        log = (stack.log_dir / f"{name}.log").read_text()
        per_replica[name] = set(re.findall(r"on (ring-member-\d+)", log))
    assert all(per_replica.values()), per_replica
    assert not (per_replica["detector"] & per_replica["detector-2"])


async def test_distillation_end_to_end(stack, registered_teacher, store, api_key, tmp_path):
    """distill.jobs -> teacher -> teacher.responses -> curator -> dataset.ready -> trainer ->
    model.promoted -> inference serves the student."""
    from cli.__main__ import ensure_service_key
    from cli.jobs import submit_and_follow
    from shared.registry import ModelRegistry

    key = ensure_service_key(stack)
    services = ("inference", "teacher", "curator", "trainer")
    stack.start_services(extra_env={"TEACHER_API_KEY": key, "INFERENCE_MODEL_CACHE": str(tmp_path / "models")},
                         names=services)
    try:
        stack.wait_services(names=services, timeout_s=300)
        job_file = tmp_path / "job.yaml"
        job_file.write_text(
            f"name: e2e\nprompts: {{file: {ROOT / 'data/wordnet/heldout.jsonl.gz'}, limit: 600, label_field: label}}\n"
            f"teacher: {{url: '127.0.0.1:{stack.config.inference_port}', model: teacher}}\n"
            "student: {name: e2e-student, epochs: 4}\ngate: {min_agreement: 0.2, min_speedup: 1.0}\n")
        _job, follower = await submit_and_follow(job_file, timeout_s=300, quiet=True)
        assert not follower.failed, [s.message for s in follower.statuses]
        assert follower.last("teacher").counts["answered"] == 600
        kept = follower.last("curator").counts
        assert sum(v for k, v in kept.items() if k.startswith("kept_")) + \
            sum(v for k, v in kept.items() if k.startswith("dropped_")) == 600
        trained = follower.trained
        assert trained is not None and trained.gate_passed
        assert trained.metrics.parity_max_abs_diff <= 1e-4
        assert trained.metrics.speedup > 1.0 and 0.0 < trained.metrics.agreement <= 1.0
        # Gold labels travelled from the prompt file, beside the teacher, to the card.
        assert trained.metrics.gold_rows > 50 and trained.metrics.relative_accuracy is not None
        assert ModelRegistry(store).promoted("e2e-student") == trained.version
        # The inference service picks the promoted version up without a restart.
        async with OipClient(f"127.0.0.1:{stack.config.inference_port}", api_key) as client:
            for _ in range(100):
                try:
                    response = await client.infer("e2e-student", ["a small dog"])
                    break
                except Exception:
                    await asyncio.sleep(0.2)
        assert response.model_version == trained.version and len(labels_from_response(response)) == 1
    finally:
        for name in services:
            stack.stop(name)


async def test_a_chat_student_end_to_end(stack, store, teacher_lm_dir, tmp_path):
    """The generative path through the same services: distill.jobs -> teacher (teacher-lm's answers
    and top-k through our OpenAI-compatible API) -> curator (split by lemma, token ids) -> trainer
    (a 2-layer student-lm, trained by two torchrun workers: TRAINER_RUNNER=torchrun) ->
    model.promoted -> the inference service answers a chat with it."""
    import gzip

    import openai

    from cli.__main__ import ensure_service_key
    from cli.jobs import submit_and_follow
    from shared.datasets import read_manifest, read_split
    from shared.registry import ModelRegistry

    registry = ModelRegistry(store)
    if not registry.promoted("teacher-lm"):
        version, _ = registry.register("teacher-lm", teacher_lm_dir)
        registry.promote("teacher-lm", version)
    key = ensure_service_key(stack)
    with gzip.open(ROOT / "data/wordnet/definitions.jsonl.gz", "rt") as f:
        nouns = [row for row in map(json.loads, f) if row["pos"] == "noun"][:24]
    prompts = tmp_path / "define.jsonl"
    prompts.write_text("".join(json.dumps({"id": row["id"], "text": f"Define the word '{row['lemma']}' in one sentence.",
                                           "lemma": row["lemma"], "gloss": row["gloss"]}) + "\n" for row in nouns))
    services = ("inference", "teacher", "curator", "trainer")
    stack.start_services(extra_env={"TEACHER_API_KEY": key, "INFERENCE_MODEL_CACHE": str(tmp_path / "models"),
                                    "TRAINER_RUNNER": "torchrun", "TRAINER_POLL_S": "0.5"}, names=services)
    try:
        stack.wait_services(names=services, timeout_s=300)
        base_url = f"http://127.0.0.1:{stack.config.inference_http_port}/v1"
        job_file = tmp_path / "chat-job.yaml"
        job_file.write_text(
            f"name: e2e-chat\nprompts: {{file: {prompts}, label_field: gloss, group_field: lemma}}\n"
            f"teacher: {{kind: openai-generation, url: '{base_url}', model: teacher-lm, max_tokens: 40, "
            "top_logprobs: 5}\n"
            "curation: {tokenizer_model: teacher-lm, near_duplicate_threshold: null, val_fraction: 0.15, "
            "test_fraction: 0.25}\n"
            "student: {name: e2e-chat-student, kind: causal-lm, layers: 2, epochs: 1, batch_size: 4, "
            "learning_rate: 0.0001, eval_prompts: 4, max_new_tokens: 16, workers: 2}\n"
            "gate: {min_agreement: 0.0, min_speedup: 1.0}\n")
        _job, follower = await submit_and_follow(job_file, timeout_s=900, quiet=True)
        assert not follower.failed, [s.message for s in follower.statuses]
        assert follower.last("teacher").counts["answered"] == len(nouns)
        done = follower.last("curator")
        kept = {k: v for k, v in done.counts.items() if k.startswith("kept_")}
        assert sum(kept.values()) + sum(v for k, v in done.counts.items() if k.startswith("dropped_")) == len(nouns)
        trained = follower.trained
        assert trained is not None and trained.gate_passed, trained
        m = trained.metrics
        assert m.parity_max_abs_diff <= 1e-3 and m.speedup > 1.0 and 0.0 <= m.agreement <= 1.0
        assert m.gold_rows > 0 and m.rouge_l_to_teacher is not None
        assert registry.promoted("e2e-chat-student") == trained.version
        card = registry.card("e2e-chat-student", trained.version)
        assert card["teacher_layers_kept"] == [0, 29] and card["lineage"]["teacher"]["kind"] == "openai-generation"
        # Trained outside the service by two workers, rank 0 relaying its epochs through S3.
        assert card["training"]["workers"] == 2 and follower.last("trainer", "progress") is not None
        assert "worker 1 of 2" in (stack.log_dir / "trainer.log").read_text()
        manifest = read_manifest(store, card["lineage"]["dataset"])
        assert manifest["lineage"]["token_ids"].startswith("teacher-lm:")
        test_rows = read_split(store, card["lineage"]["dataset"], "test").to_pylist()
        assert test_rows and all(min(r["completion_token_ids"]) >= 0 for r in test_rows)
        assert not ({r["group"] for r in test_rows} & {r["group"] for r in read_split(
            store, card["lineage"]["dataset"], "train").to_pylist()})  # no lemma on both sides
        # Served beside its teacher, through the same OpenAI-compatible API, without a restart.
        api = openai.AsyncOpenAI(base_url=base_url, api_key=key, max_retries=0)
        reply = None
        for _ in range(300):
            try:
                reply = await api.chat.completions.create(
                    model="e2e-chat-student", max_tokens=8, temperature=0,
                    messages=[{"role": "user", "content": "Define the word 'harbor' in one sentence."}])
                break
            except openai.NotFoundError:
                await asyncio.sleep(0.2)
        assert reply is not None and reply.usage.completion_tokens >= 1
        models = {m.id for m in (await api.models.list()).data}
        assert {"teacher-lm", "e2e-chat-student"} <= models
        await api.close()
    finally:
        for name in services:
            stack.stop(name)
