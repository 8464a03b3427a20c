"""Import, once and from one thread, the modules that plotting, metrics and training import lazily.

Two threads importing the same package tree at once can raise ``_DeadlockError`` on Python's
module locks (seen as plotly's narwhals import racing the training thread's first
``sklearn.metrics`` import). The app calls :func:`import_lazy_modules` before it serves anyone.
"""
from __future__ import annotations

import importlib

LAZY_MODULES = (
    "narwhals", "narwhals.stable.v1", "narwhals.stable.v2", "plotly", "plotly.graph_objects", "plotly.express",
    "plotly.subplots", "plotly.io", "scipy.stats", "scipy.optimize", "sklearn", "sklearn.metrics",
    "sklearn.linear_model", "sklearn.decomposition", "sklearn.model_selection", "sklearn.neighbors",
    "torchvision", "torchvision.transforms.v2", "timm", "tokenizers", "safetensors.torch", "pandas",
    "siamese_demo.plots", "siamese_demo.evaluate", "siamese_demo.train", "siamese_demo.finetune",
    "siamese_demo.augment", "siamese_demo.explain", "siamese_demo.card", "siamese_demo.checkpoint",
    "cv2", "siamese_demo.faces",
    # the text encoders: the model warm-up thread loads text-minilm while a visitor's first run may build a
    # BERT (a from-scratch text Transformer); both importing transformers at once raised ImportError
    "transformers", "transformers.models.bert.configuration_bert", "transformers.models.bert.modeling_bert",
    "sentence_transformers",
)


def import_lazy_modules(names: tuple[str, ...] = LAZY_MODULES) -> list[str]:
    """Import each module (those not installed are skipped); returns the ones imported."""
    done = []
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError:
            continue
        done.append(name)
    return done


def exercise_plots() -> None:
    """Build and serialise one small figure of each kind: plotly imports its figure classes and
    JSON encoders lazily on first use, so that first use happens here, before anyone is served."""
    import numpy as np

    from . import plots

    hist = [{"epoch": 1, "train_loss": 1.0, "val_loss": 1.0, "val_auc": 0.5, "val_spearman": 0.1, "lr": 1e-3}]
    figs = [plots.training_curves(hist, [{"kind": "lr_drop", "epoch": 1}]),
            plots.roc_curves({"base": {"fpr": [0, 1], "tpr": [0, 1], "auc": 0.5}}),
            plots.distance_histograms({"base": {"distances": {"positive": [0.1], "negative": [0.9]},
                                                "threshold": 0.5}}),
            plots.projection({"base": {"x": [0.0], "y": [0.0], "label": ["a"]}}),
            plots.distance_on_distributions([0.1, 0.2], [0.8, 0.9], 0.3, 0.5, "euclidean"),
            plots.series_pair(np.zeros((4, 1), np.float32), np.ones((4, 1), np.float32))]
    for fig in figs:
        fig.to_json()
    plots.heatmap_overlay(np.zeros((4, 4), np.float32), np.zeros((4, 4)))
