"""Recipe: the shipped image CNN for "same symbol or not", trained on Omniglot background alphabets.

    python -m siamese_demo.recipes.omniglot_cnn --data ../shared/datasets/omniglot_background_subset.zip \
        --out models/omniglot-cnn

Split by alphabet: Korean and Latin are held out for the one-shot test, Greek is the validation
alphabet (early stopping, LR schedule, threshold), the other five train. Training classes are
multiplied by four with 90-degree rotations (a rotated character is a new character).
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

import siamese_demo as sd
from siamese_demo import evaluate as ev
from siamese_demo.augment import AugmentConfig
from siamese_demo.data import read_image_dataset
from siamese_demo.train import PER_EPOCH, TrainConfig, fit, seed_everything

TEST_ALPHABETS = ("Korean", "Latin")
VAL_ALPHABETS = ("Greek",)


def split(samples: sd.Samples):
    alphabet = np.array([lab.split("/")[0] for lab in samples.labels])
    test = np.isin(alphabet, TEST_ALPHABETS)
    val = np.isin(alphabet, VAL_ALPHABETS)
    train = ~(test | val)
    return [np.flatnonzero(m) for m in (train, val, test)]


def with_rotations(s: sd.Samples) -> sd.Samples:
    items, labels = [], []
    for img, lab in zip(s.items, s.labels):
        for k in range(4):
            items.append(img.rotate(90 * k) if k else img)
            labels.append(f"{lab}@{90 * k}")
    return sd.Samples(items, labels)


def one_shot(model, s: sd.Samples, n_trials: int = 400, seed: int = 0, raw: bool = False, n_way: int = 20,
             by_rank: bool = False) -> float:
    """N-way one-shot accuracy on Koch et al.'s trials (alphabet = label before "/", drawer = file-name suffix).
    ``raw``: raw-pixel Euclidean baseline; ``by_rank``: each trial through ``model.rank(query, candidates)``,
    right when its first candidate is the true one (the same trials, so the same figure)."""
    alphabet = [lab.split("/")[0] for lab in s.labels]
    drawer = [Path(n).stem.split("_")[-1] for n in s.names]
    q, c, k = ev.one_shot_trials(s.labels, alphabet, drawer, n_way, n_trials, seed)
    if by_rank:
        best = [model.rank(s.items[qi], [s.items[j] for j in ci])[0][0] for qi, ci in zip(q, c)]
        return float(np.mean(np.array(best) == k))
    if raw:
        emb = torch.stack([t.flatten() for t in model.prepare(s.items)]).numpy()
        d = np.linalg.norm(emb[q][:, None, :] - emb[c], axis=-1)
    else:
        emb = model.embed(s.items)
        d = np.stack([model.distances_from_embeddings(np.repeat(emb[qi][None], len(ci), 0), emb[ci])
                      for qi, ci in zip(q, c)])
    return ev.one_shot_accuracy(d, k)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--time-budget", type=float, default=1500.0)
    p.add_argument("--size", type=int, default=48)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    seed_everything(args.seed)  # the model is initialised before fit() seeds again
    data = read_image_dataset(args.data)
    tr, va, te = split(data)
    train, val, test = with_rotations(data.subset(tr)), data.subset(va), data.subset(te)
    model = sd.build_model(
        "image", "cnn", {"depth": 4, "width": 32, "convs_per_block": 1, "embedding_dim": 128},
        {"size": args.size, "invert": "auto", "crop_to_content": True}, distance="euclidean", normalize=True)
    cfg = TrainConfig(**PER_EPOCH, loss="triplet", mining="semihard", margin=0.3, batch_size=64, m_per_class=4,
                      epochs=args.epochs, lr=2e-3, weight_decay=1e-4, lr_patience=2,
                      early_stopping_patience=6, time_budget_s=args.time_budget, seed=args.seed,
                      augment=AugmentConfig(rotation=10, translate=0.06, crop_scale=0.85, color_jitter=0.0),
                      val_pairs=2000)
    t0 = time.time()
    fit(model, train, val, cfg, callbacks=[lambda e: e.kind == "epoch" and print(json.dumps(e.data), flush=True)])
    train_s = time.time() - t0
    metrics = {
        "one_shot_20way_test": one_shot(model, test, seed=args.seed),
        "one_shot_20way_test_raw_pixels": one_shot(model, test, seed=args.seed, raw=True),
        "train_time_s": train_s,
    }
    from siamese_demo.workflows import evaluate_model

    metrics["test"] = evaluate_model(model, test, 2000, args.seed)
    print(json.dumps(metrics, indent=2))
    model.info["test_metrics"] = metrics
    sd.save(model, args.out, name=Path(args.out).name, card={
        "description": "A small CNN that tells whether two handwritten symbols are the same character.",
        "license": "mit",
        "training_data": ("Omniglot background subset (Lake, Salakhutdinov & Tenenbaum 2015, MIT licence): "
                          "train alphabets Balinese, Early_Aramaic, Japanese_(katakana), Sanskrit, Tagalog "
                          "(x4 with 90-degree rotations as new classes); validation alphabet Greek; "
                          "test alphabets Korean and Latin (never seen in training)."),
    })


if __name__ == "__main__":
    main()
