"""Glue used by the CLI and the UI: read a dataset for a modality, evaluate a model on it."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from . import evaluate as ev
from .errors import DataError
from .pairs import PairSet, Samples, make_pairs
from .siamese import SiameseModel


SAMPLES_DIR = Path(__file__).resolve().parent.parent / "samples"
SAMPLE_DATASETS = {  # modality -> (file in samples/, what it is, licence); see samples/README.md
    "image": ("omniglot_korean.zip", "Omniglot Korean: 16 characters x 12 drawers (192 PNGs)",
              "MIT (Brenden Lake)"),
    "text": ("wordnet_topics.csv", "WordNet topics: 240 definitions from 12 semantic fields (text,label)",
             "WordNet 3.0 licence (Princeton)"),
    "timeseries": ("gunpoint.tsv", "GunPoint: 200 hand-movement series, 2 classes (UCR archive via aeon)",
                   "UCR archive, BSD-3 as shipped by aeon"),
}


def sample_path(modality: str) -> Path:
    return SAMPLES_DIR / SAMPLE_DATASETS[modality][0]


def read_dataset(modality: str, path: str | Path, limits=None) -> Samples | PairSet:
    from .data import read_image_dataset, read_series_dataset, read_text_dataset
    from .limits import limits as current_limits

    limits = limits or current_limits()
    if modality == "image":
        return read_image_dataset(path, limits)
    if modality == "text":
        return read_text_dataset(path, limits=limits)
    if modality == "timeseries":
        return read_series_dataset(path, limits=limits)
    raise ValueError(f"unknown modality {modality!r}")


SCRATCH = {  # small architectures for "from scratch" runs on a CPU
    ("image", "cnn"): ({"depth": 3, "width": 32, "embedding_dim": 64}, {"size": 48, "invert": "auto"}),
    ("text", "transformer"): ({"hidden_size": 64, "num_layers": 2, "num_heads": 4, "intermediate_size": 128,
                               "embedding_dim": 64}, {"max_length": 64}),
    ("text", "lstm"): ({"hidden_size": 64, "embedding_dim": 64}, {"max_length": 64}),
    ("timeseries", "lstm"): ({"hidden_size": 64, "embedding_dim": 64}, {"length": 128}),
    ("timeseries", "transformer"): ({"hidden_size": 64, "num_layers": 2, "num_heads": 4, "intermediate_size": 128,
                                     "patch_size": 8, "embedding_dim": 64}, {"length": 128}),
}


def scratch_model(modality: str, encoder: str, data: Samples | PairSet, distance: str = "euclidean",
                  seed: int = 0, plan_overrides: dict[str, Any] | None = None) -> SiameseModel:
    """A new, untrained model of a small size (text: tokenizer trained on the data's texts). Images: the
    input preparation fitted to them, with the visitor's ``plan_overrides`` (``inspect_data.image_input_plan``)."""
    from .factory import build_model

    if (modality, encoder) not in SCRATCH:
        raise DataError(f"no {encoder} encoder for {modality}; choose one of "
                        f"{[e for m, e in SCRATCH if m == modality]}")
    from .inspect_data import all_items, image_input_plan

    opts, prep = SCRATCH[(modality, encoder)]
    plan = None
    if modality == "image":  # the input preparation fitted to these images (siamese_demo.inspect_data)
        plan = image_input_plan(all_items(data), overrides=plan_overrides)
        prep = {**prep, **plan["preprocessing"]}
    texts = None
    if modality == "text":
        texts = all_items(data)
    from .rng import seeded

    with seeded(seed):  # the initial weights (under the lock: another visitor's run may be training)
        model = build_model(modality, encoder, dict(opts), dict(prep), distance=distance, normalize=True,
                            texts=texts, vocab_size=4000)
    if plan is not None:
        model.info["input_plan"] = plan
    return model


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
