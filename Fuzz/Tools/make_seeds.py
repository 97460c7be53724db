#!/usr/bin/env python3
"""Writes the small generated seeds of the fuzz corpora (Fuzz/Corpus/<target>/gen-*): tiny PyTorch checkpoints in
both containers, .npy files of every dtype and header version, JPEG / PNG images of every decoder path, ground-truth
and result lines, calibration tables cut down from a real one. Called by Fuzz/make_seeds.sh (which adds the seeds cut
from the fixture model); needs torch, numpy and cv2 (.venv, Tools/setup.sh --python). Same output on every run.
"""

import io
import json
import sys
import zlib
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "Tools"))
from siammask_ref import checkpoint  # noqa: E402
from PIL import Image

out = Path(sys.argv[1])
work = Path(sys.argv[2])


def put(target, name, data):
    d = out / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data)


# PyTorch: a bare and a wrapped state dict, zip and legacy, with a non-contiguous view and a shared storage.
torch.manual_seed(1)
w = torch.arange(12, dtype=torch.float32).reshape(3, 4)
bare = {"features.features.conv1.weight": w, "features.features.bn1.running_mean": w[:, 1], "x.t": w.t()}
wrapped = {"epoch": 3, "arch": "Custom", "state_dict": {"module." + k: v for k, v in bare.items()},
           "flags": (True, None, 1.5, b"ab")}
for name, obj in [("bare", bare), ("wrapped", wrapped), ("int64", {"n": torch.tensor([1, 2], dtype=torch.int64)}),
                  ("half", {"h": torch.ones(2, dtype=torch.float16)})]:
    for zip_format in (True, False):
        path = work / f"gen-{name}-{'zip' if zip_format else 'legacy'}.pth"
        if zip_format:
            torch.save(obj, path)
        else:  # torch.save's legacy stream keys storages by id(); this writer keys them in order (deterministic)
            checkpoint.save_legacy(obj, path)
        put("pth", path.name, path.read_bytes())
checkpoint.save_legacy(wrapped, work / "gen-wrapped-cuda-legacy.pth", location="cuda:0")
put("pth", "gen-wrapped-cuda-legacy.pth", (work / "gen-wrapped-cuda-legacy.pth").read_bytes())

# .npy: every dtype the reader knows and some it refuses, versions 1-3, scalars, empty, Fortran order.
arrays = {"f4": np.arange(6, dtype="<f4").reshape(2, 3), "i8": np.array([1, -2], dtype="<i8"),
          "u1": np.arange(5, dtype="u1"), "i4": np.array([7], dtype="<i4"), "f8": np.array([0.5], dtype="<f8"),
          "f2": np.array([1.0], dtype="<f2"), "i1": np.array([-1, 1], dtype="i1"), "be": np.array([1.0], dtype=">f4"),
          "scalar": np.float32(3.0), "empty": np.zeros((0, 3), dtype="<f4"),
          "fortran": np.asfortranarray(np.arange(6, dtype="<f4").reshape(2, 3))}
for name, a in arrays.items():
    for version in (1, 2, 3):
        buf = io.BytesIO()
        np.lib.format.write_array(buf, np.asanyarray(a), version=(version, 0))
        put("npy", f"gen-{name}-v{version}.npy", buf.getvalue())

# Images: JPEG 4:2:0 / 4:4:4 / 4:2:2 / grey / progressive / restart markers, odd sizes; PNG every colour type.
rng = np.random.default_rng(7)
colour = rng.integers(0, 256, size=(7, 9, 3), dtype=np.uint8)
grey = rng.integers(0, 256, size=(5, 6), dtype=np.uint8)
for name, params in {"420": dict(subsampling=2), "444": dict(subsampling=0), "422": dict(subsampling=1),
                     "progressive": dict(progressive=True), "optimized": dict(optimize=True)}.items():
    buf = io.BytesIO()
    Image.fromarray(colour[:, :, ::-1]).save(buf, "JPEG", quality=80, **params)
    put("image", f"gen-{name}.jpg", buf.getvalue())
put("image", "gen-restart.jpg", cv2.imencode(".jpg", colour, [cv2.IMWRITE_JPEG_RST_INTERVAL, 1])[1].tobytes())
buf = io.BytesIO()
Image.fromarray(colour[:, :, ::-1]).convert("CMYK").save(buf, "JPEG", quality=80)
put("image", "gen-cmyk.jpg", buf.getvalue())
put("image", "gen-grey.jpg", cv2.imencode(".jpg", grey)[1].tobytes())
put("image", "gen-rgb.png", cv2.imencode(".png", colour)[1].tobytes())
put("image", "gen-grey.png", cv2.imencode(".png", grey)[1].tobytes())
put("image", "gen-rgba.png", cv2.imencode(".png", np.dstack([colour, colour[:, :, :1]]))[1].tobytes())
put("image", "gen-grey16.png", cv2.imencode(".png", grey.astype(np.uint16) * 257)[1].tobytes())
put("image", "gen-bilevel.png", cv2.imencode(".png", (grey > 127).astype(np.uint8) * 255,
                                             [cv2.IMWRITE_PNG_BILEVEL, 1])[1].tobytes())


def png(width, height, colour_type, depth, rows, extra=b""):
    def chunk(kind, body):
        return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")
    ihdr = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([depth, colour_type, 0, 0, 0])
    raw = b"".join(b"\x00" + r for r in rows)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


palette = bytes([0, 0, 0, 128, 0, 0, 0, 128, 0])
put("image", "gen-palette.png", png(4, 2, 3, 8, [bytes([0, 1, 2, 1]), bytes([2, 2, 0, 1])],
                                    extra=(len(palette)).to_bytes(4, "big") + b"PLTE" + palette
                                    + zlib.crc32(b"PLTE" + palette).to_bytes(4, "big")))
put("image", "gen-greyalpha.png", png(2, 2, 4, 8, [bytes([1, 2, 3, 4]), bytes([5, 6, 7, 8])]))

# Ground truth and result files.
gt = {"vot-polygon.txt": "86.41,164.57,91.84,131.97,128.32,138.05,122.89,170.65\n"
                         "86.51,165.92,92.00,133.00,128.65,139.11,123.16,172.03\n",
      "vot-box.txt": "10,20,30,40\nnan,nan,nan,nan\n1.5\t2.5 3.5,4.5\r\n",
      "otb.txt": "198,214,34,81\n197\t214\t34\t81\n196 213 35 82\n",
      "vot-result.txt": "1\n10.0000,20.0000,30.0000,40.0000\n2\n0\n1\n1,2,3,4,5,6,7,8\n",
      "otb-result.txt": "199.000,215.000,34.000,81.000\n1,1,1,1\n"}
for name, text in gt.items():
    put("groundtruth", "gen-" + name, text.encode())
layouts = {"vot": 0, "vot-color": 1, "otb": 2, "synthetic": 3}
for (name, layout), text in zip(layouts.items(), [gt["vot-polygon.txt"], gt["vot-box.txt"], gt["otb.txt"],
                                                    gt["vot-polygon.txt"]]):
    put("sequence", f"gen-{name}", bytes([layout, 3]) + text.encode())

# Calibration tables: the real one (from make_seeds.sh) cut to two tensors, and variants of its keys.
table = json.loads((work / "tiny.calib.json").read_text())
table["tensors"] = table["tensors"][:2]
put("calibration", "gen-two.json", (json.dumps(table, indent=1, sort_keys=True) + "\n").encode())
table["tensors"] = table["tensors"][:1]
table["method"] = "percentile:99.9"
put("calibration", "gen-percentile.json", json.dumps(table, sort_keys=True).encode())
