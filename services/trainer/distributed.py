"""Data-parallel training under torchrun: this process's place among the workers of one training.

torchrun (or Kubeflow Trainer's torch runtime, or an indexed Job running torchrun) starts one process
per worker and gives each RANK, WORLD_SIZE, LOCAL_RANK and the rendezvous address; a process started
any other way is the only worker. Every worker takes its share of each global batch and DDP
averages the gradients, so the weights stay the same on every rank; rank 0 alone writes checkpoints,
exports, evaluates and registers."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal, TypeVar

import torch
import torch.distributed as dist

Backend = Literal["auto", "gloo", "nccl"]
T = TypeVar("T")


@dataclass(frozen=True)
class Workers:
    rank: int = 0
    world: int = 1
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))

    @property
    def main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world > 1

    def shard(self, items: list[T]) -> list[T]:
        """This worker's share of a list every worker holds in the same order."""
        return items[self.rank::self.world]

    def sum(self, values: list[float]) -> list[float]:
        """Each value summed over the workers (float64, so that counts stay exact)."""
        if not self.distributed:
            return list(values)
        tensor = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(tensor)
        return tensor.tolist()

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()


def join(backend: Backend = "auto", timeout_s: float = 1800.0) -> Workers:
    """Join the training's process group when torchrun started this process (WORLD_SIZE > 1);
    nccl on a GPU, gloo on CPU unless told. The timeout bounds how long a worker waits for a lost
    peer before torchrun restarts them all from the last checkpoint."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    cuda = torch.cuda.is_available() and backend != "gloo"
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = torch.device("cuda", local_rank) if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    if world == 1:
        return Workers(device=device)
    chosen = backend if backend != "auto" else ("nccl" if cuda else "gloo")
    if chosen == "nccl" and not cuda:
        raise RuntimeError("TRAINER_BACKEND=nccl needs a GPU, and none is visible: use gloo (or auto)")
    rank, timeout = int(os.environ["RANK"]), timedelta(seconds=timeout_s)
    # torchrun's agent keeps its store across restarts: keys of this attempt's own, or a restarted
    # worker may read the address a lost peer of the last attempt published, and fail to connect.
    agent_store = os.environ.get("TORCHELASTIC_USE_AGENT_STORE") == "True"
    store = dist.TCPStore(os.environ["MASTER_ADDR"], int(os.environ["MASTER_PORT"]), world,
                          is_master=not agent_store and rank == 0, timeout=timeout)
    attempt = os.environ.get("TORCHELASTIC_RESTART_COUNT", "0")
    dist.init_process_group(chosen, store=dist.PrefixStore(f"distillery/attempt-{attempt}", store), rank=rank,
                            world_size=world, timeout=timeout)
    return Workers(rank=rank, world=world, device=device)


def leave() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()
