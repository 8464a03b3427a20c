"""Rebuild the small sample datasets of the fine-tune tab (``samples/``) from their sources.

    python -m siamese_demo.recipes.sample_datasets --omniglot ../shared/datasets/omniglot_background_subset.zip \
        --out samples

- ``omniglot_korean.zip``: 16 Korean characters x 12 drawers from the Omniglot background set (MIT).
  Korean is held out from the shipped image CNN, so these characters are new to it.
- ``wordnet_topics.csv``: ``text,label``; 20 WordNet 3.0 definitions from each of 12 semantic fields
  (lexicographer files such as noun.animal or verb.motion). WordNet licence (BSD-style), Princeton.
- ``gunpoint.tsv``: the 200 GunPoint series of the UCR archive (train + test), as shipped by ``aeon``
  (BSD-3); class label first, then 150 values. Held out from the shipped series models.
"""
from __future__ import annotations

import argparse
import io
import zipfile
from pathlib import Path

import numpy as np

LEXNAMES = {5: "noun.animal", 8: "noun.body", 12: "noun.feeling", 13: "noun.food", 15: "noun.location",
            18: "noun.person", 20: "noun.plant", 27: "noun.substance", 28: "noun.time",
            32: "verb.communication", 34: "verb.consumption", 38: "verb.motion"}


def omniglot_korean(src: Path, out: Path, n_chars: int = 16, n_drawers: int = 12) -> None:
    with zipfile.ZipFile(src) as zin:
        names = sorted(n for n in zin.namelist() if "/Korean/" in n and n.endswith(".png"))
        chars = sorted({n.split("/")[-2] for n in names})[:n_chars]
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zout:
            for c in chars:
                for n in [n for n in names if n.split("/")[-2] == c][:n_drawers]:
                    zout.writestr(f"omniglot_korean/{c}/{Path(n).name}", zin.read(n))
            zout.writestr("omniglot_korean/LICENSE.omniglot", zin.read(
                next(n for n in zin.namelist() if n.endswith("LICENSE.omniglot"))))
    (out / "omniglot_korean.zip").write_bytes(buf.getvalue())


def wordnet_topics(out: Path, per_field: int = 20, seed: int = 0) -> None:
    import csv

    root = Path("/usr/share/wordnet")
    by_field: dict[str, list[str]] = {v: [] for v in LEXNAMES.values()}
    for pos in ("noun", "verb"):
        for line in (root / f"data.{pos}").read_text(encoding="latin-1").splitlines():
            if line.startswith("  ") or "|" not in line:
                continue
            head, gloss = line.split("|", 1)
            field = LEXNAMES.get(int(head.split()[1]))
            definition = "; ".join(p.strip() for p in gloss.split(";") if not p.strip().startswith('"')).strip()
            if field and 5 <= len(definition.split()) <= 25:
                by_field[field].append(definition)
    rng = np.random.default_rng(seed)
    with open(out / "wordnet_topics.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "label"])
        for field, texts in by_field.items():
            for k in rng.choice(len(texts), size=per_field, replace=False):
                w.writerow([texts[k], field])


def gunpoint(out: Path) -> None:
    from aeon.datasets import load_classification

    X, y = load_classification("GunPoint")
    with open(out / "gunpoint.tsv", "w") as f:
        for xi, yi in zip(X[:, 0, :], y):
            f.write("\t".join([str(yi)] + [f"{v:.5f}" for v in xi]) + "\n")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--omniglot", required=True)
    p.add_argument("--out", default="samples")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    omniglot_korean(Path(args.omniglot), out)
    wordnet_topics(out)
    gunpoint(out)


if __name__ == "__main__":
    main()
