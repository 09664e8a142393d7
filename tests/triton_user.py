"""An internal team's client: tritonclient's gRPC client, unchanged, in its own process.

Its own process because tritonclient registers Triton's `inference` protobuf package in the
process-wide descriptor pool, as our generated code does for the same package; the two cannot share
one. Reads a JSON list of calls on stdin, writes one JSON result per call on stdout:
    python tests/triton_user.py HOST:PORT API_KEY < calls.json
"""

from __future__ import annotations

import asyncio
import json
import sys

import numpy as np
import tritonclient.grpc as triton
import tritonclient.grpc.aio as triton_aio
from tritonclient.utils import InferenceServerException


def text_input(call: dict) -> triton.InferInput:
    texts = call.get("texts", [])
    name, datatype = call.get("input_name", "TEXT"), call.get("datatype", "BYTES")
    shape = call.get("shape", [len(texts)])
    tensor = triton.InferInput(name, shape, datatype)
    if datatype == "BYTES":
        data = np.array([t.encode() for t in texts], dtype=np.object_).reshape(shape)
    else:
        data = np.zeros(shape, dtype=np.float32)
    return tensor.set_data_from_numpy(data)  # raw_input_contents, as tritonclient sends by default


def plain(value):
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value.decode() if isinstance(value, bytes) else value


def prompt_input(call: dict) -> triton.InferInput:
    tensor = triton.InferInput("text_input", [1], "BYTES")
    return tensor.set_data_from_numpy(np.array([call["prompt"].encode()], dtype=np.object_))


def response_parameters(response) -> dict:
    return {name: getattr(value, value.WhichOneof("parameter_choice")) for name, value in response.parameters.items()}


async def generate_stream(client, call: dict, headers) -> dict:
    """Several prompts on one stream (decoupled): each one's pieces, in order, and its last parameters."""
    async def requests():
        for i, prompt in enumerate(call["prompts"]):
            yield {"model_name": call["model"], "inputs": [prompt_input({"prompt": prompt})], "request_id": f"r{i}",
                   "parameters": call.get("parameters")}

    pieces: dict[str, list[str]] = {f"r{i}": [] for i in range(len(call["prompts"]))}
    final: dict[str, dict] = {}
    errors = []
    async for result, error in client.stream_infer(requests(), headers=headers):
        if error is not None:
            errors.append(error.message())
            if len(errors) + len(final) == len(pieces):
                break
            continue
        response = result.get_response()
        pieces[response.id].append(plain(result.as_numpy("text_output"))[0])
        parameters = response_parameters(response)
        if parameters.get("triton_final_response"):
            final[response.id] = parameters
            if len(final) + len(errors) == len(pieces):
                break
    return {"pieces": pieces, "final": final, "errors": errors}


async def perform(client: triton_aio.InferenceServerClient, call: dict, key: str) -> dict:
    headers = {"authorization": f"Bearer {key}"} if call.get("auth", True) else None
    kind = call["call"]
    if kind == "server_live":
        return {"value": await client.is_server_live()}
    if kind == "server_ready":
        return {"value": await client.is_server_ready()}
    if kind == "model_ready":
        return {"value": await client.is_model_ready(call["model"], call.get("version", ""))}
    if kind == "server_metadata":
        return {"value": await client.get_server_metadata(as_json=True)}
    if kind == "model_metadata":
        return {"value": await client.get_model_metadata(call["model"], call.get("version", ""), headers=headers,
                                                         as_json=True)}
    if kind == "model_config":
        return {"value": await client.get_model_config(call["model"], headers=headers, as_json=True)}
    if kind == "generate":  # Triton's LLM convention: text_input in, text_output out
        result = await client.infer(call["model"], [prompt_input(call)], parameters=call.get("parameters"),
                                    headers=headers)
        response = result.get_response()
        return {"text": plain(result.as_numpy("text_output"))[0], "parameters": response_parameters(response)}
    if kind == "generate_stream":
        return await generate_stream(client, call, headers)
    outputs = [triton.InferRequestedOutput(o["name"], class_count=o.get("class_count", 0))
               for o in call.get("outputs", [])] or None
    result = await client.infer(call["model"], [text_input(call)], model_version=call.get("version", ""),
                                outputs=outputs, request_id=call.get("request_id", ""), headers=headers,
                                timeout=call.get("timeout"), client_timeout=call.get("client_timeout"))
    response = result.get_response()
    return {"id": response.id, "model_version": response.model_version,
            "outputs": {o.name: plain(result.as_numpy(o.name)) for o in response.outputs}}


async def main(url: str, key: str, calls: list[dict]) -> list[dict]:
    results = []
    async with triton_aio.InferenceServerClient(url) as client:
        for call in calls:
            try:
                results.append({"ok": True, **await perform(client, call, key)})
            except InferenceServerException as exc:
                results.append({"ok": False, "status": exc.status(), "message": exc.message()})
    return results


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1], sys.argv[2], json.load(sys.stdin)))))
