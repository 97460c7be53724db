#!/usr/bin/env python3
"""Evaluate a model with the reference tracker on held-out synthetic sequences (and optionally the real ones).

  .venv/bin/python Tools/evaluate_synth.py MODEL.pth [--baseline UNTRAINED.pth] [--seeds 1-20] [--frames 100]
        [--difficulty medium] [--real] [--out out/eval] [--siammask .build/release/siammask]

Generates the sequences with `siammask synth` (seeds never used in training: training uses 1000 and up), runs
Tools/track_reference.py on each (initialised from the first-frame ground truth, running free), and reports per model:
mean box IoU (tracker box vs the ground-truth box by the official init rule), mean mask IoU (binary mask vs the
generator's mask), and losses of target (frames where the box IoU falls to 0 after being above 0, the VOT failure
criterion, counted per sequence). With --real also the sequences in ../shared/data. Writes OUT/evaluation.json.
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path


def seeds(text):
    out = []
    for part in text.split(","):
        a, _, b = part.partition("-")
        out += list(range(int(a), int(b or a) + 1))
    return out


def losses(box_ious):
    count, tracking = 0, True
    for v in box_ious:
        if v is None:
            continue
        if tracking and v <= 0:
            count += 1
            tracking = False
        elif v > 0:
            tracking = True
    return count


def evaluate(model, sequences, out, python):
    rows = []
    for name, path in sequences:
        dest = out / name
        if not (dest / "summary.json").exists():
            subprocess.run([python, "Tools/track_reference.py", str(model), "--sequence", str(path), "--out", str(dest),
                            "--threads", "1"],
                           check=True, stdout=subprocess.DEVNULL)
        s = json.loads((dest / "summary.json").read_text())
        rows.append({"sequence": name, "box_iou": s["mean_box_iou"], "mask_iou": s["mean_mask_iou"],
                     "losses": losses(s["per_frame"]["box_iou"]), "frames": s["tracked_frames"]})
    def mean(key, synthetic):
        vals = [r[key] for r in rows if r[key] is not None and r["sequence"].startswith("synth-") == synthetic]
        return sum(vals) / len(vals) if vals else None
    # Held-out synthetic sequences and real footage are summarised separately.
    return {"sequences": rows, "mean_box_iou": mean("box_iou", True), "mean_mask_iou": mean("mask_iou", True),
            "mean_losses": mean("losses", True), "real_mean_box_iou": mean("box_iou", False),
            "real_mean_mask_iou": mean("mask_iou", False), "real_mean_losses": mean("losses", False)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", type=Path)
    ap.add_argument("--baseline", type=Path, help="e.g. the untrained network, evaluated the same way")
    ap.add_argument("--seeds", default="1-20")
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--width", type=int, default=854)
    ap.add_argument("--height", type=int, default=480)
    ap.add_argument("--difficulty", default="medium")
    ap.add_argument("--real", action="store_true", help="also the sequences in ../shared/data")
    ap.add_argument("--out", type=Path, default=Path("out/eval"))
    ap.add_argument("--siammask", default=".build/release/siammask")
    args = ap.parse_args()
    data = args.out / "data"
    data.mkdir(parents=True, exist_ok=True)
    sequences = []
    for seed in seeds(args.seeds):
        if seed >= 1000:
            sys.exit(f"seed {seed} is a training seed (1000 and up)")
        path = data / f"synth-{args.difficulty}-{seed}"
        if not path.exists():
            subprocess.run([args.siammask, "synth", "--seed", str(seed), "--frames", str(args.frames), "--width",
                            str(args.width), "--height", str(args.height), "--difficulty", args.difficulty, "--out",
                            str(path)], check=True, stdout=subprocess.DEVNULL)
        sequences.append((path.name, path))
    if args.real:
        root = Path(__file__).resolve().parents[1].parent / "shared" / "data"
        sequences += [("tennis", root / "DAVIS/JPEGImages/480p/tennis"), ("car-shadow", root / "DAVIS/JPEGImages/480p/car-shadow"),
                      ("bag", root / "VOT/bag"), ("Crossing", root / "OTB/Crossing")]
    report = {"settings": vars(args) | {"model": str(args.model), "baseline": str(args.baseline), "out": str(args.out)}}
    report["model"] = evaluate(args.model, sequences, args.out / "model", sys.executable)
    if args.baseline:
        report["baseline"] = evaluate(args.baseline, sequences, args.out / "baseline", sys.executable)
    (args.out / "evaluation.json").write_text(json.dumps(report, indent=1, default=str))
    fmt = lambda v: "  n/a" if v is None else f"{v:5.3f}"
    print(f"{'sequence':24s} {'box IoU':>8s} {'mask IoU':>8s} {'losses':>6s}" + ("   baseline: box / mask / losses" if args.baseline else ""))
    for i, r in enumerate(report["model"]["sequences"]):
        line = f"{r['sequence']:24s} {fmt(r['box_iou']):>8s} {fmt(r['mask_iou']):>8s} {r['losses']:6d}"
        if args.baseline:
            b = report["baseline"]["sequences"][i]
            line += f"   {fmt(b['box_iou'])} / {fmt(b['mask_iou'])} / {b['losses']}"
        print(line)
    for key in ("model", "baseline"):
        if key in report:
            m = report[key]
            print(f"{key:9s} synthetic: mean box IoU {fmt(m['mean_box_iou'])}, mean mask IoU {fmt(m['mean_mask_iou'])}, "
                  f"losses per sequence {fmt(m['mean_losses'])}")
            if m["real_mean_box_iou"] is not None:
                print(f"{key:9s} real: mean box IoU {fmt(m['real_mean_box_iou'])}, mean mask IoU "
                      f"{fmt(m['real_mean_mask_iou'])}, losses per sequence {fmt(m['real_mean_losses'])}")


if __name__ == "__main__":
    main()
