"""Querying a teacher for a job's prompts: paced, within budget, cached, and safe to kill.

A job is planned into units of work (`teacher.work`), spread over the topic's partitions; every
unit of one partition ("share") is handled by one replica at a time, in order. Each share keeps a
ledger in the artifact store — units done, counts, money spent, the unit in flight — which only
its current owner writes. That gives, without transactions:

- exactly one `teacher.responses` event per prompt: a unit redelivered after a crash is skipped if
  its ledger says done; if the crash came while its responses were being published, the topic is
  read back from that moment and only the missing ones are sent;
- no prompt paid for twice: every answer is cached (in S3, keyed by teacher, model, parameters and
  text) before it is published, and a replay finds it there;
- a budget never overrun: the job's caps are split over its shares, and a request is sent only if
  the worst it can cost still fits, counting requests in flight; spend that a crash may have left
  unrecorded is charged as if it had all happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from services.teacher.adapters import Answer, TeacherAdapter, TeacherError, available_kinds
from services.teacher.limits import TeacherGate, backoff_s
from shared.events import (
    NOT_ASKED,
    BudgetSpec,
    DistillJob,
    JobStatus,
    Prices,
    TeacherResponse,
    TeacherSpec,
    TeacherWork,
    WorkPrompt,
    utcnow,
)
from shared.prompts import load_prompts
from shared.store import ArtifactStore

log = logging.getLogger(__name__)
Publish = Callable[..., Awaitable[object]]
COUNTS = ("prompts", "answered", "cached", "failed", "not_asked", "queries", "rate_limited", "input_tokens",
          "output_tokens")


def job_prefix(job_id: str) -> str:
    return f"jobs/{job_id}/teacher"


# ---- the response cache ---------------------------------------------------------------------

class ResponseCache:
    """One object per answer: cache/teacher/<2 hex>/<sha256>.json. The key covers the teacher (kind,
    address, model, version), every parameter that changes the answer, and the text."""

    PREFIX = "cache/teacher"

    def __init__(self, store: ArtifactStore, threads: int = 16) -> None:
        self.store = store
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="cache")

    @staticmethod
    def key(identity: dict, text: str) -> str:
        digest = hashlib.sha256(json.dumps({"teacher": identity, "text": text}, sort_keys=True).encode()).hexdigest()
        return f"{ResponseCache.PREFIX}/{digest[:2]}/{digest}.json"

    async def _run(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    async def get_many(self, keys: list[str]) -> list[dict | None]:
        bodies = await asyncio.gather(*(self._run(self.store.get_optional, k) for k in keys))
        return [json.loads(b) if b is not None else None for b in bodies]

    async def put_many(self, entries: dict[str, dict]) -> None:
        await asyncio.gather(*(self._run(self.store.put_json, k, v) for k, v in entries.items()))


# ---- budgets ----------------------------------------------------------------------------------

def cost_of(prices: Prices, requests: int, input_tokens: int, output_tokens: int) -> float:
    return (prices.per_request * requests + prices.per_million_input_tokens * input_tokens / 1e6
            + prices.per_million_output_tokens * output_tokens / 1e6)


@dataclass
class Spend:
    queries: float = 0
    tokens: float = 0
    cost: float = 0.0

    def __add__(self, other: Spend) -> Spend:
        return Spend(self.queries + other.queries, self.tokens + other.tokens, self.cost + other.cost)

    def __sub__(self, other: Spend) -> Spend:
        return Spend(self.queries - other.queries, self.tokens - other.tokens, self.cost - other.cost)


def budget_share(budget: BudgetSpec, fraction: float) -> Spend:
    """This share's caps (infinite where the job sets none)."""
    inf = float("inf")
    return Spend(budget.max_queries * fraction if budget.max_queries is not None else inf,
                 budget.max_tokens * fraction if budget.max_tokens is not None else inf,
                 budget.max_cost * fraction if budget.max_cost is not None else inf)


class BudgetExhausted(Exception):
    pass


class Budget:
    """Spend so far plus what requests in flight may still cost, against the share's caps."""

    def __init__(self, caps: Spend, spent: Spend) -> None:
        self.caps = caps
        self.spent = spent
        self.held = Spend()

    def exceeded_by(self, worst: Spend) -> str | None:
        would = self.spent + self.held + worst
        for name in ("queries", "tokens", "cost"):
            # A hair of slack so that float sums of exactly the budget still fit.
            if getattr(would, name) > getattr(self.caps, name) * (1 + 1e-9) + 1e-12:
                return f"{name} budget reached ({getattr(self.spent, name):g} spent of {getattr(self.caps, name):g})"
        return None

    def hold(self, worst: Spend) -> None:
        reason = self.exceeded_by(worst)
        if reason:
            raise BudgetExhausted(reason)
        self.held = self.held + worst

    def settle(self, held: Spend, actual: Spend) -> None:
        self.held = self.held - held
        self.spent = self.spent + actual


# ---- the ledger of one share of a job --------------------------------------------------------

@dataclass
class ShareLedger:
    job_id: str
    share: int
    done: set[int] = field(default_factory=set)
    done_prompts: int = 0
    counts: Counter = field(default_factory=Counter)
    spent: Spend = field(default_factory=Spend)
    inflight: dict | None = None  # {"batch", "state": querying|publishing, "worst": Spend, "since_ms", "errors"}

    @property
    def key(self) -> str:
        return f"{job_prefix(self.job_id)}/shares/{self.share:04d}.json"

    @classmethod
    def load(cls, store: ArtifactStore, job_id: str, share: int) -> ShareLedger:
        ledger = cls(job_id, share)
        body = store.get_optional(ledger.key)
        if body is not None:
            doc = json.loads(body)
            ledger.done = set(doc["done"])
            ledger.done_prompts = doc["done_prompts"]
            ledger.counts = Counter(doc["counts"])
            ledger.spent = Spend(**doc["spent"])
            ledger.inflight = doc.get("inflight")
        return ledger

    def save(self, store: ArtifactStore) -> None:
        store.put_json(self.key, {"job_id": self.job_id, "share": self.share, "done": sorted(self.done),
                                  "done_prompts": self.done_prompts, "counts": dict(self.counts),
                                  "spent": vars(self.spent), "inflight": self.inflight, "updated": utcnow()})


def job_totals(store: ArtifactStore, job_id: str) -> tuple[Counter, Spend, int]:
    """Counts, spend and prompts done, summed over the job's shares."""
    counts: Counter[str] = Counter()
    spent, done = Spend(), 0
    for key in store.list(f"{job_prefix(job_id)}/shares/"):
        doc = store.get_json(key)
        counts.update(doc["counts"])
        spent = spent + Spend(**doc["spent"])
        done += doc["done_prompts"]
    return counts, spent, done


# ---- asking the teacher -----------------------------------------------------------------------

class Querier:
    """Sends texts to one teacher: split into requests, paced by the teacher's gate, retried, and
    each request held against the budget at its worst case before it goes."""

    def __init__(self, adapter: TeacherAdapter, gate: TeacherGate, budget: Budget, counts: Counter,
                 on_answered: Callable[[list[str], list[Answer]], Awaitable[None]] | None = None) -> None:
        self.adapter = adapter
        self.on_answered = on_answered
        self.spec: TeacherSpec = adapter.spec
        self.gate = gate
        self.budget = budget
        self.counts = counts
        self.stopped: str | None = None  # why no more requests go out (a budget reached)

    def worst_case(self, texts: list[str]) -> tuple[Spend, int, int]:
        expected_in, upper_in = self.adapter.input_tokens(texts)
        out = self.adapter.max_output_tokens(texts)
        return Spend(1, upper_in + out, cost_of(self.spec.prices, 1, upper_in, out)), expected_in, out

    async def ask(self, texts: list[str]) -> list[Answer]:
        size = self.adapter.texts_per_request
        parts = await asyncio.gather(*(self._request(texts[i:i + size]) for i in range(0, len(texts), size)))
        return [answer for part in parts for answer in part]

    async def _request(self, texts: list[str]) -> list[Answer]:
        last_error = ""
        for attempt in range(1, self.spec.max_attempts + 1):
            if self.stopped:
                return [Answer(error=f"{NOT_ASKED}{self.stopped}") for _ in texts]
            await self.gate.wait_unpaused()
            worst, expected_in, out = self.worst_case(texts)
            try:
                self.budget.hold(worst)
            except BudgetExhausted as exc:
                self.stopped = str(exc)
                return [Answer(error=f"{NOT_ASKED}{exc}") for _ in texts]
            actual = Spend(1, 0, 0.0)
            async with self.gate.concurrency:
                # Inside the slot, so that a request queued before the circuit opened waits too.
                await self.gate.breaker.wait_ready()
                await self.gate.requests.take(1)
                await self.gate.tokens.take(expected_in + out)
                await self.gate.wait_unpaused()  # a 429 may have come while this one waited its turn
                self.counts["queries"] += 1
                try:
                    answers = await self.adapter.request(texts)
                    if self.on_answered:
                        # Still inside the slot: an answer is cached before its slot is free, so a
                        # crash can lose at most the requests in flight.
                        await self.on_answered(texts, answers)
                except TeacherError as exc:
                    # A failed request counts against the query budget; vendors bill no tokens for it.
                    self.budget.settle(worst, actual)
                    self.gate.tokens.give_back(expected_in + out)
                    last_error = str(exc)
                    if exc.rate_limited:
                        self.counts["rate_limited"] += 1
                        self.gate.breaker.trial_running = False
                        self.gate.pause(exc.retry_after_s if exc.retry_after_s is not None else backoff_s(attempt))
                        continue
                    if not exc.retryable:
                        self.gate.breaker.success()  # it answered, if only to refuse
                        break
                    self.gate.breaker.failure()
                    log.info("teacher %s: attempt %d failed: %s", self.gate.name, attempt, exc)
                    wait = True
                else:
                    wait = False
            if wait:
                await asyncio.sleep(backoff_s(attempt))
                continue
            self.gate.breaker.success()
            used_in = sum(a.input_tokens for a in answers) or expected_in
            used_out = sum(a.output_tokens for a in answers) or (out if expected_in else 0)
            self.budget.settle(worst, Spend(1, used_in + used_out, cost_of(self.spec.prices, 1, used_in, used_out)))
            self.counts["input_tokens"] += used_in
            self.counts["output_tokens"] += used_out
            self.gate.tokens.give_back(expected_in + out - used_in - used_out)
            return answers
        return [Answer(error=f"failed after {attempt} attempt(s): {last_error}") for _ in texts]


# ---- planning a job ---------------------------------------------------------------------------

def plan_batches(job: DistillJob, prompts: list[tuple[str, str]], partitions: int) -> list[TeacherWork]:
    size = job.teacher.batch_size
    chunks = [prompts[i:i + size] for i in range(0, len(prompts), size)]
    shares = min(partitions, len(chunks))
    return [TeacherWork(job_id=job.job_id, batch=b, batches=len(chunks), share=b % shares, shares=shares,
                        total=len(prompts), teacher=job.teacher, budget=job.budget,
                        prompts=[WorkPrompt(prompt_id=pid, seq=b * size + i, text=text)
                                 for i, (pid, text) in enumerate(chunk)])
            for b, chunk in enumerate(chunks)]


def validate_teacher(spec: TeacherSpec) -> None:
    if spec.kind not in available_kinds():
        raise ValueError(f"unknown teacher kind {spec.kind!r}; known kinds: {', '.join(available_kinds())}")
    if spec.kind == "openai-chat" and not spec.classes:
        raise ValueError("an openai-chat teacher needs `classes` in the job")


# ---- the service's state and handlers ---------------------------------------------------------

@dataclass
class TeacherContext:
    store: ArtifactStore
    publish_response: Publish
    publish_status: Publish
    publish_work: Publish
    kafka_read_since: Callable[[int], AsyncIterator[Any]]  # ms -> records of teacher.responses
    open_adapter: Callable[[TeacherSpec], Awaitable[TeacherAdapter]]
    gate_for: Callable[[TeacherSpec], TeacherGate]
    work_partitions: Callable[[], int]
    progress_every_s: float = 2.0
    cache: ResponseCache = field(init=False)
    last_progress: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.cache = ResponseCache(self.store)

    async def io(self, fn, *args):
        return await asyncio.to_thread(fn, *args)

    async def status(self, job_id: str, state: str, message: str, counts: Counter | None = None,
                     spent: Spend | None = None) -> None:
        numbers = {k: 0.0 for k in COUNTS} if counts is not None else {}
        numbers.update({k: float(v) for k, v in (counts or {}).items()})
        if spent is not None:
            numbers["spent"] = round(spent.cost, 6)
        await self.publish_status(JobStatus(job_id=job_id, stage="teacher", state=state, message=message,
                                            counts=numbers), key=job_id.encode())


async def plan_job(job: DistillJob, ctx: TeacherContext) -> int:
    """Split a job into units of work on `teacher.work`. Planning again (a redelivered job) sends
    nothing new once the plan is recorded; units sent twice are skipped by their share's ledger."""
    plan_key = f"{job_prefix(job.job_id)}/plan.json"
    if await ctx.io(ctx.store.exists, plan_key):
        log.info("job %s is already planned", job.job_id)
        return 0
    validate_teacher(job.teacher)
    prompts, unusable = await ctx.io(load_prompts, job, ctx.store)
    if not prompts:
        raise ValueError(f"job {job.job_id} has no usable prompt ({unusable} unusable source rows)")
    units = plan_batches(job, prompts, ctx.work_partitions())
    await ctx.status(job.job_id, "started",
                     f"{len(prompts)} prompts for {job.teacher.kind} teacher {job.teacher.model} at "
                     f"{job.teacher.url}, in {len(units)} units over {units[0].shares} shares"
                     + (f"; {unusable} unusable source rows skipped" if unusable else ""),
                     Counter(prompts=len(prompts), unusable_rows=unusable))
    for unit in units:
        await ctx.publish_work(unit, key=job.job_id.encode(), partition=unit.share)
    await ctx.io(ctx.store.put_json, plan_key, {"job_id": job.job_id, "prompts": len(prompts), "units": len(units),
                                                "shares": units[0].shares, "unusable_rows": unusable,
                                                "planned_at": utcnow()})
    return len(units)


def response_for(work: TeacherWork, prompt: WorkPrompt, classes: list[str], answer: Answer | dict,
                 cached: bool = False) -> TeacherResponse:
    if isinstance(answer, dict):
        answer = Answer(**answer)
    event = TeacherResponse(job_id=work.job_id, prompt_id=prompt.prompt_id, seq=prompt.seq, total=work.total,
                            text=prompt.text, teacher_model=work.teacher.model,
                            teacher_version=answer.model_version or work.teacher.version, classes=classes,
                            probabilities=answer.probabilities, embedding=answer.embedding,
                            completion=answer.completion, error=answer.error, cached=cached)
    if answer.error is not None:
        event.probabilities = event.embedding = event.completion = None
    return event


async def open_with_retries(ctx: TeacherContext, spec: TeacherSpec) -> TeacherAdapter:
    """Open (or reuse) the adapter, waiting out a teacher that is down for a while."""
    for attempt in range(1, spec.max_attempts + 1):
        try:
            return await ctx.open_adapter(spec)
        except TeacherError as exc:
            if not exc.retryable or attempt == spec.max_attempts:
                raise
            log.warning("teacher %s at %s not reachable (%s); trying again", spec.model, spec.url, exc)
            await asyncio.sleep(exc.retry_after_s or backoff_s(attempt, base_s=1.0))
    raise AssertionError("unreachable")


async def published_prompt_ids(ctx: TeacherContext, job_id: str, since_ms: int) -> set[str]:
    found = set()
    async for record in ctx.kafka_read_since(since_ms):
        if record.key == job_id.encode():
            with contextlib.suppress(ValueError, KeyError, TypeError):
                found.add(json.loads(record.value)["prompt_id"])
    return found


async def work_on(work: TeacherWork, ctx: TeacherContext) -> None:
    ledger: ShareLedger = await ctx.io(ShareLedger.load, ctx.store, work.job_id, work.share)
    if work.batch in ledger.done:
        log.info("job %s unit %d was done before: skipped", work.job_id, work.batch)
        return
    events, already = await unit_responses(work, ctx, ledger)
    missing = [e for e in events if e.prompt_id not in already]
    await asyncio.gather(*(ctx.publish_response(e, key=work.job_id.encode()) for e in missing))
    ledger.done.add(work.batch)
    ledger.done_prompts += len(work.prompts)
    ledger.inflight = None
    await ctx.io(ledger.save, ctx.store)
    await report(work, ctx, share_finished=len(ledger.done) == units_in_share(work))


async def unit_responses(work: TeacherWork, ctx: TeacherContext,
                         ledger: ShareLedger) -> tuple[list[TeacherResponse], set[str]]:
    """The unit's responses, and the prompt ids among them already in `teacher.responses`."""
    try:
        adapter = await open_with_retries(ctx, work.teacher)
    except (TeacherError, ValueError) as exc:
        # A teacher that cannot be reached or refuses the job: every prompt of the unit says why, so
        # the job still ends (and nothing downstream waits for answers that will not come).
        ledger.counts.update(prompts=len(work.prompts), failed=len(work.prompts))
        return [response_for(work, p, [], Answer(error=f"teacher unavailable: {exc}")) for p in work.prompts], set()
    identity = adapter.cache_identity()
    keys = [ResponseCache.key(identity, p.text) for p in work.prompts]
    inflight = ledger.inflight or {}
    if inflight.get("state") == "querying":
        # Killed while asking: what it may have spent is charged whole; what it got back is cached.
        ledger.spent = ledger.spent + Spend(**inflight["worst"])
        ledger.inflight, inflight = None, {}
    if not (inflight.get("batch") == work.batch and inflight.get("state") == "publishing"):
        return await answer_unit(work, ctx, adapter, ledger, keys), set()
    # Killed while publishing: send only what did not make it into the topic.
    already = await published_prompt_ids(ctx, work.job_id, inflight["since_ms"] - 5000)
    cached = await ctx.cache.get_many(keys)
    errors = inflight.get("errors", {})
    events = [response_for(work, p, (c or {}).get("classes", adapter.classes),
                           Answer(error=errors.get(p.prompt_id, "answer lost")) if c is None else c["answer"],
                           cached=p.prompt_id in inflight.get("cached", []))
              for p, c in zip(work.prompts, cached)]
    log.warning("job %s unit %d: resuming an interrupted publish, %d of %d responses already out",
                work.job_id, work.batch, len(already & {p.prompt_id for p in work.prompts}), len(work.prompts))
    return events, already


def units_in_share(work: TeacherWork) -> int:
    return len(range(work.share, work.batches, work.shares))


async def answer_unit(work: TeacherWork, ctx: TeacherContext, adapter: TeacherAdapter, ledger: ShareLedger,
                      keys: list[str]) -> list[TeacherResponse]:
    cached = await ctx.cache.get_many(keys)
    misses = [i for i, c in enumerate(cached) if c is None]
    answers: dict[int, Answer] = {}
    counts = ledger.counts
    counts["prompts"] += len(work.prompts)
    counts["cached"] += len(work.prompts) - len(misses)
    stop_key = f"{job_prefix(work.job_id)}/stopped.json"
    stopped = await ctx.io(ctx.store.get_optional, stop_key) if misses else None
    key_of = dict(zip((p.text for p in work.prompts), keys))

    async def cache_answers(texts: list[str], answers: list[Answer]) -> None:
        await ctx.cache.put_many({key_of[t]: {"answer": vars(a), "classes": adapter.classes,
                                              "teacher": adapter.cache_identity(), "created": utcnow().isoformat()}
                                  for t, a in zip(texts, answers) if a.error is None})

    querier = Querier(adapter, ctx.gate_for(work.teacher),
                      Budget(budget_share(work.budget, 1 / work.shares), ledger.spent), counts, cache_answers)
    if stopped is not None:
        querier.stopped = json.loads(stopped)["reason"]
    if misses and not querier.stopped:
        # Recorded before anything is sent: if this replica dies mid-unit, its successor charges the
        # unit's worst case, so a crash can never hide spend from the budget.
        texts = [work.prompts[i].text for i in misses]
        worst = Spend()
        for start in range(0, len(texts), adapter.texts_per_request):
            request_worst = querier.worst_case(texts[start:start + adapter.texts_per_request])[0]
            worst = worst + Spend(request_worst.queries * work.teacher.max_attempts, request_worst.tokens,
                                  request_worst.cost + work.teacher.prices.per_request * (work.teacher.max_attempts - 1))
        remaining = querier.budget.caps - ledger.spent
        worst = Spend(min(worst.queries, remaining.queries), min(worst.tokens, remaining.tokens),
                      min(worst.cost, remaining.cost))
        ledger.inflight = {"batch": work.batch, "state": "querying", "worst": vars(worst), "since_ms": now_ms()}
        await ctx.io(ledger.save, ctx.store)
        for i, answer in zip(misses, await querier.ask(texts)):
            answers[i] = answer
    else:
        answers = {i: Answer(error=f"{NOT_ASKED}{querier.stopped}") for i in misses}
    ledger.spent = querier.budget.spent
    errors = {}
    for i, answer in answers.items():
        if answer.error is None:
            counts["answered"] += 1
        elif answer.error.startswith(NOT_ASKED):
            counts["not_asked"] += 1
            errors[work.prompts[i].prompt_id] = answer.error
        else:
            counts["failed"] += 1
            errors[work.prompts[i].prompt_id] = answer.error
    events = [response_for(work, p, c["classes"], c["answer"], cached=True) if c is not None
              else response_for(work, p, adapter.classes, answers[i])
              for i, (p, c) in enumerate(zip(work.prompts, cached))]
    ledger.inflight = {"batch": work.batch, "state": "publishing", "since_ms": now_ms(), "errors": errors,
                       "cached": [p.prompt_id for p, c in zip(work.prompts, cached) if c is not None]}
    await ctx.io(ledger.save, ctx.store)
    if querier.stopped and stopped is None:
        await ctx.io(ctx.store.put_json, stop_key, {"reason": querier.stopped, "share": work.share, "time": utcnow()})
        totals, spent, _ = await ctx.io(job_totals, ctx.store, work.job_id)
        await ctx.status(work.job_id, "stopped", f"budget reached: {querier.stopped}; the prompts left are "
                                                 "answered 'not asked' and the job goes on with what it has",
                         totals, spent)
    return events


def now_ms() -> int:
    return int(time.time() * 1000)


async def report(work: TeacherWork, ctx: TeacherContext, share_finished: bool) -> None:
    """Progress every few seconds per job and replica; `done` once, by whoever finishes the last unit
    (only a replica that has just finished a share needs to look)."""
    now = time.monotonic()
    if not share_finished and now - ctx.last_progress.get(work.job_id, 0) < ctx.progress_every_s:
        return
    ctx.last_progress[work.job_id] = now
    counts, spent, done = await ctx.io(job_totals, ctx.store, work.job_id)
    counts["total"] = work.total
    summary = (f"{done}/{work.total} prompts: {counts['answered']} answered, {counts['cached']} cached, "
               f"{counts['failed']} failed, {counts['not_asked']} not asked; {counts['queries']} queries, "
               f"spent {spent.cost:.4f}")
    if done < work.total:
        await ctx.status(work.job_id, "progress", summary, counts, spent)
        return
    # Workers, or replicas, finishing a job's last units together: the one whose marker is written
    # first (a conditional write) announces `done`.
    marker = {"counts": dict(counts), "spent": vars(spent), "time": utcnow()}
    if not await ctx.io(ctx.store.create_json, f"{job_prefix(work.job_id)}/done.json", marker):
        return
    await ctx.status(work.job_id, "done", summary, counts, spent)
    ctx.last_progress.pop(work.job_id, None)
