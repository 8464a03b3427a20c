"""Face and signature verification protocols on folders of images, and the raw-pixel baseline.

Faces (an LFW-style folder, one sub-folder of photos per person): people are split 50/25/25 into
train / validation / test with a fixed seed; on the people of one split, every same-person pair and
an equal number of random different-person pairs (seeded) are scored; AUC of ``-distance``.

Signatures (SVC2004 layout ``userN/{genuine,forged}/UNNSk.png``): writers are split 50/25/25 the same
way; for each writer of a split the first 5 genuine signatures (by number) are the references, and each
remaining genuine signature and each skilled forgery gets the mean (or min) distance to them; AUC
genuine vs forged. Nothing here copies an image anywhere: the folders are only read.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Sequence

import numpy as np

from siamese_demo.preprocess import ImagePreprocessor

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".pgm", ".bmp", ".tif", ".tiff")
SPLITS = ("train", "validation", "test")


class Embedder(Protocol):
    """What a protocol needs: a SiameseModel, or :class:`RawPixels`."""

    def embed(self, items: Sequence[Any], batch_size: int = 64) -> np.ndarray: ...

    def distances_from_embeddings(self, emb_a: np.ndarray, emb_b: np.ndarray) -> np.ndarray: ...


@dataclass
class RawPixels:
    """The baseline: the image as grey ``size`` x ``size`` pixels (stretched), cosine distance."""

    size: int = 64

    def embed(self, items: Sequence[Any], batch_size: int = 64) -> np.ndarray:
        pre = ImagePreprocessor(size=self.size, channels=1, invert="never")
        return np.stack([pre.encode(x).flatten().numpy() for x in items])

    def distances_from_embeddings(self, emb_a: np.ndarray, emb_b: np.ndarray) -> np.ndarray:
        a, b = np.asarray(emb_a, dtype=np.float64), np.asarray(emb_b, dtype=np.float64)
        cos = (a * b).sum(1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-12)
        return (1.0 - cos).astype(np.float32)


def _number(path: Path) -> tuple[int, str]:
    """Sort key: the last number in the file name (U13S2 before U13S10), then the name."""
    nums = re.findall(r"\d+", path.stem)
    return (int(nums[-1]) if nums else -1, path.name)


def _images(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES), key=_number)


def split_names(names: Sequence[str], seed: int = 0, fractions: tuple[float, float] = (0.5, 0.25)) -> dict[str, list[str]]:
    """Shuffle sorted ``names`` with ``seed`` and cut them into train / validation / test
    (``fractions`` of train and validation; the rest is test)."""
    names = sorted(names)
    order = np.random.default_rng(seed).permutation(len(names))
    n_train, n_val = int(round(len(names) * fractions[0])), int(round(len(names) * fractions[1]))
    cut = [order[:n_train], order[n_train: n_train + n_val], order[n_train + n_val:]]
    return {s: sorted(names[i] for i in idx) for s, idx in zip(SPLITS, cut)}


# ------------------------------------------------------------------ faces
def read_people(root: str | Path, minimum: int = 8) -> dict[str, list[Path]]:
    """Person -> photo files, from one sub-folder per person (files at the top level are ignored); at least
    ``minimum`` people."""
    root = Path(root)
    people = {p.name: _images(p) for p in sorted(root.iterdir()) if p.is_dir()}
    people = {k: v for k, v in people.items() if v}
    if len(people) < minimum:
        raise ValueError(f"{root}: expected one folder of photos per person, found {len(people)}")
    return people


def face_splits(root: str | Path, seed: int = 0) -> dict[str, dict[str, list[Path]]]:
    """The people of ``root`` split 50/25/25 (seeded): split -> person -> photos."""
    people = read_people(root)
    return {s: {n: people[n] for n in names} for s, names in split_names(list(people), seed).items()}


def face_pairs(people: dict[str, list[Path]], seed: int = 0) -> tuple[list[Path], np.ndarray, np.ndarray, np.ndarray]:
    """Items and pair indices (i, j, label): every same-person pair, and as many distinct random
    different-person pairs drawn with ``seed``."""
    items, owner = [], []
    for k, (_, photos) in enumerate(sorted(people.items())):
        items += photos
        owner += [k] * len(photos)
    owner_a = np.asarray(owner)
    same = [(i, j) for i in range(len(items)) for j in range(i + 1, len(items)) if owner_a[i] == owner_a[j]]
    rng = np.random.default_rng(seed)
    diff: set[tuple[int, int]] = set()
    while len(diff) < len(same):
        i, j = (int(v) for v in rng.integers(len(items), size=2))
        if owner_a[i] != owner_a[j]:
            diff.add((min(i, j), max(i, j)))
    pairs = same + sorted(diff)
    i, j = (np.array(v) for v in zip(*pairs))
    y = np.r_[np.ones(len(same)), np.zeros(len(diff))].astype(np.float32)
    return items, i, j, y


def face_distances(embedder: Embedder, people: dict[str, list[Path]], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Distances and labels (1 = same person) of :func:`face_pairs`, each photo embedded once."""
    items, i, j, y = face_pairs(people, seed)
    emb = embedder.embed(items)
    return embedder.distances_from_embeddings(emb[i], emb[j]), y


# ------------------------------------------------------------------ signatures
def read_writers(root: str | Path, minimum: int = 8) -> dict[str, dict[str, list[Path]]]:
    """Writer -> {"genuine": files, "forged": files}, each sorted by signature number; at least ``minimum``
    writers."""
    root = Path(root)
    writers = {p.name: {k: _images(p / k) for k in ("genuine", "forged")} for p in sorted(root.iterdir())
               if (p / "genuine").is_dir() and (p / "forged").is_dir()}
    if len(writers) < minimum:
        raise ValueError(f"{root}: expected folders WRITER/genuine and WRITER/forged, found {len(writers)} writers")
    return writers


def signature_splits(root: str | Path, seed: int = 0) -> dict[str, dict[str, dict[str, list[Path]]]]:
    """The writers of ``root`` split 50/25/25 (seeded): split -> writer -> genuine / forged files."""
    writers = read_writers(root)
    return {s: {n: writers[n] for n in names} for s, names in split_names(list(writers), seed).items()}


def signature_scores(embedder: Embedder, writers: dict[str, dict[str, list[Path]]],
                     references: int = 5) -> dict[str, np.ndarray]:
    """Each non-reference genuine signature and each forgery against its writer's first ``references``
    genuine signatures: ``mean`` and ``min`` distance to them, ``centroid``: what
    ``SiameseModel.compare_to_references`` decides with (the distance to their mean embedding,
    ``siamese.reference_mean``, divided by ``siamese.references_scale`` where the model's ``info["references"]``
    has a spread prior), ``centroid_distance``: that distance undivided, ``spread``: the query's writer's
    ``siamese.reference_spread``, and ``labels`` (1 = genuine); and each single query-reference distance
    (``pair_distances``, query by query) with its label (``pair_labels``)."""
    from siamese_demo.siamese import reference_mean, reference_spread, references_scale

    fitted = (getattr(embedder, "info", None) or {}).get("references") or {}
    means, mins, centroids, scaled, spreads, labels, pairs, pair_labels = [], [], [], [], [], [], [], []
    for name in sorted(writers):
        genuine, forged = writers[name]["genuine"], writers[name]["forged"]
        refs, queries = genuine[:references], genuine[references:] + forged
        emb = embedder.embed(refs + queries)
        er, eq = emb[:len(refs)], emb[len(refs):]
        d = embedder.distances_from_embeddings(np.repeat(eq, len(refs), axis=0), np.tile(er, (len(eq), 1)))
        d = np.asarray(d).reshape(len(eq), len(refs))
        means.append(d.mean(1))
        mins.append(d.min(1))
        centre = reference_mean(er, bool(getattr(embedder, "normalize", False)))
        centroids.append(np.asarray(embedder.distances_from_embeddings(eq, np.tile(centre, (len(eq), 1)))))
        spread = reference_spread(er, embedder.distances_from_embeddings)
        spreads.append(np.full(len(eq), spread))
        scaled.append(centroids[-1] / references_scale(spread, fitted))
        labels.append(np.r_[np.ones(len(genuine) - len(refs)), np.zeros(len(forged))])
        pairs.append(d.reshape(-1))
        pair_labels.append(np.repeat(labels[-1], len(refs)))
    return {"mean": np.concatenate(means).astype(np.float32), "min": np.concatenate(mins).astype(np.float32),
            "centroid": np.concatenate(scaled).astype(np.float32),
            "centroid_distance": np.concatenate(centroids).astype(np.float32),
            "spread": np.concatenate(spreads).astype(np.float32),
            "labels": np.concatenate(labels).astype(np.float32),
            "pair_distances": np.concatenate(pairs).astype(np.float32),
            "pair_labels": np.concatenate(pair_labels).astype(np.float32)}
