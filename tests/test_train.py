"""The training engine: learning on each modality, callbacks, determinism, stopping rules."""
import threading
import time

import pytest

import siamese_demo as sd
import synthetic as syn
from conftest import tiny_model
from siamese_demo.errors import DataError
from siamese_demo.train import PER_EPOCH, TrainConfig, fit


def _data(modality):
    if modality == "image":
        it, lt = syn.image_samples(8, 0)
        iv, lv = syn.image_samples(5, 1)
        return sd.Samples(it, lt), sd.Samples(iv, lv)
    if modality == "timeseries":
        it, lt = syn.series_samples(8, 0)
        iv, lv = syn.series_samples(5, 1)
        return sd.Samples(it, lt), sd.Samples(iv, lv)
    a, b, y = syn.text_pairs(160, 0)
    va, vb, vy = syn.text_pairs(80, 1)
    return sd.PairSet(a, b, y), sd.PairSet(va, vb, vy)


RUNS = [("image", "cnn", "contrastive"), ("timeseries", "lstm", "triplet"),
        ("timeseries", "transformer", "contrastive"), ("text", "transformer", "contrastive"),
        ("text", "lstm", "bce"), ("image", "cnn", "cosface")]


def _run(modality, encoder, loss, texts, **cfg):
    train, val = _data(modality)
    model = tiny_model(modality, encoder, texts=texts, head=loss == "bce",
                       **({"distance": "cosine"} if modality == "text" else {}))
    events = []
    config = TrainConfig(**PER_EPOCH, loss=loss, epochs=cfg.pop("epochs", 4), batch_size=24, lr=cfg.pop("lr", 5e-3),
                         val_pairs=300, early_stopping_patience=0, seed=cfg.pop("seed", 0),
                         steps_per_epoch=cfg.pop("steps_per_epoch", 6), **cfg)
    return fit(model, train, val, config, callbacks=[events.append]), events


@pytest.mark.parametrize("modality,encoder,loss", RUNS)
def test_training_improves_validation(modality, encoder, loss, texts):
    res, events = _run(modality, encoder, loss, texts)
    first, best = res.history[0], res.history[res.best_epoch]
    assert best["val_loss"] < first["val_loss"]
    assert max(h["val_auc"] for h in res.history[1:]) > first["val_auc"]
    kinds = [e.kind for e in events]
    assert kinds[0] == "start" and kinds[-1] == "end" and "step" in kinds
    epochs = [e.data for e in events if e.kind == "epoch"]
    assert [e["epoch"] for e in epochs] == list(range(len(res.history)))
    assert all({"train_loss", "val_loss", "val_auc", "lr"} <= set(e) for e in epochs)
    # the threshold is chosen on validation and saved with the model
    assert res.model.threshold is not None and res.model.info["threshold_policy"] == "max_accuracy"
    rec = res.record
    assert rec["seed"] == 0 and rec["config"]["loss"] == loss and rec["history"] == res.history
    assert rec["data"]["train"] and rec["data"]["validation"]


def test_same_seed_same_numbers(texts):
    r1, _ = _run("timeseries", "lstm", "contrastive", texts, epochs=2)
    r2, _ = _run("timeseries", "lstm", "contrastive", texts, epochs=2)
    strip = lambda h: [{k: v for k, v in row.items() if k != "time_s"} for row in h]  # noqa: E731
    assert strip(r1.history) == strip(r2.history)
    assert r1.model.threshold == r2.model.threshold
    r3, _ = _run("timeseries", "lstm", "contrastive", texts, epochs=2, seed=1)
    assert strip(r3.history) != strip(r1.history)


def test_cancel_from_another_thread_keeps_best_model(texts):
    cancel = threading.Event()
    train, val = _data("image")
    model = tiny_model("image")
    seen = []

    def cb(ev):
        seen.append(ev.kind)
        if ev.kind == "step" and ev.step == 2:
            threading.Thread(target=cancel.set).start()

    res = fit(model, train, val, TrainConfig(**PER_EPOCH, epochs=50, batch_size=24, val_pairs=100), [cb], cancel)
    assert res.stopped == "cancelled" and "cancelled" in seen
    assert len(res.history) < 10 and res.model.threshold is not None  # far fewer than the 50 epochs asked for


def test_early_stopping_and_lr_drops(texts):
    # a learning rate this small cannot improve the validation loss: both rules must fire
    # (ReduceLROnPlateau ignores changes under 1e-8, hence 1e-7 for the LR-drop run)
    res, events = _run("timeseries", "lstm", "contrastive", texts, epochs=6, lr=1e-7,
                       lr_patience=0, lr_factor=0.5, min_lr=0.0)
    kinds = [e.kind for e in events]
    assert "lr_drop" in kinds
    res2, events2 = _run("timeseries", "lstm", "contrastive", texts, epochs=8, lr=1e-12)
    assert res2.stopped == "completed"  # patience 0 disables early stopping
    train, val = _data("timeseries")
    model = tiny_model("timeseries")
    got = []
    res3 = fit(model, train, val, TrainConfig(**PER_EPOCH, epochs=20, lr=1e-12, early_stopping_patience=2, val_pairs=100,
                                              batch_size=24), [got.append])
    assert res3.stopped == "early_stop" and len(res3.history) <= 4
    assert any(e.kind == "early_stop" for e in got)


def test_restores_best_weights(texts):
    res, _ = _run("image", "cnn", "contrastive", texts, epochs=5, lr=0.05)
    best = min(h["val_loss"] for h in res.history)
    assert res.record["final_validation"]["loss"] == pytest.approx(best, rel=1e-4, abs=1e-6)


def test_time_budget(texts):
    res, events = _run("image", "cnn", "contrastive", texts, epochs=50, time_budget_s=0.0)
    assert res.stopped == "time_budget"


def test_unlabelled_self_supervised_training():
    items, _ = syn.series_samples(6, 0)
    val_items, _ = syn.series_samples(3, 1)
    model = tiny_model("timeseries")
    res = fit(model, sd.Samples(items), sd.Samples(val_items),
              TrainConfig(**PER_EPOCH, loss="triplet", mining="hard", epochs=3, batch_size=16, lr=5e-3))
    assert res.record["data"]["train"]["labelled"] is False
    assert res.history[res.best_epoch]["val_loss"] <= res.history[0]["val_loss"]


@pytest.mark.parametrize("loss", ["triplet", "cosface"])
def test_class_losses_need_labels(texts, loss):
    train, val = _data("text")
    with pytest.raises(DataError, match=f"{loss} loss needs class labels"):
        fit(tiny_model("text", texts=texts), train, val, TrainConfig(**PER_EPOCH, loss=loss))


def test_cosface_keeps_only_the_encoder_and_its_class_directions_learn():
    train, val = _data("image")
    model = tiny_model("image", "cnn")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    res = fit(model, train, val, TrainConfig(**PER_EPOCH, loss="cosface", epochs=2, batch_size=24, lr=5e-3,
                                             steps_per_epoch=4, val_pairs=200, early_stopping_patience=0, seed=0))
    assert set(res.model.state_dict()) == set(before)  # no class directions in the saved model
    assert res.record["margin"] == 0.2 and res.history[-1]["train_loss"] > 0


def test_bce_needs_head():
    train, val = _data("image")
    with pytest.raises(ValueError, match="head"):
        fit(tiny_model("image"), train, val, TrainConfig(**PER_EPOCH, loss="bce"))


def test_monitor_auc_restores_best_auc_epoch(texts):
    res, _ = _run("image", "cnn", "contrastive", texts, epochs=4, lr=0.05, monitor="val_auc")
    best = max(h["val_auc"] for h in res.history)
    assert res.history[res.best_epoch]["val_auc"] == best
    assert res.record["final_validation"]["auc"] == pytest.approx(best, abs=1e-9)


def test_default_schedule_validates_within_epochs_and_waits_before_stopping_early(texts):
    """The fine-tune schedule: up to 4 validations per epoch, patience counted in validations, and no
    early stop before half the time budget and 8 validations, even when nothing improves."""
    train, val = _data("timeseries")
    model = tiny_model("timeseries")
    cfg = TrainConfig(epochs=6, batch_size=8, lr=1e-12, early_stopping_patience=1, time_budget_s=None,
                      val_pairs=100)
    res = fit(model, train, val, cfg)
    per_epoch = min(4, -(-len(train) // 8))
    positions = [h["epoch"] for h in res.history]
    assert len(positions) == 1 + 6 * per_epoch or res.stopped == "early_stop"
    assert positions == sorted(positions) and any(not float(p).is_integer() for p in positions[1:])
    assert res.stopped == "early_stop" and len(res.history) - 1 == cfg.min_evals  # waited for 8 validations
    budget = TrainConfig(epochs=200, batch_size=8, lr=1e-12, early_stopping_patience=1, time_budget_s=3.0,
                         val_pairs=100)
    t = time.perf_counter()
    res2 = fit(tiny_model("timeseries"), train, val, budget)
    took = time.perf_counter() - t
    assert res2.history[-1]["time_s"] >= 0.5 * 3.0  # not before half the budget
    assert res2.stopped in ("early_stop", "time_budget") and took < 3.0 * 1.5


def test_warmup_climbs_linearly_to_the_rate():
    train, val = _data("image")
    events = []
    fit(tiny_model("image", "cnn"), train, val,
        TrainConfig(**PER_EPOCH, loss="contrastive", epochs=1, steps_per_epoch=6, batch_size=24, lr=0.02,
                    warmup_steps=4, val_pairs=100, early_stopping_patience=0, seed=0), callbacks=[events.append])
    lrs = [e.data["lr"] for e in events if e.kind == "step"]
    assert lrs == pytest.approx([0.005, 0.01, 0.015, 0.02, 0.02, 0.02])


def test_text_pairs_are_batched_by_length_each_pair_once_per_epoch(texts):
    """Pairs of token ids are grouped by length (little padding per batch), each pair still once per epoch."""
    import numpy as np

    from siamese_demo.augment import AugmentConfig
    from siamese_demo.train import _Data

    a, b, y = syn.text_pairs(100, 0)
    cut = lambda s, k: " ".join(s.split()[: 2 + k % 9])  # noqa: E731 - sentences of 2 to 10 words
    train = sd.PairSet([cut(s, k) for k, s in enumerate(a)], [cut(s, 3 * k) for k, s in enumerate(b)], y)
    val = _data("text")[1]
    model = tiny_model("text", texts=texts, distance="cosine")
    cfg = TrainConfig(loss="contrastive", batch_size=8, augment=AugmentConfig(enabled=False), seed=0)
    data = _Data(model, train, val, cfg)
    lengths = data.pair_lengths
    assert lengths is not None and lengths.min() < lengths.max()
    seen, padded = [], 0
    for items, _ in data.batches(np.random.default_rng(0)):
        half = len(items) // 2
        idx = [next(k for k in range(len(data.ta)) if data.ta[k] is items[i] and data.tb[k] is items[half + i])
               for i in range(half)]
        seen += idx
        padded += len(idx) * max(lengths[idx])
    assert sorted(seen) == list(range(len(train)))  # every pair exactly once
    # a plain shuffle pads to the longest of 8 random pairs: grouping pads less
    order = np.random.default_rng(1).permutation(len(train))
    shuffled = sum(len(b) * lengths[b].max() for b in np.split(order, range(8, len(train), 8)))
    assert padded < shuffled


def test_embedding_in_length_order_gives_each_item_its_own_embedding(texts):
    """embed_tensors sorts by length to pad less; each output row is still the embedding of its own item,
    as embedding the items one by one (no padding at all) gives."""
    import torch

    model = tiny_model("text", texts=texts, distance="cosine")
    items = ["a b", "the longest sentence of all of these here", "c", "a medium sized one", "x y z"] * 3
    tensors = model.prepare(items)
    together = model.embed_tensors(tensors, batch_size=4)
    alone = torch.cat([model.embed_tensors([t]) for t in tensors])
    assert torch.allclose(together, alone, atol=1e-5)


def test_frozen_blocks_stay_fixed_and_train_again_afterwards():
    """frozen_blocks=1: the small CNN's first block keeps its weights (no gradient reaches it), the rest
    learns, and afterwards every parameter can train again."""
    import torch

    train, val = _data("image")
    model = tiny_model("image", "cnn")
    first = [p.detach().clone() for p in model.encoder.early_blocks(1)[0].parameters()]
    later = [p.detach().clone() for p in model.encoder.features[1].parameters()]
    fit(model, train, val, TrainConfig(**PER_EPOCH, loss="contrastive", epochs=1, steps_per_epoch=3, batch_size=24,
                                       lr=0.02, val_pairs=100, early_stopping_patience=0, frozen_blocks=1, seed=0))
    assert all(torch.equal(a, b) for a, b in zip(first, model.encoder.early_blocks(1)[0].parameters()))
    assert not all(torch.equal(a, b) for a, b in zip(later, model.encoder.features[1].parameters()))
    assert all(p.requires_grad for p in model.parameters())


def test_frozen_blocks_on_an_encoder_without_blocks_is_a_clear_error(texts):
    train, val = _data("timeseries")
    with pytest.raises(DataError, match="no blocks to freeze"):
        fit(tiny_model("timeseries"), train, val, TrainConfig(epochs=1, frozen_blocks=2))
