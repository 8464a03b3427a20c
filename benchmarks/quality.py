"""Quality of the shipped models against baselines on held-out data, printed as tables.

    .venv/bin/python benchmarks/quality.py --omniglot ../shared/datasets/omniglot_background_subset.zip

    .venv/bin/python benchmarks/quality.py --stsb ../shared/datasets/stsb --series

    .venv/bin/python benchmarks/quality.py --stsb ../shared/datasets/stsb --text-pairs ../shared/datasets/text_pairs

    .venv/bin/python benchmarks/quality.py --faces ../shared/datasets/faces/lfw_100 \
        --yale ../shared/datasets/faces/yale --signatures ../shared/datasets/signatures/svc2004_users13-40 \
        --bhsig ../shared/datasets/signatures/bhsig260_subset

Image: 20-way one-shot accuracy (400 trials, Koch et al.'s protocol) and verification AUC on
the held-out alphabets of the Omniglot recipe, against raw-pixel nearest neighbour; the one-shot
figure is also computed through ``SiameseModel.rank`` on the same trials and asserted equal. Text: STS-B
test Spearman, AUC and accuracy at the saved threshold against TF-IDF cosine; with ``--text-pairs``
also STS 2012-2016 (pairs not in STS-B), PAWS-Wiki dev and a QQP sample. Series: zero-shot 1-NN
accuracy in embedding space on UCR
datasets held out from training, against 1-NN Euclidean and 1-NN DTW (aeon). Photos (``--faces``
with ``--signatures``): face verification AUC on held-out LFW people and genuine-vs-forgery AUC on held-out
SVC2004 writers, every image model against grey 64 x 64 raw pixels.
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
        if name != sd.DEFAULT_MODELS["image"]:
            continue  # one raw-pixel row: with the default (Omniglot) model's preprocessing
        raw = one_shot(model, test, seed=seed, raw=True)
        # raw-pixel baseline: the same preprocessing, Euclidean distance between pixel vectors
        from siamese_demo.pairs import make_pairs

        px = torch.stack([t.flatten() for t in model.prepare(test.items)]).numpy()
        i, j, y = make_pairs(test.label_ids(), 2000, seed)
        raw_auc = ev.roc_auc(np.linalg.norm(px[i] - px[j], axis=1), y)
        rows.append(f"| raw pixels, nearest neighbour (baseline) | 0 | {raw:.3f} | - | {raw_auc:.3f} | - |")
    return rows


def photo_table(faces: str, signatures: str, seed: int = 0, yale: str | None = None,
                bhsig: str | None = None) -> list[str]:
    """Face verification on held-out people and signature verification (genuine vs skilled forgery, 5
    references) on held-out writers, every shipped image model against grey 64 x 64 raw pixels (cosine). The
    splits are the face / signature recipe's (``siamese_demo.recipes.verification_models``: 50/25/25 by person
    or writer with ``seed``; Yale's test people are its own split, BHSig260's 4 writers are all held out)."""
    from siamese_demo import evaluate as ev
    from siamese_demo.recipes.verification_models import _split, measure, read
    from siamese_demo.recipes.verification_sets import RawPixels

    sets = [("faces", "LFW", faces), ("faces", "Yale", yale), ("signatures", "SVC2004", signatures),
            ("signatures", "BHSig260", bhsig)]
    sets = [(task, label, _split(read(task, root), seed)["test"]) for task, label, root in sets if root]
    head = " | ".join(f"{label} {'people' if task == 'faces' else 'writers'} ({len(g)})" for task, label, g in sets)
    rows = [f"| model | params | {head} | LFW accuracy at saved threshold | ms / photo |",
            "|---|---|" + "---|" * (len(sets) + 2)]
    for name, embedder in [(m, None) for m in models_of("image")] + [("raw pixels, grey 64 x 64, cosine (baseline)",
                                                                        RawPixels(64))]:
        model = embedder or sd.load(name)
        cells, acc, ms = [], "-", "-"
        for task, label, groups in sets:
            t = time.perf_counter()
            m = measure(task, model, groups)
            cells.append(f"{m['auc']:.3f}" + (f" ({m['auc_min']:.3f}; {m['auc_centroid']:.3f})" if "auc_min" in m
                                               else ""))
            if label == "LFW" and embedder is None:
                acc = f"{ev.classification_metrics(*m['pairs'], model.effective_threshold())['accuracy']:.3f}"
                ms = f"{(time.perf_counter() - t) / sum(len(v) for v in groups.values()) * 1000:.1f}"
        params = f"{model.num_parameters():,}" if embedder is None else "0"
        rows.append(f"| {name} | {params} | " + " | ".join(cells) + f" | {acc} | {ms} |")
    rows += ["", "Faces: AUC over every same-person pair and as many random different-person pairs. Signatures: "
             "AUC of genuine vs skilled forgery by the mean distance to the writer's first 5 genuine signatures "
             "(in brackets: by the min distance, and by the distance to the mean of the 5 references' embeddings, "
             "as the image tab's several-references comparison measures). ms / photo: LFW pairs, file to embedding "
             "(face search included)."]
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
    rows = ["| model | params | STS-B test Spearman | STS-B test AUC (gold >= 2.5) | accuracy at saved threshold "
            "| WordNet held-out paraphrase AUC | ms / sentence |",
            "|---|---|---|---|---|---|---|"]
    for name in text_models():
        model = sd.load(name)
        d = model.distances_from_embeddings(model.embed(test.a), model.embed(test.b))
        acc = ev.classification_metrics(d, test.labels, model.effective_threshold())["accuracy"]
        auc = "-" if wy is None else f"{ev.roc_auc(model.distances_from_embeddings(model.embed(wa), model.embed(wb)), wy):.3f}"
        rows.append(f"| {name} | {model.num_parameters():,} | {ev.spearman(-d, test.labels):.3f} | "
                    f"{ev.roc_auc(d, test.labels):.3f} | {acc:.3f} | {auc} | {per_item_ms(model, test.a[:256]):.2f} |")
    sents = train.a + train.b
    n = len(test.a)
    for label, analyzer, ngram in (("word unigrams", "word", (1, 1)), ("char 3-5-grams", "char_wb", (3, 5))):
        # one vectoriser (fitted on STS-B train) scores both sets
        sims = tfidf_sims(sents, test.a + (wa or []), test.b + (wb or []), analyzer, ngram)
        auc = "-" if wy is None else f"{ev.roc_auc(-sims[n:], wy):.3f}"
        rows.append(f"| TF-IDF {label} (baseline) | 0 | {ev.spearman(sims[:n], test.labels):.3f} | "
                    f"{ev.roc_auc(-sims[:n], test.labels):.3f} | - | {auc} | - |")
    return rows


def text_models() -> list[str]:
    """The shipped text models that can load here (a pretrained one needs its pinned weights)."""
    from siamese_demo.pretrained import availability

    names = []
    for name in models_of("text"):
        ok, why = availability(name)
        if ok:
            names.append(name)
        else:
            print(f"(skipped {name}: {why})", file=sys.stderr)
    return names


def read_text_pairs(root: str) -> dict[str, "sd.PairSet"]:
    """The held-out pair sets of ``../shared/datasets/text_pairs``: STS 2012-2016 pairs not in STS-B
    (graded 0-5 -> [0, 1]), PAWS-Wiki dev and the QQP sample (0/1)."""
    import csv

    def read(name, a, b, y, scale=1.0, graded=False):
        with open(Path(root) / name, encoding="utf-8", newline="") as f:
            rows = list(csv.DictReader(f))
        return sd.PairSet([r[a] for r in rows], [r[b] for r in rows],
                          np.array([float(r[y]) / scale for r in rows], dtype=np.float32), graded=graded)

    return {"sts12-16": read("sts2012_2016_not_in_stsbenchmark.csv", "sentence1", "sentence2", "score", 5.0, True),
            "paws": read("paws_wiki_final_dev.csv", "sentence1", "sentence2", "label"),
            "qqp": read("qqp_random_sample_ids_ge10000.csv", "question1", "question2", "is_duplicate")}


def pair_distances(model, pairs: "sd.PairSet", batch_size: int = 64) -> np.ndarray:
    """Distances of the pairs, each distinct sentence embedded once."""
    uniq = sorted(set(pairs.a) | set(pairs.b), key=lambda t: (len(t), t))  # similar lengths batch together
    index = {t: i for i, t in enumerate(uniq)}
    emb = model.embed(uniq, batch_size)
    ia, ib = [index[t] for t in pairs.a], [index[t] for t in pairs.b]
    return model.distances_from_embeddings(emb[ia], emb[ib])


def text_pairs_table(root: str, stsb: str) -> list[str]:
    """Held-out text pair sets never used for a choice: STS 2012-2016 (disjoint from STS-B) Spearman,
    PAWS-Wiki dev and the QQP sample: AUC and accuracy at each model's saved threshold (chosen on STS-B dev)."""
    from siamese_demo import evaluate as ev
    from siamese_demo.recipes.stsb_text import read_stsb, tfidf_sims

    sets = read_text_pairs(root)
    n = {k: len(v) for k, v in sets.items()}
    rows = [f"| model | STS 2012-16 not in STS-B ({n['sts12-16']} pairs) Spearman | PAWS-Wiki dev ({n['paws']}) AUC "
            f"| PAWS accuracy at saved threshold | QQP sample ({n['qqp']}) AUC | QQP accuracy at saved threshold |",
            "|---|---|---|---|---|---|"]
    for name in text_models():
        model = sd.load(name)
        thr = model.effective_threshold()
        d = {k: pair_distances(model, v) for k, v in sets.items()}
        acc = {k: ev.classification_metrics(d[k], sets[k].labels, thr)["accuracy"] for k in ("paws", "qqp")}
        rows.append(f"| {name} | {ev.spearman(-d['sts12-16'], sets['sts12-16'].labels):.3f} | "
                    f"{ev.roc_auc(d['paws'], sets['paws'].labels):.3f} | {acc['paws']:.3f} | "
                    f"{ev.roc_auc(d['qqp'], sets['qqp'].labels):.3f} | {acc['qqp']:.3f} |")
    train = read_stsb(Path(stsb) / "sts-train.csv")
    for label, analyzer, ngram in (("word unigrams", "word", (1, 1)), ("char 3-5-grams", "char_wb", (3, 5))):
        sims = {k: tfidf_sims(train.a + train.b, v.a, v.b, analyzer, ngram) for k, v in sets.items()}
        rows.append(f"| TF-IDF {label} (baseline, fitted on STS-B train) | "
                    f"{ev.spearman(sims['sts12-16'], sets['sts12-16'].labels):.3f} | "
                    f"{ev.roc_auc(-sims['paws'], sets['paws'].labels):.3f} | - | "
                    f"{ev.roc_auc(-sims['qqp'], sets['qqp'].labels):.3f} | - |")
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
    p.add_argument("--faces", help="LFW-style folder, one folder of photos per person (with --signatures)")
    p.add_argument("--signatures", help="SVC2004-style folder: WRITER/genuine, WRITER/forged (with --faces)")
    p.add_argument("--yale", help="with --faces: a second face set (Yale), its test people measured too")
    p.add_argument("--bhsig", help="with --signatures: a second signature set (BHSig260), all writers held out")
    p.add_argument("--stsb", help="folder with the STS-B csv files")
    p.add_argument("--text-pairs", help="folder with the STS 2012-2016, PAWS and QQP csv files (needs --stsb)")
    p.add_argument("--text-pairs-only", action="store_true", help="with --text-pairs: skip the STS-B table")
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
    if args.faces or args.signatures:
        if not (args.faces and args.signatures):
            p.error("--faces and --signatures go together")
        print("\n## Photos: faces and signatures, held-out people and writers, seed %d\n" % args.seed)
        print("\n".join(photo_table(args.faces, args.signatures, args.seed, args.yale, args.bhsig)))
    if args.stsb and not args.text_pairs_only:
        print("\n## Text (STS-B test, never used for training or tuning)\n")
        print("\n".join(text_table(args.stsb, args.seed)))
    if args.text_pairs:
        print("\n## Text, other held-out pair sets (thresholds as saved, chosen on STS-B dev)\n")
        print("\n".join(text_pairs_table(args.text_pairs, args.stsb)))
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
