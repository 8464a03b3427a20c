"""Fine-tune a model on a small dataset: split, evaluate the base, train, evaluate, save.

Used by the CLI (``python -m siamese_demo train``); the threshold of both the base and the
fine-tuned model is chosen on the validation split and both are reported on the same test split.
"""
from __future__ import annotations

import copy
import json
import threading
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from . import evaluate as ev
from .errors import DataError
from .pairs import PairSet, Samples
from .siamese import SiameseModel
from .train import Callback, TrainConfig, fit
from .workflows import pair_distances


def split(data: Samples | PairSet, val_frac: float = 0.2, test_frac: float = 0.2, seed: int = 0,
          min_classes_for_class_split: int = 6) -> tuple[Any, Any, Any, str]:
    """Train / validation / test. Class-labelled data with enough classes is split by class (test
    classes unseen, as in verification); otherwise by sample. Returns the three parts and the mode."""
    rng = np.random.default_rng(seed)
    if isinstance(data, Samples) and data.labels is not None:
        classes = sorted(set(map(str, data.labels)))
        if len(classes) >= min_classes_for_class_split:
            order = rng.permutation(len(classes))
            n_test = max(2, int(round(len(classes) * test_frac)))
            n_val = max(2, int(round(len(classes) * val_frac)))
            test_c = {classes[i] for i in order[:n_test]}
            val_c = {classes[i] for i in order[n_test: n_test + n_val]}
            parts = [[i for i, c in enumerate(map(str, data.labels)) if (c in test_c, c in val_c) == key]
                     for key in ((False, False), (False, True), (True, False))]
            return data.subset(parts[0]), data.subset(parts[1]), data.subset(parts[2]), "by class"
    n = len(data)
    if n < 10:
        raise DataError(f"{n} samples is too few to split into train, validation and test (need 10 or more)")
    order = rng.permutation(n)
    n_test, n_val = max(2, int(round(n * test_frac))), max(2, int(round(n * val_frac)))
    test, val, train = order[:n_test], order[n_test: n_test + n_val], order[n_test + n_val:]
    return data.subset(train.tolist()), data.subset(val.tolist()), data.subset(test.tolist()), "by sample"


def assess(model: SiameseModel, val, test, policy: str = "max_accuracy", n_pairs: int = 1000,
           seed: int = 0) -> dict[str, float]:
    """Threshold chosen on ``val``, metrics on ``test``."""
    dv, yv = pair_distances(model, val, n_pairs, seed + 11)
    dt, yt = pair_distances(model, test, n_pairs, seed + 12)
    thr = ev.choose_threshold(dv, yv, policy)
    graded = test.labels if isinstance(test, PairSet) and test.graded else None
    return ev.pair_report(dt, yt, thr, graded=graded)


def finetune(base: SiameseModel, data: Samples | PairSet, config: TrainConfig | None = None,
             callbacks: Sequence[Callback] = (), cancel: threading.Event | None = None,
             out: str | Path | None = None) -> tuple[SiameseModel, dict[str, Any]]:
    """Fine-tune a copy of ``base`` on ``data``; returns the model and a report (base vs fine-tuned
    on the same test split). With ``out`` the checkpoint and ``report.json`` are written there."""
    cfg = config or TrainConfig()
    from .data import check_trainable

    if isinstance(data, Samples):
        check_trainable(data)
    train, val, test, mode = split(data, seed=cfg.seed)
    model = copy.deepcopy(base)
    report: dict[str, Any] = {"split": mode, "data": {"train": train.summary(), "validation": val.summary(),
                                                      "test": test.summary()},
                              "base": assess(base, val, test, cfg.threshold_policy, seed=cfg.seed)}
    result = fit(model, train, val, cfg, callbacks, cancel)
    report["finetuned"] = assess(model, val, test, cfg.threshold_policy, seed=cfg.seed)
    report["stopped"], report["best_epoch"] = result.stopped, result.best_epoch
    model.info["finetune_report"] = report
    if out is not None:
        from .checkpoint import save

        save(model, out, name=Path(out).name)
        (Path(out) / "report.json").write_text(json.dumps(report, indent=2))
    return model, report
