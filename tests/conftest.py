"""Fixtures: a real embedded stack (Tansu broker + SeaweedFS S3) on free ports for the session,
and the real teacher model, built once and cached in .cache/."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


# What a whole run keeps in /tmp at its peak (stacks' S3 data, models; 10 GB measured, a green run's
# folders deleted at its end), with room to spare: below this much free above SeaweedFS's floor, the
# run is told before it starts.
TEST_RUN_BYTES = 16 << 30


def pytest_sessionstart(session):
    """A nearly full disk, named before the run (one CI run filled its disk, SeaweedFS turned
    read-only, and four tests failed with nothing but HTTP 500s to show for it)."""
    import tempfile

    from cli.stack import low_disk_warning

    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if (warning := low_disk_warning(Path(tempfile.gettempdir()), TEST_RUN_BYTES)) and reporter is not None:
        reporter.write_line(warning, yellow=True, bold=True)


def pytest_collection_modifyitems(items):
    """Mark tests by what their fixtures need, so that `-m "not stack and not model"` (make test-fast)
    leaves out exactly the tests that start the stack or build the teacher model."""
    for item in items:
        needs = set(getattr(item, "fixturenames", ()))
        if "stack" in needs:
            item.add_marker(pytest.mark.stack)
        if needs & {"teacher_dir", "teacher_lm_dir"}:
            item.add_marker(pytest.mark.model)


@pytest.fixture(scope="session")
def stack(tmp_path_factory):
    from cli.stack import EmbeddedStack, StackConfig

    embedded = EmbeddedStack(StackConfig.on_free_ports(tmp_path_factory.mktemp("stack")))
    try:
        embedded.start_infra()
    except BaseException:
        embedded.down()  # what did start (the broker, say) must not outlive the session
        raise
    saved = {k: os.environ.get(k) for k in embedded.env()}
    os.environ.update(embedded.env())
    yield embedded
    embedded.down()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(scope="session")
def store(stack):
    from shared.store import ArtifactStore

    return ArtifactStore(stack.config.s3())


@pytest.fixture(scope="session")
def teacher_dir():
    from services.trainer.teacher_model import ensure_teacher_model

    return ensure_teacher_model(ROOT / ".cache")


@pytest.fixture(scope="session")
def teacher_lm_dir():
    """teacher-lm (SmolLM2-135M-Instruct with its KV cache in ONNX), built once and cached."""
    from services.trainer.teacher_lm import ensure_teacher_lm

    return ensure_teacher_lm(ROOT / ".cache")


@pytest.fixture(scope="session")
def registered_teacher(store, teacher_dir):
    from shared.registry import ModelRegistry

    registry = ModelRegistry(store)
    if not registry.promoted("teacher"):
        version, _ = registry.register("teacher", teacher_dir)
        registry.promote("teacher", version)
    return registry.promoted("teacher")


@pytest.fixture(scope="session")
def api_key(store):
    from shared.keys import KeyStore

    return KeyStore(store).create("test-client", scopes=("probabilities",))


@pytest.fixture(scope="session")
async def served(stack, store, registered_teacher, api_key, tmp_path_factory):
    """The inference service in process, serving the registry's promoted models."""
    from concurrent.futures import ThreadPoolExecutor

    from services.inference.access import AccessControl
    from services.inference.server import (
        InferenceServer,
        InferenceServicer,
        ModelRepository,
        RequestEventBuffer,
    )
    from shared.kafka import KeyedBatchPublisher, make_broker
    from shared.keys import EnforcementStore, KeyStore
    from shared.registry import ModelRegistry

    broker = make_broker(stack.config.kafka(), "test-inference")
    await broker.connect()
    executor = ThreadPoolExecutor(4)
    events = RequestEventBuffer(KeyedBatchPublisher(broker.publisher("inference.requests", batch=True),
                                                    stack.config.kafka(), "inference.requests").publish)
    repository = ModelRepository(ModelRegistry(store), tmp_path_factory.mktemp("models"), "auto", executor)
    access = AccessControl(KeyStore(store), EnforcementStore(store), executor)
    servicer = InferenceServicer(repository, access, events, executor, max_batch=64)
    server = InferenceServer(servicer, "127.0.0.1:0")
    events.start()
    await server.start()
    await repository.load_promoted()
    await server.set_serving(True)
    yield {"url": f"127.0.0.1:{server.port}", "key": api_key, "events": events, "servicer": servicer}
    await server.stop(0)
    await events.stop()
    await broker.stop()
