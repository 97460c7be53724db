#!/usr/bin/env python3
"""Self-tests of the reference tracker (Tools/siammask_ref/tracker.py, datasets.py, Tools/track_reference.py).

Plain asserts; run from the repository root:  .venv/bin/python Tools/test_tracker_ref.py [-k SUBSTRING]
Prints one line per test and finishes with "N passed, M failed" (exit status 1 if any failed). The end-to-end
tests need Models/fixture and /work/shared/data (DAVIS car-shadow, VOT bag); they are skipped when absent.
"""

import json
import math
import sys
import tempfile
import time
import traceback
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

import track_reference  # noqa: E402
from siammask_ref import data  # noqa: E402
from siammask_ref.crop import exemplar_side, search_side, subwindow  # noqa: E402
from siammask_ref.datasets import detect, open_sequence, shared_sequences  # noqa: E402
from siammask_ref.tracker import (DAVIS, PRESETS, VOT, SiamMaskTracker, anchor_shapes, back_project,  # noqa: E402
                                  backprojection_matrix, cosine_window, generate_anchors, get_axis_aligned_bbox,
                                  infer_width_multiplier, load_model, mask_polygon, read_state_dict,
                                  warp_affine_emulated)

REPO = Path(__file__).resolve().parent.parent
FIXTURE = REPO / "Models" / "fixture"
FIXTURE_MODEL = FIXTURE / "siammask_zip_wrapped.pth"
DATA = data.DEFAULT_DATA_ROOT
CAR_SHADOW = DATA / "DAVIS" / "JPEGImages" / "480p" / "car-shadow"
BAG = DATA / "VOT" / "bag"


class Skip(Exception):
    pass


def need(*paths: Path) -> None:
    for path in paths:
        if not path.exists():
            raise Skip(f"{path} not present")


# ---------------------------------------------------------------------------------------------------------------
# Pieces against the spec
# ---------------------------------------------------------------------------------------------------------------

def test_anchor_table():
    shapes = anchor_shapes()
    assert shapes.tolist() == [[104, 32], [88, 40], [64, 64], [40, 80], [32, 96]], shapes
    anchors = generate_anchors()
    assert anchors.shape == (3125, 4) and anchors.dtype == np.float32
    for a in range(5):
        for i in range(25):
            for j in range(25):
                n = a * 625 + i * 25 + j
                assert anchors[n].tolist() == [8 * (j - 12), 8 * (i - 12), *shapes[a]], (a, i, j, anchors[n])
    assert anchors[:, 0].min() == -96 and anchors[:, 0].max() == 96


def test_cosine_window():
    window = cosine_window()
    assert window.shape == (3125,) and window.dtype == np.float64
    grid = window.reshape(5, 25, 25)
    for a in range(5):
        assert np.array_equal(grid[a], grid[0])
    g = grid[0]
    assert np.all(g[0, :] == 0) and np.all(g[-1, :] == 0) and np.all(g[:, 0] == 0) and np.all(g[:, -1] == 0)
    assert g[12, 12] == 1.0 and np.all(g <= 1.0) and np.array_equal(g, g.T) and np.array_equal(g, g[::-1, ::-1])
    n = np.arange(-24, 25, 2)  # numpy's hanning formula, the one the Swift port must use
    hann = 0.5 + 0.5 * np.cos(np.pi * n / 24)
    assert np.array_equal(g, np.outer(hann, hann))


def test_round_half_even_crop_origin_and_sizes():
    image = (np.arange(20 * 20 * 3) % 251).astype(np.uint8).reshape(20, 20, 3)
    avg = np.array([1.9, 2.5, 3.99])
    # original_sz 5 -> c = 3. pos 5.5 -> round(2.5) = 2 (half to even, not 3); pos 6.5 -> round(3.5) = 4.
    for pos, origin in [((5.5, 5.5), (2, 2)), ((6.5, 6.5), (4, 4)), ((5.5, 6.5), (2, 4)), ((5.4, 5.6), (2, 3))]:
        patch = subwindow(image, pos, 5, 5, avg)[0].transpose(1, 2, 0)
        x0, y0 = origin
        assert np.array_equal(patch, image[y0:y0 + 5, x0:x0 + 5].astype(np.float32)), (pos, origin)
    # Negative half: pos 0.5 -> round(-2.5) = -2: two padding rows / columns of avg truncated to uint8 (1, 2, 3).
    patch = subwindow(image, (0.5, 0.5), 5, 5, avg)[0].transpose(1, 2, 0)
    assert np.array_equal(patch[:2, :].reshape(-1, 3), np.tile([1, 2, 3], (10, 1)))
    assert np.array_equal(patch[2:, 2:], image[:3, :3].astype(np.float32))
    # s_z = round(12.5) = 12 for w = h = 6.25 (sqrt((w + p)(h + p)) = 2w = 12.5).
    assert exemplar_side((6.25, 6.25)) == 12 and exemplar_side((6.75, 6.75)) == 14  # 13.5 -> 14
    assert round(2.5) == 2 and round(3.5) == 4 and round(-2.5) == -2


def test_polygon_to_box_rule():
    w0, h0, angle, centre = 40.0, 20.0, math.radians(30), (100.0, 50.0)
    c, s = math.cos(angle), math.sin(angle)
    corners = [(centre[0] + c * x - s * y, centre[1] + s * x + c * y)
               for x, y in [(-w0 / 2, -h0 / 2), (w0 / 2, -h0 / 2), (w0 / 2, h0 / 2), (-w0 / 2, h0 / 2)]]
    region = [v for p in corners for v in p]
    cx, cy, w, h = get_axis_aligned_bbox(region)
    ext_w, ext_h = w0 * c + h0 * s, w0 * s + h0 * c  # axis-aligned extent of the rotated rectangle
    scale = math.sqrt(w0 * h0 / (ext_w * ext_h))
    assert abs(cx - centre[0]) < 1e-12 and abs(cy - centre[1]) < 1e-12
    assert abs(w - (scale * ext_w + 1)) < 1e-9 and abs(h - (scale * ext_h + 1)) < 1e-9
    assert abs((w - 1) * (h - 1) - w0 * h0) < 1e-9 and abs((w - 1) / (h - 1) - ext_w / ext_h) < 1e-12
    assert get_axis_aligned_bbox([10, 20, 30, 40]) == (25.0, 40.0, 30.0, 40.0)
    assert np.allclose(get_axis_aligned_bbox(region), data.vot_polygon_target(region), rtol=0, atol=1e-9)


def test_polygon_rule_matches_plain_sqrt_on_bag():
    """np.linalg.norm of the 2-vectors equals sqrt(dx*dx + dy*dy) on every ground-truth line (the form for Swift)."""
    need(BAG / "groundtruth.txt")
    for line in (BAG / "groundtruth.txt").read_text().split():
        r = [float(v) for v in line.split(",")]
        cx, cy, w, h = get_axis_aligned_bbox(r)
        xs, ys = r[0::2], r[1::2]
        a1 = math.sqrt((r[0] - r[2]) ** 2 + (r[1] - r[3]) ** 2) * math.sqrt((r[2] - r[4]) ** 2 + (r[3] - r[5]) ** 2)
        x1, x2, y1, y2 = min(xs), max(xs), min(ys), max(ys)
        k = math.sqrt(a1 / ((x2 - x1) * (y2 - y1)))
        assert (cx, cy, w, h) == ((((xs[0] + xs[1]) + xs[2]) + xs[3]) / 4, (((ys[0] + ys[1]) + ys[2]) + ys[3]) / 4,
                                  k * (x2 - x1) + 1, k * (y2 - y1) + 1)


def test_backprojection_formula_against_warp_affine():
    width, height = 60, 50
    crop_box = [3.25, -7.5, 80.0, 80.0]
    row, col = 9, 14
    matrix = backprojection_matrix(crop_box, row, col, width, height)
    k = crop_box[2] / 255
    sub = (crop_box[0] + (col - 4) * 8 * k, crop_box[1] + (row - 4) * 8 * k, 127 * k, 127 * k)
    for u in (0.0, 1.0, 63.5, 126.0):
        x = matrix[0, 0] * u + matrix[0, 2]
        y = matrix[1, 1] * u + matrix[1, 2]
        assert abs(x - (width - 1) / width * (sub[0] + u * sub[2] / 127)) < 1e-12
        assert abs(y - (height - 1) / height * (sub[1] + u * sub[3] / 127)) < 1e-12
    # A linear ramp is reproduced exactly by bilinear interpolation, so cv2's output at image pixel (X, Y) must be
    # the ramp at the inverse-mapped source point (up to OpenCV's 1/32-pixel quantisation of that point).
    alpha, beta, gamma = 0.01, 0.003, 0.2
    vv, uu = np.mgrid[0:127, 0:127].astype(np.float64)
    mask = (alpha * uu + beta * vv + gamma).astype(np.float32)
    warped = back_project(mask, matrix, width, height)
    assert warped.shape == (height, width) and warped.dtype == np.float32
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    u = (xx * width / (width - 1) - sub[0]) * 127 / sub[2]
    v = (yy * height / (height - 1) - sub[1]) * 127 / sub[3]
    inside = (u >= 0) & (u <= 126) & (v >= 0) & (v <= 126)
    outside = (u < -1) | (u > 127) | (v < -1) | (v > 127)
    assert inside.sum() > 500 and outside.sum() > 500
    expected = alpha * u + beta * v + gamma
    assert np.abs(warped[inside] - expected[inside]).max() <= (alpha + beta) / 64 + 1e-5
    assert np.all(warped[outside] == -1)
    # The numpy emulation of OpenCV's fixed-point path is bit-identical.
    assert np.array_equal(warp_affine_emulated(mask, matrix, width, height), warped)


def test_warp_emulation_bit_identical_random():
    rng = np.random.default_rng(5)
    for _ in range(40):
        width, height = int(rng.integers(20, 300)), int(rng.integers(20, 300))
        side = float(rng.integers(30, 900))
        crop_box = [rng.uniform(-300, 300), rng.uniform(-300, 300), side, side]
        row, col = int(rng.integers(0, 25)), int(rng.integers(0, 25))
        mask = rng.uniform(0, 1, (127, 127)).astype(np.float32)
        matrix = backprojection_matrix(crop_box, row, col, width, height)
        assert np.array_equal(warp_affine_emulated(mask, matrix, width, height),
                              back_project(mask, matrix, width, height))


def test_polygon_rule_and_fallback():
    binary = np.zeros((100, 120), np.uint8)
    cv2.fillConvexPoly(binary, np.array([[20, 30], [70, 10], [90, 40], [40, 60]], np.int32), 1)
    binary[80:85, 100:105] = 1  # a second, smaller component: ignored
    polygon, from_mask = mask_polygon(binary, (0.0, 0.0), (1.0, 1.0))
    assert from_mask and polygon.shape == (4, 2) and polygon.dtype == np.float32
    contour = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)[-2]
    largest = max(contour, key=cv2.contourArea)
    assert np.array_equal(polygon, cv2.boxPoints(cv2.minAreaRect(largest.reshape(-1, 2))))
    small = np.zeros((100, 120), np.uint8)
    small[10:20, 10:20] = 1  # contourArea 81 (pixel centres), not > 100 -> fallback
    polygon, from_mask = mask_polygon(small, (50.0, 40.0), (20.0, 10.0))
    assert not from_mask and polygon.tolist() == [[40, 35], [60, 35], [60, 45], [40, 45]]


def test_threshold_compares_in_float32():
    values = np.array([np.float32(0.3), np.nextafter(np.float32(0.3), np.float32(1))], np.float32)
    assert (values > VOT.seg_thr).tolist() == [False, True]  # float32(0.3) > 0.3 in float64, not in float32
    assert PRESETS["vot"] == VOT and PRESETS["davis"] == DAVIS
    assert (VOT.penalty_k, VOT.window_influence, VOT.lr, VOT.seg_thr) == (0.04, 0.42, 0.25, 0.3)
    assert (DAVIS.penalty_k, DAVIS.window_influence, DAVIS.lr, DAVIS.seg_thr) == (0.04, 0.40, 1.0, 0.35)


def test_checkpoint_shapes_and_width_inference():
    need(FIXTURE_MODEL)
    expected = read_state_dict(FIXTURE_MODEL)
    for name in ("siammask_zip_wrapped.pth", "siammask_legacy_wrapped.pth", "siammask_legacy_wrapped_cuda.pth",
                 "siammask_zip_bare_module.pth"):
        model, multiplier = load_model(FIXTURE / name)
        assert multiplier == 0.0625, (name, multiplier)
        state = model.state_dict()
        assert len(state) == 356 and all(torch.equal(state[k], expected[k]) for k in state), name
    from siammask_ref.model import SiamMaskSharp
    for m in (1.0, 0.5, 0.25, 0.125, 0.1):
        sd = SiamMaskSharp(m).state_dict()
        assert SiamMaskSharp(infer_width_multiplier(sd)).widths == SiamMaskSharp(m).widths


def test_dataset_detection():
    need(CAR_SHADOW, BAG, DATA / "OTB" / "Crossing")
    kinds = {p.name: detect(p) for p in shared_sequences()}
    assert kinds == {"tennis": "davis", "car-shadow": "davis", "bag": "vot", "Crossing": "otb"}, kinds
    otb = open_sequence(DATA / "OTB" / "Crossing")
    first = (DATA / "OTB" / "Crossing" / "groundtruth_rect.txt").read_text().split()[:4]
    x, y, w, h = (float(v) for v in first)
    assert otb.targets[0] == (x - 1 + w / 2, y - 1 + h / 2, w, h) and otb.regions[0].tolist() == [x - 1, y - 1, w, h]
    car = open_sequence(DATA / "DAVIS" / "Annotations" / "480p" / "car-shadow")
    assert car.kind == "davis" and len(car) == 40 and car.read_mask(0).max() == 1
    assert car.targets[0] == data.davis_sequence(DATA / "DAVIS", "car-shadow").targets[0]
    bag = open_sequence(BAG)
    assert bag.polygon(0).shape == (4, 2) and bag.targets[0] == get_axis_aligned_bbox(bag.regions[0])
    with tempfile.TemporaryDirectory() as tmp:  # the synthetic layout
        folder = Path(tmp) / "synth"
        (folder / "masks").mkdir(parents=True)
        for i in range(3):
            cv2.imwrite(str(folder / f"{i:05d}.jpg"), np.full((40, 50, 3), 100, np.uint8))
            cv2.imwrite(str(folder / "masks" / f"{i:05d}.png"), np.full((40, 50), 255, np.uint8))
        (folder / "groundtruth.txt").write_text("10,10,30,10,30,20,10,20\n" * 3)
        synth = open_sequence(folder)
        assert synth.kind == "synthetic" and len(synth) == 3 and synth.read_mask(2).sum() == 2000
        assert synth.targets[0] == (20.0, 15.0, 21.0, 11.0)


def test_accuracy_helpers():
    square = np.array([[0, 0], [10, 0], [10, 10], [0, 10]], np.float64)
    shifted = square + [5, 0]
    assert abs(track_reference.polygon_iou(square, shifted, 100, 100) - 50 / 150) < 1e-12
    assert abs(track_reference.polygon_iou(square, square[::-1], 100, 100) - 1) < 1e-12
    assert abs(track_reference.polygon_iou(square - 5, square, 100, 100) - 25 / 100) < 1e-12  # clipped to image
    assert abs(track_reference.box_iou((5, 5, 10, 10), (10, 5, 10, 10)) - 50 / 150) < 1e-12
    assert track_reference.mask_iou(np.zeros((3, 3)), np.zeros((3, 3))) == 1.0


# ---------------------------------------------------------------------------------------------------------------
# End to end (fixture model, car-shadow)
# ---------------------------------------------------------------------------------------------------------------

def _track(sequence, hp, frames):
    model, _ = load_model(FIXTURE_MODEL)
    tracker = SiamMaskTracker(model, hp)
    tracker.init_mask(sequence.read(0), sequence.read_mask(0))
    return [tracker.track(sequence.read(i), keep_float_mask=True, debug=True) for i in range(1, frames)]


def _same(a, b) -> bool:
    for x, y in zip(a, b):
        for key in x:
            u, v = x[key], y[key]
            if isinstance(u, np.ndarray) and not np.array_equal(u, v):
                return False
            if not isinstance(u, np.ndarray) and u != v:
                return False
    return len(a) == len(b)


def test_end_to_end_car_shadow_both_presets():
    need(FIXTURE_MODEL, CAR_SHADOW)
    torch.set_num_threads(2)
    sequence = open_sequence(CAR_SHADOW)
    height, width = sequence.read(0).shape[:2]
    for hp in (VOT, DAVIS):
        first = _track(sequence, hp, 10)
        second = _track(sequence, hp, 10)
        assert len(first) == 9 and _same(first, second), f"{hp}: two runs differ"
        for k, state in enumerate(first, start=1):
            assert state["frame"] == k
            assert state["pos"].dtype == np.float64 and state["size"].dtype == np.float64
            assert 0 <= state["pos"][0] <= width and 0 <= state["pos"][1] <= height
            assert 10 <= state["size"][0] <= width and 10 <= state["size"][1] <= height
            assert 0 <= state["best"] < 3125 and 0 < state["score"] < 1
            assert state["best_pscore"] >= state["second_pscore"]
            assert state["polygon"].shape == (4, 2)
            assert state["polygon"].dtype == (np.float32 if state["polygon_from_mask"] else np.float64)
            assert state["mask"].shape == (height, width) and state["mask"].dtype == np.uint8
            assert set(np.unique(state["mask"])) <= {0, 1}
            assert state["float_mask"].dtype == np.float32 and state["float_mask"].min() >= -1
            assert np.array_equal(state["mask"], (state["float_mask"] > np.float32(hp.seg_thr)).astype(np.uint8))
            # dtypes of the official numpy expressions
            assert state["fg"].dtype == np.float32 and state["boxes"].dtype == np.float32
            assert state["penalty"].dtype == np.float32 and state["pscore"].dtype == np.float64
            assert state["mask127"].shape == (127, 127) and state["mask127"].dtype == np.float32
            assert state["search"].shape == (1, 3, 255, 255) and state["search"].dtype == np.float32
            assert state["score"] == float(state["fg"][state["best"]])
            assert state["best"] == int(np.argmax(state["pscore"]))
            assert np.array_equal(warp_affine_emulated(state["mask127"], state["affine"], width, height),
                                  state["float_mask"])
            if k > 1:
                assert state["crop_box"][2] == search_side(tuple(first[k - 2]["size"]))[1]


def test_search_side_and_recomputed_scores():
    """Replay frame 2 of a run from its debug values: crop side, decode, penalty, pscore and the state update."""
    need(FIXTURE_MODEL, CAR_SHADOW)
    sequence = open_sequence(CAR_SHADOW)
    states = _track(sequence, VOT, 3)
    prev, cur = states[0], states[1]
    s_x, side = search_side(tuple(prev["size"]))
    assert cur["crop_box"][2] == side and abs(cur["s_x"] - s_x) == 0
    pos, size = prev["pos"], prev["size"]
    assert cur["crop_box"][0] == pos[0] - side / 2 and cur["crop_box"][1] == pos[1] - side / 2
    anchors = generate_anchors()
    boxes, fg = cur["boxes"], cur["fg"]
    scale = cur["scale_x"]
    tw, th = size * scale

    def sz(w, h):
        p = (w + h) / 2
        return np.sqrt((w + p) * (h + p))

    # float64 replay of the float32 formulas: agrees to float32 precision
    s_c = sz(boxes[2].astype(np.float64), boxes[3].astype(np.float64)) / sz(tw, th)
    s_c = np.maximum(s_c, 1 / s_c)
    r_c = (tw / th) / (boxes[2].astype(np.float64) / boxes[3])
    r_c = np.maximum(r_c, 1 / r_c)
    penalty = np.exp(-(r_c * s_c - 1) * VOT.penalty_k)
    assert np.abs(penalty - cur["penalty"]).max() < 1e-6
    pscore = penalty * fg * (1 - VOT.window_influence) + cosine_window() * VOT.window_influence
    assert np.abs(pscore - cur["pscore"]).max() < 1e-6
    best = cur["best"]
    lr = float(cur["penalty"][best] * fg[best]) * VOT.lr  # float32 product, then float64
    assert lr == cur["lr"]
    pred = boxes[:, best] / np.float32(scale)
    expected_pos = np.clip([pos[0] + float(pred[0]), pos[1] + float(pred[1])], 0, [854, 480])
    assert np.array_equal(cur["pos"], expected_pos)
    new_w = size[0] * (1 - cur["lr"]) + float(pred[2]) * cur["lr"]
    assert cur["size"][0] == max(10, min(854, new_w))


def test_cli_outputs():
    need(FIXTURE_MODEL, CAR_SHADOW)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "run"
        summary = track_reference.run(FIXTURE_MODEL, CAR_SHADOW, out, "davis", None, 5, 2, quiet=True)
        records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
        assert len(records) == 5 and records[0]["init"] and not records[1]["init"]
        keys = {"frame", "cx", "cy", "w", "h", "score", "best", "best_pscore", "second_pscore", "polygon"}
        assert all(keys <= set(r) and len(r["polygon"]) == 8 for r in records)
        lines = (out / "polygons.txt").read_text().splitlines()
        assert len(lines) == 5 and all(len(line.split(",")) == 8 for line in lines)
        assert sorted(p.name for p in (out / "masks").iterdir()) == [f"{i:05d}.png" for i in range(1, 5)]
        mask = cv2.imread(str(out / "masks" / "00001.png"), cv2.IMREAD_GRAYSCALE)
        assert set(np.unique(mask)) <= {0, 255} and np.count_nonzero(mask) == records[1]["mask_pixels"]
        saved = json.loads((out / "summary.json").read_text())
        assert saved["tracked_frames"] == 4 and saved["mean_mask_iou"] is not None and saved["mean_box_iou"] is not None
        assert saved["width_multiplier"] == 0.0625 and summary["records"] == records
        debug = np.load(out / "debug.npz")
        assert debug["frame2_search"].shape == (1, 3, 255, 255) and "frame3_search" not in debug
        # --init gives the same run as the DAVIS bounding rect it equals
        x, y, w, h = cv2.boundingRect(open_sequence(CAR_SHADOW).read_mask(0))
        again = track_reference.run(FIXTURE_MODEL, CAR_SHADOW, out, "davis", [x, y, w, h], 5, 0, write_files=False,
                                    quiet=True)
        assert again["records"] == records


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    pattern = argv[argv.index("-k") + 1] if "-k" in argv else ""
    torch.set_num_threads(2)
    tests = [(name, fn) for name, fn in globals().items() if name.startswith("test_") and callable(fn)]
    passed = failed = skipped = 0
    for name, fn in tests:
        if pattern not in name:
            continue
        started = time.perf_counter()
        try:
            fn()
        except Skip as reason:
            skipped += 1
            print(f"SKIP {name}: {reason}")
            continue
        except Exception:  # noqa: BLE001 - report every failure and go on
            failed += 1
            print(f"FAIL {name}")
            traceback.print_exc(file=sys.stdout)
            continue
        passed += 1
        print(f"ok   {name} ({time.perf_counter() - started:.1f} s)")
    print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
