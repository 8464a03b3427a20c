"""Distances between embeddings and the score convention.

Convention: a *distance* is lower for more similar pairs; a *score* is higher for more
similar pairs and lies in [0, 1]. Euclidean: ``d = ||a - b||``, score ``1 / (1 + d)``.
Cosine: ``d = 1 - cos(a, b)`` in [0, 2], score ``1 - d / 2``. A learned pair head
(binary cross-entropy): ``d = 1 - p(same)``, score ``p(same)``.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

DISTANCES = ("euclidean", "cosine")


def pair_distance(a: torch.Tensor, b: torch.Tensor, kind: str) -> torch.Tensor:
    """Row-wise distance between (B, D) and (B, D) -> (B,)."""
    if kind == "euclidean":
        # eps keeps the gradient finite when a == b
        return torch.sqrt(((a - b) ** 2).sum(-1) + 1e-12)
    if kind == "cosine":
        return 1.0 - F.cosine_similarity(a, b, dim=-1, eps=1e-8)
    raise ValueError(f"unknown distance {kind!r}; use one of {DISTANCES}")


def pairwise_distance(x: torch.Tensor, kind: str, y: torch.Tensor | None = None) -> torch.Tensor:
    """All distances between rows of (N, D) ``x`` and (M, D) ``y`` (default ``x``) -> (N, M)."""
    y = x if y is None else y
    if kind == "euclidean":
        sq = (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2.0 * x @ y.T
        return torch.sqrt(sq.clamp(min=0.0) + 1e-12)
    if kind == "cosine":
        return 1.0 - F.normalize(x, dim=1, eps=1e-8) @ F.normalize(y, dim=1, eps=1e-8).T
    raise ValueError(f"unknown distance {kind!r}; use one of {DISTANCES}")


def distance_range(kind: str) -> tuple[float, float]:
    """The values a distance (and so a threshold) of this kind can take."""
    return {"euclidean": (0.0, 1e6), "cosine": (0.0, 2.0), "head": (0.0, 1.0)}[kind]


def score_from_distance(d, kind: str):
    """Map distance(s) to the display score in [0, 1], higher = more similar."""
    d = np.asarray(d, dtype=np.float64)
    if kind == "euclidean":
        return 1.0 / (1.0 + np.maximum(d, 0.0))
    if kind == "cosine":
        return np.clip(1.0 - d / 2.0, 0.0, 1.0)
    if kind == "head":
        return np.clip(1.0 - d, 0.0, 1.0)
    raise ValueError(f"unknown distance {kind!r}")


def round_distance(x: float, digits: int = 4) -> float:
    """A distance or threshold rounded for a page, a report or a saved record: ``digits`` decimals, or
    ``digits`` significant digits below 0.1 (the signature model's texture distances are near 0.001: rounding
    them to 4 decimals would erase them). Anything under 1e-9 (float noise, a tiny negative cosine) is 0."""
    x = float(x)
    if not math.isfinite(x):
        return x
    if abs(x) < 1e-9:
        return 0.0
    return float(f"{x:.{digits}g}") if abs(x) < 0.1 else round(x, digits)


def round_distances(values, digits: int = 5) -> list[float]:
    """:func:`round_distance` of each value (a list, for JSON)."""
    return [round_distance(v, digits) for v in np.asarray(values, dtype=np.float64).ravel()]


def format_distance(x: float, digits: int = 3) -> str:
    """A distance or threshold in a sentence: ``digits`` decimals, or ``digits`` significant digits below 0.1;
    "0" under 1e-6 (never an exponent of float noise)."""
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    if abs(x) < 1e-6:
        return "0"
    return f"{x:.{digits}f}" if abs(x) >= 0.1 else f"{x:.{digits}g}"
