"""The series benchmark's fine-tuning procedure (``ucr_series.finetuned``): choose the LSTM readout by
leave-one-out 1-NN of the base model, the number of epochs on a validation quarter, then train the base
again on everything for that many epochs."""
import json

import numpy as np
import pytest
from conftest import tiny_model

import siamese_demo as sd
from siamese_demo.finetune import set_readout
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


@pytest.mark.parametrize("data_seed", [0, 2])  # 0: mean pooling wins outright (1.0 vs 0.92), 2: a tie (1.0)
def test_readout_is_chosen_by_leave_one_out_accuracy_of_the_base_model(tmp_path, data_seed):
    from sklearn.model_selection import LeaveOneOut, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    path = str(sd.save(tiny_model("timeseries"), tmp_path / "base"))
    items, labels = _series(seed=data_seed)
    short = dict(epochs=2, steps_per_epoch=2, early_stopping_patience=2, val_pairs=60)
    model = finetuned(path, items, labels, seconds=60, seed=0, refit=True, **short)
    rec = model.info["finetune_procedure"]
    oracle = {}
    for readout in ("mean", "last"):
        base = set_readout(sd.load(path), readout)
        oracle[readout] = cross_val_score(KNeighborsClassifier(n_neighbors=1), base.embed(items), labels,
                                          cv=LeaveOneOut()).mean()
        assert abs(rec["candidates"][readout]["loo_1nn"] - oracle[readout]) < 1e-9
    expected = "last" if oracle["last"] > oracle["mean"] else "mean"  # ties keep the shipped mean pooling
    assert rec["readout"] == expected == model.encoder.config.pooling
    assert "best_epoch" in rec["candidates"][expected] and "best_epoch" not in rec["candidates"][
        "mean" if expected == "last" else "last"]  # only the chosen readout is fine-tuned


def test_readout_chosen_on_the_validation_quarter(tmp_path):
    from sklearn.model_selection import train_test_split
    from sklearn.neighbors import KNeighborsClassifier

    path = str(sd.save(tiny_model("timeseries"), tmp_path / "base"))
    items, labels = _series(seed=1)
    short = dict(epochs=4, steps_per_epoch=3, early_stopping_patience=2, val_pairs=60)
    model = finetuned(path, items, labels, seconds=60, seed=3, refit=False, select="validation", **short)
    rec = model.info["finetune_procedure"]
    assert set(rec["candidates"]) == {"mean", "last"} and rec["validation_items"] == 6
    best = max(rec["candidates"].values(), key=lambda c: (c["val_1nn"], -c["val_loss"]))
    assert rec["candidates"][rec["readout"]] == best
    assert model.encoder.config.pooling == rec["readout"]
    # the recorded validation accuracy of the returned (chosen) model, recomputed with sklearn on the same split
    fit_idx, val_idx = train_test_split(np.arange(len(items)), test_size=0.25, random_state=3, stratify=labels)
    knn = KNeighborsClassifier(n_neighbors=1).fit(model.embed([items[i] for i in fit_idx]),
                                                  [labels[i] for i in fit_idx])
    acc = knn.score(model.embed([items[i] for i in val_idx]), [labels[i] for i in val_idx])
    assert abs(acc - best["val_1nn"]) < 1e-9
    # the readout is part of the saved model
    again = sd.load(sd.save(model, tmp_path / "tuned"))
    assert again.encoder.config.pooling == rec["readout"]
    np.testing.assert_allclose(again.embed(items[:3]), model.embed(items[:3]), atol=1e-6)


def test_only_lstm_encoders_change_readout(tmp_path):
    with pytest.raises(ValueError, match="only LSTM"):
        set_readout(tiny_model("timeseries", "transformer"), "last")
    assert set_readout(tiny_model("timeseries", "lstm"), "last").encoder.config.pooling == "last"
