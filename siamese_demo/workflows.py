"""Glue used by the CLI and the UI: read a dataset for a modality, evaluate a model on it."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from . import evaluate as ev
from .errors import DataError
from .pairs import PairSet, Samples, make_pairs
from .siamese import SiameseModel


def read_dataset(modality: str, path: str | Path) -> Samples | PairSet:
    from .data import read_image_dataset, read_series_dataset, read_text_dataset

    if modality == "image":
        return read_image_dataset(path)
    if modality == "text":
        return read_text_dataset(path)
    if modality == "timeseries":
        return read_series_dataset(path)
    raise ValueError(f"unknown modality {modality!r}")


def pair_distances(model: SiameseModel, data: Samples | PairSet, n_pairs: int = 1000,
                   seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Distances and labels for the pairs of ``data`` (balanced pairs when it is class-labelled)."""
    if isinstance(data, PairSet):
        ea, eb = model.embed(data.a), model.embed(data.b)
        return model.distances_from_embeddings(ea, eb), data.labels
    if data.labels is None:
        raise DataError("evaluation needs class labels or explicit pairs")
    emb = model.embed(data.items)
    i, j, y = make_pairs(data.label_ids(), n_pairs, seed)
    return model.distances_from_embeddings(emb[i], emb[j]), y


def evaluate_model(model: SiameseModel, data: Samples | PairSet, n_pairs: int = 1000, seed: int = 0,
                   threshold: float | None = None) -> dict[str, Any]:
    """AUC, EER and accuracy/precision/recall/F1 at the model's threshold (or ``threshold``)."""
    d, y = pair_distances(model, data, n_pairs, seed)
    graded = data.labels if isinstance(data, PairSet) and data.graded else None
    report = ev.pair_report(d, y, model.effective_threshold(threshold), graded=graded)
    report["pairs"] = int(len(y))
    return report
