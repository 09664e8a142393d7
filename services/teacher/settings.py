"""The teacher service's settings: the shared groups and TEACHER_*."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings

from shared.settings import Settings, group


class TeacherSettings(BaseSettings):
    model_config = group("TEACHER_")

    limit_share: float = 1.0
    """This replica's part of each teacher's rate limits and budgets: 1/replicas when several run."""
    workers: int = 4
    """Partitions of `teacher.work` this replica works on at once."""
    progress_every_s: float = 2.0
    """How often a job's progress is published on `distill.jobs.status`."""


# Read by name, not through settings: each job's `teacher.api_key_env` names the variable its key is in
# (vendor keys too); this is the default, the teacher service's own key for our inference service.
JOB_KEY_VARIABLES = ("TEACHER_API_KEY",)


class TeacherServiceSettings(Settings):
    teacher: TeacherSettings = Field(default_factory=TeacherSettings)
