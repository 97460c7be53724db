#!/usr/bin/env python3
"""Writes Tests/SiamMaskTests/Goldens/tracker/*.jsonl, the reference-loop goldens of TrackerGoldenTests: the
reference tracker (Tools/track_reference.py) with the fixture model on the four real sequences, stored compactly
(masks run-length encoded) by Tools/compare_tracker.py's write_goldens. The same files as
`Tools/compare_tracker.py ... --write-goldens DIR`, without running the Swift tracker.

Usage: .venv/bin/python Tools/goldens/tracker.py [--data-root /work/shared/data] [--out Tests/SiamMaskTests/Goldens/tracker]
       [--work out/goldens/tracker]
"""
import argparse
import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "Models/fixture/siammask_zip_wrapped.pth"
# The sequences of TrackerGoldenTests.sequences: golden name -> path under the data root.
SEQUENCES = {"tennis": "DAVIS/JPEGImages/480p/tennis", "car-shadow": "DAVIS/JPEGImages/480p/car-shadow",
             "bag": "VOT/bag", "Crossing": "OTB/Crossing"}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-root", type=Path, default=Path("/work/shared/data"))
    ap.add_argument("--out", type=Path, default=ROOT / "Tests/SiamMaskTests/Goldens/tracker")
    ap.add_argument("--work", type=Path, default=ROOT / "out/goldens/tracker")
    args = ap.parse_args()
    spec = importlib.util.spec_from_file_location("compare_tracker", ROOT / "Tools/compare_tracker.py")
    compare_tracker = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(compare_tracker)
    args.out.mkdir(parents=True, exist_ok=True)
    for name, path in SEQUENCES.items():
        ref_dir = args.work / name
        subprocess.run([sys.executable, str(ROOT / "Tools/track_reference.py"), str(MODEL),
                        "--sequence", str(args.data_root / path), "--out", str(ref_dir)], check=True,
                       stdout=subprocess.DEVNULL)
        compare_tracker.write_goldens(ref_dir, args.out / f"{name}.jsonl")
        print(args.out / f"{name}.jsonl")


if __name__ == "__main__":
    main()
