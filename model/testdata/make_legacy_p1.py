#!/usr/bin/python3
"""Write legacy_p1_ckpt.pth: a legacy (non-zip) PyTorch checkpoint with
pickle protocol 1, as

    torch.save({"net": sd, "acc": 91.5, "epoch": 7}, f,
               _use_new_zipfile_serialization=False, pickle_protocol=1)

writes it, where sd holds

    fc.weight  float32 [2, 3]  [[-1, -0.5, 0], [0.25, 1.5, 3]]
    fc.bias    float16 [2]     [2^-24 (the smallest subnormal), -0.0]

It needs no PyTorch (none is installed here): it runs CPython's own pickle
module the way torch.serialization._legacy_save drives it (magic number,
protocol version, system info, the object with storages as persistent ids,
the storage keys, then each storage's element count and bytes), with
stand-ins for the torch classes the pickle names. Run it with any Python 3:

    python3 model/testdata/make_legacy_p1.py
"""

import collections
import io
import os
import pickle
import struct
import sys
import types

PROTOCOL = 1
MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001

torch = types.ModuleType("torch")
torch_utils = types.ModuleType("torch._utils")
torch._utils = torch_utils
sys.modules["torch"] = torch
sys.modules["torch._utils"] = torch_utils


def _storage_class(name):
    cls = type(name, (), {})
    cls.__module__ = "torch"
    setattr(torch, name, cls)
    return cls


FloatStorage = _storage_class("FloatStorage")
HalfStorage = _storage_class("HalfStorage")


def _rebuild_tensor_v2(*args):
    raise NotImplementedError


_rebuild_tensor_v2.__module__ = "torch._utils"
torch_utils._rebuild_tensor_v2 = _rebuild_tensor_v2


class Storage:
    def __init__(self, cls, fmt, values):
        self.cls, self.fmt, self.values = cls, fmt, values


class Tensor:
    def __init__(self, storage, size):
        self.storage, self.size = storage, size

    def __reduce_ex__(self, proto):
        stride, s = [], 1
        for d in reversed(self.size):
            stride.insert(0, s)
            s *= d
        return (_rebuild_tensor_v2,
                (self.storage, 0, tuple(self.size), tuple(stride), False, collections.OrderedDict()))


def legacy_save(obj, f):
    storages = {}

    def persistent_id(o):
        if isinstance(o, Storage):
            key = str(id(o))
            storages[key] = o
            return ("storage", o.cls, key, "cpu", len(o.values), None)
        return None

    sys_info = dict(protocol_version=PROTOCOL_VERSION, little_endian=True,
                    type_sizes=dict(short=2, int=4, long=4))
    pickle.dump(MAGIC_NUMBER, f, protocol=PROTOCOL)
    pickle.dump(PROTOCOL_VERSION, f, protocol=PROTOCOL)
    pickle.dump(sys_info, f, protocol=PROTOCOL)
    p = pickle.Pickler(f, protocol=PROTOCOL)
    p.persistent_id = persistent_id
    p.dump(obj)
    keys = sorted(storages.keys())
    pickle.dump(keys, f, protocol=PROTOCOL)
    for k in keys:
        s = storages[k]
        f.write(struct.pack("<q", len(s.values)))
        f.write(struct.pack("<%d%s" % (len(s.values), s.fmt), *s.values))


def main():
    sd = collections.OrderedDict()
    sd["fc.weight"] = Tensor(Storage(FloatStorage, "f", [-1, -0.5, 0, 0.25, 1.5, 3]), [2, 3])
    sd["fc.bias"] = Tensor(Storage(HalfStorage, "H", [0x0001, 0x8000]), [2])
    buf = io.BytesIO()
    legacy_save({"net": sd, "acc": 91.5, "epoch": 7}, buf)
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "legacy_p1_ckpt.pth")
    with open(out, "wb") as f:
        f.write(buf.getvalue())


if __name__ == "__main__":
    main()
