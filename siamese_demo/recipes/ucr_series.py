"""Recipe: the shipped time-series encoders (LSTM and Transformer), measured zero-shot on UCR data.

    python -m siamese_demo.recipes.ucr_series --encoder lstm --out models/series-lstm
    python -m siamese_demo.recipes.ucr_series --encoder transformer --out models/series-transformer

Training data: synthetic series families (``series_synthetic``) plus the aeon-shipped datasets
JapaneseVowels (each channel a series) and PickupGestureWiimoteZ. Held out entirely (never
trained on, never used to tune): GunPoint, ItalyPowerDemand, ArrowHead, OSULeaf, ACSF1,
BasicMotions. Validation (early stopping, LR schedule, threshold): fresh synthetic classes.

``finetuned`` is the procedure the fine-tune benchmark (``benchmarks/quality.py --finetune``) applies to each
held-out dataset's train split: LSTM readout by leave-one-out 1-NN, epochs on a validation quarter, refit.
"""
from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import numpy as np
import torch

import siamese_demo as sd
from siamese_demo.augment import AugmentConfig
from siamese_demo.encoders.lstm import POOLINGS, LSTMEncoder
from siamese_demo.finetune import READOUTS, choose_readout, set_readout
from siamese_demo.finetune import refit as refit_model
from siamese_demo.train import PER_EPOCH, TrainConfig, fit, seed_everything

from .series_synthetic import make_classes

HELD_OUT = ("GunPoint", "ItalyPowerDemand", "ArrowHead", "OSULeaf", "ACSF1", "BasicMotions")
EXTRA_TRAIN = ("JapaneseVowels", "PickupGestureWiimoteZ")


def load_ucr(name: str, split: str):
    """(list of (T, C) arrays, labels) from the aeon wheel (no download)."""
    from aeon.datasets import load_classification

    X, y = load_classification(name, split=split)
    items = []
    for x in X:
        x = np.asarray(x, dtype=np.float32).T  # (T, C)
        keep = np.isfinite(x).all(axis=1)
        items.append(x[keep] if keep.any() else x)
    return items, [str(v) for v in y]


def extra_training() -> tuple[list, list]:
    items, labels = [], []
    for name in EXTRA_TRAIN:
        for split in ("train", "test"):
            xs, ys = load_ucr(name, split)
            for x, y in zip(xs, ys):
                for c in range(x.shape[1]):  # channels as separate univariate series
                    if x.shape[0] >= 8:
                        items.append(x[:, c: c + 1])
                        labels.append(f"{name}-{y}-ch{c}")
    return items, labels


def one_nn_accuracy(train_emb, train_y, test_emb, test_y, metric: str = "euclidean") -> float:
    d = torch.cdist(torch.as_tensor(test_emb), torch.as_tensor(train_emb)) if metric == "euclidean" else None
    pred = np.asarray(train_y)[d.argmin(1).numpy()]
    return float(np.mean(pred == np.asarray(test_y)))


def raw_ed_accuracy(tr, ytr, te, yte) -> float:
    """1-NN Euclidean on the raw series (equal lengths in these datasets; channels concatenated)."""
    a = np.stack([x.T.ravel() for x in tr])
    b = np.stack([x.T.ravel() for x in te])
    return one_nn_accuracy(a, ytr, b, yte)


def zero_shot(model, name: str) -> dict:
    tr, ytr = load_ucr(name, "train")
    te, yte = load_ucr(name, "test")
    acc = one_nn_accuracy(model.embed(tr), ytr, model.embed(te), yte)
    return {"dataset": name, "embedding_1nn": acc, "raw_ed_1nn": raw_ed_accuracy(tr, ytr, te, yte),
            "n_train": len(tr), "n_test": len(te), "channels": tr[0].shape[1]}


def build(encoder: str, pooling: str = "mean"):
    pre = {"channels": None, "normalize": "zscore", "length": 128}
    if encoder == "lstm":
        opts = {"hidden_size": 64, "num_layers": 1, "bidirectional": True, "embedding_dim": 96, "pooling": pooling}
    else:
        opts = {"hidden_size": 96, "num_layers": 3, "num_heads": 4, "intermediate_size": 192, "patch_size": 8,
                "embedding_dim": 96, "dropout": 0.1}
    return sd.build_model("timeseries", encoder, opts, pre, distance="euclidean", normalize=True)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--encoder", choices=["lstm", "transformer"], default="lstm")
    p.add_argument("--out", required=True)
    p.add_argument("--classes", type=int, default=1500)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--time-budget", type=float, default=900.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--pooling", choices=POOLINGS, default="mean",
                   help="LSTM: how the per-step outputs become one vector")
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    seed_everything(args.seed)  # the model is initialised before fit() seeds again
    items, labels = make_classes(args.classes, 6, seed=args.seed)
    ex_items, ex_labels = extra_training()
    vitems, vlabels = make_classes(200, 6, seed=args.seed + 1000)
    train = sd.Samples(items + ex_items, labels + ex_labels)
    val = sd.Samples(vitems, vlabels)
    model = build(args.encoder, args.pooling)
    cfg = TrainConfig(**PER_EPOCH, loss="triplet", mining="semihard", margin=0.3, batch_size=128, m_per_class=4,
                      epochs=args.epochs, lr=2e-3, weight_decay=1e-4, lr_patience=2, early_stopping_patience=5,
                      time_budget_s=args.time_budget, seed=args.seed, val_pairs=2000,
                      augment=AugmentConfig(jitter=0.05, scaling=0.1, warp=0.15, shift=0.05))
    t0 = time.time()
    res = fit(model, train, val, cfg, callbacks=[lambda e: e.kind == "epoch" and print(json.dumps(e.data), flush=True)])
    rows = [zero_shot(model, name) for name in HELD_OUT]
    metrics = {"zero_shot": rows,
               "mean_embedding_1nn": float(np.mean([r["embedding_1nn"] for r in rows])),
               "mean_raw_ed_1nn": float(np.mean([r["raw_ed_1nn"] for r in rows])),
               "train_time_s": time.time() - t0, "stopped": res.stopped}
    print(json.dumps(metrics, indent=2))
    model.info["test_metrics"] = metrics
    sd.save(model, args.out, name=Path(args.out).name, card={
        "description": f"A {args.encoder.upper()} encoder for time series of any length and channel count "
                       "(channels are encoded independently and averaged; series are z-normalised and resampled "
                       "to 128 steps).",
        "license": "bsd-3-clause",
        "training_data": ("Synthetic series families generated by siamese_demo.recipes.series_synthetic "
                          f"({args.classes} classes x 6, seed {args.seed}) plus the UCR/UEA datasets "
                          "JapaneseVowels and PickupGestureWiimoteZ shipped in the aeon wheel (BSD-3). "
                          "Held out, never trained on: " + ", ".join(HELD_OUT) + "."),
    })


def finetune_accuracy(model_name: str, dataset: str, seconds: float = 60.0, seed: int = 0,
                      refit: bool = True, readouts: tuple[str, ...] = READOUTS, select: str = "loo"
                      ) -> tuple[float, str | None]:
    """Fine-tune a shipped series model on ``dataset``'s train split with the engine (procedure:
    :func:`finetuned`), then 1-NN accuracy on its test split. Returns (accuracy, readout used)."""
    tr, ytr = load_ucr(dataset, "train")
    te, yte = load_ucr(dataset, "test")
    model = finetuned(model_name, tr, ytr, seconds, seed, refit, readouts, select)
    return (one_nn_accuracy(model.embed(tr), ytr, model.embed(te), yte),
            model.info["finetune_procedure"]["readout"])


def finetuned(model_name: str, items, labels, seconds: float = 60.0, seed: int = 0, refit: bool = True,
              readouts: tuple[str, ...] = READOUTS, select: str = "loo", **overrides):
    """The benchmark's fine-tuning procedure on one labelled set of series.

    Readout (LSTM models only: how the per-step outputs are pooled; mean pooling, the shipped one, is the
    more shift-invariant, the final states keep where in the series things happen): with ``select="loo"``
    the base model embeds ``items`` with each readout and the one with the higher leave-one-out 1-NN
    accuracy wins (``finetune.choose_readout``, as in the app; ties: the base's own, mean); with ``select="validation"`` each readout is fine-tuned and
    the higher 1-NN accuracy on the validation quarter wins (ties: lower validation loss).
    Then a stratified quarter of ``items`` is held back, the base is fine-tuned on the rest with early
    stopping on validation loss, and with ``refit`` it is trained again from the base, on all of
    ``items``, for that run's best number of epochs. Each choice was made by cross-validation inside the
    train splits (``benchmarks/finetune_procedure.py``). ``overrides``: TrainConfig fields to change (tests
    use short runs). The choice and the figures behind it are kept in ``model.info["finetune_procedure"]``."""
    from sklearn.model_selection import train_test_split

    if select not in ("loo", "validation"):
        raise ValueError("select must be 'loo' or 'validation'")
    data = sd.Samples(list(items), list(labels))
    fit_idx, val_idx = train_test_split(np.arange(len(items)), test_size=0.25, random_state=seed, stratify=labels)
    fit_part, val = data.subset(fit_idx), data.subset(val_idx)
    cfg = TrainConfig(**PER_EPOCH, loss="triplet", mining="semihard", margin=0.3, batch_size=32, m_per_class=4, epochs=100,
                      lr=5e-4, weight_decay=1e-4, lr_patience=3, early_stopping_patience=8,
                      time_budget_s=seconds, seed=seed, val_pairs=500, steps_per_epoch=10,
                      augment=AugmentConfig(jitter=0.03, scaling=0.1, warp=0.1, shift=0.03))
    for k, v in overrides.items():
        setattr(cfg, k, v)

    def base(readout: str | None):
        model = sd.load(model_name)
        return set_readout(model, readout) if readout else model

    probe = sd.load(model_name)
    if not isinstance(probe.encoder, LSTMEncoder):
        readouts = (None,)
    runs: dict = {}
    if select == "loo" and len(readouts) > 1:  # the app's rule: the base's readout, then mean and last
        choice = choose_readout(probe, data)
        runs = {r: {"loo_1nn": acc} for r, acc in choice["loo_1nn"].items()}
        readouts = (choice["chosen"],)
    for readout in readouts:
        model = base(readout)
        res = fit(model, fit_part, val, copy.deepcopy(cfg))
        acc = one_nn_accuracy(model.embed(fit_part.items), fit_part.labels, model.embed(val.items), val.labels)
        loss = next(h["val_loss"] for h in res.history if h["epoch"] == res.best_epoch)
        runs.setdefault(readout, {}).update(model=model, best_epoch=res.best_epoch, val_1nn=acc, val_loss=loss)
    trained = [r for r in runs if "model" in runs[r]]
    chosen = max(trained, key=lambda r: (runs[r]["val_1nn"], -runs[r]["val_loss"]))
    record = {"readout": chosen, "select": select, "refit": refit, "validation_items": len(val_idx),
              "candidates": {str(r): {k: v for k, v in run.items() if k != "model"} for r, run in runs.items()}}
    if refit:  # the fine-tuning engine's refit (finetune.refit), on all of ``items``
        model = refit_model(base(chosen), data, val, cfg, runs[chosen]["best_epoch"]).model
    else:
        model = runs[chosen]["model"]
    model.info["finetune_procedure"] = record
    return model


if __name__ == "__main__":
    main()
