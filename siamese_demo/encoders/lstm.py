"""LSTM encoder for token ids (text) and float time series, with packed variable lengths.

Input batch, tokens: ``{"input_ids": (B, L) long, "attention_mask": (B, L)}``;
series: ``{"values": (B, T, C) float, "lengths": (B,) long}``. Output ``(B, embedding_dim)``.
With ``channel_independent`` a univariate encoder handles any channel count: each channel
is encoded on its own and the channel embeddings are averaged.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


POOLINGS = ("last", "mean", "max")  # "mean"/"max" over valid steps, "last": final hidden state(s)


@dataclass
class LSTMConfig:
    input_kind: str = "series"      # "series" or "tokens"
    in_channels: int = 1            # series: values per time step
    vocab_size: int = 0             # tokens: vocabulary size
    token_dim: int = 128            # tokens: token embedding size
    hidden_size: int = 128
    num_layers: int = 1
    bidirectional: bool = False
    pooling: str = "mean"           # "mean" or "max" over valid steps, or "last" (final hidden state)
    dropout: float = 0.0
    embedding_dim: int = 128
    channel_independent: bool = False  # series: encode channels separately, average embeddings


def masked_pool(out: torch.Tensor, lengths: torch.Tensor, how: str) -> torch.Tensor:
    """Pool ``out`` (B, T, H) over the first ``lengths[b]`` steps: "mean" or "max"."""
    steps = torch.arange(out.shape[1], device=out.device)[None, :]
    valid = (steps < lengths.to(out.device)[:, None]).unsqueeze(-1)
    if how == "mean":
        return (out * valid).sum(1) / valid.sum(1).clamp(min=1)
    if how == "max":
        return out.masked_fill(~valid, float("-inf")).max(1).values
    raise ValueError(f"unknown pooling {how!r}")


def per_channel(encode, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Run a univariate ``encode(values (N, T, 1), lengths (N,))`` on every channel of
    ``x`` (B, T, C) and average the channel embeddings -> (B, D)."""
    b, t, c = x.shape
    flat = x.permute(0, 2, 1).reshape(b * c, t, 1)
    emb = encode(flat, lengths.repeat_interleave(c))
    return emb.view(b, c, -1).mean(1)


def check_channels(x: torch.Tensor, expected: int) -> None:
    if x.shape[-1] != expected:
        raise ValueError(f"expected {expected} channel(s), got {x.shape[-1]}")


class LSTMEncoder(nn.Module):
    def __init__(self, config: LSTMConfig):
        super().__init__()
        if config.input_kind not in ("series", "tokens"):
            raise ValueError("input_kind must be 'series' or 'tokens'")
        if config.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}")
        self.config = config
        if config.input_kind == "tokens":
            if config.vocab_size < 2:
                raise ValueError("a token LSTM needs vocab_size >= 2")
            self.embed = nn.Embedding(config.vocab_size, config.token_dim, padding_idx=0)
            in_size = config.token_dim
        else:
            self.embed = None
            in_size = 1 if config.channel_independent else config.in_channels
        self.lstm = nn.LSTM(
            in_size, config.hidden_size, num_layers=config.num_layers, batch_first=True,
            bidirectional=config.bidirectional, dropout=config.dropout if config.num_layers > 1 else 0.0,
        )
        directions = 2 if config.bidirectional else 1
        self.head = nn.Linear(config.hidden_size * directions, config.embedding_dim)

    @property
    def embedding_dim(self) -> int:
        return self.config.embedding_dim

    def _encode(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        lengths = lengths.clamp(min=1).cpu()
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, (h, _) = self.lstm(packed)
        if self.config.pooling == "last":
            if self.config.bidirectional:
                pooled = torch.cat([h[-2], h[-1]], dim=-1)
            else:
                pooled = h[-1]
        else:
            out, _ = pad_packed_sequence(out, batch_first=True)
            pooled = masked_pool(out, lengths, self.config.pooling)
        return self.head(pooled)

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        if self.config.input_kind == "tokens":
            ids = batch["input_ids"]
            lengths = batch["attention_mask"].sum(1)
            return self._encode(self.embed(ids), lengths)
        x, lengths = batch["values"], batch["lengths"]
        if self.config.channel_independent:
            return per_channel(self._encode, x, lengths)
        check_channels(x, self.config.in_channels)
        return self._encode(x, lengths)
