"""App speed: start-up, first and later comparisons per tab, and a load run of concurrent visitors.

    .venv/bin/python benchmarks/latency.py [--visitors 16 --requests 25]

Prints Markdown tables (pasted into the README). Everything runs on this machine, over loopback.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import siamese_demo as sd  # noqa: E402
from siamese_demo.devserver import free_port, start_app, stop  # noqa: E402
from siamese_demo.train import TrainConfig  # noqa: E402

EX = ROOT / "examples"
TEXT_MODEL = sd.DEFAULT_MODELS["text"]  # the text tab's default


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of another process so far (Linux /proc)."""
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def own_cpu_s() -> float:
    """User + system CPU seconds of this process (the client threads) so far."""
    import resource

    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def startup_seconds() -> float:
    """`python app.py` to the page answering (a fresh process, nothing cached in it)."""
    t = time.perf_counter()
    proc, _ = start_app()
    took = time.perf_counter() - t
    stop(proc)
    return took


IMAGES = sorted((EX / "gallery" / "omniglot20").glob("*.png")) + sorted((EX / "images").glob("*.png"))
WHO = ["A man", "A woman", "A child", "An old man", "A girl", "A boy", "A dog", "A chef"]
DOES = ["is playing a guitar", "plays the piano", "is cutting an onion", "is riding a horse",
        "is reading a book", "runs along the beach", "is cooking pasta", "is painting a wall"]


def visitor_image(path: Path, visitor: int) -> str:
    """A copy of an image that differs per visitor (a PNG text chunk), as real visitors' uploads do;
    identical uploads from many clients at once would share one cache file."""
    import tempfile

    from PIL import Image, PngImagePlugin

    out = Path(tempfile.gettempdir()) / "siamese_latency" / f"v{visitor}_{path.name}"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        info = PngImagePlugin.PngInfo()
        info.add_text("visitor", str(visitor))
        Image.open(path).save(out, pnginfo=info)
    return str(out)


def calls(visitor: int = 0, request: int = 0):
    """The three comparisons of one visitor's ``request``-th turn. Every (visitor, request) gets its
    own pair, so that nothing is answered from a cache that another visitor filled (as on a Space,
    where visitors bring their own inputs): image pairs from 25 characters, sentences from 64, series
    of their own frequency and step position."""
    from gradio_client import handle_file

    i = visitor * 31 + request
    ia, ib = IMAGES[i % len(IMAGES)], IMAGES[(i * 7 + 3 + i // len(IMAGES)) % len(IMAGES)]
    img = lambda p: handle_file(visitor_image(p, visitor))  # noqa: E731
    ta = f"{WHO[i % 8]} {DOES[(i // 8) % 8]}."
    tb = f"{WHO[(i + visitor) % 8]} {DOES[(i // 8 + request % 2) % 8]}."
    sine = " ".join(f"{v:.4f}" for v in np.sin(np.linspace(0, 6 + i % 13, 150)))
    step = " ".join(f"{v:.1f}" for v in (np.arange(150) >= 30 + (i * 11) % 90).astype(float))
    return {
        "image": ((img(ia), img(ib), "omniglot-cnn", True, 0.5), "/compare_images"),
        "text": ((ta, tb, TEXT_MODEL, True, 0.5), "/compare_texts"),
        "timeseries": ((None, sine, None, step, "series-lstm", True, 0.5), "/compare_series"),
    }


def explain_call(api: str) -> str:
    """The explanation request a browser sends after the decision (of the session's last comparison:
    no inputs)."""
    return api.replace("/compare_", "/explain_")


def server_side_ms(repeats: int = 20) -> dict[str, float]:
    """Median time of the core comparison (embedding both inputs and deciding), in process."""
    import siamese_demo as sd
    from siamese_demo.data import parse_series_text

    cases = {"image": ("omniglot-cnn", str(EX / "images" / "latin_c01_a.png"), str(EX / "images" / "latin_c01_b.png")),
             "text": (TEXT_MODEL, "A man is playing a guitar.", "A man plays the guitar."),
             "timeseries": ("series-lstm", parse_series_text(calls()["timeseries"][0][1]),
                            parse_series_text(calls()["timeseries"][0][3]))}
    out = {}
    for tab, (name, a, b) in cases.items():
        model = sd.load(sd.MODELS_DIR / name)
        model.compare(a, b)
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            model.compare(a, b)
            times.append((time.perf_counter() - t) * 1000)
        out[tab] = statistics.median(times)
    return out


def during_training(repeats: int = 8) -> None:
    """Comparison latency for one visitor while another visitor's fine-tune runs (same process)."""
    from gradio_client import Client

    from siamese_demo.ui import build_demo

    demo = build_demo(warm=False)
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=free_port(), quiet=True)
    trainer, visitor = Client(url, verbose=False), Client(url, verbose=False, download_files=False)

    def timed(a, api) -> float:
        t = time.perf_counter()
        visitor.predict(*a, api_name=api)
        return (time.perf_counter() - t) * 1000

    rows = []
    for tab, (a, api) in calls().items():
        timed(a, api)  # load the model
        idle = [timed(a, api) for _ in range(repeats)]
        trainer.predict(data_type="Image pairs", use_sample=True, upload=None, base="omniglot-cnn", epochs=50,
                        patience=0, time_budget_s=TrainConfig().time_budget_s, api_name="/start_finetune")
        time.sleep(3)
        busy = [timed(a, api) for _ in range(repeats)]
        trainer.predict(api_name="/cancel_finetune")
        trainer.submit(api_name="/watch_finetune").result(timeout=120)
        rows.append(f"| {tab} | {np.median(idle):.0f} ms | {np.median(busy):.0f} ms | {max(busy):.0f} ms |")
    demo.close()
    print(f"\nComparisons (end to end, explanation included, median of {repeats}) while another visitor fine-tunes "
          "omniglot-cnn on the image sample in the same server:\n")
    print("| tab | idle | during a fine-tune | worst during |\n|---|---|---|---|")
    print("\n".join(rows))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--visitors", type=int, default=16)
    p.add_argument("--requests", type=int, default=25)
    p.add_argument("--only-training", action="store_true", help="only the latency-during-a-fine-tune table")
    p.add_argument("--no-training", action="store_true", help="skip the latency-during-a-fine-tune table")
    args = p.parse_args()
    if args.only_training:
        print("command: .venv/bin/python benchmarks/latency.py --only-training")
        during_training()
        return
    from gradio_client import Client

    print(f"command: .venv/bin/python benchmarks/latency.py --visitors {args.visitors} --requests {args.requests}\n")
    print(f"| measure | value |\n|---|---|\n| `python app.py` to the page answering | {startup_seconds():.1f} s |")
    # the server in its own process, as `python app.py` runs on a Space: the 16 client threads below
    # share the 2 cores with it but not its interpreter lock
    server, url = start_app()
    client = Client(url, verbose=False)
    for tab, (a, api) in calls().items():
        t = time.perf_counter()
        client.predict(*a, api_name=api)
        first = time.perf_counter() - t
        t = time.perf_counter()
        for _ in range(5):
            client.predict(*a, api_name=api)
        later = (time.perf_counter() - t) / 5
        print(f"| {tab}: first comparison (model load included), end to end | {first * 1000:.0f} ms |")
        print(f"| {tab}: later decisions, end to end | {later * 1000:.0f} ms |")
    for tab, ms in server_side_ms().items():
        print(f"| {tab}: server time of the comparison itself (median of 20) | {ms:.1f} ms |")

    lat: list[float] = []
    lat_explain: list[float] = []
    errors = []
    lock = threading.Lock()

    def visitor(k: int) -> None:
        # as a browser does: the decision, then the explanation; heatmap files are not fetched
        c = Client(url, verbose=False, download_files=False)
        for r in range(args.requests):
            a, api = list(calls(k + 1, r).values())[(k + r) % 3]
            t = time.perf_counter()
            try:
                c.predict(*a, api_name=api)
                decided = time.perf_counter() - t
                c.predict(api_name=explain_call(api))
                with lock:
                    lat.append(decided)
                    lat_explain.append(time.perf_counter() - t)
            except Exception as exc:  # noqa: BLE001
                with lock:
                    errors.append(repr(exc))

    server_cpu0, client_cpu0 = process_cpu_s(server.pid), own_cpu_s()
    t0 = time.perf_counter()
    threads = [threading.Thread(target=visitor, args=(k,)) for k in range(args.visitors)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    wall = time.perf_counter() - t0
    server_cpu, client_cpu = process_cpu_s(server.pid) - server_cpu0, own_cpu_s() - client_cpu0
    stop(server)
    q = np.percentile(np.array(lat) * 1000, [50, 95]) if lat else [float("nan")] * 2
    qe = np.percentile(np.array(lat_explain) * 1000, [50, 95]) if lat_explain else [float("nan")] * 2
    print(f"\nLoad run: {args.visitors} concurrent gradio_client visitors x {args.requests} comparisons "
          "(image / text / series in turn; each the decision, then its explanation, as the page asks)\n")
    print("| comparisons | errors | time to decision p50 / p95 | time to explanation p50 / p95 | wall time |"
          "\n|---|---|---|---|---|")
    print(f"| {len(lat) + len(errors)} | {len(errors)} | {q[0]:.0f} / {q[1]:.0f} ms | {qe[0]:.0f} / {qe[1]:.0f} ms | "
          f"{wall:.1f} s |")
    if errors:
        print("first error:", errors[0])
    print(f"\nCPU during the load run: server {server_cpu:.1f} s, the visitors' client threads {client_cpu:.1f} s "
          f"(of {2 * wall:.1f} core-seconds on 2 cores).")
    if not args.no_training:
        during_training()


if __name__ == "__main__":
    main()
