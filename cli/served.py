"""Throughput as a client gets it: concurrent callers sending texts to a served model over gRPC (Open
Inference Protocol), beside the same model called directly (onnxruntime in this process, the same
texts per call). The serving benchmark (benchmarks/inference_serving.py) and the demo use it."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shared.oip import OipClient
from shared.textmodel import TextClassifier, speed

HELDOUT = Path(__file__).resolve().parent.parent / "data" / "wordnet" / "heldout.jsonl.gz"


def heldout_texts(n: int) -> list[str]:
    with gzip.open(HELDOUT, "rt") as f:
        return [json.loads(line)["text"] for line in f][:n]


def direct_throughput(model_dir: Path, texts: list[str], per_call: int, seconds: float) -> float:
    """Texts per second of the model alone: onnxruntime on CPU, `per_call` texts a call."""
    return speed(TextClassifier(model_dir, device="cpu"), texts, per_call, seconds)[0]


async def served_point(url: str, key: str, model: str, texts: list[str], per_request: int, concurrency: int,
                       seconds: float, channels: int = 1) -> dict:
    """`concurrency` callers, each sending `per_request` texts a request as fast as answers come,
    for `seconds`: texts per second, and p50/p99 latency in ms."""
    latencies: list[float] = []
    stop_at = time.perf_counter() + seconds

    async def caller(client: OipClient, offset: int) -> None:
        i = offset * per_request
        while time.perf_counter() < stop_at:
            batch = [texts[(i + k) % len(texts)] for k in range(per_request)]
            t = time.perf_counter()
            await client.infer(model, batch)
            latencies.append(time.perf_counter() - t)
            i += concurrency * per_request

    # Each channel is one TCP connection; the kernel spreads connections (not requests) over the
    # serving processes sharing the port.
    clients = [OipClient(url, key) for _ in range(max(1, min(channels, concurrency)))]
    try:
        for client in clients:
            await client.infer(model, texts[:1])
        started = time.perf_counter()
        await asyncio.gather(*(caller(clients[c % len(clients)], c) for c in range(concurrency)))
        elapsed = time.perf_counter() - started
    finally:
        for client in clients:
            await client.close()
    ms = sorted(x * 1000 for x in latencies)
    return {"requests": len(ms), "texts_per_s": len(ms) * per_request / elapsed, "p50_ms": statistics.median(ms),
            "p99_ms": ms[min(len(ms) - 1, int(0.99 * len(ms)))]}


# ---- generative models ----------------------------------------------------------------------------

def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _load_summary(started: float, ttfts: list[float], tokens: int, requests: int) -> dict:
    elapsed = time.perf_counter() - started
    return {"requests": requests, "output_tokens": tokens, "seconds": elapsed, "tokens_per_s": tokens / elapsed,
            "ttft_p50_ms": 1000 * _percentile(ttfts, 0.5), "ttft_p95_ms": 1000 * _percentile(ttfts, 0.95)}


@dataclass
class StreamedChat:
    """One streamed chat completion as a client sees it."""

    text: str
    usage: Any  # the final chunk's usage (prompt, completion, total tokens); None if the server sent none
    ttft_s: float | None  # time to the first content; None if no content came
    seconds: float


async def stream_chat(api, model: str, messages: list[Any], max_tokens: int,
                      on_text: Callable[[str], None] | None = None, **extra: Any) -> StreamedChat:
    """One chat streamed through the OpenAI SDK (`api`: an AsyncOpenAI), greedy, with its usage; each
    piece of content goes to `on_text` as it arrives. `extra` goes in the request's body."""
    sent = time.perf_counter()
    stream = await api.chat.completions.create(
        model=model, messages=messages, max_tokens=max_tokens, temperature=0, stream=True,
        stream_options={"include_usage": True}, extra_body=extra or None)
    parts: list[str] = []
    first = usage = None
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            first = first or time.perf_counter()
            parts.append(chunk.choices[0].delta.content)
            if on_text:
                on_text(chunk.choices[0].delta.content)
        usage = chunk.usage or usage
    return StreamedChat("".join(parts), usage, None if first is None else first - sent, time.perf_counter() - sent)


async def chat_load(base_url: str, key: str, model: str, prompts: list[list[Any]], concurrency: int,
                    requests: int, max_tokens: int) -> dict:
    """`concurrency` OpenAI SDK callers streaming chats of exactly `max_tokens` new tokens (vLLM's
    ignore_eos) until `requests` are answered: output tokens/s and time to first token."""
    import openai

    client = openai.AsyncOpenAI(base_url=base_url, api_key=key, max_retries=0)
    ttfts: list[float] = []
    tokens = 0
    counter = iter(range(requests))

    async def caller() -> None:
        nonlocal tokens
        for i in counter:
            reply = await stream_chat(client, model, prompts[i % len(prompts)], max_tokens, ignore_eos=True)
            if reply.ttft_s is not None:
                ttfts.append(reply.ttft_s)
            tokens += reply.usage.completion_tokens if reply.usage else 0

    try:
        await client.chat.completions.create(model=model, messages=prompts[0], max_tokens=2)  # warm
        started = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(concurrency)))
        return _load_summary(started, ttfts, tokens, requests)
    finally:
        await client.close()


async def wait_for_model(api, model: str, wait_s: float) -> None:
    """Until the OpenAI-compatible API serves `model` (a just-promoted one loads within moments; a
    service just started answers 503 while it loads its models), at most `wait_s`; then its 404 or
    503 is raised."""
    import openai

    deadline = time.monotonic() + wait_s
    while True:
        try:
            await api.models.retrieve(model)
            return
        except (openai.NotFoundError, openai.InternalServerError) as exc:
            if time.monotonic() > deadline or (isinstance(exc, openai.InternalServerError) and exc.status_code != 503):
                raise
            await asyncio.sleep(0.2)


async def chat_answers(base_url: str, key: str, model: str, prompts: list[dict], concurrency: int, max_tokens: int,
                       wait_s: float = 0.0) -> dict:
    """Greedy answers of `model` to every prompt ({"id", "text"}) from `concurrency` OpenAI SDK callers,
    streamed: {"answers": id -> text, "tokens_per_s": output tokens/s, "ttft_p50_ms", "prompt_tokens",
    "cached_tokens" (of those, what the server's prefix cache spared)}. With `wait_s`, a model the
    inference service has not loaded yet (just promoted) is waited for that long."""
    import openai

    api = openai.AsyncOpenAI(base_url=base_url, api_key=key, max_retries=3, timeout=600)
    answers: dict[str, str] = {}
    tokens, prompt_tokens, cached, ttfts = 0, 0, 0, []
    todo = iter(prompts)

    async def caller() -> None:
        nonlocal tokens, prompt_tokens, cached
        for prompt in todo:
            reply = await stream_chat(api, model, [{"role": "user", "content": prompt["text"]}], max_tokens)
            ttfts.append(reply.seconds if reply.ttft_s is None else reply.ttft_s)
            if reply.usage:
                tokens += reply.usage.completion_tokens
                prompt_tokens += reply.usage.prompt_tokens
                details = reply.usage.prompt_tokens_details
                cached += (details.cached_tokens or 0) if details else 0
            answers[prompt["id"]] = reply.text

    try:
        await wait_for_model(api, model, wait_s)
        started = time.perf_counter()
        await asyncio.gather(*(caller() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    finally:
        await api.close()
    return {"answers": answers, "tokens_per_s": tokens / elapsed, "ttft_p50_ms": 1000 * statistics.median(ttfts),
            "prompt_tokens": prompt_tokens, "cached_tokens": cached}


def engine_load(engine, prompts: list[list[dict]], concurrency: int, requests: int, max_tokens: int) -> dict:
    """The same load on the engine called directly (in this process, no API): the model's own speed."""
    import threading

    from shared.generation import SamplingParams, Sequence

    lm = engine.model
    ids = [lm.encode(lm.render_chat(p)) for p in prompts]
    params = SamplingParams(max_tokens=max_tokens, temperature=0.0, ignore_eos=True)
    lock = threading.Lock()
    next_request = iter(range(requests))
    ttfts: list[float] = []
    tokens = [0]
    done = threading.Semaphore(0)

    def submit() -> bool:
        with lock:
            i = next(next_request, None)
        if i is None:
            done.release()
            return False
        sent = time.perf_counter()
        state = {"first": False}

        def emit(step) -> None:
            if not state["first"]:
                state["first"] = True
                ttfts.append(time.perf_counter() - sent)
            if step.finish_reason:
                tokens[0] += step.completion_tokens
                submit()  # this caller's next request, as a client would send it

        engine.submit(Sequence(ids[i % len(ids)], params, emit))
        return True

    started = time.perf_counter()
    for _ in range(concurrency):
        submit()
    for _ in range(concurrency):
        done.acquire()
    return _load_summary(started, ttfts, tokens[0], requests)


@dataclass
class ServedTeacher:
    stack: Any  # cli.stack.EmbeddedStack
    store: Any  # shared.store.ArtifactStore
    base_url: str  # the OpenAI-compatible API


@contextlib.contextmanager
def teacher_lm_served(model_dir: Path, inference_env: dict[str, str]) -> Iterator[ServedTeacher]:
    """An embedded stack of its own (free ports, a temporary folder, removed after) with teacher-lm
    registered, promoted and served by one inference process, its environment plus `inference_env`."""
    from cli.stack import EmbeddedStack, StackConfig
    from shared.registry import ModelRegistry
    from shared.store import ArtifactStore

    with tempfile.TemporaryDirectory() as home:
        stack = EmbeddedStack(StackConfig.on_free_ports(Path(home) / "stack"))
        stack.start_infra()
        os.environ.update(stack.env())
        try:
            store = ArtifactStore(stack.config.s3())
            registry = ModelRegistry(store)
            registry.promote("teacher-lm", registry.register("teacher-lm", model_dir)[0])
            stack._spawn("inference", [sys.executable, "-m", "services.inference"],
                         {**stack.env(), "INFERENCE_PROCESSES": "1", "INFERENCE_MODEL_CACHE": str(Path(home) / "models"),
                          **inference_env})
            stack.wait_services(timeout_s=300, names=("inference",))
            yield ServedTeacher(stack, store, f"http://127.0.0.1:{stack.config.inference_http_port}/v1")
        finally:
            stack.down()
