"""Fine-tuning core: splits, data summary (against brute-force counts), margin suggestion,
reports (same seed -> same numbers), NaN handling, the job runner and the visitor store,
and the CLI under torchrun with two processes."""
import copy
import itertools
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import siamese_demo as sd
import synthetic as syn
from conftest import tiny_model
from siamese_demo.errors import DataError
from siamese_demo.finetune import (choose_readout, default_config, finetune, prepare, report_markdown, set_readout,
                                   split, suggest_margin)
from siamese_demo.inspect_data import cross_split_duplicates, pair_counts, preview_pairs, summarize
from siamese_demo.jobs import CANCELLED, DONE, FAILED, QUEUED, RUNNING, JobRunner, VisitorStore
from siamese_demo.train import TrainConfig

ROOT = Path(__file__).resolve().parent.parent


def _series_data(n_per_class=10, seed=0):
    items, labels = syn.series_samples(n_per_class, seed)
    return sd.Samples(items, labels, [f"s{i}" for i in range(len(items))])


def _many_classes(n_classes=16, per=5):
    labels = [f"c{k}" for k in range(n_classes) for _ in range(per)]
    return sd.Samples(list(range(len(labels))), labels)


def test_split_modes():
    data = _many_classes()
    tr, va, te, mode = split(data, "auto", seed=3)
    assert mode == "by class"
    assert not set(tr.labels) & set(te.labels) and not set(va.labels) & set(te.labels)
    assert sorted(tr.items + va.items + te.items) == list(range(len(data)))
    few = _many_classes(6, 10)
    tr, va, te, mode = split(few, "auto", seed=3)
    assert mode == "by sample" and set(tr.labels) == set(va.labels) == set(te.labels) == set(few.labels)
    assert [len(tr), len(va), len(te)] == [36, 12, 12]  # stratified: 2 of 10 per class to each of val, test
    assert split(few, "by sample", seed=3)[0].items == tr.items  # seeded
    assert split(few, "by sample", seed=4)[0].items != tr.items
    with pytest.raises(DataError, match="too few to split by class"):
        split(_many_classes(4, 10), "by class")
    with pytest.raises(DataError, match="too few"):
        split(sd.Samples(list(range(6)), ["a", "b"] * 3), "by sample")


def test_pair_counts_match_brute_force():
    labels = ["a"] * 4 + ["b"] * 3 + ["c"] * 1
    data = sd.Samples(list(range(len(labels))), labels)
    pos = sum(labels[i] == labels[j] for i, j in itertools.combinations(range(len(labels)), 2))
    neg = sum(labels[i] != labels[j] for i, j in itertools.combinations(range(len(labels)), 2))
    trip = sum(labels[a] == labels[p] and labels[a] != labels[n]
               for a, p, n in itertools.permutations(range(len(labels)), 3))
    assert pair_counts(data) == {"positive_pairs": pos, "negative_pairs": neg, "triplets": trip}
    pairs = sd.PairSet(["x"] * 5, ["y"] * 5, [1, 0, 0, 1, 1])
    assert pair_counts(pairs) == {"positive_pairs": 3, "negative_pairs": 2, "triplets": 0}


def test_summary_finds_planted_duplicates_small_classes_and_imbalance():
    model = tiny_model("timeseries", "lstm")
    rng = np.random.default_rng(0)
    train_items = [rng.normal(size=(40, 1)).astype(np.float32) for _ in range(12)]
    train = sd.Samples(train_items, ["a"] * 10 + ["b"] + ["c"])
    copies = [train_items[0].copy(), train_items[1] * 2.0 + 1.0]  # identical; equal up to rounding after z-scoring
    val = sd.Samples(copies + [rng.normal(size=(40, 1)).astype(np.float32)], ["a", "a", "b"])
    test = sd.Samples([rng.normal(size=(40, 1)).astype(np.float32) for _ in range(3)], ["a", "b", "b"])
    parts = {"train": train, "validation": val, "test": test}
    dup = cross_split_duplicates(model, parts)
    assert dup["validation"] == {"exact": 1, "near": 2} and dup["test"] == {"exact": 0, "near": 0}
    s = summarize(model, parts, "by sample")
    assert s["classes_too_small"] == ["b", "c"] and s["imbalance_ratio"] == 10.0
    text = " ".join(s["warnings"])
    assert "single sample" in text and "imbalanced" in text and "duplicates" in text


def test_preview_pairs_follow_the_labels():
    data = _series_data(4)
    rows = preview_pairs(data, n=3)
    assert len(rows) == 6
    for r in rows:
        la, lb = r["a_name"].split("[")[1], r["b_name"].split("[")[1]
        assert (la == lb) == (r["label"] == 1.0)


def test_margin_suggestion_is_on_the_scale_of_the_base_distances():
    model = tiny_model("timeseries", "lstm")
    data = _series_data(6)
    assert suggest_margin(model, data, "contrastive", seed=0) is None  # random weights: no scale to follow
    model.info["training"] = {"config": {}}  # as a trained base records
    m = suggest_margin(model, data, "contrastive", seed=0)
    from siamese_demo.pairs import make_pairs

    emb = model.embed(data.items)
    i, j, y = make_pairs(data.label_ids(), 400, 0)
    d = np.array([np.linalg.norm(emb[a] - emb[b]) for a, b in zip(i, j)])  # brute force
    assert m == pytest.approx(np.quantile(d[y == 0], 0.75), rel=1e-3)
    t = suggest_margin(model, data, "triplet", seed=0)
    gap = 0.5 * (np.median(d[y == 0]) - np.median(d[y == 1]))
    assert t == pytest.approx(max(gap, 0.1 * np.median(d[y == 0])), rel=1e-3)
    assert suggest_margin(model, data, "bce") is None


def _tune(seed=0, **over):
    model = tiny_model("timeseries", "lstm")
    data = _series_data(10)
    cfg = default_config(model, data, epochs=4, batch_size=16, lr=5e-3, seed=seed, time_budget_s=None,
                         steps_per_epoch=5, **over)
    return model, finetune(model, data, cfg, split_mode="by sample")


def test_finetune_report_same_seed_same_numbers_and_base_untouched():
    model, r1 = _tune(0)
    before = copy.deepcopy(model.state_dict())
    _, r2 = _tune(0)
    _, r3 = _tune(1)
    keys = ("auc", "eer", "accuracy", "threshold")
    assert [r1.report["finetuned"][k] for k in keys] == [r2.report["finetuned"][k] for k in keys]
    assert r1.report["finetuned"]["distances"] == r2.report["finetuned"]["distances"]
    losses = lambda r: [h["val_loss"] for h in r.report["history"]]  # noqa: E731
    assert len(losses(r1)) > 5 and losses(r1) == losses(r2)  # several validations per epoch
    assert losses(r1) != losses(r3)  # another seed: another split and other batches
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    rep = r1.report
    assert {"roc", "distances"} <= set(rep["finetuned"]) and len(rep["hardest_pairs"]) == 10
    shown = [tuple(sorted((h["index_a"], h["index_b"]))) for h in rep["hardest_pairs"]]
    assert len(set(shown)) == 10  # each pair once
    far = [h["distance"] for h in rep["hardest_pairs"] if h["kind"].startswith("same")]
    assert far == sorted(far, reverse=True)
    assert len(rep["projection"]["finetuned"]["x"]) == len(r1.test)
    json.dumps(rep)  # the report is plain JSON


def test_series_lstm_takes_the_readout_with_the_best_leave_one_out_accuracy_on_its_training_split():
    from sklearn.model_selection import LeaveOneOut, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    model, res = _tune(0)
    rec = res.report["readout"]
    train = prepare(model, _series_data(10), "by sample", 0)[0]["train"]
    oracle = {}
    for readout in ("mean", "last"):
        embedded = set_readout(copy.deepcopy(model), readout).embed(train.items)
        oracle[readout] = cross_val_score(KNeighborsClassifier(n_neighbors=1), embedded, train.labels,
                                          cv=LeaveOneOut()).mean()
    assert rec["loo_1nn"] == pytest.approx(oracle, abs=1e-9) and list(rec["loo_1nn"]) == ["mean", "last"]
    assert rec["chosen"] == ("last" if oracle["last"] > oracle["mean"] else "mean")  # a tie keeps the base's
    assert res.model.encoder.config.pooling == rec["chosen"] and model.encoder.config.pooling == "mean"
    assert "LSTM readout" in report_markdown(res.report)
    cfg = default_config(model, _series_data(10), epochs=1, steps_per_epoch=1, time_budget_s=None)
    kept = finetune(model, _series_data(10), cfg, split_mode="by sample", readout="keep")
    assert "readout" not in kept.report and kept.model.encoder.config.pooling == "mean"
    assert choose_readout(tiny_model("timeseries", "transformer"), train) is None


def test_unlabelled_data_trains_and_is_assessed_on_augmented_views():
    model = tiny_model("timeseries", "lstm")
    items, _ = syn.series_samples(8, 0)
    data = sd.Samples(items, None, [f"s{i}" for i in range(len(items))])
    cfg = default_config(model, data, epochs=2, time_budget_s=None, batch_size=16, seed=0)
    res = finetune(model, data, cfg)
    rep = res.report
    assert rep["split"] == "by sample" and rep["data"]["kind"] == "unlabelled"
    n_test = len(res.test)
    # one same pair (item, its view) and one different pair per test item
    assert len(rep["finetuned"]["distances"]["positive"]) == n_test == len(rep["finetuned"]["distances"]["negative"])
    assert 0.0 <= rep["finetuned"]["auc"] <= 1.0 and "augmented view" in rep["hardest_pairs"][0]["b"]
    model.info["training"] = {"config": {}}
    assert suggest_margin(model, data, "contrastive") is not None


def test_text_pairs_fine_tune_and_report(texts):
    model = tiny_model("text", "transformer", texts=texts, distance="cosine")
    a, b, y = syn.text_pairs(80, 0)
    y = y * 0.8 + 0.1  # graded scores: Spearman is reported and monitored
    data = sd.PairSet(a, b, y, graded=True)
    cfg = default_config(model, data, epochs=2, time_budget_s=None, seed=0)
    assert cfg.loss == "contrastive" and cfg.monitor == "val_spearman"  # graded labels: a regression
    rep = finetune(model, data, cfg).report
    assert finetune(model, data, default_config(model, data, loss="cosent", epochs=1, time_budget_s=None,
                                                seed=0)).report["margin"] is None  # CoSENT has no margin
    assert rep["split"] == "by sample" and rep["data"]["kind"] == "pairs"
    assert "spearman" in rep["finetuned"] and "projection" not in rep
    assert rep["hardest_pairs"][0]["a"] in a
    binary = sd.PairSet(a, b, (y > 0.5).astype(np.float32))
    assert default_config(model, binary).loss == "contrastive"  # 0/1 pairs keep the contrastive loss


def test_nan_loss_stops_with_a_message():
    model = tiny_model("timeseries", "lstm")
    data = _series_data(10)
    cfg = TrainConfig(loss="contrastive", epochs=3, lr=1e30, grad_clip=None, optimizer="sgd", seed=0,
                      batch_size=16, time_budget_s=None)
    with pytest.raises(FloatingPointError, match="lower learning rate"):
        finetune(model, data, cfg, split_mode="by sample")


def test_bce_on_a_base_without_head_adds_one():
    model = tiny_model("timeseries", "lstm")
    data = _series_data(8)
    cfg = default_config(model, data, loss="bce", epochs=1, time_budget_s=None, batch_size=16)
    res = finetune(model, data, cfg, split_mode="by sample")
    assert res.model.head is not None and model.head is None


def test_job_runner_one_at_a_time_positions_cancel_and_failures():
    runner = JobRunner()
    gate, seen = threading.Event(), []

    def slow(job):
        seen.append(("start", job.id))
        while not gate.is_set() and not job.cancel.is_set():
            time.sleep(0.01)
        return "ok"

    a = runner.submit("alice", slow)
    b = runner.submit("bob", slow)
    c = runner.submit("carol", lambda job: 1 / 0)
    for _ in range(200):
        if a.state == RUNNING:
            break
        time.sleep(0.01)
    assert a.state == RUNNING and b.state == QUEUED and runner.position(b) == 2 and runner.position(c) == 3
    assert runner.get("bob", a.id) is None and runner.get("alice", a.id) is a
    with pytest.raises(DataError, match="already have"):
        runner.submit("alice", slow)
    assert runner.cancel("bob", b.id) and b.state == CANCELLED
    assert runner.position(c) == 2
    runner.cancel("alice", a.id)
    for _ in range(300):
        if c.state not in (QUEUED, RUNNING):
            break
        time.sleep(0.01)
    assert a.state == CANCELLED and a.result == "ok" and c.state == FAILED and "internal error" in c.message \
        and "ZeroDivisionError" not in c.message
    assert [s for s, _ in seen] == ["start"]  # bob never started
    d = runner.submit("alice", lambda job: 42)
    for _ in range(300):
        if d.state == DONE:
            break
        time.sleep(0.01)
    assert d.state == DONE and d.result == 42


def test_visitor_store_isolates_and_deletes(tmp_path):
    store = VisitorStore(ttl_s=3600, root=tmp_path)
    fa = store.folder("a")
    store.add_model("a", "yours: m", "model-a")
    assert store.model("a", "yours: m") == "model-a" and store.model("b", "yours: m") is None
    assert store.model_names("b") == []
    store.drop("a")
    assert not fa.exists() and store.model("a", "yours: m") is None
    store.ttl_s = 0
    fb = store.folder("b")
    time.sleep(0.01)
    store.folder("c")  # expires b
    assert not fb.exists() and len(store) == 1


@pytest.mark.skipif(shutil.which("torchrun") is None and not (Path(sys.executable).parent / "torchrun").exists(),
                    reason="torchrun not installed")
def test_cli_train_under_torchrun_two_processes(saved_series_model, tmp_path):
    items, labels = syn.series_samples(8, 0)
    ucr = tmp_path / "d.tsv"
    ucr.write_text("\n".join("\t".join([lab] + [f"{v:.4f}" for v in x[:, 0]]) for x, lab in zip(items, labels)))
    out = tmp_path / "ddp"
    torchrun = shutil.which("torchrun") or str(Path(sys.executable).parent / "torchrun")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([torchrun, "--standalone", "--nproc_per_node", "2", "-m", "siamese_demo", "train",
                           "--data", str(ucr), "--base", str(saved_series_model), "--out", str(out),
                           "--epochs", "2", "--batch-size", "8", "--loss", "triplet", "--device", "cpu"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summary = json.loads(proc.stdout[proc.stdout.index("{"):])
    assert summary["world_size"] == 2
    record = json.loads((out / "run_record.json").read_text())
    assert record["environment"]["world_size"] == 2
    assert sd.load(out).embed([items[0]]).shape == (1, 16)


def test_a_run_whose_base_stays_best_says_so_and_keeps_the_report_threshold(tmp_path):
    """A learning rate too small to move anything: the base scores best on validation (best epoch 0),
    and the report, the CLI summary and the card say so instead of "Finished" as if it improved."""
    from siamese_demo.finetune import write

    data = _series_data()
    base = tiny_model("timeseries")
    base.info["references"] = {"threshold": 0.4, "spread_prior": 0.01}  # fitted to these weights
    cfg = default_config(base, data, epochs=3, lr=1e-12, early_stopping_patience=0, seed=0)
    res = finetune(base, data, cfg, readout="keep", data_source="a test set")
    out = res.report["outcome"]
    assert res.report["best_epoch"] == 0 and out["kept_base"] and not out["improved"]
    # the weights are the base's, so the base's several-references fit still holds and is kept
    assert res.model.info["references"] == base.info["references"]
    assert res.model.info["references"] is not base.info["references"]
    assert out["text"].startswith("No improvement: the base model stayed best")
    assert report_markdown(res.report).startswith("**No improvement")
    # one threshold: the report's (chosen on validation) is the model's and the saved config's
    assert res.model.threshold == res.report["finetuned"]["threshold"]
    folder = write(res.model, res.report, tmp_path / "m")
    assert json.loads((folder / "config.json").read_text())["threshold"] == res.report["finetuned"]["threshold"]
    card = (folder / "README.md").read_text()
    assert "a test set" in card and "No improvement" in card


def test_refit_trains_again_on_training_and_validation_for_the_chosen_length():
    from siamese_demo.finetune import refit, union

    model = tiny_model("timeseries", "lstm")
    data = _series_data(10)
    cfg = default_config(model, data, epochs=3, time_budget_s=None, seed=0, lr=5e-3, early_stopping_patience=0)
    res = finetune(model, data, cfg, split_mode="by sample", readout="keep", refit_after=True)
    rep, tr, va = res.report, res.report["data"]["splits"]["train"], res.report["data"]["splits"]["validation"]
    assert rep["best_epoch"] == 3  # this run improves on validation: the model is the refit
    assert rep["refit"]["items"] == tr["samples"] + va["samples"] and rep["refit"]["epochs"] == 3
    assert res.model.info["training"]["data"]["train"]["samples"] == tr["samples"] + va["samples"]
    assert res.model.info["training"]["config"]["early_stopping_patience"] == 0
    assert "Refit: trained again" in report_markdown(rep) and "may be optimistic" in report_markdown(rep)
    assert res.model.threshold == pytest.approx(rep["finetuned"]["threshold"])
    assert res.model.info["finetune_report"]["refit"]["items"] == rep["refit"]["items"]
    # a run that does not beat its base is not refitted: the base is kept and the report says why
    still = finetune(model, data, default_config(model, data, epochs=2, time_budget_s=None, seed=0, lr=1e-12),
                     split_mode="by sample", readout="keep", refit_after=True).report
    assert still["best_epoch"] == 0 and "did not improve" in still["refit"]["skipped"]
    assert "Refit skipped" in report_markdown(still)
    # the length: whole epochs as chosen, or the chosen share of one epoch's steps
    both = union(sd.Samples(["a"] * 4, ["x", "y"] * 2), sd.Samples(["b"] * 4, ["x", "y"] * 2))
    assert len(both) == 8 and both.labels == ["x", "y"] * 4
    pairs = union(sd.PairSet(["a"], ["b"], np.array([1.0])), sd.PairSet(["c"], ["d"], np.array([0.0])))
    assert pairs.a == ["a", "c"] and list(pairs.labels) == [1.0, 0.0]
    train = _series_data(12)
    val = _series_data(4, seed=1)
    short = default_config(model, train, epochs=9, time_budget_s=None, seed=0, batch_size=16)
    part = refit(tiny_model("timeseries", "lstm"), train, val, short, 0.5)
    assert (part.record["config"]["epochs"], part.record["steps"]) == (1, 2)  # half of ceil(60 / 16) = 4 steps
    whole = refit(tiny_model("timeseries", "lstm"), train, val, short, 2.4)
    assert whole.record["config"]["epochs"] == 2 and whole.record["steps"] == 2 * 4


def test_unchanged_means_the_same_weights_distance_head_and_preprocessing():
    import copy

    import torch

    from siamese_demo.finetune import _unchanged

    base = tiny_model("timeseries")
    same = copy.deepcopy(base)
    assert _unchanged(same, base)
    moved = copy.deepcopy(base)
    with torch.no_grad():
        next(moved.parameters()).view(-1)[0] += 1e-6
    assert not _unchanged(moved, base)
    other = copy.deepcopy(base)
    other.distance = "cosine" if base.distance != "cosine" else "euclidean"
    assert not _unchanged(other, base)
