#!/usr/bin/env python3
"""Writes the small torch.save checkpoints of Tests/ImportersTests/Goldens (read by PTEmbeddedCheckpoints.swift):
views of one storage, every element type, a Parameter, and the training wrapper with numpy scalars, in the zip and
legacy formats at several pickle protocols.

Debian python3-torch 1.13 (CPU). torch's legacy writer names each storage by its memory address, which changes from
run to run; here the storages are named "0", "1", ... in first-use order instead (the reader does not care about the
names), so that every file is reproducible byte for byte. The zip writer already is.

Usage: /usr/bin/python3 Tools/goldens/pytorch_checkpoints.py [--out Tests/ImportersTests/Goldens]
"""
import argparse
import collections
import inspect
import os

import numpy as np
import torch
import torch.serialization


def deterministic_legacy_keys():
    """Re-defines torch.serialization._legacy_save with storage keys in first-use order instead of addresses."""
    src = inspect.getsource(torch.serialization._legacy_save)
    assert src.count("str(storage._cdata)") == 2, "torch's _legacy_save changed: update this patch"
    src = src.replace("str(storage._cdata)", "_sm_storage_key(storage._cdata)")
    keys = {}
    namespace = torch.serialization.__dict__
    namespace["_sm_storage_key"] = lambda cdata: keys.setdefault(cdata, str(len(keys)))
    exec(compile(src, torch.serialization.__file__, "exec"), namespace)
    return keys


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="Tests/ImportersTests/Goldens")
    args = ap.parse_args()
    keys = deterministic_legacy_keys()
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6)
    views = collections.OrderedDict()
    views['t'] = base.t()
    views['row'] = base[1]
    views['col'] = base[:, 2]
    views['whole'] = base
    views['scalar'] = torch.tensor(5, dtype=torch.int64)
    views['half'] = torch.tensor([1.5, -2.0], dtype=torch.float16)
    views['i32'] = torch.tensor([1, -2, 3], dtype=torch.int32)
    views['u8'] = torch.tensor([1, 2, 255], dtype=torch.uint8)
    views['i8'] = torch.tensor([-1, 2], dtype=torch.int8)
    views['empty'] = torch.zeros(0, 3)
    views['param'] = torch.nn.Parameter(torch.full((2, 2), 0.5))
    wrapped = {'epoch': 7, 'arch': 'Custom',
               'state_dict': collections.OrderedDict([('module.w', torch.tensor([1.0, 2.0, 3.0]))]),
               'best_acc': np.float64(0.25),
               'optimizer': {'f64': torch.ones(2, dtype=torch.float64), 'flags': torch.ones(1, dtype=torch.bool),
                             'arr': np.arange(3), 'set': {1, 2}, 'raw': b'abc', 'lr': np.float32(0.5)},
               'anchor_cfg': {'stride': 8, 'ratios': [0.33, 0.5, 1, 2, 3], 'scales': [8]}}
    os.makedirs(args.out, exist_ok=True)
    for name, obj, kw in [('viewsZipP5', views, dict(pickle_protocol=5)),
                          ('viewsLegacyP2', views, dict(_use_new_zipfile_serialization=False)),
                          ('ignoredZipP2', wrapped, {}),
                          ('ignoredLegacyP4', wrapped, dict(_use_new_zipfile_serialization=False, pickle_protocol=4))]:
        keys.clear()
        path = os.path.join(args.out, f'{name}.pth')
        torch.save(obj, path, **kw)
        print(path, os.path.getsize(path))


if __name__ == "__main__":
    main()
