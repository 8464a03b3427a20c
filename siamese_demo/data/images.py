"""Image datasets: a zip or folder with one sub-folder per class, or flat (unlabelled)."""
from __future__ import annotations

from pathlib import Path

from ..errors import DataError
from ..pairs import Samples
from ..preprocess import IMAGE_FORMATS, open_image
from .archive import iter_entries
from .limits import Limits, limits as current_limits

def _pillow_suffixes() -> tuple[str, ...]:
    """Every file extension of the raster formats Pillow reads that we accept (``IMAGE_FORMATS``)."""
    from PIL import Image

    Image.init()
    return tuple(sorted(ext for ext, fmt in Image.registered_extensions().items() if fmt in IMAGE_FORMATS))


IMAGE_SUFFIXES = _pillow_suffixes()


def read_image_dataset(path: str | Path, limits: Limits | None = None) -> Samples:
    """Read images; the class of an image is its folder path (``a/b/x.png`` -> ``a/b``).

    A single wrapping folder is ignored; images all at the top level form an unlabelled set.
    """
    limits = limits or current_limits()
    label = Path(path).name
    entries = [(parts, data) for parts, data in iter_entries(path, limits)
               if parts[-1].lower().endswith(IMAGE_SUFFIXES)]
    if not entries:
        raise DataError(f"{label}: no images found (expected image files that Pillow reads: PNG, JPEG, "
                        "PGM/PPM, TIFF, BMP, GIF, WebP, ...; one folder per class)")
    while len({p[0] for p, _ in entries}) == 1 and all(len(p) > 1 for p, _ in entries):
        entries = [(p[1:], d) for p, d in entries]  # strip a wrapping folder
    depths = {len(p) for p, _ in entries}
    if 1 in depths and len(depths) > 1:
        top = next("/".join(p) for p, _ in entries if len(p) == 1)
        raise DataError(f"{label}: '{top}' is at the top level while other images are in folders; "
                        "put every image in its class folder (or none in folders, for an unlabelled set)")
    items, labels, names = [], [], []
    for parts, data in entries:
        name = "/".join(parts)
        img = open_image(data, limits.image_pixels, name=f"{label}: {name}")
        items.append(img)
        names.append(name)
        labels.append("/".join(parts[:-1]))
    return Samples(items, None if depths == {1} else labels, names)

