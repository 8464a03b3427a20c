"""Why two inputs are similar: occlusion and leave-one-out attributions (pure torch / numpy).

Each function hides one part of one input at a time, re-measures the distance to the other
input, and reports how much the distance grows: a large increase means that part made the two
inputs look alike. Images: a sliding square patch (filled with the background). Text: one
word removed at a time. Series: a window of time steps replaced by a straight line.
"""
from __future__ import annotations

from typing import Any

import hashlib

import numpy as np
import torch

from .search import EmbeddingCache
from .siamese import SiameseModel


def _distance_groups(model: SiameseModel, groups: list[tuple[list[torch.Tensor], torch.Tensor]]) -> list[np.ndarray]:
    """For each (variants, other): the distance of every variant to ``other``, both directions of a
    pair batched together in even chunks of at most 48 (larger batches were slower for the CNN on
    2 cores; word colours for two short sentences went from 68 to about 35 ms)."""
    flat = [t for variants, other in groups for t in (*variants, other)]
    # each distinct input once (the two inputs of a pair appear in both directions)
    index, unique = [], {}
    for t in flat:
        key = (tuple(t.shape), t.numpy().tobytes())
        index.append(unique.setdefault(key, (len(unique), t))[0])
    tensors = [t for _, t in unique.values()]
    chunks = max(1, -(-len(tensors) // 48))
    emb = model.embed_tensors(tensors, batch_size=-(-len(tensors) // chunks))[torch.tensor(index)]
    out, i = [], 0
    for variants, _ in groups:
        n = len(variants)
        out.append(model.distances_from_embeddings(emb[i: i + n], emb[i + n: i + n + 1].repeat(n, 1)))
        i += n + 1
    return out


class _OneView(torch.nn.Module):
    """An encoder read through its ``one_view`` (the same weights, not a copy)."""

    def __init__(self, encoder: torch.nn.Module):
        super().__init__()
        self.inner = encoder
        self.embedding_dim = encoder.embedding_dim

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.inner.one_view(batch)


def one_view_model(model: SiameseModel) -> SiameseModel:
    """``model`` itself, or where its encoder averages several views of an image (the face model: three crop
    widths and the mirror image, six passes per image) a model sharing its weights that embeds the first view
    alone: what :func:`image_occlusion` re-measures, six times faster (the face ensemble's pair: 7.5 s ->
    1.4 s, benchmarks/explanations.py), at the cost of explaining that view rather than the mean of all six."""
    if getattr(model.encoder, "views", 1) <= 1 or model.head is not None:
        return model
    one = SiameseModel(_OneView(model.encoder), model.preprocessor, model.modality, model.distance,
                       normalize=model.normalize, threshold=model.threshold, info=model.info)
    return one.train(model.training)  # embedding restores the mode it found: the shared encoder's own


def image_occlusion(model: SiameseModel, a: Any, b: Any, patch: int | None = None, stride: int | None = None):
    """Heatmaps (H, W) in [0, 1] for both images (as the model sees them): how much hiding each
    region increases the distance, measured by :func:`one_view_model`. Returns
    ``(heat_a, heat_b, pixels_a, pixels_b)``."""
    ta, tb = model.prepare([a])[0], model.prepare([b])[0]
    size = ta.shape[-1]
    # a 5 x 5 grid of overlapping patches, a quarter of the side each: 25 occlusions per image (a
    # 6 x 6 grid of abutting patches took 36, a third more time, for a blockier map)
    patch = patch or max(4, size // 4)
    stride = stride or max(1, (size - patch) // 4)
    groups, all_boxes = [], []
    for x, y in ((ta, tb), (tb, ta)):
        fill = x.flatten(1).median(dim=1).values[:, None, None]  # the background value
        variants, boxes = [x], []
        for r in range(0, size - patch + 1, stride):
            for c in range(0, size - patch + 1, stride):
                v = x.clone()
                v[:, r: r + patch, c: c + patch] = fill
                variants.append(v)
                boxes.append((r, c))
        groups.append((variants, y))
        all_boxes.append(boxes)
    heats = []
    for d, boxes in zip(_distance_groups(one_view_model(model), groups), all_boxes):
        base = float(d[0])
        heat = np.zeros((size, size))
        count = np.zeros((size, size))
        for (r, c), di in zip(boxes, d[1:]):
            heat[r: r + patch, c: c + patch] += max(di - base, 0.0)
            count[r: r + patch, c: c + patch] += 1
        heat = heat / np.maximum(count, 1)
        heats.append(heat / heat.max() if heat.max() > 0 else heat)
    undo = getattr(model.preprocessor, "denormalize", lambda t: t)  # pixels as seen, before normalisation
    pix = [undo(t).mean(0).numpy() for t in (ta, tb)]
    return heats[0], heats[1], pix[0], pix[1]


def series_contributions(model: SiameseModel, a: Any, b: Any, windows: int = 16) -> tuple[np.ndarray, np.ndarray]:
    """Per-time-step contribution (as the model sees the series): increase in distance when a
    window around the step is replaced by a straight line between its ends."""
    out = []
    ta, tb = model.prepare([a])[0], model.prepare([b])[0]
    groups, all_spans = [], []
    for x, y in ((ta, tb), (tb, ta)):
        t = x.shape[0]
        w = max(2, t // windows)
        variants, spans = [x], []
        for s in range(0, t, w):
            e = min(t, s + w)
            v = x.clone()
            lo, hi = v[max(s - 1, 0)], v[min(e, t - 1)]
            frac = torch.linspace(0, 1, e - s)[:, None]
            v[s:e] = lo * (1 - frac) + hi * frac
            variants.append(v)
            spans.append((s, e))
        groups.append((variants, y))
        all_spans.append((t, spans))
    for d, (t, spans) in zip(_distance_groups(model, groups), all_spans):
        contrib = np.zeros(t)
        for (s, e), di in zip(spans, d[1:]):
            contrib[s:e] = di - float(d[0])
        out.append(contrib)
    return out[0], out[1]


EXPLAINED_WORDS = 64  # words coloured per text: each is one more forward pass of the whole text


def word_contributions(model: SiameseModel, a: str, b: str, max_words: int | None = None
                       ) -> tuple[list[tuple[str, float | None]], list[tuple[str, float | None]]]:
    """Per-word contribution for each text, on whole words in their original case: the increase in
    distance when the word is removed from the text (positive = the word makes the texts look alike).
    Only the first ``max_words`` words (default: the model's token budget, at most
    ``EXPLAINED_WORDS``) are varied; later words get ``None``. Each text is cut after the words the
    model can read (every word is at least one token), so a long text costs no more than a short one."""
    import re

    budget = int(getattr(model.preprocessor, "max_length", EXPLAINED_WORDS))
    cap = max_words or min(budget, EXPLAINED_WORDS)
    groups, word_lists = [], []
    for x, y in ((a, b), (b, a)):
        words = re.findall(r"\S+", x)
        seen = " ".join(words[: budget + 1])  # all the model reads, even with one word removed
        n = min(len(words), cap) if len(words) > 1 else 0
        variants = [" ".join(words[:i] + words[i + 1: budget + 1]) for i in range(n)]
        other = " ".join(re.findall(r"\S+", y)[: budget + 1])
        tx, ty = model.prepare([seen, other], ["text", "other text"])
        groups.append(([tx, *model.prepare(variants)], ty))
        word_lists.append((words, n))
    out = []
    for d, (words, n) in zip(_distance_groups(model, groups), word_lists):
        base = float(d[0])
        out.append([(w, float(d[1 + i] - base) if i < n else None) for i, w in enumerate(words)])
    return out[0], out[1]


# Explanations are dozens of forward passes; the same pair with the same model (an example clicked by
# many visitors, a threshold moved, a page reloaded) gives the same answer, so the last 256 are kept:
# bounded, locked, keyed by the model's identity and state and the inputs' content.
EXPLANATIONS = EmbeddingCache(max_entries=256)


def cached_call(model: SiameseModel, a: Any, b: Any, tag: str, compute):
    """``compute()`` for the pair (a, b) and ``model``, from the cache when the same model has done
    the same ``tag`` for the same pair before (raw strings are part of the key)."""
    raw = hashlib.blake2b("\x1f".join(x for x in (a, b) if isinstance(x, str)).encode("utf-8", "replace"),
                          digest_size=16).hexdigest()
    tensors = model.prepare([a, b], ["first input", "second input"])
    return EXPLANATIONS.cached(model, tensors, compute, tag=f"{tag}:{raw}")


def cached_explanation(fn, model: SiameseModel, a: Any, b: Any):
    """``fn(model, a, b)`` (image_occlusion, word_contributions, series_contributions), from the cache
    when the same model has explained the same pair before."""
    return cached_call(model, a, b, fn.__name__, lambda: fn(model, a, b))
