"""Safe artifacts: every file of a registered model version carries its SHA-256 in model.json and a
loader refuses one whose bytes differ; training checkpoints are safetensors, never pickles."""

from __future__ import annotations

import json
import os
import pickle
import re

import pytest

from shared.registry import IntegrityError, ModelRegistry

pytestmark = pytest.mark.stack


def a_model(folder):
    folder.mkdir()
    (folder / "model.onnx").write_bytes(os.urandom(4096))
    (folder / "tokenizer.json").write_text("{}")
    (folder / "model.json").write_text(json.dumps({"kind": "classifier", "classes": ["a", "b"]}))
    (folder / "card.json").write_text(json.dumps({"agreement": 0.9}))
    return folder


def test_a_registered_version_lists_the_hash_of_every_file_and_loads_when_untouched(store, tmp_path):
    registry = ModelRegistry(store)
    name = f"artifact-{os.urandom(3).hex()}"
    version, _ = registry.register(name, a_model(tmp_path / "m"))
    assert set(registry.artifacts(name, version)) == {"model.onnx", "tokenizer.json", "card.json"}
    out = registry.download(name, version, tmp_path / "copy")
    assert (out / "model.onnx").read_bytes() == (tmp_path / "m" / "model.onnx").read_bytes()
    assert registry.card(name, version) == {"agreement": 0.9}


def test_a_tampered_or_added_artifact_is_refused_naming_the_object(store, tmp_path):
    registry = ModelRegistry(store)
    name = f"tampered-{os.urandom(3).hex()}"
    version, uri = registry.register(name, a_model(tmp_path / "m"))
    store.put_bytes(f"models/{name}/{version}/model.onnx", b"someone else's model")
    with pytest.raises(IntegrityError, match=re.escape(f"{uri}/model.onnx: SHA-256 ") + ".* is not the registered"):
        registry.download(name, version, tmp_path / "copy")
    assert not (tmp_path / "copy").exists()  # nothing half-loaded is left for a loader to find
    store.put_bytes(f"models/{name}/{version}/card.json", b'{"agreement": 1.0}')
    with pytest.raises(IntegrityError, match=r"card\.json"):
        registry.card(name, version)

    version, uri = registry.register(name, a_model(tmp_path / "m2"))
    store.put_bytes(f"models/{name}/{version}/extra.py", b"import os")
    with pytest.raises(IntegrityError, match=f"{uri}/extra.py: not registered"):
        registry.download(name, version, tmp_path / "copy")


def test_a_version_without_hashes_is_not_loaded(store, tmp_path):
    registry = ModelRegistry(store)
    name = f"unhashed-{os.urandom(3).hex()}"
    for file in a_model(tmp_path / "m").iterdir():
        store.put_file(f"models/{name}/1/{file.name}", file)
    with pytest.raises(IntegrityError, match="lists no artifact hashes"):
        registry.download(name, "1", tmp_path / "copy")


def test_checkpoints_round_trip_as_safetensors_and_a_pickle_is_never_loaded():
    torch = pytest.importorskip("torch")
    from safetensors import SafetensorError

    from services.trainer import checkpoint

    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.Adam(model.parameters())
    model(torch.randn(4, 3)).sum().backward()
    optimizer.step()
    state = {"epoch": 3, "model": model.state_dict(), "optimizers": [optimizer.state_dict()],
             "generator": torch.Generator().manual_seed(7).get_state(), "history": [{"epoch": 1}], "best_state": None}
    restored = checkpoint.loads(checkpoint.dumps(state))
    assert restored["epoch"] == 3 and restored["history"] == [{"epoch": 1}] and restored["best_state"] is None
    assert all(torch.equal(restored["model"][k], v) for k, v in model.state_dict().items())
    again = torch.optim.Adam(torch.nn.Linear(3, 2).parameters())
    again.load_state_dict(restored["optimizers"][0])  # int-keyed optimiser state comes back as it was

    class Payload:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    with pytest.raises(SafetensorError):
        checkpoint.loads(pickle.dumps(Payload()))


def test_no_unsafe_load_is_left_in_the_code():
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    pattern = "weights_only" + "=False"
    offenders = [str(p) for folder in ("services", "shared", "cli", "benchmarks", "scripts")
                 for p in (root / folder).rglob("*.py") if pattern in p.read_text()]
    assert not offenders
