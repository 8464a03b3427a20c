"""The fine-tune tab driven through gradio_client: a short fine-tune on each sample dataset, the
model then used in its comparison tab; a second visitor never sees it; Cancel stops a run; every
bad upload gets its message and the app keeps serving."""
import io
import json
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
EX = ROOT / "examples"
pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402
from conftest import launch_app  # noqa: E402


@pytest.fixture(scope="module")
def app_url():
    from siamese_demo.limits import limits

    mp = pytest.MonkeyPatch()
    mp.setenv("SIAMESE_DEMO_ARCHIVE_BYTES", "2000000")  # small cap so the oversized-archive case stays small
    limits.cache_clear()
    yield from launch_app()
    mp.undo()
    limits.cache_clear()


SAMPLES = {"image": ("Image pairs", "omniglot-cnn"), "text": ("Text pairs", "text-transformer"),
           "timeseries": ("Time-series pairs", "series-lstm")}
SHORT = dict(epochs=3, patience=0, time_budget_s=60, seed=0)


def _start(client, modality, **kw):
    label, base = SAMPLES[modality]
    args = {"data_type": label, "use_sample": True, "upload": None, "base": base, **SHORT, **kw}
    return client.predict(**args, api_name="/start_finetune")


def _download(app_url: str, link_html: str) -> bytes:
    """Fetch a one-time download link from the report's HTML (raw HTTP, as a browser would)."""
    import re
    import urllib.request

    href = re.search(r"href='([^']+)'", link_html).group(1)
    with urllib.request.urlopen(app_url.rstrip("/") + href, timeout=30) as r:
        return r.read()


def _watch(client, timeout=240):
    return client.submit(api_name="/watch_finetune").result(timeout=timeout)


def _compare(client, modality, model):
    if modality == "image":
        a, b = handle_file(str(EX / "images" / "latin_c01_a.png")), handle_file(str(EX / "images" / "latin_c01_b.png"))
        return client.predict(a, b, model, True, 0.5, api_name="/compare_images")[0]
    if modality == "text":
        return client.predict("A woman is slicing an onion.", "A woman is cutting an onion.", model, True, 0.5,
                              api_name="/compare_texts")[0]
    s = (EX / "series" / "gunpoint_class1_a.txt").read_text()
    t = (EX / "series" / "gunpoint_class1_b.txt").read_text()
    return client.predict(None, s, None, t, model, True, 0.5, api_name="/compare_series")[0]


@pytest.mark.parametrize("modality", ["image", "text", "timeseries"])
def test_finetune_on_each_sample_then_use_the_model(app_url, modality):
    client = Client(app_url, verbose=False)
    label, base = SAMPLES[modality]
    summary = client.predict(modality_label=label, use_sample=True, upload=None, base_name=base, loss="triplet",
                             api_name="/check_data")
    assert summary[0]["splits"]["train"]["positive_pairs"] > 0 and "| train |" in summary[1]
    assert "| learning rate |" in summary[1] and "| loss | triplet | yours |" in summary[1]  # resolved, with why
    # a suggested margin is shown, not put into the form: a run takes what the benchmark and the CLI take
    assert summary[4] == {"__type__": "update"} and "A triplet margin on the scale of the base model" in summary[1]
    _start(client, modality)
    out = _watch(client)
    status, result = out[0], out[2]
    assert "Finished" in status, status
    assert result["finetuned_auc"] >= result["base_auc"], result
    assert "Base vs fine-tuned" in out[3]
    # the status says plainly whether the run improved on its base
    assert ("without improving on the base" in status) == (not result["improved"]), (status, result)
    assert result["outcome"] in status and "bundled sample dataset" in result["data_source"]
    data = _download(app_url, out[-1])
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = z.namelist()
        config = json.loads(z.read(next(n for n in names if n.endswith("/config.json"))))
        card = z.read(next(n for n in names if n.endswith("/README.md"))).decode()
    assert any(n.endswith("model.safetensors") for n in names) and any(n.endswith("report.json") for n in names)
    assert "bundled sample dataset" in card and "uploaded dataset" not in card  # the data actually used
    msg = client.predict(api_name="/use_finetuned_model")
    assert result["model"] in msg[0]
    payload = _compare(client, modality, result["model"])
    assert payload["model"] == result["model"] and payload["decision"] in ("same", "different")
    # one threshold: the report's is the saved config's and the one the comparison tab uses
    assert config["threshold"] == pytest.approx(result["finetuned_threshold"], abs=1e-9)
    assert payload["threshold"] == round(result["finetuned_threshold"], 4)

    other = Client(app_url, verbose=False)  # another visitor
    with pytest.raises(AppError, match="not one of the models offered here"):
        _compare(other, modality, result["model"])
    with pytest.raises(AppError, match="no finished run"):
        other.predict(api_name="/use_finetuned_model")
    assert "No run yet" in _watch(other)[0]


def test_cancel_stops_a_run_and_keeps_the_best_model(app_url):
    client = Client(app_url, verbose=False)
    _start(client, "timeseries", epochs=100, time_budget_s=300)
    watcher = client.submit(api_name="/watch_finetune")
    with pytest.raises(AppError, match="already have a training run"):
        _start(client, "timeseries")
    time.sleep(4)
    t = time.time()
    assert "Cancelling" in client.predict(api_name="/cancel_finetune")
    out = watcher.result(timeout=60)
    assert time.time() - t < 30
    assert "cancelled" in out[0] and out[2]["stopped"] == "cancelled", out[:3]
    assert out[2]["finetuned_auc"] > 0  # the best model so far was evaluated and kept


def _zip(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


def _png(seed: int) -> bytes:
    arr = (np.random.default_rng(seed).random((20, 20)) > 0.5).astype(np.uint8) * 255
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="PNG")
    return buf.getvalue()


BAD = {  # case -> (data type, file name, content, expected message)
    "wrong columns": ("Text pairs", "bad.csv", b"sentence,score\nhello,1\n", "not recognised"),
    "one class": ("Text pairs", "one.csv", b"text,label\n" + b"".join(b"text %d,same\n" % i for i in range(12)),
                  "only one class"),
    "one sample per class": ("Text pairs", "single.csv",
                             b"text,label\n" + b"".join(b"text %d,c%d\n" % (i, i) for i in range(12)), "single sample"),
    "non-UTF-8 text": ("Text pairs", "latin1.csv", "text,label\ncaf\u00e9,a\n".encode("latin-1"), "not UTF-8"),
    "corrupt images": ("Image pairs", "corrupt.zip", _zip({"a/1.png": b"not a png", "b/2.png": b"nope"}),
                       "not a readable image"),
    "zip with .. paths": ("Image pairs", "evil.zip", _zip({"../a/1.png": _png(0), "b/2.png": _png(1)}),
                          "outside the archive"),
    "oversized archive": ("Image pairs", "big.zip", _zip({"a/1.png": _png(0), "a/big.bin": bytes(3_000_000)}),
                          "MB uncompressed"),
    "wrong series layout": ("Time-series pairs", "bad.tsv", b"1\t0.5\n", "expected the class label"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_uploads_get_their_message(app_url, tmp_path, case):
    client = Client(app_url, verbose=False)
    label, name, content, message = BAD[case]
    base = {v[0]: v[1] for v in SAMPLES.values()}[label]
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(AppError, match=message):
        client.predict(modality_label=label, use_sample=False, upload=handle_file(str(path)), base_name=base,
                       api_name="/check_data")
    with pytest.raises(AppError, match=message):  # Start refuses it too, before queueing anything
        client.predict(data_type=label, use_sample=False, upload=handle_file(str(path)), base=base,
                       api_name="/start_finetune")
    assert "No run yet" in _watch(client)[0]  # nothing was queued, and the app still answers


def test_out_of_range_learning_rate_is_refused_and_the_worker_keeps_serving(app_url):
    client = Client(app_url, verbose=False)
    before = _compare(client, "timeseries", "series-lstm")
    with pytest.raises(AppError, match=r"lr: 1e\+30 is out of range; expected a number from 0 to 1"):
        _start(client, "timeseries", lr=1e30, optimizer="sgd")
    with pytest.raises(AppError, match="no finished run"):
        client.predict(api_name="/use_finetuned_model")
    after = _compare(client, "timeseries", "series-lstm")
    assert after["distance"] == before["distance"]  # the shared base model was not modified
    _start(client, "timeseries", epochs=1)  # the worker keeps serving
    assert "Finished" in _watch(client)[0]


def test_pairs_csv_with_default_settings_completes_and_the_upload_wins_over_the_sample(app_url, tmp_path):
    """text_a,text_b,label (the layout of most paraphrase sets) with every setting left at its default:
    the loss resolves to contrastive (pairs), and the upload is used although the sample box is ticked."""
    import synthetic as syn

    a, b, y = syn.text_pairs(120, 0)
    csv = tmp_path / "pairs.csv"
    csv.write_text("text_a,text_b,label\n" + "".join(f'"{x}","{z}",{int(v)}\n' for x, z, v in zip(a, b, y)))
    client = Client(app_url, verbose=False)
    summary = client.predict(modality_label="Text pairs", use_sample=True, upload=handle_file(str(csv)),
                             base_name="text-transformer", api_name="/check_data")
    assert summary[0]["kind"] == "pairs" and "contrastive" in summary[1], summary[1]
    client.predict(data_type="Text pairs", use_sample=True, upload=handle_file(str(csv)), base="text-transformer",
                   time_budget_s=15, epochs=2, api_name="/start_finetune")
    out = _watch(client)
    assert "Finished" in out[0] or "best model" in out[0], out[0]
    assert "pairs" in out[2]["model"]  # named after the upload, not the sample


def test_same_seed_same_numbers_while_other_visitors_compare_and_check_data(app_url):
    """A run's augmentation, dropout and mining draw from torch's global generator; another visitor's
    'Check the data' with a from-scratch base initialises that model at its own seed meanwhile. The
    run's report numbers must not change (siamese_demo.rng)."""
    import threading

    def run() -> dict:
        client = Client(app_url, verbose=False)
        _start(client, "timeseries", epochs=6)
        return _watch(client)[2]

    solo = run()
    stop, calls = threading.Event(), []

    def other_visitor():
        c = Client(app_url, verbose=False)
        s = (EX / "series" / "gunpoint_class1_a.txt").read_text()
        while not stop.is_set():
            c.predict(modality_label="Time-series pairs", use_sample=True, upload=None,
                      base_name="from scratch: transformer", split_mode="auto", loss="auto", seed=len(calls) + 1,
                      api_name="/check_data")
            c.predict(None, s, None, s, "series-lstm", True, 0.5, api_name="/compare_series")
            calls.append(1)

    threads = [threading.Thread(target=other_visitor) for _ in range(2)]
    [t.start() for t in threads]
    try:
        busy = run()
    finally:
        stop.set()
        [t.join() for t in threads]
    assert len(calls) >= 2  # the other visitors were busy during the run
    keys = [k for k in solo if k.startswith(("base_", "finetuned_"))] + ["best_epoch"]
    assert {k: busy[k] for k in keys} == {k: solo[k] for k in keys}


def test_check_data_says_when_the_base_does_not_suit_the_data(app_url, tmp_path):
    """Colour photos with the handwriting base: 'Check the data' says so and names a base that knows
    photos; the bundled ink sample gets no such warning."""
    def photo(seed: int) -> bytes:
        rng = np.random.default_rng(seed)
        y, x = np.mgrid[0:64, 0:64] / 64.0
        arr = np.stack([y, x, rng.random() * np.ones_like(x)], -1) * 255  # smooth colour gradients
        buf = io.BytesIO()
        Image.fromarray(arr.astype(np.uint8)).save(buf, format="JPEG")
        return buf.getvalue()

    path = tmp_path / "photos.zip"
    path.write_bytes(_zip({f"c{c}/{i}.jpg": photo(10 * c + i) for c in range(2) for i in range(8)}))
    client = Client(app_url, verbose=False)
    _, md, *_ = client.predict(modality_label="Image pairs", use_sample=False, upload=handle_file(str(path)),
                               base_name="omniglot-cnn", api_name="/check_data")
    assert "does not suit this data" in md and "image-efficientnet-lite0" in md
    _, md, *_ = client.predict(modality_label="Image pairs", use_sample=True, upload=None, base_name="omniglot-cnn",
                               api_name="/check_data")
    assert "does not suit" not in md
