"""Pair and triplet construction: balanced pairs, triplet miners, m-per-class batches.

Label convention for pairs: 1 = same class, 0 = different. All randomness comes from
an explicit seed or ``numpy.random.Generator`` / ``torch.Generator`` so runs repeat.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

import numpy as np
import torch

from .distances import pairwise_distance
from .errors import DataError


@dataclass
class Samples:
    """Class-labelled (``labels`` given) or unlabelled (``labels=None``) raw items."""

    items: list[Any]
    labels: list[Any] | None = None
    names: list[str] | None = None

    def __len__(self) -> int:
        return len(self.items)

    def label_ids(self) -> np.ndarray:
        """Labels as integer ids 0..K-1 (sorted class order); unlabelled -> one id per item."""
        if self.labels is None:
            return np.arange(len(self.items))
        classes = sorted(set(self.labels), key=str)
        index = {c: i for i, c in enumerate(classes)}
        return np.array([index[c] for c in self.labels], dtype=np.int64)

    def summary(self) -> dict[str, Any]:
        if self.labels is None:
            return {"samples": len(self.items), "labelled": False}
        counts = Counter(map(str, self.labels))
        return {"samples": len(self.items), "labelled": True, "classes": len(counts),
                "min_per_class": min(counts.values()), "max_per_class": max(counts.values())}

    def subset(self, idx: Sequence[int]) -> "Samples":
        return Samples([self.items[i] for i in idx],
                       None if self.labels is None else [self.labels[i] for i in idx],
                       None if self.names is None else [self.names[i] for i in idx])


@dataclass
class PairSet:
    """Explicit pairs ``(a[i], b[i])`` with labels in [0, 1] (1 = same; graded allowed)."""

    a: list[Any]
    b: list[Any]
    labels: np.ndarray = field(default_factory=lambda: np.zeros(0))
    graded: bool = False

    def __post_init__(self):
        self.labels = np.asarray(self.labels, dtype=np.float32)
        if not (len(self.a) == len(self.b) == len(self.labels)):
            raise ValueError("a, b and labels must have the same length")

    def __len__(self) -> int:
        return len(self.a)

    def summary(self) -> dict[str, Any]:
        pos = int((self.labels >= 0.5).sum())
        return {"pairs": len(self), "positive": pos, "negative": len(self) - pos, "graded": self.graded}

    def subset(self, idx: Sequence[int]) -> "PairSet":
        return PairSet([self.a[i] for i in idx], [self.b[i] for i in idx], self.labels[list(idx)], self.graded)


def make_pairs(labels: Sequence[int], n_pairs: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Balanced pairs: ``n_pairs // 2`` positive (same label) and the rest negative.

    Returns index arrays ``(i, j)`` and labels ``y`` (1 = same). Raises :class:`DataError`
    if no class has two samples or there is only one class.
    """
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    by_class: dict[Any, np.ndarray] = {c: np.flatnonzero(labels == c) for c in np.unique(labels)}
    multi = [c for c, idx in by_class.items() if len(idx) >= 2]
    if len(by_class) < 2:
        raise DataError("only one class: different-class (negative) pairs need at least two classes")
    if not multi:
        raise DataError("every class has a single sample: same-class (positive) pairs need a class "
                        "with at least two samples")
    n_pos = n_pairs // 2
    classes = list(by_class)
    ii, jj, yy = [], [], []
    for _ in range(n_pos):
        c = multi[rng.integers(len(multi))]
        i, j = rng.choice(by_class[c], size=2, replace=False)
        ii.append(i), jj.append(j), yy.append(1)
    for _ in range(n_pairs - n_pos):
        c1, c2 = rng.choice(len(classes), size=2, replace=False)
        ii.append(rng.choice(by_class[classes[c1]]))
        jj.append(rng.choice(by_class[classes[c2]]))
        yy.append(0)
    order = rng.permutation(n_pairs)
    return np.array(ii)[order], np.array(jj)[order], np.array(yy, dtype=np.float32)[order]


def in_batch_pairs(labels: torch.Tensor, generator: torch.Generator | None = None):
    """All positive pairs in a batch plus as many random negative pairs (balanced).

    Returns ``(i, j, y)`` tensors; ``y`` is 1 for same label.
    """
    n = labels.shape[0]
    iu, ju = torch.triu_indices(n, n, offset=1)
    same = labels[iu] == labels[ju]
    pi, pj = iu[same], ju[same]
    ni, nj = iu[~same], ju[~same]
    k = min(len(ni), max(len(pi), 1))
    pick = torch.randperm(len(ni), generator=generator)[:k]
    i = torch.cat([pi, ni[pick]])
    j = torch.cat([pj, nj[pick]])
    y = torch.cat([torch.ones(len(pi)), torch.zeros(k)])
    return i, j, y


MINING = ("random", "semihard", "hard")


def mine_triplets(
    embeddings: torch.Tensor, labels: torch.Tensor, strategy: str = "semihard", margin: float = 0.2,
    distance: str = "euclidean", generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Choose triplets in a batch -> LongTensor (T, 3) of (anchor, positive, negative) indices.

    - ``random``: every (anchor, positive) pair with a uniformly random negative;
    - ``semihard`` (FaceNet): every (anchor, positive) pair with the closest negative that is
      farther than the positive; if none is, the farthest negative;
    - ``hard`` (batch-hard): per anchor, its farthest positive and its closest negative.
    Anchors without a positive or a negative are skipped.
    """
    if strategy not in MINING:
        raise ValueError(f"mining must be one of {MINING}")
    with torch.no_grad():
        d = pairwise_distance(embeddings.detach(), distance)
    n = labels.shape[0]
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(n, dtype=torch.bool, device=labels.device)
    pos_mask, neg_mask = same & ~eye, ~same
    out = []
    if strategy == "hard":
        for a in range(n):
            if not pos_mask[a].any() or not neg_mask[a].any():
                continue
            p = torch.where(pos_mask[a], d[a], torch.full_like(d[a], -1.0)).argmax()
            q = torch.where(neg_mask[a], d[a], torch.full_like(d[a], float("inf"))).argmin()
            out.append((a, int(p), int(q)))
    else:
        for a, p in pos_mask.nonzero().tolist():
            negs = neg_mask[a].nonzero().flatten()
            if len(negs) == 0:
                continue
            if strategy == "random":
                q = negs[torch.randint(len(negs), (1,), generator=generator)].item()
            else:
                dn = d[a, negs]
                farther = dn > d[a, p]
                if farther.any():
                    q = negs[farther][dn[farther].argmin()].item()
                else:
                    q = negs[dn.argmax()].item()
            out.append((a, p, q))
    if not out:
        return torch.zeros(0, 3, dtype=torch.long)
    return torch.tensor(out, dtype=torch.long)


class MPerClassSampler:
    """Batches of ``batch_size // m`` classes with ``m`` samples each (with replacement when a
    class is smaller than ``m``). Iterating yields lists of indices; one pass ~ one epoch."""

    def __init__(self, labels: Sequence[int], m: int = 4, batch_size: int = 32, seed: int = 0):
        labels = np.asarray(labels)
        self.by_class = [np.flatnonzero(labels == c) for c in np.unique(labels)]
        if len(self.by_class) < 2:
            raise DataError("only one class: batches with negatives need at least two classes")
        if m < 1 or batch_size < 2 * m:
            raise ValueError("need m >= 1 and batch_size >= 2 * m")
        self.m = m
        self.classes_per_batch = min(batch_size // m, len(self.by_class))
        self.n_batches = max(1, int(np.ceil(len(labels) / (self.classes_per_batch * m))))
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return self.n_batches

    def __iter__(self) -> Iterator[list[int]]:
        for _ in range(self.n_batches):
            classes = self.rng.choice(len(self.by_class), size=self.classes_per_batch, replace=False)
            batch: list[int] = []
            for c in classes:
                idx = self.by_class[c]
                batch.extend(self.rng.choice(idx, size=self.m, replace=len(idx) < self.m).tolist())
            yield batch
