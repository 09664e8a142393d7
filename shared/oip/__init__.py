"""Open Inference Protocol (KServe V2) over gRPC: the generated stubs, plus the few helpers every
caller needs to send texts and read class probabilities back.

A text model takes one input, TEXT (BYTES, shape [N]) and answers PROBABILITIES (FP32, [N, C], in
the order of the classes its metadata names) and LABEL (BYTES, [N], the top class).
"""

from __future__ import annotations

import itertools
import json
import struct
from collections.abc import Sequence

import grpc
import numpy as np

from shared.oip import grpc_service_pb2 as pb
from shared.oip import grpc_service_pb2_grpc as pb_grpc
from shared.telemetry import grpc_trace_metadata

TEXT_INPUT = "TEXT"
PROBABILITIES_OUTPUT = "PROBABILITIES"
SCORE_OUTPUT = "SCORE"
LABEL_OUTPUT = "LABEL"
# Triton's LLM convention (its vLLM and TensorRT-LLM backends): the prompt in, the generated text out.
GENERATION_INPUT = "text_input"
GENERATION_OUTPUT = "text_output"

__all__ = [
    "GENERATION_INPUT",
    "GENERATION_OUTPUT",
    "LABEL_OUTPUT",
    "PROBABILITIES_OUTPUT",
    "SCORE_OUTPUT",
    "TEXT_INPUT",
    "OipClient",
    "decode_bytes_tensor",
    "encode_bytes_tensor",
    "labels_from_response",
    "pb",
    "pb_grpc",
    "probabilities_from_response",
    "scores_from_response",
    "text_infer_request",
    "texts_from_response",
]


def encode_bytes_tensor(items: Sequence[bytes]) -> bytes:
    """BYTES elements in raw form: each a 4-byte little-endian length, then the bytes."""
    return b"".join(struct.pack("<I", len(item)) + item for item in items)


def decode_bytes_tensor(raw: bytes) -> list[bytes]:
    items, offset = [], 0
    while offset < len(raw):
        if offset + 4 > len(raw):
            raise ValueError(f"BYTES tensor truncated: a 4-byte length prefix is cut off at byte {offset}")
        (length,) = struct.unpack_from("<I", raw, offset)
        offset += 4
        if offset + length > len(raw):
            raise ValueError(f"BYTES tensor truncated: element at byte {offset - 4} claims {length} bytes, "
                             f"{len(raw) - offset} remain")
        items.append(raw[offset:offset + length])
        offset += length
    return items


def text_infer_request(model: str, texts: Sequence[str], version: str = "", request_id: str = "",
                       outputs: Sequence[str] = (), class_count: int = 0) -> pb.ModelInferRequest:
    """`outputs` to ask for only some outputs; `class_count` asks for the top k classes of
    PROBABILITIES (Triton's classification extension) instead of the whole vector."""
    request = pb.ModelInferRequest(model_name=model, model_version=version, id=request_id)
    tensor = request.inputs.add(name=TEXT_INPUT, datatype="BYTES", shape=[len(texts)])
    del tensor  # data travels in raw_input_contents, as tritonclient sends it
    request.raw_input_contents.append(encode_bytes_tensor([t.encode("utf-8") for t in texts]))
    for name in outputs:
        output = request.outputs.add(name=name)
        if class_count and name == PROBABILITIES_OUTPUT:
            output.parameters["classification"].int64_param = class_count
    return request


def _output(response: pb.ModelInferResponse, name: str) -> tuple[int, pb.ModelInferResponse.InferOutputTensor]:
    for index, output in enumerate(response.outputs):
        if output.name == name:
            return index, output
    raise KeyError(f"response has no output {name!r}")


def probabilities_from_response(response: pb.ModelInferResponse) -> np.ndarray:
    index, output = _output(response, PROBABILITIES_OUTPUT)
    if response.raw_output_contents:
        values = np.frombuffer(response.raw_output_contents[index], dtype="<f4")
    else:
        values = np.asarray(output.contents.fp32_contents, dtype=np.float32)
    return values.reshape(tuple(output.shape))


def scores_from_response(response: pb.ModelInferResponse) -> np.ndarray:
    """SCORE: each text's top probability, what a key without the probabilities scope sees."""
    index, output = _output(response, SCORE_OUTPUT)
    if response.raw_output_contents:
        return np.frombuffer(response.raw_output_contents[index], dtype="<f4")
    return np.asarray(output.contents.fp32_contents, dtype=np.float32)


def texts_from_response(response: pb.ModelInferResponse, name: str) -> list[str]:
    """A BYTES output's elements as text (KeyError when the response lacks it)."""
    index, output = _output(response, name)
    raw = decode_bytes_tensor(response.raw_output_contents[index]) if response.raw_output_contents \
        else list(output.contents.bytes_contents)
    return [item.decode("utf-8", errors="replace") for item in raw]


def labels_from_response(response: pb.ModelInferResponse) -> list[str]:
    return texts_from_response(response, LABEL_OUTPUT)


class OipClient:
    """A small asyncio client for a text model behind any Open Inference Protocol server."""

    def __init__(self, url: str, api_key: str = "", timeout_s: float = 30.0, user_agent: str = "",
                 metadata: Sequence[tuple[str, str]] = (), connections: int = 1) -> None:
        # Connections of its own (not shared with other channels of this process to the same
        # address), taken in turn: a Service balances connections over replicas, and the kernel
        # (SO_REUSEPORT) over a replica's serving processes, never single requests; one connection
        # would leave all but one of them idle.
        options: list[tuple[str, str | int]] = [("grpc.max_receive_message_length", 64 << 20),
                                                ("grpc.use_local_subchannel_pool", 1)]
        if user_agent:
            options.append(("grpc.primary_user_agent", user_agent))
        self.channels = [grpc.aio.insecure_channel(url, options=options) for _ in range(max(1, connections))]
        self.stubs = [pb_grpc.GRPCInferenceServiceStub(channel) for channel in self.channels]
        self._turn = itertools.cycle(self.stubs)
        self.channel, self.stub = self.channels[0], self.stubs[0]
        self.extra_metadata = list(metadata)
        self.api_key = api_key
        self.timeout_s = timeout_s

    def _metadata(self) -> list[tuple[str, str]]:
        metadata = grpc_trace_metadata() + self.extra_metadata
        if self.api_key:
            metadata.append(("authorization", f"Bearer {self.api_key}"))
        return metadata

    async def classes(self, model: str, version: str = "") -> list[str]:
        response = await self.stub.ModelMetadata(pb.ModelMetadataRequest(name=model, version=version),
                                                 metadata=self._metadata(), timeout=self.timeout_s)
        for output in response.outputs:
            if output.name == PROBABILITIES_OUTPUT and "classes" in output.parameters:
                return json.loads(output.parameters["classes"].string_param)
        raise KeyError(f"model {model!r} does not name its classes")

    async def infer(self, model: str, texts: Sequence[str], version: str = "", request_id: str = "",
                    outputs: Sequence[str] = (), class_count: int = 0) -> pb.ModelInferResponse:
        return await next(self._turn).ModelInfer(
            text_infer_request(model, texts, version, request_id, outputs, class_count),
            metadata=self._metadata(), timeout=self.timeout_s)

    async def close(self) -> None:
        for channel in self.channels:
            await channel.close()

    async def __aenter__(self) -> OipClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()
