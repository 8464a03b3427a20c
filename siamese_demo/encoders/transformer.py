"""Transformer encoder for token ids (a BERT stack from ``transformers``) and time series.

Tokens: ``{"input_ids": (B, L), "attention_mask": (B, L)}`` -> BERT layers -> masked mean
pooling -> optional projection. Series: ``{"values": (B, T, C), "lengths": (B,)}`` -> patches of
``patch_size`` steps -> linear patch embedding + sinusoidal positions -> ``nn.TransformerEncoder``
-> masked mean pooling -> projection. Output ``(B, embedding_dim)``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from .lstm import check_channels, masked_pool, per_channel


@dataclass
class TransformerConfig:
    input_kind: str = "tokens"     # "tokens" or "series"
    vocab_size: int = 0            # tokens
    max_length: int = 128          # tokens: positions; series: maximum patches
    hidden_size: int = 128
    num_layers: int = 2
    num_heads: int = 4
    intermediate_size: int = 256
    dropout: float = 0.1
    embedding_dim: int = 128
    in_channels: int = 1           # series
    patch_size: int = 8            # series: time steps per token
    channel_independent: bool = False  # series: encode channels separately, average embeddings


def sinusoidal_positions(n: int, dim: int) -> torch.Tensor:
    pos = torch.arange(n, dtype=torch.float32)[:, None]
    div = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    pe = torch.zeros(n, dim)
    pe[:, 0::2] = torch.sin(pos * div)
    pe[:, 1::2] = torch.cos(pos * div[: dim // 2])
    return pe


class TransformerEncoder(nn.Module):
    def __init__(self, config: TransformerConfig):
        super().__init__()
        if config.input_kind not in ("series", "tokens"):
            raise ValueError("input_kind must be 'series' or 'tokens'")
        self.config = config
        if config.input_kind == "tokens":
            from transformers import BertConfig, BertModel

            if config.vocab_size < 2:
                raise ValueError("a token Transformer needs vocab_size >= 2")
            bert_config = BertConfig(
                vocab_size=config.vocab_size, hidden_size=config.hidden_size,
                num_hidden_layers=config.num_layers, num_attention_heads=config.num_heads,
                intermediate_size=config.intermediate_size, max_position_embeddings=config.max_length,
                hidden_dropout_prob=config.dropout, attention_probs_dropout_prob=config.dropout,
                type_vocab_size=1, pad_token_id=0,
            )
            self.bert = BertModel(bert_config, add_pooling_layer=False)
        else:
            channels = 1 if config.channel_independent else config.in_channels
            self.patch = nn.Linear(config.patch_size * channels, config.hidden_size)
            self.register_buffer(
                "positions", sinusoidal_positions(config.max_length, config.hidden_size), persistent=False
            )
            layer = nn.TransformerEncoderLayer(
                config.hidden_size, config.num_heads, config.intermediate_size, config.dropout,
                batch_first=True, norm_first=True,
            )
            self.layers = nn.TransformerEncoder(layer, config.num_layers, enable_nested_tensor=False)
            self.norm = nn.LayerNorm(config.hidden_size)
        self.head = nn.Linear(config.hidden_size, config.embedding_dim)

    @property
    def embedding_dim(self) -> int:
        return self.config.embedding_dim

    def _encode_series(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        b, t, c = x.shape
        p = self.config.patch_size
        n = max(1, math.ceil(t / p))
        if n > self.config.max_length:
            raise ValueError(f"series of {t} steps needs {n} patches; this encoder takes at most "
                             f"{self.config.max_length} (x{p} steps)")
        x = nn.functional.pad(x, (0, 0, 0, n * p - t))
        tokens = self.patch(x.reshape(b, n, p * c)) + self.positions[:n]
        n_valid = torch.div(lengths.to(x.device) + p - 1, p, rounding_mode="floor").clamp(min=1)
        pad_mask = torch.arange(n, device=x.device)[None, :] >= n_valid[:, None]
        out = self.norm(self.layers(tokens, src_key_padding_mask=pad_mask))
        return self.head(masked_pool(out, n_valid, "mean"))

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        if self.config.input_kind == "tokens":
            mask = batch["attention_mask"]
            out = self.bert(input_ids=batch["input_ids"], attention_mask=mask).last_hidden_state
            return self.head(masked_pool(out, mask.sum(1), "mean"))
        x, lengths = batch["values"], batch["lengths"]
        if self.config.channel_independent:
            return per_channel(self._encode_series, x, lengths)
        check_channels(x, self.config.in_channels)
        return self._encode_series(x, lengths)
