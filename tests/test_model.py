"""Encoders, shared weights, the distance/score conventions and compare()."""
import numpy as np
import pytest
import torch

from conftest import tiny_model
from siamese_demo.distances import pair_distance, pairwise_distance, score_from_distance
from siamese_demo.encoders import build_encoder, encoder_from_dict, encoder_to_dict
import synthetic as syn

CASES = [("image", "cnn"), ("text", "transformer"), ("text", "lstm"),
         ("timeseries", "lstm"), ("timeseries", "transformer")]


def _items(modality, n=3):
    rng = np.random.default_rng(0)
    if modality == "image":
        return [syn.shape_image(k, rng) for k in syn.SHAPES[:n]]
    if modality == "text":
        return [syn.sentence(t, rng) for t in list(syn.TOPICS)[:n]]
    return [syn.series(k, rng, 40 + 7 * i) for i, k in enumerate(syn.FAMILIES[:n])]


@pytest.mark.parametrize("modality,encoder", CASES)
def test_embed_shape_and_batch_independence(modality, encoder, texts):
    model = tiny_model(modality, encoder, texts=texts).eval()
    items = _items(modality)
    emb = model.embed(items)
    assert emb.shape == (3, 16) and emb.dtype == np.float32
    # padding in a batch must not change an item's embedding (packed LSTM, masked attention)
    alone = np.concatenate([model.embed([x]) for x in items])
    np.testing.assert_allclose(emb, alone, atol=1e-5)


def test_lstm_variable_length_series_padding_invariant():
    enc = build_encoder("lstm", hidden_size=8, embedding_dim=4, bidirectional=True)
    x = torch.randn(1, 10, 1)
    padded = torch.cat([x, torch.zeros(1, 5, 1)], dim=1)
    a = enc({"values": x, "lengths": torch.tensor([10])})
    b = enc({"values": padded, "lengths": torch.tensor([10])})
    torch.testing.assert_close(a, b)


@pytest.mark.parametrize("name", ["lstm", "transformer"])
def test_channel_independent_accepts_any_channels(name):
    extra = {"patch_size": 4, "num_heads": 2} if name == "transformer" else {}
    enc = build_encoder(name, input_kind="series", hidden_size=8, embedding_dim=4, channel_independent=True, **extra)
    for c in (1, 3):
        out = enc({"values": torch.randn(2, 16, c), "lengths": torch.tensor([16, 12])})
        assert out.shape == (2, 4)


def test_registry_round_trip_and_unknown_option():
    enc = build_encoder("cnn", depth=2, width=4, embedding_dim=8)
    again = encoder_from_dict(encoder_to_dict(enc))
    assert encoder_to_dict(again) == encoder_to_dict(enc)
    with pytest.raises(ValueError, match="no option"):
        build_encoder("cnn", depthh=3)
    with pytest.raises(ValueError, match="unknown encoder"):
        build_encoder("gru")


def test_torchvision_backbone_without_weights():
    enc = build_encoder("cnn", backbone="resnet18", pretrained=False, embedding_dim=8)
    assert enc({"pixels": torch.randn(2, 1, 64, 64)}).shape == (2, 8)


def test_branches_share_parameters_and_both_gradients_reach_them():
    model = tiny_model("image")
    a = model.preprocessor.collate(model.prepare(_items("image", 2)))
    b = model.preprocessor.collate(model.prepare(_items("image", 3)[1:]))
    model.train()
    grads = []
    for which in (0, 1):
        model.zero_grad()
        ea, eb = model(a, b)
        (ea if which == 0 else eb).sum().backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None})
    # one encoder serves both branches: the same parameter tensors get gradients from each input
    assert set(grads[0]) == set(grads[1]) == {n for n, _ in model.encoder.named_parameters(prefix="encoder")}
    w = "encoder.head.1.weight"
    assert grads[0][w].abs().sum() > 0 and grads[1][w].abs().sum() > 0
    assert not torch.equal(grads[0][w], grads[1][w])
    assert len(list(model.parameters())) == len(list(model.encoder.parameters()))


def test_distance_and_score_conventions():
    a = torch.tensor([[3.0, 0.0], [1.0, 0.0]])
    b = torch.tensor([[0.0, 4.0], [2.0, 0.0]])
    torch.testing.assert_close(pair_distance(a, b, "euclidean"), torch.tensor([5.0, 1.0]))
    torch.testing.assert_close(pair_distance(a, b, "cosine"), torch.tensor([1.0, 0.0]))
    torch.testing.assert_close(pairwise_distance(a, "euclidean", b)[0, 0], torch.tensor(5.0))
    assert score_from_distance(0.0, "euclidean") == 1.0 and score_from_distance(1.0, "euclidean") == 0.5
    assert score_from_distance(0.0, "cosine") == 1.0 and score_from_distance(2.0, "cosine") == 0.0
    # higher score = more similar = lower distance
    d = np.array([0.1, 0.5, 2.0])
    for kind in ("euclidean", "cosine"):
        s = score_from_distance(d, kind)
        assert (np.diff(s) < 0).all() and ((0 <= s) & (s <= 1)).all()


@pytest.mark.parametrize("modality,encoder", CASES)
def test_compare_identical_is_same_and_symmetric(modality, encoder, texts):
    model = tiny_model(modality, encoder, texts=texts)
    x, y = _items(modality, 2)
    r = model.compare(x, x)
    assert r.distance == pytest.approx(0.0, abs=1e-3) and r.same and r.score == pytest.approx(1.0, abs=1e-3)
    r1, r2 = model.compare(x, y), model.compare(y, x)
    assert r1.distance == pytest.approx(r2.distance, rel=1e-4, abs=1e-5)
    assert 0.0 <= r1.score <= 1.0 and 0.0 <= r1.confidence <= 1.0


def test_threshold_override_moves_decision(texts):
    model = tiny_model("text", texts=texts)
    x, y = _items("text", 2)
    d = model.compare(x, y).distance
    assert model.compare(x, y, threshold=d + 1e-3).same
    assert not model.compare(x, y, threshold=d - 1e-3).same


def test_head_model_distance_is_one_minus_probability():
    model = tiny_model("image", head=True)
    x, y = _items("image", 2)
    r = model.compare(x, y)
    assert r.distance_kind == "head" and r.score == pytest.approx(1.0 - r.distance)


def test_decide_by_hand():
    from siamese_demo.siamese import decide

    assert decide(0.3, 0.5, 0.8) == (True, 0.8)
    same, confidence = decide(0.6, 0.5, 0.8)
    assert same is False and confidence == pytest.approx(0.2)
    assert decide(0.5, 0.5, 0.3) == (True, 0.3)  # at the threshold: same


def test_compare_to_references_against_the_mean_by_hand():
    """The distance to several references is the cosine distance from the query's embedding to the mean of
    theirs, L2-normalised again (numpy by hand); the fitted threshold and calibration of info["references"] are
    used when present, the pair ones otherwise."""
    import copy

    import siamese_demo as sd
    from siamese_demo.errors import DataError

    model = sd.load(sd.MODELS_DIR / "text-transformer")
    refs, query = ["A man is playing a guitar.", "A man plays the guitar.", "Someone strums a guitar."], "A cat sleeps."
    emb = model.embed(refs + [query]).astype(np.float64)
    centre = emb[:3].mean(0)
    centre /= np.linalg.norm(centre)
    q = emb[3] / np.linalg.norm(emb[3])
    by_hand = 1.0 - float(q @ centre)
    r = model.compare_to_references(refs, query)
    assert r.distance == pytest.approx(by_hand, abs=1e-5)
    assert r.threshold == model.effective_threshold() and r.p_same == pytest.approx(model.p_same(r.distance)[0])
    one = model.compare_to_references(refs[:1], query)  # one reference: the pair comparison
    assert one.distance == pytest.approx(model.compare(refs[0], query).distance, abs=1e-5)
    fitted = copy.deepcopy(model)
    fitted.info["references"] = {"threshold": 0.123, "calibration": {"coef": -10.0, "intercept": 1.0}}
    r2 = fitted.compare_to_references(refs, query)
    assert r2.threshold == 0.123 and r2.same == (r2.distance <= 0.123)
    assert r2.p_same == pytest.approx(1 / (1 + np.exp(-(-10.0 * r2.distance + 1.0))))
    with pytest.raises(DataError, match="no references"):
        model.compare_to_references([], query)
    with pytest.raises(DataError, match="references is over the limit"):
        model.compare_to_references(["x"] * 101, query)


def test_a_spread_prior_scales_the_references_threshold_and_calibration_by_hand():
    """With ``spread_prior`` in info["references"], the fitted threshold and calibration are in units of the
    distance divided by (the references' mean pairwise distance + the prior): the answer keeps the distance and
    scales the threshold (numpy by hand); one reference has no spread, only the prior."""
    import copy
    import itertools

    import siamese_demo as sd

    model = copy.deepcopy(sd.load(sd.MODELS_DIR / "text-transformer"))
    refs, query = ["A man is playing a guitar.", "A man plays the guitar.", "Someone strums a guitar."], "A cat sleeps."
    model.info["references"] = {"threshold": 0.9, "calibration": {"coef": -4.0, "intercept": 2.0},
                                "spread_prior": 0.02}
    emb = model.embed(refs + [query]).astype(np.float64)
    unit = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    spread = np.mean([1 - unit[a] @ unit[b] for a, b in itertools.combinations(range(3), 2)])
    centre = unit[:3].mean(0) if model.normalize else emb[:3].mean(0)
    centre /= np.linalg.norm(centre)
    d = 1 - unit[3] @ centre
    r = model.compare_to_references(refs, query)
    scale = spread + 0.02
    assert r.distance == pytest.approx(d, abs=1e-5)
    assert r.threshold == pytest.approx(0.9 * scale, rel=1e-4) and r.same == (d / scale <= 0.9)
    assert r.p_same == pytest.approx(1 / (1 + np.exp(-(-4.0 * d / scale + 2.0))), rel=1e-4)
    one = model.compare_to_references(refs[:1], query)
    assert one.threshold == pytest.approx(0.9 * 0.02)
    assert model.compare_to_references(refs, query, threshold=0.5).threshold == 0.5  # a threshold given: as given


def test_a_new_threshold_drops_the_old_weights_references_fit():
    """Fine-tuning chooses a new pair threshold for new weights; the several-references threshold fitted to the
    old weights goes with it, so a fine-tuned signature model never decides with its base's."""
    import siamese_demo as sd
    from siamese_demo.train import TrainConfig, _set_threshold

    model = sd.load(sd.MODELS_DIR / "signature-efficientnet")
    assert "references" in model.info  # the shipped model has one, scaled by the references' spread
    assert model.info["references"]["spread_prior"] > 0
    rng = np.random.default_rng(0)
    d, y = rng.random(40), np.r_[np.ones(20), np.zeros(20)]
    _set_threshold(model, d, y, TrainConfig())
    assert "references" not in model.info
    r = model.compare_to_references([str(sd.MODELS_DIR.parent / "examples" / "signatures" / "reference.png")],
                                    str(sd.MODELS_DIR.parent / "examples" / "signatures" / "genuine.png"))
    assert r.threshold == model.threshold
