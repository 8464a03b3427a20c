"""Recipes that rebuild the shipped models from scratch with a fixed seed."""
from __future__ import annotations

import argparse
import platform
from typing import Any


def pretrained_args(p: argparse.ArgumentParser) -> None:
    """The options every pretrained-model recipe (threshold and calibration fit here) shares."""
    from siamese_demo.evaluate import POLICIES

    p.add_argument("--out", required=True)
    p.add_argument("--threshold-policy", default="max_accuracy", choices=POLICIES)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)


def start(args: argparse.Namespace) -> None:
    """Torch threads and every seed, from :func:`pretrained_args`'s options."""
    import torch

    from siamese_demo.train import seed_everything

    torch.set_num_threads(args.threads)
    seed_everything(args.seed)


def environment() -> dict[str, Any]:
    """What the run record says about the machine."""
    import torch

    return {"torch": torch.__version__, "python": platform.python_version(), "device": "cpu",
            "threads": torch.get_num_threads()}


def finish_folder(out, seconds: float, metrics: dict[str, Any]) -> int:
    """After a pretrained/fine-tuned model's folder is written and re-measured: the run's wall time into
    run_record.json, the held-out metrics into config.json; returns the size of its weights files in bytes."""
    import json

    run = json.loads((out / "run_record.json").read_text())
    run["seconds"] = round(seconds, 1)
    (out / "run_record.json").write_text(json.dumps(run, indent=2))
    config = json.loads((out / "config.json").read_text())
    config["info"]["test_metrics"] = metrics
    (out / "config.json").write_text(json.dumps(config, indent=2))
    from siamese_demo.checkpoint import weights_files

    return sum(f.stat().st_size for f in weights_files(out))
