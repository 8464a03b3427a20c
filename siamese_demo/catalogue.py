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


HEADLINE_METRICS = (("stsb_test_spearman", "STS-B test Spearman"),
                    ("one_shot_20way_test", "20-way one-shot on held-out alphabets"),
                    ("mean_embedding_1nn", "zero-shot 1-NN accuracy on 6 held-out UCR sets"),
                    ("lfw_100_test_auc", "same-person AUC on held-out LFW people"),
                    ("svc2004_users13-40_test_auc", "genuine-vs-skilled-forgery AUC on held-out SVC2004 writers"),
                    ("faces_test_auc", "face verification AUC on held-out LFW people"))


def headline(name: str) -> str | None:
    """The shipped model's headline held-out figure, in words ("STS-B test Spearman 0.820")."""
    test = shipped_configs().get(name, {}).get("info", {}).get("test_metrics", {})
    for key, label in HEADLINE_METRICS:
        if isinstance(test.get(key), (int, float)):
            return f"{label} {test[key]:.3f}"
    return None


@functools.lru_cache(maxsize=None)
def domain(name: str) -> str:
    """What a shipped model is for: the first sentence of its card."""
    import re

    import siamese_demo as sd

    card = sd.MODELS_DIR / name / "README.md"
    if not card.is_file():
        return ""
    body = card.read_text().split("---", 2)[-1]
    para = next((ln.strip() for ln in body.splitlines() if ln.strip() and not ln.startswith("#")), "")
    first = re.split(r"(?<=[.!?])\s", para, maxsplit=1)[0]
    return first if len(first) <= 220 else first[:217] + "..."


def availability(name: str) -> tuple[bool, str]:
    """Whether a shipped model's weights can be had here (pinned pretrained sources are checked)."""
    cfg = shipped_configs().get(name, {})
    if cfg.get("preprocessing", {}).get("face_crop"):
        from .faces import available

        ok, why = available()
        if not ok:
            return False, f"it finds faces with OpenCV, and {why}"
    if "source" not in cfg.get("encoder", {}):
        return True, "shipped in models/"
    from .pretrained import availability as pinned

    import siamese_demo as sd

    return pinned(sd.MODELS_DIR / name)
