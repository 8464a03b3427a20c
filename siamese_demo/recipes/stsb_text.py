"""Recipe: the shipped text encoders (a Transformer and a MaLSTM-style LSTM), trained from scratch.

    apt-get install wordnet-base     # WordNet 3.0 data, used for extra sentence pairs
    python -m siamese_demo.recipes.stsb_text --stsb ../shared/datasets/stsb --encoder transformer \
        --out models/text-transformer

Training: STS-B train (graded 0-5 -> [0, 1]) plus WordNet pairs (``wordnet_pairs``). Validation
(early stopping, LR schedule, threshold): STS-B dev. Test, reported only: STS-B test (Spearman of
cosine similarity), and ROC AUC on held-out WordNet paraphrase / unrelated pairs.
Loss: contrastive on cosine distance with graded labels, whose optimum is distance = margin * (1 - label).
"""
from __future__ import annotations

import argparse
import csv
import json
import time
from pathlib import Path

import numpy as np
import torch

import siamese_demo as sd
from siamese_demo import evaluate as ev
from siamese_demo.augment import AugmentConfig
from siamese_demo.preprocess import train_tokenizer
from siamese_demo.train import TrainConfig, fit, seed_everything

from .wordnet_pairs import build_pairs


def read_stsb(path: Path) -> sd.PairSet:
    a, b, y = [], [], []
    with open(path, encoding="utf-8") as f:
        for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE):
            if len(row) >= 7:
                a.append(row[5].strip())
                b.append(row[6].strip())
                y.append(float(row[4]) / 5.0)
    return sd.PairSet(a, b, np.array(y, dtype=np.float32), graded=True)


def tfidf_spearman(train_texts, test: sd.PairSet, analyzer: str, ngram) -> float:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(analyzer=analyzer, ngram_range=ngram, sublinear_tf=True).fit(train_texts)
    xa, xb = vec.transform(test.a), vec.transform(test.b)
    sims = np.asarray(xa.multiply(xb).sum(1)).ravel()
    return ev.spearman(sims, test.labels)


def build(encoder: str, tokenizer):
    pre = {"max_length": 64}
    if encoder == "transformer":
        opts = {"hidden_size": 192, "num_layers": 2, "num_heads": 4, "intermediate_size": 384,
                "embedding_dim": 192, "dropout": 0.1, "max_length": 64}
    else:
        opts = {"token_dim": 192, "hidden_size": 160, "num_layers": 1, "bidirectional": True,
                "embedding_dim": 192, "pooling": "mean"}
    return sd.build_model("text", encoder, opts, pre, distance="cosine", tokenizer=tokenizer)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--stsb", required=True, help="folder with sts-train.csv, sts-dev.csv, sts-test.csv")
    p.add_argument("--encoder", choices=["transformer", "lstm"], default="transformer")
    p.add_argument("--out", required=True)
    p.add_argument("--wordnet-pairs", type=int, default=16_000)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--time-budget", type=float, default=1200.0)
    p.add_argument("--vocab-size", type=int, default=8000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    seed_everything(args.seed)  # the model is initialised before fit() seeds again
    root = Path(args.stsb)
    train, dev, test = (read_stsb(root / f"sts-{s}.csv") for s in ("train", "dev", "test"))
    wn = build_pairs(seed=args.seed, max_pairs=int(args.wordnet_pairs * 1.12))
    n_hold = len(wn) // 10
    wn_test, wn_train = wn[:n_hold], wn[n_hold:]
    texts = train.a + train.b + [x for pr in wn_train for x in pr[:2]]
    tok = train_tokenizer(texts, vocab_size=args.vocab_size, min_frequency=2)
    model = build(args.encoder, tok)
    combined = sd.PairSet(train.a + [x[0] for x in wn_train], train.b + [x[1] for x in wn_train],
                          np.concatenate([train.labels, [x[2] for x in wn_train]]), graded=True)
    cfg = TrainConfig(loss="contrastive", margin=1.0, batch_size=64, epochs=args.epochs, steps_per_epoch=150,
                      lr=1e-3 if args.encoder == "transformer" else 2e-3, weight_decay=0.01, lr_patience=2,
                      early_stopping_patience=5, monitor="val_spearman", time_budget_s=args.time_budget, seed=args.seed,
                      augment=AugmentConfig(word_dropout=0.05, word_swap=0.0))
    t0 = time.time()
    res = fit(model, combined, dev, cfg,
              callbacks=[lambda e: e.kind == "epoch" and print(json.dumps(e.data), flush=True)])
    train_s = time.time() - t0
    d_test = model.distances_from_embeddings(model.embed(test.a), model.embed(test.b))
    wa, wb = [x[0] for x in wn_test if x[2] != 0.6], [x[1] for x in wn_test if x[2] != 0.6]
    wy = np.array([1.0 if x[2] > 0.5 else 0.0 for x in wn_test if x[2] != 0.6])
    d_wn = model.distances_from_embeddings(model.embed(wa), model.embed(wb))
    train_sentences = train.a + train.b
    metrics = {
        "stsb_test_spearman": ev.spearman(-d_test, test.labels),
        "stsb_test_spearman_tfidf_word": tfidf_spearman(train_sentences, test, "word", (1, 1)),
        "stsb_test_spearman_tfidf_char": tfidf_spearman(train_sentences, test, "char_wb", (3, 5)),
        "wordnet_heldout_paraphrase_auc": ev.roc_auc(d_wn, wy),
        "wordnet_heldout_pairs": int(len(wy)),
        "train_time_s": train_s, "stopped": res.stopped,
    }
    print(json.dumps(metrics, indent=2))
    model.info["test_metrics"] = metrics
    sd.save(model, args.out, name=Path(args.out).name, sentence_transformers=True, card={
        "description": f"A {args.encoder} sentence encoder trained from scratch here (tokenizer included); "
                       "cosine similarity of its embeddings tracks semantic similarity.",
        "license": "other",
        "training_data": ("STS benchmark train split (Cer et al. 2017; sentences from sources with mixed licences, "
                          "research use), and sentence pairs built from WordNet 3.0 (Princeton WordNet licence, "
                          "Debian package wordnet-base): usage examples with a synonym substituted, examples "
                          "with their definitions, and unrelated examples. Validation: STS-B dev. "
                          "Test: STS-B test (never used for training or tuning)."),
    })


if __name__ == "__main__":
    main()
