"""How long the detector's checkpoint holds up its event loop: the longest waits of a task that
ticks every millisecond while the app serialises a partition of heavy chat clients (each one of
the tuning harness's ordinary clients, its first 256 requests, under many client ids), with
Python's garbage collector on, as deployed, and off (what the serialisation alone costs).

    .venv/bin/python -m benchmarks.detector_checkpoint --clients 1000"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time


async def stalls_while(work) -> tuple[float, list[float]]:
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
    args = parser.parse_args()

    import services.detector.app as app
    from cli.chat_simulator import chat_population, generation_events
    from shared.events import InferenceGeneration

    gc.collect()
    gc.freeze()  # as the app does once it has started

    events = [InferenceGeneration.model_validate_json(b)
              for b in generation_events(chat_population(20, 0, seed=3), "teacher-lm", seed=3)]
    by_client: dict[str, list[InferenceGeneration]] = {}
    for event in events:
        by_client.setdefault(event.client_id, []).append(event)
    heavy = max(by_client.values(), key=len)[:256]
    for i in range(args.clients):
        for event in heavy:
            app.detector.observe(event.model_copy(update={"client_id": f"c{i}", "request_id": f"{event.request_id}-{i}"}))
        app.client_partition[(f"c{i}", "teacher-lm")] = ("inference.generations", 0)

    async def checkpoint() -> None:
        await app.clients_of("inference.generations", 0)

    print(f"{args.clients} clients of {len(heavy)} chat requests each, one partition")
    for collector in ("on", "off"):
        (gc.enable if collector == "on" else gc.disable)()
        took, waits = asyncio.run(stalls_while(checkpoint))
        longest = sorted(waits, reverse=True)[:3]
        print(f"garbage collector {collector}: serialised in {took * 1000:.0f} ms; "
              f"longest event-loop waits {', '.join(f'{w * 1000:.1f}' for w in longest)} ms")
    gc.enable()


if __name__ == "__main__":
    main()
