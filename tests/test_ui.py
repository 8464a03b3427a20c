"""The app driven headlessly through gradio_client: one comparison per tab with a known positive
and negative, thresholds per visitor, and a clear message for each kind of bad input."""
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
EX = ROOT / "examples"
pytest.importorskip("gradio_client")
from gradio_client import Client, handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402


def _img(name):
    return handle_file(str(EX / "images" / name))


IMG_MODEL, TEXT_MODEL, SERIES_MODEL = "omniglot-cnn", "text-transformer", "series-lstm"
SINE = " ".join(f"{v:.4f}" for v in np.sin(np.linspace(0, 12, 120)))
SINE_NOISY = " ".join(f"{v:.4f}" for v in np.sin(np.linspace(0, 12, 120)) + np.random.default_rng(0).normal(0, .05, 120))
STEP = " ".join(f"{v:.1f}" for v in np.r_[np.zeros(60), np.ones(60)])


def test_image_positive_and_negative(client):
    pos = client.predict(_img("latin_c01_a.png"), _img("latin_c01_b.png"), IMG_MODEL, True, 0.5,
                         api_name="/compare_images")[0]
    neg = client.predict(_img("latin_c01_a.png"), _img("latin_c02_a.png"), IMG_MODEL, True, 0.5,
                         api_name="/compare_images")[0]
    assert pos["decision"] == "same" and neg["decision"] == "different"
    assert pos["score"] > neg["score"] and pos["distance"] < neg["distance"]
    assert {"score", "distance", "threshold", "same", "confidence"} <= set(pos)


def test_text_positive_and_negative(client):
    a = "A man is playing a guitar."
    pos = client.predict(a, "A man plays the guitar.", TEXT_MODEL, True, 0.5, api_name="/compare_texts")[0]
    neg = client.predict(a, "The stock market fell sharply on Monday.", TEXT_MODEL, True, 0.5,
                         api_name="/compare_texts")[0]
    assert pos["same"] and not neg["same"] and pos["score"] > neg["score"]


def test_series_positive_and_negative(client):
    pos = client.predict(None, SINE, None, SINE_NOISY, SERIES_MODEL, True, 0.5, api_name="/compare_series")[0]
    neg = client.predict(None, SINE, None, STEP, SERIES_MODEL, True, 0.5, api_name="/compare_series")[0]
    assert pos["same"] and not neg["same"]


def test_series_file_upload(client, tmp_path):
    f = tmp_path / "two_channels.csv"
    f.write_text("a,b\n" + "\n".join(f"{np.sin(t):.3f},{np.cos(t):.3f}" for t in np.linspace(0, 6, 80)))
    out = client.predict(handle_file(str(f)), "", handle_file(str(f)), "", SERIES_MODEL, True, 0.5,
                         api_name="/compare_series")[0]
    assert out["same"] and out["distance"] == pytest.approx(0.0, abs=1e-3)


def test_threshold_changes_decision(client):
    pos = client.predict(_img("latin_c01_a.png"), _img("latin_c01_b.png"), IMG_MODEL, True, 0.5,
                         api_name="/compare_images")[0]
    strict = client.predict(_img("latin_c01_a.png"), _img("latin_c01_b.png"), IMG_MODEL, False,
                            pos["distance"] * 0.5, api_name="/compare_images")[0]
    assert pos["same"] and not strict["same"] and strict["threshold"] == pytest.approx(pos["distance"] * 0.5, rel=1e-3)


def test_two_visitors_keep_their_own_thresholds(app_url):
    c1, c2 = Client(app_url, verbose=False), Client(app_url, verbose=False)
    for c in (c1, c2):
        c.predict(_img("latin_c01_a.png"), _img("latin_c01_b.png"), IMG_MODEL, True, 0.5, api_name="/compare_images")
    results = {}

    def visitor(name, client, thr):
        results[name] = client.predict(IMG_MODEL, thr, api_name="/set_threshold_image")[1]

    threads = [threading.Thread(target=visitor, args=("strict", c1, 0.0)),
               threading.Thread(target=visitor, args=("lenient", c2, 1.9))]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert results["strict"]["decision"] == "different" and results["lenient"]["decision"] == "same"
    assert results["strict"]["threshold"] == 0.0 and results["lenient"]["threshold"] == 1.9


def _error(client, *args, api_name):
    with pytest.raises(AppError) as exc:
        client.predict(*args, api_name=api_name)
    return str(exc.value)


def test_bad_images(client, tmp_path):
    assert "first image is missing" in _error(client, None, _img("latin_c01_a.png"), IMG_MODEL, True, 0.5,
                                  api_name="/compare_images")
    bad = tmp_path / "corrupt.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    msg = _error(client, handle_file(str(bad)), _img("latin_c01_a.png"), IMG_MODEL, True, 0.5,
                 api_name="/compare_images")
    assert "not a readable image" in msg or "corrupt" in msg
    huge = tmp_path / "huge.png"
    Image.new("1", (8000, 6250)).save(huge)
    assert "megapixels" in _error(client, handle_file(str(huge)), _img("latin_c01_a.png"), IMG_MODEL, True, 0.5,
                                  api_name="/compare_images")


def test_bad_texts(client):
    assert "empty" in _error(client, "", "hello there", TEXT_MODEL, True, 0.5, api_name="/compare_texts")
    assert "100,000 characters" in _error(client, "a" * 100_000, "hello", TEXT_MODEL, True, 0.5,
                                          api_name="/compare_texts")


@pytest.mark.parametrize("a,b,match", [
    ("1 2 three 4", SINE, "not a number"),
    ("1\nnan\n3\n4", SINE, "is missing (NaN)"),
    ("5", SINE, "at least 2"),
    ("1,2\n3,4\n5,6", SINE, "channel"),
    ("", SINE, "missing"),
])
def test_bad_series(client, a, b, match):
    assert match in _error(client, None, a, None, b, SERIES_MODEL, True, 0.5, api_name="/compare_series")


def test_app_survives_bad_input(client):
    _error(client, "", "x", TEXT_MODEL, True, 0.5, api_name="/compare_texts")
    ok = client.predict("A dog runs.", "A dog is running.", TEXT_MODEL, True, 0.5, api_name="/compare_texts")[0]
    assert "score" in ok


def test_encoder_comparison(client):
    rows = client.predict("A man is playing a guitar.", "A man plays the guitar.", api_name="/compare_text_encoders")
    names = [r[0] for r in rows["data"]]
    assert TEXT_MODEL in names and len(names) >= 2


def test_signature_examples_through_the_api(client):
    """The page's synthetic signature pairs on the signature model: one signer twice is "same", another hand is
    "different"; the tiny distances of its texture readout (near 0.001) keep their digits in the answer, and a
    visitor's threshold at that scale is taken."""
    import siamese_demo as sd
    from siamese_demo.ui.examples import SIGNATURE_MODEL, signature_examples

    pairs, labels = signature_examples()
    assert len(pairs) == len(labels) == 3 and all(Path(p).exists() for pair in pairs for p in pair[:2])
    same, _, other = (client.predict(handle_file(a), handle_file(b), model, True, 0.5, api_name="/compare_images")[0]
                      for a, b, model in pairs)
    assert same["same"] and not other["same"] and 0 < same["distance"] < other["distance"] < 0.01
    saved = sd.load(SIGNATURE_MODEL).threshold
    assert same["threshold"] == pytest.approx(saved, rel=1e-3)  # not rounded away to 0.0009
    strict = client.predict(handle_file(pairs[0][0]), handle_file(pairs[0][1]), SIGNATURE_MODEL, False,
                            same["distance"] / 2, api_name="/compare_images")[0]
    assert not strict["same"] and strict["threshold"] == pytest.approx(same["distance"] / 2, rel=1e-3)


def test_signature_examples_are_what_the_recipe_draws():
    """examples/signatures/ is what ``siamese_demo.recipes.signature_examples`` draws (same pixels), and the
    drawing is seeded: the same image twice."""
    pytest.importorskip("HersheyFonts")
    from siamese_demo.recipes.signature_examples import HAND, NAME, SIGNATURES, draw

    for tag, options in SIGNATURES.items():
        drawn = np.asarray(draw(NAME, **(HAND | options)))
        np.testing.assert_array_equal(drawn, np.asarray(draw(NAME, **(HAND | options))))
        np.testing.assert_array_equal(drawn, np.asarray(Image.open(EX / "signatures" / f"{tag}.png")))


def test_a_slow_first_load_does_not_hold_up_other_models(monkeypatch):
    """While one model's first load hangs (a Hub download, say), a model already loaded is still served."""
    import threading

    from siamese_demo.ui import common

    real, gate, started = common.sd.load, threading.Event(), threading.Event()

    def load(path, *args, **kwargs):
        if str(path).endswith("series-lstm"):
            started.set()
            gate.wait(30)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(common.sd, "load", load)
    common._load.cache_clear()
    try:
        first = common.get_model("omniglot-cnn", "image")
        slow = threading.Thread(target=common.get_model, args=("series-lstm", "timeseries"))
        slow.start()
        assert started.wait(30)
        got = []
        other = threading.Thread(target=lambda: got.append(common.get_model("omniglot-cnn", "image")))
        other.start()
        other.join(10)
        assert got and got[0] is first  # served from the cache ...
        assert slow.is_alive()  # ... while the other load is still hanging
    finally:
        gate.set()
        slow.join(30)
        common._load.cache_clear()


def test_a_threshold_against_the_calibration_is_not_called_sure():
    """The visitor's threshold calls a pair "same" that the model's calibration puts at 4 %: the headline
    says it is the threshold's call, never "Same, 4 % sure"; a normal answer keeps its confidence."""
    import siamese_demo as sd
    from siamese_demo.ui import common

    model = sd.load(sd.MODELS_DIR / "omniglot-cnn")
    payload = {"same": True, "confidence": 0.04, "p_same": 0.04, "calibrated": True, "distance": 1.2,
               "exact_distance": 1.2, "threshold": 1.5, "distance_kind": model.distance, "threshold_source": "yours"}
    head = common.result_markdown(payload, model).splitlines()[0]
    assert "by the threshold" in head and "4 %" in head and "sure" not in head, head
    agreed = common.decide(payload, 1.0)  # a threshold below the distance: "different", 96 % sure
    head = common.result_markdown(agreed, model).splitlines()[0]
    assert "Different" in head and "96 % sure" in head, head


def test_search_and_encoder_tables_show_each_models_p_same():
    import siamese_demo as sd
    from siamese_demo.ui import common

    model = sd.load(sd.MODELS_DIR / "text-transformer")
    a, b = "A man is playing a guitar.", "A man plays the guitar."
    row = {r[0]: r for r in common.encoder_table(["text-transformer"], a, b, "text")}["text-transformer"]
    col = common.ENCODER_COLUMNS.index("p(same)")
    r = model.compare(a, b)
    assert row[col] == round(r.p_same, 3)
    assert row[common.ENCODER_COLUMNS.index("distance")] == sd.distances.round_distance(r.distance)
    res = sd.search_candidates(model, a, [b, "Stocks fell sharply."])
    rows = common.search_rows(res, model)
    for h, got in zip(res.hits, rows):
        assert got[common.SEARCH_COLUMNS.index("p(same)")] == round(model.p_same(h.distance)[0], 3)
