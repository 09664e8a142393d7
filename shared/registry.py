"""The model registry, kept in the artifact store:

    models/<name>/<version>/model.onnx      the model (inputs input_ids, attention_mask -> probabilities)
    models/<name>/<version>/tokenizer.json  its tokenizer (Hugging Face `tokenizers` format)
    models/<name>/<version>/model.json      classes, max_length, kind
    models/<name>/<version>/card.json       metrics and lineage (model card)
    models/<name>/<version>/domain.npz      sketches of its training texts, for the detector (shared.domain)
    models/<name>/promoted.json             {"version": ...}: what the inference service serves
"""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from shared.events import utcnow
from shared.store import ArtifactStore

PREFIX = "models"
MODEL_FILES = ("model.onnx", "tokenizer.json", "model.json")


class ModelRegistry:
    def __init__(self, store: ArtifactStore) -> None:
        self.store = store

    def versions(self, name: str) -> list[str]:
        found = set()
        for key in self.store.list(f"{PREFIX}/{name}/"):
            match = re.match(rf"{PREFIX}/{re.escape(name)}/(\d+)/model\.json$", key)
            if match:
                found.add(match.group(1))
        return sorted(found, key=int)

    def names(self) -> list[str]:
        return sorted({key.split("/")[1] for key in self.store.list(f"{PREFIX}/") if key.count("/") >= 2})

    def register(self, name: str, model_dir: Path) -> tuple[str, str]:
        """Upload a model folder as the next version; returns (version, uri)."""
        missing = [f for f in MODEL_FILES if not (model_dir / f).exists()]
        if missing:
            raise FileNotFoundError(f"{model_dir} lacks {', '.join(missing)}")
        existing = self.versions(name)
        version = str(int(existing[-1]) + 1 if existing else 1)
        # model.json goes last: a version exists for readers only once it is complete.
        for path in sorted(model_dir.rglob("*")):
            if path.is_file() and path.name != "model.json":
                self.store.put_file(f"{PREFIX}/{name}/{version}/{path.relative_to(model_dir).as_posix()}", path)
        self.store.put_file(f"{PREFIX}/{name}/{version}/model.json", model_dir / "model.json")
        return version, self.uri(name, version)

    def uri(self, name: str, version: str) -> str:
        return self.store.uri(f"{PREFIX}/{name}/{version}")

    def promote(self, name: str, version: str, job_id: str = "") -> None:
        if version not in self.versions(name):
            raise KeyError(f"model {name!r} has no version {version!r}")
        self.store.put_json(f"{PREFIX}/{name}/promoted.json",
                            {"version": version, "job_id": job_id, "promoted_at": utcnow().isoformat()})

    def promoted(self, name: str) -> str | None:
        key = f"{PREFIX}/{name}/promoted.json"
        return str(self.store.get_json(key)["version"]) if self.store.exists(key) else None

    def card(self, name: str, version: str) -> dict:
        key = f"{PREFIX}/{name}/{version}/card.json"
        return self.store.get_json(key) if self.store.exists(key) else {}

    def domain(self, name: str, version: str):
        """The version's domain reference (shared.domain.DomainReference), or None if it has none."""
        from shared.domain import DOMAIN_FILE, DomainReference

        body = self.store.get_optional(f"{PREFIX}/{name}/{version}/{DOMAIN_FILE}")
        return DomainReference.from_bytes(body) if body else None

    def download(self, name: str, version: str, dest: Path) -> Path:
        """Fetch one version into `dest` (replaced whole, so a partial copy is never used)."""
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}-{version}-", dir=dest.parent))
        try:
            self.store.download_prefix(f"{PREFIX}/{name}/{version}", tmp)
            if dest.exists():
                shutil.rmtree(dest)
            tmp.rename(dest)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return dest
