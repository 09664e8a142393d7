"""The embedded stack as a user meets it."""

from __future__ import annotations

import socket

import pytest
from minio.error import S3Error

from cli.stack import EmbeddedStack, StackConfig, StackError

pytestmark = pytest.mark.stack


def test_a_taken_port_gets_a_clear_message(tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        config = StackConfig.on_free_ports(tmp_path)
        config.kafka_port = taken
        stack = EmbeddedStack(config)
        with pytest.raises(StackError, match=rf"already in use: port {taken} \(kafka\).*DISTILLERY_KAFKA_PORT"):
            stack.check_ports()
    too_high = EmbeddedStack(StackConfig(home=tmp_path, s3_port=60000))
    with pytest.raises(StackError, match=r"beyond 65535: port 70000 \(s3 gRPC\)"):
        too_high.check_ports()


def test_the_s3_server_refuses_a_wrong_secret(stack):
    from pydantic import SecretStr

    from shared.store import ArtifactStore

    settings = stack.config.s3().model_copy(update={"secret_key": SecretStr("not-the-secret")})
    with pytest.raises(S3Error):
        ArtifactStore(settings).client.list_buckets()


def test_the_topics_exist_with_their_partitions(stack):
    from kafka.admin import KafkaAdminClient

    from shared.events import all_topic_names

    admin = KafkaAdminClient(bootstrap_servers=stack.config.kafka().bootstrap_servers)
    try:
        assert set(all_topic_names()) <= set(admin.list_topics())
    finally:
        admin.close()


def test_a_restarted_service_runs_with_its_new_environment(stack):
    """`restart` (the demo gives the teacher service a thief's key this way) waits for the new
    process to come up, not for the old one's line in the log it appends to."""
    from pathlib import Path

    stack.start_services(names=("curator",))
    try:
        stack.wait_services(names=("curator",))
        first, log = stack.running()["curator"], stack.log_dir / "curator.log"
        starts = log.read_text().count("FastStream app started successfully")
        stack.restart("curator", {"DISTILLERY_TEST_MARK": "second"})
        again = stack.running()["curator"]
        assert again != first
        assert b"DISTILLERY_TEST_MARK=second" in Path(f"/proc/{again}/environ").read_bytes()
        assert log.read_text().count("FastStream app started successfully") == starts + 1
    finally:
        stack.stop("curator")


def test_a_fresh_memory_broker_voids_the_detectors_checkpoints(tmp_path):
    """A memory broker started afresh has empty logs, so the detector's checkpoints (offsets into
    the old ones) and the risk tables made from them are deleted; the benign references, which hold
    no offsets, are kept. Before, a second `make demo` in one folder restored the first one's
    offsets and skipped the new records up to them."""
    from shared.store import ArtifactStore

    stack = EmbeddedStack(StackConfig.on_free_ports(tmp_path))
    try:
        stack.start_infra()
        store = ArtifactStore(stack.config.s3())
        kept = "detector/reference/teacher-lm.json"
        for key in ("detector/state/inference.requests-0.json", "detector/risk/inference.requests-0.json", kept):
            store.put_bytes(key, b"{}")
        stack.start_infra()  # both running: nothing is started afresh, nothing forgotten
        assert len(list(store.list("detector/"))) == 3
        stack.kill("tansu")
        stack.start_infra()
        assert list(store.list("detector/")) == [kept]
    finally:
        stack.down()


def test_of_writers_racing_for_one_marker_exactly_one_creates_it(store):
    """The teacher's `done` is announced by whoever writes the job's marker first: a conditional
    write the S3 server arbitrates, across replicas (a check-then-write in each would let two win)."""
    import uuid
    from concurrent.futures import ThreadPoolExecutor

    for _ in range(5):
        key = f"tests/race-{uuid.uuid4().hex}/done.json"
        with ThreadPoolExecutor(8) as pool:
            won = list(pool.map(lambda i, key=key: store.create_json(key, {"writer": i}), range(8)))
        assert sum(won) == 1 and store.get_json(key)["writer"] == won.index(True)
