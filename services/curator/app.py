"""curator: gathers each job's `teacher.responses` (keyed by job, so one replica sees a whole job),
and once every prompt is in, writes the curated dataset and publishes `dataset.ready`."""

from __future__ import annotations

import asyncio


from shared.datasets import load_job_spec
from shared.events import CurationSpec, DatasetReady, DistillJob, JobStatus, TeacherResponse
from shared.prompts import load_gold_labels
from shared.service import create_service
from shared.settings import Settings
from shared.store import ArtifactStore
from services.curator.curation import write_dataset

settings = Settings()
broker, app, log = create_service("curator", settings)
ready = broker.publisher("dataset.ready", title="dataset.ready", schema=DatasetReady,
                         description="A curated dataset, immutable once announced.")
status = broker.publisher("distill.jobs.status", title="distill.jobs.status", schema=JobStatus)
store = ArtifactStore(settings.s3)

# Responses gathered so far, per job, by prompt id (a replayed response replaces itself).
pending: dict[str, dict[str, TeacherResponse]] = {}


@broker.subscriber("teacher.responses", group_id="curator", auto_offset_reset="earliest", title="teacher.responses")
async def on_response(response: TeacherResponse) -> None:
    job = pending.setdefault(response.job_id, {})
    job[response.prompt_id] = response
    if len(job) < response.total:
        return
    responses = list(pending.pop(response.job_id).values())
    spec_doc = await asyncio.to_thread(load_job_spec, store, response.job_id)
    spec = CurationSpec.model_validate(spec_doc.get("curation", {}))
    gold = await asyncio.to_thread(load_gold_labels, DistillJob.model_validate(spec_doc), store) if spec_doc else {}
    lineage = {"job_id": response.job_id, "job_name": spec_doc.get("name", ""),
               "prompts_uri": spec_doc.get("prompts_uri", ""), "templates": len(spec_doc.get("templates", [])),
               "teacher": spec_doc.get("teacher", {}), "teacher_model_version": response.teacher_version}
    event = await asyncio.to_thread(write_dataset, store, response.job_id, responses, spec, lineage, gold)
    key = response.job_id.encode()
    await ready.publish(event, key=key)
    dropped = ", ".join(f"{k} {v}" for k, v in sorted(event.dropped.items())) or "none"
    await status.publish(JobStatus(job_id=response.job_id, stage="curator", state="done",
                                   message=f"kept {sum(event.counts.values())} rows "
                                           f"({', '.join(f'{k} {v}' for k, v in event.counts.items())}); dropped: {dropped}",
                                   counts={**{f"kept_{k}": v for k, v in event.counts.items()},
                                           **{f"dropped_{k}": v for k, v in event.dropped.items()}}), key=key)
    log.info("job %s: dataset %s", response.job_id, event.uri)
