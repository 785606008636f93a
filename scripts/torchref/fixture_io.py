"""Writing fixture files and recording their provenance: raw little-endian binaries with their description,
SHA-256 digests, and the BLAS the run used."""
import hashlib
import os

import numpy as np


def blas_in_use():
    """The BLAS shared libraries loaded into this process (the result of some fixtures depends on them)."""
    try:
        with open('/proc/self/maps') as fh:
            libs = sorted({ln.split()[-1] for ln in fh if 'blas' in ln.lower() and ln.split()[-1].startswith('/')})
        return libs
    except OSError:
        return []


def file_sha256(path):
    h = hashlib.sha256()
    with open(path, 'rb') as fh:
        h.update(fh.read())
    return h.hexdigest()


def f32_sha256(arr):
    """SHA-256 of the values as raw little-endian float32 (how fedman and its fixtures hash parameter vectors)."""
    return hashlib.sha256(np.ascontiguousarray(arr, dtype='<f4').tobytes()).hexdigest()


def write_bin(path, arr, dtype):
    """Writes arr as raw `dtype` (C order, no header); returns the file's description for a manifest."""
    a = np.ascontiguousarray(np.asarray(arr, dtype=dtype))
    with open(path, 'wb') as fh:
        fh.write(a.tobytes())
    return {'file': os.path.basename(path), 'dtype': np.dtype(dtype).name, 'byte_order': 'little',
            'shape': list(a.shape), 'bytes': a.nbytes, 'sha256': file_sha256(path)}
