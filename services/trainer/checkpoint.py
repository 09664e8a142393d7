"""Training checkpoints as safetensors: tensors stored as tensors, everything else (epoch, history,
optimiser hyper-parameters) as a JSON skeleton in one uint8 tensor beside them. Nothing is
unpickled, so a checkpoint read from the bucket cannot run code in the trainer."""

from __future__ import annotations

import json
from typing import Any

import torch
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors

SKELETON = "__skeleton__"


def dumps(state: dict[str, Any]) -> bytes:
    tensors: dict[str, torch.Tensor] = {}

    def flatten(value: Any) -> Any:
        if isinstance(value, torch.Tensor):
            name = f"t{len(tensors)}"
            tensors[name] = value.detach().cpu().contiguous().clone()  # safetensors refuses shared storage
            return {"__tensor__": name}
        if isinstance(value, dict):
            # JSON keys are strings: keep the key's type so that optimiser states (int keys) come back.
            return {"__dict__": [[k, isinstance(k, int), flatten(v)] for k, v in value.items()]}
        if isinstance(value, (list, tuple)):
            return [flatten(v) for v in value]
        return value

    skeleton = json.dumps(flatten(state)).encode()
    tensors[SKELETON] = torch.frombuffer(bytearray(skeleton), dtype=torch.uint8)
    return save_safetensors(tensors)


def loads(body: bytes) -> dict[str, Any]:
    tensors = load_safetensors(body)

    def rebuild(value: Any) -> Any:
        if isinstance(value, dict) and "__tensor__" in value:
            return tensors[value["__tensor__"]]
        if isinstance(value, dict) and "__dict__" in value:
            return {(int(k) if is_int else k): rebuild(v) for k, is_int, v in value["__dict__"]}
        if isinstance(value, list):
            return [rebuild(v) for v in value]
        return value

    return rebuild(json.loads(tensors[SKELETON].numpy().tobytes()))
