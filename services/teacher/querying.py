"""Querying a teacher for every prompt of a job: one `teacher.responses` event per prompt, either
the teacher's class probabilities or the error that kept it from answering."""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import random
from collections.abc import Awaitable, Callable

import grpc

from shared.events import DistillJob, JobStatus, TeacherResponse
from shared.oip import OipClient, probabilities_from_response
from shared.store import ArtifactStore

log = logging.getLogger(__name__)
RETRYABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.RESOURCE_EXHAUSTED}


def parse_prompts(body: bytes) -> tuple[list[tuple[str, str]], int]:
    """(prompt id, text) pairs from JSONL, first occurrence of an id kept; and how many lines were
    unusable. A line without an id gets one from its text."""
    prompts: dict[str, str] = {}
    bad = 0
    for line in body.decode("utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            text = row["text"]
            if not isinstance(text, str):
                raise TypeError("text is not a string")
        except (ValueError, KeyError, TypeError):
            bad += 1
            continue
        prompt_id = str(row.get("id") or hashlib.sha256(text.encode()).hexdigest()[:16])
        prompts.setdefault(prompt_id, text)
    return list(prompts.items()), bad


Publish = Callable[..., Awaitable[object]]


async def query_job(job: DistillJob, store: ArtifactStore, api_key: str, publish_response: Publish,
                    publish_status: Publish, max_attempts: int = 4, progress_every: int = 500) -> dict[str, int]:
    prompts, bad = parse_prompts(await asyncio.to_thread(store.get_bytes, job.prompts_uri))
    if not prompts:
        raise ValueError(f"{job.prompts_uri} holds no usable prompt ({bad} unusable lines)")
    key = job.job_id.encode()
    counts = {"prompts": len(prompts), "unusable_lines": bad, "answered": 0, "failed": 0, "queries": 0}
    await publish_status(JobStatus(job_id=job.job_id, stage="teacher", state="started",
                                   message=f"querying {job.teacher.model} at {job.teacher.url} for {len(prompts)} prompts",
                                   counts=counts), key=key)
    spec = job.teacher
    async with OipClient(spec.url, api_key=api_key) as client:
        classes = await client.classes(spec.model, spec.version)
        next_progress = progress_every
        for start in range(0, len(prompts), spec.batch_size):
            batch = prompts[start:start + spec.batch_size]
            texts = [text for _, text in batch]
            probabilities, version, error = None, spec.version, None
            for attempt in range(1, max_attempts + 1):
                counts["queries"] += 1
                try:
                    response = await client.infer(spec.model, texts, spec.version,
                                                  request_id=f"{job.job_id}/{start}")
                    probabilities, version = probabilities_from_response(response), response.model_version
                    break
                except grpc.aio.AioRpcError as exc:
                    error = f"{exc.code().name}: {exc.details()}"
                    if exc.code() not in RETRYABLE or attempt == max_attempts:
                        break
                    await asyncio.sleep(min(10.0, 0.2 * 2 ** attempt) * random.uniform(0.5, 1.0))
            for i, (prompt_id, text) in enumerate(batch):
                event = TeacherResponse(job_id=job.job_id, prompt_id=prompt_id, seq=start + i, total=len(prompts),
                                        text=text, teacher_model=spec.model, teacher_version=version,
                                        classes=classes)
                if probabilities is None:
                    event.error = error
                    counts["failed"] += 1
                else:
                    event.probabilities = [round(float(p), 7) for p in probabilities[i]]
                    counts["answered"] += 1
                await publish_response(event, key=key)
            if start + len(batch) >= next_progress:
                next_progress += progress_every
                await publish_status(JobStatus(job_id=job.job_id, stage="teacher", state="progress",
                                               message=f"{start + len(batch)}/{len(prompts)} prompts", counts=counts),
                                     key=key)
    await publish_status(JobStatus(job_id=job.job_id, stage="teacher", state="done",
                                   message=f"{counts['answered']} answered, {counts['failed']} failed, "
                                           f"{counts['queries']} teacher queries", counts=counts), key=key)
    return counts
