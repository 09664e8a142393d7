"""Dynamic batching on its own: batches fill up to their size, a request bigger than the room left
waits for the next batch, callers that gave up are not computed, and a failing batch fails each
of its callers."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from services.inference.batching import DynamicBatcher, QueueFull


def slow_echo(calls: list[list[str]], seconds: float = 0.05):
    def predict(texts: list[str]) -> np.ndarray:
        calls.append(list(texts))
        time.sleep(seconds)
        return np.asarray([[float(len(t))] for t in texts], dtype=np.float32)
    return predict


async def test_batches_fill_to_their_size_and_keep_each_callers_rows():
    calls: list[list[str]] = []
    batcher = DynamicBatcher(slow_echo(calls), ThreadPoolExecutor(1), max_batch_size=8, max_queue_delay_s=0.01)
    batcher.start()
    texts = [[("x" * (i + 1))] * (1 + i % 3) for i in range(20)]  # requests of 1-3 texts
    results = await asyncio.gather(*(batcher.submit(t) for t in texts))
    await batcher.stop()
    for request, rows in zip(texts, results):
        assert rows[:, 0].tolist() == [len(t) for t in request]
    assert all(len(call) <= 8 for call in calls) and len(calls) < len(texts)
    assert batcher.stats.requests == 20 and batcher.stats.texts == sum(len(t) for t in texts)


async def test_a_full_queue_refuses_and_callers_who_gave_up_are_not_computed():
    calls: list[list[str]] = []
    batcher = DynamicBatcher(slow_echo(calls, 0.2), ThreadPoolExecutor(1), max_batch_size=1, max_queue_texts=3)
    batcher.start()
    running = asyncio.ensure_future(batcher.submit(["first"]))
    await asyncio.sleep(0.05)  # "first" is computing; the queue is empty again
    waiting = [asyncio.ensure_future(batcher.submit([f"w{i}"])) for i in range(3)]
    await asyncio.sleep(0)
    with pytest.raises(QueueFull, match="queue is full"):
        await batcher.submit(["one too many"])
    waiting[1].cancel()  # a deadline passed
    await asyncio.gather(running, waiting[0], waiting[2])
    await batcher.stop()
    assert ["w1"] not in calls and ["w0"] in calls and ["w2"] in calls


async def test_a_failing_batch_fails_each_caller_and_the_batcher_goes_on():
    state = {"fail": True}

    def predict(texts):
        if state["fail"]:
            state["fail"] = False
            raise RuntimeError("onnxruntime failed")
        return np.ones((len(texts), 1), dtype=np.float32)

    batcher = DynamicBatcher(predict, ThreadPoolExecutor(1), max_batch_size=4, max_queue_delay_s=0.05)
    batcher.start()
    results = await asyncio.gather(batcher.submit(["a"]), batcher.submit(["b"]), return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)
    assert (await batcher.submit(["c"])).shape == (1, 1)
    await batcher.stop()
