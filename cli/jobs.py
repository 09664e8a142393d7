"""Submitting a job and following it through the platform's topics; reading alerts."""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import sys
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TypeVar

import pyarrow as pa
import pyarrow.parquet as pq
import yaml
from faststream.kafka import KafkaBroker

from shared.events import AbuseAlert, DistillJob, Event, JobStatus, ModelPromoted, ModelTrained, new_id
from shared.kafka import make_broker
from shared.settings import KafkaSettings, S3Settings
from shared.store import ArtifactStore

EventT = TypeVar("EventT")


class PromptRows:
    """Which rows of a local prompt file a job uploads, and what of each: the id, the text and the
    columns the job names (gold label, split group). The teacher is sent the text alone.

    `where` keeps rows whose fields equal the given values; `text_template` makes the text from a
    row's fields (`Define the word '{lemma}' in one sentence.`) when the file has no text column."""

    def __init__(self, prompts: dict) -> None:
        self.id_field = prompts.get("id_field", "id")
        self.text_field = prompts.get("text_field", "text")
        self.extra_fields = [f for f in (prompts.get("label_field", ""), prompts.get("group_field", "")) if f]
        self.limit: int | None = prompts.get("limit")
        self.where: dict = prompts.get("where") or {}
        self.text_template: str | None = prompts.get("text_template")

    def select(self, rows: Iterable[dict]) -> list[dict]:
        kept: list[dict] = []
        for row in rows:
            if self.limit is not None and len(kept) >= self.limit:
                break
            if any(row.get(k) != v for k, v in self.where.items()):
                continue
            if self.text_template is not None:
                try:
                    row = {**row, self.text_field: self.text_template.format(**row)}
                except KeyError as exc:
                    raise SystemExit(f"text_template names {exc}, which the prompt file's rows do not have") from exc
            kept.append({f: row.get(f) for f in (self.id_field, self.text_field, *self.extra_fields)})
        return kept

    def jsonl(self, path: Path) -> list[dict]:
        opener = gzip.open if path.suffix == ".gz" else open
        with opener(path, "rt", encoding="utf-8") as f:
            return self.select(json.loads(line) for line in f if line.strip())

    def parquet(self, path: Path) -> bytes:
        table = pq.read_table(path)
        if self.where or self.text_template is not None:
            table = pa.Table.from_pylist(self.select(table.to_pylist()))
        else:
            table = table.select([c for c in (self.id_field, self.text_field, *self.extra_fields)
                                  if c in table.column_names])
            if self.limit is not None:
                table = table.slice(0, self.limit)
        sink = io.BytesIO()
        pq.write_table(table, sink)
        return sink.getvalue()


def build_job(path: Path, store: ArtifactStore) -> DistillJob:
    """A job from a job file: local prompt files are uploaded (their ids and texts only)."""
    spec = yaml.safe_load(path.read_text()) or {}
    job_id = new_id("job")
    prompts = spec.pop("prompts", {}) or {}
    source_spec = {k: prompts[k] for k in ("format", "id_field", "text_field", "label_field", "group_field")
                   if k in prompts}
    if "format" in source_spec:
        source_spec["prompts_format"] = source_spec.pop("format")
    rows = PromptRows(prompts)
    if "uri" in prompts:
        source_spec["prompts_uri"] = prompts["uri"]
    elif "file" in prompts:
        source = Path(prompts["file"])
        if not source.is_absolute():
            source = (path.parent / source) if (path.parent / source).exists() else source
        if source.suffix in (".parquet", ".pq"):
            body = rows.parquet(source)
            source_spec["prompts_uri"] = store.put_bytes(f"prompts/{job_id}.parquet", body, "application/vnd.apache.parquet")
        else:
            body = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows.jsonl(source)).encode("utf-8")
            source_spec["prompts_uri"] = store.put_bytes(f"prompts/{job_id}.jsonl", body, "application/x-ndjson")
    elif not spec.get("templates"):
        raise SystemExit(f"{path}: needs `prompts` with `file` (a local JSONL or Parquet file) or `uri` (s3://...), "
                         "or `templates`")
    return DistillJob.model_validate({"job_id": job_id, "name": spec.pop("name", path.stem), **source_spec, **spec})


def progress_of(status: JobStatus) -> tuple[float, float]:
    """(done, total) of a progress status, or (0, 0) when it is not one."""
    if status.state != "progress":
        return 0, 0
    counts = status.counts
    if status.stage == "trainer":
        return counts.get("epoch", 0), counts.get("epochs", 0)
    if status.stage == "teacher":
        done = sum(counts.get(k, 0) for k in ("answered", "cached", "failed", "not_asked"))
        return done, counts.get("total", 0)
    return 0, 0


class JobFollower:
    """Collects what the platform says about one job, printing as it goes."""

    def __init__(self, job_id: str, quiet: bool = False) -> None:
        self.job_id = job_id
        self.quiet = quiet
        self.statuses: list[JobStatus] = []
        self.trained: ModelTrained | None = None
        self.promoted: ModelPromoted | None = None
        self.finished = asyncio.Event()
        self.failed = False
        self.bars: dict = {}
        self.logged_tenths: dict[str, int] = {}

    def show_progress(self, status: JobStatus, done: float, total: float) -> None:
        """One progress bar per stage: prompts answered by the teacher, epochs of the trainer."""
        from tqdm import tqdm

        bar = self.bars.get(status.stage)
        if bar is None:
            unit = "prompts" if status.stage == "teacher" else "epochs"
            bar = self.bars[status.stage] = tqdm(
                total=int(total), desc=f"  [{status.stage:7s}]", dynamic_ncols=True, leave=True,
                bar_format="{desc} {bar} {n_fmt}/{total_fmt} " + unit + " [{elapsed}<{remaining}]{postfix}")
        bar.total = int(total)
        bar.n = int(done)
        if status.stage == "trainer":
            bar.set_postfix_str(f"validation agreement {status.counts.get('val_agreement', 0):.3f}", refresh=False)
        bar.refresh()

    def close_bars(self) -> None:
        for bar in self.bars.values():
            bar.close()
        self.bars.clear()

    def say(self, text: str) -> None:
        if not self.quiet:
            print(text, flush=True)

    def on_status(self, status: JobStatus) -> None:
        if status.job_id != self.job_id:
            return
        self.statuses.append(status)
        done, total = progress_of(status)
        if total and not self.quiet and sys.stderr.isatty():  # bars on a terminal; plain lines in a log
            self.show_progress(status, done, total)
        elif total and status.stage == "teacher":
            # In a log, a line per tenth of the prompts rather than one every few seconds.
            tenth = int(10 * done / total)
            if tenth > self.logged_tenths.get(status.job_id, -1):
                self.logged_tenths[status.job_id] = tenth
                self.say(f"  [{status.stage:7s}] {status.state:8s} {status.message}")
        else:
            self.close_bars()
            self.say(f"  [{status.stage:7s}] {status.state:8s} {status.message}")
        if status.state == "failed":
            self.failed = True
            self.finished.set()
        elif status.stage == "trainer" and status.state == "done":
            self.finished.set()

    def last(self, stage: str, state: str = "done") -> JobStatus | None:
        return next((s for s in reversed(self.statuses) if s.stage == stage and s.state == state), None)


async def submit_and_follow(path: Path, wait: bool = True, timeout_s: float = 900.0,
                            quiet: bool = False) -> tuple[DistillJob, JobFollower]:
    store = ArtifactStore(S3Settings())
    job = await asyncio.to_thread(build_job, path, store)
    await asyncio.to_thread(store.put_json, f"jobs/{job.job_id}/job.json", job.model_dump(mode="json"))
    follower = await follow_job(job, "distill.jobs", job, wait, timeout_s, quiet)
    return job, follower


async def follow_job(job: DistillJob, topic: str, event: Event, wait: bool = True, timeout_s: float = 900.0,
                     quiet: bool = False) -> JobFollower:
    """Publishes `event` on `topic` and follows `job` (whose spec is in the store already) until the
    trainer is done with it or a stage fails: a job on `distill.jobs`, or a dataset made elsewhere on
    `dataset.ready`, for the trainer alone."""
    follower = JobFollower(job.job_id, quiet)
    broker = make_broker(KafkaSettings(), "cli", logger=None)

    @broker.subscriber("distill.jobs.status", group_id=None, auto_offset_reset="earliest")
    async def on_status(status: JobStatus) -> None:
        follower.on_status(status)

    @broker.subscriber("model.trained", group_id=None, auto_offset_reset="earliest")
    async def on_trained(trained: ModelTrained) -> None:
        if trained.job_id == job.job_id:
            follower.trained = trained

    @broker.subscriber("model.promoted", group_id=None, auto_offset_reset="earliest")
    async def on_promoted(promoted: ModelPromoted) -> None:
        if promoted.job_id == job.job_id:
            follower.promoted = promoted

    async with broker:
        if wait:
            await broker.start()
        await broker.publish(event, topic, key=job.job_id.encode())
        follower.say(f"submitted {job.job_id} ({job.name}): prompts {job.prompts_uri or 'from templates'}"
                     if topic == "distill.jobs" else f"published {topic} for {job.job_id} ({job.name})")
        if wait:
            try:
                await asyncio.wait_for(follower.finished.wait(), timeout_s)
            except TimeoutError:
                follower.failed = True
                follower.say(f"  no end of job {job.job_id} within {timeout_s:.0f} s")
            await asyncio.sleep(1.0)  # the trainer's model.* events follow its last status closely
    return follower


async def submit_job(path: Path, wait: bool = True, timeout_s: float = 900.0) -> int:
    _, follower = await submit_and_follow(path, wait, timeout_s)
    return 1 if follower.failed else 0


def format_alert(alert: AbuseAlert) -> str:
    findings = "; ".join(f"{f.detector} {f.score:.2f} " + json.dumps(f.evidence) for f in alert.findings)
    return (f"{alert.time:%H:%M:%S} {alert.status:6s} {alert.severity:8s} score {alert.score:.2f} "
            f"clients {', '.join(alert.client_ids)} model {alert.model} ({alert.alert_id}): {findings}")


async def read_topic(topic: str, schema: type[EventT], idle_timeout_s: float = 5.0, follow: bool = False,
                     until=None, printer=None, kafka: KafkaSettings | None = None) -> list[EventT]:
    """Events from the beginning of `topic`; stops after `idle_timeout_s` without a new one, or
    when `until(events)` says so."""
    seen: list[EventT] = []
    last = time.monotonic()
    broker: KafkaBroker = make_broker(kafka or KafkaSettings(), "cli", logger=None)

    @broker.subscriber(topic, group_id=None, auto_offset_reset="earliest")
    async def on_event(event: schema) -> None:  # type: ignore[valid-type]
        nonlocal last
        seen.append(event)
        last = time.monotonic()
        if printer:
            printer(event)

    async with broker:
        await broker.start()
        while follow or time.monotonic() - last < idle_timeout_s:
            if until and until(seen):
                break
            await asyncio.sleep(0.2)
    return seen


async def read_alerts(idle_timeout_s: float = 5.0, follow: bool = False, until=None, printer=print,
                      kafka: KafkaSettings | None = None) -> list[AbuseAlert]:
    """Alerts from the beginning of `abuse.alerts` (read_topic), each printed as it comes."""
    return await read_topic("abuse.alerts", AbuseAlert, idle_timeout_s, follow, until,
                            (lambda alert: printer(format_alert(alert))) if printer else None, kafka)


async def tail_alerts(follow: bool = False, timeout_s: float = 5.0) -> None:
    await read_alerts(idle_timeout_s=timeout_s, follow=follow)
