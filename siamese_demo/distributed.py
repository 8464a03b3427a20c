"""Multi-process training under ``torchrun``: process-group set-up (gloo on CPU, NCCL on GPU),
rank helpers and device choice. Without ``torchrun`` (WORLD_SIZE unset) everything is a no-op."""
from __future__ import annotations

import os

import torch
import torch.distributed as dist


def world_size() -> int:
    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size()
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank()
    return int(os.environ.get("RANK", "0"))


def is_main_process() -> bool:
    return rank() == 0


def resolve_device(device: str) -> str:
    """``auto`` -> this process's GPU when one is present, else ``cpu``."""
    if device != "auto":
        return device
    if torch.cuda.is_available():
        return f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}"
    return "cpu"


def setup(device: str) -> bool:
    """Join the process group started by torchrun; True when training is distributed."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or not dist.is_available():
        return False
    if not dist.is_initialized():
        backend = "nccl" if device.startswith("cuda") else "gloo"
        if device.startswith("cuda"):
            torch.cuda.set_device(torch.device(device))
        dist.init_process_group(backend)
    return True


def any_flag(flag: bool, device: str) -> bool:
    """True on every process when any process raised ``flag`` (keeps stops in step)."""
    if not (dist.is_available() and dist.is_initialized()):
        return flag
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def average_gradients(params, device: str) -> None:
    """All-reduce the gradients of parameters outside the DDP-wrapped module (the pair head)."""
    n = world_size()
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
        dist.all_reduce(p.grad)
        p.grad /= n


def from_main(obj):
    """Rank 0's ``obj`` on every process (validation numbers, so that all take the same decisions)."""
    if not (dist.is_available() and dist.is_initialized()):
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def cleanup() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
