"""teacher: takes jobs from `distill.jobs`, queries the job's teacher for every prompt, and
publishes the answers on `teacher.responses` and progress on `distill.jobs.status`."""

from __future__ import annotations

import os

from pydantic_settings import SettingsConfigDict

from shared.events import DistillJob, JobStatus, TeacherResponse
from shared.service import create_service
from shared.settings import ServiceSettings
from shared.store import ArtifactStore
from services.teacher.querying import query_job


class TeacherSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TEACHER_")

    progress_every: int = 500
    max_attempts: int = 4


settings = TeacherSettings()
broker, app, log = create_service("teacher", settings)
responses = broker.publisher("teacher.responses", title="teacher.responses", schema=TeacherResponse,
                             description="One event per prompt: the teacher's class probabilities, or an error.")
status = broker.publisher("distill.jobs.status", title="distill.jobs.status", schema=JobStatus,
                          description="Job progress, stage by stage.")
store = ArtifactStore(settings.s3)


@broker.subscriber("distill.jobs", group_id="teacher", auto_offset_reset="earliest", title="distill.jobs",
                   max_poll_interval_ms=30 * 60 * 1000)
async def on_job(job: DistillJob) -> None:
    # The key is read from the environment variable the job names (a Secret in Kubernetes).
    api_key = os.environ.get(job.teacher.api_key_env, "")
    try:
        counts = await query_job(job, store, api_key, responses.publish, status.publish,
                                 max_attempts=settings.max_attempts, progress_every=settings.progress_every)
    except Exception as exc:
        await status.publish(JobStatus(job_id=job.job_id, stage="teacher", state="failed",
                                       message=f"{type(exc).__name__}: {exc}"), key=job.job_id.encode())
        raise
    log.info("job %s: %s", job.job_id, counts)
