"""Which fine-tuning procedure for the series benchmark, decided inside the UCR *train* splits only.

    .venv/bin/python benchmarks/finetune_procedure.py                       # 6 held-out sets x 8 splits
    .venv/bin/python benchmarks/finetune_procedure.py --datasets GunPoint --seeds 0 1
    .venv/bin/python benchmarks/finetune_procedure.py --models series-lstm /tmp/other --procedures refit

For each held-out UCR dataset and seed, the train split is divided 70/30 (stratified) into an inner
train and an inner test set; the test split of the dataset is never read. Each procedure fine-tunes the
shipped model on the inner train set (``ucr_series.finetuned``), then 1-NN accuracy in embedding space
on the inner test set. Procedures:

- best-epoch: early stopping on a stratified validation quarter, the best epoch's weights;
- refit: the same run picks the number of epochs, then the base model is trained again on the whole
  inner train set for that many epochs (a quarter more data, no held-back validation);
- refit-last: refit, with the LSTM's readout switched from mean pooling to the final states;
- refit-loo: the readout whose base-model embeddings give the higher leave-one-out 1-NN accuracy on the
  inner train set, then refit (the procedure ``ucr_series.finetuned`` uses by default);
- refit-validation: both readouts are fine-tuned on three quarters, the one with the better 1-NN
  accuracy on the validation quarter is refitted.

Also printed: 1-NN Euclidean on the raw series and the model before fine-tuning (zero-shot).
With several ``--models`` (names or folders), one table each on the same splits: this is how a
candidate architecture is compared with the shipped one without reading a test split.
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
from siamese_demo.recipes.ucr_series import (  # noqa: E402
    HELD_OUT, finetuned, load_ucr, one_nn_accuracy, raw_ed_accuracy)

# column -> (refit, readouts, select) arguments of ucr_series.finetuned
PROCEDURES = {"best-epoch": (False, ("mean",), "loo"), "refit": (True, ("mean",), "loo"),
              "refit-last": (True, ("last",), "loo"), "refit-loo": (True, ("mean", "last"), "loo"),
              "refit-validation": (True, ("mean", "last"), "validation")}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--models", nargs="+", default=["series-lstm"], help="shipped names or model folders")
    p.add_argument("--procedures", nargs="+", choices=list(PROCEDURES), default=["refit", "refit-loo"])
    p.add_argument("--datasets", nargs="+", default=list(HELD_OUT))
    p.add_argument("--seeds", nargs="+", type=int, default=list(range(8)))
    p.add_argument("--seconds", type=float, default=60.0, help="budget of each fine-tuning run")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    print("command: .venv/bin/python benchmarks/finetune_procedure.py " + " ".join(sys.argv[1:]))
    for model_name in args.models:
        table(model_name, args, ["1-NN ED", "zero-shot", *args.procedures])


def table(model_name: str, args, cols: list[str]) -> None:
    from sklearn.model_selection import train_test_split

    print(f"\n## {model_name}: 1-NN accuracy on inner test sets (30 % of each train split), "
          f"mean over {len(args.seeds)} splits\n")
    print("| dataset | " + " | ".join(cols) + " |")
    print("|---|" + "---|" * len(cols))
    means, t0 = {c: [] for c in cols}, time.time()
    for name in args.datasets:
        x, y = load_ucr(name, "train")
        acc = {c: [] for c in cols}
        for seed in args.seeds:
            inner, held = train_test_split(np.arange(len(x)), test_size=0.3, random_state=100 + seed, stratify=y)
            xa, ya = [x[i] for i in inner], [y[i] for i in inner]
            xb, yb = [x[i] for i in held], [y[i] for i in held]
            acc["1-NN ED"].append(raw_ed_accuracy(xa, ya, xb, yb))
            for col in cols[1:]:
                if col == "zero-shot":
                    model = sd.load(model_name)
                else:
                    refit, readouts, select = PROCEDURES[col]
                    model = finetuned(model_name, xa, ya, args.seconds, seed, refit, readouts, select)
                acc[col].append(one_nn_accuracy(model.embed(xa), ya, model.embed(xb), yb))
        for c in cols:
            means[c].append(float(np.mean(acc[c])))
        print(f"| {name} | " + " | ".join(f"{means[c][-1]:.3f}" for c in cols) + " |", flush=True)
    print("| **mean** | " + " | ".join(f"**{np.mean(means[c]):.3f}**" for c in cols) + " |")
    print(f"\n{time.time() - t0:.0f} s in all")


if __name__ == "__main__":
    main()
