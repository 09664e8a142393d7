"""curator: gathers each job's `teacher.responses` (keyed by job, so one replica sees a whole job),
and once every prompt is in, writes the curated dataset and publishes `dataset.ready`.

Crash safety: responses are consumed in batches, and a batch's responses are written to S3
(`services.curator.progress`) before its offsets are committed (AckPolicy.ACK). A curator killed at
any point consumes the uncommitted batch again, finds what earlier runs gathered in S3, and
finishes the job exactly once: the dataset is written once (immutable, the same bytes however the
responses arrived), and `dataset.ready` is published unless the topic already has it.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

from aiokafka import ConsumerRebalanceListener, TopicPartition
from faststream import AckPolicy
from faststream.kafka import KafkaMessage
from pydantic import ValidationError
from tokenizers import Tokenizer

from services.curator.curation import write_dataset
from services.curator.progress import JobProgress, first_offsets
from shared.datasets import load_job_spec
from shared.events import CurationSpec, DatasetReady, DistillJob, JobStatus, TeacherResponse
from shared.kafka import dead_letter, read_since
from shared.prompts import load_gold_labels, load_groups
from shared.registry import ModelRegistry
from shared.service import create_service
from shared.settings import Settings
from shared.store import ArtifactStore
from shared.tokens import vocabulary_by_bytes

settings = Settings()
broker, app, log = create_service("curator", settings)
ready = broker.publisher("dataset.ready", title="dataset.ready", schema=DatasetReady,
                         description="A curated, immutable dataset, announced once.")
status = broker.publisher("distill.jobs.status", title="distill.jobs.status", schema=JobStatus)
store = ArtifactStore(settings.s3)
progress = JobProgress(store)


class ForgetOnRebalance(ConsumerRebalanceListener):
    """Partitions taken away may come back after another replica gathered parts of their jobs."""

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        progress.forget()

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        pass  # a job's parts are listed at its first batch after `forget`


async def raw_values(message: Any) -> list[bytes | None]:
    return [record.value for record in message.raw_message]


# Each record is decoded in the handler, one by one, so that a malformed one is dead-lettered alone
# and the rest of its batch goes on.
@broker.subscriber("teacher.responses", group_id="curator", auto_offset_reset="earliest", title="teacher.responses",
                   batch=True, max_records=500, ack_policy=AckPolicy.ACK, max_poll_interval_ms=30 * 60 * 1000,
                   decoder=raw_values, listener=ForgetOnRebalance())
async def on_responses(_: list[Any], message: KafkaMessage) -> None:
    by_job: dict[str, list[TeacherResponse]] = defaultdict(list)
    positions = []
    for record in message.raw_message:
        try:
            response = TeacherResponse.model_validate_json(record.value or b"")
        except ValidationError as exc:
            await dead_letter(broker, record, record.value or b"", f"ValidationError: {exc}", "curator")
            continue
        by_job[response.job_id].append(response)
        positions.append((response.job_id, record.partition, record.offset))
    for job_id, (partition, offset) in first_offsets(positions).items():
        if await asyncio.to_thread(progress.done, job_id):
            continue  # a replay of a finished job
        responses = by_job[job_id]
        gathered = await asyncio.to_thread(progress.record, job_id, partition, offset, responses)
        if gathered >= responses[0].total:
            await finish(job_id, responses[0].teacher_version)


def tokenizer_vocabulary(model: str) -> tuple[dict[bytes, int] | None, str]:
    """Token bytes -> id in a registered model's tokenizer (`name` or `name:version`; the promoted
    version by default), and the version used; (None, why) when it cannot be read, and the dataset
    keeps the token bytes alone."""
    name, _, version = model.partition(":")
    registry = ModelRegistry(store)
    version = version or registry.promoted(name) or ""
    body = registry.read_checked(name, version, "tokenizer.json") if version else None
    if body is None:
        return None, f"no tokenizer.json in the registry for {model!r}"
    return vocabulary_by_bytes(Tokenizer.from_str(body.decode("utf-8"))), f"{name}:{version}"


async def finish(job_id: str, teacher_version: str) -> None:
    responses = await asyncio.to_thread(progress.responses, job_id)
    spec_doc = await asyncio.to_thread(load_job_spec, store, job_id)
    spec = CurationSpec.model_validate(spec_doc.get("curation", {}))
    job = DistillJob.model_validate(spec_doc) if spec_doc else None
    gold = await asyncio.to_thread(load_gold_labels, job, store) if job else {}
    groups = await asyncio.to_thread(load_groups, job, store) if job else {}
    vocabulary, tokenizer = None, ""
    if spec.tokenizer_model:
        vocabulary, tokenizer = await asyncio.to_thread(tokenizer_vocabulary, spec.tokenizer_model)
        if vocabulary is None:
            log.warning("job %s: %s; the dataset keeps the answers' token bytes without ids", job_id, tokenizer)
    lineage = {"job_id": job_id, "job_name": spec_doc.get("name", ""),
               "prompts_uri": spec_doc.get("prompts_uri", ""), "templates": len(spec_doc.get("templates", [])),
               "teacher": spec_doc.get("teacher", {}), "teacher_model_version": teacher_version,
               "token_ids": tokenizer if vocabulary is not None else None}
    event, written = await asyncio.to_thread(write_dataset, store, job_id, responses, spec, lineage, gold, groups,
                                             vocabulary)
    key = job_id.encode()
    if written or not await announced(event):
        await ready.publish(event, key=key)
        dropped = ", ".join(f"{k} {v}" for k, v in sorted(event.dropped.items())) or "none"
        await status.publish(JobStatus(job_id=job_id, stage="curator", state="done",
                                       message=f"kept {sum(event.counts.values())} rows "
                                               f"({', '.join(f'{k} {v}' for k, v in event.counts.items())}); "
                                               f"dropped: {dropped}",
                                       counts={**{f"kept_{k}": v for k, v in event.counts.items()},
                                               **{f"dropped_{k}": v for k, v in event.dropped.items()}}), key=key)
    await asyncio.to_thread(progress.finish, job_id, event)
    log.info("job %s: dataset %s", job_id, event.uri)


async def announced(event: DatasetReady) -> bool:
    """Whether `dataset.ready` already has this dataset (a curator stopped after announcing it,
    before marking the job done)."""
    async for record in read_since(settings.kafka, "dataset.ready", 0):
        try:
            if DatasetReady.model_validate_json(record.value or b"").dataset_id == event.dataset_id:
                return True
        except ValidationError:
            continue
    return False
