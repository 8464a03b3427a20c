"""Recipe: the signature examples of the Images tab, drawn here (no real signature set may be redistributed).

    python -m siamese_demo.recipes.signature_examples --out examples/signatures

A made-up signer writes "Ada Lovelace" in the Hershey "scripts" cursive (the ``Hershey-Fonts`` wheel, MIT;
the Hershey glyphs are public domain), with the small changes of a real hand from one signature to the next:
a slant, a rotation, a size and a slow waviness of the line, each drawn from the seed. Three more images
share the name:

- ``genuine``: the same signer again (another seed);
- ``forged``: a slow, careful copy of the same letters: the shapes are the signer's, the line shakes (a
  smoothed random tremor along the pen path), the pen is blunter and the slant a little off, the marks that
  tell a skilled forgery;
- ``other_hand``: the same name in another cursive (the double-stroked "scriptc"), a thin pen, upright.

They are synthetic, for showing how the signature model is used; its measured quality is on real signatures
(the model card and the README).
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

NAME = "Ada Lovelace"
HAND = {"font": "scripts", "width": 3, "slant": 0.3, "tremor": 0.0}
SIGNATURES = {
    "reference": {"seed": 1},
    "genuine": {"seed": 2},
    "forged": {"seed": 3, "width": 4, "slant": 0.15, "tremor": 1.2},
    "other_hand": {"seed": 4, "font": "scriptc", "width": 2, "slant": 0.1},
}


def _dense(stroke: np.ndarray, step: float = 2.0) -> np.ndarray:
    """Points every ``step`` units along a polyline (so a tremor has points to move)."""
    t = np.r_[0.0, np.cumsum(np.linalg.norm(np.diff(stroke, axis=0), axis=1))]
    if t[-1] == 0:
        return stroke
    u = np.arange(0.0, t[-1] + step, step).clip(max=t[-1])
    return np.c_[np.interp(u, t, stroke[:, 0]), np.interp(u, t, stroke[:, 1])]


def draw(name: str, font: str, seed: int, width: int, slant: float, tremor: float) -> Image.Image:
    """One signature: dark ink on light paper, grey, the ink's box plus a 30 px margin."""
    from HersheyFonts import HersheyFonts

    rng = np.random.default_rng(seed)
    glyphs = HersheyFonts()
    glyphs.load_default_font(font)
    glyphs.normalize_rendering(100)
    strokes = [_dense(np.asarray(s, float) * [1, -1]) for s in glyphs.strokes_for_text(name)]  # y grows down
    shear, angle, scale = slant + rng.normal(0, 0.03), np.deg2rad(rng.normal(0, 2)), 1 + rng.normal(0, 0.04)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    affine = rotation @ np.array([[1.0, -shear], [0.0, 1.0]]) * scale
    phase, amp = rng.uniform(0, 2 * np.pi, 3), rng.normal(0, 2.0, 3)
    lines = []
    for s in strokes:
        q = s @ affine.T
        q[:, 1] += amp[0] * np.sin(q[:, 0] / 45 + phase[0]) + amp[1] * np.sin(q[:, 0] / 19 + phase[1])
        q[:, 0] += amp[2] * np.sin(q[:, 1] / 30 + phase[2])
        if tremor:
            shake = rng.normal(0, tremor, q.shape)
            q += np.stack([np.convolve(shake[:, k], np.ones(3) / 3, "same") for k in range(2)], axis=1)
        lines.append(q)
    points = np.concatenate(lines)
    lo, hi = points.min(0), points.max(0)
    img = Image.new("L", (int(hi[0] - lo[0]) + 60, int(hi[1] - lo[1]) + 60), 250)
    pen = ImageDraw.Draw(img)
    for q in lines:
        pen.line([tuple(p) for p in q - lo + 30], fill=30, width=width, joint="curve")
    return img


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="examples/signatures")
    args = p.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for tag, options in SIGNATURES.items():
        draw(NAME, **(HAND | options)).save(out / f"{tag}.png", optimize=True)
        print(f"wrote {out / f'{tag}.png'}")


if __name__ == "__main__":
    main()
