"""Reading the platform's topics from a test."""

from __future__ import annotations

import asyncio
import time

from shared.kafka import make_broker


async def collect(stack, topic: str, model, until, timeout_s: float = 60.0, raw: bool = False):
    """Read `topic` from the beginning until `until(items)` holds; `raw` gives (bytes, headers)."""
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
        while not until(items) and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
    return items
