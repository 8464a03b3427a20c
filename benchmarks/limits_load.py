"""Largest accepted inputs: does another visitor still get an answer within a second, and how much
memory does the server take? (The heavy visitor asks for the decision and then the explanation.)

    .venv/bin/python benchmarks/limits_load.py [--repeats 10]

Starts `python app.py` on a free local port. For each case one "heavy" visitor sends the largest
input the limits accept (or a far larger one that must be refused) over and over, while a second
visitor compares a normal pair on another tab and on the same tab; prints the second visitor's
latency (end to end, explanation included) and the server's peak resident memory (VmHWM).
Everything runs over loopback on this machine.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
EX = ROOT / "examples"


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def largest_image(pixels: int) -> str:
    """A PNG of about ``pixels`` pixels (noisy strokes, so it does not compress to nothing)."""
    from PIL import Image, ImageDraw

    side = int(pixels ** 0.5)
    img = Image.new("L", (side, side), 255)
    d = ImageDraw.Draw(img)
    rng = np.random.default_rng(0)
    for _ in range(200):
        x0, y0, x1, y1 = rng.integers(0, side, 4).tolist()
        d.line((x0, y0, x1, y1), fill=0, width=max(2, side // 200))
    out = Path(tempfile.gettempdir()) / f"siamese_largest_{side}.png"
    img.save(out)
    return str(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--repeats", type=int, default=10, help="comparisons of the light visitor per case")
    args = p.parse_args()
    from gradio_client import Client, handle_file

    from siamese_demo.devserver import start_app, stop
    from siamese_demo.limits import limits

    lim = limits()
    rng = np.random.default_rng(0)
    steps = lim.series_steps
    big_series = " ".join(f"{v:.3f}" for v in np.sin(np.linspace(0, 200, steps)) + rng.normal(0, 0.1, steps))
    big_text = ("The quick brown fox jumps over the lazy dog. " * (lim.text_chars // 45 + 1))[: lim.text_chars]
    img = largest_image(lim.image_pixels)
    refused_series = "1 " * 5_000_000  # 10 M characters (5 M values): refused before parsing
    a, b = str(EX / "images" / "latin_c01_a.png"), str(EX / "images" / "latin_c01_b.png")
    sine = " ".join(f"{v:.4f}" for v in np.sin(np.linspace(0, 12, 150)))
    step = " ".join(f"{v:.1f}" for v in np.r_[np.zeros(75), np.ones(75)])

    proc, url = start_app()
    try:
        light = Client(url, verbose=False, download_files=False)
        heavy = Client(url, verbose=False, download_files=False)
        light_calls = {
            "image": ((handle_file(a), handle_file(b), "omniglot-cnn", True, 0.5), "/compare_images"),
            "text": (("A man is playing a guitar.", "A man plays the guitar.", "text-minilm", True, 0.5),
                     "/compare_texts"),
            "series": ((None, sine, None, step, "series-lstm", True, 0.5), "/compare_series"),
        }
        for c, api in light_calls.values():  # load the models
            light.predict(*c, api_name=api)
        heavy_cases = {
            f"series of {steps:,} steps pasted (largest accepted)":
                ((None, big_series, None, big_series, "series-lstm", True, 0.5), "/compare_series"),
            f"text of {lim.text_chars:,} characters (largest accepted)":
                ((big_text, big_text, "text-minilm", True, 0.5), "/compare_texts"),
            f"image of {lim.image_pixels / 1e6:g} megapixels (largest accepted)":
                ((handle_file(img), handle_file(a), "omniglot-cnn", True, 0.5), "/compare_images"),
            "10 M characters pasted as a series (refused)":
                ((None, refused_series, None, sine, "series-lstm", True, 0.5), "/compare_series"),
        }
        print("command: .venv/bin/python benchmarks/limits_load.py "
              f"--repeats {args.repeats}\n")
        print(f"Server memory after start and warm-up: {rss_mb(proc.pid):.0f} MB resident.\n")
        print("| heavy visitor sends, over and over | its own time | other visitor: p50 / p95 / max, "
              "image+text+series in turn | server peak memory |")
        print("|---|---|---|---|")
        for name, (c, api) in heavy_cases.items():
            done = threading.Event()
            heavy_times: list[float] = []
            outcome: list[str] = []

            def hammer():
                while not done.is_set():
                    t0 = time.perf_counter()
                    try:
                        heavy.predict(*c, api_name=api)
                        heavy.predict(api_name=api.replace("compare", "explain"))  # as the page does
                        outcome.append("answered")
                    except Exception as exc:  # noqa: BLE001
                        outcome.append(str(exc)[:60])
                    heavy_times.append(time.perf_counter() - t0)

            th = threading.Thread(target=hammer)
            th.start()
            time.sleep(1.0)
            lat = []
            for r in range(args.repeats):
                lc, lapi = list(light_calls.values())[r % 3]
                t0 = time.perf_counter()
                light.predict(*lc, api_name=lapi)
                lat.append((time.perf_counter() - t0) * 1000)
            done.set()
            th.join()
            q = np.percentile(lat, [50, 95])
            own = f"{np.median(heavy_times):.2f} s ({outcome[0] if outcome else '-'})"
            print(f"| {name} | {own} | {q[0]:.0f} / {q[1]:.0f} / {max(lat):.0f} ms | {peak_rss_mb(proc.pid):.0f} MB |")
    finally:
        stop(proc)


if __name__ == "__main__":
    main()
