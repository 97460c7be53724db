#!/usr/bin/env python3
"""The untrained baseline for evaluations: siammask_sharp at a width multiplier with seeded random weights and BN
statistics calibrated on real crops (as the fixture), saved as a bare zip state dict.

  .venv/bin/python Tools/make_untrained.py --width-multiplier 0.25 --seed 1 --out out/eval/untrained.pth
"""

import argparse
from pathlib import Path

import torch

from siammask_ref.data import DEFAULT_DATA_ROOT
from siammask_ref.export import build_reference_model


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--width-multiplier", type=float, default=0.25)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--frames-per-sequence", type=int, default=4)
    ap.add_argument("--data-root", type=Path, default=DEFAULT_DATA_ROOT)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    torch.set_num_threads(1)
    model, _ = build_reference_model(args.width_multiplier, args.seed, args.data_root, args.frames_per_sequence)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
