"""Synthetic time-series families for training encoders that generalise across datasets.

Each class is a random prototype (a sum of bumps, sines, steps and a trend); its members are
the prototype under smooth time warping, shifts, amplitude scaling, trends and noise.
"""
from __future__ import annotations

import numpy as np


def prototype(rng: np.random.Generator, length: int) -> np.ndarray:
    t = np.linspace(0, 1, length)
    x = np.zeros(length)
    for _ in range(rng.integers(1, 4)):
        kind = rng.integers(4)
        if kind == 0:  # gaussian bump
            x += rng.normal(0, 1.5) * np.exp(-((t - rng.uniform(0.1, 0.9)) ** 2) / (2 * rng.uniform(0.01, 0.15) ** 2))
        elif kind == 1:  # sine
            x += rng.normal(0, 1.0) * np.sin(2 * np.pi * (rng.uniform(0.5, 8) * t + rng.uniform()))
        elif kind == 2:  # step / plateau
            a, b = np.sort(rng.uniform(0, 1, 2))
            x += rng.normal(0, 1.0) * ((t > a) & (t < b))
        else:  # piecewise-linear random walk
            knots = rng.normal(0, 1, rng.integers(3, 10))
            x += np.interp(t, np.linspace(0, 1, len(knots)), knots)
    return x


def member(proto: np.ndarray, rng: np.random.Generator, length: int) -> np.ndarray:
    n = len(proto)
    src = np.linspace(0, 1, n)
    # smooth monotone warp
    speeds = np.clip(1 + 0.25 * rng.standard_normal(6), 0.3, None)
    pos = np.concatenate([[0], np.cumsum(np.interp(np.linspace(0, 1, n - 1), np.linspace(0, 1, 6), speeds))])
    pos = pos / pos[-1]
    shift = rng.uniform(-0.08, 0.08)
    x = np.interp(np.clip(pos + shift, 0, 1), src, proto)
    x = x * rng.uniform(0.7, 1.3) + rng.normal(0, 0.3)
    x = x + rng.normal(0, 0.15) * np.linspace(-1, 1, n)
    x = x + rng.normal(0, rng.uniform(0.02, 0.15), n)
    return np.interp(np.linspace(0, 1, length), src, x).astype(np.float32)


def make_classes(n_classes: int, per_class: int, seed: int, min_len: int = 60, max_len: int = 300):
    rng = np.random.default_rng(seed)
    items, labels = [], []
    for c in range(n_classes):
        base_len = int(rng.integers(min_len, max_len))
        proto = prototype(rng, base_len)
        for _ in range(per_class):
            length = int(base_len * rng.uniform(0.85, 1.15))
            items.append(member(proto, rng, length)[:, None])
            labels.append(f"syn{seed}-{c}")
    return items, labels
