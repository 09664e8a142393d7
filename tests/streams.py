"""Reading the platform's topics from a test."""

from __future__ import annotations

import asyncio
import sys
import time

from shared.kafka import make_broker


async def collect(stack, topic: str, model, until, timeout_s: float = 300.0, raw: bool = False):
    """Read `topic` from the beginning until `until(items)` holds; `raw` gives (bytes, headers).
    `timeout_s` only stops a run that would hang: it is no speed goal, so it is generous, and a
    condition that never holds fails here, naming the topic."""
    from faststream.kafka import KafkaMessage

    items: list = []
    broker = make_broker(stack.config.kafka(), "test-reader", logger=None)

    if raw:
        @broker.subscriber(topic, group_id=None, auto_offset_reset="earliest")
        async def on_raw(body, message: KafkaMessage) -> None:
            items.append((message.body, message.headers))
    else:
        @broker.subscriber(topic, group_id=None, auto_offset_reset="earliest")
        async def on_event(body: model) -> None:  # type: ignore[valid-type]
            items.append(body)

    deadline = time.monotonic() + timeout_s
    async with broker:
        await broker.start()
        while not until(items):
            if time.monotonic() > deadline:
                raise AssertionError(f"{topic}: what the test waits for did not arrive ({len(items)} events read)")
            await asyncio.sleep(0.2)
    return items


def start_service(stack, name: str, env: dict[str, str] | None = None, timeout_s: float = 300,
                  service: str | None = None) -> None:
    """Start one service as its own process on the test stack; return once it is consuming. `service`:
    the service to run under the process name `name` (a second replica: `name` "curator-2", `service`
    "curator"); by default the service `name`."""
    log = stack.log_dir / f"{name}.log"
    starts = log.read_text(errors="replace").count("FastStream app started successfully") if log.exists() else 0
    stack._spawn(name, [sys.executable, "-m", f"services.{service or name}"],
                 {**stack.env(), **(env or {})})
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if log.exists() and log.read_text(errors="replace").count("FastStream app started successfully") > starts:
            return
        time.sleep(0.3)
    raise AssertionError(f"{name} did not start: {log.read_text(errors='replace')[-2000:]}")
