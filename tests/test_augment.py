"""Augmentations keep shapes, change values, and repeat under the same seed."""
import torch

from siamese_demo.augment import AugmentConfig, build_augmentation, time_warp


def _twice(fn, x, seed=0):
    torch.manual_seed(seed)
    a = fn(x)
    torch.manual_seed(seed)
    return a, fn(x)


def test_image_augmentation():
    aug = build_augmentation("image", AugmentConfig(), image_size=32)
    x = torch.zeros(1, 32, 32)
    x[:, 8:24, 14:18] = 1.0
    a, b = _twice(aug, x)
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, x)


def test_series_augmentation():
    aug = build_augmentation("timeseries", AugmentConfig(), 0)
    x = torch.sin(torch.linspace(0, 6, 50))[:, None].repeat(1, 2)
    a, b = _twice(aug, x)
    assert a.shape == x.shape and torch.equal(a, b) and not torch.allclose(a, x)


def test_time_warp_keeps_endpoints_and_monotone_ramp():
    x = torch.linspace(0, 1, 40)[:, None]
    torch.manual_seed(3)
    w = time_warp(x, 0.5)
    assert w[0, 0] == 0 and abs(float(w[-1, 0]) - 1) < 1e-6
    assert (w[1:] - w[:-1] >= -1e-7).all() and not torch.allclose(w, x)


def test_text_augmentation_drops_and_swaps_tokens():
    aug = build_augmentation("text", AugmentConfig(word_dropout=0.3, word_swap=0.3), 0)
    ids = torch.arange(5, 45)
    a, b = _twice(aug, ids)
    assert torch.equal(a, b) and len(a) < len(ids)
    assert set(a.tolist()) <= set(ids.tolist())


def test_disabled():
    assert build_augmentation("image", AugmentConfig(enabled=False)) is None
