"""The series benchmark's fine-tuning procedure (``ucr_series.finetuned``): choose the number of epochs on a
validation quarter, then train the base again on everything for that many epochs."""
import json

import numpy as np
from conftest import tiny_model

import siamese_demo as sd
from siamese_demo.recipes.ucr_series import finetuned


def _series(n_per_class=12, length=48, seed=0):
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 4 * np.pi, length, dtype=np.float32)
    items, labels = [], []
    for k in range(n_per_class):
        items.append((np.sin(t + rng.normal(0, 0.3)) + rng.normal(0, 0.1, length)).astype(np.float32)[:, None])
        items.append((np.sign(np.sin(t + rng.normal(0, 0.3))) + rng.normal(0, 0.1, length)).astype(np.float32)[:, None])
        labels += ["sine", "square"]
    return items, labels


def test_refit_trains_on_the_whole_set_for_the_chosen_number_of_epochs(tmp_path):
    model = tiny_model("timeseries")
    path = str(sd.save(model, tmp_path / "base"))
    items, labels = _series()
    short = dict(epochs=6, steps_per_epoch=3, early_stopping_patience=2, val_pairs=60)
    first = finetuned(path, items, labels, seconds=60, seed=0, refit=False, **short)
    rec = first.info["training"]
    assert rec["data"]["train"]["samples"] == 18 and rec["data"]["validation"]["samples"] == 6  # a stratified quarter
    again = finetuned(path, items, labels, seconds=60, seed=0, refit=True, **short)
    rec2 = again.info["training"]
    assert rec2["data"]["train"]["samples"] == 24
    assert rec2["config"]["epochs"] == max(1, rec["best_epoch"])
    assert rec2["config"]["early_stopping_patience"] == 0
    assert len(rec2["history"]) - 1 == rec2["config"]["epochs"]  # epoch 0 is the base model's evaluation
    # the base checkpoint itself is untouched
    assert json.loads((tmp_path / "base" / "config.json").read_text())["threshold"] == model.threshold
