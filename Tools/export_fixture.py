#!/usr/bin/env python3
"""Write a reference SiamMask (siammask_sharp) fixture: .pth checkpoints in several shapes, ONNX exports of the
template / search / refine graphs (BN folded and unfolded), golden .npy inputs and outputs, and manifest.json.

Run from the repository root:  .venv/bin/python Tools/export_fixture.py --out Models/fixture
Every file is checked after writing (checkpoints reloaded with torch.load, ONNX files run in onnxruntime against
PyTorch). Re-running with the same options gives byte-identical files.
"""

import argparse
import platform
import shlex
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from siammask_ref import checkpoint  # noqa: E402
from siammask_ref.data import DEFAULT_DATA_ROOT  # noqa: E402
from siammask_ref.export import (ONNX_OPSET, REFINE_POSITIONS, build_reference_model, export_onnx, golden_tensors,  # noqa: E402
                                 graph_cases, onnx_initializer_summary, verify_onnx, write_manifest)
from siammask_ref.model import child_parameter_counts  # noqa: E402


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--width-multiplier", type=float, default=0.0625,
                        help="scale every channel count c to max(1, round(c*m)) (1 = the official network; "
                             "default 0.0625, the committed fixture)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the random weights (default 1)")
    parser.add_argument("--out", type=Path, required=True, help="output folder (created if missing)")
    parser.add_argument("--data-root", type=Path, default=DEFAULT_DATA_ROOT,
                        help=f"real footage with ground truth for BN calibration and golden crops "
                             f"(default {DEFAULT_DATA_ROOT})")
    parser.add_argument("--calibration-frames", type=int, default=4,
                        help="tracking pairs per sequence used to calibrate the BN statistics (default 4)")
    parser.add_argument("--all-pth", action="store_true",
                        help="write all 9 checkpoint shapes (legacy/zip x wrapped/bare x with/without `module.`, "
                             "plus legacy CUDA-tagged) instead of the 4 the committed fixture keeps")
    parser.add_argument("--threads", type=int, default=2, help="torch / onnxruntime threads (default 2)")
    return parser.parse_args(argv)


def canonical_command(args: argparse.Namespace) -> str:
    """The command with every option spelled out, as it would be typed from the repository root."""
    words = [".venv/bin/python", "Tools/export_fixture.py", "--width-multiplier", repr(args.width_multiplier),
             "--seed", str(args.seed), "--out", str(args.out), "--data-root", str(args.data_root),
             "--calibration-frames", str(args.calibration_frames), "--threads", str(args.threads)]
    if args.all_pth:
        words.append("--all-pth")
    return " ".join(shlex.quote(w) for w in words)


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    files = []

    start = time.perf_counter()
    model, calibration = build_reference_model(args.width_multiplier, args.seed, args.data_root,
                                               args.calibration_frames)
    print(f"model: m={args.width_multiplier} ({model.widths}), "
          f"{sum(p.numel() for p in model.parameters()):,} parameters, {len(model.state_dict())} keys; "
          f"weights and BN calibration {time.perf_counter() - start:.1f} s")

    goldens = golden_tensors(model, args.data_root)
    for name, array in goldens.items():
        np.save(out / f"{name}.npy", array)
        files.append({"file": f"{name}.npy", "kind": "golden", "shape": list(array.shape), "dtype": "float32"})

    search_out = [torch.from_numpy(goldens[f"search_{n}"]) for n in ("f0", "f1", "f2", "corr")]
    optimizer_state = checkpoint.sgd_optimizer_state(model, search_out)
    for variant in checkpoint.ALL_VARIANTS if args.all_pth else checkpoint.FIXTURE_VARIANTS:
        path = out / variant.file_name
        checkpoint.save_checkpoint(model, variant, optimizer_state, path)
        checkpoint.verify_checkpoint(model, variant, path)
        files.append({"file": variant.file_name, "kind": "checkpoint",
                      "format": "legacy" if variant.legacy else "zip", "wrapped": variant.wrapped,
                      "module_prefix": variant.module_prefix, "storage_location": variant.location})

    for graph_name, graph, feeds, expected in graph_cases(model, goldens):
        for folded in (True, False):
            file_name = f"{graph_name}_{'folded' if folded else 'unfolded'}.onnx"
            export_onnx(graph, feeds[0], out / file_name, folded)
            worst = verify_onnx(out / file_name, feeds, expected, args.threads)
            summary = onnx_initializer_summary(out / file_name)
            print(f"{file_name}: onnxruntime vs PyTorch worst error {worst:.3f} of tolerance; "
                  f"{summary['initializers']} initializers ({summary['official_names']} with official names)")
            files.append({"file": file_name, "kind": "onnx", "graph": graph_name, "bn_folded": folded,
                          "inputs": graph.input_names, "outputs": graph.output_names, **summary})

    extra = {
        "generator": "Tools/export_fixture.py",
        "command": canonical_command(args),
        "width_multiplier": args.width_multiplier,
        "seed": args.seed,
        "widths": {k: list(v) if isinstance(v, tuple) else v for k, v in vars(model.widths).items()},
        "parameters": dict(child_parameter_counts(model)),
        "state_dict_keys": len(model.state_dict()),
        "calibration": {"frames_per_sequence": args.calibration_frames,
                        "output_magnitudes_mean_max": {k: [round(a, 4), round(b, 4)]
                                                       for k, (a, b) in calibration.items()}},
        "onnx_opset": ONNX_OPSET,
        "refine_pos": "refine graphs take pos as an int64 [2] input (row, column); goldens at "
                      + ", ".join(f"({r},{c})" for r, c in REFINE_POSITIONS),
        "versions": {"python": platform.python_version(), "torch": torch.__version__, "numpy": np.__version__,
                     "opencv": cv2.__version__, "onnx": __import__("onnx").__version__,
                     "onnxruntime": __import__("onnxruntime").__version__},
    }
    manifest = write_manifest(out, files, extra)
    listed = {f["file"] for f in files} | {manifest.name}
    stale = sorted(p.name for p in out.iterdir() if p.name not in listed)
    for entry in files:
        print(f"{(out / entry['file']).stat().st_size:>10,}  {entry['file']}")
    if stale:
        print(f"note: {out} also holds files this run did not write: {', '.join(stale)}")
    print(f"wrote {len(files)} files and {manifest} in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
