"""A safe reader of PyTorch state dicts in the legacy (non-zip) format, without torch.

`torch.save(..., _use_new_zipfile_serialization=False)` (and every `.pth` written before
PyTorch 1.6) writes five things one after the other:

    pickle   the magic number 0x1950a86a20f9469cfc6c
    pickle   the protocol version 1001
    pickle   system info: {"protocol_version", "little_endian", "type_sizes"}
    pickle   the object: an OrderedDict of name -> tensor, each tensor a call of
             torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...), each
             storage a persistent id ("storage", torch.FloatStorage, key, device, numel, view)
    pickle   the list of the storage keys, in the order their bytes follow
    then, for each key: the element count (int64) and the storage's raw bytes

`read_torch_state_dict` parses all of it into NumPy arrays. Its unpickler resolves only
the few globals such a file holds (`collections.OrderedDict`, `_rebuild_tensor_v2`,
`_rebuild_parameter` and the storage types), each to a local stand-in that records what
the pickle asks for: it never imports torch and never calls anything else, so a pickle
naming any other global (the way a malicious `.pth` runs code) is refused. Every size read
from the file is checked against the bytes the file has left, so memory stays bounded by
the file's size, and every tensor is checked to lie inside its storage.

    >>> state = read_torch_state_dict("efficientnet-lite0.pth")
    >>> state["_conv_stem.weight"].shape, state["_conv_stem.weight"].dtype
    ((32, 3, 3, 3), dtype('float32'))
"""

import collections
import io
import math
import os
import pickle
import struct

import numpy as np

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001
# torch's storage types -> the NumPy dtype of their elements (little-endian).
STORAGE_DTYPES = {
    "DoubleStorage": "<f8",
    "FloatStorage": "<f4",
    "HalfStorage": "<f2",
    "LongStorage": "<i8",
    "IntStorage": "<i4",
    "ShortStorage": "<i2",
    "CharStorage": "i1",
    "ByteStorage": "u1",
    "BoolStorage": "?",
}
# A state dict's tensors have at most this many dimensions (conv3d weights have 5).
MAX_DIMENSIONS = 8
# The tensors may view their storages' bytes at most this many times over (tied weights
# share a storage); more is refused, so the arrays returned stay within 4x the file's size.
MAX_COPIES = 4


class StorageType:
    """Stand-in for `torch.FloatStorage` & co.: only its dtype; calling it is refused."""

    def __init__(self, name):
        self.name = name
        self.dtype = np.dtype(STORAGE_DTYPES[name])

    def __repr__(self):
        return f"torch.{self.name}"


class StorageRef:
    """A storage the pickle refers to: its key, element type and element count."""

    def __init__(self, key, storage_type, numel):
        self.key = key
        self.dtype = storage_type.dtype
        self.numel = numel


class TensorRef:
    """What `_rebuild_tensor_v2` was asked for: a strided view of a storage, not yet read."""

    def __init__(self, storage, offset, size, stride):
        self.storage = storage
        self.offset = offset
        self.size = size
        self.stride = stride


def _int_tuple(value):
    if not isinstance(value, tuple) or len(value) > MAX_DIMENSIONS or not all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value):
        raise ValueError(f"a tensor size or stride must be a tuple of at most {MAX_DIMENSIONS} "
                         f"non-negative integers; found {value!r:.80}")
    return value


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad=False,
                       backward_hooks=None, metadata=None):
    """Stand-in for `torch._utils._rebuild_tensor_v2`: records the view, reads nothing."""
    del requires_grad, backward_hooks, metadata  # no meaning for NumPy arrays
    if not isinstance(storage, StorageRef):
        raise ValueError("a tensor's storage is not a persistent storage reference")
    if not isinstance(storage_offset, int) or isinstance(storage_offset, bool):
        raise ValueError(f"a tensor's storage offset is not an integer: {storage_offset!r:.80}")
    size, stride = _int_tuple(size), _int_tuple(stride)
    if len(size) != len(stride):
        raise ValueError(f"a tensor's size {size} and stride {stride} differ in length")
    return TensorRef(storage, storage_offset, size, stride)


def _rebuild_parameter(data, requires_grad=False, backward_hooks=None, *args):
    """Stand-in for `torch._utils._rebuild_parameter`: a parameter is its tensor."""
    del requires_grad, backward_hooks, args
    if not isinstance(data, TensorRef):
        raise ValueError("a parameter's data is not a tensor")
    return data


ALLOWED_GLOBALS = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    **{("torch", name): StorageType(name) for name in STORAGE_DTYPES},
}


class _BoundedFile:
    """A read-only view of a binary file that never returns more than the file has left,
    so a length read from the pickle cannot make the unpickler allocate more than that."""

    def __init__(self, file, size):
        self._file = file
        self._size = size

    def remaining(self):
        return self._size - self._file.tell()

    def read(self, n=-1):
        n = self.remaining() if n is None or n < 0 else min(n, self.remaining())
        return self._file.read(max(n, 0))

    def readline(self, limit=-1):
        limit = self.remaining() if limit is None or limit < 0 else min(limit,
                                                                           self.remaining())
        return self._file.readline(max(limit, 0))

    def tell(self):
        return self._file.tell()


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only `ALLOWED_GLOBALS` (to local stand-ins) and turns the
    storages' persistent ids into `StorageRef`s; `persistent_load` is off unless
    `storages` is given (the magic number, version and system-info pickles have none)."""

    def __init__(self, file, storages=None):
        super().__init__(file)
        self._storages = storages

    def find_class(self, module, name):
        try:
            return ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"the pickle names {module}.{name}, which a state dict of tensors never "
                "holds (refused: unpickling it could run code)") from None

    def persistent_load(self, pid):
        if self._storages is None:
            raise pickle.UnpicklingError("a persistent id outside the object pickle")
        if not (isinstance(pid, tuple) and len(pid) == 6 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"an unknown persistent id {pid!r:.80}")
        _, storage_type, key, _location, numel, view = pid
        if not isinstance(storage_type, StorageType) or not isinstance(key, str):
            raise pickle.UnpicklingError(f"a malformed storage id {pid!r:.80}")
        if not isinstance(numel, int) or isinstance(numel, bool) or numel < 0:
            raise pickle.UnpicklingError(f"storage {key} has an invalid size {numel!r:.40}")
        if view is not None:
            raise pickle.UnpicklingError(f"storage {key} is a view of another storage "
                                         "(a pre-1.0 layout this reader does not support)")
        storage = self._storages.get(key)
        if storage is None:
            storage = self._storages[key] = StorageRef(key, storage_type, numel)
        elif storage.dtype != storage_type.dtype or storage.numel != numel:
            raise pickle.UnpicklingError(f"storage {key} is declared twice, differently")
        return storage


def _load_pickle(file, storages=None):
    return RestrictedUnpickler(file, storages).load()


def _read_storages(file, keys, storages):
    """Reads each storage's int64 element count and bytes; checks them against the pickle."""
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise ValueError("the storage key list is not a list of strings")
    if set(keys) != set(storages) or len(keys) != len(storages):
        raise ValueError("the storage key list does not match the storages the tensors use")
    arrays = {}
    for key in keys:
        storage = storages[key]
        header = file.read(8)
        if len(header) != 8:
            raise ValueError(f"the file ends before storage {key}")
        (count,) = struct.unpack("<q", header)
        if count != storage.numel:
            raise ValueError(f"storage {key} holds {count} elements; the pickle says "
                             f"{storage.numel}")
        nbytes = count * storage.dtype.itemsize
        if nbytes > file.remaining():
            raise ValueError(f"storage {key} needs {nbytes} bytes; the file has "
                             f"{file.remaining()} left (truncated?)")
        arrays[key] = np.frombuffer(file.read(nbytes), dtype=storage.dtype)
    return arrays


def _materialize(name, tensor, arrays):
    """The NumPy array of `tensor`: its strided view of the storage, copied, native order."""
    data = arrays[tensor.storage.key]
    if math.prod(tensor.size) == 0:
        return np.zeros(tensor.size, data.dtype.newbyteorder("="))
    if math.prod(tensor.size) > data.size:
        raise ValueError(f"tensor {name!r} (size {tensor.size}) has more elements than its "
                         f"storage of {data.size}")
    last = tensor.offset + sum((n - 1) * s for n, s in zip(tensor.size, tensor.stride))
    if tensor.offset < 0 or last >= data.size:
        raise ValueError(f"tensor {name!r} (size {tensor.size}, stride {tensor.stride}, "
                         f"offset {tensor.offset}) reaches past its storage of {data.size}")
    view = np.lib.stride_tricks.as_strided(
        data[tensor.offset:], shape=tensor.size,
        strides=[s * data.itemsize for s in tensor.stride], writeable=False)
    return np.array(view, dtype=data.dtype.newbyteorder("="), order="C")  # a 0-d stays 0-d


def read_torch_state_dict(path):
    """Reads a legacy-format PyTorch state dict file into `{name: numpy array}`.

    Args:
        path: a `.pth` / `.pt` file written by `torch.save(state_dict)` in the legacy
            (non-zip) format.

    Returns:
        a dict of parameter name -> NumPy array (C-contiguous, the tensor's dtype), in the
        file's order.

    Raises:
        FileNotFoundError: no file at `path`.
        ValueError: one line naming `path`, for anything else than such a state dict: a
            truncated or damaged file, a zip-format (PyTorch >= 1.6 default) file, a pickle
            naming any other global, a non-tensor entry, random bytes.

    Example:

    >>> state = read_torch_state_dict("efficientnet-lite0.pth")
    >>> len(state), state["_fc.weight"].shape
    (296, (1000, 1280))
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"PyTorch weights file not found: {path}")
    try:
        with open(path, "rb") as raw:
            if raw.read(4) == b"PK\x03\x04":
                raise ValueError("a zip-format PyTorch file (torch.save's default since 1.6); "
                                 "this reader takes the legacy format only")
            raw.seek(0)
            file = _BoundedFile(raw, os.fstat(raw.fileno()).st_size)
            return _read(file)
    except ValueError as error:
        raise ValueError(f"{path} is not a readable legacy PyTorch state dict: "
                         f"{str(error).splitlines()[0] if str(error) else 'damaged'}") from None
    except (pickle.UnpicklingError, EOFError, TypeError, AttributeError, IndexError,
            KeyError, struct.error, MemoryError, RecursionError, OverflowError,
            UnicodeDecodeError, io.UnsupportedOperation) as error:
        message = str(error).splitlines()[0][:200] if str(error) else ""
        raise ValueError(f"{path} is not a readable legacy PyTorch state dict "
                         f"({type(error).__name__}: {message or 'damaged or foreign data'})"
                         ) from None


def _read(file):
    if _load_pickle(file) != MAGIC_NUMBER:
        raise ValueError("no PyTorch magic number at its start")
    version = _load_pickle(file)
    if version != PROTOCOL_VERSION:
        raise ValueError(f"protocol version {version!r:.40}, expected {PROTOCOL_VERSION}")
    info = _load_pickle(file)
    if not isinstance(info, dict) or info.get("little_endian") is not True:
        raise ValueError("saved on a big-endian machine or without system info; this "
                         "reader takes little-endian files only")
    storages = {}
    state = _load_pickle(file, storages)
    if not isinstance(state, dict):
        raise ValueError(f"the pickled object is a {type(state).__name__}, not a state dict")
    for name, value in state.items():
        if not isinstance(name, str) or not isinstance(value, TensorRef):
            raise ValueError(f"entry {name!r:.60} is not a named tensor")
        # Checked again here: a BUILD opcode could have changed the fields after the call.
        _rebuild_tensor_v2(value.storage, value.offset, value.size, value.stride)
        if storages.get(getattr(value.storage, "key", None)) is not value.storage:
            raise ValueError(f"tensor {name!r:.60} refers to an unknown storage")
    keys = _load_pickle(file)
    arrays = _read_storages(file, keys, storages)
    # Tensors may share a storage (tied weights), but never copy it over and over.
    stored = sum(array.nbytes for array in arrays.values())
    wanted = sum(math.prod(t.size) * t.storage.dtype.itemsize for t in state.values())
    if wanted > MAX_COPIES * stored + 1024:
        raise ValueError(f"its tensors view {wanted} bytes of {stored} stored bytes (more "
                         f"than {MAX_COPIES} views of each)")
    return {name: _materialize(name, tensor, arrays) for name, tensor in state.items()}
