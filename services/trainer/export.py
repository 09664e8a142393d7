"""ONNX export with a parity check: the exported graph must answer as torch does."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

PARITY_TOLERANCE = 1e-4
INT8_MIN_TOP1_MATCH = 0.95  # an int8 model must pick the fp32 model's top class this often


class ParityError(RuntimeError):
    pass


def export_onnx(model, input_ids, attention_mask, path: Path, opset: int = 17, output_name: str = "probabilities") -> Path:
    """Export a module taking (input_ids, attention_mask) -> probabilities (or an embedding), batch
    and sequence lengths dynamic."""
    import torch

    model.eval()
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        # The TorchScript-based exporter: the torch.export one needs onnxscript, and adds nothing here.
        torch.onnx.export(
            model, (input_ids, attention_mask), str(path), dynamo=False, opset_version=opset,
            input_names=["input_ids", "attention_mask"], output_names=[output_name],
            dynamic_axes={"input_ids": {0: "batch", 1: "sequence"},
                          "attention_mask": {0: "batch", 1: "sequence"},
                          output_name: {0: "batch"}},
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


def quantize_int8(fp32_path: Path, int8_path: Path, model_dir: Path, texts: list[str]) -> tuple[float, float]:
    """Dynamic int8 quantisation (weights int8, activations quantised at run time); returns how often
    the int8 model's top output matches the fp32 model's on `texts`, and the largest absolute
    difference between them."""
    from onnxruntime.quantization import QuantType, quant_pre_process, quantize_dynamic

    from shared.textmodel import TextClassifier

    # Shape inference and graph clean-up first, as onnxruntime recommends before quantising.
    prepared = int8_path.with_suffix(".prepared.onnx")
    quant_pre_process(str(fp32_path), str(prepared))
    quantize_dynamic(str(prepared), str(int8_path), weight_type=QuantType.QInt8)
    prepared.unlink()
    fp32 = TextClassifier(model_dir, device="cpu", model_file=fp32_path.name).predict_batched(texts)
    int8 = TextClassifier(model_dir, device="cpu", model_file=int8_path.name).predict_batched(texts)
    return float((fp32.argmax(1) == int8.argmax(1)).mean()), float(np.max(np.abs(fp32 - int8)))
