"""The trainer service's settings: the shared groups and TRAINER_*."""

from __future__ import annotations

import tempfile
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings

from shared.settings import Settings, group


class TrainerSettings(BaseSettings):
    model_config = group("TRAINER_")

    cache_dir: Path = Path(tempfile.gettempdir()) / "distillery-trainer"
    """Where the teacher's token vectors are cached (computed once, about a minute on two cores), and a generative
    teacher's torch weights (teacher-lm: 540 MB, de-quantised once from its GGUF, about 30 s)."""
    threads: int = 0
    """torch threads; 0: the container's CPU limit."""


class TrainerServiceSettings(Settings):
    trainer: TrainerSettings = Field(default_factory=TrainerSettings)
