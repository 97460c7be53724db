#!/usr/bin/env python3
"""Train a small siammask_sharp (width multiplier >= 0.25) from scratch on synthetic sequences, on the CPU.

  .venv/bin/python Tools/train.py --width-multiplier 0.25 --seed 1 --minutes 60 --out out/train [--resume]

Steps: (1) training data: sequences with seeds 1000.. (never < 1000: those are held out for evaluation) written by
`siammask synth` (the Swift generator; `--generator interim` uses the Python stand-in of siammask_ref/pairs.py) into
OUT/data/seq_<seed>; (2) stage 1 (backbone + RPN + base mask head) then stage 2 (refine), time-budgeted, a
checkpoint every ~5 minutes in OUT/checkpoint.pth, the loss curve in OUT/log.csv; (3) BN running statistics
re-measured in eval mode on tracker-style 255 crops of training sequences (weights.calibrate_bn), kept only if the
sanity score on the held-out sequences does not drop; (4) the final `.pth` (official training wrapper without
optimizer state, zip format) and OUT/summary.json with the sanity evaluation of the trained and of a random
BN-calibrated network on held-out seeds 1-5.
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

# Passive OpenMP waiting: with spinning threads, 2 threads on 2 cores shared with other jobs run ~10x slower.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from siammask_ref import pairs, training  # noqa: E402
from siammask_ref.checkpoint import ANCHOR_CFG  # noqa: E402
from siammask_ref.model import SiamMaskSharp  # noqa: E402
from siammask_ref.weights import calibrate_bn, init_weights  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DIFFICULTIES = ("easy", "medium", "hard")


def log(message: str, path: Path = None) -> None:
    line = f"[{time.strftime('%H:%M:%S')}] {message}"
    print(line, flush=True)
    if path is not None:
        with path.open("a") as f:
            f.write(line + "\n")


def swift_generator() -> Path:
    binary = REPO / ".build" / "release" / "siammask"
    if binary.exists():
        probe = subprocess.run([str(binary), "synth", "--help"], capture_output=True)
        if probe.returncode == 0:
            return binary
    return None


def generate(seeds, root: Path, frames: int, width: int, height: int, mode: str, logger) -> str:
    """Write missing sequences; returns the generator used ('swift' or 'interim')."""
    binary = swift_generator() if mode in ("auto", "swift") else None
    if mode == "swift" and binary is None:
        raise SystemExit("siammask synth is not available (build it: swift build -c release --product siammask)")
    used = "swift" if binary is not None else "interim"
    start = time.time()
    root.mkdir(parents=True, exist_ok=True)
    for seed in seeds:
        if seed < 1000 and root.name != "eval":
            raise SystemExit("training seeds must be >= 1000")
        out = root / f"seq_{seed}"
        if (out / "groundtruth.txt").exists():
            continue
        difficulty = DIFFICULTIES[seed % 3]
        if binary is not None:
            subprocess.run([str(binary), "synth", "--seed", str(seed), "--frames", str(frames), "--out", str(out),
                            "--width", str(width), "--height", str(height), "--difficulty", difficulty, "--threads", "1"],
                           check=True, capture_output=True)
        else:
            pairs.interim_synth_sequence(seed, frames, out, width, height, difficulty)
    logger(f"data: {len(list(seeds))} sequences in {root} via {used} ({time.time() - start:.0f} s)")
    return used


def loss_summary(log_path: Path) -> dict:
    """Mean of each loss over the first / middle / last 10% of the steps of each stage."""
    rows = list(csv.DictReader(log_path.open()))
    summary = {}
    for stage, keys in ((1, ("cls", "loc", "mask", "mask_iou", "acc_pos", "acc_neg")), (2, ("refine", "mask_iou"))):
        stage_rows = [r for r in rows if int(r["stage"]) == stage]
        if not stage_rows:
            continue
        n = len(stage_rows)
        k = max(1, n // 10)
        parts = {"start": stage_rows[:k], "mid": stage_rows[n // 2 - k // 2:n // 2 - k // 2 + k], "end": stage_rows[-k:]}
        summary[f"stage{stage}"] = {"steps": n}
        for key in keys:
            summary[f"stage{stage}"][key] = {
                name: float(np.nanmean([float(r[key]) for r in part if r[key] not in ("", "nan")] or [np.nan]))
                for name, part in parts.items()}
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--width-multiplier", type=float, default=0.25)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--minutes", type=float, default=60.0, help="training wall-time budget (both stages)")
    parser.add_argument("--out", type=Path, default=REPO / "out" / "train")
    parser.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pth")
    parser.add_argument("--sequences", type=int, default=990, help="training sequences, seeds 1000..")
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--frame-size", default="320x240")
    parser.add_argument("--generator", choices=("auto", "swift", "interim"), default="auto")
    parser.add_argument("--search-size", type=int, default=191)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--loss-weights", default="1,1.2,36", help="cls,loc,mask (official siammask_base config)")
    parser.add_argument("--refine-share", type=float, default=0.2, help="share of the minutes for stage 2")
    parser.add_argument("--steps", default=None,
                        help="fixed schedule lengths 'S1,S2' instead of the timed estimate (reproduce a run exactly)")
    parser.add_argument("--stop", default=None,
                        help="'N1,N2': end each stage at that step (a logged run's time guard); needs --steps")
    parser.add_argument("--eval-seeds", default="1,2,3,4,5", help="held-out sequences for the sanity evaluation")
    parser.add_argument("--val-seeds", default="1995,1996,1997,1998,1999",
                        help="sequences (not trained on) that decide between trained and recalibrated BN statistics")
    parser.add_argument("--data", type=Path, default=None, help="training / validation sequences (default OUT/data)")
    parser.add_argument("--eval-data", type=Path, default=None, help="held-out sequences (default OUT/eval)")
    parser.add_argument("--calibration-pairs", type=int, default=96)
    parser.add_argument("--final", type=Path, default=REPO / "Models" / "siammask-synth.pth")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if args.width_multiplier < 0.25:
        raise SystemExit("--width-multiplier must be >= 0.25")

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    log_file = out / "train.log"

    def logger(message):
        log(message, log_file)

    logger("command: " + " ".join(sys.argv))
    width, height = (int(v) for v in args.frame_size.split("x"))
    train_seeds = list(range(1000, 1000 + args.sequences))
    eval_seeds = [int(s) for s in args.eval_seeds.split(",")]
    val_seeds = [int(s) for s in args.val_seeds.split(",")]
    if set(val_seeds) & set(train_seeds) or min(train_seeds + val_seeds) < 1000:
        raise SystemExit("validation seeds must be >= 1000 and disjoint from the training seeds")
    data_root, eval_root = args.data or out / "data", args.eval_data or out / "eval"
    used = generate(train_seeds + val_seeds, data_root, args.frames, width, height, args.generator, logger)
    generate(eval_seeds, eval_root, args.frames, width, height, used, logger)
    sequences = [pairs.load_sequence(data_root / f"seq_{s}") for s in train_seeds]
    val_sequences = [pairs.load_sequence(data_root / f"seq_{s}") for s in val_seeds]
    eval_sequences = [pairs.load_sequence(eval_root / f"seq_{s}") for s in eval_seeds]

    model = SiamMaskSharp(args.width_multiplier)
    init_weights(model, args.seed)
    sampler = pairs.PairSampler(sequences, args.search_size, seed=args.seed)
    trainer = training.Trainer(model, sampler, out, args.seed, args.minutes, batch=args.batch, lr=args.lr,
                               refine_share=args.refine_share, log=logger,
                               weights=dict(zip(("cls", "loc", "mask"), (float(v) for v in args.loss_weights.split(",")))))
    if args.resume:
        trainer.resume()
    elif trainer.log_path.exists():
        trainer.log_path.unlink()
    fixed = None
    if args.steps:
        s1, s2 = (int(v) for v in args.steps.split(","))
        fixed = {1: s1, 2: s2}
    stop = None
    if args.stop:
        stop = dict(zip((1, 2), (int(v) for v in args.stop.split(","))))
    wall = time.time()
    trainer.run(fixed_steps=fixed, stop_steps=stop)
    logger(f"training done: {trainer.state['steps_done']} steps, {trainer.state['elapsed'] / 60:.1f} min of steps")

    # BN: trained running statistics vs re-measured ones on tracker-style 255 crops of training sequences, chosen
    # on the validation sequences; the held-out evaluation sequences are scored afterwards only.
    model.eval()
    val_trained = training.sanity_eval(model, val_sequences)
    rng = np.random.default_rng(args.seed)
    chosen = [sequences[i] for i in rng.choice(len(sequences), size=min(len(sequences), 48), replace=False)]
    exemplars, searches, _ = training.tracker_pairs(chosen, max(1, args.calibration_pairs // len(chosen)), rng)
    trained_state = {k: v.clone() for k, v in model.state_dict().items()}
    score_trained = training.sanity_eval(model, eval_sequences)
    calibrate_bn(model, exemplars, searches)
    val_calibrated = training.sanity_eval(model, val_sequences)
    score_calibrated = training.sanity_eval(model, eval_sequences)
    bn_choice = "recalibrated"
    if val_calibrated["within2"] < val_trained["within2"]:
        model.load_state_dict(trained_state)
        bn_choice = "training running statistics"
    logger(f"validation: trained BN stats {val_trained}, recalibrated {val_calibrated}; keeping {bn_choice}")
    logger(f"held-out: trained BN stats {score_trained}, recalibrated {score_calibrated}")

    baseline = SiamMaskSharp(args.width_multiplier)
    init_weights(baseline, args.seed)
    calibrate_bn(baseline, exemplars, searches)
    score_random = training.sanity_eval(baseline, eval_sequences)
    logger(f"sanity (random, BN-calibrated) {score_random}")

    steps = trainer.state["steps_done"]
    wrapper = {"epoch": int(sum(steps.values())), "arch": "Custom", "state_dict": model.state_dict(),
               "best_acc": -1, "optimizer": None, "anchor_cfg": ANCHOR_CFG}
    args.final.parent.mkdir(parents=True, exist_ok=True)
    torch.save(wrapper, args.final)
    size = args.final.stat().st_size
    summary = {"command": " ".join(sys.argv), "seed": args.seed, "train_seeds": [train_seeds[0], train_seeds[-1]],
               "eval_seeds": eval_seeds, "generator": used, "frames": args.frames, "frame_size": args.frame_size,
               "search_size": args.search_size, "batch": args.batch, "steps": steps,
               "train_minutes": trainer.state["elapsed"] / 60, "losses": loss_summary(trainer.log_path),
               "bn": bn_choice, "bn_summary": training.bn_summary(model),
               "validation": {"seeds": val_seeds, "trained_bn_stats": val_trained, "recalibrated": val_calibrated},
               "sanity": {"trained_bn_stats": score_trained, "recalibrated": score_calibrated,
                          "random_calibrated": score_random},
               "final": str(args.final), "final_bytes": size,
               "run_seconds": time.time() - wall}
    (out / "summary.json").write_text(json.dumps(summary, indent=2))
    logger(f"wrote {args.final} ({size} bytes); summary in {out / 'summary.json'}")


if __name__ == "__main__":
    main()
