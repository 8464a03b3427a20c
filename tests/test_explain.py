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


def _viewing_ensemble() -> sd.SiameseModel:
    """Two small CNNs that embed an image as the mean over two crop widths and the mirror images (as the face
    model does), in one ensemble, on 24 px grey images."""
    from siamese_demo.encoders import EnsembleEncoder, build_encoder
    from siamese_demo.preprocess import ImagePreprocessor

    torch.manual_seed(0)
    members = [build_encoder("cnn", in_channels=1, depth=2, width=4, embedding_dim=8, flip_average=True,
                             view_crops=[0.75, 1.0], view_size=16) for _ in range(2)]
    return sd.SiameseModel(EnsembleEncoder.of(members).eval(), ImagePreprocessor(size=24, channels=1), "image",
                           "cosine", normalize=True).eval()


def test_one_view_embeds_the_first_crop_without_its_mirror_image():
    import copy

    from siamese_demo.explain import one_view_model

    model = _viewing_ensemble()
    x = torch.rand(3, 1, 24, 24)
    crop = torch.nn.functional.interpolate(x[..., 3:21, 3:21], size=(16, 16), mode="bicubic", antialias=True,
                                           align_corners=False)  # the centred 0.75 crop (18 px) resized to 16
    parts = []
    for m in model.encoder.members:
        plain = copy.deepcopy(m)
        plain.config.view_crops, plain.config.flip_average = None, False
        parts.append(torch.nn.functional.normalize(plain({"pixels": crop}), dim=-1) / np.sqrt(2))
    with torch.no_grad():
        got = one_view_model(model).encoder({"pixels": x})
    torch.testing.assert_close(got, torch.cat(parts, dim=-1), atol=1e-5, rtol=1e-4)
    assert model.encoder.views == 4  # two crop widths x the mirror image
    plain_model = sd.load(sd.MODELS_DIR / "omniglot-cnn")
    assert one_view_model(plain_model) is plain_model  # one view already: the model itself


def test_occlusion_of_a_viewing_model_is_one_view_comparisons_and_leaves_the_model_in_eval_mode(tmp_path):
    from PIL import Image

    from siamese_demo.explain import one_view_model

    model = _viewing_ensemble()
    rng = np.random.default_rng(1)
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    for p in (a, b):
        Image.fromarray((rng.random((24, 24)) * 255).astype(np.uint8)).save(p)
    heat_a, _, _, _ = image_occlusion(model, a, b, patch=8, stride=8)
    assert not model.training and not model.encoder.members[0].training
    one = one_view_model(model)
    xa, xb = (model.prepare([p])[0] for p in (a, b))
    dist = lambda x, y: float(one.distances_from_embeddings(*one.embed_tensors([x, y]).split(1)))  # noqa: E731
    base, fill = dist(xa, xb), float(xa.flatten().median())
    raw = np.zeros((24, 24))
    for r in range(0, 17, 8):
        for c in range(0, 17, 8):
            v = xa.clone()
            v[:, r:r + 8, c:c + 8] = fill
            raw[r:r + 8, c:c + 8] = max(dist(v, xb) - base, 0.0)
    np.testing.assert_allclose(heat_a, raw / raw.max() if raw.max() > 0 else raw, atol=1e-4)
