#!/usr/bin/env python3
"""Accuracy of the int8 tracker against the float32 one, per calibration method and all-int8 vs budget-driven mixed.

  python3 Tools/evaluate_int8.py [--model Models/siammask-synth.pth] [--calib-seeds 3001-3004] [--eval-seeds 1-10]
        [--frames 100] [--methods minmax,percentile,entropy,mse] [--budget 0.99] [--threads 2] [--out out/int8-eval]
        [--siammask .build/release/siammask] [--no-real] [--weight-bits 7] [--winograd-domain] [--no-mixed]

1. Converts the bundled trained test model (`siammask convert`).
2. Generates calibration sequences (synthetic seeds 3001-3004: never trained on, never evaluated) and held-out
   evaluation sequences (seeds 1-10, the held-out seeds of Models/README.md) with `siammask synth`; the real sequences
   in ../shared/data (tennis, car-shadow, bag, Crossing) are evaluation sequences too. Calibration never sees them.
3. For each method: `siammask calibrate` on the calibration sequences, `siammask quantize` (all int8), then
   `siammask drift` fp32 vs int8 over every evaluation sequence (end to end; per-layer on one run).
4. Mixed precision: `siammask quantize --drift-budget B --sequence <calibration sequences>` with the default method
   (mse; the budget is judged in lockstep on the calibration sequences), then the same drift runs.
Prints and writes OUT/results.md and OUT/results.json: per configuration and sequence group, the int8-vs-fp32 mean
box IoU and mask IoU, centre error, and each tracker's accuracy against the ground truth (IoU x 100).
Needs only the release CLI (Tools/setup.sh; swift build -c release). About 10-15 minutes on 2 cores.
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from evaluate_synth import seeds  # noqa: E402  (seed ranges such as 1-10,15)

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
REAL = ["DAVIS/JPEGImages/480p/tennis", "DAVIS/JPEGImages/480p/car-shadow", "VOT/bag", "OTB/Crossing"]


def sh(cmd, check=True):
    print("$ " + " ".join(str(c) for c in cmd), flush=True)
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    sys.stdout.write(r.stdout)
    if r.returncode != 0 and (check or r.returncode != 1):
        sys.stderr.write(r.stderr)
        raise SystemExit(f"command failed ({r.returncode})")
    return r


def group_summary(frames, names):
    rows = [f for f in frames if f["sequence"] in names]
    n = len(rows)
    if n == 0:
        return None

    def mean(key, rs):
        vals = [r[key] for r in rs if r.get(key) is not None]
        return (sum(vals) / len(vals), len(vals)) if vals else (None, 0)

    out = {"frames": n, "sequences": len({r["sequence"] for r in rows})}
    for key in ("box_iou", "mask_iou", "center_error_px"):
        out[key] = mean(key, rows)[0]
    for side in ("reference", "candidate"):
        for kind in ("box", "mask"):
            v, c = mean(f"{side}_gt_{kind}_iou", rows)
            out[f"{side}_gt_{kind}_iou"] = v
            out[f"gt_{kind}_frames"] = c
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="Models/siammask-synth.pth")
    ap.add_argument("--calib-seeds", default="3001-3004")
    ap.add_argument("--eval-seeds", default="1-10")
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--calib-frames", type=int, default=60)
    ap.add_argument("--methods", default="minmax,percentile,entropy,mse")
    ap.add_argument("--budget", default="0.99")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default="out/int8-eval")
    ap.add_argument("--siammask", default=".build/release/siammask")
    ap.add_argument("--no-real", action="store_true")
    ap.add_argument("--weight-bits", default="8", choices=["7", "8"],
                    help="quantise with 7-bit weights too (a model for AVX2 CPUs without VNNI): adds a 'mse, all int8, "
                         "7-bit weights' configuration")
    ap.add_argument("--no-mixed", action="store_true", help="skip the budget-driven mixed-precision configuration")
    ap.add_argument("--winograd-domain", action="store_true",
                    help="also quantise with --winograd-domain (layer2/3's 3x3s and conv_search computed on 8-bit "
                         "Winograd transforms, for AVX-512 VNNI / AVX-VNNI): adds a 'mse, all int8, Winograd domain' "
                         "configuration")
    args = ap.parse_args()

    B = ROOT / args.siammask
    if not B.exists():
        raise SystemExit(f"{B} not found: run `swift build -c release` first")
    out = ROOT / args.out
    out.mkdir(parents=True, exist_ok=True)
    start = time.time()

    model = out / "model.siam"
    sh([B, "convert", ROOT / args.model, "-o", model])
    (out / "seq").mkdir(exist_ok=True)
    calib, evals = [], []
    for s in seeds(args.calib_seeds):
        p = out / "seq" / f"calib{s}"
        if not p.exists():
            sh([B, "synth", "--seed", s, "--frames", args.calib_frames, "--difficulty", "medium", "--out", p])
        calib.append(p)
    synth_names = []
    for s in seeds(args.eval_seeds):
        p = out / "seq" / f"synth{s:04d}"
        if not p.exists():
            sh([B, "synth", "--seed", s, "--frames", args.frames, "--difficulty", "medium", "--out", p])
        evals.append(p)
        synth_names.append(p.name)
    real_names = []
    if not args.no_real:
        if DATA.exists():
            for r in REAL:
                evals.append(DATA / r)
                real_names.append(Path(r).name)
        else:
            print(f"note: {DATA} is absent; evaluating on synthetic sequences only")

    seq_args = [a for p in evals for a in ("--sequence", p)]
    calib_args = [a for p in calib for a in ("--sequence", p)]
    default_method = "mse" if "mse" in args.methods.split(",") else args.methods.split(",")[0]
    configs = []
    for method in args.methods.split(","):
        table = out / f"calib-{method}.json"
        sh([B, "calibrate", model, *calib_args, "--method", method, "--threads", args.threads, "-o", table])
        q = out / f"int8-{method}.siam"
        sh([B, "quantize", model, "--calibration", table, "-o", q])
        configs.append((f"{method}, all int8", q, method == default_method))
    if args.weight_bits == "7":
        q = out / f"int8-{default_method}-w7.siam"
        sh([B, "quantize", model, "--calibration", out / f"calib-{default_method}.json", "--weight-bits", "7", "-o", q])
        configs.append((f"{default_method}, all int8, 7-bit weights", q, False))
    if args.winograd_domain:
        q = out / f"int8-{default_method}-wd.siam"
        sh([B, "quantize", model, "--calibration", out / f"calib-{default_method}.json", "--winograd-domain", "-o", q])
        configs.append((f"{default_method}, all int8, Winograd domain", q, True))
    if not args.no_mixed:
        q = out / f"mixed-{default_method}.siam"
        r = sh([B, "quantize", model, "--calibration", out / f"calib-{default_method}.json", "--drift-budget",
                args.budget, *calib_args, "--threads", args.threads, "-o", q])
        configs.append((f"{default_method}, mixed (budget {args.budget})", q, False))

    results = []
    for (label, q, layers), mode in [(c, m) for c in configs for m in ("free", "lockstep")]:
        d = out / ("drift-" + q.stem + "-" + mode)
        r = sh([B, "drift", model, q, *seq_args, "--threads", args.threads, "--out", d]
               + ([] if layers and mode == "lockstep" else ["--no-layers"]) + (["--lockstep"] if mode == "lockstep" else []))
        report = json.loads((d / "drift.json").read_text())
        results.append({
            "config": label, "mode": mode, "model": str(q.relative_to(ROOT)), "bytes": q.stat().st_size,
            "int8_layers": report["candidate"]["int8_layers"], "float32_layers": report["candidate"]["float32_layers"],
            "all": group_summary(report["frames"], set(synth_names + real_names)),
            "synthetic": group_summary(report["frames"], set(synth_names)),
            "real": group_summary(report["frames"], set(real_names)),
            "per_sequence": {s["name"]: s for s in report["sequences"]},
        })

    (out / "results.json").write_text(json.dumps(results, indent=2))

    def f(v, scale=1.0, fmt="{:.3f}"):
        return "-" if v is None else fmt.format(v * scale)

    lines = ["# int8 vs float32 tracker (trained test model)", "",
             f"Calibration: synthetic seeds {args.calib_seeds} ({args.calib_frames} frames each). Evaluation: "
             f"synthetic seeds {args.eval_seeds} ({args.frames} frames, 854x480, medium)"
             + ("" if args.no_real or not DATA.exists() else " and the real sequences " + ", ".join(real_names)) + ".", "",
             "IoU int8 vs fp32 = mean over frames of the IoU between the two trackers' outputs; free: both trackers "
             "run free from the first frame; lockstep: the int8 tracker starts every frame from the fp32 tracker's "
             "state (the per-frame effect of int8, without the divergence of two free-running trackers). "
             "GT columns: accuracy against the ground truth, IoU x 100, fp32 / int8.", "",
             "| configuration | mode | group | frames | box IoU int8 vs fp32 | mask IoU int8 vs fp32 | centre err (px) "
             "| GT box fp32 / int8 | GT mask fp32 / int8 | int8 layers | size (bytes) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for res in results:
        for group in ("synthetic", "real", "all"):
            g = res[group]
            if g is None:
                continue
            gt_box = f"{f(g['reference_gt_box_iou'], 100, '{:.1f}')} / {f(g['candidate_gt_box_iou'], 100, '{:.1f}')}"
            gt_mask = f"{f(g['reference_gt_mask_iou'], 100, '{:.1f}')} / {f(g['candidate_gt_mask_iou'], 100, '{:.1f}')}"
            lines.append(f"| {res['config']} | {res['mode']} | {group} | {g['frames']} | {f(g['box_iou'])} | {f(g['mask_iou'])} | "
                         f"{f(g['center_error_px'], fmt='{:.2f}')} | {gt_box} | {gt_mask} | "
                         f"{res['int8_layers']}/{res['int8_layers'] + res['float32_layers']} | {res['bytes']} |")
    lines += ["", "Per sequence (box IoU / mask IoU int8 vs fp32):", "",
              "| configuration | mode | " + " | ".join(results[0]["per_sequence"].keys()) + " |",
              "| --- | --- | " + " | ".join("---" for _ in results[0]["per_sequence"]) + " |"]
    for res in results:
        lines.append(f"| {res['config']} | {res['mode']} | " + " | ".join(
            f"{v['box_iou_mean']:.3f} / {v['mask_iou_mean']:.3f}" for v in res["per_sequence"].values()) + " |")
    lines += ["", f"Total time {time.time() - start:.0f} s. Per-sequence figures: OUT/drift-*/drift.md."]
    (out / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
