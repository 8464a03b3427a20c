"""From scratch on an image dataset: the input preparation fitted to the images (inspect_data.image_input_plan,
what a from-scratch base now gets) against the fixed preset used before (48 px grey, stretched), each trained with
the first-run defaults for the same time budget; test AUC on the split's unseen classes.

    (cd ../shared/datasets/faces/lfw_100 && zip -qr /tmp/lfw.zip .)
    mkdir -p /tmp/svcg && for d in ../shared/datasets/signatures/svc2004_users13-40/user*; do \\
        mkdir -p /tmp/svcg/$(basename $d) && cp $d/genuine/*.png /tmp/svcg/$(basename $d)/; done && \\
        (cd /tmp/svcg && zip -qr /tmp/svc_genuine.zip .)
    .venv/bin/python benchmarks/input_plan.py /tmp/svc_genuine.zip /tmp/lfw.zip --budget 60
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from siamese_demo.factory import build_model  # noqa: E402
from siamese_demo.finetune import default_config, finetune  # noqa: E402
from siamese_demo.rng import seeded  # noqa: E402
from siamese_demo.workflows import SCRATCH, read_dataset, scratch_model  # noqa: E402


def preset_model(seed: int = 0):
    """The from-scratch image model as it was before the input plan: SCRATCH's fixed preprocessing."""
    opts, prep = SCRATCH[("image", "cnn")]
    with seeded(seed):
        return build_model("image", "cnn", dict(opts), dict(prep), distance="euclidean", normalize=True)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("zips", nargs="+", help="image datasets: one folder per class")
    p.add_argument("--budget", type=float, default=60.0, help="seconds of training per run")
    args = p.parse_args()
    torch.set_num_threads(2)
    print("command: .venv/bin/python benchmarks/input_plan.py " + " ".join(sys.argv[1:]))
    print("\n| data | input | size, channels, crop, fit | untrained test AUC | fine-tuned test AUC | wall s |")
    print("|---|---|---|---|---|---|")
    for path in args.zips:
        data = read_dataset("image", path)
        for name, model in (("fitted", scratch_model("image", "cnn", data, "euclidean", 0)), ("preset", preset_model())):
            t = time.perf_counter()
            rep = finetune(model, data, default_config(model, data, time_budget_s=args.budget),
                           base_name="from scratch: cnn").report
            pre = model.preprocessor
            print(f"| {Path(path).name} | {name} | {pre.size}, {pre.channels}, {pre.crop_to_content}, {pre.fit} | "
                  f"{rep['base']['auc']:.3f} | {rep['finetuned']['auc']:.3f} | {time.perf_counter() - t:.0f} |",
                  flush=True)


if __name__ == "__main__":
    main()
