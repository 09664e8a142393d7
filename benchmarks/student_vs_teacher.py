"""Speed of the promoted student against the teacher, both in onnxruntime on this machine, measured
in one run on the same held-out texts: throughput at batch 32 and p50 latency of one text.

Needs a stack with both promoted (after `make demo FLOWS=classifier`):  .venv/bin/python -m benchmarks.student_vs_teacher
"""

from __future__ import annotations

import argparse
import gzip
import json
import tempfile
from pathlib import Path

from shared.registry import ModelRegistry
from shared.settings import S3Settings
from shared.store import ArtifactStore
from shared.textmodel import TextClassifier, cpu_limit, speed

HELDOUT = Path(__file__).resolve().parent.parent / "data" / "wordnet" / "heldout.jsonl.gz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--student", default="student")
    parser.add_argument("--texts", type=int, default=2000)
    args = parser.parse_args()
    with gzip.open(HELDOUT, "rt") as f:
        texts = [json.loads(line)["text"] for line in f][-args.texts:]
    registry = ModelRegistry(ArtifactStore(S3Settings()))
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in ("teacher", args.student):
            version = registry.promoted(name)
            if version is None:
                raise SystemExit(f"no promoted {name!r}: run `make demo FLOWS=classifier` first")
            model = TextClassifier(registry.download(name, version, Path(tmp) / name), device="cpu")
            tps, p50 = speed(model, texts, min_seconds=0.0)
            results[name] = {"texts_per_s": tps, "p50_ms": p50}
            print(f"{name:10s} v{version}: {results[name]['texts_per_s']:8.0f} texts/s at batch 32, "
                  f"p50 {results[name]['p50_ms']:.2f} ms for one text")
    t, s = results["teacher"], results[args.student]
    print(f"speed-up {s['texts_per_s'] / t['texts_per_s']:.1f}x throughput, "
          f"{t['p50_ms'] / s['p50_ms']:.1f}x p50 latency ({cpu_limit()} CPUs, {len(texts)} texts)")


if __name__ == "__main__":
    main()
