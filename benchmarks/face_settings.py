"""The face recipe's training with one setting changed, scored on the validation people only (the test people are
never embedded): how the README's "tried since and not kept" face settings were measured.

    .venv/bin/python benchmarks/face_settings.py                    # the recipe's own settings
    .venv/bin/python benchmarks/face_settings.py --frozen-blocks 2  # 2 frozen blocks instead of 3
    .venv/bin/python benchmarks/face_settings.py --size 176         # a 176 px input instead of 144

Trains ``siamese_demo.recipes.verification_models.train`` on the train people of LFW-100 and Yale (the recipe's
seeded split), keeps the best epoch on the 25 LFW validation people, and prints one Markdown row: the validation
AUC with one face crop and with the mean over the recipe's three crop widths. About 6 min per run on 2 cores.
"""
from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from siamese_demo.recipes import verification_models as vm  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    shared = ROOT.parent / "shared" / "datasets" / "faces"
    p.add_argument("--lfw", default=str(shared / "lfw_100"))
    p.add_argument("--yale", default=str(shared / "yale"))
    p.add_argument("--frozen-blocks", type=int, default=vm.FROZEN_BLOCKS)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--size", type=int, default=vm.TASKS["faces"]["size"], help="input size in px")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    vm.TASKS["faces"]["size"] = args.size  # read by the recipe's preprocessor and crop widths
    torch.manual_seed(args.seed)
    splits = {k: vm._split(vm.read("faces", root), args.seed) for k, root in (("lfw", args.lfw), ("yale", args.yale))}
    train_groups = {f"{k}/{n}": v for k, sp in splits.items() for n, v in sp["train"].items()}
    items, labels, _ = vm.training_items("faces", train_groups)
    model = vm.build("faces")
    validation = splits["lfw"]["validation"]
    record = vm.train("faces", model, items, labels, validation, args.epochs, args.lr, 3000, args.seed,
                      frozen_blocks=args.frozen_blocks, log=lambda m: print(m, flush=True))
    several = vm.measure("faces", vm.with_face_views(copy.deepcopy(model)), validation)["auc"]
    print("\n| frozen blocks | lr | epochs | size | best epoch | validation AUC, one crop | three crop widths |")
    print("|---|---|---|---|---|---|---|")
    print(f"| {args.frozen_blocks} | {args.lr:g} | {args.epochs} | {args.size} | {record['best_epoch']} | "
          f"{record['best_val_auc']:.4f} | {several:.4f} |")


if __name__ == "__main__":
    main()
