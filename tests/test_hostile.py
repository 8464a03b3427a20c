"""The app under hostile input, driven headlessly through gradio_client (and raw HTTP where the client
cannot send the payload): every model name outside the tab's catalogue, every limit, every malformed
number, series, image and dataset upload, and one visitor poking at another's run. Each refusal must
carry a clear message that reveals nothing about the server; after all of it the app still compares.

Everything is generated in memory here: no large files in the repository.
"""
from __future__ import annotations

import io
import json
import re
import stat
import struct
import tempfile
import urllib.error
import urllib.request
import zipfile
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
EX = ROOT / "examples"
pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

SHIPPED = {"image": "omniglot-cnn", "text": "text-transformer", "timeseries": "series-lstm"}
OTHER_MODALITY = {"image": "text-transformer", "text": "omniglot-cnn", "timeseries": "omniglot-cnn"}
ENDPOINT = {"image": "/compare_images", "text": "/compare_texts", "timeseries": "/compare_series"}
NOT_OFFERED = "not one of the models offered here"
# What a refusal must never show: internals (exception reprs, tracebacks, server paths)...
INTERNALS = ("Error(", "Traceback", "/work/", 'File "', "site-packages", "<class ", "/tmp/gradio")
# Gradio's own text when an exception escaped the app's handlers (e.g. in a component's preprocess)
UNHANDLED = "verbose error reporting"
# ...and, for a refused model name, anything about the filesystem.
FS_HINTS = ("checkpoint folder", "file not found", "No such file", "not found", "does not exist",
            "config.json", "safetensors", "directory", "Permission")
SINE = " ".join(f"{v:.4f}" for v in np.sin(np.linspace(0, 12, 120)))
COS = " ".join(f"{v:.4f}" for v in np.cos(np.linspace(0, 12, 120)))


# ----------------------------------------------------------------------------- helpers
def _img(name: str = "latin_c01_a.png"):
    return handle_file(str(EX / "images" / name))


def _no_internals(msg: str, echoed: str = "") -> None:
    shown = msg.replace(echoed[:80], "") if echoed else msg
    for bad in INTERNALS:
        assert bad not in shown, f"the message shows internals ({bad!r}): {msg!r}"
    assert UNHANDLED not in shown, f"an exception escaped the app's handlers (no message for the visitor): {msg!r}"


def _refusal(client, *args, api_name: str, echoed: str = "", **kwargs) -> str:
    """The message of the AppError the call must raise (checked for internals)."""
    with pytest.raises(AppError) as exc:
        client.predict(*args, api_name=api_name, **kwargs)
    msg = str(exc.value)
    _no_internals(msg, echoed)
    return msg


def _compare_args(modality: str, model: str, use_saved=True, threshold=0.5) -> tuple:
    if modality == "image":
        return _img("latin_c01_a.png"), _img("latin_c01_b.png"), model, use_saved, threshold
    if modality == "text":  # texts that look like paths: they are texts, nothing more
        return "/etc/passwd", "/etc/hostname", model, use_saved, threshold
    return None, SINE, None, COS, model, use_saved, threshold


def _assert_serving(client) -> None:
    """A normal comparison on each tab still works."""
    for modality in ("image", "text", "timeseries"):
        out = client.predict(*_compare_args(modality, SHIPPED[modality]), api_name=ENDPOINT[modality])[0]
        assert out["decision"] in ("same", "different") and 0 <= out["score"] <= 1, out


def _raw_call(app_url: str, api: str, data: list) -> tuple[str, str]:
    """Call an endpoint over Gradio's HTTP API with a body gradio_client cannot send (NaN, lone
    surrogates: httpx refuses both). Returns (event, data) of the final server-sent event."""
    base = app_url.rstrip("/")
    body = json.dumps({"data": data}).encode("ascii")  # ensure_ascii: a lone surrogate travels as \\ud800
    req = urllib.request.Request(f"{base}/gradio_api/call/{api}", data=body,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        event_id = json.load(r)["event_id"]
    with urllib.request.urlopen(f"{base}/gradio_api/call/{api}/{event_id}", timeout=120) as r:
        text = r.read().decode("utf-8", "replace")
    events = re.findall(r"^event: (\w+)\ndata: (.*)$", text, re.M)
    assert events, text
    return events[-1]


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _png_header_bomb(w: int, h: int, rows: int = 32) -> bytes:
    """A 1-bit greyscale PNG that claims w x h pixels but holds only its first ``rows`` rows: a
    few hundred bytes that would decode to a huge image."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = (b"\x00" + b"\x00" * ((w + 7) // 8)) * rows
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def _png_mode1(w: int, h: int) -> bytes:
    """A complete, valid 1-bit PNG (tiny on disk: all zeros compress ~1000:1)."""
    buf = io.BytesIO()
    Image.new("1", (w, h)).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def _small_img(seed: int, fmt: str = "PNG") -> bytes:
    rng = np.random.default_rng(seed)
    arr = np.zeros((24, 24), np.uint8)
    k = seed % 4
    arr[4 + k:20, 4:6 + 3 * k] = 255  # a class-dependent stroke plus noise
    arr |= (rng.random((24, 24)) > 0.9).astype(np.uint8) * 255
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format=fmt)
    return buf.getvalue()


def _image_set(fmt: str = "PNG", ext: str = "png", classes: int = 4, per_class: int = 8) -> dict[str, bytes]:
    return {f"c{c}/{i}.{ext}": _small_img(c + 4 * i, fmt) for c in range(classes) for i in range(per_class)}


def _zip(entries: dict[str, bytes] | list[tuple[zipfile.ZipInfo | str, bytes]],
         method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in (entries.items() if isinstance(entries, dict) else entries):
            z.writestr(name, data, compress_type=method)
    return buf.getvalue()


def _symlink_entry(name: str, target: str) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    info.create_system = 3
    return info, target.encode()


def _zip_bomb() -> bytes:
    """One 120 MB entry of zeros (over the 100 MB archive cap), about 120 KB compressed."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, data in _image_set(classes=2, per_class=4).items():
            z.writestr(name, data)
        with z.open("c0/bomb.png", "w", force_zip64=True) as f:
            block = bytes(8_000_000)
            for _ in range(15):
                f.write(block)
    return buf.getvalue()


def _lying_zip() -> bytes:
    """An entry whose central directory claims 10 bytes but inflates to 5 MB (a size-lying bomb)."""
    data = bytearray(_zip({**_image_set(classes=2, per_class=4), "c1/liar.png": bytes(5_000_000)}))
    name = b"c1/liar.png"
    true_size = struct.pack("<I", 5_000_000)
    for sig in (b"PK\x03\x04", b"PK\x01\x02"):  # local header (size at +22) and central record (+24)
        start = 0
        while (i := data.find(sig, start)) >= 0:
            start = i + 4
            off = 22 if sig == b"PK\x03\x04" else 24
            nlen_off = 26 if sig == b"PK\x03\x04" else 28
            nlen = struct.unpack("<H", data[i + nlen_off:i + nlen_off + 2])[0]
            hdr = 30 if sig == b"PK\x03\x04" else 46
            if bytes(data[i + hdr:i + hdr + nlen]) == name and data[i + off:i + off + 4] == true_size:
                data[i + off:i + off + 4] = struct.pack("<I", 10)
    return bytes(data)


# ============================================================================ 1. the model catalogue
REPO_MODEL = str((ROOT / "models" / "omniglot-cnn").resolve())
PATH_NAMES = ["/etc", "../../../../etc", "/tmp", "models/omniglot-cnn", REPO_MODEL, "hub:anything",
              "hub:torchvision/resnet18", "yours: x", "omniglot-cnn/../text-transformer", "series-lstm\x00"]


def _check_catalogue_refusal(msg: str, name: str) -> None:
    assert NOT_OFFERED in msg, msg
    shown = msg.replace(name[:80], "")
    for hint in FS_HINTS:
        assert hint not in shown, f"the refusal of {name!r} reveals the filesystem ({hint!r}): {msg!r}"
    _no_internals(msg, name)


@pytest.mark.parametrize("modality", ["image", "text", "timeseries"])
@pytest.mark.parametrize("name", ["other modality", *PATH_NAMES])
def test_compare_refuses_names_outside_the_catalogue(client, modality, name):
    name = OTHER_MODALITY[modality] if name == "other modality" else name
    with pytest.raises(AppError) as exc:
        client.predict(*_compare_args(modality, name), api_name=ENDPOINT[modality])
    _check_catalogue_refusal(str(exc.value), name)


@pytest.mark.parametrize("modality", ["image", "text", "timeseries"])
def test_compare_with_no_model_says_choose_one(client, modality):
    msg = _refusal(client, *_compare_args(modality, ""), api_name=ENDPOINT[modality])
    assert "choose a model first" in msg, msg


@pytest.mark.parametrize("modality", ["image", "text", "timeseries"])
@pytest.mark.parametrize("name", ["other modality", REPO_MODEL, "yours: x"])
def test_model_picker_and_threshold_endpoints_refuse_them_too(client, modality, name):
    name = OTHER_MODALITY[modality] if name == "other modality" else name
    for api, args in ((f"/select_model_{modality}", (name,)), (f"/set_threshold_{modality}", (name, 0.5)),
                      (f"/use_saved_threshold_{modality}", (name, True))):
        with pytest.raises(AppError) as exc:
            client.predict(*args, api_name=api)
        _check_catalogue_refusal(str(exc.value), name)


@pytest.mark.parametrize("name", ["/etc", "../../../../etc", REPO_MODEL, "text-transformer", "yours: x"])
def test_finetune_base_outside_the_catalogue_is_refused(client, name):
    with pytest.raises(AppError) as exc:
        client.predict("Image pairs", True, None, name, "auto", "triplet", 0, api_name="/check_data")
    _check_catalogue_refusal(str(exc.value), name)
    with pytest.raises(AppError) as exc:
        client.predict(data_type="Image pairs", use_sample=True, upload=None, base=name, epochs=1,
                       api_name="/start_finetune")
    _check_catalogue_refusal(str(exc.value), name)


@pytest.mark.parametrize("api,args", [("/compare_text_encoders", ("/etc/passwd", "../../etc/shadow")),
                                      ("/compare_series_encoders", (None, "/etc", None, SINE))])
def test_encoder_views_treat_paths_as_inputs(client, api, args):
    if api == "/compare_text_encoders":  # a path is just a text here
        rows = client.predict(*args, api_name=api)
        assert {r[0] for r in rows["data"]} == {"text-minilm", "text-transformer", "text-lstm"}, rows
    else:  # and not numbers there
        msg = _refusal(client, *args, api_name=api)
        assert "first series" in msg, msg


# ============================================================================ 2. limits and messages
def test_text_over_the_character_limit(client):
    msg = _refusal(client, "a" * 20_001, "hello", "text-transformer", True, 0.5, api_name="/compare_texts")
    assert "the limit is 20,000" in msg and "first text" in msg, msg
    msg = _refusal(client, "hello", "b " * 10_001, "text-lstm", True, 0.5, api_name="/compare_texts")
    assert "the limit is 20,000" in msg and "second text" in msg, msg
    msg = _refusal(client, "x" * 20_001, "y", api_name="/compare_text_encoders")
    assert "the limit is 20,000" in msg, msg


@pytest.mark.parametrize("api,data", [
    ("compare_texts", ["caf\ud800", "cafe", "text-transformer", True, 0.5]),
    ("compare_texts", ["fine", "\udfff tail", "text-lstm", True, 0.5]),
    ("compare_text_encoders", ["\ud800", "x"]),
])
def test_lone_surrogate_is_not_valid_unicode(app_url, api, data):
    event, payload = _raw_call(app_url, api, data)
    assert event == "error" and "not valid Unicode" in payload, (event, payload)
    _no_internals(payload)


def test_nul_character_in_text(client):
    assert "NUL" in _refusal(client, "a\x00b", "ab", "text-transformer", True, 0.5, api_name="/compare_texts")


BAD_THRESHOLDS = ["abc", "nan", -1, 1e300]
# the allowed range of a threshold is the range of the model's distance (siamese_demo.distances.distance_range)
THRESHOLD_RANGE = {"image": "from 0 to 1e+06", "text": "from 0 to 2", "timeseries": "from 0 to 1e+06"}


@pytest.mark.parametrize("modality", ["image", "text", "timeseries"])
@pytest.mark.parametrize("value", BAD_THRESHOLDS)
def test_bad_threshold_on_compare(client, modality, value):
    msg = _refusal(client, *_compare_args(modality, SHIPPED[modality], use_saved=False, threshold=value),
                   api_name=ENDPOINT[modality])
    assert "threshold" in msg and THRESHOLD_RANGE[modality] in msg, msg


def test_cosine_threshold_above_two(client):
    msg = _refusal(client, *_compare_args("text", "text-lstm", use_saved=False, threshold=2.5),
                   api_name="/compare_texts")
    assert "threshold" in msg and "from 0 to 2" in msg, msg


@pytest.mark.parametrize("modality", ["text", "timeseries"])
@pytest.mark.parametrize("value", BAD_THRESHOLDS)
def test_bad_threshold_on_the_slider_endpoint(client, modality, value):
    client.predict(*_compare_args(modality, SHIPPED[modality]), api_name=ENDPOINT[modality])
    msg = _refusal(client, SHIPPED[modality], value, api_name=f"/set_threshold_{modality}")
    assert "threshold" in msg and THRESHOLD_RANGE[modality] in msg, msg


@pytest.mark.parametrize("api,data", [
    ("compare_texts", ["a dog", "a cat", "text-transformer", False, float("nan")]),
    ("compare_series", [None, SINE, None, COS, "series-lstm", False, float("-inf")]),
    ("set_threshold_text", ["text-transformer", float("nan")]),
])
def test_non_finite_threshold_over_raw_http(app_url, api, data):
    event, payload = _raw_call(app_url, api, data)
    assert event == "error" and "threshold" in payload and "from 0 to" in payload, (event, payload)
    _no_internals(payload)


def test_bad_threshold_is_ignored_when_the_saved_one_is_used(client):
    out = client.predict("A man is playing a guitar.", "A man plays the guitar.", "text-transformer", True, "abc",
                         api_name="/compare_texts")[0]
    assert out["same"] and 0 < out["threshold"] < 1, out


def _zeros(n: int, sep: str = " ") -> str:
    return sep.join(["0"] * n)


SERIES_CASES = {  # name -> (pasted first series, key phrase)
    "thousands separator": ("1,000 2,000 3,000", "thousands separator"),
    "1e308": ("1\n2\n1e308\n4", "too large"),
    "1e16 over abs cap": ("1 2 1e16 4", "too large"),
    "inf in a column": ("1\n2\ninf\n4", "infinite"),
    "inf on one line": ("1 2 inf 4", "infinite"),
    "-inf in a column": ("1\n-inf\n3", "infinite"),
    "nan inside": ("1\n2\nnan\n4\n5", "missing (NaN)"),
    "nan on one line": ("1 2 nan 4 5", "missing (NaN)"),
    "steps over 20,000": (_zeros(20_001), "20,000"),
    "channels over 64": ("\n".join([_zeros(65, ",")] * 3), "64"),
    "values over 200,000": ("\n".join([_zeros(25, ",")] * 8_001), "200,000"),
    "paste over 1,000,000 chars": ("1" + " " * 1_000_000, "1,000,000"),
    "words": ("one two three", "no numbers"),
}


@pytest.mark.parametrize("case", list(SERIES_CASES))
def test_bad_pasted_series(client, case):
    text, phrase = SERIES_CASES[case]
    msg = _refusal(client, None, text, None, SINE, "series-lstm", True, 0.5, api_name="/compare_series")
    assert phrase in msg and "first series" in msg, msg
    if case in ("steps over 20,000", "channels over 64", "values over 200,000", "paste over 1,000,000 chars"):
        assert "limit" in msg, msg


def test_series_checks_also_guard_the_encoder_view_and_the_second_side(client):
    msg = _refusal(client, None, SINE, None, "1,000 2,000", api_name="/compare_series_encoders")
    assert "thousands separator" in msg and "second series" in msg, msg


def test_series_file_upload_not_utf8_and_with_inf(client, tmp_path):
    bad = tmp_path / "latin1.csv"
    bad.write_bytes("valeur\n1,5\n2\xe9\n".encode("latin-1"))
    assert "not UTF-8" in _refusal(client, handle_file(str(bad)), "", None, SINE, "series-lstm", True, 0.5,
                                   api_name="/compare_series")
    inf = tmp_path / "inf.csv"
    inf.write_text("v\n1\n2\ninf\n4\n")
    assert "infinite" in _refusal(client, handle_file(str(inf)), "", None, SINE, "series-lstm", True, 0.5,
                                  api_name="/compare_series")


@pytest.fixture(scope="module")
def bomb_png(tmp_path_factory) -> Path:
    p = tmp_path_factory.mktemp("img") / "bomb.png"
    p.write_bytes(_png_header_bomb(30_000, 30_000))
    assert p.stat().st_size < 5_000
    return p


def test_decompression_bomb_png_on_the_image_tab(client, bomb_png):
    msg = _refusal(client, handle_file(str(bomb_png)), _img(), "omniglot-cnn", True, 0.5, api_name="/compare_images")
    assert "megapixels" in msg and "25" in msg, msg
    msg = _refusal(client, _img(), handle_file(str(bomb_png)), "omniglot-cnn", True, 0.5, api_name="/compare_images")
    assert "megapixels" in msg, msg


def test_valid_png_just_over_the_pixel_limit(client, tmp_path):
    p = tmp_path / "wide.png"
    p.write_bytes(_png_mode1(5_000, 5_001))  # 25.005 MP: under Pillow's own bomb limit, over ours
    assert p.stat().st_size < 20_000
    msg = _refusal(client, handle_file(str(p)), _img(), "omniglot-cnn", True, 0.5, api_name="/compare_images")
    assert "megapixels" in msg and "25,000,000" in msg, msg


@pytest.mark.parametrize("case", ["text as png", "1x1 image", "truncated png"])
def test_unreadable_images(client, tmp_path, case):
    p = tmp_path / "x.png"
    if case == "text as png":
        p.write_bytes(b"root:x:0:0:root:/root:/bin/bash\n")
        phrase = "not a readable image"
    elif case == "1x1 image":
        Image.new("L", (1, 1)).save(p)
        phrase = "too small"
    else:
        p.write_bytes(_small_img(0)[:60])
        phrase = "corrupt"
    msg = _refusal(client, handle_file(str(p)), _img(), "omniglot-cnn", True, 0.5, api_name="/compare_images")
    assert phrase in msg or (case == "truncated png" and "not a readable image" in msg), msg


def test_inputs_exactly_at_the_limits_are_accepted(client):
    out = client.predict("a " * 10_000, "a " * 9_999 + "b", "text-lstm", True, 0.5, api_name="/compare_texts")[0]
    assert out["decision"] in ("same", "different")
    steps = " ".join(f"{v:.3f}" for v in np.sin(np.linspace(0, 60, 20_000)))
    out = client.predict(None, steps, None, SINE, "series-lstm", True, 0.5, api_name="/compare_series")[0]
    assert out["decision"] in ("same", "different")


def test_still_serving_after_the_refusals_so_far(client):
    _assert_serving(client)


# ============================================================================ 3. fine-tune settings
RANGE_CASES = {  # setting -> (value, phrase the refusal must hold besides the name)
    "margin": (-5, "from 0 to 10"),
    "target_far": (2, "above 0 up to 1"),
    "seed": (-1, "from 0 to 4,294,967,295"),
    "seed ": (2**70, "from 0 to 4,294,967,295"),
    "lr": (float("nan"), "from 0 to 1"),
    "batch_size": (2, "from 4 to 512"),
    "epochs": (0, "from 1 to 200"),
    "time_budget_s": (100_000, "300"),
    "loss": ("unknown", "contrastive"),
    "optimizer": ("rmsprop-evil", "adamw"),
}


@pytest.fixture(scope="module")
def settings_client(app_url):
    return Client(app_url, verbose=False)


@pytest.mark.parametrize("setting", list(RANGE_CASES))
def test_finetune_setting_out_of_range_is_refused_before_queueing(app_url, settings_client, setting):
    value, phrase = RANGE_CASES[setting]
    name = setting.strip()
    kwargs = dict(data_type="Time-series pairs", use_sample=True, upload=None, base="series-lstm", epochs=1,
                  time_budget_s=10)
    kwargs[name] = value
    if isinstance(value, float) and value != value:  # NaN: httpx will not send it, so raw HTTP
        from siamese_demo import settings

        order = ["data_type", "use_sample", "upload", "base", *settings.NAMES]  # the API's order
        defaults = settings.defaults()
        event, msg = _raw_call(app_url, "start_finetune", [{**defaults, **kwargs}[k] for k in order])
        assert event == "error", (event, msg)
        _no_internals(msg)
    else:
        msg = _refusal(settings_client, api_name="/start_finetune", **kwargs)
    assert name in msg and phrase in msg, msg
    assert "No run yet" in settings_client.submit(api_name="/watch_finetune").result(timeout=30)[0]


@pytest.mark.parametrize("args,phrases", [
    (("Text pairs", True, None, "text-transformer", "auto", "triplet", -1), ("seed", "4,294,967,295")),
    (("Text pairs", True, None, "text-transformer", "auto", "triplet", 2**70), ("seed", "4,294,967,295")),
    (("Text pairs", True, None, "text-transformer", "auto", "evil", 0), ("loss", "triplet")),
    (("Text pairs", True, None, "text-transformer", "sideways", "triplet", 0), ("split", "by class")),
    (("Audio pairs", True, None, "text-transformer", "auto", "triplet", 0), ("data type", "Text pairs")),
    (("Text pairs", False, None, "text-transformer", "auto", "triplet", 0), ("upload a dataset",)),
], ids=["seed -1", "seed 2**70", "unknown loss", "unknown split", "unknown data type", "no data"])
def test_bad_check_data_settings(client, args, phrases):
    msg = _refusal(client, *args, api_name="/check_data")
    assert all(p in msg for p in phrases), msg


def test_bad_upload_is_refused_by_start_too_before_queueing(settings_client, tmp_path):
    path = tmp_path / "evil.zip"
    path.write_bytes(_zip({**_image_set(), "../../evil.png": _small_img(1)}))
    msg = _refusal(settings_client, data_type="Image pairs", use_sample=False, upload=handle_file(str(path)),
                   base="omniglot-cnn", epochs=1, api_name="/start_finetune")
    assert "outside the archive" in msg, msg
    assert "No run yet" in settings_client.submit(api_name="/watch_finetune").result(timeout=30)[0]


# ============================================================================ 4. dataset uploads
def _tiny_csv(header: str, rows: list[str]) -> bytes:
    return (header + "\n" + "\n".join(rows) + "\n").encode()


TEXT_OK_ROWS = [f"sentence number {i} about topic {i % 4},t{i % 4}" for i in range(24)]
SERIES_ROWS = [f"{c}," + ",".join(f"{np.sin(t * (c + 1)):.3f}" for t in np.linspace(0, 6, 30))
               for c in range(3) for _ in range(6)]
SERIES_OK = "\n".join(SERIES_ROWS)

ANY_CLEAN = "accepted, or refused with a clean message"
UPLOADS = {  # case -> (data type, file name, content (or a builder), key phrase; None = accepted)
    "zip: '..' entry": ("Image pairs", "dotdot.zip", lambda: _zip({**_image_set(), "../evil.png": _small_img(1)}),
                        "outside the archive"),
    "zip: nested '..' entry": ("Image pairs", "dotdot2.zip",
                               lambda: _zip({**_image_set(), "c0/../../../tmp/x.png": _small_img(1)}),
                               "outside the archive"),
    "zip: absolute entry": ("Image pairs", "abs.zip", lambda: _zip({**_image_set(), "/etc/evil.png": _small_img(1)}),
                            "absolute path"),
    "zip: windows absolute entry": ("Image pairs", "win.zip",
                                    lambda: _zip({**_image_set(), "C:\\evil.png": _small_img(1)}), "absolute path"),
    "zip: symlink entry": ("Image pairs", "link.zip",
                           lambda: _zip([*_image_set().items(), _symlink_entry("c0/passwd.png", "/etc/passwd")]),
                           "symbolic link"),
    "zip: 120 MB bomb": ("Image pairs", "bomb.zip", _zip_bomb, "MB uncompressed"),
    "zip: entry lying about its size": ("Image pairs", "liar.zip", _lying_zip, "cannot be read"),
    "zip: 5,000 tiny files": ("Image pairs", "many.zip",
                              lambda: _zip({f"c{i % 5}/{i}.png": b"" for i in range(5_000)}, zipfile.ZIP_STORED),
                              "over the limit of 3,000"),
    "zip: corrupt image": ("Image pairs", "corrupt.zip",
                           lambda: _zip({**_image_set(), "c1/broken.png": b"\x89PNG\r\n\x1a\nnot really"}),
                           "not a readable image"),
    "zip: decompression-bomb png": ("Image pairs", "pixels.zip",
                                    lambda: _zip({**_image_set(), "c2/huge.png": _png_header_bomb(30_000, 30_000)}),
                                    "megapixels"),
    "zip: text file named .png": ("Image pairs", "textpng.zip",
                                  lambda: _zip({**_image_set(), "c1/passwd.png": b"root:x:0:0:root:/root:/bin/sh\n"}),
                                  "not a readable image"),
    "zip: not a zip": ("Image pairs", "fake.zip", lambda: b"PK\x03\x04 this is not a zip", "not a readable zip"),
    "zip: PGM images are accepted": ("Image pairs", "pgm.zip", lambda: _zip(_image_set("PPM", "pgm")), None),
    "zip: macOS junk and a wrapping folder are accepted": (
        "Image pairs", "mac.zip", lambda: _zip({**{f"set/{k}": v for k, v in _image_set().items()},
                                               "__MACOSX/set/._c0": b"\x00\x05junk", "set/.DS_Store": b"junk"}), None),
    "csv: non-UTF-8": ("Text pairs", "latin1.csv", lambda: "text,label\ncaf\u00e9,a\n".encode("latin-1"), "not UTF-8"),
    "csv: no header": ("Text pairs", "nohead.csv", lambda: _tiny_csv(TEXT_OK_ROWS[0], TEXT_OK_ROWS[1:]),
                       "not recognised"),
    "csv: empty": ("Text pairs", "empty.csv", lambda: b"", "empty"),
    "csv: blank lines only": ("Text pairs", "blank.csv", lambda: b"\n \n\t\n", "empty"),
    "csv: unknown columns": ("Text pairs", "cols.csv", lambda: _tiny_csv("sentence1,sentence2,score", ["a,b,1"]),
                             "not recognised"),
    "csv: label out of range": ("Text pairs", "range.csv",
                                lambda: _tiny_csv("text_a,text_b,label", [f"a {i},b {i},{i % 2}" for i in range(20)]
                                                  + ["x,y,7"]), "between 0 and 5"),
    "csv: negative label": ("Text pairs", "neg.csv",
                            lambda: _tiny_csv("text_a,text_b,label", [f"a {i},b {i},{i % 2}" for i in range(20)]
                                              + ["x,y,-1"]), "between 0 and 5"),
    "csv: 20,001-char cell": ("Text pairs", "long.csv",
                              lambda: _tiny_csv("text,label", TEXT_OK_ROWS + ["z" * 20_001 + ",t1"]), "20,000"),
    "csv: over 5,000 rows": ("Text pairs", "rows.csv",
                             lambda: _tiny_csv("text,label", [f"t{i},c{i % 3}" for i in range(5_001)]), "5,000"),
    "csv: over 3,000 samples": ("Text pairs", "samples.csv",
                                lambda: _tiny_csv("text,label", [f"t{i},c{i % 3}" for i in range(3_001)]), "3,000"),
    "csv: NUL byte in a cell": ("Text pairs", "nul.csv",  # either outcome, but a clean one
                                lambda: _tiny_csv("text,label", TEXT_OK_ROWS + ["a\x00b,t1"]), ANY_CLEAN),
    "csv: BOM and CRLF are accepted": ("Text pairs", "bom.csv",
                                       lambda: b"\xef\xbb\xbf" + _tiny_csv("text,label", TEXT_OK_ROWS).replace(
                                           b"\n", b"\r\n"), None),
    "csv: labelled texts are accepted": ("Text pairs", "ok.csv", lambda: _tiny_csv("text,label", TEXT_OK_ROWS), None),
    "series csv: non-numeric": ("Time-series pairs", "words.csv",
                                lambda: (SERIES_OK + "\n1,0.1,abc,0.3,0.4\n").encode(), "not a number"),
    "series csv: inf": ("Time-series pairs", "inf.csv", lambda: (SERIES_OK + "\n1,0.1,inf,0.3,0.4\n").encode(),
                        "infinite"),
    "series csv: NaN inside": ("Time-series pairs", "nan.csv",
                               lambda: (SERIES_OK + "\n1,0.1,nan,0.3,0.4\n").encode(), "missing (NaN)"),
    "series csv: 1e308": ("Time-series pairs", "big.csv", lambda: (SERIES_OK + "\n1,0.1,1e308,0.3\n").encode(),
                          "too large"),
    "series csv: thousands separators": ("Time-series pairs", "sep.tsv",
                                         lambda: ("\n".join(r.replace(",", "\t") for r in SERIES_ROWS)
                                                  + "\n1\t1,000\t2,000\t3,000\n").encode(), "1,000"),
    "series csv: too many steps": ("Time-series pairs", "long.csv",
                                   lambda: (SERIES_OK + "\n1," + _zeros(20_001, ",") + "\n").encode(), "20,000"),
    "series csv: trailing NaN padding is accepted": ("Time-series pairs", "pad.csv",
                                                     lambda: (SERIES_OK + "\n1,0.1,0.2,0.3,nan,nan\n").encode(), None),
    "series csv: over 5,000 rows": ("Time-series pairs", "many.csv",
                                    lambda: "\n".join(f"{i % 3},0.1,0.2,0.3" for i in range(5_002)).encode(),
                                    "over the limit of 5,000"),
    "ts: ragged channels": ("Time-series pairs", "ragged.ts",
                            lambda: b"@problemName x\n@classLabel true a b\n@data\n1,2,3,4:5,6:a\n1,2,3:4,5,6:b\n",
                            "different lengths"),
    "ts: non-numeric": ("Time-series pairs", "words.ts", lambda: b"@classLabel true a b\n@data\n1,2,x,4:a\n",
                        "not a number"),
    "ts: inf": ("Time-series pairs", "inf.ts", lambda: b"@classLabel true a b\n@data\n1,2,inf,4:a\n1,2,3,4:b\n",
                "infinite"),
    "ts: NaN inside": ("Time-series pairs", "nan.ts",
                       lambda: b"@classLabel true a b\n@data\n1,NaN,3,4:a\n1,2,3,4:b\n", "missing (NaN)"),
    "ts: no @data": ("Time-series pairs", "nodata.ts", lambda: b"@classLabel true a b\n1,2,3:a\n", "@data"),
}
BASES = {"Image pairs": "omniglot-cnn", "Text pairs": "text-transformer", "Time-series pairs": "series-lstm"}


@pytest.mark.parametrize("case", list(UPLOADS))
def test_dataset_uploads(client, tmp_path, case):
    label, name, build, phrase = UPLOADS[case]
    path = tmp_path / name
    path.write_bytes(build())
    assert path.stat().st_size < 600_000, "keep generated uploads small"
    args = (label, False, handle_file(str(path)), BASES[label], "auto", "triplet", 0)
    if phrase == ANY_CLEAN:
        try:
            client.predict(*args, api_name="/check_data")
        except AppError as exc:
            _no_internals(str(exc))
            assert "Something went wrong" not in str(exc), str(exc)
        return
    if phrase is None:
        summary = client.predict(*args, api_name="/check_data")
        assert sum(s.get("samples", 0) for s in summary[0]["splits"].values()) >= 18, summary[0]
        return
    msg = _refusal(client, *args, api_name="/check_data")
    assert phrase in msg, msg
    assert "gradio" not in msg, f"the message shows a server path: {msg!r}"


def _file_data(path: str) -> dict:
    return {"path": path, "meta": {"_type": "gradio.FileData"}, "orig_name": "data.csv"}


@pytest.mark.parametrize("api,data", [
    ("check_data", ["Text pairs", False, _file_data("/etc/passwd"), "text-transformer", "auto", "triplet", 0]),
    ("check_data", ["Time-series pairs", False, _file_data("../../../../etc/passwd"), "series-lstm", "auto",
                    "triplet", 0]),
    ("check_data", ["Text pairs", False, _file_data(str(ROOT / "samples" / "wordnet_topics.csv")),
                    "text-transformer", "auto", "triplet", 0]),
    ("check_data", ["Image pairs", False, _file_data(str(ROOT / "models")), "omniglot-cnn", "auto", "triplet", 0]),
    ("compare_series", [_file_data("/etc/passwd"), "", None, SINE, "series-lstm", True, 0.5]),
    ("compare_images", [_file_data(str(EX / "images" / "latin_c01_a.png")), _file_data("/etc/passwd"),
                        "omniglot-cnn", True, 0.5]),
    ("compare_images", ["/etc/passwd", "/etc/passwd", "omniglot-cnn", True, 0.5]),
], ids=["csv /etc/passwd", "series ../etc/passwd", "csv in the repo", "models folder", "series file /etc/passwd",
        "image from the repo", "image as a bare path"])
def test_server_paths_sent_as_uploads_are_refused(app_url, api, data):
    """A client that names a server file instead of uploading one gets nothing read from it."""
    event, payload = _raw_call(app_url, api, data)
    assert event == "error", (event, payload[:300])
    assert "root:" not in payload and "noun." not in payload, payload[:300]
    _no_internals(payload)


# ============================================================================ 5. one visitor vs another
@pytest.fixture(scope="module")
def finished_run(app_url):
    """Visitor 1 fine-tunes on the series sample (a tiny budget); returns (client, watch outputs)."""
    c1 = Client(app_url, verbose=False)
    c1.predict(data_type="Time-series pairs", use_sample=True, upload=None, base="series-lstm", epochs=1,
               patience=0, time_budget_s=10, seed=0, api_name="/start_finetune")
    out = c1.submit(api_name="/watch_finetune").result(timeout=180)
    assert "Finished" in out[0], out[0]
    return c1, out


@pytest.fixture(scope="module")
def visitor2(app_url):
    return Client(app_url, verbose=False)


def test_other_visitor_cannot_see_watch_cancel_or_download_the_run(finished_run, visitor2):
    assert "No run yet" in visitor2.submit(api_name="/watch_finetune").result(timeout=30)[0]
    assert "Nothing to cancel" in visitor2.predict(api_name="/cancel_finetune")
    assert "no finished run" in _refusal(visitor2, api_name="/download_link")
    assert "no finished run" in _refusal(visitor2, api_name="/use_finetuned_model")


def test_own_model_is_usable_by_its_owner_only(finished_run, visitor2):
    c1, out = finished_run
    name = out[2]["model"]
    assert name.startswith("yours: ")
    c1.predict(api_name="/use_finetuned_model")
    mine = c1.predict(None, SINE, None, COS, name, True, 0.5, api_name="/compare_series")[0]
    assert mine["model"] == name and mine["decision"] in ("same", "different")
    with pytest.raises(AppError) as exc:
        visitor2.predict(None, SINE, None, COS, name, True, 0.5, api_name="/compare_series")
    _check_catalogue_refusal(str(exc.value), name)
    with pytest.raises(AppError) as exc:
        visitor2.predict(name, 0.5, api_name="/set_threshold_timeseries")
    _check_catalogue_refusal(str(exc.value), name)
    with pytest.raises(AppError) as exc:  # and on another modality's tab, not even its owner
        c1.predict("a", "b", name, True, 0.5, api_name="/compare_texts")
    _check_catalogue_refusal(str(exc.value), name)


def _href(html: str) -> str:
    m = re.search(r"href='(/siamese_download/[^']+)'", html)
    assert m, html
    return m.group(1)


def test_download_link_works_once(app_url, finished_run):
    c1, out = finished_run
    base = app_url.rstrip("/")
    first_href = _href(out[-1])
    status, body = _get(base + first_href)
    assert status == 200 and body[:2] == b"PK", (status, body[:80])
    with zipfile.ZipFile(io.BytesIO(body)) as z:
        assert any(n.endswith("model.safetensors") for n in z.namelist())
    assert _get(base + first_href)[0] == 404
    html = c1.predict(api_name="/download_link")
    fresh = _href(html)
    assert fresh != first_href
    assert _get(base + fresh)[0] == 200 and _get(base + fresh)[0] == 404
    # even knowing where the zip lies on the server, Gradio's file route does not serve it
    name = re.search(r"download='([^']+)'", html).group(1)
    on_disk = sorted(Path(tempfile.gettempdir()).glob(f"siamese_demo_visitors_*/visitor_*/{name}"))
    assert on_disk, name
    for p in on_disk:
        for route in ("/gradio_api/file=", "/file=", "/gradio_api/file/"):
            status, body = _get(base + route + str(p))
            assert status in (403, 404) and body[:2] != b"PK", (route, status)


@pytest.mark.parametrize("path", ["/siamese_download/made-up-token", "/siamese_download/" + "A" * 43,
                                  "/siamese_download/..%2F..%2Fetc%2Fpasswd", "/gradio_api/file=/etc/passwd",
                                  "/gradio_api/file=" + REPO_MODEL + "/config.json", "/file=/etc/passwd"])
def test_raw_http_cannot_fetch_other_files(app_url, path):
    status, body = _get(app_url.rstrip("/") + path)
    assert status in (403, 404), (status, body[:200])
    assert b"root:" not in body and b"encoder" not in body


# ============================================================================ 6. still serving
def test_still_serving_after_all_of_the_above(client, visitor2):
    _assert_serving(client)
    _assert_serving(visitor2)
