"""Images: class folders (PNG/JPEG), Keras-style ``.npz`` files and MNIST IDX files."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from launchml.data.images import (
    load_idx,
    load_image_folder,
    load_npz,
    read_idx,
    read_image_file,
)
from launchml.errors import LaunchMLError

RNG = np.random.default_rng(0)


def save(path: Path, array: np.ndarray) -> Path:
    """Save an ``(H, W)`` or ``(H, W, 3)`` uint8 array with PIL (format from the suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)
    return path


def pixels(height: int, width: int, channels: int | None = None) -> np.ndarray:
    shape = (height, width) if channels is None else (height, width, channels)
    return RNG.integers(0, 256, size=shape, dtype=np.uint8)


def as_array(path: Path, mode: str) -> np.ndarray:
    """What PIL itself reads from ``path`` in ``mode``, as ``(H, W, C)``."""
    with Image.open(path) as image:
        array = np.asarray(image.convert(mode), dtype=np.uint8)
    return array[..., None] if array.ndim == 2 else array


def test_rgb_png_and_jpeg_folders(tmp_path: Path) -> None:
    cat = save(tmp_path / "cat" / "a.png", pixels(6, 5, 3))
    dog1 = save(tmp_path / "dog" / "b.jpg", pixels(6, 5, 3))
    dog2 = save(tmp_path / "dog" / "c.JPEG", pixels(6, 5, 3))
    (tmp_path / "dog" / ".DS_Store").write_bytes(b"junk")  # hidden files are ignored
    (tmp_path / ".cache").mkdir()  # and so are hidden folders
    data = load_image_folder(tmp_path)
    assert data.kind == "image"
    assert data.labels == ["cat", "dog", "dog"]
    assert data.rows == [str(cat), str(dog1), str(dog2)]
    assert data.inputs.dtype == np.uint8
    assert data.inputs.shape == (3, 6, 5, 3)
    for got, path in zip(data.inputs, (cat, dog1, dog2), strict=True):
        np.testing.assert_array_equal(got, as_array(path, "RGB"))


def test_grayscale_stays_one_channel(tmp_path: Path) -> None:
    a = save(tmp_path / "0" / "a.png", pixels(4, 7))
    b = save(tmp_path / "1" / "b.png", pixels(4, 7))
    data = load_image_folder(tmp_path)
    assert data.inputs.shape == (2, 4, 7, 1)
    np.testing.assert_array_equal(data.inputs[0, ..., 0], np.asarray(Image.open(a)))
    np.testing.assert_array_equal(data.inputs[1, ..., 0], np.asarray(Image.open(b)))


def test_mixed_grayscale_and_rgb_become_rgb(tmp_path: Path) -> None:
    gray = pixels(3, 3)
    save(tmp_path / "a" / "g.png", gray)
    save(tmp_path / "b" / "c.png", pixels(3, 3, 3))
    data = load_image_folder(tmp_path)
    assert data.inputs.shape == (2, 3, 3, 3)
    # a grey pixel in RGB has the same value in every channel
    np.testing.assert_array_equal(data.inputs[0], np.repeat(gray[..., None], 3, axis=2))


def test_forced_modes(tmp_path: Path) -> None:
    rgb = save(tmp_path / "a" / "c.png", pixels(3, 4, 3))
    save(tmp_path / "b" / "d.png", pixels(3, 4, 3))
    gray = load_image_folder(tmp_path, mode="grayscale")
    assert gray.inputs.shape == (2, 3, 4, 1)
    np.testing.assert_array_equal(gray.inputs[0], as_array(rgb, "L"))
    save(tmp_path / "c" / "g.png", pixels(3, 4))
    assert load_image_folder(tmp_path, mode="rgb").inputs.shape == (3, 3, 4, 3)


def test_resize_matches_pil(tmp_path: Path) -> None:
    big = save(tmp_path / "a" / "big.png", pixels(20, 12, 3))
    small = save(tmp_path / "b" / "small.jpg", pixels(5, 9, 3))
    exact = save(tmp_path / "b" / "exact.png", pixels(8, 6, 3))
    data = load_image_folder(tmp_path, size=(8, 6))  # (height, width)
    assert data.inputs.shape == (3, 8, 6, 3)
    for got, path in zip(data.inputs, (big, exact, small), strict=True):
        with Image.open(path) as image:
            want = np.asarray(image.convert("RGB").resize((6, 8), Image.Resampling.BILINEAR))
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(data.inputs[1], as_array(exact, "RGB"))  # not resampled


def test_mixed_sizes_without_size_name_the_file(tmp_path: Path) -> None:
    save(tmp_path / "a" / "first.png", pixels(4, 4))
    save(tmp_path / "b" / "odd.png", pixels(5, 4))
    with pytest.raises(LaunchMLError) as info:
        load_image_folder(tmp_path)
    message = str(info.value)
    assert "odd.png: image is 4x5" in message
    assert "first.png is 4x4" in message
    assert "data.image.size" in message


def test_corrupt_image_names_the_file(tmp_path: Path) -> None:
    save(tmp_path / "a" / "good.png", pixels(4, 4))
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(LaunchMLError, match=r"broken\.png: corrupt or unreadable image"):
        load_image_folder(tmp_path)


def test_truncated_jpeg_names_the_file(tmp_path: Path) -> None:
    path = save(tmp_path / "a" / "cut.jpg", pixels(32, 32, 3))
    path.write_bytes(path.read_bytes()[:200])
    save(tmp_path / "b" / "ok.jpg", pixels(32, 32, 3))
    with pytest.raises(LaunchMLError, match=r"cut\.jpg: corrupt or unreadable image"):
        load_image_folder(tmp_path)


def test_non_image_file_names_the_file(tmp_path: Path) -> None:
    save(tmp_path / "a" / "good.png", pixels(4, 4))
    (tmp_path / "a" / "notes.txt").write_text("hello", encoding="utf-8")
    with pytest.raises(LaunchMLError, match=r"notes\.txt: not an image file"):
        load_image_folder(tmp_path)


def test_folder_without_classes_or_images(tmp_path: Path) -> None:
    save(tmp_path / "loose.png", pixels(2, 2))
    with pytest.raises(LaunchMLError, match="no class folders"):
        load_image_folder(tmp_path)
    (tmp_path / "empty_class").mkdir()
    with pytest.raises(LaunchMLError, match="hold no image files"):
        load_image_folder(tmp_path)


def test_npz_keras_layout(tmp_path: Path) -> None:
    x_train, y_train = pixels(4, 5, 6), np.array([0, 1, 2, 1], dtype=np.uint8)
    x_test, y_test = pixels(2, 5, 6), np.array([9, 0], dtype=np.int64)
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)
    train = load_npz(path, "train")
    np.testing.assert_array_equal(train.inputs, x_train[..., None])
    assert train.labels == [str(v) for v in y_train]
    assert train.rows == ["index 0", "index 1", "index 2", "index 3"]
    test = load_npz(path, "test")
    np.testing.assert_array_equal(test.inputs, x_test[..., None])
    assert test.labels == ["9", "0"]
    with pytest.raises(LaunchMLError) as info:
        load_npz(path, "val")
    message = str(info.value)
    assert "'x_val'/'y_val'" in message
    assert "x_test, x_train, y_test, y_train" in message


def test_npz_plain_x_y_serves_any_role(tmp_path: Path) -> None:
    x, y = np.stack([pixels(4, 4, 3) for _ in range(3)]), np.array(["cat", "dog", "cat"])
    path = tmp_path / "d.npz"
    np.savez(path, x=x, y=y)
    for role in ("train", "val", "test"):
        data = load_npz(path, role)
        np.testing.assert_array_equal(data.inputs, x)
        assert data.labels == ["cat", "dog", "cat"]


def test_npz_float_images_in_unit_range_are_scaled(tmp_path: Path) -> None:
    x = RNG.random((2, 3, 3)).astype(np.float32)
    path = tmp_path / "f.npz"
    np.savez(path, x=x, y=np.array([0.0, 1.0]))
    data = load_npz(path, "train")
    np.testing.assert_array_equal(data.inputs[..., 0], np.rint(x.astype(np.float64) * 255))
    assert data.labels == ["0", "1"]


def test_npz_bad_shapes_and_counts(tmp_path: Path) -> None:
    path = tmp_path / "bad.npz"
    np.savez(path, x=pixels(2, 3, 3), y=np.array([0, 1, 2]))
    with pytest.raises(LaunchMLError, match="2 images but 3 labels"):
        load_npz(path, "train")
    np.savez(path, x=np.zeros((2, 3, 3, 2), np.uint8), y=np.array([0, 1]))
    with pytest.raises(LaunchMLError, match=r"shape \(N, H, W\)"):
        load_npz(path, "train")
    path.write_bytes(b"not a zip")
    with pytest.raises(LaunchMLError, match=r"bad\.npz: not a readable \.npz file"):
        load_npz(path, "train")


def idx_bytes(array: np.ndarray) -> bytes:
    """The IDX encoding of ``array``, written from the format's description (not read back)."""
    codes = {np.dtype(np.uint8): 0x08, np.dtype(np.int16): 0x0B, np.dtype(np.float32): 0x0D}
    header = struct.pack(">BBBB", 0, 0, codes[array.dtype], array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


@pytest.mark.parametrize("compressed", [False, True])
def test_idx_images_and_labels(tmp_path: Path, compressed: bool) -> None:
    images, labels = pixels(5, 7, 6), np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    suffix = ".gz" if compressed else ""
    write = gzip.open if compressed else open
    images_path = tmp_path / f"train-images-idx3-ubyte{suffix}"
    with write(images_path, "wb") as handle:
        handle.write(idx_bytes(images))
    with write(tmp_path / f"train-labels-idx1-ubyte{suffix}", "wb") as handle:
        handle.write(idx_bytes(labels))
    data = load_idx(images_path)
    np.testing.assert_array_equal(data.inputs, images[..., None])
    assert data.labels == ["3", "1", "4", "1", "5"]


def test_read_idx_big_endian_types(tmp_path: Path) -> None:
    shorts = np.array([[1, -2, 300], [-32768, 32767, 0]], dtype=np.int16)
    floats = np.array([0.5, -1.25, 3e10], dtype=np.float32)
    for name, array in (("s-ubyte", shorts), ("f-ubyte", floats)):
        path = tmp_path / name
        path.write_bytes(idx_bytes(array))
        got = read_idx(path)
        assert got.dtype.isnative
        np.testing.assert_array_equal(got, array)
    # the data are big-endian: 300 (0x012C, the third value) follows the 12-byte header as 01 2C
    assert (tmp_path / "s-ubyte").read_bytes()[12 + 4 : 12 + 6] == b"\x01\x2c"


def test_idx_errors(tmp_path: Path) -> None:
    images_path = tmp_path / "t10k-images-idx3-ubyte"
    images_path.write_bytes(idx_bytes(pixels(2, 3, 3)))
    with pytest.raises(LaunchMLError, match="labels file t10k-labels-idx1-ubyte not found"):
        load_idx(images_path)
    with pytest.raises(LaunchMLError, match="expected an IDX images file"):
        load_idx(tmp_path / "whatever-ubyte")
    bad = tmp_path / "bad-ubyte"
    bad.write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(LaunchMLError, match=r"bad-ubyte: not an IDX file \(bad magic"):
        read_idx(bad)
    short = tmp_path / "short-ubyte"
    short.write_bytes(idx_bytes(pixels(2, 3, 3))[:-1])
    with pytest.raises(LaunchMLError, match="promises 18 bytes of data, file holds 17"):
        read_idx(short)
    fake_gz = tmp_path / "fake-ubyte.gz"
    fake_gz.write_bytes(b"plain bytes")
    with pytest.raises(LaunchMLError, match=r"fake-ubyte\.gz: cannot read IDX file"):
        read_idx(fake_gz)


def test_read_image_file_converts_and_resizes(tmp_path: Path) -> None:
    path = save(tmp_path / "x.png", pixels(10, 6, 3))
    gray = read_image_file(path, (5, 4, 1))
    with Image.open(path) as image:
        want = np.asarray(image.convert("L").resize((4, 5), Image.Resampling.BILINEAR))
    assert gray.shape == (5, 4, 1)
    np.testing.assert_array_equal(gray[..., 0], want)
    same = read_image_file(path, (10, 6, 3))
    np.testing.assert_array_equal(same, as_array(path, "RGB"))
    with pytest.raises(LaunchMLError, match=r"missing\.png: image file not found"):
        read_image_file(tmp_path / "missing.png", (5, 4, 1))
    (tmp_path / "x.gif").write_bytes(b"GIF89a")
    with pytest.raises(LaunchMLError, match=r"x\.gif: not an image file"):
        read_image_file(tmp_path / "x.gif", (5, 4, 1))
