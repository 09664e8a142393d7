"""The model registry, kept in the artifact store:

    models/<name>/<version>/model.onnx      the model (inputs input_ids, attention_mask -> probabilities)
    models/<name>/<version>/tokenizer.json  its tokenizer (Hugging Face `tokenizers` format)
    models/<name>/<version>/model.json      classes, max_length, kind, and the SHA-256 of every other file
    models/<name>/<version>/card.json       metrics and lineage (model card)
    models/<name>/promoted.json             {"version": ...}: what the inference service serves
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from pathlib import Path

from shared.events import utcnow
from shared.store import ArtifactStore

PREFIX = "models"
MODEL_FILES = ("model.onnx", "tokenizer.json", "model.json")


class IntegrityError(RuntimeError):
    """An artifact whose bytes are not the ones registered: refused, never loaded."""


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


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
        files = {path.relative_to(model_dir).as_posix(): path for path in sorted(model_dir.rglob("*"))
                 if path.is_file() and path.relative_to(model_dir).as_posix() != "model.json"}
        info = json.loads((model_dir / "model.json").read_text())
        info["artifacts"] = {rel: {"sha256": sha256_file(path), "bytes": path.stat().st_size}
                             for rel, path in files.items()}
        for rel, path in files.items():
            self.store.put_file(f"{PREFIX}/{name}/{version}/{rel}", path)
        # model.json goes last: a version exists for readers only once it is complete.
        self.store.put_bytes(f"{PREFIX}/{name}/{version}/model.json", json.dumps(info, indent=2).encode(),
                             "application/json")
        return version, self.uri(name, version)

    def artifacts(self, name: str, version: str) -> dict[str, str]:
        """file -> SHA-256, from the version's model.json."""
        key = f"{PREFIX}/{name}/{version}/model.json"
        listed = self.store.get_json(key).get("artifacts")
        if not listed:
            raise IntegrityError(f"{self.store.uri(key)} lists no artifact hashes: the version cannot be "
                                 "checked, so it is not loaded (register it again)")
        return {rel: item["sha256"] for rel, item in listed.items()}

    def read_checked(self, name: str, version: str, rel: str) -> bytes | None:
        """One file of a version, checked against its hash; None when the version has no such file."""
        expected = self.artifacts(name, version).get(rel)
        if expected is None:
            return None
        key = f"{PREFIX}/{name}/{version}/{rel}"
        body = self.store.get_bytes(key)
        if sha256_of(body) != expected:
            raise IntegrityError(f"{self.store.uri(key)}: SHA-256 {sha256_of(body)} is not the registered "
                                 f"{expected}; refusing it")
        return body

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
        body = self.read_checked(name, version, "card.json")
        return json.loads(body) if body else {}

    def download(self, name: str, version: str, dest: Path) -> Path:
        """Fetch one version into `dest` (replaced whole, so a partial copy is never used)."""
        tmp = Path(tempfile.mkdtemp(prefix=f".{name}-{version}-", dir=dest.parent))
        try:
            self.store.download_prefix(f"{PREFIX}/{name}/{version}", tmp)
            self.check(name, version, tmp)
            if dest.exists():
                shutil.rmtree(dest)
            tmp.rename(dest)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        return dest

    def check(self, name: str, version: str, folder: Path) -> None:
        """Every file of a downloaded version is the one registered, and nothing else is there."""
        expected = self.artifacts(name, version)
        found = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} - {"model.json"}
        uri = self.uri(name, version)
        problems = [f"{uri}/{rel}: missing" for rel in sorted(set(expected) - found)]
        problems += [f"{uri}/{rel}: not registered" for rel in sorted(found - set(expected))]
        problems += [f"{uri}/{rel}: SHA-256 {actual} is not the registered {expected[rel]}"
                     for rel in sorted(found & set(expected)) if (actual := sha256_file(folder / rel)) != expected[rel]]
        if problems:
            raise IntegrityError(f"model {name!r} version {version} refused: " + "; ".join(problems))
