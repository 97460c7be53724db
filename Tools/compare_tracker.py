#!/usr/bin/env python3
"""Compare the Swift tracker (`siammask track`) with the reference loop (Tools/track_reference.py) frame by frame.

  .venv/bin/python Tools/compare_tracker.py MODEL.pth MODEL.siam --sequence PATH [--sequence PATH ...]
        [--siammask .build/release/siammask] [--out out/compare] [--write-goldens DIR]

For every sequence both trackers run from the same first-frame ground truth with the same preset. Per frame:
  - best anchor: equal, or the reference's best and second pscore within 1e-5 (a near-tie, reported);
  - polygon: max corner distance <= 0.5 px (corners matched as given; both come from cv2.boxPoints conventions);
  - mask: IoU of the binary masks >= 0.99 (frames where both masks are empty count as 1).
Exits 1 when a frame fails. --write-goldens stores the reference results compactly (masks run-length encoded) for
the Swift golden test (Tests/SiamMaskTests/Goldens/tracker).
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np

NEAR_TIE = 1e-5
POLYGON_PX = 0.5
MASK_IOU = 0.99


def run(cmd):
    print("$ " + " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True)


def load(dirpath: Path):
    rows = [json.loads(line) for line in (dirpath / "results.jsonl").read_text().splitlines() if line.strip()]
    return {r["frame"]: r for r in rows}


def mask(dirpath: Path, frame: int):
    m = cv2.imread(str(dirpath / "masks" / f"{frame:05d}.png"), cv2.IMREAD_GRAYSCALE)
    return None if m is None else m > 0


def rle(binary: np.ndarray):
    """Run lengths of a flattened binary mask, starting with a run of zeros (possibly empty)."""
    flat = binary.reshape(-1).astype(np.uint8)
    change = np.flatnonzero(np.diff(flat)) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    runs = np.diff(bounds).tolist()
    return runs if flat[0] == 0 else [0] + runs


def compare(ref_dir: Path, ours_dir: Path):
    ref, ours = load(ref_dir), load(ours_dir)
    report = {"frames": 0, "anchor_equal": 0, "near_ties": [], "failures": [], "max_polygon_px": 0.0, "min_mask_iou": 1.0}
    for f in sorted(ref):
        if ref[f].get("init"):
            continue
        r, o = ref[f], ours.get(f)
        report["frames"] += 1
        if o is None:
            report["failures"].append((f, "missing in ours"))
            continue
        if r["best"] == o["best"]:
            report["anchor_equal"] += 1
        elif abs(r["best_pscore"] - r["second_pscore"]) <= NEAR_TIE:
            report["near_ties"].append(f)
        else:
            report["failures"].append((f, f"best anchor {o['best']} vs reference {r['best']}"))
        d = float(np.abs(np.array(r["polygon"]) - np.array(o["polygon"])).max())
        report["max_polygon_px"] = max(report["max_polygon_px"], d)
        if d > POLYGON_PX:
            report["failures"].append((f, f"polygon differs by {d:.3f} px"))
        a, b = mask(ref_dir, f), mask(ours_dir, f)
        if a is None or b is None:
            report["failures"].append((f, "mask missing"))
            continue
        union = np.logical_or(a, b).sum()
        iou = 1.0 if union == 0 else np.logical_and(a, b).sum() / union
        report["min_mask_iou"] = min(report["min_mask_iou"], float(iou))
        if iou < MASK_IOU:
            report["failures"].append((f, f"mask IoU {iou:.4f}"))
    return report


def write_goldens(ref_dir: Path, path: Path):
    with path.open("w") as out:
        for f, r in sorted(load(ref_dir).items()):
            row = {k: r[k] for k in ("frame", "cx", "cy", "w", "h", "score", "best", "best_pscore", "second_pscore", "polygon")}
            if not r.get("init"):
                m = mask(ref_dir, f)
                row["mask_shape"] = list(m.shape)
                row["mask_rle"] = rle(m)
            out.write(json.dumps(row) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("pth", help="the model as .pth (for the reference loop)")
    ap.add_argument("siam", help="the same model as .siam (for the Swift tracker)")
    ap.add_argument("--sequence", action="append", required=True, help="sequence folder (repeatable)")
    ap.add_argument("--siammask", default=".build/release/siammask")
    ap.add_argument("--out", default="out/compare")
    ap.add_argument("--frames", type=int, default=None)
    ap.add_argument("--write-goldens", type=Path, default=None)
    ap.add_argument("--reuse-reference", action="store_true", help="keep reference results already in --out")
    ap.add_argument("--replay", action="store_true",
                    help="replay the reference's states into the Swift tracker (frame f starts from the reference's f-1), "
                         "so every frame is compared on equal inputs; without it both run free")
    args = ap.parse_args()
    python = sys.executable
    ok = True
    rows = []
    for seq in args.sequence:
        name = Path(seq).name
        ref_dir, ours_dir = Path(args.out) / "reference" / name, Path(args.out) / "swift" / name
        extra = ["--frames", str(args.frames)] if args.frames else []
        if not (args.reuse_reference and (ref_dir / "results.jsonl").exists()):
            run([python, "Tools/track_reference.py", args.pth, "--sequence", seq, "--out", ref_dir] + extra)
        subprocess.run(["rm", "-rf", str(ours_dir)], check=True)
        replay = ["--replay-states", ref_dir / "results.jsonl"] if args.replay else []
        run([args.siammask, "track", args.siam, "--sequence", seq, "--out", ours_dir, "--no-overlay"] + extra + replay)
        rep = compare(ref_dir, ours_dir)
        ok &= not rep["failures"]
        rows.append((name, rep))
        if args.write_goldens:
            args.write_goldens.mkdir(parents=True, exist_ok=True)
            write_goldens(ref_dir, args.write_goldens / f"{name}.jsonl")
    print(f"\n{'sequence':12s} {'frames':>6s} {'same best':>9s} {'near-ties':>9s} {'max poly px':>11s} {'min mask IoU':>12s}  result")
    for name, rep in rows:
        print(f"{name:12s} {rep['frames']:6d} {rep['anchor_equal']:9d} {len(rep['near_ties']):9d} "
              f"{rep['max_polygon_px']:11.4f} {rep['min_mask_iou']:12.4f}  {'PASS' if not rep['failures'] else 'FAIL'}")
        for f, why in rep["failures"][:10]:
            print(f"    frame {f}: {why}")
        if rep["near_ties"]:
            print(f"    near-ties (reference best/second pscore within {NEAR_TIE}): frames {rep['near_ties']}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
