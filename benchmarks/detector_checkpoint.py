"""How long the detector's checkpoint holds up its event loop: the longest waits of a task that
ticks every millisecond while the app checkpoints a partition of heavy chat clients (each one of
the tuning harness's ordinary clients, its first 256 requests, under many client ids), against
the checkpoint as it was made before 2026-12-06 (every client's state made and encoded in one go
on the loop), in the same run. The upload is left out (a store that discards what it is given):
it runs in a thread, on bytes made already.

    .venv/bin/python -m benchmarks.detector_checkpoint --clients 1000"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import time
from collections.abc import Awaitable, Callable

TOPIC = "inference.generations"


class DiscardingStore:
    def put_bytes(self, key: str, body: bytes, content_type: str) -> None:
        pass


async def waits_while(work: Callable[[], Awaitable[object]]) -> tuple[float, list[float]]:
    """(seconds the work took, every wait of a 1 ms ticker meanwhile)."""
    waits: list[float] = []

    async def ticker() -> None:
        last = time.perf_counter()
        while True:
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            waits.append(now - last)
            last = now

    task = asyncio.create_task(ticker())
    await asyncio.sleep(0.01)
    started = time.perf_counter()
    await work()
    took = time.perf_counter() - started
    await asyncio.sleep(0.01)  # the ticker's wait across the work's last stretch
    task.cancel()
    return took, waits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-freeze", action="store_true", help="leave the modules' objects to the collector")
    args = parser.parse_args()

    import services.detector.app as app
    from cli.chat_simulator import chat_population, generation_events
    from shared.events import InferenceGeneration

    if not args.no_freeze:
        gc.collect()
        gc.freeze()  # as the app does once it has started
    events = [InferenceGeneration.model_validate_json(b)
              for b in generation_events(chat_population(20, 0, seed=3), "teacher-lm", seed=3)]
    by_client: dict[str, list[InferenceGeneration]] = {}
    for event in events:
        by_client.setdefault(event.client_id, []).append(event)
    heavy = max(by_client.values(), key=len)[:256]
    del events, by_client
    for i in range(args.clients):
        for event in heavy:
            app.detector.observe(event.model_copy(update={"client_id": f"c{i}", "request_id": f"{event.request_id}-{i}"}))
        app.client_partition[(f"c{i}", "teacher-lm")] = (TOPIC, 0)
    app.store = DiscardingStore()  # type: ignore[assignment]
    partitions = app.client_partitions[TOPIC]
    partitions.offsets[0] = 1

    async def now() -> None:
        partitions.checkpointed.clear()
        await partitions.save(lambda partition: app.clients_of(TOPIC, partition))

    async def before() -> None:  # a129d6a's: made and encoded in one go, on the loop
        state = {"clients": [{"client_id": c, "model": m, "state": s.to_json()} for (c, m), s in app.detector.clients.items()
                             if app.client_partition.get((c, m)) == (TOPIC, 0)]}
        json.dumps({"offset": 1, "time": "", "state": state}).encode()

    print(f"{args.clients} clients of {len(heavy)} chat requests each, one partition; "
          f"modules' objects {'left to the collector' if args.no_freeze else 'frozen'}; {args.repeats} repeats")
    for name, work in (("in one go (before)", before), ("in pieces (now)", now)):
        for collector in ("on", "off"):
            took, longest = [], []
            for _ in range(args.repeats):
                gc.collect()
                (gc.enable if collector == "on" else gc.disable)()
                seconds, waits = asyncio.run(waits_while(work))
                gc.enable()
                took.append(seconds)
                longest.append(max(waits))
            print(f"{name}, garbage collector {collector}: made in {min(took) * 1000:.0f}-{max(took) * 1000:.0f} ms; "
                  f"longest event-loop wait {min(longest) * 1000:.0f}-{max(longest) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
