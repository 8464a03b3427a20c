"""The several-references comparison of ``signature-efficientnet``, on the 21 SVC2004 writers its recipe chooses
on (train + validation; the test writers are never scored): the mean of the distances to the references, the
distance to the references' mean, and that distance divided by the references' spread plus a prior of c times
the median spread (``siamese.references_scale``), with 5, 3 or 2 references; and the shipped readout together
with a second one (blocks 3-4 at 224 px), their embeddings concatenated.

    .venv/bin/python benchmarks/signature_references.py

Prints Markdown tables (AUC, genuine against skilled forgery). About 5 min on 2 cores.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import siamese_demo as sd  # noqa: E402
from siamese_demo.evaluate import roc_auc  # noqa: E402
from siamese_demo.recipes import verification_models as vm  # noqa: E402
from siamese_demo.recipes.verification_sets import read_writers, split_names  # noqa: E402

PRIORS = (0.25, 0.5, 1.0, 2.0)


def scores(e: np.ndarray, writer: np.ndarray, kind: np.ndarray, writers: list[str], refs: int) -> dict[str, np.ndarray]:
    """Per questioned signature: mean distance, distance to the references' mean, the references' spread."""
    out: dict[str, list] = {"mean": [], "centroid": [], "spread": [], "labels": []}
    for w in writers:
        g, f = np.flatnonzero((writer == w) & (kind == "genuine")), np.flatnonzero((writer == w) & (kind == "forged"))
        r, q = e[g[:refs]], e[np.r_[g[refs:], f]]
        c = r.mean(0) / np.linalg.norm(r.mean(0))
        out["mean"].append((1 - q @ r.T).mean(1))
        out["centroid"].append(1 - q @ c)
        out["spread"].append(np.full(len(q), (1 - r @ r.T)[np.triu_indices(refs, 1)].mean()))
        out["labels"].append(np.r_[np.ones(len(g) - refs), np.zeros(len(f))])
    return {k: np.concatenate(v) for k, v in out.items()}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--signatures", default=str(ROOT.parent / "shared" / "datasets" / "signatures" /
                                               "svc2004_users13-40"))
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    writers = read_writers(args.signatures)
    files = [(w, k, f) for w in sorted(writers) for k in ("genuine", "forged") for f in writers[w][k]]
    writer, kind = np.array([w for w, _, _ in files]), np.array([k for _, k, _ in files])
    split = split_names(sorted(writers), 0)
    choose = split["train"] + split["validation"]
    shipped = sd.load("signature-efficientnet")
    second = vm.with_readout(shipped, [3, 4])
    second.preprocessor = replace(shipped.preprocessor, size=224)
    unit = []
    for model in (shipped, second):
        e = model.embed([f for _, _, f in files]).astype(np.float64)
        unit.append(e / np.linalg.norm(e, axis=1, keepdims=True))
    print("| references | mean distance | references' mean | " + " | ".join(f"divided, prior {c} x median"
                                                                          for c in PRIORS) + " |")
    print("|---|---|---|" + "---|" * len(PRIORS))
    for refs in (5, 3, 2):
        s = scores(unit[0], writer, kind, choose, refs)
        med = np.median(s["spread"])
        cells = [roc_auc(s["mean"], s["labels"]), roc_auc(s["centroid"], s["labels"])]
        cells += [roc_auc(s["centroid"] / (s["spread"] + c * med), s["labels"]) for c in PRIORS]
        print(f"| {refs} | " + " | ".join(f"{v:.3f}" for v in cells) + " |")
    print("\n| readout (5 references, references' mean) | choosing writers |\n|---|---|")
    for name, weight in (("shipped: 384 px, blocks 3-5", 1.0), ("+ 224 px blocks 3-4, weights 0.7 / 0.3", 0.7),
                         ("+ 224 px blocks 3-4, weights 0.5 / 0.5", 0.5), ("224 px, blocks 3-4 alone", 0.0)):
        e = np.concatenate([unit[0] * np.sqrt(weight), unit[1] * np.sqrt(1 - weight)], axis=1)
        s = scores(e, writer, kind, choose, 5)
        print(f"| {name} | {roc_auc(s['centroid'], s['labels']):.3f} |")


if __name__ == "__main__":
    main()
