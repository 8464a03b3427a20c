"""Which models a visitor may use: the shipped models of a tab's modality, the Hub allowlist (on a
Space), and the visitor's own fine-tuned models. Every endpoint that takes a model name checks it
here before anything touches the filesystem; any other name gets the same refusal."""
from __future__ import annotations

import functools
import json
import os
from typing import Any, Iterable

from .errors import DataError

MODALITIES = ("image", "text", "timeseries")
HUB_MODELS = {"image": ["hub:torchvision/resnet18"],
              "text": ["hub:sentence-transformers/all-MiniLM-L6-v2"], "timeseries": []}
NOT_OFFERED = "is not one of the models offered here"


def hub_enabled() -> bool:
    """Hub models are offered on a Space (SPACE_ID set) or when SIAMESE_DEMO_HUB=1."""
    return bool(os.environ.get("SPACE_ID")) or os.environ.get("SIAMESE_DEMO_HUB") == "1"


@functools.lru_cache(maxsize=1)
def shipped_configs() -> dict[str, dict[str, Any]]:
    """config.json of every shipped model (read once; no torch needed)."""
    import siamese_demo as sd

    return {name: json.loads((sd.MODELS_DIR / name / "config.json").read_text()) for name in sd.available_models()}


def shipped(modality: str) -> list[str]:
    """Shipped models of one modality, the tab's default first."""
    import siamese_demo as sd

    names = [n for n, c in shipped_configs().items() if c.get("modality") == modality]
    default = getattr(sd, "DEFAULT_MODELS", {}).get(modality)
    return sorted(names, key=lambda n: (n != default, n))


def offered(modality: str, own: Iterable[str] = ()) -> list[str]:
    """Every model name a visitor may use on a tab: shipped, Hub (when enabled), their own."""
    if modality not in MODALITIES:
        raise DataError(f"unknown data type {modality!r}; expected one of {', '.join(MODALITIES)}")
    return shipped(modality) + (HUB_MODELS[modality] if hub_enabled() else []) + list(own)


def check_offered(name: Any, modality: str, own: Iterable[str] = ()) -> str:
    """``name`` when it is offered on this modality's tab, else the one refusal for everything else."""
    if not isinstance(name, str) or not name:
        raise DataError("choose a model first")
    if name not in offered(modality, own):
        raise DataError(f"{name[:80]!r} {NOT_OFFERED}; choose one from the list")
    return name
