"""Safe listing of a zip archive or a folder: (relative path, bytes) entries, read in memory."""
from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path, PurePosixPath
from typing import Iterator

from ..errors import DataError
from .limits import Limits


def _is_hidden(parts: tuple[str, ...]) -> bool:
    return any(p.startswith(".") or p == "__MACOSX" for p in parts)


def _check_name(raw: str, archive: str) -> tuple[str, ...]:
    name = raw.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise DataError(f"{archive}: entry '{raw}' has an absolute path; archives must use relative paths")
    parts = PurePosixPath(name).parts
    if ".." in parts:
        raise DataError(f"{archive}: entry '{raw}' points outside the archive ('..'); refused")
    return tuple(p for p in parts if p not in ("", "."))


def iter_zip(path: str | Path, limits: Limits) -> Iterator[tuple[tuple[str, ...], bytes]]:
    label = Path(path).name
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataError(f"{label}: not a readable zip archive ({exc})") from None
    with zf:
        infos = zf.infolist()
        files = [i for i in infos if not i.is_dir()]
        if len(files) > limits.archive_files:
            raise DataError(f"{label}: {len(files):,} files is over the limit of {limits.archive_files:,}")
        total = 0
        checked = []
        for info in infos:
            parts = _check_name(info.filename, label)
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise DataError(f"{label}: entry '{info.filename}' is a symbolic link; links are refused")
            if info.is_dir():
                continue
            total += info.file_size
            if total > limits.archive_bytes:
                raise DataError(f"{label}: more than {limits.archive_bytes / 1e6:.0f} MB uncompressed; "
                                "upload a smaller archive")
            checked.append((parts, info))
        for parts, info in checked:
            if _is_hidden(parts):
                continue
            try:
                yield parts, zf.read(info)
            except (zipfile.BadZipFile, OSError, RuntimeError) as exc:
                raise DataError(f"{label}: entry '{info.filename}' cannot be read ({exc})") from None


def iter_folder(path: str | Path, limits: Limits) -> Iterator[tuple[tuple[str, ...], bytes]]:
    root = Path(path)
    entries = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for d in dirnames:
            if (Path(dirpath) / d).is_symlink():
                raise DataError(f"{root.name}: '{d}' is a symbolic link; links are refused")
        for f in filenames:
            p = Path(dirpath) / f
            if p.is_symlink():
                raise DataError(f"{root.name}: '{p.relative_to(root)}' is a symbolic link; links are refused")
            entries.append(p)
    if len(entries) > limits.archive_files:
        raise DataError(f"{root.name}: {len(entries):,} files is over the limit of {limits.archive_files:,}")
    total = 0
    for p in sorted(entries):
        parts = p.relative_to(root).parts
        if _is_hidden(parts):
            continue
        total += p.stat().st_size
        if total > limits.archive_bytes:
            raise DataError(f"{root.name}: more than {limits.archive_bytes / 1e6:.0f} MB of files")
        yield parts, p.read_bytes()


def iter_entries(path: str | Path, limits: Limits) -> Iterator[tuple[tuple[str, ...], bytes]]:
    p = Path(path)
    if p.is_dir():
        return iter_folder(p, limits)
    if not p.exists():
        raise DataError(f"{p.name}: file not found")
    return iter_zip(p, limits)
