"""The inference service's entry point: one serving process, or a supervisor of several.

Python serves a request on one event loop, under one interpreter lock: one process uses about one
core however many the pod has. With INFERENCE_PROCESSES > 1 this process starts that many serving
processes, each a whole inference app (its own gRPC server on the same port, SO_REUSEPORT: the
kernel spreads connections over them; its own model copy with CPUs / processes onnxruntime threads;
its own event buffer and ledger), and supervises them: SIGTERM is passed on and waited for, and
when one exits the others are stopped and the pod restarts. Prometheus scrapes the supervisor's
metrics port, which answers with every process's metrics, labelled `process`.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterable

from prometheus_client.metrics_core import Metric

STOP_GRACE_S = 25.0  # under the Deployment's terminationGracePeriodSeconds (30)


def metrics_ports(base: int, processes: int) -> list[int]:
    """The serving processes' own metrics ports: the ones after the supervisor's."""
    return [base + 1 + i for i in range(processes)] if base else [0] * processes


class ProcessMetrics:
    """A Prometheus collector that reads every serving process's /metrics and labels its samples."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports

    def collect(self) -> Iterable[Metric]:
        from prometheus_client.parser import text_string_to_metric_families

        families: dict[str, Metric] = {}
        for index, port in enumerate(self.ports):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
                    text = response.read().decode()
            except OSError:
                continue  # starting or stopping: its samples are missing from this scrape
            for family in text_string_to_metric_families(text):
                merged = families.setdefault(family.name, family)
                samples = [s._replace(labels={**s.labels, "process": str(index)}) for s in family.samples]
                if merged is family:
                    family.samples = samples
                else:
                    merged.samples.extend(samples)
        yield from families.values()


def _die_with_parent() -> None:
    """A serving process gets SIGTERM when the supervisor dies, even of SIGKILL: none is orphaned."""
    import ctypes

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def supervise(processes: int, metrics_port: int) -> int:
    ports = metrics_ports(metrics_port, processes)
    children = []
    for index in range(processes):
        env = {**os.environ, "INFERENCE_PROCESS_INDEX": str(index), "INFERENCE_PROCESSES": str(processes),
               "DISTILLERY_METRICS_PORT": str(ports[index])}
        if index:
            env["DISTILLERY_HEALTH_PORT"] = "0"  # one process answers the health port, if there is one
        children.append(subprocess.Popen([sys.executable, "-m", "services.inference"], env=env,
                                         preexec_fn=_die_with_parent))
    if metrics_port:
        from prometheus_client import CollectorRegistry, start_http_server

        registry = CollectorRegistry(auto_describe=False)
        registry.register(ProcessMetrics(ports))
        start_http_server(metrics_port, registry=registry)

    stopping = threading.Event()

    def stop(signum: int, frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    code = 0
    while not stopping.is_set():
        exited = [c for c in children if c.poll() is not None]
        if exited:
            code = exited[0].returncode or 1  # a serving process never ends on its own
            print(f"inference: serving process {exited[0].pid} exited ({exited[0].returncode}); stopping the others",
                  file=sys.stderr, flush=True)
            break
        stopping.wait(0.5)
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    for child in children:
        try:
            child.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    return code


def main() -> None:
    from services.inference.settings import InferenceSettings
    from shared.settings import ServiceSettings

    config = InferenceSettings()
    processes = config.serving_processes()
    if config.process_index >= 0 or processes <= 1:
        from services.inference.app import app

        asyncio.run(app.run())
        return
    sys.exit(supervise(processes, ServiceSettings().metrics_port))


if __name__ == "__main__":
    main()
