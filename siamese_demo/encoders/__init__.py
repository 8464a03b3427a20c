"""Encoder registry: a name -> (config dataclass, module class) table.

Every encoder maps a batch dict to ``(B, D)`` embeddings. Build one from a name and
keyword arguments (``build_encoder("cnn", embedding_dim=64)``) or from a serialized
config (``encoder_from_dict({"name": "lstm", ...})``); ``encoder_to_dict`` is the inverse.
"""
from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

from torch import nn

from .cnn import CNNConfig, CNNEncoder
from .ensemble import EnsembleConfig, EnsembleEncoder
from .lstm import LSTMConfig, LSTMEncoder
from .transformer import TransformerConfig, TransformerEncoder

REGISTRY: dict[str, tuple[type, type[nn.Module]]] = {
    "cnn": (CNNConfig, CNNEncoder),
    "lstm": (LSTMConfig, LSTMEncoder),
    "transformer": (TransformerConfig, TransformerEncoder),
    "ensemble": (EnsembleConfig, EnsembleEncoder),
}


def register(name: str, config_cls: type, encoder_cls: type[nn.Module]) -> None:
    """Add an encoder type under ``name`` (used by optional encoders such as the Hub wrapper)."""
    REGISTRY[name] = (config_cls, encoder_cls)


def make_config(name: str, **kwargs: Any):
    """Return the config dataclass for encoder ``name``; unknown keys raise ``ValueError``."""
    if name not in REGISTRY:
        raise ValueError(f"unknown encoder {name!r}; known: {sorted(REGISTRY)}")
    config_cls = REGISTRY[name][0]
    known = {f.name for f in fields(config_cls)}
    unknown = set(kwargs) - known
    if unknown:
        raise ValueError(f"encoder {name!r} has no option(s) {sorted(unknown)}; options: {sorted(known)}")
    return config_cls(**kwargs)


def build_encoder(name: str, config=None, **kwargs: Any) -> nn.Module:
    """Build encoder ``name`` from ``config`` or from keyword arguments."""
    if config is None:
        config = make_config(name, **kwargs)
    return REGISTRY[name][1](config)


def encoder_name(encoder: nn.Module) -> str:
    for name, (_, cls) in REGISTRY.items():
        if type(encoder) is cls:
            return name
    raise ValueError(f"{type(encoder).__name__} is not a registered encoder")


def encoder_to_dict(encoder: nn.Module) -> dict[str, Any]:
    return {"name": encoder_name(encoder), **asdict(encoder.config)}


def encoder_from_dict(data: dict[str, Any]) -> nn.Module:
    data = dict(data)
    name = data.pop("name")
    return build_encoder(name, **data)


__all__ = [
    "REGISTRY", "register", "make_config", "build_encoder", "encoder_name",
    "encoder_to_dict", "encoder_from_dict",
    "CNNConfig", "CNNEncoder", "EnsembleConfig", "EnsembleEncoder", "LSTMConfig", "LSTMEncoder", "TransformerConfig", "TransformerEncoder",
]
