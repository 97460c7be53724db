#!/usr/bin/env python3
"""Checks the Swift benchmark metrics (Sources/Evaluation/Metrics) against independent references.

Writes result files in each toolkit's own format (perturbed ground truth of the real sequences in ../shared/data plus
synthetic sequences with failures, re-initialisations and missing annotations), scores them with our Swift code
(the XCTest MetricsReferenceTests/testScoresTheCheckScriptsCases, which reads cases.json and writes ours.json) and
with the references:

  overlaps      shapely (exact polygon clipping, bounded by the image as VOT does); vot-toolkit's rasterised overlap
                is measured beside it (it rounds coordinates to pixels, so it is not an equality check)
  VOT           vot-toolkit 0.8 (AccuracyRobustness, AverageAccuracyRobustness, EAOCurve, EAOScore) fed the exact
                shapely overlaps; frames without ground truth are given to the toolkit as UNKNOWN tracker frames,
                which its accuracy ignores (our documented exclusion); its EAO curve is float32, so it is also
                re-run in float64 (the same function with float64 arrays)
  EAO range     a numpy re-statement of the MATLAB toolkit's estimate_evaluation_interval (KDE + find_range)
  OTB           got10k 0.1.3 ExperimentOTB.report on the written result files
  DAVIS         a numpy / OpenCV / skimage re-statement of davis2017-evaluation's db_eval_iou, f_measure (seg2bmap,
                cv2.dilate with skimage disk), db_statistics, and its first/last-frame exclusion

Prints the largest differences and exits 1 on any mismatch. `--golden FILE` also writes the small committed golden
set (inline inputs + reference values) that MetricsReferenceTests checks without Python.

Usage: .venv/bin/python Tools/check_metrics.py [--out DIR] [--skip-build] [--golden Tests/Goldens/metrics-golden.json]
"""
import argparse
import base64
import inspect
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import cv2
import numpy as np
from PIL import Image
from shapely.geometry import Polygon as ShapelyPolygon, box as shapely_box
from skimage.morphology import disk

import vot.analysis.supervised as vot_supervised
from vot.region import Special, calculate_overlaps as vot_raster_overlaps
from vot.region.shapes import Polygon as VotPolygon
from got10k.experiments.otb import ExperimentOTB

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
TOL = 1e-6            # the bound for quantities computed from identical inputs
EXACT_TOL = 1e-9      # exact geometry against shapely, OTB against got10k (both float64, same formulas)


# ----------------------------------------------------------------------------------------------------------------
# Geometry helpers (shapely: the exact reference)

def polygon(values):
    v = [float(x) for x in values]
    if len(v) == 4:
        x, y, w, h = v
        return [(x, y), (x + w, y), (x + w, y + h), (x, y + h)]
    return [(v[i], v[i + 1]) for i in range(0, len(v), 2)]


def exact_overlap(a, b, bounds):
    """IoU of two polygons (point lists) clipped to [0,W]x[0,H]; empty union 0."""
    pa, pb = ShapelyPolygon(a), ShapelyPolygon(b)
    if not pa.is_valid or not pb.is_valid:
        raise ValueError("invalid polygon in a check case")
    if bounds is not None:
        frame = shapely_box(0, 0, bounds[0], bounds[1])
        pa, pb = pa.intersection(frame), pb.intersection(frame)
    inter = pa.intersection(pb).area
    union = pa.area + pb.area - inter
    return inter / union if union > 0 else 0.0


def vot_float(v):
    """tools/test.py's vot_float2str("%.4f", v): v goes through a C float."""
    return "%.4f" % float(np.float32(v))


def rotated_rect(cx, cy, w, h, angle):
    c, s = math.cos(angle), math.sin(angle)
    pts = [(-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)]
    return [(cx + x * c - y * s, cy + x * s + y * c) for x, y in pts]


# ----------------------------------------------------------------------------------------------------------------
# VOT: simulate the supervised protocol on perturbed ground truth

def simulate_vot(gt, size, rng, drift_every, use_boxes=False):
    """Result lines for ground truth `gt` (point lists or None): noise, occasional drifts that end in a failure
    (overlap 0), re-initialisation five frames later, as the toolkit's supervised experiment."""
    n = len(gt)
    lines = ["1"]
    t = 1
    drift = np.zeros(2)
    drifting = False
    while t < n:
        g = gt[t]
        ref = g if g is not None else next((x for x in gt[t::-1] if x is not None), gt[0])
        pts = np.array(ref)
        centre = pts.mean(axis=0)
        if not drifting and rng.random() < 1.0 / drift_every:
            drifting = True
            direction = rng.normal(size=2)
            drift_step = direction / np.linalg.norm(direction) * rng.uniform(4, 12)
        if drifting:
            drift += drift_step
        angle = rng.normal(0, 0.04)
        scale = 1 + rng.normal(0, 0.05)
        rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
        moved = (pts - centre) @ rot.T * scale + centre + rng.normal(0, 2.0, size=2) + drift
        if use_boxes and t % 3 == 0:
            x0, y0 = moved.min(axis=0)
            x1, y1 = moved.max(axis=0)
            region_values = [x0, y0, x1 - x0, y1 - y0]
        else:
            region_values = list(moved.reshape(-1))
        text = ",".join(vot_float(v) for v in region_values)
        region = polygon([float(s) for s in text.split(",")])
        if g is not None and exact_overlap(region, g, size) == 0:
            lines.append("2")
            skip = min(n, t + 5)
            lines += ["0"] * (skip - t - 1)
            if skip < n:
                lines.append("1")
            t = skip + 1
            drift[:] = 0
            drifting = False
            continue
        lines.append(text)
        t += 1
    return lines[:n]


def vot_gt_line(p):
    return "nan,nan,nan,nan,nan,nan,nan,nan" if p is None else ",".join("%.4f" % v for xy in p for v in xy)


def synthetic_vot_sequence(rng, n, size, missing=()):
    w, h = size
    cx, cy = rng.uniform(0.3, 0.7) * w, rng.uniform(0.3, 0.7) * h
    bw, bh = rng.uniform(20, 60), rng.uniform(20, 60)
    angle = rng.uniform(-0.5, 0.5)
    gt = []
    for t in range(n):
        cx += rng.normal(0, 2); cy += rng.normal(0, 2)
        cx = min(max(cx, -10), w + 10); cy = min(max(cy, -10), h + 10)   # may leave the image partly
        angle += rng.normal(0, 0.02)
        gt.append(None if t in missing else rotated_rect(cx, cy, bw, bh, angle))
    return gt


def read_vot_gt(path):
    out = []
    for line in path.read_text().splitlines():
        v = [float(x) for x in line.replace("\t", ",").split(",")]
        out.append(None if any(math.isnan(x) for x in v) else polygon(v))
    return out


# ----------------------------------------------------------------------------------------------------------------
# vot-toolkit as the reference, fed exact overlaps

class _Sequence:
    def __init__(self, name, gt_regions, size, overlaps):
        self.name, self._gt, self.size, self.overlaps = name, gt_regions, size, overlaps
    def groundtruth(self):
        return self._gt
    def __len__(self):
        return len(self._gt)


class _Trajectory:
    def __init__(self, regions):
        self._regions = regions
    def regions(self):
        return self._regions


class _Experiment:
    def __init__(self, trajectories):
        self._t = trajectories
    def gather(self, tracker, sequence):
        return [self._t[sequence.name]]


def vot_regions(lines, gt):
    """Toolkit regions for result lines; a frame without ground truth becomes UNKNOWN (ignored by its accuracy)."""
    out = []
    for line, g in zip(lines, gt):
        v = line.split(",")
        if len(v) == 1:
            out.append(Special(int(float(v[0]))))
        elif g is None:
            out.append(Special(0))
        else:
            out.append(VotPolygon(polygon(v)))
    return out


def float64_eao_curve():
    """The toolkit's compute_eao_curve with float64 arrays instead of float32 (same code otherwise)."""
    src = inspect.getsource(vot_supervised.compute_eao_curve).replace("np.float32", "np.float64")
    namespace = {"np": np, "List": list}
    exec(src, namespace)
    return namespace["compute_eao_curve"]


def matlab_evaluation_range(lengths):
    """numpy re-statement of the MATLAB toolkit's estimate_evaluation_interval (gmm_estimate, gmm_evaluate,
    find_range); None where it is undefined (zero variance), where ours falls back to [1, max - 1]."""
    L = np.asarray(lengths, dtype=np.float64)
    n = len(L)
    if n == 0:
        return None
    w = np.full(n, 1.0 / n)
    mu = np.sum(L * w)
    var = np.sum(w * (L * L)) - mu * mu
    if len(set(lengths)) < 2 or var <= 0:
        return [1, int(max(lengths)) - 1] if max(lengths) >= 2 else None
    T = 1.0 / math.sqrt(var)
    z = T * (L - mu)
    C = T * var * T
    G = C * (4.0 / (3 * n)) ** (2.0 / 5.0)
    A = 1.0 / G
    dm = z[:, None] - z[None, :]
    m = dm * A * dm
    ft = math.sqrt(1 / (2 * math.pi)) * math.sqrt(A) * np.exp(-0.5 * m)
    c = 2 * A * A * (1 - 2 * m) + (1 - m) ** 2 * A * A
    iu = np.triu_indices(n)
    eta = np.where(iu[0] == iu[1], 1.0, 2.0)
    rf2 = np.sum(ft[iu] * c[iu] * w[iu[0]] * w[iu[1]] * eta)
    h = (1.0 / n * C ** -0.5 / (math.sqrt(4 * math.pi) * rf2)) ** (1 / 5)
    H = (1 / T) * (C * h * h) * (1 / T)
    iS = 1 / math.sqrt(H)
    x = np.arange(1, int(max(lengths)) + 1, dtype=np.float64)
    p = np.zeros_like(x)
    for li in L:
        p += (1.0 / n) * np.exp(math.log(iS) - 0.5 * 1.83787706640935 - 0.5 * ((x - li) * iS) ** 2)
    p /= p.sum()
    # find_range, 1-based as in MATLAB
    low = high = int(np.argmax(p)) + 1
    for _ in range(len(p) + 1):
        lo, hi, clip_lo, clip_hi = low - 1, high + 1, False, False
        if lo <= 0:
            lo, clip_lo = 1, True
        if hi >= len(p):
            hi, clip_hi = len(p), True
        if clip_lo and clip_hi:
            low, high = lo, hi
            break
        if not clip_lo and not clip_hi:
            if p[lo - 1] > p[hi - 1]:
                low = lo
            else:
                high = hi
        elif not clip_lo:
            low = lo
        else:
            high = hi
        if p[low - 1:high].sum() >= 0.5:
            break
    return [low, high]


def vot_reference(dataset):
    """Per-sequence exact overlaps (shapely), the toolkit's accuracy / failures / dataset accuracy / EAO curve on
    them, our documented EAO range (MATLAB rule re-stated) and the toolkit's EAOScore mean over it."""
    trajectories, sequences, per_overlaps = {}, [], []
    for s in dataset["sequences"]:
        size = (s["width"], s["height"])
        overlaps = []
        for line, g in zip(s["lines"], s["gt"]):
            v = line.split(",")
            overlaps.append(0.0 if len(v) == 1 or g is None else exact_overlap(polygon(v), g, size))
        per_overlaps.append(overlaps)
        gt_regions = [Special(0) if g is None else VotPolygon(g) for g in s["gt"]]
        sequences.append(_Sequence(s["name"], gt_regions, size, overlaps))
        trajectories[s["name"]] = _Trajectory(vot_regions(s["lines"], s["gt"]))
    experiment = _Experiment(trajectories)

    original = vot_supervised.calculate_overlaps
    # The toolkit's analyses call calculate_overlaps(trajectory, groundtruth, bounds): answer with the exact ones.
    by_gt = {id(seq.groundtruth()): seq.overlaps for seq in sequences}
    vot_supervised.calculate_overlaps = lambda regions, gt, bounds=None: list(by_gt[id(gt)])
    try:
        ar = vot_supervised.AccuracyRobustness()
        per_sequence = [ar.subcompute(experiment, None, seq, []) for seq in sequences]
        accuracy_fn = [vot_supervised.compute_accuracy(trajectories[seq.name].regions(), seq)[1] for seq in sequences]
        aggregated = vot_supervised.AverageAccuracyRobustness().aggregate(None, sequences, per_sequence)
        curve32 = np.asarray(vot_supervised.EAOCurve().subcompute(experiment, None, sequences, [])[0], dtype=np.float64)
        eao64 = float64_eao_curve()
        original_fn = vot_supervised.compute_eao_curve
        vot_supervised.compute_eao_curve = eao64
        try:
            curve64 = np.asarray(vot_supervised.EAOCurve().subcompute(experiment, None, sequences, [])[0], dtype=np.float64)
        finally:
            vot_supervised.compute_eao_curve = original_fn
    finally:
        vot_supervised.calculate_overlaps = original
    lengths = [len(s["lines"]) for s in dataset["sequences"]]
    rng = matlab_evaluation_range(lengths)
    eao = None
    if rng is not None and rng[0] < len(curve64):
        eao = float(np.mean(curve64[rng[0]:rng[1] + 1]))   # EAOScore.compute
    return {
        "overlaps": per_overlaps,
        # a sequence without a valid frame: the toolkit returns accuracy 0 with 0 valid frames; ours is null
        "accuracy": [float(a) if valid > 0 else None for (a, _, _, _), valid in zip(per_sequence, accuracy_fn)],
        "failures": [int(f) for _, f, _, _ in per_sequence],
        "datasetAccuracy": float(aggregated[0]),
        "eaoCurve": curve64.tolist(), "eaoCurve32": curve32.tolist(),
        "lengthRange": rng if rng is not None else [], "eao": eao,
    }


def vot_raster(dataset):
    """vot-toolkit's own rasterised overlaps (pixel grid, rounded coordinates) for the same frames."""
    out = []
    for s in dataset["sequences"]:
        regions = [r if not isinstance(r, Special) else Special(0) for r in vot_regions(s["lines"], s["gt"])]
        gt = [Special(0) if g is None else VotPolygon(g) for g in s["gt"]]
        raster = vot_raster_overlaps(regions, gt, (int(s["width"]), int(s["height"])))   # the toolkit's int size
        keep = [i for i, (line, g) in enumerate(zip(s["lines"], s["gt"])) if g is not None and "," in line]
        out.append((keep, raster))
    return out


# ----------------------------------------------------------------------------------------------------------------
# OTB: got10k on result files

def otb_reference(dataset, result_root):
    class _Dataset:
        def __init__(self, seqs):
            self.seq_names = [s["name"] for s in seqs]
            self._annos = [np.array(s["gt_raw"], dtype=np.float64) for s in seqs]
        def __len__(self):
            return len(self._annos)
        def __iter__(self):
            for a in self._annos:
                yield [], a.copy()

    experiment = ExperimentOTB.__new__(ExperimentOTB)      # the OTB download in __init__ is not needed
    experiment.dataset = _Dataset(dataset["sequences"])
    experiment.result_dir = str(result_root)
    experiment.report_dir = str(result_root / "reports")
    experiment.nbins_iou, experiment.nbins_ce = 21, 51
    performance = experiment.report(["ours"])["ours"]   # 0.1.3 always plots too (Agg backend)
    seq = performance["seq_wise"]
    names = experiment.dataset.seq_names
    return {
        "successCurves": [seq[n]["success_curve"] for n in names],
        "precisionCurves": [seq[n]["precision_curve"] for n in names],
        "successCurve": performance["overall"]["success_curve"],
        "precisionCurve": performance["overall"]["precision_curve"],
        "auc": float(performance["overall"]["success_score"]),
        "precision20": float(performance["overall"]["precision_score"]),
    }


def perturbed_boxes(gt, rng, size):
    out = []
    drift = np.zeros(2)
    for t, g in enumerate(gt):
        base = g if not any(math.isnan(v) for v in g) else out[-1] if out else [10, 10, 20, 20]
        if rng.random() < 0.03:
            drift = rng.normal(0, 15, size=2)
        x, y, w, h = base
        out.append([x + rng.normal(0, 2) + drift[0], y + rng.normal(0, 2) + drift[1],
                    max(1.0, w * (1 + rng.normal(0, 0.08))), max(1.0, h * (1 + rng.normal(0, 0.08)))])
        drift *= 0.9
    return out


# ----------------------------------------------------------------------------------------------------------------
# DAVIS: re-statement of davis2017-evaluation

def davis_j(annotation, segmentation):
    a, s = annotation.astype(bool), segmentation.astype(bool)
    union = np.sum(a | s)
    return 1.0 if np.isclose(union, 0) else np.sum(a & s) / union


def davis_boundary(seg):
    seg = seg.astype(bool)
    east, south, south_east = np.zeros_like(seg), np.zeros_like(seg), np.zeros_like(seg)
    east[:, :-1] = seg[:, 1:]
    south[:-1, :] = seg[1:, :]
    south_east[:-1, :-1] = seg[1:, 1:]
    b = (seg ^ east) | (seg ^ south) | (seg ^ south_east)
    b[-1, :] = seg[-1, :] ^ east[-1, :]
    b[:, -1] = seg[:, -1] ^ south[:, -1]
    b[-1, -1] = 0
    return b


def davis_f(foreground, gt, bound_th=0.008):
    radius = bound_th if bound_th >= 1 else np.ceil(bound_th * np.linalg.norm(foreground.shape))
    fg_b, gt_b = davis_boundary(foreground), davis_boundary(gt)
    kernel = disk(radius).astype(np.uint8)
    fg_dil = cv2.dilate(fg_b.astype(np.uint8), kernel)
    gt_dil = cv2.dilate(gt_b.astype(np.uint8), kernel)
    n_fg, n_gt = np.sum(fg_b), np.sum(gt_b)
    if n_fg == 0 and n_gt > 0:
        precision, recall = 1, 0
    elif n_fg > 0 and n_gt == 0:
        precision, recall = 0, 1
    elif n_fg == 0 and n_gt == 0:
        precision, recall = 1, 1
    else:
        precision = np.sum(fg_b * gt_dil) / float(n_fg)
        recall = np.sum(gt_b * fg_dil) / float(n_gt)
    return 0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


def davis_statistics(values):
    values = np.asarray(values, dtype=np.float64)
    mean = np.nanmean(values)
    recall = np.nanmean(values > 0.5)
    ids = (np.round(np.linspace(1, len(values), 5) + 1e-10) - 1).astype(np.uint8)
    bins = [values[ids[i]:ids[i + 1] + 1] for i in range(4)]
    return [float(mean), float(recall), float(np.nanmean(bins[0]) - np.nanmean(bins[3]))]


def davis_reference(dataset):
    js, fs, jst, fst = [], [], [], []
    for s in dataset["sequences"]:
        gt, pred = s["gt_frames"], s["pred_frames"]
        for k in s["objects"]:
            j = [float(davis_j(gt[t] == k, pred[t] == k)) for t in range(1, len(gt) - 1)]
            f = [float(davis_f(pred[t] == k, gt[t] == k)) for t in range(1, len(gt) - 1)]
            js.append(j); fs.append(f)
            jst.append(davis_statistics(j)); fst.append(davis_statistics(f))
    j_mean, f_mean = float(np.mean([x[0] for x in jst])), float(np.mean([x[0] for x in fst]))
    return {"j": js, "f": fs, "jStatistics": jst, "fStatistics": fst,
            "jMean": j_mean, "fMean": f_mean, "jAndF": (j_mean + f_mean) / 2}


def perturb_mask(m, rng, t, scale=1.0):
    """A plausible tracker mask: eroded / dilated, shifted, sometimes lost or with a spurious blob."""
    out = m.copy().astype(np.uint8)
    r = rng.random()
    if r < 0.05:
        return np.zeros_like(out)
    k = int(rng.integers(1, 1 + max(1, int(8 * scale))))
    kernel = np.ones((k, k), np.uint8)
    out = cv2.dilate(out, kernel) if rng.random() < 0.5 else cv2.erode(out, kernel)
    reach = max(1, int(6 * scale))
    dx, dy = rng.integers(-reach, reach + 1, size=2)
    out = np.roll(np.roll(out, int(dy), axis=0), int(dx), axis=1)
    if rng.random() < 0.15:
        h, w = out.shape
        cy, cx = int(rng.integers(0, h)), int(rng.integers(0, w))
        cv2.circle(out, (cx, cy), max(1, int(rng.integers(3, 20) * scale)), 1, -1)
    return out


def synthetic_davis(rng, w, h, frames, objects, scale=1.0):
    gts, preds = [], []
    centres = [(rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h, rng.uniform(2, max(3, w / 5)), rng.uniform(2, max(3, h / 5)))
               for _ in range(objects)]
    for t in range(frames):
        g = np.zeros((h, w), np.uint8)
        p = np.zeros((h, w), np.uint8)
        for k, (cx, cy, ax, ay) in enumerate(centres, start=1):
            c = (int(cx + 2 * t), int(cy + t))
            m = np.zeros((h, w), np.uint8)
            cv2.ellipse(m, c, (int(ax), int(ay)), 15 * t, 0, 360, 1, -1)
            g[m > 0] = k
            pm = perturb_mask(m, rng, t, scale)
            p[(pm > 0) & (p == 0)] = k
        gts.append(g); preds.append(p)
    return gts, preds


# ----------------------------------------------------------------------------------------------------------------

def build_cases(out, rng, small=False):
    """Case definitions (Python side, with everything the references need) and the cases.json for Swift."""
    cases = {"overlaps": [], "vot": [], "otb": [], "davis": [], "ranges": []}
    refs = {}

    # Overlaps: rotated rectangles, partly outside, non-convex, degenerate, both orientations.
    shapes = []
    for i in range(12 if small else 400):
        a = rotated_rect(*rng.uniform(-20, 120, 2), *rng.uniform(2, 60, 2), rng.uniform(-3, 3))
        b = rotated_rect(*rng.uniform(-20, 120, 2), *rng.uniform(2, 60, 2), rng.uniform(-3, 3))
        if i % 3 == 0:
            b = [(x + rng.normal(0, 5), y + rng.normal(0, 5)) for x, y in a]   # near the same box
            b = ShapelyPolygon(b).convex_hull.exterior.coords[:-1]
        if i % 4 == 1:
            b = list(reversed(list(b)))
        shapes.append((list(a), list(b), [100.0, 80.0] if i % 2 == 0 else None))
    u = [(10, 10), (60, 10), (60, 60), (45, 60), (45, 25), (25, 25), (25, 60), (10, 60)]
    shapes += [(u, rotated_rect(35, 40, 50, 20, 0.3), [100.0, 100.0]), (u, list(reversed(u)), None),
               (u, [(x - 20, y) for x, y in u], [100.0, 100.0]), ([(0, 0), (5, 5), (10, 10)], u, None)]
    for a, b, bounds in shapes:
        cases["overlaps"].append({"a": [v for p in a for v in p], "b": [v for p in b for v in p], "bounds": bounds,
                                  "reference": exact_overlap(a, b, bounds) if len(a) >= 3 and ShapelyPolygon(a).area > 0 else 0.0})

    # VOT datasets
    vot_sets = []
    if not small and (DATA / "VOT" / "bag" / "groundtruth.txt").exists():
        gt = read_vot_gt(DATA / "VOT" / "bag" / "groundtruth.txt")
        w, h = Image.open(DATA / "VOT" / "bag" / "00000001.jpg").size
        seqs = [{"name": "bag", "gt": gt, "width": float(w), "height": float(h),
                 "lines": simulate_vot(gt, (w, h), rng, drift_every=40)}]
        vot_sets.append({"name": "real-bag", "sequences": seqs})
    synth = []
    for k, n in enumerate([20, 22, 40] if small else [60, 90, 120, 150, 150, 200, 260, 400]):
        size = (160.0, 120.0) if small else (320.0, 240.0)
        missing = set(range(12, 16)) if k == 1 else set()
        gt = synthetic_vot_sequence(rng, n, size, missing)
        # The reference sees the ground truth as written (4 decimals), like our parser.
        gt = [None if g is None else polygon([float(v) for v in vot_gt_line(g).split(",")]) for g in gt]
        synth.append({"name": f"synth{k}", "gt": gt, "width": size[0], "height": size[1],
                      "lines": simulate_vot(gt, size, rng, drift_every=25 if small else 30, use_boxes=(k % 2 == 1))})
    vot_sets.append({"name": "synthetic", "sequences": synth})
    for d in vot_sets:
        entry = {"name": d["name"], "sequences": []}
        folder = out / "vot" / d["name"]
        folder.mkdir(parents=True, exist_ok=True)
        for s in d["sequences"]:
            result_text = "\n".join(s["lines"]) + "\n"
            gt_text = "\n".join(vot_gt_line(g) for g in s["gt"]) + "\n"
            seq = {"name": s["name"], "width": s["width"], "height": s["height"]}
            if small:
                seq.update(result=result_text, groundTruth=gt_text)
            else:
                (folder / s["name"]).mkdir(exist_ok=True)
                (folder / s["name"] / f"{s['name']}_001.txt").write_text(result_text)
                (folder / s["name"] / "groundtruth.txt").write_text(gt_text)
                seq.update(resultPath=f"vot/{d['name']}/{s['name']}/{s['name']}_001.txt",
                           groundTruthPath=f"vot/{d['name']}/{s['name']}/groundtruth.txt")
            entry["sequences"].append(seq)
        entry["reference"] = vot_reference(d)
        cases["vot"].append(entry)
        refs.setdefault("vot_sets", []).append(d)

    # OTB datasets (result files in got10k's layout, 1-based like the OTB annotations)
    otb_seqs = []
    if not small and (DATA / "OTB" / "Crossing" / "groundtruth_rect.txt").exists():
        raw = [[float(v) for v in line.replace("\t", ",").split(",")]
               for line in (DATA / "OTB" / "Crossing" / "groundtruth_rect.txt").read_text().splitlines() if line.strip()]
        otb_seqs.append({"name": "Crossing", "gt_raw": raw})
    for k, n in enumerate([12, 9] if small else [80, 150, 60]):
        x, y, bw, bh = rng.uniform(20, 100), rng.uniform(20, 80), rng.uniform(10, 50), rng.uniform(10, 50)
        raw = []
        for t in range(n):
            x += rng.normal(0, 3); y += rng.normal(0, 3)
            raw.append([x, y, bw, bh] if not (k == 1 and t in (4, 5)) else [math.nan] * 4)
        otb_seqs.append({"name": f"synth{k}", "gt_raw": raw})
    otb_folder = out / "otb"
    (otb_folder / "ours").mkdir(parents=True, exist_ok=True)
    entry = {"name": "otb", "sequences": []}
    for s in otb_seqs:
        boxes = perturbed_boxes(s["gt_raw"], rng, None)
        result_text = "".join(",".join("%.3f" % v for v in b) + "\n" for b in boxes)
        gt_text = "".join(("nan,nan,nan,nan" if any(math.isnan(v) for v in g) else ",".join("%.3f" % v for v in g)) + "\n"
                          for g in s["gt_raw"])
        s["gt_raw"] = [[float(v) for v in line.split(",")] for line in gt_text.splitlines()]   # as written
        (otb_folder / "ours" / f"{s['name']}.txt").write_text(result_text)
        seq = {"name": s["name"]}
        if small:
            seq.update(result=result_text, groundTruth=gt_text)
        else:
            (otb_folder / "gt").mkdir(exist_ok=True)
            (otb_folder / "gt" / f"{s['name']}.txt").write_text(gt_text)
            seq.update(resultPath=f"otb/ours/{s['name']}.txt", groundTruthPath=f"otb/gt/{s['name']}.txt")
        entry["sequences"].append(seq)
    entry["reference"] = otb_reference({"sequences": otb_seqs}, otb_folder)
    cases["otb"].append(entry)

    # DAVIS datasets (label maps as raw bytes, frames x height x width)
    davis_sets = []
    if not small:
        real = []
        for name in ["tennis", "car-shadow"]:
            folder = DATA / "DAVIS" / "Annotations" / "480p" / name
            if not folder.exists():
                continue
            gts = [(np.array(Image.open(p)) > 0).astype(np.uint8) for p in sorted(folder.glob("*.png"))]
            real.append({"name": name, "gt_frames": gts, "pred_frames": [perturb_mask(g, rng, t) for t, g in enumerate(gts)],
                         "objects": [1]})
        if real:
            davis_sets.append({"name": "real", "sequences": real})
    gts, preds = synthetic_davis(rng, 16 if small else 120, 12 if small else 100, 5 if small else 12, 2,
                                  scale=0.25 if small else 1.0)
    davis_sets.append({"name": "synthetic", "sequences": [{"name": "ellipses", "gt_frames": gts, "pred_frames": preds,
                                                           "objects": [1, 2]}]})
    for d in davis_sets:
        entry = {"name": d["name"], "sequences": []}
        for s in d["sequences"]:
            h, w = s["gt_frames"][0].shape
            seq = {"name": s["name"], "width": w, "height": h, "frames": len(s["gt_frames"]), "objects": s["objects"]}
            p_bytes, g_bytes = np.stack(s["pred_frames"]).tobytes(), np.stack(s["gt_frames"]).tobytes()
            if small:
                seq.update(predicted=base64.b64encode(p_bytes).decode(), groundTruth=base64.b64encode(g_bytes).decode())
            else:
                folder = out / "davis" / d["name"]
                folder.mkdir(parents=True, exist_ok=True)
                (folder / f"{s['name']}.pred.u8").write_bytes(p_bytes)
                (folder / f"{s['name']}.gt.u8").write_bytes(g_bytes)
                seq.update(predictedPath=f"davis/{d['name']}/{s['name']}.pred.u8",
                           groundTruthPath=f"davis/{d['name']}/{s['name']}.gt.u8")
            entry["sequences"].append(seq)
        entry["reference"] = davis_reference(d)
        cases["davis"].append(entry)

    # EAO length ranges
    length_sets = [[196], [100, 100], [60, 90, 120, 150, 150, 200, 260, 400], [20, 22, 40]]
    for _ in range(2 if small else 6):
        length_sets.append([int(v) for v in np.clip(rng.lognormal(5.5, 0.6, size=int(rng.integers(5, 61))), 20, 1500)])
    for lengths in length_sets:
        cases["ranges"].append({"lengths": lengths, "reference": matlab_evaluation_range(lengths)})
    return cases, refs


def run_swift(case_file, skip_build):
    env = dict(os.environ, SIAMMASK_METRICS_CASES=str(case_file))
    if not skip_build:
        subprocess.run(["swift", "build", "--build-tests"], cwd=ROOT, check=True)
    r = subprocess.run(["swift", "test", "--skip-build", "--disable-swift-testing", "--filter",
                        "MetricsReferenceTests/testScoresTheCheckScriptsCases"], cwd=ROOT, env=env,
                       capture_output=True, text=True)
    ours = case_file.parent / "ours.json"
    if r.returncode != 0 or not ours.exists():
        sys.stderr.write(r.stdout[-4000:] + r.stderr[-4000:])
        raise SystemExit("check_metrics: the Swift side failed")
    return json.loads(ours.read_text())


def max_diff(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return math.inf
    return float(np.max(np.abs(a - b))) if a.size else 0.0


def compare(cases, ours, raster_rows):
    rows = []   # (quantity, cases, max |diff|, tolerance)

    def row(name, n, diff, tol):
        rows.append((name, n, diff, tol))

    row("overlap vs shapely (exact)", len(cases["overlaps"]),
        max_diff(ours["overlaps"], [c["reference"] for c in cases["overlaps"]]), EXACT_TOL)
    frames = 0
    for d, o in zip(cases["vot"], ours["vot"]):
        ref, sc = d["reference"], o["scores"]
        frames += sum(len(x) for x in ref["overlaps"])
        row(f"VOT {d['name']}: per-frame overlap vs shapely", sum(len(x) for x in ref["overlaps"]),
            max(max_diff(a, b) for a, b in zip(o["overlaps"], ref["overlaps"])), EXACT_TOL)
        acc_pairs = [(s.get("accuracy"), r) for s, r in zip(sc["sequences"], ref["accuracy"])]
        none_mismatch = any((a is None) != (r is None) for a, r in acc_pairs)
        row(f"VOT {d['name']}: sequence accuracy vs vot-toolkit", len(acc_pairs),
            math.inf if none_mismatch else max([abs(a - r) for a, r in acc_pairs if a is not None] or [0]), TOL)
        row(f"VOT {d['name']}: failures vs vot-toolkit", len(acc_pairs),
            float(max(abs(s["failures"] - r) for s, r in zip(sc["sequences"], ref["failures"]))), 0)
        row(f"VOT {d['name']}: robustness (100 f / frames)", len(acc_pairs),
            max(abs(s["robustness"] - 100.0 * r / s["frames"]) for s, r in zip(sc["sequences"], ref["failures"])), TOL)
        row(f"VOT {d['name']}: dataset accuracy vs AverageAccuracyRobustness", 1,
            abs((sc.get("accuracy") or 0) - ref["datasetAccuracy"]), TOL)
        row(f"VOT {d['name']}: EAO curve vs EAOCurve (float64 arrays)", len(ref["eaoCurve"]),
            max_diff(sc["eaoCurve"], ref["eaoCurve"]), TOL)
        row(f"VOT {d['name']}: EAO curve vs EAOCurve (toolkit float32, info)", len(ref["eaoCurve32"]),
            max_diff(sc["eaoCurve"], ref["eaoCurve32"]), 1e-5)
        row(f"VOT {d['name']}: length range vs MATLAB rule", 1,
            0.0 if sc["lengthRange"] == ref["lengthRange"] else math.inf, 0)
        eao_ok = (sc.get("eao") is None) == (ref["eao"] is None)
        row(f"VOT {d['name']}: EAO vs EAOScore over the range", 1,
            (abs(sc["eao"] - ref["eao"]) if sc.get("eao") is not None else 0.0) if eao_ok else math.inf, TOL)
    for d, o in zip(cases["otb"], ours["otb"]):
        ref = d["reference"]
        row("OTB: per-sequence success curves vs got10k", len(ref["successCurves"]),
            max(max_diff(s["successCurve"], r) for s, r in zip(o["sequences"], ref["successCurves"])), EXACT_TOL)
        row("OTB: per-sequence precision curves vs got10k", len(ref["precisionCurves"]),
            max(max_diff(s["precisionCurve"], r) for s, r in zip(o["sequences"], ref["precisionCurves"])), EXACT_TOL)
        row("OTB: dataset success curve / AUC vs got10k", 1,
            max(max_diff(o["successCurve"], ref["successCurve"]), abs(o["auc"] - ref["auc"])), EXACT_TOL)
        row("OTB: dataset precision curve / P@20 vs got10k", 1,
            max(max_diff(o["precisionCurve"], ref["precisionCurve"]), abs(o["precision20"] - ref["precision20"])), EXACT_TOL)
    for d, o in zip(cases["davis"], ours["davis"]):
        ref = d["reference"]
        n = sum(len(x) for x in ref["j"])
        row(f"DAVIS {d['name']}: per-frame J", n, max(max_diff(a, b) for a, b in zip(o["j"], ref["j"])), TOL)
        row(f"DAVIS {d['name']}: per-frame F", n, max(max_diff(a, b) for a, b in zip(o["f"], ref["f"])), TOL)
        objs = o["scores"]["objects"]
        row(f"DAVIS {d['name']}: J mean/recall/decay per object", len(objs),
            max(max_diff([x["j"]["mean"], x["j"]["recall"], x["j"]["decay"]], r) for x, r in zip(objs, ref["jStatistics"])), TOL)
        row(f"DAVIS {d['name']}: F mean/recall/decay per object", len(objs),
            max(max_diff([x["f"]["mean"], x["f"]["recall"], x["f"]["decay"]], r) for x, r in zip(objs, ref["fStatistics"])), TOL)
        row(f"DAVIS {d['name']}: dataset J, F, J&F", 1,
            max(abs(o["scores"]["j"]["mean"] - ref["jMean"]), abs(o["scores"]["f"]["mean"] - ref["fMean"]),
                abs(o["scores"]["jAndF"] - ref["jAndF"])), TOL)
    row("EAO length ranges vs MATLAB rule", len(cases["ranges"]),
        0.0 if all((r["reference"] or None) == (o or None) for r, o in zip(cases["ranges"], ours["ranges"])) else math.inf, 0)
    # vot-toolkit's rasterised overlap against our exact overlap: measured, not an equality check.
    diffs = []
    for per_sequence, o in zip(raster_rows, ours["vot"]):
        for (keep, raster), seq_ours in zip(per_sequence, o["overlaps"]):
            diffs += [abs(raster[i] - seq_ours[i]) for i in keep]
    return rows, diffs


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, help="keep the cases here (default: a temporary folder)")
    ap.add_argument("--skip-build", action="store_true", help="the tests are already built")
    ap.add_argument("--golden", type=Path, help="also write the small committed golden set here")
    ap.add_argument("--seed", type=int, default=20261010)
    args = ap.parse_args()
    if not DATA.exists():
        print(f"check_metrics: {DATA} is absent: real-footage cases skipped, synthetic ones only")
    out = args.out or Path(tempfile.mkdtemp(prefix="siammask-metrics-"))
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    cases, refs = build_cases(out, rng)
    case_file = out / "cases.json"
    case_file.write_text(json.dumps(cases))
    raster_rows = [vot_raster(d) for d in refs["vot_sets"]]
    ours = run_swift(case_file, args.skip_build)
    rows, raster = compare(cases, ours, raster_rows)

    width = max(len(r[0]) for r in rows)
    print(f"{'quantity'.ljust(width)}  {'n':>6}  {'max |ours - ref|':>16}  {'bound':>8}  ")
    failed = False
    for name, n, diff, tol in rows:
        ok = diff <= tol
        failed |= not ok
        print(f"{name.ljust(width)}  {n:>6}  {diff:>16.3e}  {tol:>8.0e}  {'ok' if ok else 'MISMATCH'}")
    if raster:
        r = np.asarray(raster)
        print(f"\nvot-toolkit rasterised overlap vs our exact overlap ({len(r)} frames with a region and ground truth): "
              f"max {r.max():.4f}, mean {r.mean():.4f}, 99th percentile {np.percentile(r, 99):.4f}")
    if args.golden:
        small_cases, _ = build_cases(out / "golden", np.random.default_rng(args.seed + 1), small=True)
        args.golden.parent.mkdir(parents=True, exist_ok=True)
        for d in small_cases["vot"]:
            d["reference"].pop("eaoCurve32", None)
        text = json.dumps(small_cases, separators=(",", ":"))
        args.golden.write_text(text + "\n")
        print(f"\nwrote {args.golden} ({len(text) // 1024} KB)")
    if args.out is None:
        shutil.rmtree(out, ignore_errors=True)
    print("check_metrics:", "MISMATCH" if failed else "all within bounds")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
