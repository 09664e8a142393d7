"""Watermarking the answers (shared.watermark) and recording each watermarked one in the ledger;
watermarking generations with a keyed green list (shared.text_watermark), which needs no ledger.

The choice is made on the request path (one HMAC per text); the ledger is written to S3 off it, in
batches: a slow or absent store delays the ledger, never a reply. What the store has not taken yet
is kept (bounded) and written at the next flush and at shutdown; only a crash loses the last
interval.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import socket
import time
from collections import OrderedDict
from concurrent.futures import Executor

import numpy as np

from shared.events import utcnow
from shared.fingerprint import text_sha256
from shared.text_watermark import GreenList, WatermarkProcessor
from shared.watermark import LedgerEntry, WatermarkKey, ledger_prefix, watermark_class

log = logging.getLogger(__name__)


class Watermarking:
    def __init__(self, keys: list[WatermarkKey], fraction: float = 0.005, alerted_fraction: float = 0.05,
                 allow_clients: frozenset[str] = frozenset(), text_delta: float = 0.0) -> None:
        if not 0 <= fraction <= alerted_fraction <= 1:
            raise ValueError(f"watermark fractions must satisfy 0 <= fraction ({fraction}) <= alerted "
                             f"fraction ({alerted_fraction}) <= 1")
        self.key = keys[0] if keys else None  # the newest key marks; older ones only verify
        self.fraction = fraction
        self.alerted_fraction = alerted_fraction
        self.allow_clients = allow_clients
        if text_delta < 0:
            raise ValueError(f"the generations' watermark strength (delta) cannot be negative: {text_delta}")
        self.text_delta = text_delta
        self._green = GreenList(self.key) if self.key is not None else None

    @property
    def enabled(self) -> bool:
        return self.key is not None and self.fraction > 0

    def fraction_for(self, client_id: str, alerted: bool) -> float:
        if not self.enabled or client_id in self.allow_clients:
            return 0.0
        return self.alerted_fraction if alerted else self.fraction

    def text_processor(self, client_id: str) -> WatermarkProcessor | None:
        """The sampler's watermark for a client's generations; None for allow-listed clients, or when off.
        Every generation is marked (not a fraction): the text test needs no ledger, and a thief who
        distils through many keys learns the same green lists from each."""
        if self._green is None or self.text_delta <= 0 or client_id in self.allow_clients:
            return None
        return WatermarkProcessor(self._green, self.text_delta)

    def apply(self, texts: list[str], probabilities: np.ndarray, fraction: float) -> tuple[np.ndarray, list[tuple[int, int, int]]]:
        """Returns the probabilities the client gets and the (row, true class, answer) of each
        watermarked row; the model's own array is not changed."""
        if fraction <= 0:
            return probabilities, []
        key = self.key
        assert key is not None, "a positive fraction comes from fraction_for, which is 0 without a key"
        top = probabilities.argmax(axis=1)
        marked = []
        for row, text in enumerate(texts):
            answer = watermark_class(key, text, int(top[row]), probabilities.shape[1], fraction)
            if answer is not None:
                marked.append((row, int(top[row]), answer))
        if marked:
            probabilities = probabilities.copy()
            for row, true, answer in marked:
                # A swap: the answer takes the top probability, so the vector keeps its shape.
                probabilities[row, [true, answer]] = probabilities[row, [answer, true]]
        return probabilities, marked


class LedgerWriter:
    """Batches ledger entries into one JSONL object per flush, under
    watermark/ledger/<client>/<model>/<date>/<time>-<replica>-<seq>.jsonl."""

    def __init__(self, store, executor: Executor, flush_s: float = 5.0, max_pending: int = 100_000,
                 remember: int = 100_000, process: str = "") -> None:
        self.store = store
        self.executor = executor
        self.flush_s = flush_s
        self.max_pending = max_pending
        self.pending: list[LedgerEntry] = []
        # Inputs already recorded for a client (16-byte digests, about 15 MB at most): a retry of the
        # same text adds nothing to the proof.
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self._remember = remember
        # The serving processes of one pod share its host name: each adds its index.
        self.replica = (socket.gethostname()[:40] or "replica") + (f"-p{process}" if process else "")
        self.written = 0
        self.dropped = 0
        self._seq = 0
        self._task: asyncio.Task | None = None

    def record(self, client_id: str, model: str, version: str, key_id: str, fraction: float, text: str,
               classes: list[str], true: int, answer: int) -> None:
        digest = text_sha256(text)
        seen = hashlib.blake2b(f"{client_id}\0{model}\0{version}\0{digest}".encode(), digest_size=16).digest()
        if seen in self._seen:
            return
        self._seen[seen] = None
        if len(self._seen) > self._remember:
            self._seen.popitem(last=False)
        if len(self.pending) >= self.max_pending:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("watermark ledger entries dropped: %d (the store is not taking them)", self.dropped)
            return
        self.pending.append(LedgerEntry(
            client_id=client_id, model=model, model_version=version, key_id=key_id, fraction=fraction,
            text_sha256=digest, text=text, n_classes=len(classes), true_index=true, true_class=classes[true],
            answer_index=answer, answer_class=classes[answer], time=utcnow()))

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="watermark-ledger")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
        await self.flush()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.flush_s)
            await self.flush()

    async def flush(self) -> None:
        if not self.pending:
            return
        batch, self.pending = self.pending, []
        try:
            await asyncio.get_running_loop().run_in_executor(self.executor, self._write, batch)
            self.written += len(batch)
        except Exception as exc:
            log.warning("could not write %d watermark ledger entries (kept for the next flush): %s", len(batch), exc)
            self.pending = batch + self.pending

    def _write(self, batch: list[LedgerEntry]) -> None:
        groups: dict[tuple[str, str], list[LedgerEntry]] = {}
        for entry in batch:
            groups.setdefault((entry.client_id, entry.model), []).append(entry)
        stamp = time.strftime("%Y-%m-%d/%H%M%S", time.gmtime())
        for (client_id, model), entries in groups.items():
            self._seq += 1
            body = "".join(e.model_dump_json() + "\n" for e in entries).encode("utf-8")
            self.store.put_bytes(f"{ledger_prefix(client_id)}{model}/{stamp}-{self.replica}-{self._seq}.jsonl",
                                 body, "application/x-ndjson")
