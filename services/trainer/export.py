"""ONNX export with a parity check: the exported graph must answer as torch does."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

PARITY_TOLERANCE = 1e-4


class ParityError(RuntimeError):
    pass


def export_onnx(model, input_ids, attention_mask, path: Path, opset: int = 17) -> Path:
    """Export a module taking (input_ids, attention_mask) -> probabilities, batch and sequence
    lengths dynamic."""
    import torch

    model.eval()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        # The TorchScript-based exporter: the torch.export one needs onnxscript, and adds nothing here.
        torch.onnx.export(
            model, (input_ids, attention_mask), str(path), dynamo=False, opset_version=opset,
            input_names=["input_ids", "attention_mask"], output_names=["probabilities"],
            dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                          "attention_mask": {0: "batch", 1: "sequence"},
                          "probabilities": {0: "batch"}},
        )
    return path


def parity_check(model, model_dir: Path, texts: list[str], tolerance: float = PARITY_TOLERANCE) -> float:
    """Run the same texts through torch and through onnxruntime (with the served tokenizer); return
    the largest absolute difference, or raise ParityError above `tolerance`."""
    import torch

    from shared.textmodel import TextClassifier

    served = TextClassifier(model_dir, device="cpu")
    feeds = served.encode(texts)
    onnx_out = served.session.run([served.output_name], feeds)[0]
    with torch.no_grad():
        torch_out = model(torch.from_numpy(feeds["input_ids"]), torch.from_numpy(feeds["attention_mask"])).numpy()
    diff = float(np.max(np.abs(onnx_out - torch_out)))
    if not diff <= tolerance:  # also catches NaN
        raise ParityError(f"ONNX export differs from torch by {diff:.3g} (tolerance {tolerance:g})")
    return diff
