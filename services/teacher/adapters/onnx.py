"""A local ONNX text classifier, run in process with onnxruntime: a model of the registry (by name,
its promoted version unless the job names one) or an s3:// prefix with the registry's files."""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
from pathlib import Path

from services.teacher.adapters import Answer, TeacherAdapter, TeacherError
from shared.registry import MODEL_FILES, ModelRegistry
from shared.textmodel import TextClassifier

_loaded: dict[str, TextClassifier] = {}  # one session per model for the whole process


class Adapter(TeacherAdapter):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.texts_per_request = self.spec.batch_size
        self.model: TextClassifier | None = None
        self.version = self.spec.version

    def _load(self) -> TextClassifier:
        assert self.store is not None, "an onnx teacher reads its model from the artifact store"
        source = self.spec.url
        if not source.startswith("s3://"):
            registry = ModelRegistry(self.store)
            self.version = self.spec.version or registry.promoted(source) or ""
            if not self.version:
                raise TeacherError(f"the registry has no promoted version of model {source!r}")
            source = registry.uri(source, self.version)
        key = hashlib.sha256(source.encode()).hexdigest()[:16]
        if key not in _loaded:
            dest = Path(tempfile.gettempdir()) / "distillery-teachers" / key
            dest.mkdir(parents=True, exist_ok=True)
            for name in MODEL_FILES:
                if not (dest / name).exists():
                    self.store.get_file(f"{source.rstrip('/')}/{name}", dest / name)
            _loaded[key] = TextClassifier(dest)
        return _loaded[key]

    async def open(self) -> None:
        self.model = await asyncio.to_thread(self._load)
        self.classes = self.model.classes

    def cache_identity(self) -> dict:
        return {**super().cache_identity(), "version": self.version}

    async def request(self, texts: list[str]) -> list[Answer]:
        assert self.model is not None, "open() first"
        probabilities = await asyncio.to_thread(self.model.predict, texts)
        return [Answer(probabilities=[round(float(p), 7) for p in row], model_version=self.version)
                for row in probabilities]
