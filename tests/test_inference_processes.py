"""The inference service as several serving processes on one port (INFERENCE_PROCESSES): each
answers, one metrics scrape shows them all, and when one dies the supervisor stops the rest."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from cli.stack import free_port
from shared.oip import OipClient

ROOT = Path(__file__).resolve().parent.parent


def _children(pid: int) -> list[int]:
    return [int(c) for task in Path(f"/proc/{pid}/task").iterdir() for c in (task / "children").read_text().split()]


def _metrics(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
        return reply.read().decode()


async def _answer_on_fresh_connections(url: str, key: str, connections: int) -> None:
    for _ in range(connections):  # the kernel spreads connections, not requests, over the processes
        async with OipClient(url, key) as client:
            await client.infer("teacher", ["a large cat of the Old World with a tawny mane"])


def test_serving_processes_share_the_port_and_stop_together(stack, registered_teacher, api_key, tmp_path):
    port, metrics_port = free_port(), free_port()
    log = tmp_path / "inference.log"
    env = {**os.environ, **stack.env(), "INFERENCE_PORT": str(port), "INFERENCE_PROCESSES": "2",
           "DISTILLERY_METRICS_PORT": str(metrics_port), "INFERENCE_MODEL_CACHE": str(tmp_path / "models")}
    with open(log, "wb") as out:
        supervisor = subprocess.Popen([sys.executable, "-m", "services.inference"], cwd=ROOT, env=env,
                                      stdout=out, stderr=subprocess.STDOUT)
    try:
        give_up = time.monotonic() + 300  # a bound for a hung start, not a speed goal
        while log.read_text(errors="replace").count("ready, serving") < 2:
            assert supervisor.poll() is None, log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < give_up, log.read_text(errors="replace")[-3000:]
            time.sleep(0.5)
        children = _children(supervisor.pid)
        assert len(children) == 2

        # Both processes answer (connections are spread by a hash: enough of them reach both).
        give_up = time.monotonic() + 120
        while True:
            asyncio.run(_answer_on_fresh_connections(f"127.0.0.1:{port}", api_key, 8))
            text = _metrics(metrics_port)
            answered = {line.split('process="')[1][0] for line in text.splitlines()
                        if line.startswith("nv_inference_request_success_total") and 'process="' in line
                        and not line.rstrip().endswith(" 0.0")}
            if answered == {"0", "1"}:
                break
            assert time.monotonic() < give_up, f"not every process answered; metrics:\n{text[-3000:]}"

        # One dies: the supervisor stops the other and exits with an error, so the pod restarts.
        os.kill(children[0], signal.SIGKILL)
        assert supervisor.wait(timeout=60) != 0
        assert not Path(f"/proc/{children[1]}").exists() or \
            Path(f"/proc/{children[1]}/stat").read_text().split()[2] == "Z"
    finally:
        if supervisor.poll() is None:
            supervisor.send_signal(signal.SIGTERM)
            supervisor.wait(timeout=60)
