"""Image sets as pixel sequences: the IDX format, Fashion-MNIST, and pixel-by-pixel sequences.

Fashion-MNIST (Xiao, Rasul & Vollgraf 2017; 60000 train and 10000 test 28 x 28 grey images of
10 clothing classes) comes from Debian's ``dataset-fashion-mnist``; ``python -m rnnjax.data
prepare --corpus=fashion_mnist`` keeps its four gzip-compressed IDX files.

IDX (LeCun et al.'s MNIST format): bytes 0-1 zero, byte 2 the element type (0x08 unsigned
byte), byte 3 the number of dimensions n, then n big-endian uint32 sizes, then the elements in
row-major order.

Pixel-by-pixel classification (Le et al. 2015): image i becomes the sequence x_t = pixel_t / 255,
t < 784, in raster order ("sequential") or in the order of one fixed random permutation
("permuted"; ``np.random.default_rng(permutation_seed).permutation(784)``).
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

from rnnjax.data.prepare import Package, Source, prepared_dir, register, unpack_deb
from rnnjax.validation import check_choice, fail

FASHION_MNIST = "fashion_mnist"
_DEB_DIR = "usr/share/datasets/fashion-mnist"
FILES = {"train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
         "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}
ORDERS = ("sequential", "permuted")
_UBYTE = 0x08


def parse_idx(data: bytes, source: str = "IDX data") -> np.ndarray:
    """The uint8 array stored in IDX bytes (gzip-compressed or not)."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if len(data) < 4 or data[:2] != b"\x00\x00" or data[2] != _UBYTE:
        fail("parse_idx", source, "IDX bytes (00 00 08 n, unsigned bytes)",
             f"header {data[:4].hex() or 'empty'}")
    ndim = data[3]
    header = 4 + 4 * ndim
    shape = tuple(int(v) for v in np.frombuffer(data[4:header], ">u4"))
    size = int(np.prod(shape)) if shape else 0
    if len(data) - header != size:
        fail("parse_idx", source, f"{size} elements for shape {shape}",
             f"{len(data) - header} bytes after the header")
    return np.frombuffer(data, np.uint8, size, header).reshape(shape)


def _fashion_mnist_files(archive: Path, tmp: Path) -> dict[str, bytes]:
    """The four .gz IDX files of the .deb (or of an unpacked tree), in sorted name order."""
    if archive.suffix == ".deb":
        archive = unpack_deb(archive, tmp, _DEB_DIR)
    folder = archive / _DEB_DIR if (archive / _DEB_DIR).is_dir() else archive
    names = sorted(name for pair in FILES.values() for name in pair)
    missing = [name for name in names if not (folder / name).is_file()]
    if missing:
        fail("prepare", "archive", f"the Fashion-MNIST IDX files in {_DEB_DIR}",
             f"{archive} without {', '.join(missing)}")
    return {name: (folder / name).read_bytes() for name in names}


register(Source(FASHION_MNIST,
                Package("deb", "dataset-fashion-mnist", "0.0~git20200523.55506a9-1"),
                "af63594c80959e1b5d65f0354ac8f3ffa78bb3c1442e4dee06d83686b454d763",
                _fashion_mnist_files, "Fashion-MNIST 28x28 grey images of 10 clothing classes "
                "(Zalando Research), 60000 train / 10000 test, IDX files", "MIT (Expat)"))


def load_images(split: str, data_dir: str | os.PathLike | None = None
                ) -> tuple[np.ndarray, np.ndarray]:
    """(images [N, 28, 28] uint8, labels [N] int32) of Fashion-MNIST's ``split``."""
    check_choice("load_images", "split", split, FILES)
    folder = prepared_dir("load_images", FASHION_MNIST, data_dir)
    images_file, labels_file = (folder / name for name in FILES[split])
    images = parse_idx(images_file.read_bytes(), str(images_file))
    labels = parse_idx(labels_file.read_bytes(), str(labels_file)).astype(np.int32)
    if images.ndim != 3 or labels.shape != images.shape[:1]:
        fail("load_images", str(folder), "N images [N, rows, cols] and N labels",
             f"images {images.shape}, labels {labels.shape}")
    return images, labels


def pixel_order(order: str, size: int, permutation_seed: int) -> np.ndarray:
    """The reading order of ``size`` pixels: raster, or one seeded permutation."""
    check_choice("pixel_order", "order", order, ORDERS)
    if order == "sequential":
        return np.arange(size)
    return np.random.default_rng(permutation_seed).permutation(size)


def pixel_sequences(images: np.ndarray, order: np.ndarray) -> np.ndarray:
    """images [N, rows, cols] uint8 -> sequences [N, rows*cols, 1] float32 in [0, 1]."""
    flat = images.reshape(len(images), -1)[:, order]
    return (flat.astype(np.float32) / 255.0)[..., None]
