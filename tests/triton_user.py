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
