"""Fine-tuning benchmarks (2-core CPU unless a GPU is present).

    .venv/bin/python benchmarks/finetune.py                 # both tables on the bundled samples
    .venv/bin/python benchmarks/finetune.py --only speed    # engine vs bare loop only
    .venv/bin/python benchmarks/finetune.py --only real --shared ../shared/datasets   # real sets (table 3)

1. Time to reach the final test AUC: the default settings (``finetune.default_config``) from the models trained
   here, :data:`BASES` (the text tab's default, the pretrained ``text-minilm``, is measured on real data in
   table 3; here the from-scratch-trained ``text-transformer`` keeps the table quick); after every epoch the model is scored on the (fixed) test pairs, outside the timed training
   time. "reached at" is the first epoch whose test AUC is within 0.005 of the final model's.
2. Training throughput (samples per second) of the engine's loop against a bare PyTorch loop over the
   same model, the same batches of pre-built tensors, the same loss; augmentation off, no validation
   in the timed part (the engine's rate is taken between its first and last step events).
3. Real sets (``--only real``): what the fine-tune tab and ``python -m siamese_demo train`` run with their
   default settings and budget (:func:`tab_run`: the settings' defaults resolved by
   ``settings.train_config``, then ``finetune.finetune`` with the default split), on data written the way
   a visitor would upload it (a CSV of ``text_a,text_b,label`` or a folder of class folders, made in a
   temporary folder from ``../shared/datasets``; nothing is copied into the repository). Every test
   person, writer or pair is unseen in training (the tab's own split). Beside base and fine-tuned: a
   classical baseline on the same test pairs (TF-IDF cosine fitted on the training texts; grey 64 x 64
   raw pixels, cosine), and for signatures also the verification protocol on the tab's test writers
   (genuine vs skilled forgery, mean distance to the writer's first 5 genuine signatures).
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
from siamese_demo.finetune import choose_readout, default_config, prepare, split, test_pairs  # noqa: E402
from siamese_demo.pairs import MPerClassSampler, make_pairs  # noqa: E402
from siamese_demo.train import TrainConfig, _loss_for_labels, fit, samples_per_class  # noqa: E402
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


def tab_run(base_name: str, modality: str, path: Path, budget: float, seed: int = 0):
    """Exactly the tab's and the CLI's run with default settings (only the budget and seed given); returns the
    base, the data as read and the run's result."""
    from siamese_demo import settings
    from siamese_demo.finetune import finetune

    data = read_dataset(modality, path)
    base = sd.load(base_name)
    values = settings.defaults() | {"time_budget_s": budget, "seed": seed}
    values = settings.check(values)
    cfg = settings.train_config(base, data, values)
    result = finetune(base, data, cfg, split_mode=values["split_mode"], base_name=base_name,
                      data_source=f"'{path.name}'")
    return base, data, result


def _pairs_csv(rows, out: Path) -> Path:
    import csv

    with open(out, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["text_a", "text_b", "label"])
        w.writerows(rows)
    return out


def _csv_rows(path: Path, a: str, b: str, label: str, cap: int, seed: int) -> list[tuple]:
    """The first ``cap`` rows after a seeded shuffle (the tab takes at most 3,000 pairs)."""
    import csv

    with open(path, newline="", encoding="utf-8") as f:
        rows = [(r[a], r[b], r[label]) for r in csv.DictReader(f)]
    order = np.random.default_rng(seed).permutation(len(rows))[:cap]
    return [rows[k] for k in order]


def _class_folders(groups: dict[str, list[Path]], out: Path) -> Path:
    """A folder of class folders, as a visitor's upload (copies in a temporary folder)."""
    import shutil

    for name, files in groups.items():
        (out / name).mkdir(parents=True)
        for f in files:
            shutil.copy(f, out / name / f.name)
    return out


def real_sets(shared: Path, budget: float, seed: int, only: list[str] | None = None) -> list[dict]:
    """One row per real set: baseline, base and fine-tuned on the tab's unseen test split."""
    import tempfile

    from siamese_demo.recipes.stsb_text import tfidf_sims
    from siamese_demo.recipes.verification_models import _split, read
    from siamese_demo.recipes.verification_sets import RawPixels, read_people, read_writers, signature_scores

    from siamese_demo.limits import limits

    cap = limits().finetune_samples  # the most samples or pairs a fine-tuning dataset may have
    tmp = Path(tempfile.mkdtemp(prefix="finetune_real_"))
    tp = shared / "text_pairs"
    sets = {
        "PAWS": ("text", "text-minilm", lambda: _pairs_csv(_csv_rows(
            tp / "paws_wiki_final_dev.csv", "sentence1", "sentence2", "label", cap, seed), tmp / "paws.csv"),
            "PAWS-Wiki dev, 3,000 of 8,000 pairs (seeded shuffle)"),
        "QQP": ("text", "text-minilm", lambda: _pairs_csv(_csv_rows(
            tp / "qqp_random_sample_ids_ge10000.csv", "question1", "question2", "is_duplicate", cap, seed),
            tmp / "qqp.csv"), "Quora question pairs, 971 pairs"),
        "STS 2012-16 (graded)": ("text", "text-minilm", lambda: _pairs_csv(_csv_rows(
            tp / "sts2012_2016_not_in_stsbenchmark.csv", "sentence1", "sentence2", "score", cap, seed),
            tmp / "sts.csv"), "SemEval STS 2012-2016 pairs not in STS-B, 3,000 of 6,398, scores 0-5"),
        "LFW": ("image", "image-efficientnet-lite0", lambda: _class_folders(
            read_people(shared / "faces" / "lfw_100"), tmp / "lfw"), "LFW-100: 1,000 photos of 100 people"),
        "LFW, face model's held-out people": ("image", "face-efficientnet", lambda: _class_folders(
            _split(read("faces", shared / "faces" / "lfw_100"), 0)["test"], tmp / "lfw_test"),
            "the 25 LFW people the face model never saw (its recipe's test split)"),
        "SVC2004": ("image", "signature-efficientnet", lambda: _class_folders(
            {w: v["genuine"] for w, v in read_writers(shared / "signatures" / "svc2004_users13-40").items()},
            tmp / "svc"), "SVC2004 writers 13-40: 20 genuine signatures each (forgeries kept for the protocol)"),
    }
    rows = []
    for name, (modality, base_name, make, about) in sets.items():
        if only and name.split()[0].rstrip(",") not in only:
            continue
        path = make()
        t0 = time.perf_counter()
        base, data, result = tab_run(base_name, modality, path, budget, seed)
        wall = time.perf_counter() - t0
        rep, test = result.report, result.test
        metric = "spearman" if "spearman" in rep["finetuned"] else "auc"
        if modality == "text":
            train = split(data, "auto", seed=seed)[0]  # the run's own training split (finetune.prepare's)
            texts = list(train.a) + list(train.b)
            sims = tfidf_sims(texts, test.a, test.b, "word", (1, 2))
            baseline = ev.spearman(sims, test.labels) if metric == "spearman" else ev.roc_auc(-sims, test.labels)
            base_line = "TF-IDF (word 1-2 grams) cosine"
        else:
            d, y, _, _ = test_pairs(RawPixels(64), test, seed=seed)  # the report's test pairs
            baseline = ev.roc_auc(d, y)
            base_line = "raw pixels, grey 64 x 64, cosine"
        row = {"set": name, "about": about, "base_model": base_name, "split": rep["split"], "metric": metric,
               "baseline": baseline, "baseline_name": base_line, "base": rep["base"][metric],
               "finetuned": rep["finetuned"][metric], "wall_s": wall, "budget_used": rep["budget_used"],
               "best_epoch": rep["best_epoch"], "kept_base": rep["outcome"]["kept_base"],
               "test_size": len(test)}
        if name == "SVC2004":  # the verification protocol on the tab's unseen test writers
            writers = read_writers(shared / "signatures" / "svc2004_users13-40")
            held = {w: writers[w] for w in sorted(set(map(str, test.labels)))}
            for key, emb_model in (("protocol_baseline", RawPixels(64)), ("protocol_base", base),
                                   ("protocol_finetuned", result.model)):
                sc = signature_scores(emb_model, held)
                row[key] = ev.roc_auc(sc["mean"], sc["labels"])
                row[key + "_centroid"] = ev.roc_auc(sc["centroid"], sc["labels"])  # the several-references comparison
        rows.append(row)
        print(_real_row(row), flush=True)
    return rows


REAL_HEAD = ("| set (upload) | base | split, test size | metric | classical baseline | base | fine-tuned | "
             "beats base and baseline | wall time (share of budget) | best epoch |\n"
             "|---|---|---|---|---|---|---|---|---|---|")


def _real_row(r: dict) -> str:
    beats = "yes" if r["finetuned"] > r["base"] and r["finetuned"] > r["baseline"] else \
        ("no: base stayed best" if r["kept_base"] else "no")
    line = (f"| {r['set']}: {r['about']} | {r['base_model']} | {r['split']}, {r['test_size']} | {r['metric']} | "
            f"{r['baseline']:.3f} ({r['baseline_name']}) | {r['base']:.3f} | {r['finetuned']:.3f} | {beats} | "
            f"{r['wall_s']:.0f} s ({r['budget_used']:.0%}) | {r['best_epoch']} |")
    if "protocol_base" in r:
        line += (f"\n| SVC2004 protocol on the same test writers: genuine vs skilled forgery, 5 references | "
                 f"{r['base_model']} | writers unseen | auc | {r['protocol_baseline']:.3f} (raw pixels) | "
                 f"{r['protocol_base']:.3f} | {r['protocol_finetuned']:.3f} | "
                 f"{'yes' if r['protocol_finetuned'] > max(r['protocol_base'], r['protocol_baseline']) else 'no'} "
                 f"| (same run) | |")
        raw, base, tuned = (r[f"protocol_{k}_centroid"] for k in ("baseline", "base", "finetuned"))
        line += (f"\n| the same, against the references' mean (the several-references comparison) | "
                 f"{r['base_model']} | writers unseen | auc | {raw:.3f} (raw pixels) | {base:.3f} | {tuned:.3f} | "
                 f"{'yes' if tuned > max(base, raw) else 'no'} | (same run) | |")
    return line


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--only", choices=["time", "speed", "real"])
    p.add_argument("--shared", type=Path, default=Path(__file__).resolve().parent.parent.parent / "shared" / "datasets",
                   help="the shared datasets folder (--only real)")
    p.add_argument("--sets", nargs="+", help="--only real: a subset, by first word (PAWS QQP STS LFW SVC2004)")
    p.add_argument("--budget", type=float, default=TrainConfig().time_budget_s,
                   help="time budget per run (s); default: the tab's")
    p.add_argument("--steps", type=int, default=30)
    p.add_argument("--modalities", nargs="+", default=["image", "text", "timeseries"])
    args = p.parse_args(argv)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    device = "cuda" if torch.cuda.is_available() else f"cpu ({torch.get_num_threads()} threads)"
    print(f"command: .venv/bin/python benchmarks/finetune.py {' '.join(argv or sys.argv[1:])}".rstrip())
    print(f"device: {device}, torch {torch.__version__}\n")
    if args.only == "real":
        print(f"budget {args.budget:.0f} s per run, seed 0, the tab's default settings\n")
        print(REAL_HEAD, flush=True)
        real_sets(args.shared, args.budget, 0, args.sets)
        return
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
