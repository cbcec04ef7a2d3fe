"""Image classification data: MNIST, Fashion-MNIST, scikit-learn digits, and any IDX / .npz / image folder.

Every loader returns `ImageSplits`: float32 images in [0, 1] shaped (N, C, H, W) and int64 labels, with a
validation split carved from train by a fixed seed, so the test split is touched only by `nnzoo eval`.
"""
from __future__ import annotations

import dataclasses

import gzip
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .store import DataError, fashion_dir, is_installed, missing, mnist_dir

IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
              0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".pgm", ".tif", ".tiff"}


@dataclass
class ImageSplits:
    name: str
    train_x: torch.Tensor  # N, C, H, W float32 in [0, 1]
    train_y: torch.Tensor  # N int64
    val_x: torch.Tensor
    val_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    classes: list[str] = field(default_factory=list)

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.train_x.shape[1:])

    def head_test(self, n: int) -> "ImageSplits":
        """The same splits with only the first n test examples (n = 0: all)."""
        return dataclasses.replace(self, test_x=self.test_x[:n], test_y=self.test_y[:n]) if n else self

    def split(self, name: str) -> tuple[torch.Tensor, torch.Tensor]:
        return getattr(self, f"{name}_x"), getattr(self, f"{name}_y")


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (the MNIST format), plain or gzipped: magic 0 0 dtype ndim, then ndim big-endian
    uint32 sizes, then the data. A truncated or corrupt file raises DataError."""
    path = Path(path)
    try:
        raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as e:
        raise DataError(f"cannot read IDX file {path}: {e}; reinstall the data set") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in IDX_DTYPES:
        raise DataError(f"{path} is not an IDX file (bad magic number); point at a *-idx*-ubyte file")
    ndim = raw[3]
    header = 4 + 4 * ndim
    dims = tuple(int(d) for d in np.frombuffer(raw[4:header], dtype=">u4")) if len(raw) >= header else ()
    dtype = np.dtype(IDX_DTYPES[raw[2]])
    expected = int(np.prod(dims)) * dtype.itemsize if dims else -1
    if len(dims) != ndim or len(raw) - header != expected:
        raise DataError(f"{path} is truncated or corrupt (header says {dims}, file holds {len(raw) - header} "
                        f"data bytes); reinstall the data set")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


def _to_images(x: np.ndarray) -> torch.Tensor:
    """uint8 or float array (N, H, W) / (N, H, W, C) / (N, C, H, W) -> float32 (N, C, H, W) in [0, 1]."""
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[:, None]
    elif x.ndim == 4 and x.shape[-1] in (1, 3) and x.shape[1] not in (1, 3):
        x = x.transpose(0, 3, 1, 2)
    if x.ndim != 4:
        raise DataError(f"images must be (N, H, W) or (N, C, H, W), got shape {x.shape}")
    t = torch.from_numpy(np.array(x, copy=True, order="C"))
    if t.dtype == torch.uint8:
        return t.float().div_(255.0)
    t = t.float()
    if not torch.isfinite(t).all():
        raise DataError("images contain NaN or Inf pixels; clean the data first")
    hi = float(t.max()) if t.numel() else 1.0
    return t / 255.0 if hi > 1.0 else t


def carve(name, train_x, train_y, test_x, test_y, val_size: int | float, seed: int, classes=None) -> ImageSplits:
    """Hold out `val_size` train examples (a count, or a fraction if < 1) by a fixed-seed permutation."""
    train_x, test_x = _to_images(train_x), _to_images(test_x)
    train_y = torch.as_tensor(np.asarray(train_y), dtype=torch.int64)
    test_y = torch.as_tensor(np.asarray(test_y), dtype=torch.int64)
    if len(train_x) != len(train_y) or len(test_x) != len(test_y):
        raise DataError(f"{name}: {len(train_x)} train images but {len(train_y)} labels "
                        f"(test {len(test_x)} / {len(test_y)}); the files do not belong together")
    n_val = int(round(val_size * len(train_x))) if 0 < val_size < 1 else int(val_size)
    perm = torch.randperm(len(train_x), generator=torch.Generator().manual_seed(seed))
    val, tr = perm[:n_val], perm[n_val:]
    n_classes = int(max(train_y.max(), test_y.max())) + 1 if len(train_y) else 0
    return ImageSplits(name, train_x[tr], train_y[tr], train_x[val], train_y[val], test_x, test_y,
                       classes or [str(i) for i in range(n_classes)])


def _idx_pair(folder: Path, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    def find(kind: str) -> Path:
        hits = sorted(folder.glob(f"{prefix}-{kind}-idx*-ubyte*"))
        if not hits:
            raise DataError(f"no {prefix}-{kind}-idx*-ubyte[.gz] file in {folder}")
        return hits[0]
    return read_idx(find("images")), read_idx(find("labels"))


def load_idx_folder(folder: str | Path, val_size=5000, seed=0, name=None) -> ImageSplits:
    """A folder holding train-images/-labels and t10k- (or test-) images/labels IDX files, as MNIST ships."""
    folder = Path(folder)
    tr_x, tr_y = _idx_pair(folder, "train")
    te_prefix = "t10k" if any(folder.glob("t10k-*")) else "test"
    te_x, te_y = _idx_pair(folder, te_prefix)
    return carve(name or folder.name, tr_x, tr_y, te_x, te_y, val_size, seed)


def load_mnist(val_size=5000, seed=0) -> ImageSplits:
    if not is_installed("mnist"):
        raise missing("mnist")
    return load_idx_folder(mnist_dir(), val_size, seed, name="mnist")


FASHION_CLASSES = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot"]


def load_fashion_mnist(val_size=5000, seed=0) -> ImageSplits:
    if not is_installed("fashion-mnist"):
        raise missing("fashion-mnist")
    s = load_idx_folder(fashion_dir(), val_size, seed, name="fashion-mnist")
    s.classes = FASHION_CLASSES
    return s


def load_digits(val_size=0.1, seed=0, test_size=0.2) -> ImageSplits:
    """scikit-learn's 1,797 8x8 digits (values 0-16), split test/val/train by a fixed seed."""
    from sklearn.datasets import load_digits as sk_digits
    d = sk_digits()
    x = (d.images / 16.0).astype(np.float32)
    perm = np.random.default_rng(seed).permutation(len(x))
    n_test = int(round(test_size * len(x)))
    te, tr = perm[:n_test], perm[n_test:]
    return carve("digits", x[tr], d.target[tr], x[te], d.target[te], val_size, seed)


def load_digits28(val_size=0.1, seed=0, test_size=0.2) -> ImageSplits:
    """scikit-learn's digits upsampled bilinearly to 28x28 and centred in MNIST's 20x20 box: the same 10
    classes from another set of writers (1990s Japanese students, 8x8 counts of a 32x32 bitmap), so
    MNIST-trained networks can read them and two-source models (swap autoencoder, CycleGAN) have a second
    real handwriting style."""
    import torch.nn.functional as F
    d = load_digits(val_size=val_size, seed=seed, test_size=test_size)

    def up(x: torch.Tensor) -> torch.Tensor:
        # 8x8 -> 20x20 inside a 4-pixel border, as MNIST fits its digits into 20x20 in a 28x28 frame
        return F.pad(F.interpolate(x, size=(20, 20), mode="bilinear", align_corners=False), (4, 4, 4, 4)).clamp(0, 1)
    return ImageSplits("digits28", up(d.train_x), d.train_y, up(d.val_x), d.val_y, up(d.test_x), d.test_y,
                       d.classes)


def load_onehot8(val_size=0, seed=0) -> ImageSplits:
    """Mitchell's 8-3-8 encoder task: the 8 one-hot vectors of length 8, as 1x1x8 images. Train, validation
    and test are all the same 8 vectors: the task is to compress exactly them, not to generalise."""
    eye = torch.eye(8).view(8, 1, 1, 8)
    labels = torch.arange(8)
    return ImageSplits("onehot-8", eye, labels, eye.clone(), labels.clone(), eye.clone(), labels.clone(),
                       [f"input {i + 1}" for i in range(8)])


def load_npz(path: str | Path, val_size=0.1, seed=0) -> ImageSplits:
    """An .npz with x_train, y_train, x_test, y_test (Keras' mnist.npz layout)."""
    path = Path(path)
    try:
        with np.load(path) as z:
            arrays = {k: z[k] for k in z.files}
    except Exception as e:  # numpy raises several types for a bad zip
        raise DataError(f"cannot read {path} as .npz ({type(e).__name__}: {e})") from None
    need = ["x_train", "y_train", "x_test", "y_test"]
    if any(k not in arrays for k in need):
        raise DataError(f"{path} must hold arrays {', '.join(need)}; it holds {', '.join(arrays) or 'none'}")
    return carve(path.stem, arrays["x_train"], arrays["y_train"], arrays["x_test"], arrays["y_test"],
                 val_size, seed)


# nnzoo's models read digit-sized images; a header claiming more pixels than this is refused before any
# decoding (a 30000x30000 PNG of a few bytes would otherwise ask for gigabytes)
MAX_IMAGE_PIXELS = 4096 * 4096


@contextmanager
def open_image_checked(path: str | Path, error: type[Exception] = DataError,
                       fix: str = "give an image of the size the model was trained on"):
    """Open one image file for reading, its header checked first: yields the PIL image. An image claiming more
    than MAX_IMAGE_PIXELS, or a file PIL cannot read, raises `error` with one line ending in `fix`; so does any
    of PIL's decoding errors raised while the caller reads the image inside the `with`."""
    import struct
    import warnings
    import zlib

    from PIL import Image, UnidentifiedImageError
    try:
        with warnings.catch_warnings():
            # PIL only warns between its own limit and twice that: make the warning an error too
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:  # reads the header only
                w, h = im.size
                if w * h > MAX_IMAGE_PIXELS:
                    raise error(f"image {path} claims {w}x{h} pixels, more than nnzoo reads "
                                f"({MAX_IMAGE_PIXELS:,} pixels); {fix}")
                yield im
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise error(f"image {path} claims more pixels than nnzoo reads ({MAX_IMAGE_PIXELS:,} pixels): "
                    f"{str(e).rstrip('.')}; {fix}") from None
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError, EOFError, struct.error, zlib.error) as e:
        # PIL reports a damaged file by any of these, depending on the format and where the damage is
        raise error(f"cannot read image {path} ({type(e).__name__}: {e}); {fix}") from None


def read_image(path: str | Path, channels: int = 1) -> torch.Tensor:
    """One image file -> float32 (C, H, W) in [0, 1]."""
    with open_image_checked(path) as im:
        a = np.asarray(im.convert("L" if channels == 1 else "RGB"), dtype=np.uint8)
    return _to_images(a[None])[0]


def write_image_grid(images: torch.Tensor, path: str | Path, ncols: int = 8, scale: int = 2, pad: int = 1) -> Path:
    """Images (N, C, H, W) in [0, 1] -> one PNG, tiled row by row with `pad` grey pixels between, each pixel
    drawn as a scale x scale block. Written under a temporary name and renamed, so a reader never sees half."""
    from PIL import Image
    x = images.detach().float().clamp(0, 1).cpu()
    n, c, h, w = x.shape
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    canvas = torch.full((c, nrows * (h + pad) + pad, ncols * (w + pad) + pad), 0.5)
    for i in range(n):
        r, q = divmod(i, ncols)
        canvas[:, pad + r * (h + pad):pad + r * (h + pad) + h, pad + q * (w + pad):pad + q * (w + pad) + w] = x[i]
    a = (canvas.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    a = a.repeat(scale, 0).repeat(scale, 1)
    im = Image.fromarray(a[:, :, 0] if c == 1 else a)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    im.save(tmp, format="PNG")
    tmp.replace(path)
    return path


def load_image_folder(folder: str | Path, val_size=0.1, seed=0, test_size=0.2) -> ImageSplits:
    """`folder/CLASS/*.png`, or `folder/train/CLASS/*` + `folder/test/CLASS/*`. All images one size."""
    folder = Path(folder)

    def scan(root: Path):
        classes = sorted(p.name for p in root.iterdir() if p.is_dir())
        xs, ys = [], []
        for i, c in enumerate(classes):
            for f in sorted((root / c).iterdir()):
                if f.suffix.lower() in IMAGE_SUFFIXES:
                    xs.append(read_image(f)), ys.append(i)
        if not xs:
            raise DataError(f"no images found under {root}/CLASS/; expected one sub-folder per class")
        if len({tuple(x.shape) for x in xs}) > 1:
            raise DataError(f"images under {root} differ in size; resize them to one size first")
        return torch.stack(xs), np.array(ys), classes

    if (folder / "train").is_dir() and (folder / "test").is_dir():
        tr_x, tr_y, classes = scan(folder / "train")
        te_x, te_y, _ = scan(folder / "test")
    else:
        x, y, classes = scan(folder)
        perm = np.random.default_rng(seed).permutation(len(x))
        n_test = max(1, int(round(test_size * len(x))))
        tr_x, tr_y, te_x, te_y = x[perm[n_test:]], y[perm[n_test:]], x[perm[:n_test]], y[perm[:n_test]]
    return carve(folder.name, tr_x.numpy(), tr_y, te_x.numpy(), te_y, val_size, seed, classes)


def load_path(path: str | Path, val_size=0.1, seed=0) -> ImageSplits:
    """A user's own data: a .npz file, a folder of IDX files, or a folder of class sub-folders of images."""
    p = Path(path).expanduser()
    if not p.exists():
        raise DataError(f"data path {p} does not exist; give a registered data set name or an existing path")
    if p.is_file():
        if p.suffix == ".npz":
            return load_npz(p, val_size, seed)
        raise DataError(f"{p}: a data file must be .npz (x_train, y_train, x_test, y_test); "
                        "for IDX files give their folder")
    if any(p.glob("*-idx*-ubyte*")):
        return load_idx_folder(p, val_size, seed)
    return load_image_folder(p, val_size, seed)


IMAGE_DATASETS = {
    "mnist": load_mnist,
    "fashion-mnist": load_fashion_mnist,
    "digits": load_digits,
    "digits28": load_digits28,
    "onehot-8": load_onehot8,
}


def load_images(name: str, seed: int = 0, val_size: float = 0) -> ImageSplits:
    """A registered image data set by name, or a path to a user's own. val_size 0: the set's default."""
    kw = {"seed": seed} | ({"val_size": val_size} if val_size else {})
    if name in IMAGE_DATASETS:
        return IMAGE_DATASETS[name](**kw)
    if "/" in name or name.endswith(".npz") or Path(name).exists():
        return load_path(name, **kw)
    raise DataError(f"unknown data set {name!r}; choose one of {', '.join(IMAGE_DATASETS)} or give a path "
                    "to an .npz file, an IDX folder or an image folder")
