"""What the curator has gathered of each job, kept in S3 so that a curator killed at any point
resumes where it stopped and every job finishes exactly once.

    jobs/<job>/curator/parts/<partition>-<offset>.jsonl   the job's responses from one consumed batch
    jobs/<job>/curator/done.json                          the job is finished: its dataset.ready event

A batch's parts are written before its offsets are committed, so whatever a crash interrupts is
consumed again and rewritten under the same key (the key is the offset of the job's first record in
the batch, where a replayed batch starts too). A job's responses are its parts, each prompt once
(a response replayed by the teacher replaces itself). Parts are deleted once the job is done.
Several replicas may write a job's parts in turn (a rebalance moves its partition, and may move it
back): a replica lists a job's parts when it first sees the job, and again after every rebalance
(`forget`), so it counts what the others wrote too, and a job is finished by whoever holds it last.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from shared.events import DatasetReady, TeacherResponse
from shared.store import ArtifactStore


def _prefix(job_id: str) -> str:
    return f"jobs/{job_id}/curator"


class JobProgress:
    def __init__(self, store: ArtifactStore) -> None:
        self.store = store
        self.prompts: dict[str, set[str]] = {}  # job -> prompt ids gathered (a cache of the parts)
        self.read: dict[str, set[str]] = {}  # job -> the parts whose prompts `prompts` holds
        self.finished: set[str] = set()

    def part_key(self, job_id: str, partition: int, offset: int) -> str:
        return f"{_prefix(job_id)}/parts/{partition:05d}-{offset:020d}.jsonl"

    def _parts(self, job_id: str) -> list[str]:
        return sorted(self.store.list(f"{_prefix(job_id)}/parts/"))

    def done(self, job_id: str) -> bool:
        if job_id not in self.finished and self.store.exists(f"{_prefix(job_id)}/done.json"):
            self.finished.add(job_id)
        return job_id in self.finished

    def record(self, job_id: str, partition: int, offset: int, responses: list[TeacherResponse]) -> int:
        """Write one batch's responses of a job; returns how many distinct prompts the job has now."""
        key = self.part_key(job_id, partition, offset)
        body = "".join(r.model_dump_json() + "\n" for r in responses).encode()
        self.store.put_bytes(key, body, "application/x-ndjson")
        first_sight = job_id not in self.read
        prompts = self.prompts.setdefault(job_id, set())
        read = self.read.setdefault(job_id, set())
        prompts.update(r.prompt_id for r in responses)
        read.add(key)
        if first_sight:
            # What earlier runs of this replica gathered, or others while the job's partition was
            # theirs. While this replica holds the partition, no one else writes the job's parts
            # (a revoked owner's late batch fails to commit, and comes here again), so one list will do.
            for other in self._parts(job_id):
                if other not in read:
                    prompts.update(r.prompt_id for r in self._read(other))
                    read.add(other)
        return len(prompts)

    def forget(self) -> None:
        """Drop what this replica knows of its jobs' parts (a rebalance: a job's partition may come
        back after another replica wrote parts of it); each job is listed again at its next batch."""
        self.prompts.clear()
        self.read.clear()

    def _read(self, key: str) -> list[TeacherResponse]:
        return [TeacherResponse.model_validate_json(line) for line in self.store.get_bytes(key).splitlines()]

    def responses(self, job_id: str) -> list[TeacherResponse]:
        """The job's responses gathered so far, one per prompt (the last one consumed wins)."""
        latest: dict[str, TeacherResponse] = {}
        for key in self._parts(job_id):
            for response in self._read(key):
                latest[response.prompt_id] = response
        return list(latest.values())

    def finish(self, job_id: str, event: DatasetReady) -> None:
        """Mark the job done (its event announced), then drop its parts."""
        self.store.put_json(f"{_prefix(job_id)}/done.json", json.loads(event.model_dump_json()))
        self.finished.add(job_id)
        self.prompts.pop(job_id, None)
        self.read.pop(job_id, None)
        for key in self._parts(job_id):
            self.store.delete(key)


def first_offsets(records: Iterable[tuple[str, int, int]]) -> dict[str, tuple[int, int]]:
    """(job, partition, offset) of consumed records -> job: (partition, offset of its first record)."""
    first: dict[str, tuple[int, int]] = {}
    for job_id, partition, offset in records:
        if job_id not in first or (partition, offset) < first[job_id]:
            first[job_id] = (partition, offset)
    return first
