"""Dynamic batching, as Triton does it: requests to one model version wait in a bounded queue and
run together, up to `max_batch_size` texts, the first waiting at most `max_queue_delay_s` for
company. One batch runs at a time per version, so requests that arrive while it runs form the next
one. A full queue answers at once (the caller turns it into RESOURCE_EXHAUSTED) rather than growing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field

import numpy as np

log = logging.getLogger(__name__)


class QueueFull(Exception):
    pass


class DeadlineExpired(Exception):
    """The caller's deadline passed while its request waited: it is not computed."""


@dataclass
class Pending:
    texts: list[str]
    future: asyncio.Future
    enqueued: float
    deadline: float | None = None  # loop time after which nobody waits for the answer


@dataclass
class BatchStats:
    """What the metrics report: batches run, texts in them, time spent queued and computing."""

    batches: int = 0
    texts: int = 0
    requests: int = 0
    queue_seconds: float = 0.0
    compute_seconds: float = 0.0
    batch_sizes: dict[int, int] = field(default_factory=dict)  # texts per batch -> batches


class DynamicBatcher:
    def __init__(self, predict: Callable[[list[str]], np.ndarray], executor: Executor, max_batch_size: int = 64,
                 max_queue_delay_s: float = 0.0, max_queue_texts: int = 4096,
                 on_batch: Callable[[list[Pending], int, float, float], None] | None = None) -> None:
        self.predict = predict
        self.on_batch = on_batch  # (requests, texts, started, finished): the metrics' view of a batch
        self.executor = executor
        self.max_batch_size = max_batch_size
        self.max_queue_delay_s = max_queue_delay_s
        self.max_queue_texts = max_queue_texts
        self.stats = BatchStats()
        self._queue: asyncio.Queue[Pending] = asyncio.Queue()
        self._queued_texts = 0
        self._carry: Pending | None = None  # taken from the queue but too big for the batch it met
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="dynamic-batcher")

    async def stop(self) -> None:
        """Finish what is queued, then stop."""
        while self._queued_texts and self._task and not self._task.done():
            await asyncio.sleep(0.01)
        if self._task:
            self._task.cancel()

    @property
    def queued_texts(self) -> int:
        return self._queued_texts

    async def submit(self, texts: list[str], deadline: float | None = None) -> np.ndarray:
        """Answers `texts`; `deadline` (loop time) is when the caller stops waiting."""
        if self._queued_texts + len(texts) > self.max_queue_texts:
            raise QueueFull(f"the model's queue is full ({self._queued_texts} texts waiting, at most "
                            f"{self.max_queue_texts}): retry with backoff")
        loop = asyncio.get_running_loop()
        item = Pending(texts, loop.create_future(), loop.time(), deadline)
        self._queued_texts += len(texts)
        self._queue.put_nowait(item)
        return await item.future

    async def _next_batch(self) -> list[Pending]:
        loop = asyncio.get_running_loop()
        first = self._carry or await self._queue.get()
        self._carry = None
        batch, size = [first], len(first.texts)
        deadline = loop.time() + self.max_queue_delay_s
        while size < self.max_batch_size:
            try:
                item = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    item = await asyncio.wait_for(self._queue.get(), remaining)
                except TimeoutError:
                    break
            if size + len(item.texts) > self.max_batch_size:
                self._carry = item
                break
            batch.append(item)
            size += len(item.texts)
        return batch

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = await self._next_batch()
            self._queued_texts -= sum(len(p.texts) for p in batch)
            # A request whose caller gave up (cancelled, or its deadline passed) is not computed.
            now = loop.time()
            live = []
            for p in batch:
                if p.deadline is not None and p.deadline <= now and not p.future.done():
                    p.future.set_exception(DeadlineExpired(
                        f"deadline passed after {now - p.enqueued:.3f} s in the queue; not computed"))
                if not p.future.done():
                    live.append(p)
            if not live:
                continue
            texts = [t for p in live for t in p.texts]
            started = loop.time()
            try:
                outputs = await loop.run_in_executor(self.executor, self.predict, texts)
            except Exception as exc:  # the whole batch fails alike; each caller gets the error
                for p in live:
                    if not p.future.done():
                        p.future.set_exception(exc)
                continue
            finished = loop.time()
            self._record(live, len(texts), started, finished)
            start = 0
            for p in live:
                if not p.future.done():
                    p.future.set_result(outputs[start:start + len(p.texts)])
                start += len(p.texts)

    def _record(self, batch: list[Pending], texts: int, started: float, finished: float) -> None:
        s = self.stats
        s.batches += 1
        s.texts += texts
        s.requests += len(batch)
        s.queue_seconds += sum(started - p.enqueued for p in batch)
        s.compute_seconds += finished - started
        s.batch_sizes[texts] = s.batch_sizes.get(texts, 0) + 1
        if self.on_batch:
            self.on_batch(batch, texts, started, finished)
