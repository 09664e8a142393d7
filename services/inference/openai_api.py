"""The OpenAI-compatible HTTP API for generative models (port 8000, as vLLM serves it):
`POST /v1/chat/completions`, `POST /v1/completions`, `GET /v1/models`, and `GET /health`.

The contract is the `openai` SDK's: the same request fields, response and chunk objects, server-sent
events ending in `data: [DONE]`, and OpenAI error objects (`{"error": {"message", "type", "param",
"code"}}`) with the status codes the SDK turns into its exceptions. Keys, enforcement and quotas are
the inference service's own (services.inference.access); a request's sequences run in the model's
continuous-batching engine (shared.generation) and leave it the moment their client goes away."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator
from typing import Any, Literal

import grpc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.inference.access import RequestError
from services.inference.generative import Generation, GenerationCall, GenerationService
from shared.fingerprint import network_of
from shared.generation import MAX_TOP_LOGPROBS, LanguageModel, SamplingParams, TokenLogprob

HTTP_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: (400, "invalid_request_error"),
    grpc.StatusCode.UNAUTHENTICATED: (401, "authentication_error"),
    grpc.StatusCode.PERMISSION_DENIED: (403, "permission_error"),
    grpc.StatusCode.NOT_FOUND: (404, "not_found_error"),
    grpc.StatusCode.RESOURCE_EXHAUSTED: (429, "rate_limit_error"),
    grpc.StatusCode.UNAVAILABLE: (503, "service_unavailable"),
    grpc.StatusCode.INTERNAL: (500, "server_error"),
}
MAX_CHOICES = 8
MAX_STOP = 4


# ---- requests ---------------------------------------------------------------------------------

class TextPart(BaseModel):
    type: Literal["text"]
    text: str


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart] | None = None
    name: str | None = None

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text for part in self.content)
        return self.content or ""


class StreamOptions(BaseModel):
    include_usage: bool = False


class SamplingFields(BaseModel):
    """What both endpoints take. Fields the SDK may send that change nothing here are ignored, as
    vLLM does; fields that would change the answer and are not built are refused by name."""
    model_config = ConfigDict(extra="ignore")
    model: str
    max_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0, le=2)
    top_p: float | None = Field(None, gt=0, le=1)
    seed: int | None = None
    stop: str | list[str] | None = None
    n: int = Field(1, ge=1, le=MAX_CHOICES)
    stream: bool = False
    stream_options: StreamOptions | None = None
    user: str | None = Field(None, max_length=256)
    ignore_eos: bool = False  # vLLM's extension: generate max_tokens whatever the model says (benchmarks)

    @model_validator(mode="after")
    def _stops(self):
        stops = self.stops()
        if len(stops) > MAX_STOP or any(not s for s in stops):
            raise ValueError(f"stop: up to {MAX_STOP} non-empty strings")
        if self.stream_options is not None and not self.stream:
            raise ValueError("stream_options: only allowed when stream is true")
        return self

    def stops(self) -> tuple[str, ...]:
        return (self.stop,) if isinstance(self.stop, str) else tuple(self.stop or ())

    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)


class ChatCompletionRequest(SamplingFields):
    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    logprobs: bool = False
    top_logprobs: int | None = Field(None, ge=0, le=MAX_TOP_LOGPROBS)
    tools: Any = None
    response_format: Any = None

    @model_validator(mode="after")
    def _chat(self):
        if self.top_logprobs and not self.logprobs:
            raise ValueError("top_logprobs: logprobs must be true when top_logprobs is used")
        if self.tools:
            raise ValueError("tools: tool calling is not supported by this server")
        if self.response_format and getattr(self.response_format, "get", lambda _: None)("type") not in (None, "text"):
            raise ValueError("response_format: only 'text' is supported")
        return self


class CompletionRequest(SamplingFields):
    prompt: str | list[str]
    max_tokens: int | None = Field(16, ge=1)  # the Completions API's default
    logprobs: int | None = Field(None, ge=0, le=MAX_TOP_LOGPROBS)
    echo: bool = False
    suffix: str | None = None
    best_of: int | None = None

    @model_validator(mode="after")
    def _completion(self):
        if self.echo:
            raise ValueError("echo: not supported by this server")
        if self.suffix:
            raise ValueError("suffix: not supported by this server")
        if self.best_of not in (None, 1, self.n):
            raise ValueError("best_of: not supported by this server (use n)")
        prompts = self.prompts()
        if not prompts or any(not p for p in prompts):
            raise ValueError("prompt: a non-empty string, or a list of them")
        if len(prompts) * self.n > MAX_CHOICES:
            raise ValueError(f"prompt and n: at most {MAX_CHOICES} completions a request")
        return self

    def prompts(self) -> list[str]:
        return [self.prompt] if isinstance(self.prompt, str) else list(self.prompt)


# ---- errors -----------------------------------------------------------------------------------

def error_body(message: str, kind: str, param: str | None = None, code: str | None = None) -> dict:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def error_response(exc: RequestError) -> JSONResponse:
    status, kind = HTTP_STATUS.get(exc.code, (500, "server_error"))
    headers = {"Retry-After": str(max(1, round(exc.retry_after_s)))} if exc.retry_after_s is not None else None
    return JSONResponse(error_body(exc.message, kind, code=exc.code.name.lower()), status_code=status, headers=headers)


def validation_response(exc: RequestValidationError) -> JSONResponse:
    first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body",)]
    message = str(first.get("msg", "invalid request")).removeprefix("Value error, ")
    param = ".".join(loc) or None
    if param and not message.startswith(param.split(".")[0] + ":"):
        message = f"{param}: {message}"
    return JSONResponse(error_body(message, "invalid_request_error", param, "invalid_value"), status_code=400)


# ---- logprobs as each API shows them ------------------------------------------------------------

def chat_logprob(lm: LanguageModel, token: TokenLogprob) -> dict:
    def entry(token_id: int, logprob: float) -> dict:
        # The token's own bytes, not its text's: a token can be part of a character.
        return {"token": lm.token_text(token_id), "logprob": logprob, "bytes": list(lm.token_bytes[token_id])}

    return {**entry(token.token_id, token.logprob), "top_logprobs": [entry(t, lp) for t, lp in token.top]}


class CompletionLogprobs:
    """The Completions API's columns: tokens, token_logprobs, top_logprobs, text_offset."""

    def __init__(self) -> None:
        self.offset = 0

    def add(self, lm: LanguageModel, token: TokenLogprob) -> dict:
        text = lm.token_text(token.token_id)
        out = {"tokens": [text], "token_logprobs": [token.logprob],
               "top_logprobs": [{lm.token_text(t): lp for t, lp in token.top}], "text_offset": [self.offset]}
        self.offset += len(text)
        return out


def merge_columns(parts: list[dict]) -> dict | None:
    if not parts:
        return None
    return {key: [v for part in parts for v in part[key]] for key in parts[0]}


# ---- the app ----------------------------------------------------------------------------------

def usage(*generations: Generation) -> dict:
    """As OpenAI reports it, with the prompt tokens the prefix cache spared (`cached_tokens`)."""
    prompt = sum(g.prompt_tokens for g in generations)
    completion = sum(g.total_completion_tokens for g in generations)
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
            "prompt_tokens_details": {"cached_tokens": sum(g.cached_prompt_tokens for g in generations)}}


def sse(payload: dict | str) -> str:
    return f"data: {payload if isinstance(payload, str) else json.dumps(payload, separators=(',', ':'))}\n\n"


def create_openai_app(service: GenerationService, client_address_header: str = "") -> FastAPI:
    app = FastAPI(title="Distillery inference: OpenAI-compatible API", version="1",
                  description="Generative models served by the inference service (the openai SDK is the client).")
    address_header = client_address_header.lower()

    @app.exception_handler(RequestError)
    async def on_request_error(request: Request, exc: RequestError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return validation_response(exc)

    async def client_of(request: Request):
        return await service.authenticate([("authorization", request.headers.get("authorization", ""))])

    def caller(request: Request) -> tuple[str, str]:
        address = request.headers.get(address_header, "").split(",")[0].strip() if address_header else ""
        address = address or (request.client.host if request.client else "")
        return network_of(address), request.headers.get("user-agent", "")[:200]

    @app.get("/health")
    async def health() -> JSONResponse:
        return JSONResponse({"ready": service.ready}, status_code=200 if service.ready else 503)

    def model_object(name: str) -> dict:
        model, lm = service.language_model(name)  # NOT_FOUND (404) unless served
        return {"id": name, "object": "model", "created": int(model.loaded_at), "owned_by": "distillery",
                "root": name, "parent": None, "version": model.version, "max_model_len": lm.context_length}

    @app.get("/v1/models")
    async def models(request: Request) -> dict:
        await client_of(request)
        return {"object": "list", "data": [model_object(name) for name in service.generative_models()]}

    @app.get("/v1/models/{name}")
    async def model(name: str, request: Request) -> dict:
        await client_of(request)
        return model_object(name)

    @app.post("/v1/chat/completions")
    async def chat_completions(body: ChatCompletionRequest, request: Request):
        client = await client_of(request)
        model, lm = service.language_model(body.model)
        messages = [{"role": "system" if m.role == "developer" else m.role, "content": m.text()} for m in body.messages]
        try:
            prompt_ids = lm.encode(lm.render_chat(messages))
        except ValueError as exc:
            raise RequestError(grpc.StatusCode.INVALID_ARGUMENT, f"messages: {exc}") from None
        max_tokens = body.max_completion_tokens or body.max_tokens
        params = sampling(lm, body, max_tokens, len(prompt_ids), body.logprobs, body.top_logprobs or 0)
        users = [m["content"] for m in messages if m["role"] == "user"]
        last_user = users[-1] if users else ""
        answered = max((i for i, m in enumerate(messages) if m["role"] == "assistant"), default=None)
        # A continuation sends the answer back as the last assistant message, after the question it
        # answered, and asks for more ("go on"), or merges the answers so far into one message.
        after = next((m["content"] for m in reversed(messages[:answered]) if m["role"] == "user"), "") \
            if answered is not None else ""
        call = GenerationCall(client, model, prompt_ids, params, "chat.completions", body.n, body.stream,
                              last_user or messages[-1]["content"], len(messages),
                              any(m["role"] == "system" for m in messages), caller(request), request.headers,
                              "\n".join(m["content"] for m in messages if m["role"] == "system"),
                              messages[answered]["content"] if answered is not None else "", (after, last_user),
                              last_user)
        generation = service.start(call)
        response_id = f"chatcmpl-{generation.request_id}"
        created = int(time.time())
        common = {"id": response_id, "created": created, "model": model.name,
                  "system_fingerprint": f"{model.name}-v{model.version}"}
        if body.stream:
            return StreamingResponse(stream_chat(service, generation, lm, common, body.include_usage()),
                                     media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
        texts = [""] * body.n
        logprobs: list[list[dict]] = [[] for _ in range(body.n)]
        try:
            async for index, step in generation.steps():
                texts[index] += step.text
                if step.token is not None:
                    logprobs[index].append(chat_logprob(lm, step.token))
        finally:
            service.finish(generation)
        return {**common, "object": "chat.completion", "usage": usage(generation), "choices": [
            {"index": i, "message": {"role": "assistant", "content": texts[i], "refusal": None},
             "logprobs": {"content": logprobs[i], "refusal": None} if body.logprobs else None,
             "finish_reason": generation.finish_reasons[i]} for i in range(body.n)]}

    @app.post("/v1/completions")
    async def completions(body: CompletionRequest, request: Request):
        client = await client_of(request)
        model, lm = service.language_model(body.model)
        prompts = body.prompts()
        if len(prompts) > 1 and body.stream:
            raise RequestError(grpc.StatusCode.INVALID_ARGUMENT, "prompt: stream one prompt at a time")
        generations = []
        try:
            for prompt in prompts:
                ids = lm.encode(prompt)
                params = sampling(lm, body, body.max_tokens, len(ids), body.logprobs is not None, body.logprobs or 0)
                generations.append(service.start(GenerationCall(client, model, ids, params, "completions", body.n,
                                                                body.stream, prompt, 0, False, caller(request),
                                                                request.headers, continued=prompt)))
        except RequestError:
            for started in generations:
                service.finish(started)
            raise
        common = {"id": f"cmpl-{generations[0].request_id}", "created": int(time.time()), "model": model.name,
                  "system_fingerprint": f"{model.name}-v{model.version}"}
        if body.stream:
            return StreamingResponse(stream_completion(service, generations[0], lm, common, body.include_usage()),
                                     media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
        choices = []
        try:
            for p, generation in enumerate(generations):
                texts = [""] * body.n
                columns: list[list[dict]] = [[] for _ in range(body.n)]
                offsets = [CompletionLogprobs() for _ in range(body.n)]
                async for index, step in generation.steps():
                    texts[index] += step.text
                    if step.token is not None:
                        columns[index].append(offsets[index].add(lm, step.token))
                choices += [{"index": p * body.n + i, "text": texts[i], "logprobs": merge_columns(columns[i]) if
                             body.logprobs is not None else None, "finish_reason": generation.finish_reasons[i]}
                            for i in range(body.n)]
        finally:
            for generation in generations:
                service.finish(generation)
        return {**common, "object": "text_completion", "choices": choices, "usage": usage(*generations)}

    return app


def sampling(lm: LanguageModel, body: SamplingFields, max_tokens: int | None, prompt_tokens: int,
             logprobs: bool, top_logprobs: int) -> SamplingParams:
    return lm.sampling(prompt_tokens, max_tokens, body.temperature, body.top_p, seed=body.seed, stop=body.stops(),
                       logprobs=logprobs, top_logprobs=top_logprobs, ignore_eos=body.ignore_eos)


async def stream_chat(service: GenerationService, generation: Generation, lm: LanguageModel, common: dict,
                      include_usage: bool) -> AsyncIterator[str]:
    """Chunks as the SDK reads them: the role first, then content, then each choice's finish_reason;
    with include_usage, every chunk carries `usage: null` and one last chunk the usage."""
    base = {**common, "object": "chat.completion.chunk"}
    extra = {"usage": None} if include_usage else {}
    try:
        for i in range(generation.call.n):
            yield sse({**base, **extra, "choices": [{"index": i, "delta": {"role": "assistant", "content": ""},
                                                     "logprobs": None, "finish_reason": None}]})
        async for index, step in generation.steps():
            logprobs = {"content": [chat_logprob(lm, step.token)], "refusal": None} if step.token else None
            if step.text or logprobs:
                yield sse({**base, **extra, "choices": [{"index": index, "delta": {"content": step.text},
                                                         "logprobs": logprobs, "finish_reason": None}]})
            if step.finish_reason:
                yield sse({**base, **extra, "choices": [{"index": index, "delta": {}, "logprobs": None,
                                                         "finish_reason": step.finish_reason}]})
        if include_usage:
            yield sse({**base, "choices": [], "usage": usage(generation)})
        yield sse("[DONE]")
    except RequestError as exc:  # the headers are gone: the error goes in the stream
        yield sse(error_body(exc.message, HTTP_STATUS.get(exc.code, (500, "server_error"))[1], code=exc.code.name.lower()))
    finally:  # also when the client went away: its sequences leave the batch now
        service.finish(generation)


async def stream_completion(service: GenerationService, generation: Generation, lm: LanguageModel, common: dict,
                            include_usage: bool) -> AsyncIterator[str]:
    base = {**common, "object": "text_completion"}
    extra = {"usage": None} if include_usage else {}
    offsets = [CompletionLogprobs() for _ in range(generation.call.n)]
    try:
        async for index, step in generation.steps():
            logprobs = offsets[index].add(lm, step.token) if step.token else None
            if step.text or logprobs or step.finish_reason:
                yield sse({**base, **extra, "choices": [{"index": index, "text": step.text, "logprobs": logprobs,
                                                         "finish_reason": step.finish_reason}]})
        if include_usage:
            yield sse({**base, "choices": [], "usage": usage(generation)})
        yield sse("[DONE]")
    except RequestError as exc:
        yield sse(error_body(exc.message, HTTP_STATUS.get(exc.code, (500, "server_error"))[1], code=exc.code.name.lower()))
    finally:
        service.finish(generation)


class OpenAIServer:
    """uvicorn inside the service's own event loop: the service, not uvicorn, handles signals. With
    several serving processes on one port, each listens with SO_REUSEPORT (as the gRPC server does)."""

    def __init__(self, app: FastAPI, host: str, port: int | None, reuse_port: bool = False) -> None:
        import uvicorn

        class EmbeddedServer(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self):  # FastStream owns SIGTERM/SIGINT
                yield

        self.requested_port = port
        self.port = 0
        self.reuse_port = reuse_port
        self.host = host
        self.server = EmbeddedServer(uvicorn.Config(app, host=host, port=port or 0, log_level="warning", access_log=False,
                                                    lifespan="off", timeout_graceful_shutdown=5))
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        if self.requested_port is None:  # off
            return
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if self.reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((self.host, self.requested_port))
        sock.set_inheritable(True)
        self.port = sock.getsockname()[1]
        self._task = asyncio.create_task(self.server.serve(sockets=[sock]), name="openai-http")
        while not self.server.started and not self._task.done():
            await asyncio.sleep(0.01)
        if self._task.done():
            self._task.result()  # raises what stopped it

    async def stop(self) -> None:
        if self._task is None:
            return
        self.server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
