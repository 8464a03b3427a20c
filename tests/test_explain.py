"""Explanations against brute force: each contribution is the distance change of one variant,
measured here one comparison at a time through the public API (the code under test batches all
variants of both directions into one pass)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import siamese_demo as sd
from siamese_demo.explain import image_occlusion, series_contributions, word_contributions

EX = sd.MODELS_DIR.parent / "examples"


@pytest.fixture(scope="module")
def text_model():
    return sd.load(sd.MODELS_DIR / "text-transformer")


def test_word_contributions_equal_one_comparison_per_left_out_word(text_model):
    a, b = "A man is playing a guitar on stage.", "Someone plays the guitar."
    ca, cb = word_contributions(text_model, a, b)
    for text, other, contrib in ((a, b, ca), (b, a, cb)):
        words = text.split()
        base = text_model.compare(text, other).distance
        expected = [text_model.compare(" ".join(words[:i] + words[i + 1:]), other).distance - base
                    for i in range(len(words))]
        assert [w for w, _ in contrib] == words
        np.testing.assert_allclose([v for _, v in contrib], expected, atol=1e-4)


def test_series_contributions_equal_one_comparison_per_window():
    model = sd.load(sd.MODELS_DIR / "series-lstm")
    t = np.linspace(0, 6, 96)
    a, b = np.sin(t)[:, None], np.sin(t + 0.4)[:, None]
    ca, _ = series_contributions(model, a, b, windows=8)
    xa, xb = (model.prepare([s])[0] for s in (a, b))
    dist = lambda x, y: float(model.distances_from_embeddings(*model.embed_tensors([x, y]).split(1)))  # noqa: E731
    base, w = dist(xa, xb), xa.shape[0] // 8
    for s in range(0, xa.shape[0], w):
        e = min(xa.shape[0], s + w)
        v = xa.clone()
        lo, hi = v[max(s - 1, 0)], v[min(e, xa.shape[0] - 1)]
        v[s:e] = lo * (1 - torch.linspace(0, 1, e - s)[:, None]) + hi * torch.linspace(0, 1, e - s)[:, None]
        np.testing.assert_allclose(ca[s:e], dist(v, xb) - base, atol=1e-4)


def test_image_occlusion_equals_one_comparison_per_patch():
    model = sd.load(sd.MODELS_DIR / "omniglot-cnn")
    a, b = EX / "images" / "latin_c01_a.png", EX / "images" / "latin_c02_a.png"
    heat_a, _, _, _ = image_occlusion(model, a, b, patch=16, stride=16)
    xa, xb = (model.prepare([p])[0] for p in (a, b))
    dist = lambda x, y: float(model.distances_from_embeddings(*model.embed_tensors([x, y]).split(1)))  # noqa: E731
    base, fill, size = dist(xa, xb), float(xa.flatten().median()), xa.shape[-1]
    raw = np.zeros((size, size))
    for r in range(0, size - 15, 16):
        for c in range(0, size - 15, 16):
            v = xa.clone()
            v[:, r:r + 16, c:c + 16] = fill
            raw[r:r + 16, c:c + 16] = max(dist(v, xb) - base, 0.0)
    expected = raw / raw.max() if raw.max() > 0 else raw
    np.testing.assert_allclose(heat_a, expected, atol=1e-4)


@pytest.mark.parametrize("side, factor", [(48, 4), (100, 2), (191, 2), (192, 1), (384, 1)])
def test_heatmap_overlay_is_enlarged_only_when_small(side, factor):
    from siamese_demo.plots import HEATMAP_MIN_SIDE, heatmap_overlay

    assert HEATMAP_MIN_SIDE == 192  # the table above assumes it
    rng = np.random.default_rng(0)
    pixels, heat = rng.random((side, side)), rng.random((side, side))
    out = heatmap_overlay(pixels, heat)
    assert out.shape == (side * factor, side * factor, 3) and out.dtype == np.uint8
    small = out[::factor, ::factor]
    for i in range(factor):  # each input pixel became a factor x factor block of one colour
        for j in range(factor):
            assert np.array_equal(out[i::factor, j::factor], small)
    g = (pixels - pixels.min()) / (pixels.max() - pixels.min()) * 0.6  # red channel by hand at one pixel
    assert small[3, 5, 0] == int(np.clip(g[3, 5] + heat[3, 5] * 0.9, 0, 1) * 255)
