"""Images: class-folder trees (PNG/JPEG), MNIST-style ``.npz`` files, IDX (``*-ubyte[.gz]``) files.

Every loader returns a :class:`Dataset` whose ``inputs`` is a ``uint8`` array ``(N, H, W, C)``.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any, Literal

import numpy as np
from PIL import Image, UnidentifiedImageError

from launchml.data.dataset import Dataset
from launchml.errors import InvalidInputError, NotFoundError

Role = Literal["train", "val", "test"]
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
#: Pillow modes of 16/32-bit grayscale images (16-bit PNGs open as "I;16")
WIDE_GRAYSCALE_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")
GRAYSCALE_MODES = ("1", "L", *WIDE_GRAYSCALE_MODES)


def load_image_folder(
    root: Path, size: tuple[int, int] | None = None, mode: str = "auto"
) -> Dataset:
    """Read ``root/<class name>/<image>`` files. ``size`` is ``(height, width)``.

    Without ``size`` every image must already have the same size. ``mode`` ``auto`` keeps
    grayscale when every image is grayscale, else converts all to RGB.
    """
    class_dirs = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not class_dirs:
        raise InvalidInputError(
            f"{root}: no class folders; expected {root}/<class name>/<image files>"
        )
    files: list[tuple[Path, str]] = []
    for class_dir in class_dirs:
        for path in sorted(class_dir.rglob("*")):
            if path.is_file() and not path.name.startswith("."):
                files.append((path, class_dir.name))
    if not files:
        raise InvalidInputError(f"{root}: the class folders hold no image files")

    images = [_open_image(path) for path, _ in files]
    if mode == "auto":
        mode = "grayscale" if all(im.mode in GRAYSCALE_MODES for im in images) else "rgb"
    pil_mode = "L" if mode == "grayscale" else "RGB"
    first_size = images[0].size
    arrays = []
    for (path, _), image in zip(files, images, strict=True):
        if size is None and image.size != first_size:
            raise InvalidInputError(
                f"{path}: image is {image.size[0]}x{image.size[1]} but {files[0][0]} is "
                f"{first_size[0]}x{first_size[1]}; set data.image.size: [height, width] to resize"
            )
        image = to_8bit(image).convert(pil_mode)
        if size is not None and image.size != (size[1], size[0]):
            image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
        array = np.asarray(image, dtype=np.uint8)
        arrays.append(array[..., None] if array.ndim == 2 else array)
    inputs = np.stack(arrays)
    return Dataset(
        inputs, [label for _, label in files], "image", str(root), [str(p) for p, _ in files]
    )


def to_8bit(image: Image.Image) -> Image.Image:
    """A 16- or 32-bit grayscale image scaled to 8 bits (``L``); other images as they are.

    Pillow's own ``convert("L")`` clips such images at 255 (a 16-bit scan turns white), so the
    scaling is done here: 16-bit values ``v`` become ``round(v / 257)`` (65535 -> 255).
    """
    if image.mode not in WIDE_GRAYSCALE_MODES:
        return image
    values = np.asarray(image, dtype=np.float64)
    if image.mode == "I" and values.max(initial=0) <= 255:  # 8-bit values stored wide
        scaled = values
    else:
        scaled = np.clip(values, 0, 65535) / 257.0
    return Image.fromarray(np.round(scaled).astype(np.uint8), mode="L")


def _open_image(path: Path) -> Image.Image:
    if path.suffix.lower() not in IMAGE_SUFFIXES:
        raise InvalidInputError(
            f"{path}: not an image file (expected .png, .jpg or .jpeg); move it out of the folder"
        )
    try:
        with Image.open(path) as image:
            image.load()
            return image.copy()
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise InvalidInputError(f"{path}: corrupt or unreadable image ({exc})") from None


def load_npz(path: Path, role: Role) -> Dataset:
    """Keras layout: ``x_train``/``y_train`` for training, ``x_test``/``y_test`` for test
    (``x_val``/``y_val`` for validation); a file holding just ``x``/``y`` works for any role."""
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InvalidInputError(f"{path}: not a readable .npz file ({exc})") from None
    with archive:
        keys = set(archive.files)
        for x_key, y_key in ((f"x_{role}", f"y_{role}"), ("x", "y")):
            if x_key in keys and y_key in keys:
                x, y = _npz_array(archive, x_key, path), _npz_array(archive, y_key, path)
                break
        else:
            raise InvalidInputError(
                f"{path}: no 'x_{role}'/'y_{role}' or 'x'/'y' arrays for the {role} split "
                f"(the file holds: {', '.join(sorted(keys)) or 'nothing'})"
            )
    return _from_arrays(x, y, path, (x_key, y_key))


def _npz_array(archive: Any, key: str, path: Path) -> np.ndarray:
    """One array of an .npz archive; arrays of Python objects are refused (they need pickle)."""
    try:
        return np.asarray(archive[key])
    except ValueError as exc:
        if "allow_pickle" not in str(exc):
            raise InvalidInputError(f"{path}: array '{key}' cannot be read ({exc})") from None
        raise InvalidInputError(
            f"{path}: array '{key}' holds Python objects (dtype object), which launchml does not "
            "unpickle; save numbers (uint8 or float images, int or str labels), e.g. "
            "np.savez(path, x=x.astype(np.uint8), y=y.astype(str))"
        ) from None


def load_idx(images_path: Path) -> Dataset:
    """MNIST IDX: ``*-images-idx3-ubyte[.gz]``, with ``*-labels-idx1-ubyte[.gz]`` beside it."""
    name = images_path.name
    if "images-idx3" not in name:
        raise InvalidInputError(
            f"{images_path}: expected an IDX images file named like 'train-images-idx3-ubyte.gz'"
        )
    labels_path = images_path.with_name(name.replace("images-idx3", "labels-idx1"))
    if not labels_path.is_file():
        raise NotFoundError(f"{images_path}: labels file {labels_path.name} not found beside it")
    return _from_arrays(read_idx(images_path), read_idx(labels_path), images_path)


def read_idx(path: Path) -> np.ndarray:
    """Decode one IDX file (the format of the original MNIST distribution)."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            data = handle.read()
    except (OSError, EOFError) as exc:
        raise InvalidInputError(f"{path}: cannot read IDX file ({exc})") from None
    dtypes = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in dtypes:
        raise InvalidInputError(f"{path}: not an IDX file (bad magic number)")
    ndim = data[3]
    dims = tuple(int(d) for d in np.frombuffer(data, ">i4", count=ndim, offset=4))
    dtype = np.dtype(dtypes[data[2]])
    expected = int(np.prod(dims)) * dtype.itemsize
    offset = 4 + 4 * ndim
    if len(data) - offset != expected:
        raise InvalidInputError(
            f"{path}: IDX header promises {expected} bytes of data, file holds {len(data) - offset}"
        )
    return np.frombuffer(data, dtype, offset=offset).reshape(dims).astype(dtype.newbyteorder("="))


def _from_arrays(
    x: np.ndarray, y: np.ndarray, path: Path, names: tuple[str, str] = ("images", "labels")
) -> Dataset:
    x_name, y_name = names
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3):
        raise InvalidInputError(
            f"{path}: images must have shape (N, H, W) or (N, H, W, 1|3), got {x.shape}"
        )
    y = np.asarray(y).reshape(-1)
    if len(x) != len(y):
        raise InvalidInputError(f"{path}: {len(x)} images but {len(y)} labels")
    x = _pixels_as_uint8(x, path, x_name)
    if y.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(y))
        if len(bad):
            raise InvalidInputError(
                f"{path}: {len(bad)} label(s) in '{y_name}' are NaN or infinite, first at "
                f"index {bad[0]}; every image needs a label"
            )
    if y.dtype.kind not in "biufUS":
        raise InvalidInputError(
            f"{path}: labels '{y_name}' have dtype {y.dtype}; expected numbers or strings"
        )
    if np.issubdtype(y.dtype, np.number):
        labels = [str(int(v)) if float(v).is_integer() else str(v) for v in y.tolist()]
    else:
        labels = [v.decode() if isinstance(v, bytes) else str(v) for v in y.tolist()]
    empty = [i for i, label in enumerate(labels) if not label.strip()]
    if empty:
        raise InvalidInputError(
            f"{path}: {len(empty)} empty label(s) in '{y_name}', first at index {empty[0]}"
        )
    rows = [f"index {i}" for i in range(len(labels))]
    return Dataset(np.ascontiguousarray(x), labels, "image", str(path), rows)


def _pixels_as_uint8(x: np.ndarray, path: Path, name: str) -> np.ndarray:
    """Pixels as uint8, scaled, never clipped: floats in [0, 1] or [0, 255], integers in
    [0, 255] or 16-bit [0, 65535] (divided by 257). Anything else is an error."""
    if x.dtype == np.uint8:
        return x
    if x.dtype.kind not in "biuf":
        raise InvalidInputError(f"{path}: images '{name}' have dtype {x.dtype}; expected numbers")
    if x.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(x.reshape(len(x), -1)).all(axis=1))
        if len(bad):
            raise InvalidInputError(
                f"{path}: {len(bad)} image(s) in '{name}' have NaN or infinite pixels, first at "
                f"index {bad[0]}"
            )
    low, high = (float(x.min()), float(x.max())) if x.size else (0.0, 0.0)
    if low < 0 or high > 65535 or (x.dtype.kind == "f" and high > 255):
        raise InvalidInputError(
            f"{path}: pixel values in '{name}' run from {low:g} to {high:g}; expected 0-1 or "
            "0-255 (floats), 0-255 (8-bit) or 0-65535 (16-bit integers)"
        )
    if high <= 1.0:  # [0, 1] floats, or 0/1 masks
        scale = 255.0
    elif high > 255:
        scale = 1 / 257.0  # 16-bit
    else:
        scale = 1.0
    return np.round(x.astype(np.float64) * scale).astype(np.uint8)


def read_image_file(path: Path, shape: tuple[int, ...]) -> np.ndarray:
    """One image file as a ``uint8`` array of ``shape`` ``(H, W, C)``, converted and resized."""
    if not path.is_file():
        raise NotFoundError(f"{path}: image file not found")
    return image_to_array(_open_image(path), shape)


def image_to_array(image: Image.Image, shape: tuple[int, ...]) -> np.ndarray:
    """An opened image as a model input: converted to ``shape`` ``(H, W, C)`` (grayscale for
    C = 1, else RGB) and resized as the training images were; ``uint8``."""
    height, width, channels = shape
    image = to_8bit(image).convert("L" if channels == 1 else "RGB")
    if image.size != (width, height):
        image = image.resize((width, height), Image.Resampling.BILINEAR)
    array = np.asarray(image, dtype=np.uint8)
    return array[..., None] if array.ndim == 2 else array
