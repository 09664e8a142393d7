"""One worker of a job's training outside the trainer service's process:

    torchrun --nproc-per-node N -m services.trainer.worker

(or one pod of a Kubeflow TrainJob or an indexed Job, each running torchrun). The trainer service
starts it with TRAINER_JOB_ID and TRAINER_DATASET_EVENT (the `dataset.ready` event, JSON) and the
same settings as its own. Every worker trains its share; rank 0 writes the checkpoints, the model,
the result (or why it failed) and its progress to S3, where the service waits for them. torchrun
restarts all workers after one is lost, and each resumes from the last checkpoint."""

from __future__ import annotations

import logging
import os
import sys

from pydantic_settings import BaseSettings

from services.trainer.distributed import join, leave
from services.trainer.runs import failure_key, progress_key, train_job
from services.trainer.settings import TrainerServiceSettings
from shared.datasets import load_job_spec
from shared.events import DatasetReady, DistillJob
from shared.logs import setup_logging
from shared.settings import group
from shared.store import ArtifactStore, unavailable
from shared.textmodel import cpu_limit

log = logging.getLogger("services.trainer.worker")


class WorkerAssignment(BaseSettings):
    """What the trainer service gives each worker of a training (not an operator's setting)."""

    model_config = group("TRAINER_")

    job_id: str
    dataset_event: str
    workers: int = 0  # how many the job asked for (0: not said)


def main() -> int:
    import torch

    settings = TrainerServiceSettings()
    setup_logging(settings.service.log_level, f"trainer-worker-{os.environ.get('RANK', '0')}")
    assignment = WorkerAssignment()  # from the environment
    dataset = DatasetReady.model_validate_json(assignment.dataset_event)
    store = ArtifactStore(settings.s3)
    spec = load_job_spec(store, assignment.job_id)
    job = DistillJob.model_validate(spec) if spec else DistillJob(job_id=assignment.job_id, name=assignment.job_id)
    local_workers = int(os.environ.get("LOCAL_WORLD_SIZE", "1"))
    torch.set_num_threads(settings.trainer.threads or max(1, cpu_limit() // local_workers))
    workers = join(settings.trainer.backend)
    if assignment.workers and workers.world != assignment.workers:
        raise RuntimeError(f"job {job.job_id} asked for {assignment.workers} workers, and {workers.world} were started: "
                           "the TrainJob's numNodes or the Job's completions and torchrun's --nnodes disagree")
    log.info("job %s: worker %d of %d on %s (restart %s)", job.job_id, workers.rank, workers.world, workers.device,
             os.environ.get("TORCHELASTIC_RESTART_COUNT", "0"))

    def progress(epoch: int, record: dict) -> None:
        store.put_json(progress_key(job), {"epoch": epoch, **record})

    try:
        train_job(store, settings.trainer, dataset, job, progress, workers)
    except Exception as exc:
        if workers.main and not unavailable(exc):
            store.put_json(failure_key(job), {"error": f"{type(exc).__name__}: {exc}"})
        raise
    finally:
        leave()
    return 0


if __name__ == "__main__":
    sys.exit(main())
