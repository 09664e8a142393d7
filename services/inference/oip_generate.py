"""Generative models over OIP gRPC, in Triton's LLM convention (its vLLM and TensorRT-LLM backends), so
that tritonclient users need nothing special:

- `ModelInfer`: a BYTES `text_input` [1] (the prompt), answered with a BYTES `text_output` [1]: the
  prompt followed by its completion, or the completion alone with `exclude_input_in_output`.
- `ModelStreamInfer` (decoupled): the completion as it comes, one response per piece of text; the
  last one carries the parameter `triton_final_response: true`.
- Generation settings as request parameters or as optional input tensors of the same names:
  `max_tokens`, `temperature`, `top_p`, `seed`, `stop`, `ignore_eos`, `exclude_input_in_output`,
  `apply_chat_template` (the prompt as one user message of the model's chat template), or all of
  them as the JSON of a BYTES `sampling_parameters` input (as Triton's vLLM backend takes them).
- Every response says `finish_reason`, `prompt_tokens` and `completion_tokens` in its parameters."""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Any

import grpc
import numpy as np

from services.inference.access import Client, RequestError
from services.inference.generative import GenerationCall, GenerationService
from services.inference.server import GENERATION_INPUT, GENERATION_OUTPUT, LoadedModel
from shared.generation import LanguageModel, SamplingParams
from shared.oip import decode_bytes_tensor, encode_bytes_tensor, pb

SAMPLING_INPUT = "sampling_parameters"
NUMERIC = {"INT32": "<i4", "INT64": "<i8", "UINT32": "<u4", "UINT64": "<u8", "FP32": "<f4", "FP64": "<f8", "BOOL": "?"}
SETTINGS = {"max_tokens": int, "temperature": float, "top_p": float, "seed": int, "stop": list,
            "ignore_eos": bool, "exclude_input_in_output": bool, "apply_chat_template": bool, "stream": bool}


def _invalid(message: str) -> RequestError:
    return RequestError(grpc.StatusCode.INVALID_ARGUMENT, message)


def _tensor(request: pb.ModelInferRequest, index: int) -> list[Any]:
    tensor = request.inputs[index]
    if request.raw_input_contents:
        if len(request.raw_input_contents) != len(request.inputs):
            raise _invalid(f"raw_input_contents has {len(request.raw_input_contents)} entries for "
                           f"{len(request.inputs)} inputs")
        raw = request.raw_input_contents[index]
        if tensor.datatype == "BYTES":
            try:
                return decode_bytes_tensor(raw)
            except ValueError as exc:
                raise _invalid(f"input {tensor.name!r}: {exc}") from None
        if tensor.datatype not in NUMERIC:
            raise _invalid(f"input {tensor.name!r}: datatype {tensor.datatype or 'none'} is not taken here")
        return np.frombuffer(raw, dtype=NUMERIC[tensor.datatype]).tolist()
    contents = tensor.contents
    for field in ("bytes_contents", "int_contents", "int64_contents", "uint_contents", "uint64_contents",
                  "fp32_contents", "fp64_contents", "bool_contents"):
        values = list(getattr(contents, field))
        if values:
            return values
    return []


def _parameter(value: pb.InferParameter) -> Any:
    kind = value.WhichOneof("parameter_choice")
    return getattr(value, kind) if kind else None


def _setting(name: str, value: Any) -> Any:
    kind = SETTINGS[name]
    try:
        if kind is list:
            values = value if isinstance(value, list) else [value]
            return [v.decode() if isinstance(v, bytes) else str(v) for v in values]
        if isinstance(value, list):
            if len(value) != 1:
                raise ValueError("one value expected")
            value = value[0]
        if isinstance(value, bytes):
            value = value.decode()
        if kind is bool and isinstance(value, str):
            return value.lower() in ("1", "true", "yes")
        return kind(value)
    except (TypeError, ValueError, UnicodeDecodeError):
        raise _invalid(f"generation setting {name!r}: {value!r} is not a {kind.__name__}") from None


def parse_generation(request: pb.ModelInferRequest) -> tuple[str, dict[str, Any]]:
    """The prompt and the generation settings of a request, from its inputs and parameters."""
    prompt: str | None = None
    settings: dict[str, Any] = {}
    for index, tensor in enumerate(request.inputs):
        values = _tensor(request, index)
        if tensor.name == GENERATION_INPUT:
            if tensor.datatype != "BYTES" or len(values) != 1:
                raise _invalid(f"input {GENERATION_INPUT!r} must be BYTES with one element (the prompt), got "
                               f"{tensor.datatype or 'no datatype'} with {len(values)}; send one request per prompt")
            try:
                prompt = values[0].decode("utf-8")
            except UnicodeDecodeError:
                raise _invalid(f"input {GENERATION_INPUT!r} is not valid UTF-8") from None
        elif tensor.name == SAMPLING_INPUT:
            try:
                decoded = json.loads(values[0]) if values else {}
            except (ValueError, UnicodeDecodeError):
                raise _invalid(f"input {SAMPLING_INPUT!r} must be a JSON object") from None
            if not isinstance(decoded, dict):
                raise _invalid(f"input {SAMPLING_INPUT!r} must be a JSON object")
            settings.update(decoded)
        elif tensor.name in SETTINGS:
            settings[tensor.name] = values
        else:
            raise _invalid(f"model {request.model_name!r} has no input {tensor.name!r}; it takes {GENERATION_INPUT!r} "
                           f"and optionally {', '.join(sorted([SAMPLING_INPUT, *SETTINGS]))}")
    for name, value in request.parameters.items():
        if name in SETTINGS:
            settings[name] = _parameter(value)
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise _invalid(f"unknown generation setting {unknown[0]!r}; known: {', '.join(sorted(SETTINGS))}")
    if prompt is None:
        raise _invalid(f"model {request.model_name!r} is generative: send the prompt as a BYTES input "
                       f"{GENERATION_INPUT!r} of shape [1]")
    return prompt, {name: _setting(name, value) for name, value in settings.items()}


def sampling_params(lm: LanguageModel, settings: dict[str, Any], prompt_tokens: int) -> SamplingParams:
    params = lm.sampling(prompt_tokens, settings.get("max_tokens"), settings.get("temperature"), settings.get("top_p"),
                         seed=settings.get("seed"), stop=tuple(s for s in settings.get("stop", []) if s),
                         ignore_eos=settings.get("ignore_eos", False))
    if not 0 <= params.temperature <= 2:
        raise _invalid("temperature must be between 0 and 2")
    if not 0 < params.top_p <= 1:
        raise _invalid("top_p must be above 0 and at most 1")
    return params


def _response(request: pb.ModelInferRequest, model: LoadedModel, text: str, request_id: str,
              **parameters: Any) -> pb.ModelInferResponse:
    response = pb.ModelInferResponse(model_name=model.name, model_version=model.version, id=request.id or request_id)
    response.outputs.add(name=GENERATION_OUTPUT, datatype="BYTES", shape=[1])
    response.raw_output_contents.append(encode_bytes_tensor([text.encode()]))
    for name, value in parameters.items():
        if isinstance(value, bool):
            response.parameters[name].bool_param = value
        elif isinstance(value, int):
            response.parameters[name].int64_param = value
        else:
            response.parameters[name].string_param = str(value)
    return response


class GenerativeOip:
    def __init__(self, service: GenerationService) -> None:
        self.service = service

    def call(self, request: pb.ModelInferRequest, client: Client, model: LoadedModel,
             caller: tuple[str, str], stream: bool, metadata: Any = None) -> tuple[GenerationCall, str, bool]:
        assert model.generator is not None
        lm = model.generator.model
        prompt, settings = parse_generation(request)
        text = lm.render_chat([{"role": "user", "content": prompt}]) if settings.get("apply_chat_template") else prompt
        ids = lm.encode(text)
        params = sampling_params(lm, settings, len(ids))
        call = GenerationCall(client, model, ids, params, "oip", 1, stream, prompt, 1 if settings.get(
            "apply_chat_template") else 0, False, caller, metadata, continued=prompt)
        return call, prompt, bool(settings.get("exclude_input_in_output", False))

    async def infer(self, request: pb.ModelInferRequest, client: Client, model: LoadedModel,
                    caller: tuple[str, str], metadata: Any = None) -> pb.ModelInferResponse:
        call, prompt, exclude_input = self.call(request, client, model, caller, stream=False, metadata=metadata)
        text = ""
        async with self.service.generating(call) as generation:
            async for _, step in generation.steps():
                text += step.text
        return _response(request, model, text if exclude_input else prompt + text, generation.request_id,
                         finish_reason=generation.finish_reasons[0], prompt_tokens=generation.prompt_tokens,
                         completion_tokens=generation.total_completion_tokens)

    async def stream(self, request_iterator, metadata, caller: tuple[str, str]):
        """Each request's pieces as they come; requests on one stream run side by side. A failed
        request answers with its error message, and the stream goes on."""
        out: asyncio.Queue = asyncio.Queue()
        tasks: set[asyncio.Task] = set()
        client: Client | None = None

        async def run(request: pb.ModelInferRequest) -> None:
            try:
                assert client is not None
                self.service.access.admit(client)
                model = self.service.model(request.model_name)
                call, _, _ = self.call(request, client, model, caller, stream=True, metadata=metadata)
                async with self.service.generating(call) as generation:
                    async for _, step in generation.steps():
                        if step.finish_reason:
                            out.put_nowait(pb.ModelStreamInferResponse(infer_response=_response(
                                request, model, step.text, generation.request_id, finish_reason=step.finish_reason,
                                prompt_tokens=step.prompt_tokens, completion_tokens=step.completion_tokens,
                                triton_final_response=True)))
                        elif step.text:
                            out.put_nowait(pb.ModelStreamInferResponse(infer_response=_response(
                                request, model, step.text, generation.request_id, triton_final_response=False)))
            except RequestError as exc:
                out.put_nowait(pb.ModelStreamInferResponse(error_message=f"{exc.code.name}: {exc.message}"))

        async def read() -> None:
            nonlocal client
            async for request in request_iterator:
                if client is None:
                    try:
                        if not self.service.ready:
                            raise RequestError(grpc.StatusCode.UNAVAILABLE, "the server is loading its models: retry shortly")
                        client = await self.service.access.authenticate(metadata)
                    except RequestError as exc:
                        out.put_nowait(pb.ModelStreamInferResponse(error_message=f"{exc.code.name}: {exc.message}"))
                        continue
                task = asyncio.create_task(run(request))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
            out.put_nowait(None)

        reader = asyncio.create_task(read())
        try:
            while (item := await out.get()) is not None:
                yield item
        finally:  # the client closed the stream or went away: its generations leave the batch
            reader.cancel()
            for task in list(tasks):
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
