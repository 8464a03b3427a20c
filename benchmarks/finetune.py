"""Fine-tuning benchmarks on the bundled sample datasets (2-core CPU unless a GPU is present).

    .venv/bin/python benchmarks/finetune.py                 # both tables
    .venv/bin/python benchmarks/finetune.py --only speed    # engine vs bare loop only

1. Time to reach the final test AUC: the tab's default settings from each modality's default shipped
   model; after every epoch the model is scored on the (fixed) test pairs, outside the timed training
   time. "reached at" is the first epoch whose test AUC is within 0.005 of the final model's.
2. Training throughput (samples per second) of the engine's loop against a bare PyTorch loop over the
   same model, the same batches of pre-built tensors, the same loss; augmentation off, no validation
   in the timed part (the engine's rate is taken between its first and last step events).
"""
from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import siamese_demo as sd  # noqa: E402
from siamese_demo import evaluate as ev  # noqa: E402
from siamese_demo.augment import AugmentConfig  # noqa: E402
from siamese_demo.finetune import choose_readout, default_config, prepare  # noqa: E402
from siamese_demo.pairs import MPerClassSampler, make_pairs  # noqa: E402
from siamese_demo.train import _loss_for_labels, fit, samples_per_class  # noqa: E402
from siamese_demo.losses import ContrastiveLoss, PairBCELoss, TripletLoss  # noqa: E402
from siamese_demo.workflows import SAMPLE_DATASETS, read_dataset, sample_path  # noqa: E402

BASES = {"image": "omniglot-cnn", "text": "text-transformer", "timeseries": "series-lstm"}


def time_to_auc(modality: str, budget: float, seed: int = 0) -> dict:
    data = read_dataset(modality, sample_path(modality))
    base = sd.load(BASES[modality])
    cfg = default_config(base, data, time_budget_s=budget, seed=seed)
    parts, summary = prepare(base, data, "auto", seed)
    test = parts["test"]
    i, j, y = make_pairs(test.label_ids(), 1000, seed + 12)
    model = copy.deepcopy(base)
    choose_readout(model, parts["train"])  # as the tab does (series LSTMs only; GunPoint sample: mean kept)
    curve, spent = [], {"eval": 0.0}
    t0 = time.perf_counter()

    def on_event(e):
        if e.kind != "epoch" or not float(e.data["epoch"]).is_integer():
            return  # scored at the end of each epoch (the engine also validates within epochs)
        t = time.perf_counter()
        trained_s = t - t0 - spent["eval"]  # wall time so far minus earlier test scoring
        emb = model.embed(test.items)
        auc = ev.roc_auc(model.distances_from_embeddings(emb[i], emb[j]), y)
        spent["eval"] += time.perf_counter() - t
        curve.append((int(e.data["epoch"]), trained_s, auc))

    res = fit(model, parts["train"], parts["validation"], cfg, [on_event])
    emb = model.embed(test.items)
    final = ev.roc_auc(model.distances_from_embeddings(emb[i], emb[j]), y)
    reached = next((c for c in curve if c[2] >= final - 0.005), curve[-1])
    return {"modality": modality, "data": SAMPLE_DATASETS[modality][0], "split": summary["split"],
            "base": BASES[modality], "base_auc": curve[0][2], "final_auc": final, "best_epoch": res.best_epoch,
            "epochs": len(curve) - 1, "stopped": res.stopped, "reached_epoch": reached[0],
            "reached_s": reached[1] - curve[0][1], "train_s": res.record["train_time_s"]}


def _batches(model, data, cfg, steps):
    tx = model.prepare(data.items, data.names)
    labels = data.label_ids()
    m = samples_per_class(cfg, labels)
    it = iter(MPerClassSampler(labels, m, cfg.batch_size, cfg.seed))
    out = []
    for _ in range(steps):
        try:
            idx = next(it)
        except StopIteration:
            it = iter(MPerClassSampler(labels, m, cfg.batch_size, cfg.seed + len(out)))
            idx = next(it)
        out.append(([tx[k] for k in idx], torch.as_tensor(labels[idx])))
    return out


def bare_loop(model, batches, cfg) -> float:
    """Samples per second of a plain loop: collate, forward, loss, backward, step."""
    margin = cfg.resolved_margin(model.distance)
    losses = {"contrastive": ContrastiveLoss(margin), "triplet": TripletLoss(margin, model.distance),
              "bce": PairBCELoss()}
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.lr,
                            weight_decay=cfg.weight_decay)
    model.train()
    n, t = 0, None
    for k, (items, labels) in enumerate(batches):
        if k == 1:
            t, n = time.perf_counter(), 0  # the first step warms up
        batch = model.preprocessor.collate(items)
        emb = model.encode(batch)
        loss = _loss_for_labels(model, emb, labels, cfg, losses, margin)
        if loss is None:
            continue
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
        opt.step()
        n += len(items)
    return n / (time.perf_counter() - t)


def engine_rate(model, train, val, cfg) -> float:
    stamps, sizes = [], []

    def on_step(e):
        if e.kind == "step":
            stamps.append(time.perf_counter())
            sizes.append(e.data["batch"])

    fit(model, train, val, cfg, [on_step])
    return sum(sizes[1:]) / (stamps[-1] - stamps[0])


def throughput(modality: str, steps: int, seed: int = 0) -> dict:
    data = read_dataset(modality, sample_path(modality))
    base = sd.load(BASES[modality])
    parts, _ = prepare(base, data, "auto", seed)
    cfg = default_config(base, data, seed=seed, epochs=1, steps_per_epoch=steps, augment=AugmentConfig(enabled=False),
                         time_budget_s=None, early_stopping_patience=0, val_pairs=50)
    engine = np.median([engine_rate(copy.deepcopy(base), parts["train"], parts["validation"], cfg) for _ in range(3)])
    batches = _batches(base, parts["train"], cfg, steps)
    bare = np.median([bare_loop(copy.deepcopy(base), batches, cfg) for _ in range(3)])
    return {"modality": modality, "model": BASES[modality], "batch": cfg.batch_size, "loss": cfg.loss,
            "steps": steps, "engine": engine, "bare": bare, "ratio": engine / bare}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", choices=["time", "speed"])
    p.add_argument("--budget", type=float, default=120.0, help="time budget per run (s), as in the tab")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--modalities", nargs="+", default=["image", "text", "timeseries"])
    args = p.parse_args(argv)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    device = "cuda" if torch.cuda.is_available() else f"cpu ({torch.get_num_threads()} threads)"
    print(f"command: .venv/bin/python benchmarks/finetune.py {' '.join(argv or sys.argv[1:])}".rstrip())
    print(f"device: {device}, torch {torch.__version__}\n")
    if args.only != "speed":
        print("| data | split | base model | base test AUC | final test AUC | epochs (best) | stopped | "
              "reached final AUC at | training time |")
        print("|---|---|---|---|---|---|---|---|---|")
        for m in args.modalities:
            r = time_to_auc(m, args.budget)
            print(f"| {r['data']} | {r['split']} | {r['base']} | {r['base_auc']:.3f} | {r['final_auc']:.3f} | "
                  f"{r['epochs']} ({r['best_epoch']}) | {r['stopped']} | epoch {r['reached_epoch']}, "
                  f"{r['reached_s']:.0f} s | {r['train_s']:.0f} s |", flush=True)
        print()
    if args.only != "time":
        print("| model | loss | batch | steps | engine (samples/s) | bare loop (samples/s) | engine / bare |")
        print("|---|---|---|---|---|---|---|")
        for m in args.modalities:
            r = throughput(m, args.steps)
            print(f"| {r['model']} | {r['loss']} | {r['batch']} | {r['steps']} | {r['engine']:.0f} | {r['bare']:.0f} | "
                  f"{r['ratio']:.0%} |", flush=True)


if __name__ == "__main__":
    main()
