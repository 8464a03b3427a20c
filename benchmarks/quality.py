"""Quality of the shipped models against baselines on held-out data, printed as tables.

    .venv/bin/python benchmarks/quality.py --omniglot ../shared/datasets/omniglot_background_subset.zip

    .venv/bin/python benchmarks/quality.py --stsb ../shared/datasets/stsb --series

Image: 20-way one-shot accuracy (400 trials, Koch et al.'s protocol) and verification AUC on
the held-out alphabets of the Omniglot recipe, against raw-pixel nearest neighbour; the one-shot
figure is also computed through ``SiameseModel.rank`` on the same trials and asserted equal. Text: STS-B
test Spearman against TF-IDF cosine. Series: zero-shot 1-NN accuracy in embedding space on UCR
datasets held out from training, against 1-NN Euclidean and 1-NN DTW (aeon).
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


def models_of(modality: str) -> list[str]:
    """Shipped models of one modality, read from their config.json (no weights loaded)."""
    import json

    return [m for m in sd.available_models()
            if json.loads((sd.MODELS_DIR / m / "config.json").read_text())["modality"] == modality]


def per_item_ms(model, items, repeats: int = 1) -> float:
    model.embed(items[:8])
    t = time.perf_counter()
    for _ in range(repeats):
        model.embed(items)
    return (time.perf_counter() - t) / (repeats * len(items)) * 1000


def image_table(zip_path: str, seed: int = 0) -> list[str]:
    from siamese_demo.data import read_image_dataset
    from siamese_demo.recipes.omniglot_cnn import one_shot, split
    from siamese_demo.workflows import evaluate_model
    from siamese_demo import evaluate as ev

    data = read_image_dataset(zip_path)
    test = data.subset(split(data)[2])
    rows = ["| model | params | 20-way one-shot (held-out alphabets) | the same through rank() | verification AUC "
            "| ms / item |", "|---|---|---|---|---|---|"]
    for name in models_of("image"):
        model = sd.load(name)
        acc = one_shot(model, test, seed=seed)
        # the same trials, each as one search: query against its 20 candidates, right when rank()[0] is the true one
        t = time.perf_counter()
        acc_rank = one_shot(model, test, seed=seed, by_rank=True)
        rank_s = time.perf_counter() - t
        assert acc_rank == acc, f"one-shot through rank() {acc_rank} != {acc}"
        auc = evaluate_model(model, test, 2000, seed)["auc"]
        rows.append(f"| {name} | {model.num_parameters():,} | {acc:.3f} | {acc_rank:.3f} ({rank_s:.0f} s) | "
                    f"{auc:.3f} | {per_item_ms(model, test.items[:256]):.2f} |")
        raw = one_shot(model, test, seed=seed, raw=True)
        # raw-pixel baseline: the same preprocessing, Euclidean distance between pixel vectors
        from siamese_demo.pairs import make_pairs

        px = torch.stack([t.flatten() for t in model.prepare(test.items)]).numpy()
        i, j, y = make_pairs(test.label_ids(), 2000, seed)
        raw_auc = ev.roc_auc(np.linalg.norm(px[i] - px[j], axis=1), y)
        rows.append(f"| raw pixels, nearest neighbour (baseline) | 0 | {raw:.3f} | - | {raw_auc:.3f} | - |")
    return rows


def text_table(stsb: str, seed: int = 0) -> list[str]:
    from siamese_demo import evaluate as ev
    from siamese_demo.recipes.stsb_text import (paraphrase_test_pairs, read_stsb, tfidf_sims,
                                                wordnet_split)

    root = Path(stsb)
    train, test = read_stsb(root / "sts-train.csv"), read_stsb(root / "sts-test.csv")
    try:  # the recipe's held-out WordNet pairs (needs Debian's wordnet-base)
        wa, wb, wy = paraphrase_test_pairs(wordnet_split(seed)[1])
    except FileNotFoundError:
        wa = wb = wy = None
    rows = ["| model | params | STS-B test Spearman | WordNet held-out paraphrase AUC | ms / sentence |",
            "|---|---|---|---|---|"]
    for name in models_of("text"):
        model = sd.load(name)
        d = model.distances_from_embeddings(model.embed(test.a), model.embed(test.b))
        auc = "-" if wy is None else f"{ev.roc_auc(model.distances_from_embeddings(model.embed(wa), model.embed(wb)), wy):.3f}"
        rows.append(f"| {name} | {model.num_parameters():,} | {ev.spearman(-d, test.labels):.3f} | {auc} | "
                    f"{per_item_ms(model, test.a[:256]):.2f} |")
    sents = train.a + train.b
    n = len(test.a)
    for label, analyzer, ngram in (("word unigrams", "word", (1, 1)), ("char 3-5-grams", "char_wb", (3, 5))):
        # one vectoriser (fitted on STS-B train) scores both sets
        sims = tfidf_sims(sents, test.a + (wa or []), test.b + (wb or []), analyzer, ngram)
        auc = "-" if wy is None else f"{ev.roc_auc(-sims[n:], wy):.3f}"
        rows.append(f"| TF-IDF {label} (baseline) | 0 | {ev.spearman(sims[:n], test.labels):.3f} | {auc} | - |")
    return rows


def series_table(with_dtw: bool = True) -> list[str]:
    from siamese_demo.recipes.ucr_series import HELD_OUT, load_ucr, one_nn_accuracy, raw_ed_accuracy

    models = models_of("timeseries")
    head = "| dataset | " + " | ".join(models) + " | 1-NN ED | 1-NN DTW |"
    rows = [head, "|" + "---|" * (len(models) + 3)]
    sums = np.zeros(len(models) + 2)
    loaded = [sd.load(m) for m in models]
    for name in HELD_OUT:
        tr, ytr = load_ucr(name, "train")
        te, yte = load_ucr(name, "test")
        accs = [one_nn_accuracy(m.embed(tr), ytr, m.embed(te), yte) for m in loaded]
        accs.append(raw_ed_accuracy(tr, ytr, te, yte))
        if with_dtw:
            from aeon.classification.distance_based import KNeighborsTimeSeriesClassifier

            Xtr = np.stack([x.T for x in tr])
            Xte = np.stack([x.T for x in te])
            knn = KNeighborsTimeSeriesClassifier(n_neighbors=1, distance="dtw").fit(Xtr, np.array(ytr))
            accs.append(float(np.mean(knn.predict(Xte) == np.array(yte))))
        else:
            accs.append(float("nan"))
        sums += accs
        rows.append(f"| {name} | " + " | ".join(f"{a:.3f}" for a in accs) + " |")
    rows.append("| **mean** | " + " | ".join(f"**{a / len(HELD_OUT):.3f}**" for a in sums) + " |")
    rows.append("")
    rows.append("| model | params | ms / series (GunPoint) |")
    rows.append("|---|---|---|")
    gp, _ = load_ucr("GunPoint", "test")
    for name, m in zip(models, loaded):
        rows.append(f"| {name} | {m.num_parameters():,} | {per_item_ms(m, gp):.2f} |")
    return rows


def finetune_table(seconds: float, only: list[str] | None = None) -> list[str]:
    from siamese_demo.recipes.ucr_series import HELD_OUT, finetune_accuracy

    models = [m for m in models_of("timeseries") if not only or m in only]
    rows = ["| dataset | " + " | ".join(f"{m} fine-tuned" for m in models) + " |", "|" + "---|" * (len(models) + 1)]
    for name in HELD_OUT:
        cells = []
        for m in models:
            acc, readout = finetune_accuracy(m, name, seconds)
            cells.append(f"{acc:.3f}" + (f" ({readout})" if readout else ""))
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--omniglot", help="omniglot_background_subset.zip")
    p.add_argument("--stsb", help="folder with the STS-B csv files")
    p.add_argument("--series", action="store_true", help="zero-shot 1-NN on the held-out UCR datasets (aeon)")
    p.add_argument("--no-dtw", action="store_true", help="skip the (slow) DTW baseline")
    p.add_argument("--finetune", type=float, default=0.0,
                   help="seconds of fine-tuning per held-out series dataset (0 = skip)")
    p.add_argument("--models", nargs="+", help="only these series models in the fine-tune table")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(2)
    print("command: .venv/bin/python benchmarks/quality.py " + " ".join(sys.argv[1:]))
    if args.omniglot:
        print("\n## Image (Omniglot held-out alphabets Korean + Latin, seed %d)\n" % args.seed)
        print("\n".join(image_table(args.omniglot, args.seed)))
    if args.stsb:
        print("\n## Text (STS-B test, never used for training or tuning)\n")
        print("\n".join(text_table(args.stsb, args.seed)))
    if args.series:
        print("\n## Time series: zero-shot 1-NN accuracy on held-out UCR datasets (train split = references)\n")
        print("\n".join(series_table(not args.no_dtw)))
    if args.finetune:
        print(f"\n## Time series after fine-tuning on each train split (LSTM readout chosen by leave-one-out 1-NN "
              f"of the base model on it, epochs on a validation quarter of it, then refit on all of it; up to "
              f"{args.finetune:.0f} s per run), 1-NN accuracy on the test split\n")
        print("\n".join(finetune_table(args.finetune, args.models)))


if __name__ == "__main__":
    main()
