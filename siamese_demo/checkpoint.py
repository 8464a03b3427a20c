"""Checkpoint folders: ``config.json`` + ``model.safetensors`` + ``README.md`` (model card).

Weights over :data:`SHARD_BYTES` are split into ``model-00001-of-0000N.safetensors`` files named by
``model.safetensors.index.json`` (the Hugging Face layout), so that no file needs Git LFS on a Space.

``config.json`` holds everything needed to rebuild the model with no network: encoder
architecture, preprocessing, distance, threshold (with the policy and data it was chosen
on), calibration, validation distance samples and metrics. A run record, when the model was
trained, sits beside it in ``run_record.json``. Pickle files are never read.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from safetensors.torch import load_file, save_file

from .encoders import encoder_from_dict, encoder_to_dict
from .preprocess import TextPreprocessor, preprocessor_from_dict
from .siamese import SiameseModel

FORMAT = "siamese_demo/1"
WEIGHTS, INDEX = "model.safetensors", "model.safetensors.index.json"
SHARD_BYTES = 9_500_000   # the most tensor bytes in one weights file: Hugging Face Spaces take files under 10 MB
#                           without Git LFS
_SHARD = re.compile(r"model-(\d{5})-of-(\d{5})\.safetensors")
PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".pkl", ".pickle", ".ckpt")


class CheckpointError(ValueError):
    """A checkpoint folder that cannot be loaded safely."""


def _encoder_owns_weights(model: SiameseModel) -> bool:
    return bool(getattr(model.encoder, "owns_weights", False))


def _weights_in_file(encoder_config: dict[str, Any]) -> dict[str, Any]:
    """An encoder config whose weights all come from the checkpoint's file: ``pretrained`` off, so rebuilding
    it never asks torchvision or timm for ImageNet weights (a download) that the file then overwrites (an
    ensemble's members likewise)."""
    if "members" in encoder_config:
        return {**encoder_config, "members": [_weights_in_file(m) for m in encoder_config["members"]]}
    return {**encoder_config, "pretrained": False} if encoder_config.get("pretrained") else encoder_config


def save(model: SiameseModel, folder: str | Path, name: str | None = None, card: dict[str, Any] | None = None,
         sentence_transformers: bool = False, pinned_source: dict[str, Any] | None = None,
         weights_dtype: str | None = None) -> Path:
    """Write ``model`` to ``folder`` (created); returns the folder path. With ``sentence_transformers``
    a text Transformer is also written in that library's layout (``folder/sentence_transformer``).
    ``pinned_source`` (a wrapped pretrained model whose weights are unchanged): the encoder's weights are
    not written; config.json names them instead (``siamese_demo.pretrained``: revision and sha256).
    ``weights_dtype="float16"`` stores floating-point tensors in half precision (half the file; :func:`load`
    casts them back to the model's float32)."""
    folder = Path(folder)
    if weights_dtype not in (None, "float32", "float16"):
        raise ValueError(f"weights_dtype must be 'float32' or 'float16', got {weights_dtype!r}")
    if pinned_source is not None and not _encoder_owns_weights(model):
        raise ValueError("pinned_source is only for wrapped pretrained encoders (sentence-transformers)")
    folder.mkdir(parents=True, exist_ok=True)
    info = dict(model.info)
    training = info.pop("training", None)
    info.pop("weights_from", None)  # where this process found pinned weights: not a property of the model
    if name:
        info["name"] = name
    if card:
        info["card"] = {**info.get("card", {}), **card}
    config = {
        "format": FORMAT,
        "modality": model.modality,
        "encoder": (model.encoder.saved_config() if _encoder_owns_weights(model)
                    else _weights_in_file(encoder_to_dict(model.encoder))),
        "preprocessing": model.preprocessor.to_dict(),
        "distance": model.distance,
        "normalize": model.normalize,
        "head": model.head is not None,
        "threshold": model.threshold,
        "num_parameters": model.num_parameters(),
        **({"weights_dtype": weights_dtype} if weights_dtype else {}),
        "info": info,
    }
    if isinstance(model.preprocessor, TextPreprocessor):
        model.preprocessor.tokenizer.save(str(folder / "tokenizer.json"))
    state = model.state_dict()
    if pinned_source is not None:
        enc = {k: v for k, v in config["encoder"].items() if k != "path"}
        config["encoder"] = {**enc, "source": pinned_source}
    if _encoder_owns_weights(model):
        if pinned_source is None:
            model.encoder.save_pretrained(folder)
        state = {k: v for k, v in state.items() if not k.startswith("encoder.")}
    tensors = {k: v.detach().cpu().contiguous() for k, v in state.items()}
    if weights_dtype == "float16":
        tensors = {k: v.half() if v.is_floating_point() else v for k, v in tensors.items()}
    write_weights(tensors, folder)
    (folder / "config.json").write_text(json.dumps(config, indent=2, default=_json_default))
    if training is not None:
        (folder / "run_record.json").write_text(json.dumps(training, indent=2, default=_json_default))
    if sentence_transformers:
        from .st_export import export_sentence_transformer, exportable

        if exportable(model):
            export_sentence_transformer(model, folder)
    from .card import model_card

    (folder / "README.md").write_text(model_card(config, training))
    return folder


def write_weights(tensors: dict[str, Any], folder: Path) -> list[Path]:
    """``tensors`` into ``folder``: one ``model.safetensors``, or shards of at most :data:`SHARD_BYTES` (in
    the state's order; a larger tensor gets a shard of its own) with their index; weights files of an earlier
    save are removed first. Returns the files written."""
    for old in [folder / WEIGHTS, folder / INDEX, *(p for p in folder.glob("model-*.safetensors")
                                                   if _SHARD.fullmatch(p.name))]:
        old.unlink(missing_ok=True)
    groups: list[dict[str, Any]] = [{}]
    size = total = 0
    for name, t in tensors.items():
        n = t.numel() * t.element_size()
        if groups[-1] and size + n > SHARD_BYTES:
            groups.append({})
            size = 0
        groups[-1][name] = t
        size += n
        total += n
    if len(groups) == 1:
        save_file(tensors, str(folder / WEIGHTS), metadata={"format": FORMAT})
        return [folder / WEIGHTS]
    files, weight_map = [], {}
    for k, group in enumerate(groups, 1):
        files.append(folder / f"model-{k:05d}-of-{len(groups):05d}.safetensors")
        save_file(group, str(files[-1]), metadata={"format": FORMAT})
        weight_map |= {name: files[-1].name for name in group}
    (folder / INDEX).write_text(json.dumps({"metadata": {"total_size": total, "format": FORMAT},
                                            "weight_map": weight_map}, indent=2))
    return files


def weights_files(folder: Path) -> list[Path]:
    """The weights files of a checkpoint folder (``model.safetensors``, or the shards its index names); [] when
    it has none. An index that names anything but this folder's shards is refused."""
    if (folder / WEIGHTS).is_file():
        return [folder / WEIGHTS]
    if not (folder / INDEX).is_file():
        return []
    try:
        weight_map = json.loads((folder / INDEX).read_text())["weight_map"]
        names = sorted(set(weight_map.values()))
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise CheckpointError(f"{folder}: unreadable {INDEX} ({e})") from None
    shards = [_SHARD.fullmatch(str(n)) for n in names]
    if not names or not all(shards) or {m.group(2) for m in shards} != {f"{len(names):05d}"}:
        raise CheckpointError(f"{folder}: {INDEX} must name shards model-NNNNN-of-NNNNN.safetensors of this folder, "
                              "every one of them")
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        raise CheckpointError(f"{folder}: weights shard {missing[0]} is missing")
    return [folder / n for n in names]


def read_weights(folder: Path) -> dict[str, Any]:
    """Every tensor of the folder's weights files (one state dict); a tensor in two shards is refused."""
    state: dict[str, Any] = {}
    for f in weights_files(folder):
        part = load_file(str(f))
        twice = set(part) & set(state)
        if twice:
            raise CheckpointError(f"{folder}: {sorted(twice)[0]} is stored twice")
        state |= part
    return state


def _json_default(obj):
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    if hasattr(obj, "to_dict"):
        return obj.to_dict()
    raise TypeError(f"cannot store {type(obj).__name__} in JSON")


def load(folder: str | Path, device: str = "cpu") -> SiameseModel:
    """Rebuild a model from a checkpoint folder (no network; never unpickles)."""
    path = Path(folder)
    if path.is_file():
        if path.suffix.lower() in PICKLE_SUFFIXES:
            raise CheckpointError(f"{path.name}: pickle files are never loaded (they can run code); "
                                  "use a checkpoint folder with model.safetensors")
        raise CheckpointError(f"{path}: expected a checkpoint folder, got a file")
    cfg_path = path / "config.json"
    if not cfg_path.exists() or not weights_files(path):
        pickles = sorted(p.name for p in path.glob("*") if p.suffix.lower() in PICKLE_SUFFIXES)
        if pickles:
            raise CheckpointError(f"{path}: only pickle weights ({', '.join(pickles)}) found; they are never "
                                  "loaded. Save the model as model.safetensors")
        raise CheckpointError(f"{path}: not a checkpoint folder (needs config.json and model.safetensors)")
    config = json.loads(cfg_path.read_text())
    if config.get("format") != FORMAT:
        raise CheckpointError(f"{path}: unknown checkpoint format {config.get('format')!r}")
    enc_cfg = dict(config["encoder"])
    source = where = None
    if enc_cfg["name"] == "sentence_transformer":
        from . import hub  # registers the encoder

        source = enc_cfg.pop("source", None)
        if source is not None:  # pinned pretrained weights, verified by sha256 (siamese_demo.pretrained)
            from .pretrained import resolve

            resolved, where = resolve(source, path.name)
            enc_cfg["path"] = str(resolved)
        else:
            enc_cfg["path"] = str(path / enc_cfg.get("path", "sentence_transformer"))
        encoder = hub.SentenceTransformerEncoder(hub.SentenceTransformerConfig(**{k: v for k, v in enc_cfg.items()
                                                                                 if k != "name"}))
        preprocessor = hub.SentenceTransformerPreprocessor(encoder, **{
            k: v for k, v in config["preprocessing"].items() if k not in ("kind", "max_chars")})  # caps: limits.py
    else:  # every weight is in model.safetensors: a backbone's pretrained weights are never fetched again
        encoder = encoder_from_dict(_weights_in_file(enc_cfg))
        preprocessor = preprocessor_from_dict(config["preprocessing"], path)
    model = SiameseModel(encoder, preprocessor, config["modality"], config["distance"],
                         config["normalize"], config["head"], config["threshold"], config.get("info"))
    state = read_weights(path)
    strict = not _encoder_owns_weights(model)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or (strict and missing):
        raise CheckpointError(f"{path}: weights do not match the config (missing {missing[:3]}, "
                              f"unexpected {unexpected[:3]})")
    run = path / "run_record.json"
    if run.exists():
        model.info["training"] = json.loads(run.read_text())
    model.info["path"] = str(path)
    if where is not None:
        model.info["weights_from"] = where
    return model.to(device).eval()
