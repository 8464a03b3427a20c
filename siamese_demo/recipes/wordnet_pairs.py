"""Sentence pairs built from WordNet 3.0 (Debian package ``wordnet-base``; WordNet licence).

- paraphrases: a usage example with its word replaced by a synonym from the same synset (label 0.9);
- definition pairs: a usage example and its synset's definition (label 0.6);
- unrelated: two examples from different synsets (label 0.0).
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

WORDNET_DIR = Path("/usr/share/wordnet")


def read_synsets(root: Path = WORDNET_DIR) -> list[tuple[list[str], str, list[str]]]:
    """(lemmas, definition, examples) for every synset in data.{noun,verb,adj,adv}."""
    out = []
    for pos in ("noun", "verb", "adj", "adv"):
        path = root / f"data.{pos}"
        if not path.exists():
            raise FileNotFoundError(f"{path} not found: install Debian's wordnet-base (apt-get install wordnet-base)")
        for line in path.read_text(encoding="latin-1").splitlines():
            if line.startswith("  ") or "|" not in line:
                continue
            head, gloss = line.split("|", 1)
            fields = head.split()
            n = int(fields[3], 16)
            lemmas = [re.sub(r"\(.*\)$", "", fields[4 + 2 * i]).replace("_", " ") for i in range(n)]
            parts = [p.strip() for p in gloss.split(";")]
            definition = "; ".join(p for p in parts if not p.startswith('"')).strip()
            examples = [p.strip('" ') for p in parts if p.startswith('"')]
            out.append((lemmas, definition, [e for e in examples if len(e.split()) >= 4]))
    return out


def build_pairs(seed: int = 0, max_pairs: int = 30_000):
    rng = np.random.default_rng(seed)
    synsets = read_synsets()
    para, defs = [], []
    examples = []
    for lemmas, definition, exs in synsets:
        for ex in exs:
            examples.append(ex)
            if definition:
                defs.append((ex, definition, 0.6))
            for lem in lemmas:
                pat = re.compile(rf"\b{re.escape(lem)}\b", re.I)
                if pat.search(ex):
                    others = [o for o in lemmas if o.lower() != lem.lower()]
                    if others:
                        para.append((ex, pat.sub(others[rng.integers(len(others))], ex, count=1), 0.9))
                    break
    rng.shuffle(para)
    rng.shuffle(defs)
    n_para = min(len(para), max_pairs // 2)
    n_def = min(len(defs), max_pairs // 4)
    pairs = para[:n_para] + defs[:n_def]
    for _ in range(len(pairs) // 2):
        i, j = rng.integers(len(examples), size=2)
        pairs.append((examples[i], examples[j], 0.0))
    order = rng.permutation(len(pairs))
    return [pairs[k] for k in order]
