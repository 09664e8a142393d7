"""The trainer service's settings: the shared groups and TRAINER_*."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings

from shared.settings import Settings, group


class TrainerSettings(BaseSettings):
    model_config = group("TRAINER_")

    cache_dir: Path = Path(tempfile.gettempdir()) / "distillery-trainer"
    """Where the teacher's token vectors are cached (computed once, about a minute on two cores), and a generative
    teacher's torch weights (teacher-lm: 540 MB, de-quantised once from its GGUF, about 30 s)."""
    threads: int = 0
    """torch threads; 0: the container's CPU limit (shared among a machine's workers)."""
    runner: Literal["in-process", "torchrun", "trainjob", "job"] = "in-process"
    """Where a job's training runs: in this process; `torchrun`: as many worker processes here as the job's
    `student.workers`; `trainjob`: a Kubeflow Trainer v2 TrainJob; `job`: an indexed Job running torchrun (both
    from the template at TRAINER_WORKER_TEMPLATE, submitted through the Kubernetes API)."""
    backend: Literal["auto", "gloo", "nccl"] = "auto"
    """torch.distributed backend of a training's workers; auto: nccl when a GPU is visible, gloo otherwise."""
    max_restarts: int = Field(3, ge=0)
    """torchrun: how many times the workers are restarted (from the last checkpoint) after one fails."""
    worker_template: Path = Path("/etc/distillery/worker-template.yaml")
    """trainjob/job: the TrainJob or Job a training is submitted as (deploy/k8s/components/trainjob, components/training-job)."""
    poll_s: float = Field(5.0, gt=0)
    """trainjob/job/torchrun: how often a running training's progress and status are read."""


class TrainerServiceSettings(Settings):
    trainer: TrainerSettings = Field(default_factory=TrainerSettings)
