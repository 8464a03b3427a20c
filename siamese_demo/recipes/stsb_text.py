"""Recipe: the shipped text encoders (a Transformer and a MaLSTM-style LSTM), trained from scratch.

    apt-get install wordnet-base dict-gcide sword-text-kjv sword-text-web libsword-utils
    python -m siamese_demo.recipes.stsb_text --stsb ../shared/datasets/stsb --encoder transformer \
        --out models/text-transformer --vocab-size 8000 --pretrain-steps 3000 --pretrain-batch 1024 \
        --pretrain-lr 2e-3 --bible auto --lr 1.5e-4 --device cuda --threads 4

Stage 1 (``--pretrain-steps``): term -> definition pairs from GCIDE and WordNet (``dictionary_pairs``),
with ``--bible`` also KJV/WEB verse paraphrases (``bible_pairs``), in-batch InfoNCE, a fixed number of
steps (``--stage1 DIR`` keeps it for reuse). Stage 2, training:
STS-B train (graded 0-5 -> [0, 1]) plus WordNet pairs (``wordnet_pairs``). Validation
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
from siamese_demo import distributed as dist_
from siamese_demo import evaluate as ev
from siamese_demo.augment import AugmentConfig
from siamese_demo.preprocess import train_tokenizer
from siamese_demo.train import PER_EPOCH, TrainConfig, fit, seed_everything

from . import bible_pairs, dictionary_pairs
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


def wordnet_split(seed: int = 0, n_pairs: int = 16_000):
    """WordNet pairs (``wordnet_pairs``) -> (train, held-out tenth); the same split for the same seed."""
    wn = build_pairs(seed=seed, max_pairs=int(n_pairs * 1.12))
    n_hold = len(wn) // 10
    return wn[n_hold:], wn[:n_hold]


def paraphrase_test_pairs(wn_test):
    """Held-out paraphrase (1) vs unrelated (0) pairs; the graded definition pairs are left out."""
    kept = [x for x in wn_test if x[2] != 0.6]
    return [x[0] for x in kept], [x[1] for x in kept], np.array([1.0 if x[2] > 0.5 else 0.0 for x in kept])


def tfidf_sims(train_texts, a, b, analyzer: str, ngram) -> np.ndarray:
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(analyzer=analyzer, ngram_range=ngram, sublinear_tf=True).fit(train_texts)
    return np.asarray(vec.transform(a).multiply(vec.transform(b)).sum(1)).ravel()


def tfidf_spearman(train_texts, test: sd.PairSet, analyzer: str, ngram) -> float:
    return ev.spearman(tfidf_sims(train_texts, test.a, test.b, analyzer, ngram), test.labels)


def pretrain(model, pairs, steps: int, batch_size: int, lr: float, seed: int, dev: sd.PairSet | None = None,
             temperature: float = 0.05, max_tokens: int = 32, log_every: int = 500, device: str = "cpu") -> dict:
    """Stage 1: map each term close to its definition (and away from the other definitions in the batch).

    Symmetric InfoNCE over in-batch negatives on cosine similarity (as in SimCSE / MultipleNegativesRanking),
    a fixed number of ``steps`` with linear warm-up and decay, so a rerun with the same seed repeats it.
    Prints STS-B dev Spearman every ``log_every`` steps (a progress signal only: nothing is chosen on it here).
    ``device``: where the steps run ("cuda" on a GPU machine: bf16 autocast); the model is returned on the CPU.
    """
    import torch.nn.functional as F

    seed_everything(seed)
    model.to(device)
    amp = str(device).startswith("cuda")
    tok = model.preprocessor.tokenizer
    enc = lambda texts: [torch.tensor(e.ids[:max_tokens] or [1]) for e in tok.encode_batch(texts)]  # noqa: E731
    ta, tb = enc([a for a, _ in pairs]), enc([b for _, b in pairs])
    terms = np.unique([a.lower() for a, _ in pairs], return_inverse=True)[1]
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    warm = max(1, steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min((s + 1) / warm, max(0.05, (steps - s) / max(1, steps - warm))))
    rng = np.random.default_rng(seed)
    collate = lambda items: {k: v.to(device) for k, v in model.preprocessor.collate(items).items()}  # noqa: E731
    log, t0, order, pos = [], time.time(), rng.permutation(len(pairs)), 0
    model.train()
    for step in range(1, steps + 1):
        if pos + batch_size > len(order):
            order, pos = rng.permutation(len(pairs)), 0
        idx = order[pos: pos + batch_size]
        pos += batch_size
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):  # as the engine does on a GPU
            ea, eb = model.encode(collate([ta[k] for k in idx])), model.encode(collate([tb[k] for k in idx]))
        ea, eb = F.normalize(ea.float(), dim=-1), F.normalize(eb.float(), dim=-1)
        logits = ea @ eb.T / temperature
        same = torch.as_tensor(terms[idx][:, None] == terms[idx][None, :]) & ~torch.eye(len(idx), dtype=torch.bool)
        logits = logits.masked_fill(same.to(device), -1e4)  # another sense of the same term is not a negative
        target = torch.arange(len(idx), device=device)
        loss = 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))
        if not torch.isfinite(loss):
            raise FloatingPointError(f"pre-training loss became {float(loss)} at step {step}")
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % log_every == 0 or step == steps:
            row = {"pretrain_step": step, "loss": round(float(loss.detach()), 4), "lr": sched.get_last_lr()[0],
                   "seconds": round(time.time() - t0, 1)}
            if dev is not None:
                d = model.distances_from_embeddings(model.embed(dev.a), model.embed(dev.b))
                row["dev_spearman"] = round(ev.spearman(-d, dev.labels), 4)
                model.train()
            log.append(row)
            print(json.dumps(row), flush=True)
    model.eval()
    model.to("cpu")
    return {"steps": steps, "batch_size": batch_size, "lr": lr, "temperature": temperature, "device": str(device),
            "max_tokens": max_tokens, "pairs": len(pairs), "seconds": round(time.time() - t0, 1), "log": log}


def card(encoder: str, pretrained: bool, bible: bool) -> dict:
    """The model card's description, licence and training-data text for a run of this recipe."""
    stage1 = ""
    if pretrained:
        stage1 = ("Pre-training (stage 1, before the pairs above): term/definition pairs from GCIDE, the GNU "
                  "Collaborative International Dictionary of English (GPL-2+, Debian package dict-gcide), and from "
                  "WordNet 3.0 (lemma/definition, example/definition)"
                  + (", and the same Bible verse in the King James Version (public domain; Debian sword-text-kjv) "
                     "and the World English Bible (public domain; Debian sword-text-web) as paraphrase pairs"
                     if bible else "")
                  + ", with every STS-B dev/test sentence and every held-out WordNet pair excluded. ")
    return {
        "description": f"A {encoder} sentence encoder trained from scratch here (tokenizer included); "
                       "cosine similarity of its embeddings tracks semantic similarity.",
        "license": "other",
        "training_data": ("STS benchmark train split (Cer et al. 2017; sentences from sources with mixed licences, "
                          "research use), and sentence pairs built from WordNet 3.0 (Princeton WordNet licence, "
                          "Debian package wordnet-base): usage examples with a synonym substituted, examples "
                          "with their definitions, and unrelated examples. " + stage1
                          + "Validation: STS-B dev. Test: STS-B test (never used for training or tuning)."),
    }


def build(encoder: str, tokenizer, size: str = "small"):
    pre = {"max_length": 64}
    if encoder == "transformer":
        width, layers, ffn = {"small": (192, 2, 384), "medium": (256, 4, 1024)}[size]
        opts = {"hidden_size": width, "num_layers": layers, "num_heads": 4, "intermediate_size": ffn,
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
    p.add_argument("--lr", type=float, default=None, help="STS-B stage (default 1e-3 transformer, 2e-3 lstm)")
    p.add_argument("--pretrain-steps", type=int, default=0,
                   help="dictionary pre-training steps before the STS-B stage (0: none)")
    p.add_argument("--pretrain-batch", type=int, default=256)
    p.add_argument("--pretrain-lr", type=float, default=1e-3)
    p.add_argument("--stage1", default=None,
                   help="folder for the pre-trained model: reused when it exists, else written after pre-training")
    p.add_argument("--stage1-only", action="store_true", help="stop after writing --stage1")
    p.add_argument("--bible", default="none",
                   help="add KJV/WEB verse pairs to stage 1: 'auto' (read with mod2imp), a folder with kjv.imp and "
                        "web.imp, or 'none'")
    p.add_argument("--size", choices=["small", "medium"], default="small",
                   help="transformer: small = 192 wide, 2 layers; medium = 256 wide, 4 layers")
    p.add_argument("--device", default="cpu", help="where both stages run: cpu, cuda, auto")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = dist_.resolve_device(args.device)
    seed_everything(args.seed)  # the model is initialised before fit() seeds again
    root = Path(args.stsb)
    train, dev, test = (read_stsb(root / f"sts-{s}.csv") for s in ("train", "dev", "test"))
    wn_train, wn_test = wordnet_split(args.seed, args.wordnet_pairs)
    if args.stage1 and (Path(args.stage1) / "config.json").exists():
        model = sd.load(args.stage1)
        print(f"stage 1 (pre-training) reused from {args.stage1}", flush=True)
    else:
        texts = train.a + train.b + [x for pr in wn_train for x in pr[:2]]
        stage1_pairs = []
        if args.pretrain_steps:
            held_out = {x.lower() for s in (dev, test) for x in s.a + s.b}
            held_out |= {x.lower() for pr in wn_test for x in pr[:2]}
            stage1_pairs = dictionary_pairs.build_pairs(seed=args.seed, exclude=held_out)
            if args.bible != "none":
                verses = [(a, b) for a, b in bible_pairs.build_pairs(args.bible)
                          if a.lower() not in held_out and b.lower() not in held_out]
                print(f"stage 1: {len(stage1_pairs)} dictionary pairs + {len(verses)} Bible verse pairs", flush=True)
                stage1_pairs = stage1_pairs + verses
            texts = texts + [x for pr in stage1_pairs for x in pr]
        tok = train_tokenizer(texts, vocab_size=args.vocab_size, min_frequency=2)
        model = build(args.encoder, tok, args.size)
        if args.pretrain_steps:
            model.info["pretraining"] = pretrain(model, stage1_pairs, args.pretrain_steps, args.pretrain_batch,
                                                 args.pretrain_lr, args.seed, dev, device=device)
            if args.stage1:
                sd.save(model, args.stage1, name="stage1")
    if args.stage1_only:
        return
    combined = sd.PairSet(train.a + [x[0] for x in wn_train], train.b + [x[1] for x in wn_train],
                          np.concatenate([train.labels, [x[2] for x in wn_train]]), graded=True)
    cfg = TrainConfig(**PER_EPOCH, loss="contrastive", margin=1.0, batch_size=64, epochs=args.epochs, steps_per_epoch=150,
                      lr=args.lr or (1e-3 if args.encoder == "transformer" else 2e-3), weight_decay=0.01, lr_patience=2,
                      early_stopping_patience=5, monitor="val_spearman", time_budget_s=args.time_budget, seed=args.seed,
                      augment=AugmentConfig(word_dropout=0.05, word_swap=0.0), device=device)
    t0 = time.time()
    res = fit(model, combined, dev, cfg,
              callbacks=[lambda e: e.kind == "epoch" and print(json.dumps(e.data), flush=True)])
    train_s = time.time() - t0
    model.to("cpu")  # measured and saved as the app runs it: float32 on the CPU
    d_test = model.distances_from_embeddings(model.embed(test.a), model.embed(test.b))
    wa, wb, wy = paraphrase_test_pairs(wn_test)
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
    sd.save(model, args.out, name=Path(args.out).name, sentence_transformers=True,
            card=card(args.encoder, bool(args.pretrain_steps), args.bible != "none"))


if __name__ == "__main__":
    main()
