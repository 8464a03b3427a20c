"""Signatures photographed rather than scanned, and what ``signature-efficientnet`` makes of them: its preparation
as it was (the image padded as it comes, ``ImagePreprocessor(paper="as_is")``), with the paper always cleaned first
(``paper="clean"``: the lighting flattened, the paper made white, the image cut to the ink) and as shipped
(``paper="auto"``: cleaned only when the sheet looks photographed, ``preprocess.photographed``).

No photographed signature set is at hand, so each signature is "photographed" here, seeded: put on a sheet a
quarter larger each way, tinted paper (cream to grey), blue or black ink, light falling off across the sheet and
towards its corners, sensor noise, a slight blur, a rotation of about 2 degrees and JPEG at quality 75.

    .venv/bin/python benchmarks/signature_photos.py

Prints a Markdown table: AUC of genuine against skilled forgery with each writer's first 5 genuine signatures as
references (by the mean distance to them; in brackets: against their mean, divided by their spread as the
several-references comparison does), on the 21 SVC2004 writers the signature recipe chooses on, its 7 test
writers and the 4 BHSig260 writers (real scans, with margins), and how many images "auto" cleaned. The "auto" row
reuses the other two rows' embeddings image by image (an image's embedding depends on it alone). About 20 min on
2 cores.
"""
from __future__ import annotations

import argparse
import io
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageFilter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import siamese_demo as sd  # noqa: E402
from siamese_demo.evaluate import roc_auc  # noqa: E402
from siamese_demo.preprocess import clean_paper, photographed  # noqa: E402
from siamese_demo.recipes.verification_sets import read_writers, signature_scores, split_names  # noqa: E402


def photograph(path: Path, rng: np.random.Generator) -> Image.Image:
    """A scanned signature (dark ink on white) as a phone might photograph it (see the module's text)."""
    grey = np.asarray(Image.open(path).convert("L"), np.float32) / 255.0
    h, w = grey.shape
    pad = int(0.25 * max(h, w))
    sheet = np.ones((h + 2 * pad, w + 2 * pad), np.float32)
    sheet[pad:pad + h, pad:pad + w] = grey
    ink = 1.0 - sheet
    paper = np.array([rng.uniform(0.85, 0.97), rng.uniform(0.82, 0.95), rng.uniform(0.72, 0.9)])
    pen = np.array([[0.12, 0.14, 0.45], [0.1, 0.1, 0.12]][rng.integers(2)]) + rng.uniform(-0.05, 0.05, 3)
    rgb = paper * (1 - ink[..., None]) + pen * ink[..., None]
    yy, xx = np.mgrid[0:sheet.shape[0], 0:sheet.shape[1]] / max(sheet.shape)
    angle = rng.uniform(0, 2 * np.pi)
    light = 1 - rng.uniform(0.15, 0.4) * (np.cos(angle) * xx + np.sin(angle) * yy)
    light *= 1 - rng.uniform(0.1, 0.25) * ((xx - 0.5) ** 2 + (yy - 0.5) ** 2) * 2
    rgb = rgb * light[..., None] + rng.normal(0, 0.02, rgb.shape)
    img = Image.fromarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.8))
    img = img.rotate(rng.normal(0, 2), resample=Image.BICUBIC, fillcolor=tuple((paper * 204).astype(int)))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=75)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


class _Embedded:
    """Embeddings made once per file, for ``signature_scores``."""

    def __init__(self, model: sd.SiameseModel, emb: dict[Path, np.ndarray]):
        self.model, self.emb = model, emb
        self.info, self.normalize = model.info, model.normalize

    def embed(self, items, batch_size: int = 64) -> np.ndarray:
        return np.stack([self.emb[Path(p)] for p in items])

    def distances_from_embeddings(self, a, b):
        return self.model.distances_from_embeddings(a, b)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    shared = ROOT.parent / "shared" / "datasets" / "signatures"
    p.add_argument("--signatures", default=str(shared / "svc2004_users13-40"))
    p.add_argument("--bhsig", default=str(shared / "bhsig260_subset"))
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    writers = read_writers(args.signatures)
    bhsig = read_writers(args.bhsig, minimum=1)
    split = split_names(sorted(writers), 0)
    groups = {"SVC2004 choosing writers (21)": {w: writers[w] for w in split["train"] + split["validation"]},
              "SVC2004 test writers (7)": {w: writers[w] for w in split["test"]}, "BHSig260 (4)": bhsig}
    files = [Path(f) for g in groups.values() for w in sorted(g) for k in ("genuine", "forged") for f in g[w][k]]
    rng = np.random.default_rng(args.seed)
    scans = {f: Image.open(f).convert("RGB") for f in files}
    photos = {f: photograph(f, rng) for f in files}
    shipped = sd.load("signature-efficientnet")
    # embedded without the shipped preparation's own choice, so each row gets exactly its images
    model = sd.SiameseModel(shipped.encoder, replace(shipped.preprocessor, paper="as_is"), "image", shipped.distance,
                            normalize=shipped.normalize, threshold=shipped.threshold, info=shipped.info)
    print(f"command: .venv/bin/python benchmarks/signature_photos.py --seed {args.seed}\n")
    print(f"shipped: paper={shipped.preprocessor.paper!r}\n")
    print("| signatures | preparation | " + " | ".join(groups) + " | cleaned |\n|---|---|" + "---|" * (len(groups) + 1))
    for kind, images in (("as scanned", scans), ("photographed", photos)):
        emb = {}
        for prep, fn in (("as_is", lambda x: x), ("clean", lambda x: clean_paper(x).convert("RGB"))):
            t0 = time.perf_counter()
            emb[prep] = dict(zip(files, model.embed([fn(images[f]) for f in files])))
            print(f"({time.perf_counter() - t0:.0f} s)", file=sys.stderr)
        cleaned = {f: photographed(images[f]) for f in files}
        emb["auto"] = {f: emb["clean" if cleaned[f] else "as_is"][f] for f in files}
        for prep in ("as_is", "clean", "auto"):
            cells = []
            for g in groups.values():
                s = signature_scores(_Embedded(model, emb[prep]), g)
                cells.append(f"{roc_auc(s['mean'], s['labels']):.3f} ({roc_auc(s['centroid'], s['labels']):.3f})")
            share = {"as_is": 0, "clean": len(files), "auto": sum(cleaned.values())}[prep]
            print(f"| {kind} | paper={prep!r} | " + " | ".join(cells) + f" | {share} of {len(files)} |", flush=True)


if __name__ == "__main__":
    main()
