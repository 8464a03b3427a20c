"""Fine-tune a model on a small dataset: split, suggest settings, evaluate the base, train, evaluate.

Used by the CLI (``python -m siamese_demo train``) and the fine-tune tab. The threshold of both the
base and the fine-tuned model is chosen on the validation split; both are reported on the same test
split, with ROC curves, distance histograms, a 2-D projection and the hardest test pairs.
"""
from __future__ import annotations

import copy
import dataclasses
import json
import time
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from . import evaluate as ev
from .augment import AugmentConfig
from .distances import format_distance, round_distance, round_distances
from .errors import DataError
from .inspect_data import summarize
from .pairs import PairSet, Samples, make_pairs
from .siamese import SiameseModel
from .train import Callback, TrainConfig, _set_threshold, fit

SPLIT_MODES = ("auto", "by class", "by sample")
MIN_CLASSES_FOR_CLASS_SPLIT = 15  # fewer classes: too few unseen test classes for stable numbers
VAL_FRACTION, TEST_FRACTION = 0.2, 0.2  # the default split: 60 / 20 / 20
# what the *auto* settings resolve to, by the base (auto_settings gives the reasons; the form's labels say these)
AUTO_LR = {"sentence-transformers": 1e-4, "trained": 3e-4, "scratch": 1e-3}
AUTO_BATCH = {"sentence-transformers": 16, "other": 32}
AUTO_FROZEN_EFFICIENTNET = 2  # blocks of 7, with the stem, kept fixed in a trained EfficientNet


def split(data: Samples | PairSet, mode: str = "auto", val_frac: float = VAL_FRACTION,
          test_frac: float = TEST_FRACTION, seed: int = 0) -> tuple[Any, Any, Any, str]:
    """Train / validation / test, seeded. ``auto`` splits class-labelled data with at least 15
    classes by class (test classes unseen, as in verification), anything else by sample."""
    if mode not in SPLIT_MODES:
        raise ValueError(f"split must be one of {SPLIT_MODES}")
    rng = np.random.default_rng(seed)
    labelled = isinstance(data, Samples) and data.labels is not None
    classes = sorted(set(map(str, data.labels))) if labelled else []
    if mode == "by class" and not labelled:
        raise DataError("a split by class needs class labels (class folders or a 'label' column)")
    if mode == "by class" or (mode == "auto" and len(classes) >= MIN_CLASSES_FOR_CLASS_SPLIT):
        if len(classes) < 6:
            raise DataError(f"{len(classes)} classes are too few to split by class (need 6 or more); "
                            "split by sample instead")
        order = rng.permutation(len(classes))
        n_test = max(2, int(round(len(classes) * test_frac)))
        n_val = max(2, int(round(len(classes) * val_frac)))
        test_c = {classes[i] for i in order[:n_test]}
        val_c = {classes[i] for i in order[n_test: n_test + n_val]}
        labels = list(map(str, data.labels))
        parts = [[i for i, c in enumerate(labels) if (c in test_c, c in val_c) == key]
                 for key in ((False, False), (False, True), (True, False))]
        return data.subset(parts[0]), data.subset(parts[1]), data.subset(parts[2]), "by class"
    n = len(data)
    if n < 10:
        raise DataError(f"{n} samples is too few to split into train, validation and test (need 10 or more)")
    if labelled:  # stratified, so every split keeps every class where possible
        by_class: dict[str, list[int]] = {}
        for i, c in enumerate(map(str, data.labels)):
            by_class.setdefault(c, []).append(i)
        tr, va, te = [], [], []
        for c in classes:
            idx = rng.permutation(by_class[c]).tolist()
            # two or more per class in validation and test (same-class pairs); small classes train only
            k_te = max(2, int(round(len(idx) * test_frac))) if len(idx) >= 6 else 0
            k_va = max(2, int(round(len(idx) * val_frac))) if len(idx) >= 6 else 0
            te += idx[:k_te]
            va += idx[k_te: k_te + k_va]
            tr += idx[k_te + k_va:]
        return data.subset(sorted(tr)), data.subset(sorted(va)), data.subset(sorted(te)), "by sample"
    order = rng.permutation(n)
    n_test, n_val = max(2, int(round(n * test_frac))), max(2, int(round(n * val_frac)))
    test, val, train = order[:n_test], order[n_test: n_test + n_val], order[n_test + n_val:]
    return data.subset(sorted(train.tolist())), data.subset(sorted(val.tolist())), \
        data.subset(sorted(test.tolist())), "by sample"


def base_training(base: SiameseModel) -> dict[str, Any]:
    return base.info.get("training", {}).get("config", {})


def suggest_margin(model: SiameseModel, train: Samples | PairSet, loss: str, seed: int = 0) -> float | None:
    """A margin on the scale of the base model's distances on this data. Contrastive: the 75th
    percentile of different-pair distances (most negatives inside the margin still give a
    gradient). Triplet: half the gap between the median different- and same-pair distance, at
    least a tenth of the median different-pair distance. None for the losses without a margin on the
    base's distances (binary cross-entropy, CoSENT, CosFace: its margin is on cosines to class directions),
    and for an untrained base (a model from scratch: random weights, whose distance scale means nothing;
    the loss's default margin is used)."""
    if loss in ("bce", "cosent", "cosface") or model.head is not None:
        return None
    if not model.info.get("training"):  # untrained (from scratch): its distances say nothing about a margin
        return None
    try:
        d, y = _pairs(model, train, 400, seed)
    except DataError:
        return None
    pos, neg = d[y >= 0.5], d[y < 0.5]
    if len(pos) == 0 or len(neg) == 0:
        return None
    if loss == "contrastive":
        m = float(np.quantile(neg, 0.75))
    else:
        m = max(0.5 * float(np.median(neg) - np.median(pos)), 0.1 * float(np.median(neg)))
    return float(f"{max(m, 1e-6):.4g}")  # four significant digits


def auto_settings(base: SiameseModel, data: Samples | PairSet) -> dict[str, tuple[Any, str]]:
    """The settings left on *auto*, resolved from the data layout and the base, each with its reason
    (shown by 'Check the data'; :func:`default_config` uses the values).

    Loss: binary cross-entropy for a base with a pair head, triplet with mining for class labels, else
    contrastive (the base's own pair loss). For graded pairs the contrastive loss with the score as label is
    smallest at distance (1 - score) x margin: a regression onto the scores. It was chosen over the ranking
    loss CoSENT (also offered) on validation: 3,000 STS 2012-2016 pairs (not in STS-B) from text-minilm,
    the CLI's defaults, validation Spearman from 0.809: 0.835 (contrastive, 1e-4) against 0.813 (CoSENT, 2e-5),
    0.802 (CoSENT, 5e-5) and 0.803 (CoSENT, 1e-4, earlier code) (README, "Fine-tuning on real data").

    Learning rate by what the base is: a pretrained
    transformer (sentence-transformers) 1e-4: 1e-3 collapsed all-MiniLM-L6-v2 on graded pairs (Spearman
    0.77 -> 0.49 in one epoch, issue 15); from text-minilm with the CLI's defaults, best validation AUC at
    5e-5 / 1e-4 / 3e-4 was 0.976 / 0.975 / 0.949 on the WordNet sample and 0.673 / 0.720 / 0.726 on 3,000
    PAWS dev pairs (README, "Fine-tuning on real data"): 1e-4 has the best mean; confirmed on the real sets'
    validation splits with the final engine, 1e-4 against 3e-4: PAWS 0.737 / 0.724, QQP 0.929 / 0.912, STS
    2012-16 Spearman 0.800 / 0.787 (the kept weights' validation figure); another trained or
    pretrained base 3e-4 (chosen on the sample datasets' validation splits: on the WordNet topics,
    contrastive at a tenth of the base's rate did not move validation AUC in 4 epochs, triplet at 3e-4
    did); from scratch 1e-3. Monitor: Spearman for graded pairs, else ROC AUC. Warm-up: 10 steps for a
    sentence-transformers base (validation of the kept weights on the real sets, 10 steps against none: PAWS
    0.744 / 0.737, QQP 0.928 / 0.929, STS 2012-16 Spearman 0.810 / 0.800; README "Fine-tuning on real data"),
    none otherwise. Augmentation: off for a sentence-transformers base (validation of the kept weights on the
    real sets, with pairs batched by length, off against on: PAWS 0.813 / 0.770, QQP 0.932 / 0.923, STS
    2012-16 Spearman 0.827 / 0.820), on otherwise. Frozen blocks: the stem and first 2 of 7 blocks of a trained
    EfficientNet (LFW from the ImageNet base, validation AUC with 0 / 1 / 2 / 3 / 4 frozen: 0.898 / 0.908 / 0.922 /
    0.914 / 0.912), none otherwise (a sentence-transformers base with its embeddings and first 2 layers frozen:
    PAWS 0.820 against 0.813, STS 2012-16 0.827 / 0.827, QQP 0.930 / 0.932: no clear gain). Batch size: 16 for a
    sentence-transformers base (validation, 16 / 32 / 64 pairs: PAWS 0.821 / 0.813 / 0.801, STS 2012-16 Spearman
    0.837 / 0.827, QQP 0.932 / 0.932), 32 otherwise."""
    trained = base_training(base)
    labelled = isinstance(data, Samples) and data.labels is not None
    if base.head is not None:
        loss = ("bce", "the base has a pair classifier head")
    elif labelled:
        loss = ("triplet", "class labels: triplets with mining use every class in a batch")
    elif isinstance(data, PairSet) and data.graded:
        loss = ("contrastive", "graded pairs: with a score as label it pulls each pair's distance towards "
                "(1 - score) x margin, a regression onto the scores (better than CoSENT on validation)")
    else:
        own = trained.get("loss", "contrastive")
        loss = ("contrastive", "explicit pairs" + (" (the base's own loss)" if own == "contrastive" else ""))
    pretrained = bool(base.info.get("training"))  # a pretrained base records where its weights came from
    if type(base.encoder).__name__ == "SentenceTransformerEncoder":
        lr = (AUTO_LR["sentence-transformers"], "a pretrained sentence-transformers model: small steps keep what it "
              "learned")
        warmup = (10, "a pretrained transformer: the first steps climb to the rate, as in its own fine-tuning")
        batch = (AUTO_BATCH["sentence-transformers"], "a pretrained sentence-transformers model: more, smaller steps "
                 "in the budget (better on "
                 "validation than 32 or 64)")
        augment = (False, "a pretrained sentence-transformers base: word dropout and swaps (which also drop or move "
                   "its [CLS]/[SEP] tokens) change what a pair's label says; off was better on validation")
    else:
        lr = ((AUTO_LR["trained"], "a base trained here or pretrained: a smaller rate than from scratch")
              if trained or pretrained else (AUTO_LR["scratch"], "a model trained from scratch"))
        warmup = (0, "none needed")
        batch = (AUTO_BATCH["other"], "enough pairs or classes per step for mining, and steps a CPU takes in seconds")
        augment = (True, "varied copies of the training items: the model cannot learn them by heart")
    mining = (trained.get("mining", "semihard"),
              "the base's own" if "mining" in trained else "semi-hard negatives: informative, rarely collapse")
    first = base.encoder.members[0] if hasattr(base.encoder, "members") else base.encoder  # an ensemble: its members
    cnn = getattr(first, "config", None)
    if (trained or pretrained) and str(getattr(cnn, "backbone", None) or "").startswith("efficientnet"):
        frozen = (AUTO_FROZEN_EFFICIENTNET, f"a trained EfficientNet: its stem and first {AUTO_FROZEN_EFFICIENTNET} "
                  "of 7 blocks (edges, textures) kept fixed make a step about twice as fast, so the budget trains "
                  "more (better on validation than 0, 1, 3 or 4)")
    else:
        frozen = (0, "every layer trains")
    graded = isinstance(data, PairSet) and data.graded
    monitor = ("val_spearman", "graded pairs: rank agreement") if graded else \
        ("val_auc", "how well same and different pairs separate")
    return {"loss": loss, "lr": lr, "mining": mining, "monitor": monitor, "warmup_steps": warmup,
            "augment.enabled": augment, "frozen_blocks": frozen, "batch_size": batch}


def default_config(base: SiameseModel, data: Samples | PairSet, **overrides) -> TrainConfig:
    """Settings that work for a first run: the *auto* ones resolved by :func:`auto_settings`, the rest
    TrainConfig's own defaults. ``overrides`` win; ``augment`` may be an AugmentConfig (the whole of it) or a
    dict of the augmentation fields that are set (the others: auto, else AugmentConfig's defaults)."""
    resolved = {k: v for k, (v, _) in auto_settings(base, data).items()}
    aug = {k.split(".", 1)[1]: resolved.pop(k) for k in list(resolved) if k.startswith("augment.")}
    given = overrides.pop("augment", None)
    augment = given if isinstance(given, AugmentConfig) else AugmentConfig(**{**aug, **(given or {})})
    return TrainConfig(**{**resolved, **overrides, "augment": augment})


def _projection(emb: np.ndarray, labels: Sequence[Any] | None, cap: int = 600, seed: int = 0) -> dict[str, Any]:
    """2-D PCA of test embeddings (scikit-learn), at most ``cap`` points."""
    from sklearn.decomposition import PCA

    idx = np.arange(len(emb))
    if len(idx) > cap:
        idx = np.sort(np.random.default_rng(seed).choice(len(emb), cap, replace=False))
    if len(idx) < 3:
        return {"x": [], "y": [], "label": []}
    xy = PCA(n_components=2, random_state=seed).fit_transform(emb[idx])
    lab = ["?" if labels is None else str(labels[i]) for i in idx]
    return {"x": xy[:, 0].round(4).tolist(), "y": xy[:, 1].round(4).tolist(), "label": lab,
            "index": idx.tolist()}


def _describe(item: Any, name: str | None) -> str:
    if isinstance(item, str):
        return item if len(item) <= 120 else item[:117] + "..."
    return name or type(item).__name__


@dataclass
class Assessment:
    metrics: dict[str, float]
    distances: np.ndarray
    labels: np.ndarray
    pair_index: tuple[np.ndarray, np.ndarray] | None   # indices into the test split (class-labelled data)
    embeddings: np.ndarray | None = None
    val_distances: np.ndarray | None = None  # the validation pairs the threshold was chosen on
    val_labels: np.ndarray | None = None

    def to_dict(self, details: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {**self.metrics}
        if details:
            pts = ev.roc_points(self.distances, self.labels)
            keep = np.unique(np.linspace(0, len(pts["fpr"]) - 1, min(len(pts["fpr"]), 200)).astype(int))
            out["roc"] = {"fpr": pts["fpr"][keep].round(4).tolist(), "tpr": pts["tpr"][keep].round(4).tolist()}
            y = self.labels >= 0.5
            out["distances"] = {"positive": round_distances(self.distances[y]),
                                "negative": round_distances(self.distances[~y])}
        return out


def view_pairs(model: SiameseModel, data: Samples, seed: int = 0):
    """Unlabelled data: each item with an augmented view of itself (same) and with a view of
    another item (different). Returns distances, labels and the (item, viewed item) indices."""
    from .augment import build_augmentation

    pre = model.preprocessor
    view = build_augmentation(model.modality, AugmentConfig(enabled=True), getattr(pre, "size", 64),
                              getattr(pre, "mean", 0.0), getattr(pre, "std", 1.0))
    n = len(data)
    if n < 2:
        raise DataError("evaluation needs at least two samples")
    tx = model.prepare(data.items, data.names)
    other = (np.arange(n) + 1 + np.random.default_rng(seed).integers(n - 1, size=n)) % n
    from .rng import seeded

    with seeded(seed):
        views = [view(t) for t in tx] + [view(tx[k]) for k in other]
    d = model.distances_from_embeddings(model.embed_tensors(tx + tx), model.embed_tensors(views))
    i, j = np.concatenate([np.arange(n), np.arange(n)]), np.concatenate([np.arange(n), other])
    return d, np.concatenate([np.ones(n), np.zeros(n)]).astype(np.float32), (i, j)


def _pairs(model: SiameseModel, data, n_pairs: int, seed: int):
    from .workflows import pair_distances

    if isinstance(data, Samples) and data.labels is None:
        return view_pairs(model, data, seed)[:2]
    return pair_distances(model, data, n_pairs, seed)


def assess(model: SiameseModel, val, test, policy: str = "max_accuracy", target_far: float = 0.01,
           n_pairs: int = 1000, seed: int = 0, val_pairs: tuple[np.ndarray, np.ndarray] | None = None,
           measured_test: tuple | None = None) -> Assessment:
    """Threshold chosen on ``val``, metrics on ``test`` (the same pairs for every model). ``val_pairs``:
    validation distances and labels already measured (a training run's own validation pairs), instead of
    pairs built from ``val``; ``measured_test``: :func:`test_pairs` of this model, already computed."""
    dv, yv = val_pairs if val_pairs is not None else _pairs(model, val, n_pairs, seed + 11)
    thr = ev.choose_threshold(dv, yv, policy, target_far)
    dt, yt, index, emb = measured_test if measured_test is not None else test_pairs(model, test, n_pairs, seed)
    graded = test.labels if isinstance(test, PairSet) and test.graded else None
    return Assessment(ev.pair_report(dt, yt, thr, graded=graded), dt, np.asarray(yt, dtype=np.float32), index, emb,
                      np.asarray(dv), np.asarray(yv, dtype=np.float32))


def test_pairs(model: SiameseModel, test, n_pairs: int = 1000, seed: int = 0):
    """The test pairs' distances, labels, pair index (class-labelled data) and embeddings (when the test
    split has items); the same pairs for every model."""
    from .workflows import pair_distances

    emb = None
    if isinstance(test, Samples) and test.labels is None:
        dt, yt, index = view_pairs(model, test, seed + 12)
        emb = model.embed(test.items)
    elif isinstance(test, PairSet):
        dt, yt = pair_distances(model, test, n_pairs, seed + 12)
        index = None
    else:
        emb = model.embed(test.items)
        i, j, yt = make_pairs(test.label_ids(), n_pairs, seed + 12)
        dt = model.distances_from_embeddings(emb[i], emb[j])
        index = (i, j)
    return dt, yt, index, emb


def hardest_pairs(a: Assessment, test, k: int = 5) -> list[dict[str, Any]]:
    """Same pairs with the largest distances and different pairs with the smallest."""
    y = a.labels >= 0.5
    rows = []
    for want, order in ((True, np.argsort(-a.distances)), (False, np.argsort(a.distances))):
        seen: set[tuple[int, int]] = set()  # balanced pairs are drawn with replacement: show each once
        picked = []
        for p in order:
            if y[p] != want:
                continue
            key = (int(p), int(p)) if a.pair_index is None else \
                tuple(sorted((int(a.pair_index[0][p]), int(a.pair_index[1][p]))))
            if key not in seen:
                seen.add(key)
                picked.append(p)
            if len(picked) == k:
                break
        for p in picked:
            if a.pair_index is not None:
                i, j = int(a.pair_index[0][p]), int(a.pair_index[1][p])
                names = test.names or [None] * len(test)
                da, db = _describe(test.items[i], names[i]), _describe(test.items[j], names[j])
                la, lb = ("", "") if test.labels is None else (str(test.labels[i]), str(test.labels[j]))
                db = db if test.labels is not None else f"{db} (augmented view)"
            else:
                i = j = int(p)
                da, db = _describe(test.a[p], f"pair {p + 1}"), _describe(test.b[p], f"pair {p + 1}")
                la = lb = ""
            rows.append({"kind": "same, but far" if want else "different, but close", "a": da, "b": db,
                         "class_a": la, "class_b": lb, "distance": round_distance(a.distances[p]),
                         "gold": float(a.labels[p]), "index_a": i, "index_b": j})
    return rows


def outcome(report: dict[str, Any]) -> dict[str, Any]:
    """Did the run improve on its base? In plain words, with what to try next. ``kept_base``: the
    base's own weights scored best on validation (best epoch 0), so the result *is* the base;
    ``improved``: the fine-tuned model beats the base on the test split (Spearman for graded pairs,
    else ROC AUC), by more than 0.001."""
    key = "spearman" if "spearman" in report["base"] else "auc"
    name = "Spearman" if key == "spearman" else "ROC AUC"
    before, after = float(report["base"][key]), float(report["finetuned"][key])
    readout = report.get("readout") or {}
    kept = report["best_epoch"] == 0 and not report.get("new_head") and readout.get("chosen") == readout.get("base")
    tips = ("Try a larger time budget, a lower learning rate (a pretrained base often wants about 2e-5 to 1e-4), "
            "another loss, or more data; if the base already separates this data well, keep the base.")
    if kept:
        text = (f"No improvement: the base model stayed best on validation, so the fine-tuned model is the base "
                f"unchanged (test {name} {before:.3f}). {tips}")
    elif after <= before + 1e-3:
        text = (f"Not better than the base: trained, but test {name} went from {before:.3f} to {after:.3f}. {tips}")
    else:
        text = f"Improved on the base: test {name} {before:.3f} -> {after:.3f}."
    return {"kept_base": kept, "improved": (not kept) and after > before + 1e-3, "metric": key,
            "base": before, "finetuned": after, "text": text}


@dataclass
class FinetuneResult:
    model: SiameseModel
    report: dict[str, Any]
    test: Samples | PairSet = field(repr=False)


def prepare(base: SiameseModel, data: Samples | PairSet, split_mode: str = "auto", seed: int = 0):
    """Split and summarise; raises DataError when the data cannot train."""
    from .data import check_trainable

    if isinstance(data, Samples):
        check_trainable(data)
    train, val, test, mode = split(data, split_mode, seed=seed)
    if isinstance(train, Samples) and train.labels is not None:
        check_trainable(train)
        for name, part in (("validation", val), ("test", test)):
            try:
                check_trainable(part)
            except DataError:
                raise DataError(f"the {name} split cannot form both same-class and different-class pairs: "
                                "split by sample needs classes with at least 6 samples (2 for validation, 2 for "
                                "test), split by class needs at least 6 classes") from None
    parts = {"train": train, "validation": val, "test": test}
    return parts, summarize(base, parts, mode)


READOUTS = ("mean", "last")


def set_readout(model: SiameseModel, pooling: str) -> SiameseModel:
    """Make an LSTM encoder pool its per-step outputs with ``pooling`` ("mean", "max" or "last": the final
    states of both directions). Same weights and shapes; the saved config records the choice."""
    from .encoders.lstm import POOLINGS, LSTMEncoder

    if not isinstance(model.encoder, LSTMEncoder):
        raise ValueError("only LSTM encoders have a choice of readout")
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}")
    model.encoder.config.pooling = pooling
    return model


def choose_readout(model: SiameseModel, train: Samples | PairSet) -> dict[str, Any] | None:
    """For a series LSTM and class-labelled training data: set the readout (the model's own, then mean
    pooling and final states) whose embeddings of ``train`` give the highest leave-one-out 1-NN accuracy;
    a tie keeps the earlier one. Mean pooling is the more shift-invariant, the final states keep where in a
    series things happen (the UCR cross-validation behind it: README, "Time series"). Returns the choice
    and the accuracies, or None when there is nothing to choose."""
    from .encoders.lstm import LSTMEncoder

    if (model.modality != "timeseries" or not isinstance(model.encoder, LSTMEncoder)
            or not isinstance(train, Samples) or train.labels is None or len(set(train.labels)) < 2):
        return None
    own = model.encoder.config.pooling
    accuracy = {}
    for readout in (own, *[r for r in READOUTS if r != own]):
        set_readout(model, readout)
        accuracy[readout] = ev.loo_1nn_accuracy(model.embed(train.items), train.labels)
    chosen = max(accuracy, key=accuracy.get)
    set_readout(model, chosen)
    return {"chosen": chosen, "base": own, "loo_1nn": accuracy}


def union(first: Samples | PairSet, second: Samples | PairSet) -> Samples | PairSet:
    """Two splits as one dataset (training and validation, for a refit)."""
    if isinstance(first, PairSet):
        return PairSet(list(first.a) + list(second.a), list(first.b) + list(second.b),
                       np.concatenate([first.labels, second.labels]).astype(np.float32), first.graded or second.graded)
    labels = None if first.labels is None else list(first.labels) + list(second.labels)
    names = None if first.names is None or second.names is None else list(first.names) + list(second.names)
    return Samples(list(first.items) + list(second.items), labels, names)


def refit(start: SiameseModel, data: Samples | PairSet, val: Samples | PairSet, cfg: TrainConfig,
          best_epoch: float, callbacks: Sequence[Callback] = (), cancel: threading.Event | None = None):
    """Train ``start`` (the model as the first run began) again on ``data``, the training and validation items
    together, for the length the first run chose: ``best_epoch`` whole epochs (rounded, at least one), or the
    same share of one epoch's steps when the first run's best came within its first epoch. Early stopping is off;
    the validation split, now also training data, is still evaluated (curves, kept weights) as in any run. The
    series benchmark's procedure (``recipes.ucr_series.finetuned``) and ``finetune(refit_after=True)`` both use it."""
    if best_epoch >= 1 or cfg.steps_per_epoch:
        length: dict[str, Any] = {"epochs": max(1, int(round(best_epoch)))}
    else:
        per_epoch = int(np.ceil(len(data) / cfg.batch_size))
        length = {"epochs": 1, "steps_per_epoch": max(1, int(round(best_epoch * per_epoch)))}
    return fit(start, data, val, dataclasses.replace(cfg, early_stopping_patience=0, **length), callbacks, cancel)


def _unchanged(model: SiameseModel, base: SiameseModel) -> bool:
    """Whether ``model`` computes what ``base`` does: the same weights, distance, head and preprocessing (a run
    that kept its base's weights)."""
    if (model.distance != base.distance or (model.head is None) != (base.head is None)
            or model.preprocessor.to_dict() != base.preprocessor.to_dict()):
        return False
    a, b = model.state_dict(), base.state_dict()
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def finetune(base: SiameseModel, data: Samples | PairSet, config: TrainConfig | None = None,
             callbacks: Sequence[Callback] = (), cancel: threading.Event | None = None,
             split_mode: str = "auto", base_name: str = "base", distance: str | None = None,
             prepared: tuple[dict[str, Any], dict[str, Any]] | None = None,
             readout: str = "auto", data_source: str = "an uploaded dataset",
             refit_after: bool = False) -> FinetuneResult:
    """Fine-tune a copy of ``base`` on ``data`` (``base`` is never modified). Returns the model and
    a report: data summary, base vs fine-tuned on the same test split, curves, hardest pairs
    (:func:`write` saves both). ``prepared``: the result of :func:`prepare` for this data, split
    mode and seed, when the caller already has it. ``readout``: "auto" lets a series LSTM take the
    readout that suits the training split (:func:`choose_readout`), "keep" keeps the base's.
    ``data_source`` names the data in the report and the card. The fine-tuned model's threshold,
    calibration and validation distances come from the same validation pairs as the report's, so
    the report, the comparison tabs and the saved config use one threshold. ``refit_after``: when the run
    improved on the base on validation, train the starting model again on training + validation for the
    length the run chose (:func:`refit`), in the second half of the budget; the test split stays unseen,
    the threshold is then chosen on validation pairs the model trained on (the report says so)."""
    cfg = config or default_config(base, data)
    started = time.perf_counter()
    parts, summary = prepared or prepare(base, data, split_mode, cfg.seed)
    train, val, test = parts["train"], parts["validation"], parts["test"]
    model = copy.deepcopy(base)
    model.info.pop("test_metrics", None)  # the base's numbers do not describe the fine-tuned model
    model.info.get("card", {}).pop("metrics_markdown", None)
    if distance is not None and model.head is None:
        model.distance = distance
    if readout not in ("auto", "keep"):
        raise ValueError("readout must be 'auto' or 'keep'")
    readout_choice = choose_readout(model, train) if readout == "auto" else None
    new_head = cfg.loss == "bce" and model.head is None
    if new_head:  # a new pair head on top of the base's encoder
        from .losses import PairHead

        from .rng import seeded

        with seeded(cfg.seed):
            model.head = PairHead(model.encoder.embedding_dim)
    # When the run starts from the base unchanged (no new head, the same readout and distance), the run's
    # first validation *is* the base's: both models' thresholds come from the run's own validation pairs
    # (one pair builder) and the validation split is embedded once for the base, once per validation.
    same_start = (not new_head and model.distance == base.distance
                  and (readout_choice is None or readout_choice["chosen"] == readout_choice["base"]))
    policy = (cfg.threshold_policy, cfg.target_far)
    t_eval = time.perf_counter()
    if same_start:
        base_test = test_pairs(base, test, seed=cfg.seed)
    else:
        before = assess(base, val, test, *policy, seed=cfg.seed)
    eval_s = time.perf_counter() - t_eval
    # the budget covers the whole run: reading and splitting the data and the base's evaluation (done),
    # training (which keeps time for its own closing validation), and the fine-tuned model's evaluation,
    # which costs about what the base's did
    fit_cfg = cfg
    start = copy.deepcopy(model) if refit_after else None  # the refit begins where this run began
    spent = time.perf_counter() - started
    if cfg.time_budget_s is not None:
        train_s = max(1.0, cfg.time_budget_s - spent - eval_s)
        fit_cfg = dataclasses.replace(cfg, time_budget_s=train_s / 2 if refit_after else train_s)
    result = fit(model, train, val, fit_cfg, callbacks, cancel)
    v = result.validation
    refitted = None
    # the fine-tuned model's validation distances: the run's kept weights on its own pairs when it started from
    # the base unchanged; a refit's own (on the same pairs); else measured again below
    after_val = (v["best"], v["labels"]) if same_start else None
    if refit_after and result.best_epoch and result.stopped != "cancelled":
        rest = None if cfg.time_budget_s is None else max(1.0, cfg.time_budget_s - (time.perf_counter() - started)
                                                          - eval_s)
        both = union(train, val)
        again = refit(start, both, val, dataclasses.replace(cfg, time_budget_s=rest), result.best_epoch,
                      cancel=cancel)
        model = again.model
        refitted = {"items": len(both), "first_run_best_epoch": result.best_epoch,
                    "epochs": again.record["config"]["epochs"], "steps": again.record["steps"],
                    "stopped": again.stopped, "history": again.history}
        after_val = (again.validation["best"], again.validation["labels"])  # pairs the refit trained on
    if same_start:
        before = assess(base, val, test, *policy, seed=cfg.seed, val_pairs=(v["first"], v["labels"]),
                        measured_test=base_test)
    after = assess(model, val, test, *policy, seed=cfg.seed, val_pairs=after_val)
    wall = time.perf_counter() - started
    _set_threshold(model, after.val_distances, after.val_labels, cfg)  # the report's threshold, saved
    if "references" in base.info and _unchanged(model, base):  # the base kept as it was: its several-references
        model.info["references"] = copy.deepcopy(base.info["references"])  # fit still holds for these weights
    labels = test.labels if isinstance(test, Samples) else None
    report: dict[str, Any] = {
        "base_model": base_name, "data_source": data_source, "new_head": new_head,
        "split": summary["split"], "data": summary, "config": cfg.to_dict(),
        "seed": cfg.seed, "base": before.to_dict(), "finetuned": after.to_dict(),
        "stopped": result.stopped, "best_epoch": result.best_epoch, "history": result.history,
        "train_time_s": round(result.record["train_time_s"], 2), "margin": result.record["margin"],
        "wall_time_s": round(wall, 2),
        "budget_used": round(wall / cfg.time_budget_s, 3) if cfg.time_budget_s else None,
        "hardest_pairs": hardest_pairs(after, test),
    }
    if readout_choice:
        report["readout"] = readout_choice
    if refit_after:
        report["refit"] = refitted or {"skipped": "the run did not improve on the base on validation"
                                       if not result.best_epoch else "the run was cancelled"}
    report["outcome"] = outcome(report)
    if after.embeddings is not None:
        report["projection"] = {"base": _projection(before.embeddings, labels, seed=cfg.seed),
                                "finetuned": _projection(after.embeddings, labels, seed=cfg.seed)}
    model.info["finetune_report"] = {k: report[k] for k in ("base_model", "data_source", "split", "seed", "stopped",
                                                            "best_epoch", "outcome")} | (
        {"refit": {k: v_ for k, v_ in refitted.items() if k != "history"}} if refitted else {}) | {
        "test": {"base": before.to_dict(False), "finetuned": after.to_dict(False)}}
    return FinetuneResult(model, report, test)


def write(model: SiameseModel, report: dict[str, Any], out: str | Path) -> Path:
    """The checkpoint folder (config, weights, card, run record) plus ``report.json``."""
    from .card import update_card
    from .checkpoint import save

    out = Path(out)
    save(model, out, name=out.name, card={
        "description": f"Fine-tuned from `{report['base_model']}` with the siamese_demo engine.",
        "training_data": f"{report.get('data_source', 'an uploaded dataset')}: {json.dumps(report['data']['splits'])}"})
    (out / "report.json").write_text(json.dumps(report, indent=2, default=float))
    update_card(out, report_markdown(report))
    return out


def report_markdown(report: dict[str, Any]) -> str:
    """Base vs fine-tuned on the test split, as a markdown table."""
    rows = ["| model | test ROC AUC | EER | accuracy at threshold | threshold (chosen on validation) |",
            "|---|---|---|---|---|"]
    for key, label in (("base", f"base (`{report['base_model']}`)"), ("finetuned", "fine-tuned")):
        m = report[key]
        rows.append(f"| {label} | {m['auc']:.3f} | {m['eer']:.3f} | {m['accuracy']:.3f} | "
                    f"{format_distance(m['threshold'], 4)} |")
    if "spearman" in report["base"]:
        rows.append(f"\nSpearman on test: base {report['base']['spearman']:.3f}, "
                    f"fine-tuned {report['finetuned']['spearman']:.3f}.")
    if report.get("readout"):
        r = report["readout"]
        rows.append(f"\nLSTM readout: {r['chosen']} (leave-one-out 1-NN on the training split: "
                    + ", ".join(f"{k} {v:.3f}" for k, v in r["loo_1nn"].items()) + ").")
    if report.get("refit", {}).get("items"):
        r = report["refit"]
        rows.append(f"\nRefit: trained again from the start on training + validation ({r['items']} items) for "
                    f"{r['epochs']} epoch(s), the length the first run chose (best at epoch {r['first_run_best_epoch']}"
                    + (f"; cut short by the time budget after {r['steps']} steps" if r["stopped"] != "completed" else "")
                    + "). Its threshold was chosen on validation pairs it trained on, so it may be optimistic; the "
                    "test figures are not affected.")
    elif report.get("refit"):
        rows.append(f"\nRefit skipped: {report['refit']['skipped']}.")
    head = f"**{report['outcome']['text']}**\n\n" if "outcome" in report else ""
    return head + "\n".join(rows) + (f"\n\nData: {report.get('data_source', 'an uploaded dataset')}. Split "
                                      f"{report['split']}, seed {report['seed']}; stopped: {report['stopped']} "
                                      f"(best epoch {report['best_epoch']}), {report['train_time_s']:.0f} s of training.")
