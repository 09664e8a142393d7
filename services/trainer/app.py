"""trainer: for each `dataset.ready`, trains the job's student with a distillation loss, exports it
to ONNX (parity-checked), measures it against the teacher, registers it with its model card
(`model.trained`) and, when the job's gate holds, promotes it (`model.promoted`).

The training runs where TRAINER_RUNNER says: in this process, or as torchrun workers beside it or
in pods of their own (services.trainer.runners, services.trainer.worker); wherever it runs, it
leaves its checkpoints, progress and result in S3 (services.trainer.runs), and this service
publishes.

Crash safety: the offset is committed only after the handler returns (AckPolicy.ACK), a checkpoint
goes to S3 after every epoch, and a finished training leaves its result in S3; so a trainer killed
at any point, once restarted, resumes from its last epoch, and a replayed dataset re-announces the
registered model instead of training it again.
"""

from __future__ import annotations

import asyncio

from faststream import AckPolicy

from services.trainer.runners import TrainingFailed, run_on_kubernetes, run_torchrun
from services.trainer.runs import clear_dead_jobs_work, previous_result, train_job, worker_count
from services.trainer.settings import TrainerServiceSettings
from services.trainer.training import gate_reasons
from shared.datasets import load_job_spec
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


@app.on_startup
def clear_work_of_killed_jobs() -> None:
    if cleared := clear_dead_jobs_work():
        log.info("deleted the work folders of %d jobs killed with an earlier trainer: %s", len(cleared),
                 ", ".join(p.name for p in cleared))


def train_in_process(dataset: DatasetReady, job: DistillJob, loop: asyncio.AbstractEventLoop
                     ) -> tuple[str, str, ModelMetrics] | None:
    import torch

    torch.set_num_threads(settings.trainer.threads or cpu_limit())  # torch alone would take the node's cores

    def progress(epoch: int, record: dict) -> None:
        asyncio.run_coroutine_threadsafe(publish_progress(job, epoch, record), loop)

    return train_job(store, settings.trainer, dataset, job, progress)


async def publish_progress(job: DistillJob, epoch: int, record: dict) -> None:
    message = f"epoch {epoch}/{job.student.epochs}: validation agreement {record['val_agreement']:.3f}"
    await status.publish(JobStatus(
        job_id=job.job_id, stage="trainer", state="progress", message=message,
        counts={"epoch": epoch, "epochs": job.student.epochs, "train_loss": record["train_loss"],
                "val_agreement": record["val_agreement"], "stopped": float(record.get("stopped", False))}),
        key=job.job_id.encode())


async def train(dataset: DatasetReady, job: DistillJob) -> tuple[str, str, ModelMetrics]:
    """Run the job's training where TRAINER_RUNNER says; its result is in S3 when this returns."""
    runner = settings.trainer.runner
    if runner == "in-process":
        done = await asyncio.to_thread(train_in_process, dataset, job, asyncio.get_running_loop())
    else:  # the workers leave the result in S3
        run = run_torchrun if runner == "torchrun" else run_on_kubernetes
        await run(settings.trainer, store, dataset, job, lambda e, r: publish_progress(job, e, r))
        done = await asyncio.to_thread(previous_result, store, job)
    if done is None:
        raise TrainingFailed(f"the {runner} training finished without leaving its result in S3")
    return done


def placement(job: DistillJob) -> str:
    """Where the training runs, as the job's status says it."""
    runner, workers = settings.trainer.runner, worker_count(job)
    if runner == "in-process" and workers > 1:
        return f"one worker, in-process (asked for {workers}: TRAINER_RUNNER=torchrun, trainjob or job runs them)"
    return f"{workers} worker{'s' if workers > 1 else ''}, {runner}"


@broker.subscriber("dataset.ready", group_id="trainer", auto_offset_reset="earliest", title="dataset.ready",
                   ack_policy=AckPolicy.ACK, max_poll_interval_ms=60 * 60 * 1000)
async def on_dataset(dataset: DatasetReady) -> None:
    spec = await asyncio.to_thread(load_job_spec, store, dataset.job_id)
    job = DistillJob.model_validate(spec) if spec else DistillJob(job_id=dataset.job_id, name=dataset.job_id)
    key = job.job_id.encode()
    done = await asyncio.to_thread(previous_result, store, job)
    if done is None:
        await status.publish(JobStatus(job_id=job.job_id, stage="trainer", state="started",
                                       message=f"training {job.student.kind} student {job.student.name!r} on "
                                               f"{dataset.counts.get('train', 0)} rows, {placement(job)}"), key=key)
        try:
            done = await train(dataset, job)
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
