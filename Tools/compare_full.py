#!/usr/bin/env python3
"""Compare the Swift `siammask` CLI with the PyTorch reference on the full-size network.

1. Builds the official-width model (seeded weights, BN calibrated on real crops), saves it as a zip .pth in the
   training script's wrapper (OUT/model.pth) and writes the golden inputs / outputs to OUT/golden/.
2. Runs  siammask convert OUT/model.pth -o OUT/model.siam,  then  siammask run OUT/model.siam --graph G
   --input NAME=FILE.npy ... [--pos ROW,COL] --output DIR  for the template, search and refine graphs (refine at
   (12,12) and (3,21), fed with the PyTorch search outputs). Each run must write DIR/<output name>.npy.
3. Prints a table per output (shape, max|ref|, max abs error, error / tolerance, PASS/FAIL) with
   tolerance = 1e-4 * max|ref| + 1e-5, and exits 1 if any output fails or is missing.

With --skip-swift, step 2 is replaced by reloading OUT/model.pth into a fresh PyTorch model (checks this script
and the checkpoint round trip without the Swift build).
Run from the repository root:  .venv/bin/python Tools/compare_full.py [--siammask PATH] [--skip-swift]
"""

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Tuple

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from siammask_ref import checkpoint  # noqa: E402
from siammask_ref.data import DEFAULT_DATA_ROOT  # noqa: E402
from siammask_ref.export import (REFINE_POSITIONS, build_reference_model, golden_tensors,  # noqa: E402
                                 refine_golden_name, tolerance)
from siammask_ref.model import RefineGraph, SearchGraph, SiamMaskSharp, TemplateGraph  # noqa: E402

# (graph, inputs as (CLI name, golden file stem), outputs as (CLI name, golden file stem), pos or None)
Run = Tuple[str, List[Tuple[str, str]], List[Tuple[str, str]], object]


def runs() -> List[Run]:
    search_outputs = [(n, f"search_{n}") for n in SearchGraph.output_names]
    refine_inputs = [(n, f"search_{n}") for n in ("f0", "f1", "f2", "corr")]
    plan: List[Run] = [
        ("template", [("template", "template_input")], [("zf", "template_zf")], None),
        ("search", [("search", "search_input"), ("zf", "template_zf")], search_outputs, None),
    ]
    plan += [("refine", refine_inputs, [("mask", refine_golden_name(pos))], pos) for pos in REFINE_POSITIONS]
    return plan


def run_dir_name(graph: str, pos) -> str:
    return graph if pos is None else f"{graph}_r{pos[0]}_c{pos[1]}"


def run_swift(siammask: Path, out: Path, golden: Path) -> None:
    model_siam = out / "model.siam"
    commands = [[str(siammask), "convert", str(out / "model.pth"), "-o", str(model_siam)]]
    for graph, inputs, _, pos in runs():
        command = [str(siammask), "run", str(model_siam), "--graph", graph]
        for name, stem in inputs:
            command += ["--input", f"{name}={golden / (stem + '.npy')}"]
        if pos is not None:
            command += ["--pos", f"{pos[0]},{pos[1]}"]
        command += ["--output", str(out / "swift" / run_dir_name(graph, pos))]
        commands.append(command)
    for command in commands:
        print("$", " ".join(command), flush=True)
        started = time.perf_counter()
        subprocess.run(command, check=True)
        print(f"  ({time.perf_counter() - started:.1f} s)")


@torch.no_grad()
def run_reloaded_pytorch(width_multiplier: float, out: Path, golden: Path) -> None:
    """Stand-in for the Swift runs: load OUT/model.pth into a fresh model and write the same output files."""
    model = SiamMaskSharp(width_multiplier)
    model.load_state_dict(torch.load(out / "model.pth", map_location="cpu")["state_dict"])
    model.eval()
    graphs = {"template": TemplateGraph(model), "search": SearchGraph(model), "refine": RefineGraph(model)}
    for graph, inputs, outputs, pos in runs():
        args = [torch.from_numpy(np.load(golden / f"{stem}.npy")) for _, stem in inputs]
        if pos is not None:
            args.append(torch.tensor(pos, dtype=torch.int64))
        results = graphs[graph](*args)
        results = results if isinstance(results, tuple) else (results,)
        run_dir = out / "swift" / run_dir_name(graph, pos)
        run_dir.mkdir(parents=True, exist_ok=True)
        for (name, _), value in zip(outputs, results):
            np.save(run_dir / f"{name}.npy", value.numpy())


def compare(out: Path, golden: Path) -> bool:
    header = f"{'output':<28} {'shape':<20} {'max|ref|':>11} {'max abs err':>12} {'err/tol':>8}  result"
    print(header)
    print("-" * len(header))
    all_pass = True
    for graph, _, outputs, pos in runs():
        for name, stem in outputs:
            label = f"{run_dir_name(graph, pos)}/{name}"
            reference = np.load(golden / f"{stem}.npy")
            path = out / "swift" / run_dir_name(graph, pos) / f"{name}.npy"
            shape = "x".join(map(str, reference.shape))
            if not path.exists():
                print(f"{label:<28} {shape:<20} {'':>11} {'':>12} {'':>8}  FAIL (missing {path})")
                all_pass = False
                continue
            ours = np.load(path)
            if ours.shape != reference.shape:
                print(f"{label:<28} {shape:<20} {'':>11} {'':>12} {'':>8}  FAIL (shape {ours.shape})")
                all_pass = False
                continue
            error = float(np.abs(ours.astype(np.float64) - reference.astype(np.float64)).max())
            ratio = error / tolerance(reference)
            passed = bool(ratio <= 1.0)
            all_pass &= passed
            print(f"{label:<28} {shape:<20} {np.abs(reference).max():>11.4g} {error:>12.3e} {ratio:>8.3f}  "
                  f"{'PASS' if passed else 'FAIL'}")
    return all_pass


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--siammask", type=Path, default=Path(".build/release/siammask"),
                        help="the Swift CLI (default .build/release/siammask)")
    parser.add_argument("--skip-swift", action="store_true",
                        help="do not run the Swift CLI; compare a PyTorch reload of model.pth instead")
    parser.add_argument("--out", type=Path, default=Path("out/full"), help="work folder (default out/full)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the random weights (default 1)")
    parser.add_argument("--width-multiplier", type=float, default=1.0,
                        help="channel multiplier (default 1, the official widths)")
    parser.add_argument("--data-root", type=Path, default=DEFAULT_DATA_ROOT,
                        help=f"real footage for BN calibration and golden crops (default {DEFAULT_DATA_ROOT})")
    parser.add_argument("--calibration-frames", type=int, default=4,
                        help="tracking pairs per sequence for BN calibration (default 4)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    if not args.skip_swift and not args.siammask.exists():
        parser.error(f"{args.siammask} not found: build it (swift build -c release), pass --siammask, "
                     f"or use --skip-swift")
    golden = args.out / "golden"
    golden.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    model, _ = build_reference_model(args.width_multiplier, args.seed, args.data_root, args.calibration_frames)
    print(f"reference model m={args.width_multiplier} seed={args.seed}: "
          f"{sum(p.numel() for p in model.parameters()):,} parameters; "
          f"built and calibrated in {time.perf_counter() - started:.1f} s")
    goldens: Dict[str, np.ndarray] = golden_tensors(model, args.data_root)
    for name, array in goldens.items():
        np.save(golden / f"{name}.npy", array)
    refine_inputs = [torch.from_numpy(goldens[f"search_{n}"]) for n in ("f0", "f1", "f2", "corr")]
    variant = checkpoint.Variant(legacy=False, wrapped=True, module_prefix=False)
    checkpoint.save_checkpoint(model, variant, checkpoint.sgd_optimizer_state(model, refine_inputs),
                               args.out / "model.pth")
    print(f"wrote {args.out / 'model.pth'} and {len(goldens)} goldens in {golden} "
          f"({time.perf_counter() - started:.1f} s)")

    shutil.rmtree(args.out / "swift", ignore_errors=True)
    if args.skip_swift:
        run_reloaded_pytorch(args.width_multiplier, args.out, golden)
    else:
        try:
            run_swift(args.siammask, args.out, golden)
        except subprocess.CalledProcessError as error:
            print(f"FAIL: {' '.join(error.cmd)} exited with status {error.returncode}")
            return 1
    return 0 if compare(args.out, golden) else 1


if __name__ == "__main__":
    sys.exit(main())
