"""Quality of the shipped models against baselines on held-out data, printed as tables.

    .venv/bin/python benchmarks/quality.py --omniglot ../shared/datasets/omniglot_background_subset.zip

Image: 20-way one-shot accuracy (400 trials, Koch et al.'s protocol) and verification AUC on
the held-out alphabets of the Omniglot recipe, against raw-pixel nearest neighbour.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import siamese_demo as sd  # noqa: E402


def per_item_ms(model, items, repeats: int = 1) -> float:
    model.embed(items[:8])
    t = time.perf_counter()
    for _ in range(repeats):
        model.embed(items)
    return (time.perf_counter() - t) / (repeats * len(items)) * 1000


def image_table(zip_path: str, seed: int = 0) -> list[str]:
    from siamese_demo.data import read_image_dataset
    from siamese_demo.recipes.omniglot_cnn import one_shot, split
    from siamese_demo.workflows import evaluate_model, pair_distances
    from siamese_demo import evaluate as ev

    data = read_image_dataset(zip_path)
    test = data.subset(split(data)[2])
    rows = ["| model | params | 20-way one-shot (held-out alphabets) | verification AUC | ms / item |",
            "|---|---|---|---|---|"]
    for name in [m for m in sd.available_models() if sd.load(m).modality == "image"]:
        model = sd.load(name)
        acc = one_shot(model, test, seed=seed)
        auc = evaluate_model(model, test, 2000, seed)["auc"]
        rows.append(f"| {name} | {model.num_parameters():,} | {acc:.3f} | {auc:.3f} | "
                    f"{per_item_ms(model, test.items[:256]):.2f} |")
        raw = one_shot(model, test, seed=seed, raw=True)
        # raw-pixel baseline: the same preprocessing, Euclidean distance between pixel vectors
        from siamese_demo.pairs import make_pairs

        px = torch.stack([t.flatten() for t in model.prepare(test.items)]).numpy()
        i, j, y = make_pairs(test.label_ids(), 2000, seed)
        raw_auc = ev.roc_auc(np.linalg.norm(px[i] - px[j], axis=1), y)
        rows.append(f"| raw pixels, nearest neighbour (baseline) | 0 | {raw:.3f} | {raw_auc:.3f} | - |")
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--omniglot", help="omniglot_background_subset.zip")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(2)
    print("command: .venv/bin/python benchmarks/quality.py " + " ".join(sys.argv[1:]))
    if args.omniglot:
        print("\n## Image (Omniglot held-out alphabets Korean + Latin, seed %d)\n" % args.seed)
        print("\n".join(image_table(args.omniglot, args.seed)))


if __name__ == "__main__":
    main()
