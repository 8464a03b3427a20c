"""Several encoders of one input, trained apart (other seeds), read as one: a deep ensemble.

The embedding is the members' L2-normalised embeddings concatenated and divided by the square root of their
number, so it is unit length and its cosine similarity to another is the mean of the members' cosine
similarities. Members trained from different random starts make different mistakes, and the mean cancels part of
them (the face recipe: three members lift validation AUC from 0.882-0.895 alone to 0.908 together).

Input batch: whatever the members take (they share one preprocessor); output ``(B, sum of members' dims)``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn


@dataclass
class EnsembleConfig:
    members: list[dict[str, Any]] = field(default_factory=list)  # each an encoder dict ({"name": "cnn", ...})


class EnsembleEncoder(nn.Module):
    def __init__(self, config: EnsembleConfig, members: list[nn.Module] | None = None):
        """Members built from ``config``, or ``members`` themselves when given (``config`` then describes them)."""
        super().__init__()
        from . import encoder_from_dict

        if len(config.members) < 2:
            raise ValueError(f"an ensemble needs at least 2 members, got {len(config.members)}")
        if any(m.get("name") == "ensemble" for m in config.members):
            raise ValueError("an ensemble's members cannot be ensembles")
        self.members = nn.ModuleList(members if members is not None else
                                     [encoder_from_dict(m) for m in config.members])

    @classmethod
    def of(cls, encoders: list[nn.Module]) -> "EnsembleEncoder":
        """An ensemble holding these encoders themselves (their weights, not copies)."""
        from . import encoder_to_dict

        return cls(EnsembleConfig([encoder_to_dict(e) for e in encoders]), members=list(encoders))

    @property
    def config(self) -> EnsembleConfig:
        """Read from the members as they are now (a member's config may change in place)."""
        from . import encoder_to_dict

        return EnsembleConfig([encoder_to_dict(m) for m in self.members])

    @property
    def embedding_dim(self) -> int:
        return sum(m.embedding_dim for m in self.members)

    def early_blocks(self, k: int) -> list[nn.Module]:
        """Every member's input side up to its ``k``-th block (what fine-tuning may keep fixed)."""
        return [b for m in self.members for b in m.early_blocks(k)]

    @property
    def views(self) -> int:
        """Passes through a member per image outside training (see ``CNNEncoder.views``)."""
        return max(getattr(m, "views", 1) for m in self.members)

    def _joined(self, embeddings: list[torch.Tensor]) -> torch.Tensor:
        scale = 1.0 / math.sqrt(len(self.members))
        return torch.cat([nn.functional.normalize(e, dim=-1) * scale for e in embeddings], dim=-1)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self._joined([m(batch) for m in self.members])

    def one_view(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """Every member's :meth:`CNNEncoder.one_view`, joined as :meth:`forward` joins their embeddings."""
        return self._joined([m.one_view(batch) for m in self.members])
