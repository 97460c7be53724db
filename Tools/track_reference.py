#!/usr/bin/env python3
"""Run the reference siammask_sharp tracker (official siamese_init / siamese_track, mask + refine) over a sequence
and write per-frame expected outputs for golden tests, plus accuracy against the ground truth where there is one.

  .venv/bin/python Tools/track_reference.py MODEL.pth --sequence PATH --out DIR [--preset vot|davis]
                                            [--init x,y,w,h] [--frames N] [--debug-frames K]

MODEL: a .pth in any shape (legacy / zip, wrapper / bare, `module.` prefix, CUDA-tagged); the width multiplier is
inferred from the tensor shapes. PATH: a DAVIS (ROOT/JPEGImages/480p/SEQ), VOT (SEQ/ with groundtruth.txt), OTB
(SEQ/ with img/ and groundtruth_rect.txt) or synthetic (DIR/ with groundtruth.txt and masks/) sequence folder.
The tracker is initialised on frame 0 from --init (x, y, w, h; 0-based) or from the frame-0 ground truth (VOT
polygon rule, OTB rect, DAVIS mask bounding rect) and runs free (no re-initialisation) over frames 1..N-1.

Writes into DIR:
  results.jsonl  one JSON object per frame (frame 0 = the init record, "init": true, score / best / pscores null):
                 frame, cx, cy, w, h (state after clamping), score (fg of the chosen anchor), best (flat index
                 a*625 + i*25 + j), best_pscore, second_pscore, polygon (8 numbers), polygon_from_mask, crop_box
                 (x, y, side, side of the search crop; its origin is the float pos - side/2), mask_pixels
  polygons.txt   the polygon of every frame, 8 comma-separated "%.4f" values (frame 0: the init box corners)
  masks/NNNNN.png  binary mask (0 / 255) of every tracked frame (frames 1..N-1)
  summary.json   settings, timing and mean accuracy (box IoU; polygon IoU where the GT is a polygon; mask IoU where
                 there are GT masks), means over the tracked frames 1..N-1, plus the per-frame values
  debug.npz      with --debug-frames K: exemplar crop, s_z, window, anchors, and for tracked frames 1..K the search
                 crop, s_x, scale_x, crop box, fg, decoded boxes, penalty, pscore, mask127, affine matrix, float mask
"""

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from siammask_ref.datasets import TrackSequence, open_sequence  # noqa: E402
from siammask_ref.tracker import (PRESETS, SiamMaskTracker, box_target, cosine_window,  # noqa: E402
                                  generate_anchors, load_model)


# ---------------------------------------------------------------------------------------------------------------
# Accuracy
# ---------------------------------------------------------------------------------------------------------------

def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """IoU of two (cx, cy, w, h) boxes (continuous coordinates)."""
    ax1, ay1, ax2, ay2 = a[0] - a[2] / 2, a[1] - a[3] / 2, a[0] + a[2] / 2, a[1] + a[3] / 2
    bx1, by1, bx2, by2 = b[0] - b[2] / 2, b[1] - b[3] / 2, b[0] + b[2] / 2, b[1] + b[3] / 2
    iw = max(0.0, min(ax2, bx2) - max(ax1, bx1))
    ih = max(0.0, min(ay2, by2) - max(ay1, by1))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return float(inter / union) if union > 0 else 0.0


def polygon_area(points: np.ndarray) -> float:
    if len(points) < 3:
        return 0.0
    x, y = points[:, 0], points[:, 1]
    return float(abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))) / 2)


def clip_polygon(subject: np.ndarray, clip: np.ndarray) -> np.ndarray:
    """Sutherland-Hodgman: `subject` clipped by the convex polygon `clip` (either orientation)."""
    clip = np.asarray(clip, dtype=np.float64)
    x, y = clip[:, 0], clip[:, 1]
    if np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)) < 0:
        clip = clip[::-1]
    output = [tuple(p) for p in np.asarray(subject, dtype=np.float64)]
    for k in range(len(clip)):
        if not output:
            break
        (cx1, cy1), (cx2, cy2) = clip[k], clip[(k + 1) % len(clip)]

        def side(p):
            return (cx2 - cx1) * (p[1] - cy1) - (cy2 - cy1) * (p[0] - cx1)

        def cross(p, q):
            sp, sq = side(p), side(q)
            t = sp / (sp - sq)
            return p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])

        current, output = output, []
        for i, p in enumerate(current):
            q = current[i - 1]
            if side(p) >= 0:
                if side(q) < 0:
                    output.append(cross(q, p))
                output.append(p)
            elif side(q) >= 0:
                output.append(cross(q, p))
    return np.array(output, dtype=np.float64).reshape(-1, 2)


def polygon_iou(a: np.ndarray, b: np.ndarray, width: int, height: int) -> float:
    """Overlap of two convex polygons, both first clipped to the image [0, W] x [0, H] (the bounds vot_overlap
    is given); exact geometry rather than the VOT toolkit's rasterisation."""
    bounds = np.array([[0, 0], [width, 0], [width, height], [0, height]], dtype=np.float64)
    a = clip_polygon(a, bounds)
    b = clip_polygon(b, bounds)
    area_a, area_b = polygon_area(a), polygon_area(b)
    if area_a <= 0 or area_b <= 0:
        return 0.0
    inter = polygon_area(clip_polygon(a, b))
    union = area_a + area_b - inter
    return float(inter / union) if union > 0 else 0.0


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    """IoU of two binary masks; 1 when both are empty (the DAVIS J convention)."""
    a, b = a > 0, b > 0
    union = np.count_nonzero(a | b)
    return float(np.count_nonzero(a & b) / union) if union else 1.0


def box_corners(cx: float, cy: float, w: float, h: float) -> np.ndarray:
    x1, y1 = cx - w / 2, cy - h / 2
    return np.array([[x1, y1], [x1 + w, y1], [x1 + w, y1 + h], [x1, y1 + h]], dtype=np.float64)


def region_polygon(region: np.ndarray) -> np.ndarray:
    if region.size == 8:
        return region.reshape(4, 2)
    x, y, w, h = region
    return np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], dtype=np.float64)


# ---------------------------------------------------------------------------------------------------------------
# Run
# ---------------------------------------------------------------------------------------------------------------

def parse_init(text: Optional[str]):
    if text is None:
        return None
    values = [float(v) for v in text.split(",")]
    if len(values) != 4:
        raise argparse.ArgumentTypeError("--init takes x,y,w,h")
    return values


def run(model_path: Path, sequence_path: Path, out: Path, preset: str = "auto", init: Optional[List[float]] = None,
        frames: Optional[int] = None, debug_frames: int = 0, write_files: bool = True, quiet: bool = False) -> Dict:
    """Track and write the outputs. Returns the summary dict (with `records`, the per-frame JSON objects)."""
    sequence: TrackSequence = open_sequence(sequence_path)
    model, multiplier = load_model(model_path)
    if preset == "auto":
        preset = "davis" if sequence.kind == "davis" else "vot"
    hp = PRESETS[preset]
    count = len(sequence) if frames is None else min(frames, len(sequence))
    tracker = SiamMaskTracker(model, hp)

    image = sequence.read(0)
    height, width = image.shape[:2]
    cx, cy, w, h = box_target(init) if init is not None else sequence.init_target()
    started = time.perf_counter()
    init_state = tracker.init(image, (cx, cy), (w, h))
    init_seconds = time.perf_counter() - started

    init_polygon = box_corners(cx, cy, w, h)
    records = [{"frame": 0, "init": True, "cx": cx, "cy": cy, "w": w, "h": h, "score": None, "best": None,
                "best_pscore": None, "second_pscore": None, "polygon": [float(v) for v in init_polygon.ravel()],
                "polygon_from_mask": False, "crop_box": None, "s_z": init_state["s_z"], "mask_pixels": None}]
    debug: Dict[str, np.ndarray] = {}
    if debug_frames:
        debug.update({"exemplar": init_state["exemplar"], "s_z": np.array(init_state["s_z"]),
                      "init_pos": init_state["pos"], "init_size": init_state["size"], "window": cosine_window(),
                      "anchors": generate_anchors(), "avg_chans": tracker.avg_chans})
    if write_files:
        (out / "masks").mkdir(parents=True, exist_ok=True)

    per_frame: Dict[str, List[Optional[float]]] = {"box_iou": [], "polygon_iou": [], "mask_iou": []}
    track_seconds = []
    for index in range(1, count):
        image = sequence.read(index)
        want_debug = index <= debug_frames
        started = time.perf_counter()
        state = tracker.track(image, keep_float_mask=want_debug, debug=want_debug)
        track_seconds.append(time.perf_counter() - started)

        (px, py), (sw, sh) = state["pos"], state["size"]
        polygon = np.asarray(state["polygon"], dtype=np.float64)
        records.append({"frame": index, "init": False, "cx": float(px), "cy": float(py), "w": float(sw),
                        "h": float(sh), "score": state["score"], "best": state["best"],
                        "best_pscore": state["best_pscore"], "second_pscore": state["second_pscore"],
                        "polygon": [float(v) for v in polygon.ravel()],
                        "polygon_from_mask": state["polygon_from_mask"], "crop_box": state["crop_box"],
                        "mask_pixels": int(np.count_nonzero(state["mask"]))})
        if write_files:
            cv2.imwrite(str(out / "masks" / f"{index:05d}.png"), state["mask"] * 255)
        if want_debug:
            for key in ("search", "s_x", "scale_x", "crop_box", "fg", "boxes", "penalty", "pscore", "mask127",
                        "affine", "float_mask", "mask", "pos", "size", "polygon", "best", "lr"):
                debug[f"frame{index}_{key}"] = np.asarray(state[key])

        # Accuracy against the ground truth of this frame.
        if index < len(sequence.targets) and sequence.targets[index][2] > 0 and sequence.targets[index][3] > 0:
            per_frame["box_iou"].append(box_iou((px, py, sw, sh), sequence.targets[index]))
        else:
            per_frame["box_iou"].append(None)
        gt_polygon = sequence.polygon(index)
        per_frame["polygon_iou"].append(None if gt_polygon is None else
                                        polygon_iou(polygon, gt_polygon, width, height))
        gt_mask = sequence.read_mask(index)
        per_frame["mask_iou"].append(None if gt_mask is None else mask_iou(state["mask"], gt_mask))

    def mean(values):
        values = [v for v in values if v is not None]
        return float(np.mean(values)) if values else None

    tracked = len(track_seconds)
    summary = {
        "model": str(model_path), "width_multiplier": multiplier, "sequence": sequence.name,
        "sequence_path": str(sequence_path), "kind": sequence.kind, "preset": preset, "hp": vars(hp).copy(),
        "frames": count, "tracked_frames": tracked, "image_size": [width, height],
        "init": {"cx": cx, "cy": cy, "w": w, "h": h, "from": "--init" if init is not None else "ground truth"},
        "torch_threads": torch.get_num_threads(),
        "init_ms": 1000 * init_seconds,
        "track_ms_mean": 1000 * float(np.mean(track_seconds)) if tracked else None,
        "track_ms_median": 1000 * float(np.median(track_seconds)) if tracked else None,
        "fps": tracked / float(np.sum(track_seconds)) if tracked else None,
        "mean_box_iou": mean(per_frame["box_iou"]), "mean_polygon_iou": mean(per_frame["polygon_iou"]),
        "mean_mask_iou": mean(per_frame["mask_iou"]),
        "mean_score": mean([r["score"] for r in records[1:]]),
        "polygons_from_mask": sum(1 for r in records[1:] if r["polygon_from_mask"]),
        "per_frame": per_frame,
    }
    if write_files:
        out.mkdir(parents=True, exist_ok=True)
        with open(out / "results.jsonl", "w") as f:
            for record in records:
                f.write(json.dumps(record) + "\n")
        with open(out / "polygons.txt", "w") as f:
            for record in records:
                f.write(",".join("%.4f" % v for v in record["polygon"]) + "\n")
        (out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
        if debug:
            np.savez_compressed(out / "debug.npz", **debug)
    if not quiet:
        def fmt(v, spec=".3f"):
            return "n/a" if v is None else format(v, spec)

        print(f"{sequence.name} ({sequence.kind}, {width}x{height}) model {model_path.name} m={multiplier:g} "
              f"preset {preset}: {count} frames, {fmt(summary['track_ms_mean'], '.1f')} ms/frame "
              f"(median {fmt(summary['track_ms_median'], '.1f')}, {fmt(summary['fps'], '.2f')} fps, "
              f"{summary['torch_threads']} threads); box IoU {fmt(summary['mean_box_iou'])}, polygon IoU "
              f"{fmt(summary['mean_polygon_iou'])}, mask IoU {fmt(summary['mean_mask_iou'])}, mean score "
              f"{fmt(summary['mean_score'])}; polygons from the mask {summary['polygons_from_mask']}/{tracked}")
    summary["records"] = records
    return summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", type=Path, help="checkpoint .pth (any shape; widths inferred)")
    parser.add_argument("--sequence", type=Path, required=True, help="sequence folder (DAVIS / VOT / OTB / synthetic)")
    parser.add_argument("--out", type=Path, required=True, help="output folder (created if missing)")
    parser.add_argument("--preset", choices=["auto", "vot", "davis"], default="auto",
                        help="tracker hyper-parameters: vot = config_vot.json, davis = config_davis.json "
                             "(default auto: davis for DAVIS sequences, vot otherwise)")
    parser.add_argument("--init", type=parse_init, default=None,
                        help="x,y,w,h of the target in frame 0 (0-based pixels; default: the frame-0 ground truth)")
    parser.add_argument("--frames", type=int, default=None,
                        help="process only the first N frames (frame 0 = init; default all)")
    parser.add_argument("--debug-frames", type=int, default=0,
                        help="write debug.npz with the intermediate values of tracked frames 1..K (default 0: none)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.frames is not None and args.frames < 1:
        parser.error("--frames must be >= 1")
    run(args.model, args.sequence, args.out, args.preset, args.init, args.frames, args.debug_frames)
    return 0


if __name__ == "__main__":
    sys.exit(main())
