"""How to read the untrained ImageNet EfficientNet-Lite0 for signature verification: the mean against the spread
(texture) of each block's channels, which blocks, which input size, and dividing by the references' spread.

    .venv/bin/python benchmarks/signature_readouts.py --signatures ../shared/datasets/signatures/svc2004_users13-40 \\
        --bhsig ../shared/datasets/signatures/bhsig260_subset

One forward pass per input size keeps every block's per-channel spatial mean and spread for every signature;
each readout is then scored as ``signature-efficientnet``'s recipe scores it (genuine against skilled forgery,
mean cosine distance to the writer's first 5 genuine signatures, AUC), on the 21 SVC2004 train + validation
writers that the recipe chooses on. The held-out writers (SVC2004 test, BHSig260) are printed in their own
columns for the README's account, never used to choose. Prints Markdown tables. About 10 min on 2 cores.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from siamese_demo.evaluate import roc_auc  # noqa: E402
from siamese_demo.imagenet_weights import TF_OPTIONS, efficientnet_lite0  # noqa: E402
from siamese_demo.recipes.efficientnet_base import preprocessor as imagenet_preprocessor  # noqa: E402
from siamese_demo.recipes.verification_sets import read_writers, split_names  # noqa: E402

BLOCKS = range(2, 7)


def features(root: str, size: int) -> tuple[list[tuple[str, str]], dict[str, np.ndarray]]:
    """(writer, kind) of every signature, and per block ``m{i}`` / ``s{i}``: its channels' spatial mean / spread."""
    net = efficientnet_lite0(with_classifier=False, options=dict(TF_OPTIONS)).eval()
    pre = imagenet_preprocessor("pad", "tf_lite")
    pre.size = size
    writers = read_writers(root, minimum=1)
    files = [(w, k, p) for w in sorted(writers) for k in ("genuine", "forged") for p in writers[w][k]]
    out: dict[str, list[np.ndarray]] = {}
    with torch.no_grad():
        for s in range(0, len(files), 16):
            x = torch.stack([pre.encode(p) for _, _, p in files[s:s + 16]])
            x = x.contiguous(memory_format=torch.channels_last)
            h = net.bn1(net.conv_stem(x))
            for i, block in enumerate(net.blocks):
                h = block(h)
                if i in BLOCKS:
                    out.setdefault(f"m{i}", []).append(h.mean(dim=(2, 3)).numpy())
                    out.setdefault(f"s{i}", []).append(h.var(dim=(2, 3), correction=0).sqrt().numpy())
    return [(w, k) for w, k, _ in files], {k: np.concatenate(v) for k, v in out.items()}


def embedding(feats: dict[str, np.ndarray], keys: list[str]) -> np.ndarray:
    """The readout: each block's vector (a spread square-rooted, as ``CNNEncoder.texture``) L2-normalised,
    concatenated, normalised again."""
    parts = []
    for k in keys:
        x = feats[k].astype(np.float64)
        x = np.sqrt(x + 1e-6) if k.startswith("s") else x
        parts.append(x / np.linalg.norm(x, axis=1, keepdims=True))
    x = np.concatenate(parts, axis=1)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def auc(meta: list[tuple[str, str]], x: np.ndarray, writers: list[str], ratio: bool = False) -> float:
    """Genuine vs skilled forgery by the mean cosine distance to the first 5 genuine signatures (``ratio``:
    divided by the mean distance among those 5)."""
    scores, labels = [], []
    for w in writers:
        g = [i for i, (ww, k) in enumerate(meta) if ww == w and k == "genuine"]
        f = [i for i, (ww, k) in enumerate(meta) if ww == w and k == "forged"]
        refs, queries = x[g[:5]], x[g[5:] + f]
        d = (1 - queries @ refs.T).mean(1)
        if ratio:
            d = d / (1 - refs @ refs.T)[np.triu_indices(5, 1)].mean()
        scores.append(d)
        labels.append(np.r_[np.ones(len(g) - 5), np.zeros(len(f))])
    return roc_auc(np.concatenate(scores), np.concatenate(labels))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--signatures", required=True)
    p.add_argument("--bhsig", required=True)
    p.add_argument("--sizes", type=int, nargs="+", default=[224, 384, 512])
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(2)
    print("Command: .venv/bin/python " + " ".join(sys.argv) + "\n")
    meta0 = None
    for size in args.sizes:
        t0 = time.perf_counter()
        meta, svc = features(args.signatures, size)
        bmeta, bhs = features(args.bhsig, size)
        if meta0 is None:
            meta0 = meta
            names = sorted({w for w, _ in meta})
            split = split_names(names, args.seed)
            choose, test = split["train"] + split["validation"], split["test"]
            bw = sorted({w for w, _ in bmeta})
        rows = [f"### {size} px ({time.perf_counter() - t0:.0f} s of features)", "",
                "| readout | choosing writers (21) | + divided by the references' spread | SVC2004 test (7) | "
                "BHSig260 (4) |", "|---|---|---|---|---|"]
        readouts = [[f"m{i}"] for i in BLOCKS] + [[f"s{i}"] for i in BLOCKS] + [["s3", "s4"], ["s3", "s4", "s5"]]
        for keys in readouts:
            x, xb = embedding(svc, keys), embedding(bhs, keys)
            blocks = f" {keys[0][1:]}" if len(keys) == 1 else f"s {keys[0][1:]}-{keys[-1][1:]}"
            name = f"{'mean' if keys[0].startswith('m') else 'spread'} of block{blocks}"
            rows.append(f"| {name} | {auc(meta, x, choose):.3f} | {auc(meta, x, choose, ratio=True):.3f} | "
                        f"{auc(meta, x, test):.3f} | {auc(bmeta, xb, bw):.3f} |")
        print("\n".join(rows) + "\n", flush=True)


if __name__ == "__main__":
    main()
