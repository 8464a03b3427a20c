"""What one explanation costs in process (no server): each modality's attribution and figures.

    .venv/bin/python benchmarks/explanations.py [--repeats 10]

Prints a Markdown table: median milliseconds per call after one warm-up call, on the shipped models and
the examples/ inputs (the image tab's occlusion map, the text tab's word colours, the series tab's shading,
the distribution plot and the series plot built and serialised as the page gets them).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import siamese_demo as sd  # noqa: E402
from siamese_demo import plots  # noqa: E402
from siamese_demo.explain import image_occlusion, series_contributions, word_contributions  # noqa: E402

EX = ROOT / "examples"


def image_occlusion_all_views(model, a, b):
    """The occlusion map re-measured by the whole model (every view), as before ``explain.one_view_model``."""
    import siamese_demo.explain as ex

    keep = ex.one_view_model
    ex.one_view_model = lambda m: m
    try:
        return image_occlusion(model, a, b)
    finally:
        ex.one_view_model = keep


def median_ms(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--repeats", type=int, default=10)
    args = p.parse_args()
    image = sd.load(sd.MODELS_DIR / "omniglot-cnn")
    text = sd.load(sd.MODELS_DIR / sd.DEFAULT_MODELS["text"])
    series = sd.load(sd.MODELS_DIR / "series-lstm")
    face = sd.load(sd.MODELS_DIR / "face-efficientnet")
    a, b = EX / "images" / "latin_c01_a.png", EX / "images" / "latin_c01_b.png"
    fa, fb = EX / "photos" / "astronaut.jpg", EX / "photos" / "astronaut_mirrored_darker.jpg"
    t = np.linspace(0, 12, 150)
    sa, sb = np.sin(t)[:, None], (t > 6).astype(float)[:, None]
    vd = image.info["validation_distances"]
    r = image.compare(a, b)
    pa, pb = series.preprocessor.transform(sa), series.preprocessor.transform(sb)
    ca, cb = series_contributions(series, sa, sb)
    rows = {
        "image occlusion map (omniglot-cnn, 5 x 5 patches per image, both images)":
            lambda: image_occlusion(image, a, b),
        "image occlusion map (face-efficientnet: 3 networks, re-measured on the main crop alone; the photo example pair)":
            lambda: image_occlusion(face, fa, fb),
        "the same, with all 3 crop widths x mirror images (18 passes per image; before explain.one_view_model)":
            lambda: image_occlusion_all_views(face, fa, fb),
        f"word colours ({sd.DEFAULT_MODELS['text']}, two short sentences)":
            lambda: word_contributions(text, "A man is playing a guitar.", "A man plays the guitar."),
        "series shading (series-lstm, 150 steps each)": lambda: series_contributions(series, sa, sb),
        "distribution plot, built and serialised": lambda: plots.distance_on_distributions(
            vd["positive"], vd["negative"], r.distance, r.threshold).to_json(),
        "series plot, built and serialised": lambda: plots.series_pair(pa, pb, ca, cb).to_json(),
    }
    print(f"command: .venv/bin/python benchmarks/explanations.py --repeats {args.repeats}\n")
    print("| step | median ms |\n|---|---|")
    for name, fn in rows.items():
        print(f"| {name} | {median_ms(fn, args.repeats):.1f} |")
    one, every = image_occlusion(face, fa, fb), image_occlusion_all_views(face, fa, fb)
    corr = [np.corrcoef(one[k].ravel(), every[k].ravel())[0, 1] for k in (0, 1)]
    print(f"\nface maps on the main view against every view, correlation: first photo {corr[0]:.2f}, "
          f"second photo {corr[1]:.2f}")


if __name__ == "__main__":
    main()
