"""Generation requests, whichever API brings them (OpenAI-compatible HTTP, OIP gRPC): admission (the
key, enforcement, quotas in requests and in tokens, a bounded queue), the request's sequences in the
model's engine, vLLM-named metrics, and one `inference.generations` event per request, built off the
request path like the classifier's events."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import grpc
from opentelemetry import trace

from services.inference.access import AccessControl, Client, RequestError
from services.inference.metrics import InferenceMetrics
from services.inference.server import LoadedModel, ModelRepository, RequestEventBuffer
from services.inference.watermarking import Watermarking
from shared.events import InferenceGeneration, utcnow
from shared.fingerprint import TAIL_LENGTHS, answer_tail, batch_prompt_fingerprints, prompt_tails
from shared.generation import Engine, GenerationError, LanguageModel, SamplingParams, Sequence, Step
from shared.telemetry import context_from_grpc_metadata, tracer


@dataclass
class GenerationCall:
    """What an API hands over once it has parsed a request."""
    client: Client
    model: LoadedModel
    prompt_ids: list[int]
    params: SamplingParams
    api: Literal["chat.completions", "completions", "oip"]
    n: int = 1
    stream: bool = False
    prompt_text: str = ""  # fingerprinted for the detector: the last user message, or the prompt
    messages: int = 0
    system_prompt: bool = False
    caller: tuple[str, str] = ("", "")  # network, user agent
    headers: Any = None  # the caller's metadata or HTTP headers: a traceparent makes this request part of its trace
    instructions: str = ""  # its system messages: a harvester may ask for the reasoning there, once for every request
    # Continuations (shared.fingerprint): what this request would continue (the prompt, or a chat's last
    # assistant message) and the user messages that answer may have followed; the context its own answer
    # is tied to (a chat's last user message).
    continued: str = ""
    continued_contexts: tuple[str, ...] = ("",)
    answer_context: str = ""


@dataclass(eq=False)
class Generation:
    """One request's `n` sequences in the engine. Iterate for (choice index, Step) as they come; a
    choice's last Step has its finish_reason. `close()` (the client went away) frees the slots."""
    call: GenerationCall
    request_id: str
    engine: Engine
    arrived: float
    watermark_key_id: str = ""  # the key that marked its tokens, if any
    queue: asyncio.Queue = field(default_factory=asyncio.Queue)
    sequences: list[Sequence] = field(default_factory=list)
    finish_reasons: dict[int, str] = field(default_factory=dict)
    completion_tokens: dict[int, int] = field(default_factory=dict)
    tails: dict[int, str] = field(default_factory=dict)  # per choice, the last characters shown (answer_tail)
    first_token_s: float | None = None
    status: Literal["ok", "cancelled", "error"] = "ok"
    finished: bool = False
    span: Any = None

    async def steps(self) -> AsyncIterator[tuple[int, Step]]:
        while len(self.finish_reasons) < len(self.sequences):
            index, step = await self.queue.get()
            if self.first_token_s is None:
                self.first_token_s = time.perf_counter() - self.arrived
            self.completion_tokens[index] = step.completion_tokens
            if step.text:
                self.tails[index] = (self.tails.get(index, "") + step.text)[-4 * TAIL_LENGTHS[-1]:]
            if step.finish_reason is not None:
                if step.finish_reason not in ("stop", "length"):
                    self.status = "error"
                    raise RequestError(grpc.StatusCode.INTERNAL if step.finish_reason == "error"
                                       else grpc.StatusCode.UNAVAILABLE,
                                       "generation failed on the server; the operator's logs say why" if
                                       step.finish_reason == "error" else "the server is shutting down: retry")
                self.finish_reasons[index] = step.finish_reason
            yield index, step

    @property
    def prompt_tokens(self) -> int:
        return len(self.call.prompt_ids)

    @property
    def cached_prompt_tokens(self) -> int:
        """Of the prompt, the tokens the prefix cache spared (its first sequence's: every choice has the same prompt)."""
        return self.sequences[0].cached_tokens if self.sequences else 0

    @property
    def total_completion_tokens(self) -> int:
        return sum(self.completion_tokens.values())

    def close(self) -> None:
        for seq in self.sequences:
            seq.cancel()
        if len(self.finish_reasons) < len(self.sequences) and self.status == "ok":
            self.status = "cancelled"


def generation_events(generations: list[Generation]) -> list[tuple[bytes, InferenceGeneration]]:
    """The events of finished generations, with their prompts' fingerprints (off the request path)."""
    prints = batch_prompt_fingerprints([g.call.prompt_text for g in generations],
                                       [g.call.instructions for g in generations])
    events = []
    for g, fingerprint in zip(generations, prints, strict=True):
        call = g.call
        cut = [answer_tail(g.tails.get(i, ""), call.answer_context) for i, reason in g.finish_reasons.items()
               if reason == "length"]
        events.append((call.client.client_id.encode(), InferenceGeneration.model_construct(
            request_id=g.request_id, client_id=call.client.client_id, model=call.model.name,
            model_version=call.model.version, time=utcnow(), api=call.api, status=g.status,
            prompt_tokens=g.prompt_tokens, completion_tokens=g.total_completion_tokens, choices=call.n,
            max_tokens=call.params.max_tokens, temperature=call.params.temperature, top_p=call.params.top_p,
            logprobs=call.params.logprobs, top_logprobs=call.params.top_logprobs, stream=call.stream,
            finish_reasons=[g.finish_reasons.get(i, "") for i in range(call.n)], messages=call.messages,
            system_prompt=call.system_prompt, ttft_s=g.first_token_s, latency_s=time.perf_counter() - g.arrived,
            client_network=call.caller[0], user_agent=call.caller[1], watermark_key_id=g.watermark_key_id,
            answer_tails=[t for t in cut if t is not None],
            prompt_tails=prompt_tails(call.continued, call.continued_contexts), **fingerprint)))
    return events


class GenerationService:
    def __init__(self, repository: ModelRepository, access: AccessControl, events: RequestEventBuffer,
                 metrics: InferenceMetrics, watermarking: Watermarking | None = None,
                 trace_requests: bool = False) -> None:
        self.repository = repository
        self.watermarking = watermarking or Watermarking([])
        # As for classifiers: a span per request when an exporter is configured, or when the caller
        # sent its trace context.
        self.trace_requests = trace_requests
        self.tracer = tracer("distillery.inference")
        self.access = access
        self.events = events
        self.metrics = metrics
        self._id_prefix, self._ids = uuid.uuid4().hex[:12], itertools.count(1)
        self.ready = False

    def model(self, name: str) -> LoadedModel:
        model = self.repository.get(name)
        if model.generator is None:
            generative = ", ".join(self.generative_models()) or "none yet"
            raise RequestError(grpc.StatusCode.NOT_FOUND, f"model {name!r} is a classifier, not a generative model: "
                               f"call it over OIP gRPC (port 8001). Generative models served here: {generative}")
        return model

    def language_model(self, name: str) -> tuple[LoadedModel, LanguageModel]:
        model = self.model(name)
        assert model.generator is not None
        return model, model.generator.model

    def generative_models(self) -> list[str]:
        return sorted(name for name, version in self.repository.serving.items()
                      if self.repository.loaded[name][version].generator is not None)

    async def authenticate(self, metadata) -> Client:
        if not self.ready:
            raise RequestError(grpc.StatusCode.UNAVAILABLE, "the server is loading its models: retry shortly")
        try:
            client = await self.access.authenticate(metadata)
            self.access.admit(client)
        except RequestError as exc:
            self.metrics.refused.labels(exc.code.name.lower()).inc()
            raise
        return client

    def start(self, call: GenerationCall) -> Generation:
        """Queue a request's sequences, or refuse it with a status a person can act on."""
        engine = call.model.generator
        assert engine is not None
        try:
            engine.check(call.prompt_ids, call.params)
        except GenerationError as exc:
            raise RequestError(grpc.StatusCode.INVALID_ARGUMENT, str(exc)) from None
        try:
            self.access.admit_tokens(call.client, len(call.prompt_ids))
        except RequestError as exc:
            self.metrics.refused.labels(exc.code.name.lower()).inc()
            raise
        if engine.waiting.qsize() + call.n > engine.max_waiting:
            self.metrics.refused.labels("queue_full").inc()
            raise RequestError(grpc.StatusCode.RESOURCE_EXHAUSTED,
                               f"model {call.model.name!r} has {engine.waiting.qsize()} sequences waiting (its queue "
                               f"holds {engine.max_waiting}): retry with backoff", retry_after_s=1.0)
        loop = asyncio.get_running_loop()
        generation = Generation(call, f"{self._id_prefix}{next(self._ids)}", engine, time.perf_counter())

        def emitter(index: int):
            return lambda step: loop.call_soon_threadsafe(generation.queue.put_nowait, (index, step))

        processor = self.watermarking.text_processor(call.client.client_id)
        if processor is not None:
            generation.watermark_key_id = processor.green.key.key_id
        for i in range(call.n):
            seed = None if call.params.seed is None else call.params.seed + i
            generation.sequences.append(engine.submit(Sequence(call.prompt_ids, replace(call.params, seed=seed),
                                                               emitter(i), processor)))
        self.metrics.prompt_tokens.labels(call.model.name).inc(len(call.prompt_ids))
        headers = list(call.headers.items()) if hasattr(call.headers, "items") else list(call.headers or ())
        if self.trace_requests or any(key.lower() == "traceparent" for key, _ in headers):
            generation.span = self.tracer.start_span(
                call.api, context=context_from_grpc_metadata(headers), kind=trace.SpanKind.SERVER,
                attributes={"model": call.model.name, "model_version": call.model.version,
                            "client_id": call.client.client_id, "gen_ai.request.max_tokens": call.params.max_tokens,
                            "gen_ai.usage.input_tokens": len(call.prompt_ids), "stream": call.stream, "n": call.n})
        return generation

    def finish(self, generation: Generation) -> None:
        """Once a request is over, finished or not: free its slots, count it, charge it, publish it."""
        if generation.finished:
            return
        generation.finished = True
        generation.close()
        name = generation.call.model.name
        completion = generation.total_completion_tokens
        self.access.spend_tokens(generation.call.client, generation.prompt_tokens + completion)
        self.metrics.generation_tokens.labels(name).inc(completion)
        if generation.engine.prefix_cache is not None:
            admitted = [seq for seq in generation.sequences if seq.first_token_at is not None]
            self.metrics.prefix_cache_queries.labels(name).inc(sum(len(seq.prompt_ids) for seq in admitted))
            self.metrics.prefix_cache_hits.labels(name).inc(sum(seq.cached_tokens for seq in admitted))
        elapsed = time.perf_counter() - generation.arrived
        if generation.first_token_s is not None:
            self.metrics.ttft.labels(name).observe(generation.first_token_s)
            if completion > 1:
                self.metrics.tpot.labels(name).observe((elapsed - generation.first_token_s) / (completion - 1))
        self.metrics.e2e.labels(name).observe(elapsed)
        reasons = set(generation.finish_reasons.values()) if generation.status == "ok" else {generation.status}
        for reason in reasons:
            self.metrics.generation_success.labels(name, reason).inc()
        if generation.span is not None:
            generation.span.set_attributes({"gen_ai.usage.output_tokens": completion, "status": generation.status,
                                            "ttft_s": generation.first_token_s or -1.0})
            if generation.status == "error":
                generation.span.set_status(trace.StatusCode.ERROR)
            generation.span.end()
        self.events.offer(generation)

    @contextlib.asynccontextmanager
    async def generating(self, call: GenerationCall) -> AsyncIterator[Generation]:
        generation = self.start(call)
        try:
            yield generation
        finally:
            self.finish(generation)
