"""Metrics for verification and similarity: pure functions on arrays.

Inputs are *distances* (lower = more similar) and labels (1 = same). A pair is called
"same" when ``distance <= threshold``. Thresholds are chosen on validation data only.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np

POLICIES = ("max_accuracy", "eer", "target_far")


def _binary(labels) -> np.ndarray:
    return (np.asarray(labels, dtype=np.float64) >= 0.5).astype(np.int64)


def _check(distances, labels) -> tuple[np.ndarray, np.ndarray]:
    d = np.asarray(distances, dtype=np.float64).ravel()
    y = _binary(labels).ravel()
    if d.shape != y.shape:
        raise ValueError("distances and labels must have the same length")
    if y.min(initial=1) == y.max(initial=0):
        raise ValueError("need both positive and negative pairs")
    return d, y


def roc_auc(distances, labels) -> float:
    """ROC AUC of ``-distance`` as the score for label 1."""
    d, y = _check(distances, labels)
    from sklearn.metrics import roc_auc_score  # imported on use: keeps the app's start-up light

    return float(roc_auc_score(y, -d))


def roc_points(distances, labels) -> dict[str, np.ndarray]:
    """ROC curve: false-accept rate, true-accept rate and the distance threshold of each point."""
    d, y = _check(distances, labels)
    from sklearn.metrics import roc_curve

    fpr, tpr, thr = roc_curve(y, -d)
    return {"fpr": fpr, "tpr": tpr, "threshold": -thr}


def eer(distances, labels) -> tuple[float, float]:
    """Equal error rate and the distance threshold where false accepts ~= false rejects."""
    pts = roc_points(distances, labels)
    fnr = 1.0 - pts["tpr"]
    i = int(np.nanargmin(np.abs(fnr - pts["fpr"])))
    thr = pts["threshold"][i]
    if not np.isfinite(thr):
        thr = float(np.max(np.asarray(distances)))
    return float((fnr[i] + pts["fpr"][i]) / 2.0), float(thr)


def _candidates(d: np.ndarray) -> np.ndarray:
    u = np.unique(d)
    mids = (u[:-1] + u[1:]) / 2.0
    return np.concatenate([[u[0] - 1e-6], mids, [u[-1] + 1e-6]])


def choose_threshold(distances, labels, policy: str = "max_accuracy", target_far: float = 0.01) -> float:
    """A distance threshold chosen by ``policy`` (run it on validation pairs, never test pairs).

    - ``max_accuracy``: the midpoint between neighbouring distances with the best accuracy;
    - ``eer``: where false-accept and false-reject rates meet;
    - ``target_far``: the largest threshold whose false-accept rate is at most ``target_far``.
    """
    d, y = _check(distances, labels)
    if policy == "eer":
        return eer(d, y)[1]
    cand = _candidates(d)
    order = np.argsort(d)
    ds, ys = d[order], y[order]
    # number of positives / negatives with distance <= t, for each candidate t
    k = np.searchsorted(ds, cand, side="right")
    tp = np.concatenate([[0], np.cumsum(ys)])[k]
    fp = np.concatenate([[0], np.cumsum(1 - ys)])[k]
    n_neg = (1 - ys).sum()
    if policy == "max_accuracy":
        acc = (tp + (n_neg - fp)) / len(d)
        return float(cand[int(np.argmax(acc))])
    if policy == "target_far":
        far = fp / n_neg
        ok = np.flatnonzero(far <= target_far)
        return float(cand[ok[-1]]) if len(ok) else float(cand[0])
    raise ValueError(f"unknown threshold policy {policy!r}; use one of {POLICIES}")


def classification_metrics(distances, labels, threshold: float) -> dict[str, float]:
    """Accuracy, precision, recall, F1, false-accept and false-reject rates at ``threshold``."""
    d = np.asarray(distances, dtype=np.float64).ravel()
    y = _binary(labels).ravel()
    pred = d <= threshold
    tp = int(np.sum(pred & (y == 1)))
    fp = int(np.sum(pred & (y == 0)))
    fn = int(np.sum(~pred & (y == 1)))
    tn = int(np.sum(~pred & (y == 0)))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "accuracy": (tp + tn) / len(d), "precision": precision, "recall": recall, "f1": f1,
        "far": fp / (fp + tn) if fp + tn else 0.0, "frr": fn / (fn + tp) if fn + tp else 0.0,
    }


def spearman(scores, gold) -> float:
    """Spearman rank correlation (scipy) between predicted similarity scores and graded gold scores."""
    from scipy.stats import spearmanr

    return float(spearmanr(np.asarray(scores, dtype=np.float64), np.asarray(gold, dtype=np.float64)).statistic)


def loo_1nn_accuracy(embeddings, labels) -> float:
    """Leave-one-out 1-NN accuracy: each row of ``embeddings`` (N, D) is classified by its nearest other
    row under Euclidean distance."""
    import torch

    from .distances import pairwise_distance

    d = pairwise_distance(torch.as_tensor(np.asarray(embeddings, dtype=np.float64)), "euclidean")
    d.fill_diagonal_(float("inf"))
    y = np.asarray(labels)
    return float(np.mean(y[d.argmin(1).numpy()] == y))


def one_shot_accuracy(distances, correct) -> float:
    """N-way one-shot accuracy: ``distances`` (trials, N) from each query to its N candidates;
    a trial is right when the nearest candidate is ``correct[t]``."""
    d = np.asarray(distances, dtype=np.float64)
    return float(np.mean(np.argmin(d, axis=1) == np.asarray(correct)))


def one_shot_trials(
    labels: Sequence[Any], groups: Sequence[Any], drawers: Sequence[Any], n_way: int = 20,
    n_trials: int = 400, seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Koch et al.'s protocol: per trial, pick a group (alphabet) with >= n_way classes, n_way of its
    classes and two drawers; the query is class 0 by drawer A, candidates are each class by drawer B.

    Returns ``query (T,)``, ``candidates (T, n_way)`` sample indices and ``correct (T,)`` (all 0
    before shuffling; candidates are shuffled so ``correct`` varies).
    """
    labels, groups, drawers = map(np.asarray, (labels, groups, drawers))
    rng = np.random.default_rng(seed)
    lookup = {(l, w): i for i, (l, w) in enumerate(zip(labels.tolist(), drawers.tolist()))}
    eligible = [g for g in np.unique(groups) if len(np.unique(labels[groups == g])) >= n_way]
    if not eligible:
        raise ValueError(f"no group has {n_way} classes")
    queries, cands, correct = [], [], []
    while len(queries) < n_trials:
        g = eligible[rng.integers(len(eligible))]
        classes = rng.choice(np.unique(labels[groups == g]), size=n_way, replace=False)
        common = set.intersection(*[set(drawers[labels == c].tolist()) for c in classes])
        if len(common) < 2:
            continue
        wa, wb = rng.choice(sorted(common), size=2, replace=False)
        order = rng.permutation(n_way)
        queries.append(lookup[(classes[0].item(), wa.item())])
        cands.append([lookup[(classes[k].item(), wb.item())] for k in order])
        correct.append(int(np.flatnonzero(order == 0)[0]))
    return np.array(queries), np.array(cands), np.array(correct)


def calibrate(distances, labels) -> dict[str, float]:
    """Logistic fit of p(same | distance) on validation pairs (scikit-learn)."""
    from sklearn.linear_model import LogisticRegression

    d, y = _check(distances, labels)
    # fitted on standardised distances, so the fit (and its mild regularisation) is the same whatever the
    # distance's scale: the texture readout's cosine distances are around 0.001, a head's around 1
    mu, sd = float(d.mean()), float(d.std())
    if not np.isfinite(sd) or sd < 1e-7 * max(abs(mu), 1e-12):  # (nearly) one distance: nothing to scale by
        sd = 1.0
    lr = LogisticRegression(C=100.0).fit(((d - mu) / sd)[:, None], y)
    coef = float(lr.coef_[0, 0]) / sd
    return {"coef": coef, "intercept": float(lr.intercept_[0]) - coef * mu}


def pair_report(distances, labels, threshold: float, graded=None, scores=None) -> dict[str, float]:
    """AUC, EER and metrics at ``threshold``; Spearman when graded gold scores are given."""
    out = {"auc": roc_auc(distances, labels), "eer": eer(distances, labels)[0], "threshold": float(threshold)}
    out.update(classification_metrics(distances, labels, threshold))
    if graded is not None:
        out["spearman"] = spearman(-np.asarray(distances) if scores is None else scores, graded)
    return out
