"""Augmentations on per-item tensors, one set per modality.

Images (C, H, W): torchvision ``transforms.v2`` random affine (rotation, shift, scale),
random resized crop and colour jitter. Series (T, C): jitter, scaling, smooth time warp
and shift. Text (token ids): word dropout and adjacent-word swaps. All draw from torch's
global RNG, which the training engine seeds.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable

import torch


@dataclass
class AugmentConfig:
    enabled: bool = True
    # images
    rotation: float = 10.0          # degrees
    translate: float = 0.08         # fraction of the size
    crop_scale: float = 0.85        # smallest area kept by the random crop
    color_jitter: float = 0.0       # brightness / contrast strength (0: off; ink on paper gains nothing)
    # series
    jitter: float = 0.03            # noise std (series are z-scored)
    scaling: float = 0.1            # std of the per-channel scale factor
    warp: float = 0.2               # strength of the smooth time warp
    shift: float = 0.1              # largest circular shift, as a fraction of the length
    # text
    word_dropout: float = 0.1
    word_swap: float = 0.05

    def to_dict(self) -> dict:
        return asdict(self)


def image_augmentation(cfg: AugmentConfig, size: int, mean: float | list[float] = 0.0,
                       std: float | list[float] = 1.0) -> Callable[[torch.Tensor], torch.Tensor]:
    """Augment a normalised (C, H, W) image: undo ``mean``/``std`` (colour jitter works on [0, 1]
    pixels and clips to that range), augment, normalise again."""
    from torchvision.transforms import v2

    ops = v2.Compose([
        v2.RandomAffine(degrees=cfg.rotation, translate=(cfg.translate, cfg.translate), scale=(0.9, 1.1), shear=5),
        v2.RandomResizedCrop(size, scale=(cfg.crop_scale, 1.0), ratio=(0.9, 1.1), antialias=True),
        v2.ColorJitter(brightness=cfg.color_jitter, contrast=cfg.color_jitter),
    ])
    if mean == 0.0 and std == 1.0:
        return ops
    m = torch.as_tensor(mean, dtype=torch.float32).reshape(-1, 1, 1)
    s = torch.as_tensor(std, dtype=torch.float32).reshape(-1, 1, 1)

    def apply(x: torch.Tensor) -> torch.Tensor:
        return (ops(x * s + m) - m) / s

    return apply


def time_warp(x: torch.Tensor, strength: float, knots: int = 4) -> torch.Tensor:
    """Resample (T, C) along a smooth random monotone time axis."""
    t = x.shape[0]
    if t < 4 or strength <= 0:
        return x
    speeds = torch.clamp(1.0 + strength * torch.randn(knots + 1), min=0.2)
    speeds = torch.nn.functional.interpolate(speeds[None, None], size=t, mode="linear", align_corners=True)[0, 0]
    pos = torch.cumsum(speeds, 0)
    pos = (pos - pos[0]) / (pos[-1] - pos[0]) * (t - 1)
    lo = pos.floor().long().clamp(max=t - 2)
    frac = (pos - lo).unsqueeze(-1)
    return x[lo] * (1 - frac) + x[lo + 1] * frac


def series_augmentation(cfg: AugmentConfig) -> Callable[[torch.Tensor], torch.Tensor]:
    def apply(x: torch.Tensor) -> torch.Tensor:
        x = time_warp(x, cfg.warp)
        if cfg.shift > 0:
            k = int(torch.randint(-int(cfg.shift * x.shape[0]), int(cfg.shift * x.shape[0]) + 1, (1,)))
            x = torch.roll(x, k, dims=0)
        x = x * (1.0 + cfg.scaling * torch.randn(1, x.shape[1]))
        return x + cfg.jitter * torch.randn_like(x)

    return apply


def text_augmentation(cfg: AugmentConfig) -> Callable[[torch.Tensor], torch.Tensor]:
    def apply(ids: torch.Tensor) -> torch.Tensor:
        if len(ids) > 2 and cfg.word_dropout > 0:
            keep = torch.rand(len(ids)) >= cfg.word_dropout
            if keep.any():
                ids = ids[keep]
        if len(ids) > 1 and cfg.word_swap > 0:
            ids = ids.clone()
            for i in torch.nonzero(torch.rand(len(ids) - 1) < cfg.word_swap).flatten().tolist():
                ids[i], ids[i + 1] = ids[i + 1].clone(), ids[i].clone()
        return ids

    return apply


def build_augmentation(modality: str, cfg: AugmentConfig, image_size: int = 64,
                       image_mean: float | list[float] = 0.0, image_std: float | list[float] = 1.0):
    """The augmentation callable for a modality, or ``None`` when disabled (images: ``image_mean`` and
    ``image_std`` are the preprocessor's normalisation)."""
    if not cfg.enabled:
        return None
    if modality == "image":
        return image_augmentation(cfg, image_size, image_mean, image_std)
    if modality == "timeseries":
        return series_augmentation(cfg)
    if modality == "text":
        return text_augmentation(cfg)
    raise ValueError(f"unknown modality {modality!r}")
