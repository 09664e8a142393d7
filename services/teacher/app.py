"""teacher: plans each job of `distill.jobs` into units of work on `teacher.work`, answers the units
(every replica takes the partitions the consumer group gives it), and publishes one
`teacher.responses` event per prompt and the job's progress on `distill.jobs.status`."""

from __future__ import annotations

import asyncio
import json
import os

from faststream import AckPolicy

from services.teacher.adapters import TeacherAdapter, load_adapter
from services.teacher.limits import gate_for
from services.teacher.querying import TeacherContext, plan_job, work_on
from services.teacher.settings import TeacherServiceSettings
from shared.events import DistillJob, JobStatus, TeacherResponse, TeacherSpec, TeacherWork
from shared.kafka import read_since, topic_partitions
from shared.service import create_service
from shared.store import ArtifactStore, unavailable

settings = TeacherServiceSettings()
broker, app, log = create_service("teacher", settings)
responses = broker.publisher("teacher.responses", title="teacher.responses", schema=TeacherResponse,
                             description="One event per prompt: the teacher's answer, or why there is none.")
status = broker.publisher("distill.jobs.status", title="distill.jobs.status", schema=JobStatus,
                          description="Job progress, stage by stage.")
work = broker.publisher("teacher.work", title="teacher.work", schema=TeacherWork,
                        description="Units of a job's querying, spread over the partitions.")
store = ArtifactStore(settings.s3)
adapters: dict[str, TeacherAdapter] = {}
adapters_lock = asyncio.Lock()
partitions: list[int] = []


async def open_adapter(spec: TeacherSpec) -> TeacherAdapter:
    """One open adapter per teacher spec for the life of the process (connections, loaded models)."""
    key = spec.model_dump_json()
    async with adapters_lock:
        if key not in adapters:
            # The key is read from the environment variable the job names (a Secret in Kubernetes).
            adapter = load_adapter(spec, os.environ.get(spec.api_key_env, ""), store)
            await adapter.open()
            adapters[key] = adapter
        return adapters[key]


def work_partitions() -> int:
    if not partitions:
        partitions.append(topic_partitions(settings.kafka, "teacher.work"))
    return partitions[0]


def gate(spec: TeacherSpec):
    return gate_for(json.dumps([spec.kind, spec.url, spec.model]), spec.limits, settings.teacher.limit_share)


context = TeacherContext(
    store=store, publish_response=responses.publish, publish_status=status.publish, publish_work=work.publish,
    kafka_read_since=lambda since_ms: read_since(settings.kafka, "teacher.responses", since_ms),
    open_adapter=open_adapter, gate_for=gate, work_partitions=work_partitions,
    progress_every_s=settings.teacher.progress_every_s)


# Offsets are committed only after a handler returns (AckPolicy.ACK): a unit whose responses are
# not all out yet is handed out again after a crash.
@broker.subscriber("distill.jobs", group_id="teacher", auto_offset_reset="earliest", title="distill.jobs",
                   ack_policy=AckPolicy.ACK)
async def on_job(job: DistillJob) -> None:
    try:
        units = await plan_job(job, context)
    except Exception as exc:
        if not unavailable(exc):  # the broker or the store away: the job is planned again when they are back
            await status.publish(JobStatus(job_id=job.job_id, stage="teacher", state="failed",
                                           message=f"{type(exc).__name__}: {exc}"), key=job.job_id.encode())
        raise
    log.info("job %s planned: %d units", job.job_id, units)


@broker.subscriber("teacher.work", group_id="teacher-work", auto_offset_reset="earliest", title="teacher.work",
                   ack_policy=AckPolicy.ACK, max_workers=settings.teacher.workers, max_poll_interval_ms=30 * 60 * 1000)
async def on_work(unit: TeacherWork) -> None:
    await work_on(unit, context)


@app.after_shutdown
async def close_adapters() -> None:
    for adapter in adapters.values():
        await adapter.close()
