#!/usr/bin/env python3
"""Writes the expected outputs of the tracker's image operations, computed with cv2 (OpenCV 4.6, Debian's
python3-opencv), into Tests/RuntimeTests/Goldens/ for Tests/RuntimeTests/ImageKernelsTests.swift:

  image_resize.json    cv2.resize(..., INTER_LINEAR) on uint8: synthetic sources (a hash generator the Swift test
                       reproduces) and tracker crops of real frames (exemplar / search windows with the official
                       avg-colour padding, plain crops, grey = the green channel of the BGR frame)
  image_warp.json      cv2.warpAffine(float32, M, (W, H), INTER_LINEAR, BORDER_CONSTANT, -1) with the tracker's
                       back-projection matrices and a few general ones, on synthetic 127x127 masks; plus the tracker's
                       polygon from each warped mask (threshold, findContours, largest contour, minAreaRect, boxPoints)
  image_contours.json  findContours(RETR_EXTERNAL, CHAIN_APPROX_NONE), contourArea, convexHull, minAreaRect and
                       boxPoints on synthetic binary masks (stored packed, they are ours) and on the DAVIS
                       ground-truth masks of tennis and car-shadow (thresholded at 127); minAreaRect, convexHull
                       and contourArea on point lists (degenerate ones and random clouds)

Real footage is never copied: for frames and DAVIS masks the goldens hold the file name, the crop geometry and
the sha256 of cv2's output (plus a few sampled values for diagnostics); the Swift test decodes the same files
itself (libturbojpeg / libspng; check_decoders below verifies they agree with cv2.imread bit for bit on every
file used) and skips without the data.

Hashes: sha256 of the output array's bytes (uint8, or float32 little-endian, row-major). Contours: sha256 over
every contour in order of int32 LE [n, x0, y0, x1, y1, ...].

Usage: /usr/bin/python3 Tools/gen_image_op_goldens.py [--data-root /work/shared/data] [--out Tests/RuntimeTests/Goldens]
"""

import argparse
import ctypes
import ctypes.util
import hashlib
import json
import math
import os
import struct

import cv2
import numpy as np

M32 = 0xFFFFFFFF


# ---- Deterministic synthetic sources (mirrored in ImageKernelsTests.swift) ------------------------------------

def hash32(x, y, c, seed):
    """A 32-bit integer hash of (x, y, c, seed); numpy uint32 arrays in, uint32 out (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        v = (np.uint32(seed) * np.uint32(0x9E3779B9) + np.asarray(y, np.uint32) * np.uint32(0x85EBCA6B)
             + np.asarray(x, np.uint32) * np.uint32(0xC2B2AE35) + np.asarray(c, np.uint32) * np.uint32(0x27D4EB2F))
        v = v.astype(np.uint32)
        v ^= v >> np.uint32(16)
        v = (v * np.uint32(0x7FEB352D)).astype(np.uint32)
        v ^= v >> np.uint32(15)
        v = (v * np.uint32(0x846CA68B)).astype(np.uint32)
        v ^= v >> np.uint32(16)
    return v


def synth_u8(w, h, c, seed, kind):
    """uint8 h x w x c. 'noise': the hash's top byte. 'gradient': (7x + 3y + 50c + (hash >> 29)) mod 256,
    smooth ramps with wrap-around edges and a little noise."""
    y, x, ch = np.meshgrid(np.arange(h), np.arange(w), np.arange(c), indexing="ij")
    hv = hash32(x, y, ch, seed)
    if kind == "noise":
        v = hv >> np.uint32(24)
    else:
        v = (7 * x + 3 * y + 50 * ch + (hv >> np.uint32(29)).astype(np.int64)) & 255
    return v.astype(np.uint8)


def synth_f32(w, h, seed, kind):
    """float32 h x w. 'noise': (hash >> 8) / 2^24 (exact). 'blob': 1 - ((x-cx)^2 + (y-cy)^2) / r^2 in double,
    rounded to float32, with cx, cy, r from the seed; negative values kept (sigmoid-free but mask-like)."""
    y, x = np.meshgrid(np.arange(h), np.arange(w), indexing="ij")
    if kind == "noise":
        return ((hash32(x, y, 0, seed) >> np.uint32(8)).astype(np.float64) / 16777216.0).astype(np.float32)
    cx, cy, r = 40 + seed % 40, 35 + (seed * 7) % 50, 25 + (seed * 13) % 40
    d = ((x - cx) ** 2 + (y - cy) ** 2).astype(np.float64)
    return (1.0 - d / float(r * r)).astype(np.float32)


# ---- Helpers ---------------------------------------------------------------------------------------------------

def sha(a):
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def f32_bits(v):
    return struct.unpack("<I", struct.pack("<f", float(v)))[0]


def f64_hex(v):
    return "%016x" % struct.unpack("<Q", struct.pack("<d", float(v)))[0]


def samples_u8(out, rng, n=12):
    h, w = out.shape[:2]
    c = 1 if out.ndim == 2 else out.shape[2]
    o = out.reshape(h, w, c)
    pts = [(0, 0), (h - 1, w - 1), (h - 1, 0), (0, w - 1)] + [tuple(int(v) for v in rng.integers(0, (h, w))) for _ in range(n)]
    return [[y, x, ch, int(o[y, x, ch])] for (y, x) in pts for ch in range(c)]


def contour_digest(contours):
    h = hashlib.sha256()
    for c in contours:
        c = c.reshape(-1, 2).astype("<i4")
        h.update(np.array([len(c)], "<i4").tobytes())
        h.update(c.tobytes())
    return h.hexdigest()


def contour_record(binary):
    """Everything the Swift test compares for one binary mask."""
    contours = cv2.findContours(binary.copy(), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)[-2]
    rec = {"count": len(contours), "digest": contour_digest(contours), "contours": []}
    areas = [cv2.contourArea(c) for c in contours]
    for c, a in list(zip(contours, areas))[:40]:
        pts = c.reshape(-1, 2)
        rec["contours"].append({"n": int(len(pts)), "first": pts[:3].tolist(), "area": float(a)})
    if contours:
        best = int(np.argmax(areas))
        c = contours[best]
        (cx, cy), (w, h), ang = cv2.minAreaRect(c.reshape(-1, 2))
        rect = cv2.minAreaRect(c.reshape(-1, 2))
        box = cv2.boxPoints(rect)
        rec["largest"] = {
            "index": best, "area": float(areas[best]),
            "hull": cv2.convexHull(c, clockwise=False, returnPoints=False).ravel().tolist(),
            "hull_clockwise": cv2.convexHull(c, clockwise=True, returnPoints=False).ravel().tolist(),
            "rect": [float(cx), float(cy), float(w), float(h), float(ang)],
            "rect_bits": [f32_bits(v) for v in (cx, cy, w, h, ang)],
            "box": box.astype(np.float64).ravel().tolist(),
            "box_bits": [f32_bits(v) for v in box.ravel()],
        }
    return rec


# ---- Resize ----------------------------------------------------------------------------------------------------

SYNTH_RESIZE = [
    # (src w, h, channels, seed, kind, dst w, h)
    (1, 1, 1, 1, "noise", 127, 127), (1, 1, 3, 2, "noise", 255, 255), (127, 127, 3, 3, "noise", 1, 1),
    (2, 3, 1, 4, "noise", 5, 7), (7, 5, 3, 5, "noise", 3, 2), (1, 40, 3, 6, "noise", 9, 127), (40, 1, 1, 7, "noise", 127, 3),
    (254, 254, 3, 8, "noise", 127, 127), (510, 510, 3, 9, "noise", 255, 255), (20, 14, 1, 10, "noise", 10, 7),
    (127, 127, 3, 11, "noise", 127, 127), (64, 64, 3, 12, "noise", 128, 128), (100, 100, 3, 13, "noise", 255, 255),
    (255, 255, 3, 14, "noise", 127, 127), (253, 253, 3, 15, "noise", 127, 127), (128, 128, 3, 16, "noise", 127, 127),
    (126, 126, 3, 17, "noise", 127, 127), (300, 300, 3, 18, "gradient", 255, 255), (400, 400, 3, 19, "gradient", 255, 255),
    (600, 600, 3, 20, "noise", 255, 255), (37, 37, 3, 21, "gradient", 127, 127), (513, 513, 3, 22, "noise", 255, 255),
    (191, 191, 1, 23, "noise", 127, 127), (89, 211, 1, 24, "gradient", 255, 127), (333, 17, 3, 25, "noise", 31, 250),
    (16, 16, 3, 26, "noise", 17, 15), (9, 9, 1, 27, "noise", 255, 255), (255, 127, 3, 28, "noise", 127, 255),
    (854, 480, 3, 29, "gradient", 127, 127), (720, 720, 3, 30, "noise", 127, 127),
]


def resize_goldens(data_root, rng):
    synth = []
    for (w, h, c, seed, kind, dw, dh) in SYNTH_RESIZE:
        src = synth_u8(w, h, c, seed, kind)
        out = cv2.resize(src if c > 1 else src[:, :, 0], (dw, dh), interpolation=cv2.INTER_LINEAR)
        synth.append({"src": [w, h, c], "seed": seed, "kind": kind, "dst": [dw, dh], "sha256": sha(out),
                      "samples": samples_u8(out, rng)})

    frames = []
    if data_root and os.path.isdir(data_root):
        frames = frame_resize_cases(data_root, rng)
    return {"generator": "Tools/gen_image_op_goldens.py", "opencv": cv2.__version__, "synthetic": synth, "frames": frames}


def subwindow_geometry(pos, original_sz, cols, rows):
    """x_min, y_min of the official get_subwindow_tracking window (Python round: half to even)."""
    c = (original_sz + 1) / 2
    return int(round(pos[0] - c)), int(round(pos[1] - c))


def tracker_crop(image, x_min, y_min, side, fill):
    rows, cols = image.shape[:2]
    out = np.empty((side, side, image.shape[2]), np.uint8)
    out[...] = fill
    x0, y0 = max(0, x_min), max(0, y_min)
    x1, y1 = min(cols, x_min + side), min(rows, y_min + side)
    if x1 > x0 and y1 > y0:
        out[y0 - y_min:y1 - y_min, x0 - x_min:x1 - x_min] = image[y0:y1, x0:x1]
    return out


def official_subwindow(image, pos, original_sz, avg):
    """The spec's get_subwindow_tracking up to (excluding) the resize, written as in the official code, to check
    tracker_crop (the form the Swift test uses) against it."""
    rows, cols, ch = image.shape
    c = (original_sz + 1) / 2
    x_min = int(round(pos[0] - c)); x_max = x_min + original_sz - 1
    y_min = int(round(pos[1] - c)); y_max = y_min + original_sz - 1
    left, top = max(0, -x_min), max(0, -y_min)
    right, bottom = max(0, x_max - cols + 1), max(0, y_max - rows + 1)
    if left or top or right or bottom:
        canvas = np.zeros((rows + top + bottom, cols + left + right, ch), np.uint8)
        canvas[:] = avg.astype(np.uint8)
        canvas[top:top + rows, left:left + cols] = image
        return canvas[y_min + top:y_max + top + 1, x_min + left:x_max + left + 1]
    return image[y_min:y_max + 1, x_min:x_max + 1]


def sizes_for(w, h):
    p = (w + h) / 2
    s_z = int(round(math.sqrt((w + p) * (h + p))))
    s = math.sqrt((h + p) * (w + p))
    side = s + 2 * (64 / (127 / s))
    return s_z, int(round(side))


def frame_resize_cases(root, rng):
    cases = []
    seqs = []
    # DAVIS: pos/size from the mask's bounding box.
    for name in ("tennis", "car-shadow"):
        for idx in (0, 25):
            f = "DAVIS/JPEGImages/480p/%s/%05d.jpg" % (name, idx)
            m = cv2.imread(os.path.join(root, "DAVIS/Annotations/480p/%s/%05d.png" % (name, idx)), cv2.IMREAD_GRAYSCALE)
            ys, xs = np.nonzero(m > 127)
            x, y, w, h = xs.min(), ys.min(), xs.max() - xs.min() + 1, ys.max() - ys.min() + 1
            seqs.append((f, (x + w / 2, y + h / 2), (float(w), float(h))))
    # VOT bag: centre and axis-aligned size of the polygon.
    lines = open(os.path.join(root, "VOT/bag/groundtruth.txt")).read().split()
    for idx in (0, 100):
        v = [float(t) for t in lines[idx].split(",")]
        xs, ys = v[0::2], v[1::2]
        seqs.append(("VOT/bag/%08d.jpg" % (idx + 1), ((min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2),
                     (max(xs) - min(xs), max(ys) - min(ys))))
    # OTB Crossing: 1-based x, y, w, h.
    lines = open(os.path.join(root, "OTB/Crossing/groundtruth_rect.txt")).read().strip().split("\n")
    for idx in (0, 60):
        x, y, w, h = [float(t) for t in lines[idx].replace(",", "\t").split()]
        seqs.append(("OTB/Crossing/img/%04d.jpg" % (idx + 1), (x - 1 + w / 2, y - 1 + h / 2), (w, h)))

    for (f, pos, size) in seqs:
        image = cv2.imread(os.path.join(root, f))
        rows, cols = image.shape[:2]
        avg = image.reshape(-1, 3).mean(axis=0)       # the tracker takes it from the first frame; any frame will do here
        fill = avg.astype(np.uint8)
        s_z, s_x = sizes_for(*size)
        for side, model in ((s_z, 127), (s_x, 255)):
            x_min, y_min = subwindow_geometry(pos, side, cols, rows)
            patch = tracker_crop(image, x_min, y_min, side, fill)
            assert np.array_equal(patch, official_subwindow(image, pos, side, avg))
            out = cv2.resize(patch, (model, model)) if model != side else patch
            cases.append({"file": f, "crop": [x_min, y_min, side, side], "fill": fill.tolist(), "channels": 3,
                          "dst": [model, model], "sha256": sha(out), "samples": samples_u8(out, rng, 8)})
        # A plain inside crop, grey (green channel) and BGR, of an arbitrary size, shrunk and enlarged.
        w = int(rng.integers(40, min(cols, 320))); h = int(rng.integers(40, min(rows, 320)))
        x = int(rng.integers(0, cols - w + 1)); y = int(rng.integers(0, rows - h + 1))
        for ch, dst in ((1, (127, 127)), (3, (255, 255)), (1, (int(rng.integers(20, 400)), int(rng.integers(20, 400))))):
            crop = image[y:y + h, x:x + w] if ch == 3 else image[y:y + h, x:x + w, 1]
            out = cv2.resize(crop, dst, interpolation=cv2.INTER_LINEAR)
            cases.append({"file": f, "crop": [x, y, w, h], "fill": None, "channels": ch, "dst": list(dst),
                          "sha256": sha(out), "samples": samples_u8(out, rng, 8)})
    return cases


# ---- Warp ------------------------------------------------------------------------------------------------------

def back_projection(crop_box, row, col, image_w, image_h):
    """The tracker's mask back-projection matrix (spec 5.4), in the official operation order."""
    s = crop_box[2] / 255
    sub = [crop_box[0] + (col - 4) * 8 * s, crop_box[1] + (row - 4) * 8 * s, s * 127, s * 127]
    s = 127 / sub[2]
    back = [-sub[0] * s, -sub[1] * s, image_w * s, image_h * s]
    a = (image_w - 1) / back[2]
    b = (image_h - 1) / back[3]
    c = -a * back[0]
    d = -b * back[1]
    return np.array([[a, 0, c], [0, b, d]], np.float64)


WARP_CASES = [
    # (name, mask kind, seed, image w, h, matrix spec)
    ("tennis-like", "blob", 1, 854, 480, ("track", (300.4, 120.7, 211.0), 12, 12)),
    ("tennis-corner", "noise", 2, 854, 480, ("track", (-40.25, -61.5, 301.0), 3, 21)),
    ("car-right-edge", "blob", 3, 854, 480, ("track", (700.1, 200.9, 260.0), 20, 5)),
    ("bag", "blob", 4, 480, 360, ("track", (150.0, 80.0, 180.0), 12, 13)),
    ("crossing-small", "noise", 5, 360, 240, ("track", (170.3, 100.2, 95.0), 12, 12)),
    ("crossing-bottom", "blob", 6, 360, 240, ("track", (200.7, 150.0, 120.5), 20, 0)),
    ("all-outside", "blob", 11, 360, 240, ("track", (200.7, 180.0, 120.5), 24, 0)),
    ("rotate", "noise", 7, 300, 200, ("general", [[1.3 * math.cos(0.4), -1.3 * math.sin(0.4), 90.5],
                                                  [1.1 * math.sin(0.4), 1.2 * math.cos(0.4), -20.25]])),
    ("shear-shrink", "blob", 8, 160, 120, ("general", [[0.61, 0.23, 10.0], [-0.17, 0.7, 33.3]])),
    ("inverse-map", "noise", 9, 200, 150, ("inverse", [[0.45, 0.05, -3.0], [0.02, 0.5, 7.75]])),
    ("tiny-source", "noise", 10, 50, 40, ("general", [[7.9, 0.0, -2.0], [0.0, 6.1, 1.5]])),
]


def warp_goldens(rng):
    cases = []
    for (name, kind, seed, W, H, spec) in WARP_CASES:
        n = 3 if name == "tiny-source" else 127
        src = synth_f32(n, n, seed, kind)
        flags = cv2.INTER_LINEAR
        if spec[0] == "track":
            (x, y, side), row, col = spec[1], spec[2], spec[3]
            M = back_projection((x, y, side, side), row, col, W, H)
        else:
            M = np.array(spec[1], np.float64)
            if spec[0] == "inverse":
                flags |= cv2.WARP_INVERSE_MAP
        out = cv2.warpAffine(src, M, (W, H), flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=-1)
        inside = np.argwhere(out != -1)
        pts = [(0, 0), (H - 1, W - 1)]
        if len(inside):
            (y0, x0), (y1, x1) = inside.min(0), inside.max(0)
            pts += [(int(y0), int(x0)), (int(y1), int(x1)), (int(y0), int(x1)), (int(y1), int(x0))]
            pts += [tuple(int(v) for v in inside[i]) for i in rng.integers(0, len(inside), 24)]
        binary = (out > 0.35).astype(np.uint8)
        rec = contour_record(binary)
        cases.append({
            "name": name, "src": [n, n], "kind": kind, "seed": seed, "dst": [W, H],
            "m": M.ravel().tolist(), "m_bits": [f64_hex(v) for v in M.ravel()],
            "inverse_map": spec[0] == "inverse",
            "sha256": sha(out.astype("<f4")),
            "samples": [[y, x, float(out[y, x]), f32_bits(out[y, x])] for (y, x) in pts],
            "threshold": 0.35, "binary_sha256": sha(binary), "contours": rec,
        })
    return {"generator": "Tools/gen_image_op_goldens.py", "opencv": cv2.__version__, "cases": cases}


# ---- Contours --------------------------------------------------------------------------------------------------

def synthetic_masks(rng):
    masks = []

    def add(name, m, value=1):
        masks.append((name, (m != 0).astype(np.uint8), value))

    add("single-pixel-image-on", np.ones((1, 1)))
    add("single-pixel-image-off", np.zeros((1, 1)))
    add("all-zero", np.zeros((20, 30)))
    add("all-one", np.ones((20, 30)), 255)
    add("one-row", (np.arange(25) % 4 != 0)[None, :])
    add("one-column", (np.arange(19) % 5 < 3)[:, None])
    m = np.zeros((12, 12)); m[3, 4] = 1; m[7, 7] = 1; m[0, 0] = 1; m[11, 11] = 1
    add("isolated-pixels", m, 7)
    m = np.zeros((30, 40)); m[:, :5] = 1; m[10:20, 35:] = 1; m[:3, 15:25] = 1; m[-2:, 10:30] = 1
    add("touching-borders", m)
    m = np.zeros((40, 40)); m[5:35, 5:35] = 1; m[10:30, 10:30] = 0; m[15:25, 15:25] = 1; m[18:22, 18:22] = 0; m[19, 19] = 1
    add("nested-squares", m, 255)
    yy, xx = np.mgrid[:64, :64]
    r = np.hypot(xx - 31.5, yy - 30.2)
    m = ((r < 28) & (r > 20)) | ((r < 14) & (r > 8)) | (r < 3)
    add("nested-rings", m)
    m = np.zeros((30, 30)); np.fill_diagonal(m, 1); m[::-1][np.arange(30), np.arange(30)] = 1
    add("diagonals-x", m)
    m = np.zeros((20, 50)); m[5, 3:47] = 1; m[6:15, 20] = 1; m[15, 10:40] = 1
    add("thin-lines", m)
    m = np.zeros((50, 60))
    for (cx, cy, ax, ay, th) in ((15, 12, 10, 5, 0.3), (40, 30, 15, 7, 1.2), (20, 38, 6, 9, -0.5)):
        u = (xx[:50, :60] - cx) * math.cos(th) + (yy[:50, :60] - cy) * math.sin(th)
        v = -(xx[:50, :60] - cx) * math.sin(th) + (yy[:50, :60] - cy) * math.cos(th)
        m[(u / ax) ** 2 + (v / ay) ** 2 < 1] = 1
    add("rotated-ellipses", m, 255)
    add("checkerboard", (np.add.outer(np.arange(16), np.arange(17)) % 2 == 0))
    for i, density in enumerate((0.1, 0.3, 0.5, 0.7, 0.9)):
        add("noise-%d" % int(density * 100), rng.random((48, 56)) < density, (1, 255, 7, 1, 255)[i])
    small = rng.random((8, 10)) < 0.5
    add("blocks", np.kron(small, np.ones((6, 5))))
    m = np.zeros((64, 64)); m[8:56, 8:56] = 1
    for k in range(6):
        m[12 + 7 * k:16 + 7 * k, 12:52:3] = 0
    add("comb-holes", m)
    return masks


def point_set_record(pts):
    pts = np.asarray(pts, np.int32).reshape(-1, 1, 2)
    rect = cv2.minAreaRect(pts)
    (cx, cy), (w, h), ang = rect
    box = cv2.boxPoints(rect)
    return {"points": pts.reshape(-1, 2).tolist(), "area": float(cv2.contourArea(pts)),
            "hull": cv2.convexHull(pts, clockwise=False, returnPoints=False).ravel().tolist(),
            "hull_clockwise": cv2.convexHull(pts, clockwise=True, returnPoints=False).ravel().tolist(),
            "rect_bits": [f32_bits(v) for v in (cx, cy, w, h, ang)], "box_bits": [f32_bits(v) for v in box.ravel()]}


def point_sets(rng):
    """minAreaRect / convexHull / contourArea on point lists: degenerate ones and random clouds."""
    sets = [[[3, 4]], [[3, 4], [3, 4]], [[3, 4], [5, 9]], [[0, 0], [2, 2], [4, 4], [6, 6]],
            [[6, 6], [0, 0], [4, 4], [2, 2]], [[0, 0], [10, 0], [10, 5], [0, 5]], [[0, 0], [4, 4], [8, 0], [4, -4]],
            [[5, 5], [5, 5], [5, 5]], [[0, 0], [0, 7], [0, 3]], [[1, 1], [7, 2], [3, 9], [4, 4], [7, 2]]]
    for k in range(30):
        n = int(rng.integers(3, 60))
        if k % 3 == 0:
            pts = rng.integers(-500, 1500, (n, 2))
        elif k % 3 == 1:
            pts = rng.integers(0, 6, (n, 2))
        else:
            ang, r = rng.uniform(0, math.pi), rng.uniform(5, 300)
            c = rng.normal(size=(n, 2)) * [r, r / 4]
            pts = np.round(c @ np.array([[math.cos(ang), math.sin(ang)], [-math.sin(ang), math.cos(ang)]]) + 400)
        sets.append(np.asarray(pts).astype(np.int32).tolist())
    return [point_set_record(p) for p in sets]


def contour_goldens(data_root, rng):
    synth = []
    for name, m, value in synthetic_masks(rng):
        rec = contour_record((m * value).astype(np.uint8))
        rec.update({"name": name, "size": [int(m.shape[1]), int(m.shape[0])], "value": value,
                    "bits": np.packbits(m.ravel()).tobytes().hex()})
        synth.append(rec)
    davis = []
    if data_root and os.path.isdir(data_root):
        for seq in ("tennis", "car-shadow"):
            folder = os.path.join(data_root, "DAVIS/Annotations/480p", seq)
            names = sorted(os.listdir(folder))
            for i, fname in enumerate(names):
                if i % 5 and i != len(names) - 1:
                    continue
                g = cv2.imread(os.path.join(folder, fname), cv2.IMREAD_GRAYSCALE)
                for invert in ((False, True) if i == 0 else (False,)):
                    b = (g > 127).astype(np.uint8)
                    if invert:
                        b = 1 - b
                    rec = contour_record(b)
                    rec.update({"file": "DAVIS/Annotations/480p/%s/%s" % (seq, fname), "threshold": 127,
                                "invert": invert, "binary_sha256": sha(b)})
                    davis.append(rec)
    return {"generator": "Tools/gen_image_op_goldens.py", "opencv": cv2.__version__, "synthetic": synth, "davis": davis,
            "point_sets": point_sets(rng)}


def check_decoders(root, jpegs, pngs):
    """The Swift test decodes the footage with libturbojpeg (BGR, default flags) and libspng (G8); check that
    they give exactly cv2.imread's pixels for every file the goldens use. Skipped when a library is missing."""
    try:
        tj = ctypes.CDLL(ctypes.util.find_library("turbojpeg") or "libturbojpeg.so.0")
        sp = ctypes.CDLL(ctypes.util.find_library("spng") or "libspng.so.0")
    except OSError as e:
        print("warning: decoder check skipped (%s)" % e)
        return
    P, I = ctypes.c_void_p, ctypes.c_int
    tj.tjInitDecompress.restype = P
    tj.tjDecompressHeader3.argtypes = [P, ctypes.c_char_p, ctypes.c_ulong] + [ctypes.POINTER(I)] * 4
    tj.tjDecompress2.argtypes = [P, ctypes.c_char_p, ctypes.c_ulong, P, I, I, I, I, I]
    tj.tjDestroy.argtypes = [P]
    sp.spng_ctx_new.restype = P
    sp.spng_ctx_new.argtypes = [I]
    sp.spng_ctx_free.argtypes = [P]
    sp.spng_set_png_buffer.argtypes = [P, ctypes.c_char_p, ctypes.c_size_t]
    sp.spng_decoded_image_size.argtypes = [P, I, ctypes.POINTER(ctypes.c_size_t)]
    sp.spng_decode_image.argtypes = [P, P, ctypes.c_size_t, I, I]
    handle = tj.tjInitDecompress()
    for f in sorted(set(jpegs)):
        data = open(os.path.join(root, f), "rb").read()
        w, h, sub, cs = I(), I(), I(), I()
        assert tj.tjDecompressHeader3(handle, data, len(data), ctypes.byref(w), ctypes.byref(h), ctypes.byref(sub),
                                      ctypes.byref(cs)) == 0, f
        out = np.zeros((h.value, w.value, 3), np.uint8)
        assert tj.tjDecompress2(handle, data, len(data), out.ctypes.data, w.value, 0, h.value, 1, 0) == 0, f  # TJPF_BGR
        if not np.array_equal(out, cv2.imread(os.path.join(root, f))):
            raise SystemExit("libturbojpeg and cv2.imread disagree on %s" % f)
    tj.tjDestroy(handle)
    for f in sorted(set(pngs)):
        data = open(os.path.join(root, f), "rb").read()
        ref = cv2.imread(os.path.join(root, f), cv2.IMREAD_GRAYSCALE)
        ctx = sp.spng_ctx_new(0)
        size = ctypes.c_size_t()
        assert sp.spng_set_png_buffer(ctx, data, len(data)) == 0 and sp.spng_decoded_image_size(ctx, 64, ctypes.byref(size)) == 0
        out = np.zeros(ref.shape, np.uint8)
        assert size.value == out.size and sp.spng_decode_image(ctx, out.ctypes.data, size.value, 64, 0) == 0, f  # SPNG_FMT_G8
        sp.spng_ctx_free(ctx)
        if not np.array_equal(out, ref):
            raise SystemExit("libspng and cv2.imread disagree on %s" % f)
    print("decoders agree with cv2.imread on %d JPEG and %d PNG files" % (len(set(jpegs)), len(set(pngs))))


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data-root", default="/work/shared/data")
    ap.add_argument("--out", default=os.path.join(here, "..", "Tests", "RuntimeTests", "Goldens"))
    args = ap.parse_args()
    if not cv2.__version__.startswith("4.6."):
        raise SystemExit("expected OpenCV 4.6 (Debian's python3-opencv), found %s" % cv2.__version__)
    if not os.path.isdir(args.data_root):
        print("warning: %s not found: writing synthetic goldens only" % args.data_root)
    os.makedirs(args.out, exist_ok=True)
    outputs = {
        "image_resize.json": resize_goldens(args.data_root, np.random.default_rng(1)),
        "image_warp.json": warp_goldens(np.random.default_rng(2)),
        "image_contours.json": contour_goldens(args.data_root, np.random.default_rng(3)),
    }
    check_decoders(args.data_root, [c["file"] for c in outputs["image_resize.json"]["frames"]],
                   [c["file"] for c in outputs["image_contours.json"]["davis"]])
    for name, doc in outputs.items():
        path = os.path.join(args.out, name)
        with open(path, "w") as f:
            json.dump(doc, f, indent=1, sort_keys=True)
            f.write("\n")
        print("%s: %d bytes" % (path, os.path.getsize(path)))


if __name__ == "__main__":
    main()
