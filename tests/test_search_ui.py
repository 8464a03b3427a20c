"""One-against-many search through gradio_client, per modality: a ranked list, the match or "no
match", and refusals; the explanation step (/explain_*) answers after the decision."""
from pathlib import Path

import pytest

pytest.importorskip("gradio_client")
from gradio_client import handle_file  # noqa: E402
from gradio_client.exceptions import AppError  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
GAL = ROOT / "examples" / "gallery"


def test_image_search_finds_the_character_in_the_bundled_20_way_set(client):
    out = client.predict(handle_file(str(GAL / "query_korean_c03.png")), None, None, True, "omniglot-cnn", True, 0.5,
                         api_name="/search_images")
    res, md, table = out[0], out[1], out[2]
    assert len(res["hits"]) == 20 and res["hits"][0]["name"] == "korean_c03.png", table
    assert [h["rank"] for h in res["hits"]] == list(range(1, 21))
    d = [h["distance"] for h in res["hits"]]
    assert d == sorted(d)
    assert "korean_c03.png" in md


def test_image_search_with_uploaded_candidates_and_no_match(client):
    cands = [handle_file(str(GAL / "omniglot20" / f"korean_c{i:02d}.png")) for i in (1, 2, 4)]
    out = client.predict(handle_file(str(GAL / "query_korean_c03.png")), None, cands, True, "omniglot-cnn",
                         False, 0.0001, api_name="/search_images")
    assert out[0]["match"] is None and "No match" in out[1] and len(out[0]["hits"]) == 3


def test_text_search_ranks_the_paraphrase_first(client):
    cands = "The stock market fell sharply on Monday.\nA man plays the guitar.\nA cat sleeps on the couch."
    out = client.predict("A man is playing a guitar.", cands, "text-transformer", True, 0.5,
                         api_name="/search_texts")
    assert out[0]["hits"][0]["name"] == "A man plays the guitar."
    bundled = client.predict("A man is playing a guitar.", "", "text-transformer", True, 0.5, api_name="/search_texts")
    assert len(bundled[0]["hits"]) == 10 and bundled[0]["hits"][0]["name"] == "A man is playing a guitar."


def test_series_search_on_the_bundled_gallery(client):
    query = (ROOT / "examples" / "series" / "gunpoint_class1_a.txt").read_text()
    out = client.predict(None, query, "", "series-lstm", True, 0.5, api_name="/search_series")
    assert len(out[0]["hits"]) == 6 and out[0]["hits"][0]["name"] == "gunpoint_class1_a"


def test_search_refusals(client):
    with pytest.raises(AppError, match="not one of the models offered here"):
        client.predict("a", "b", "omniglot-cnn", True, 0.5, api_name="/search_texts")
    with pytest.raises(AppError, match="over the limit of 100"):
        client.predict("a", "\n".join(f"sentence {i}" for i in range(101)), "text-transformer", True, 0.5,
                       api_name="/search_texts")
    with pytest.raises(AppError, match="query image is missing|first image is missing|query"):
        client.predict(None, None, None, True, "omniglot-cnn", True, 0.5, api_name="/search_images")


def test_decision_then_explanation(client):
    a, b = "A man is playing a guitar.", "A man plays the guitar."
    decision = client.predict(a, b, "text-transformer", True, 0.5, api_name="/compare_texts")
    assert decision[0]["decision"] == "same" and "sure" in decision[1]
    plot, hl_a, hl_b = client.predict(api_name="/explain_texts")  # this session's last comparison
    assert plot is not None  # where the pair falls among the validation pairs
    words = [t["token"] for t in hl_a if t["token"].strip()]
    assert words == ["A", "man", "is", "playing", "a", "guitar."]  # whole words, original case
    words_b = [t["token"] for t in hl_b if t["token"].strip()]
    assert words_b == ["A", "man", "plays", "the", "guitar."]


def test_explanation_is_of_the_sessions_own_last_comparison(app_url):
    """Each session explains its own last pair; a session that compared nothing is told to compare."""
    from gradio_client import Client

    one, two, fresh = (Client(app_url, verbose=False) for _ in range(3))
    one.predict("A dog runs in the park.", "A dog is running.", "text-transformer", True, 0.5,
                api_name="/compare_texts")
    two.predict("Stocks fell sharply today.", "The market dropped.", "text-transformer", True, 0.5,
                api_name="/compare_texts")
    words = lambda hl: [t["token"] for t in hl if t["token"].strip()]  # noqa: E731
    _, a1, _ = one.predict(api_name="/explain_texts")
    _, a2, _ = two.predict(api_name="/explain_texts")
    assert words(a1) == ["A", "dog", "runs", "in", "the", "park."]
    assert words(a2) == ["Stocks", "fell", "sharply", "today."]
    with pytest.raises(AppError, match="compare two inputs first"):
        fresh.predict(api_name="/explain_texts")


def test_colour_photo_on_the_handwriting_model_gets_a_warning_not_an_answer(client, tmp_path):
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    paths = []
    for k in range(2):  # two colour "photos": smooth colour fields with noise
        y, x = np.mgrid[0:120, 0:160] / 160.0
        img = np.stack([x, y, 0.5 + 0.3 * np.sin(6 * x + k)], -1) + rng.normal(0, 0.05, (120, 160, 3))
        p = tmp_path / f"photo{k}.png"
        Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8)).save(p)
        paths.append(handle_file(str(p)))
    out = client.predict(paths[0], paths[1], "omniglot-cnn", True, 0.5, api_name="/compare_images")
    assert out[0]["warnings"] and "colour photo" in out[0]["warnings"][0]
    assert "choose image-efficientnet-lite0" in out[0]["warnings"][0]
    assert "No reliable answer" in out[1] and "sure" not in out[1]
    drawing = client.predict(handle_file(str(ROOT / "examples/images/latin_c01_a.png")),
                             handle_file(str(ROOT / "examples/images/latin_c01_b.png")), "omniglot-cnn", True, 0.5,
                             api_name="/compare_images")
    assert drawing[0]["warnings"] == [] and "sure" in drawing[1]


def test_text_tab_default_is_the_pretrained_model(client):
    from siamese_demo.ui import common

    assert common.choices("text")[0] == "text-minilm"
    out = client.predict("A man is playing a guitar.", "A man plays the guitar.", "text-minilm", True, 0.5,
                         api_name="/compare_texts")
    assert out[0]["same"] and out[0]["calibrated"]


def test_image_compare_with_references_is_the_core_call_and_its_errors_are_plain(client):
    import siamese_demo as sd

    d = ROOT / "examples" / "signatures"
    refs = [str(d / "reference.png"), str(d / "genuine.png")]
    out = client.predict([handle_file(p) for p in refs], handle_file(str(d / "other_hand.png")), None,
                         "signature-efficientnet", True, 0.5, api_name="/compare_image_references")
    model = sd.load(sd.MODELS_DIR / "signature-efficientnet")
    want = model.compare_to_references(refs, str(d / "other_hand.png"))
    assert out[0]["references"] == 2 and out[0]["same"] == want.same
    assert out[0]["distance"] == sd.distances.round_distance(want.distance)
    assert "mean of the 2 references" in out[1]
    with pytest.raises(AppError, match="no references"):
        client.predict([], handle_file(str(d / "other_hand.png")), None, "signature-efficientnet", True, 0.5,
                       api_name="/compare_image_references")
