"""The face recipe's training with one setting changed, scored on the validation people only (the test people are
never embedded): how the README's "tried since and not kept" face settings, and the ensemble's size, were
measured.

    .venv/bin/python benchmarks/face_settings.py                    # the recipe's own settings, one network
    .venv/bin/python benchmarks/face_settings.py --frozen-blocks 2  # 2 frozen blocks instead of 3
    .venv/bin/python benchmarks/face_settings.py --size 176         # a 176 px input instead of 144
    .venv/bin/python benchmarks/face_settings.py --members 3        # networks from seeds 0, 1, 2, alone and together

Trains ``siamese_demo.recipes.verification_models.train_members`` on the train people of LFW-100 and Yale (the
recipe's seeded split), each network keeping its best epoch on the 25 LFW validation people. One network: prints
one Markdown row, the validation AUC with one face crop and with the mean over the recipe's three crop widths.
Several (``--members``): every single network, every pair and all of them together (the ensemble's cosine
similarity: the mean of the networks'), with the three crop widths. About 4.5-6 min per network on 2 cores.
"""
from __future__ import annotations

import argparse
import copy
import itertools
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from siamese_demo import evaluate as ev  # noqa: E402
from siamese_demo.recipes import verification_models as vm  # noqa: E402
from siamese_demo.recipes.verification_sets import face_pairs  # noqa: E402


def ensemble_table(models: list, records: list[dict], validation: dict, seed: int) -> str:
    """Validation AUC (three crop widths) of every combination of the networks: one embedding per network."""
    photos, i, j, y = face_pairs(validation, seed)
    unit = []
    for m in models:
        e = vm.with_face_views(copy.deepcopy(m)).embed(photos).astype(np.float64)
        unit.append(e / np.linalg.norm(e, axis=1, keepdims=True))
    rows = ["| networks (seeds) | best epochs | validation AUC, three crop widths |", "|---|---|---|"]
    for n in range(1, len(models) + 1):
        for combo in itertools.combinations(range(len(models)), n):
            similarity = np.mean([(unit[k][i] * unit[k][j]).sum(1) for k in combo], axis=0)
            rows.append(f"| {', '.join(str(seed + k) for k in combo)} | "
                        f"{', '.join(str(records[k]['best_epoch']) for k in combo)} | "
                        f"{ev.roc_auc(-similarity, y):.4f} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    shared = ROOT.parent / "shared" / "datasets" / "faces"
    p.add_argument("--lfw", default=str(shared / "lfw_100"))
    p.add_argument("--yale", default=str(shared / "yale"))
    p.add_argument("--frozen-blocks", type=int, default=vm.FROZEN_BLOCKS)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--size", type=int, default=vm.TASKS["faces"]["size"], help="input size in px")
    p.add_argument("--members", type=int, default=1, help="networks, from seeds seed, seed + 1, ...")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    vm.TASKS["faces"]["size"] = args.size  # read by the recipe's preprocessor and crop widths
    splits = {k: vm._split(vm.read("faces", root), args.seed) for k, root in (("lfw", args.lfw), ("yale", args.yale))}
    train_groups = {f"{k}/{n}": v for k, sp in splits.items() for n, v in sp["train"].items()}
    items, labels, _ = vm.training_items("faces", train_groups)
    validation = splits["lfw"]["validation"]
    run = argparse.Namespace(seed=args.seed, epochs=args.epochs, lr=args.lr, time_budget=3000.0,
                             frozen_blocks=args.frozen_blocks)
    models, records = vm.train_members("faces", args.members, items, labels, validation, run)
    if args.members > 1:
        print("\n" + ensemble_table(models, records, validation, args.seed))
        return
    several = vm.measure("faces", vm.with_face_views(copy.deepcopy(models[0])), validation)["auc"]
    print("\n| frozen blocks | lr | epochs | size | best epoch | validation AUC, one crop | three crop widths |")
    print("|---|---|---|---|---|---|---|")
    print(f"| {args.frozen_blocks} | {args.lr:g} | {args.epochs} | {args.size} | {records[0]['best_epoch']} | "
          f"{records[0]['best_val_auc']:.4f} | {several:.4f} |")


if __name__ == "__main__":
    main()
