"""A text classifier as the registry stores it: an ONNX graph (input_ids, attention_mask ->
probabilities), its tokenizer, and model.json. Runs with onnxruntime: CUDA when a GPU is present,
CPU otherwise. Serving code uses this; it never imports torch."""

from __future__ import annotations

import json
import logging
import os
import statistics
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

log = logging.getLogger(__name__)


def cpu_limit() -> int:
    """CPUs this process may use: the cgroup quota (a Kubernetes CPU limit) or the affinity mask."""
    cpus = len(os.sched_getaffinity(0))
    try:
        quota, period = Path("/sys/fs/cgroup/cpu.max").read_text().split()
        if quota != "max":
            cpus = min(cpus, max(1, int(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return cpus


def gpu_present() -> bool:
    return Path("/dev/nvidiactl").exists() or any(Path("/dev").glob("nvidia[0-9]*"))


def choose_providers(device: str = "auto") -> list[str]:
    """Ask for CUDA only where a GPU is there: onnxruntime-gpu falls back to CPU without one, but
    logs an error on the way."""
    available = ort.get_available_providers()
    want_cuda = device == "cuda" or (device == "auto" and gpu_present())
    if want_cuda and "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if device == "cuda":
        log.error("CUDA asked for but the CUDA provider is not available (have %s)", available)
    return ["CPUExecutionProvider"]


class TextClassifier:
    def __init__(self, model_dir: Path, device: str = "auto", threads: int | None = None,
                 model_file: str = "model.onnx", io_binding: bool | None = None) -> None:
        self.model_dir = Path(model_dir)
        meta = json.loads((self.model_dir / "model.json").read_text())
        self.meta = meta
        self.classes: list[str] = meta.get("classes", [])  # empty for an embedder
        self.max_length: int = int(meta.get("max_length", 128))
        self.tokenizer = Tokenizer.from_file(str(self.model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(self.max_length)
        pad_id = self.tokenizer.token_to_id("[PAD]") or 0
        self.tokenizer.enable_padding(pad_id=pad_id, pad_token="[PAD]")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or cpu_limit()
        options.inter_op_num_threads = 1
        # Idle onnxruntime threads otherwise spin for work, taking the CPU that a server's gRPC and
        # tokenising threads need between batches.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.session = ort.InferenceSession(str(self.model_dir / model_file), options,
                                            providers=choose_providers(device))
        # What onnxruntime really uses, not what was asked for.
        self.providers: list[str] = self.session.get_providers()
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_name = self.session.get_outputs()[0].name
        # On CUDA, inputs are bound where they lie and the output is written straight to host
        # memory, so no tensor is copied twice; None: only where CUDA runs the graph.
        self.io_binding = self.providers[0] == "CUDAExecutionProvider" if io_binding is None else io_binding

    def encode(self, texts: list[str]) -> dict[str, np.ndarray]:
        encodings = self.tokenizer.encode_batch(texts)
        feeds = {
            "input_ids": np.asarray([e.ids for e in encodings], dtype=np.int64),
            "attention_mask": np.asarray([e.attention_mask for e in encodings], dtype=np.int64),
            "token_type_ids": np.asarray([e.type_ids for e in encodings], dtype=np.int64),
        }
        return {name: feeds[name] for name in self.input_names}

    def predict(self, texts: list[str]) -> np.ndarray:
        """Class probabilities, shape [len(texts), len(classes)]."""
        if not texts:
            return np.zeros((0, len(self.classes)), dtype=np.float32)
        feeds = self.encode(texts)
        if not self.io_binding:
            return self.session.run([self.output_name], feeds)[0]
        binding = self.session.io_binding()
        for name, array in feeds.items():
            binding.bind_cpu_input(name, array)  # one host -> device copy, made by onnxruntime
        binding.bind_output(self.output_name, "cpu")  # one device -> host copy, into the result
        self.session.run_with_iobinding(binding)
        return binding.copy_outputs_to_cpu()[0]

    def predict_batched(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Many texts, in batches of similar length (a batch pads to its longest text); rows come
        back in the order of `texts`."""
        if not texts:
            return self.predict([])
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = None
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            part = self.predict([texts[i] for i in rows])
            if out is None:
                out = np.zeros((len(texts), *part.shape[1:]), dtype=part.dtype)
            out[rows] = part
        assert out is not None  # texts is not empty: the loop ran at least once
        return out


def speed(model, texts: list[str], batch_size: int = 32, min_seconds: float = 1.0,
          latency_texts: int = 200) -> tuple[float, float]:
    """Texts per second at `batch_size` (repeated until `min_seconds` have passed), and the median
    latency of one text in milliseconds, of anything with `predict(texts)`."""
    model.predict(texts[:batch_size])  # warm-up
    done, started = 0, time.perf_counter()
    while True:
        for start in range(0, len(texts), batch_size):
            model.predict(texts[start:start + batch_size])
        done += len(texts)
        elapsed = time.perf_counter() - started
        if elapsed >= min_seconds:
            break
    latencies = []
    for text in texts[:latency_texts]:
        t = time.perf_counter()
        model.predict([text])
        latencies.append((time.perf_counter() - t) * 1000)
    return done / elapsed, statistics.median(latencies)
