"""Losses for Siamese training. Label convention: 1 = same / similar, 0 = different.

- :class:`ContrastiveLoss` (Hadsell, Chopra & LeCun 2006): ``y * d^2 / 2 + (1 - y) * max(0, m - d)^2 / 2``;
  ``y`` may be graded in [0, 1].
- :class:`TripletLoss`: ``max(0, d(a, p) - d(a, n) + m)`` over (anchor, positive, negative) triplets.
- :class:`PairBCELoss`: binary cross-entropy on the logits of a learned pair head.
- :class:`CoSENTLoss` (Su 2022; sentence-transformers' ``CoSENTLoss``): a ranking loss for graded pairs,
  ``log(1 + sum over pairs (i, j) with y_i > y_j of exp(s * (d_i - d_j)))``: every pair rated more similar
  than another should be closer. It only asks for the right order, so it fits relatedness scores whose scale
  a distance need not copy. With a cosine distance it equals sentence-transformers' CoSENTLoss (tested).
- :class:`CosFaceLoss` (Wang et al. 2018, large-margin cosine loss): softmax over the classes of the
  training set with one learned direction per class, ``s * (cos(e, w_y) - m)`` for the true class and
  ``s * cos(e, w_j)`` for the others. Used by the face and signature recipes: with a few hundred photos of
  a few dozen people it learns identity faster and more stably than pairs or triplets. The fine-tuning
  engine offers it for class-labelled data (``loss="cosface"``; the class directions are trained with it
  and dropped after training: only the encoder is kept).
"""
from __future__ import annotations

import torch
from torch import nn

from .distances import pair_distance


class ContrastiveLoss(nn.Module):
    def __init__(self, margin: float = 1.0):
        super().__init__()
        self.margin = margin

    def forward(self, distances: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """distances (B,), labels (B,) in [0, 1] -> scalar mean loss."""
        labels = labels.to(distances.dtype)
        pos = labels * distances.pow(2)
        neg = (1.0 - labels) * torch.clamp(self.margin - distances, min=0.0).pow(2)
        return 0.5 * (pos + neg).mean()


class TripletLoss(nn.Module):
    def __init__(self, margin: float = 0.2, distance: str = "euclidean"):
        super().__init__()
        self.margin = margin
        self.distance = distance

    def forward(self, anchor: torch.Tensor, positive: torch.Tensor, negative: torch.Tensor) -> torch.Tensor:
        """Three (T, D) tensors -> scalar mean loss over the T triplets."""
        d_ap = pair_distance(anchor, positive, self.distance)
        d_an = pair_distance(anchor, negative, self.distance)
        return torch.clamp(d_ap - d_an + self.margin, min=0.0).mean()


class PairBCELoss(nn.Module):
    def __init__(self):
        super().__init__()
        self.bce = nn.BCEWithLogitsLoss()

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.bce(logits, labels.to(logits.dtype))


class PairHead(nn.Module):
    """Learned pair classifier over ``[|a - b|, a * b]`` -> one logit per pair (symmetric in a, b)."""

    def __init__(self, embedding_dim: int, hidden: int = 64):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(2 * embedding_dim, hidden), nn.ReLU(), nn.Linear(hidden, 1))

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([(a - b).abs(), a * b], dim=-1)).squeeze(-1)


class CoSENTLoss(nn.Module):
    def __init__(self, scale: float = 20.0):
        super().__init__()
        self.scale = scale

    def forward(self, distances: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """distances (B,), labels (B,) graded or binary -> scalar loss (0-dimensional)."""
        d = (distances.float() if distances.dtype in (torch.float16, torch.bfloat16) else distances) * self.scale
        labels = labels.to(d.dtype)
        # term [i, j] for every i rated more similar than j: exp(s * (d_i - d_j)) should be small
        diff = d[:, None] - d[None, :]
        diff = diff.masked_fill(~(labels[:, None] > labels[None, :]), float("-inf"))
        return torch.logsumexp(torch.cat([d.new_zeros(1), diff.reshape(-1)]), dim=0)


LOSSES = ("contrastive", "triplet", "bce", "cosent", "cosface")
CLASS_LOSSES = ("triplet", "cosface")  # the losses that need class labels


class CosFaceLoss(nn.Module):
    """Large-margin cosine softmax over ``num_classes`` learned class directions."""

    def __init__(self, num_classes: int, embedding_dim: int, scale: float = 16.0, margin: float = 0.2):
        super().__init__()
        self.scale, self.margin = scale, margin
        self.weight = nn.Parameter(torch.randn(num_classes, embedding_dim) * 0.01)

    def forward(self, embeddings: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """(B, D) embeddings (normalised here), (B,) class indices -> scalar mean loss."""
        cos = nn.functional.normalize(embeddings, dim=-1) @ nn.functional.normalize(self.weight, dim=-1).T
        cos = cos - self.margin * nn.functional.one_hot(labels, cos.shape[1]).to(cos.dtype)
        return nn.functional.cross_entropy(self.scale * cos, labels)
