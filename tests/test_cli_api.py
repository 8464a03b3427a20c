"""Public API surface, the CLI's JSON output, and the app starting without the network."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import siamese_demo as sd
import synthetic as syn
from siamese_demo.__main__ import main

ROOT = Path(__file__).resolve().parent.parent


def test_core_does_not_import_gradio():
    code = "import siamese_demo, siamese_demo.train, siamese_demo.data, sys; assert 'gradio' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_cli_compare_embed_evaluate(saved_series_model, tmp_path, capsys):
    f = tmp_path / "a.csv"
    f.write_text("\n".join(str(v) for v in np.sin(np.linspace(0, 6, 50))))
    assert main(["compare", "--model", str(saved_series_model), str(f), "1 2 3 4 5 4 3 2 1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"score", "distance", "threshold", "same", "confidence"} <= set(out) and out["threshold"] == 0.5
    assert main(["embed", "--model", str(saved_series_model), str(f), "1 2 3"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["shape"] == [2, 16]
    items, labels = syn.series_samples(4, 0)
    ucr = tmp_path / "d.tsv"
    ucr.write_text("\n".join("\t".join([lab] + [f"{v:.4f}" for v in x[:, 0]]) for x, lab in zip(items, labels)))
    assert main(["evaluate", "--model", str(saved_series_model), "--data", str(ucr), "--pairs", "50"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert 0 <= out["auc"] <= 1 and out["pairs"] == 50


def test_cli_reports_bad_input_as_json_error(saved_series_model, capsys):
    assert main(["compare", "--model", str(saved_series_model), "1 2 x", "1 2 3"]) == 2
    err = json.loads(capsys.readouterr().err)
    assert "not a number" in err["error"]
    assert main(["compare", "--model", "nope", "a", "b"]) == 2


def test_cli_runs_as_module(saved_series_model):
    out = subprocess.run([sys.executable, "-m", "siamese_demo", "compare", "--model", str(saved_series_model),
                          "1 2 3 4", "4 3 2 1"], check=True, capture_output=True, text=True, cwd=ROOT)
    assert "distance" in json.loads(out.stdout)


def test_app_serves_a_page():
    import urllib.request

    sys.path.insert(0, str(ROOT))
    import app

    _, url, _ = app.demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=None)
    try:
        assert urllib.request.urlopen(url, timeout=30).status == 200
    finally:
        app.demo.close()


def test_cli_train_writes_checkpoint_and_report(saved_series_model, tmp_path, capsys):
    items, labels = syn.series_samples(6, 0)
    ucr = tmp_path / "d.tsv"
    ucr.write_text("\n".join("\t".join([lab] + [f"{v:.4f}" for v in x[:, 0]]) for x, lab in zip(items, labels)))
    out = tmp_path / "tuned"
    assert main(["train", "--data", str(ucr), "--base", str(saved_series_model), "--out", str(out),
                 "--epochs", "2", "--loss", "triplet", "--batch-size", "16"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["split"] == "by sample" and {"auc", "accuracy"} <= set(summary["base"]) <= set(summary["finetuned"])
    report = json.loads((out / "report.json").read_text())
    assert report["finetuned"]["auc"] == summary["finetuned"]["auc"] and report["config"]["loss"] == "triplet"
    assert len(report["history"]) == 3 and report["seed"] == 0
    assert sd.load(out).embed([items[0]]).shape == (1, 16)
    assert (out / "run_record.json").exists() and "Fine-tuned from" in (out / "README.md").read_text()


def test_split_by_class_keeps_test_classes_unseen():
    from siamese_demo.finetune import split

    items, labels = syn.image_samples(4, 0)
    data = sd.Samples(items, labels)
    tr, va, te, mode = split(data, "by class", seed=0)
    assert mode == "by class" and len(tr) + len(va) + len(te) == len(data)
    assert not (set(tr.labels) & set(te.labels)) and not (set(tr.labels) & set(va.labels))


def test_cli_train_on_a_pairs_csv_with_default_settings(tmp_path, capsys):
    """text_a,text_b,label with no settings given (only two epochs, to be quick): the loss resolves to
    contrastive for pairs and the run completes with a report that says whether it beat its base."""
    import csv

    a, b, y = syn.text_pairs(120, 0)
    data = tmp_path / "pairs.csv"
    with data.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text_a", "text_b", "label"])
        w.writerows(zip(a, b, y))
    out = tmp_path / "tuned"
    assert main(["train", "--data", str(data), "--base", "text-transformer", "--out", str(out), "--epochs", "2"]) == 0
    summary = json.loads(capsys.readouterr().out)
    report = json.loads((out / "report.json").read_text())
    assert report["config"]["loss"] == "contrastive" and summary["outcome"] == report["outcome"]["text"]
    assert "'pairs.csv'" in (out / "README.md").read_text()  # the card names the data used
    # as in the tab, a shipped base keeps its own distance (the distance setting is for from-scratch models)
    assert json.loads((out / "config.json").read_text())["distance"] == sd.load("text-transformer").distance


def test_cli_compare_with_references_is_the_api_call(capsys):
    refs, query = ["A man is playing a guitar.", "A man plays the guitar."], "A cat sleeps on the couch."
    assert main(["compare", "--model", "text-transformer", query, "--references", *refs]) == 0
    got = json.loads(capsys.readouterr().out)
    want = sd.load(sd.MODELS_DIR / "text-transformer").compare_to_references(refs, query)
    assert got["references"] == 2 and got["distance"] == pytest.approx(want.distance, abs=1e-6)
    assert got["same"] == want.same
    with pytest.raises(SystemExit):
        main(["compare", "--model", "text-transformer", query, refs[0], "--references", *refs])
    with pytest.raises(SystemExit):
        main(["compare", "--model", "text-transformer", query])
