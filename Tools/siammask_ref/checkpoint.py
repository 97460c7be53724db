"""Checkpoint files in every shape the released and user-trained SiamMask `.pth` files come in.

Shapes: the training script's wrapper {'epoch','arch','state_dict','best_acc','optimizer','anchor_cfg'} or the bare
state dict; keys with or without DataParallel's `module.` prefix; the zip format (torch >= 1.6) or the legacy
stream format (torch < 1.6), the latter optionally tagged as saved from a GPU ('cuda:0', torch.cuda.*Storage).

The legacy files are written by `save_legacy` below rather than by torch.save: the stream is the same (magic
number, protocol 1001, sys-info dict, the object pickle with persistent storage ids, the sorted storage keys, then
each storage as an int64 element count and its raw bytes), but storage keys are sequential ("0", "1", ...) instead
of memory addresses, so the bytes are reproducible, and the storage location / type can be set to CUDA ones
without a GPU. torch.load reads these files back (checked by `verify_checkpoint`).
"""

import copy
import io
import pickle
import struct
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Sequence

import numpy as np
import torch
from torch import nn

from .model import SiamMaskSharp

PICKLE_PROTOCOL = 2


@dataclass(frozen=True)
class Variant:
    """One checkpoint shape. `location` is the storage location written in legacy files ('cpu' or 'cuda:0')."""

    legacy: bool
    wrapped: bool
    module_prefix: bool
    location: str = "cpu"

    @property
    def file_name(self) -> str:
        parts = ["siammask", "legacy" if self.legacy else "zip", "wrapped" if self.wrapped else "bare"]
        if self.module_prefix:
            parts.append("module")
        if self.location != "cpu":
            parts.append("cuda")
        return "_".join(parts) + ".pth"


ALL_VARIANTS = [Variant(legacy, wrapped, prefix) for legacy in (True, False) for wrapped in (True, False)
                for prefix in (False, True)] + [Variant(True, True, False, "cuda:0")]
# The committed fixture: the released files' likely shape (legacy, wrapped, from GPU), the same on CPU, a modern
# zip save of the wrapper, and a bare DataParallel state dict in zip form.
FIXTURE_VARIANTS = [Variant(True, True, False), Variant(True, True, False, "cuda:0"), Variant(False, True, False),
                    Variant(False, False, True)]

# The training script's anchor settings (identical in every siammask_sharp config).
ANCHOR_CFG = {"stride": 8, "ratios": [0.33, 0.5, 1, 2, 3], "scales": [8], "round_dight": 0}


def save_legacy(obj, path: Path, location: str = "cpu") -> None:
    """Write obj in the legacy (pre-1.6) torch.save stream format with storages tagged at `location`."""
    storages: Dict[int, tuple] = {}  # storage identity -> (key, typed storage)
    storage_module = torch if location == "cpu" else torch.cuda

    class LegacyPickler(pickle.Pickler):
        def persistent_id(self, value):
            if not isinstance(value, torch.storage.TypedStorage):
                return None
            identity = value._storage._cdata
            if identity not in storages:
                storages[identity] = (str(len(storages)), value)
            key = storages[identity][0]
            storage_type = getattr(storage_module, value.pickle_storage_type())
            return "storage", storage_type, key, location, value.size(), None

    sys_info = {"protocol_version": torch.serialization.PROTOCOL_VERSION, "little_endian": True,
                "type_sizes": {"short": torch.serialization.SHORT_SIZE, "int": torch.serialization.INT_SIZE,
                               "long": torch.serialization.LONG_SIZE}}
    stream = io.BytesIO()
    for header in (torch.serialization.MAGIC_NUMBER, torch.serialization.PROTOCOL_VERSION, sys_info):
        pickle.dump(header, stream, protocol=PICKLE_PROTOCOL)
    LegacyPickler(stream, protocol=PICKLE_PROTOCOL).dump(obj)
    by_key = {key: storage for key, storage in storages.values()}
    keys = sorted(by_key)
    pickle.dump(keys, stream, protocol=PICKLE_PROTOCOL)
    for key in keys:
        storage = by_key[key]
        data = torch.empty(0, dtype=storage.dtype).set_(storage).numpy()
        stream.write(struct.pack("<q", data.size))
        stream.write(data.astype(data.dtype.newbyteorder("<"), copy=False).tobytes())
    Path(path).write_bytes(stream.getvalue())


def sgd_optimizer_state(model: SiamMaskSharp, refine_inputs: Sequence[torch.Tensor]) -> dict:
    """A real SGD state_dict as the training script leaves it after a refine-stage step: one parameter group per
    child; learning rates from a numpy log schedule and momenta as numpy.float64 (so the pickle holds numpy
    scalars); momentum buffers for the refine parameters, from one step on a copy of the model (the model itself
    is not changed). refine_inputs = (f0, f1, f2, corr) of one search crop."""
    trained = copy.deepcopy(model)
    lr = np.logspace(np.log10(0.01), np.log10(0.0025), 20)[-1]
    groups = [{"params": list(child.parameters()), "lr": lr * (0.1 if name == "features" else 1.0)}
              for name, child in trained.named_children()]
    optimizer = torch.optim.SGD(groups, lr=lr, momentum=np.float64(0.9), weight_decay=1e-4)
    for group in optimizer.param_groups:
        group["initial_lr"] = group["lr"]
    f0, f1, f2, corr = (t.detach() for t in refine_inputs)
    mask = trained.refine_model(f0, f1, f2, corr, (12, 12))
    torch.sigmoid(mask).mean().backward()
    optimizer.step()
    return optimizer.state_dict()


def module_prefixed_state_dict(model: nn.Module) -> "OrderedDict[str, torch.Tensor]":
    """The state dict DataParallel produces: every key prefixed with `module.` (runs without a GPU)."""
    return nn.DataParallel(model).state_dict()


def checkpoint_object(model: SiamMaskSharp, variant: Variant, optimizer_state: dict):
    state_dict = module_prefixed_state_dict(model) if variant.module_prefix else model.state_dict()
    if not variant.wrapped:
        return state_dict
    return {"epoch": 20, "arch": "Custom", "state_dict": state_dict, "best_acc": -1,
            "optimizer": optimizer_state, "anchor_cfg": ANCHOR_CFG}


def save_checkpoint(model: SiamMaskSharp, variant: Variant, optimizer_state: dict, path: Path) -> None:
    obj = checkpoint_object(model, variant, optimizer_state)
    if variant.legacy:
        save_legacy(obj, path, variant.location)
    else:
        torch.save(obj, path)


def verify_checkpoint(model: SiamMaskSharp, variant: Variant, path: Path) -> None:
    """torch.load(map_location='cpu') must give back the model's exact state dict (same keys, order, dtypes, values),
    in the variant's shape; a CUDA-tagged file must also refuse to load on this CPU-only machine without
    map_location (proving the tag is real)."""
    loaded = torch.load(path, map_location="cpu")
    state_dict = loaded["state_dict"] if variant.wrapped else loaded
    if variant.wrapped and set(loaded) != {"epoch", "arch", "state_dict", "best_acc", "optimizer", "anchor_cfg"}:
        raise AssertionError(f"{path}: unexpected wrapper keys {sorted(loaded)}")
    prefix = "module." if variant.module_prefix else ""
    expected = model.state_dict()
    if list(state_dict) != [prefix + k for k in expected]:
        raise AssertionError(f"{path}: key list differs from the model's")
    for key, value in expected.items():
        got = state_dict[prefix + key]
        if got.dtype != value.dtype or not torch.equal(got, value):
            raise AssertionError(f"{path}: {key} differs")
    if variant.location.startswith("cuda") and not torch.cuda.is_available():
        try:
            torch.load(path)
        except RuntimeError:
            return
        raise AssertionError(f"{path}: loaded without map_location, so it is not CUDA-tagged")
