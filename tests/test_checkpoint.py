"""save -> load round trips, pickle refusal, name resolution and the Hub loaders (offline)."""
import json

import numpy as np
import pytest

import siamese_demo as sd
from conftest import tiny_model
from siamese_demo import hub
from test_model import CASES, _items


@pytest.mark.parametrize("modality,encoder", CASES + [("image", "cnn-head")])
def test_round_trip_identical_embeddings(tmp_path, modality, encoder, texts):
    head = encoder.endswith("-head")
    model = tiny_model(modality, encoder.replace("-head", ""), texts=texts, head=head)
    model.threshold = 0.42
    model.info["calibration"] = {"coef": -3.0, "intercept": 1.0}
    sd.save(model, tmp_path / "m", name="tiny")
    loaded = sd.load(tmp_path / "m")
    items = _items(modality)
    np.testing.assert_array_equal(model.eval().embed(items), loaded.embed(items))
    assert loaded.threshold == 0.42 and loaded.modality == modality
    assert loaded.compare(items[0], items[1]).to_dict() == model.compare(items[0], items[1]).to_dict()
    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    assert cfg["encoder"]["name"] == encoder.replace("-head", "") and cfg["head"] == head
    assert "# tiny" in (tmp_path / "m" / "README.md").read_text()


def test_embeddings_deterministic(texts):
    model = tiny_model("text", texts=texts)
    items = _items("text")
    np.testing.assert_array_equal(model.embed(items), model.embed(items))


def test_refuses_pickles(tmp_path):
    (tmp_path / "model.pt").write_bytes(b"not really")
    with pytest.raises(sd.CheckpointError, match="pickle"):
        sd.load(tmp_path / "model.pt")
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "pytorch_model.bin").write_bytes(b"x")
    with pytest.raises(sd.CheckpointError, match="pickle"):
        sd.load(tmp_path)


def test_load_by_name_and_unknown(tmp_path, monkeypatch):
    sd.save(tiny_model("image"), tmp_path / "shapes")
    monkeypatch.setattr(sd, "MODELS_DIR", tmp_path)
    assert sd.available_models() == ["shapes"]
    assert sd.load("shapes").modality == "image"
    with pytest.raises(sd.CheckpointError, match="hub=True"):
        sd.load("no-such-model")


def _tiny_sentence_transformer(path, texts):
    from sentence_transformers import SentenceTransformer, models
    from transformers import BertConfig, BertModel, PreTrainedTokenizerFast

    from siamese_demo.preprocess import train_tokenizer

    tok = PreTrainedTokenizerFast(tokenizer_object=train_tokenizer(texts, 500), unk_token="[UNK]",
                                  pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]")
    bert = BertModel(BertConfig(vocab_size=tok.vocab_size, hidden_size=16, num_hidden_layers=1,
                                num_attention_heads=2, intermediate_size=32, max_position_embeddings=64))
    hf = path / "hf"
    bert.save_pretrained(hf)
    tok.save_pretrained(hf)
    word = models.Transformer(str(hf), max_seq_length=32)
    st = SentenceTransformer(modules=[word, models.Pooling(16, "mean")], device="cpu")
    st.save(str(path / "st"))
    return st


def test_sentence_transformer_model_local(tmp_path, texts):
    st = _tiny_sentence_transformer(tmp_path, texts)
    model = sd.load("hub:" + str(tmp_path / "st"))
    items = _items("text")
    ours = model.embed(items)
    np.testing.assert_allclose(ours, st.encode(items, convert_to_numpy=True), atol=1e-5)
    sd.save(model, tmp_path / "ck")
    again = sd.load(tmp_path / "ck")
    np.testing.assert_allclose(again.embed(items), ours, atol=1e-6)
    from sentence_transformers import SentenceTransformer

    reopened = SentenceTransformer(str(tmp_path / "ck" / "sentence_transformer"), device="cpu")
    np.testing.assert_allclose(reopened.encode(items), ours, atol=1e-5)


def test_hub_offline_fails_with_clear_message():
    with pytest.raises(hub.HubUnavailable, match="would download.*all-MiniLM"):
        sd.load("sentence-transformers/all-MiniLM-L6-v2", hub=True)


def test_torchvision_offline_fails_with_clear_message(monkeypatch, tmp_path):
    import torch

    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    monkeypatch.setattr(hub, "_reachable", lambda url, timeout=3.0: False)
    with pytest.raises(hub.HubUnavailable, match="would download the ImageNet weights of torchvision resnet18"):
        sd.load("hub:torchvision/resnet18")


def test_text_transformer_also_opens_with_sentence_transformers(tmp_path, texts):
    from sentence_transformers import SentenceTransformer

    model = tiny_model("text", "transformer", texts=texts, distance="cosine")
    sd.save(model, tmp_path / "m", sentence_transformers=True)
    st = SentenceTransformer(str(tmp_path / "m" / "sentence_transformer"), device="cpu")
    items = _items("text")
    np.testing.assert_allclose(st.encode(items), model.eval().embed(items), atol=1e-5)
    # and our own loader still reads the folder
    np.testing.assert_array_equal(sd.load(tmp_path / "m").embed(items), model.embed(items))


def test_update_card_puts_table_in_readme(tmp_path):
    from siamese_demo.card import update_card

    sd.save(tiny_model("image"), tmp_path / "m", name="tiny")
    update_card(tmp_path / "m", "| metric | value |\n|---|---|\n| auc | 0.9 |")
    text = (tmp_path / "m" / "README.md").read_text()
    assert "Evaluation on held-out data" in text and "| auc | 0.9 |" in text
    assert sd.load(tmp_path / "m").info["card"]["metrics_markdown"].startswith("| metric")


def test_a_saved_pretrained_backbone_never_fetches_its_weights_again(monkeypatch, tmp_path):
    """A model built on torchvision's ImageNet weights (``pretrained=True``, as a Hub base is) saves every
    weight, so loading it asks torchvision for none: no download on load, offline or not."""
    import torch
    import torchvision

    from siamese_demo.encoders import build_encoder
    from siamese_demo.preprocess import ImagePreprocessor
    from siamese_demo.siamese import SiameseModel

    asked = []
    real = torchvision.models.get_model

    def get_model(name, weights=None, **kw):  # stands in for the download: random weights, the request noted
        asked.append(weights)
        return real(name, weights=None, **kw)

    monkeypatch.setattr(torchvision.models, "get_model", get_model)
    torch.manual_seed(0)
    enc = build_encoder("cnn", in_channels=3, backbone="resnet18", pretrained=True, embedding_dim=8)
    assert asked and asked[-1] is not None  # building it did ask for the ImageNet weights
    model = SiameseModel(enc, ImagePreprocessor(size=32, channels=3), "image", "cosine", normalize=True)
    folder = sd.save(model, tmp_path / "ck")
    assert json.loads((folder / "config.json").read_text())["encoder"]["pretrained"] is False
    asked.clear()
    again = sd.load(folder)
    assert asked == [None]  # the architecture only
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(again.encoder({"pixels": x}), model.encoder.eval()({"pixels": x}))
    config = json.loads((folder / "config.json").read_text())  # an older folder that still says pretrained
    config["encoder"]["pretrained"] = True
    (folder / "config.json").write_text(json.dumps(config))
    asked.clear()
    sd.load(folder)
    assert asked == [None]


# ------------------------------------------------------------------ weights split into shards
def test_weights_over_the_shard_size_are_split_and_load_back_the_same(tmp_path, monkeypatch):
    """A model whose weights exceed SHARD_BYTES is written as model-0000k-of-0000n.safetensors files with an
    index (the Hugging Face layout), each within the size unless one tensor alone is larger, and loads back
    with every tensor equal; saving a small model into the same folder removes the shards again."""
    import torch
    from safetensors.torch import load_file

    from siamese_demo import checkpoint

    model = tiny_model("image")
    state = {k: v for k, v in model.state_dict().items()}
    sizes = [v.numel() * v.element_size() for v in state.values()]
    monkeypatch.setattr(checkpoint, "SHARD_BYTES", max(sizes) + 1)
    folder = sd.save(model, tmp_path / "m")
    shards = sorted(folder.glob("model-*-of-*.safetensors"))
    assert len(shards) > 1 and not (folder / "model.safetensors").exists()
    index = json.loads((folder / "model.safetensors.index.json").read_text())
    assert set(index["weight_map"]) == set(state) and index["metadata"]["total_size"] == sum(sizes)
    for f in shards:
        part = load_file(str(f))
        assert sum(t.numel() * t.element_size() for t in part.values()) <= checkpoint.SHARD_BYTES
        assert {k for k, v in index["weight_map"].items() if v == f.name} == set(part)
    back = sd.load(folder)
    for k, v in back.state_dict().items():
        assert torch.equal(v, state[k]), k
    monkeypatch.setattr(checkpoint, "SHARD_BYTES", 10 ** 9)
    sd.save(model, folder)
    assert not list(folder.glob("model-*-of-*.safetensors")) and not (folder / "model.safetensors.index.json").exists()
    assert (folder / "model.safetensors").exists()


@pytest.mark.parametrize("case", ["outside", "missing", "twice", "count"])
def test_a_shard_index_that_points_elsewhere_or_misses_a_shard_is_refused(tmp_path, monkeypatch, case):
    from safetensors.torch import load_file, save_file

    from siamese_demo import checkpoint
    from siamese_demo.checkpoint import CheckpointError

    model = tiny_model("image")
    monkeypatch.setattr(checkpoint, "SHARD_BYTES", 1)  # one tensor per shard
    folder = sd.save(model, tmp_path / "m")
    index_path = folder / "model.safetensors.index.json"
    index = json.loads(index_path.read_text())
    first = sorted(set(index["weight_map"].values()))[0]
    if case == "outside":
        (tmp_path / "evil.safetensors").write_bytes((folder / first).read_bytes())
        index["weight_map"] = {k: ("../evil.safetensors" if v == first else v) for k, v in index["weight_map"].items()}
        match = "must name shards"
    elif case == "missing":
        (folder / first).unlink()
        match = "is missing"
    elif case == "count":
        index["weight_map"] = {k: v for k, v in index["weight_map"].items() if v != first}
        match = "every one of them"
    else:  # a tensor of the first shard also written into the second
        second = sorted(set(index["weight_map"].values()))[1]
        save_file(load_file(str(folder / second)) | load_file(str(folder / first)), str(folder / second))
        match = "stored twice"
    index_path.write_text(json.dumps(index))
    with pytest.raises(CheckpointError, match=match):
        sd.load(folder)
    from siamese_demo.pretrained import availability

    if case != "twice":
        ok, reason = availability(folder)
        assert not ok and "unavailable" in reason


def test_no_shipped_weights_file_needs_git_lfs():
    """Hugging Face Spaces take files under 10 MB without Git LFS: every file in models/ stays under."""
    big = [(p.relative_to(sd.MODELS_DIR), p.stat().st_size) for p in sd.MODELS_DIR.rglob("*")
           if p.is_file() and p.stat().st_size >= 10_000_000]
    assert not big
