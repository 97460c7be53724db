#!/usr/bin/env python3
"""Our int8 SiamMask against ONNX Runtime's static int8 quantisation of the same network, per layer, same inputs.

What it does (full-size model, official widths: out/full/model.pth and out/full/model.siam):
 1. Calibration inputs: `siammask calibrate out/full/model.siam --sequence A --sequence B --frames 8 --method M
    --save-inputs WORK/calib-inputs -o WORK/calib.json` (DAVIS tennis + VOT bag by default): the float32 tracker runs
    over the sequences from their ground truth and saves each frame's search crop and zf. Then
    `siammask quantize out/full/model.siam --calibration WORK/calib.json -o WORK/model-int8.siam`.
    Evaluation inputs: the same calibrate command on two other sequences (DAVIS car-shadow + OTB Crossing, 3 frames
    each = 6 inputs) with --save-inputs WORK/eval-inputs; that calibration table is deleted.
 2. ONNX Runtime: the PyTorch SearchGraph (weights from out/full/model.pth) is exported to ONNX (opset 17, BN folded by
    the exporter, batch 1) and quantised with onnxruntime.quantization.quantize_static on the same calibration inputs:
    QDQ format, per_channel=True, activations QUInt8 (asymmetric), weights QInt8 (symmetric), reduce_range off (the
    CPU has VNNI). Calibration mapping (matched statistic): minmax -> MinMax; percentile[:P] (ours: P-th and
    (100-P)-th percentile) -> Percentile with percentile = 100 - 2(100 - P) on the signed histogram (symmetric=False,
    2048 bins; ORT cuts (100-p)/2 % per tail, so the same tails); entropy -> Entropy with num_bins 2048 and
    num_quantized_bins 255 (with ORT's defaults, 128/128, no candidate threshold lies below the first calibration
    input's max |x|: close to MinMax); mse -> ORT has none: Percentile with ORT's defaults. --ort-defaults uses ORT's own defaults instead (Percentile: 99.999 of |x|).
    onnxruntime 1.19's quantize_static drops its documented CalibPercentile/CalibNumBins options, so they are handed
    to its calibrator directly (Tools/siammask_ref/ort_quant.py). As in our int8 model, the template-side
    convolutions (`*.conv_kernel`, run once per target) stay float32 (nodes_to_exclude); ORT then quantises the
    correlation kernel per tensor from calibration, ours per channel at run time.
 3. Per layer on the evaluation inputs: reference = PyTorch float32 (forward hooks). Ours: `siammask run
    WORK/model-int8.siam --graph search --input search=.. --input zf=.. --output .. --dump-activations ..`. ORT: the
    quantised model with the tensors of our nodes added as graph outputs. ONNX tensors are mapped to our node names by
    weights, not names: the Conv whose weights equal a module's weights scaled per output channel (BN folding) is that
    module; from its output the map follows what our fused node includes (ReLU; for conv3 the residual Add + ReLU;
    Reshapes around the correlation); a Conv with a non-constant weight is the `<block>.xcorr` of the conv_search
    feeding it. In the QDQ model each tensor is read after its DequantizeLinear (the value the next layer reads).
    Checks: the float32 ONNX model's mapped tensors must equal PyTorch's (1e-4 relative), and the probed quantised
    model's graph outputs are compared with the unprobed one's. Per node: SQNR = 10 log10(sum ref^2 / sum
    (x - ref)^2) over all evaluation inputs, and cosine similarity.
    Refine (unless --no-refine): the RefineGraph export is quantised by ORT the same way (ConvTranspose excluded, as
    ours keeps the deconvolution in float32) on the PyTorch search outputs of the calibration inputs at the cells the
    float32 tracker picked in those frames (`siammask track` results.jsonl `best`; checked against each input's cls),
    which is where ours was calibrated. Mask row: each side's refine on its own int8 search outputs at the tracker's
    cell, against PyTorch's float32 mask. A second table gives the refine module alone per layer (both sides fed the
    float32 features).
 4. Prints the table (final outputs cls, loc, corr, mask marked with *), the verdict "ours no worse on the final
    outputs: yes/no" (ours SQNR >= ORT SQNR on cls, loc, corr and mask), file sizes, and single-thread times: both
    int8 search graphs on one input (ours: `siammask run`, which includes weight packing, median of 3 processes; ORT:
    1 intra-op thread, mean of 5 runs after 2 warm-up runs), and our tracker's steady-state int8 network stage
    (`siammask track`, search + refine) beside ORT's int8 search + refine. Writes WORK/report.json and
    WORK/report.md. Exits non-zero only on errors, not on the verdict.

Command (repository root; needs .build/release/siammask with `calibrate --save-inputs` and `run --dump-activations`,
out/full/model.pth and out/full/model.siam from Tools/compare_full.py, ../shared/data, and .venv with torch 1.13,
onnx and onnxruntime; writes about 200 MB into WORK):

    .venv/bin/python Tools/compare_ort_int8.py [--method percentile[:P]|minmax|entropy|mse] [--ort-defaults]
        [--out out/ort-int8]

About 2 minutes on 2 cores (ORT's calibration of the search graph is about 20 s of it).
"""

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

FINAL = ["cls", "loc", "corr", "mask"]
OUTPUTS = ["cls", "loc", "corr", "f0", "f1", "f2"]


class Failure(Exception):
    pass


def run_cli(command: List[str], quiet: bool = False) -> str:
    if not quiet:
        print("$", " ".join(command), flush=True)
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise Failure(f"{' '.join(command)} exited with status {result.returncode}:\n{result.stdout}{result.stderr}")
    return result.stdout


def input_pairs(folder: Path) -> List[Tuple[str, Path, Path]]:
    pairs = []
    for search in sorted(folder.glob("*_search.npy")):
        stem = search.name[: -len("_search.npy")]
        zf = folder / f"{stem}_zf.npy"
        if not zf.exists():
            raise Failure(f"{zf} is missing (calibrate --save-inputs writes both files per frame)")
        pairs.append((stem, search, zf))
    if not pairs:
        raise Failure(f"no *_search.npy in {folder}: does this siammask build support calibrate --save-inputs?")
    return pairs


def calibrate(cli: Path, model: Path, sequences: List[Path], frames: int, method: str, inputs: Path,
              table: Path, threads: int) -> None:
    shutil.rmtree(inputs, ignore_errors=True)
    command = [str(cli), "calibrate", str(model)]
    for s in sequences:
        command += ["--sequence", str(s)]
    command += ["--frames", str(frames), "--method", method, "--threads", str(threads), "--save-inputs", str(inputs),
                "-o", str(table)]
    print(run_cli(command).rstrip())


class Stats:
    """Accumulates SQNR and cosine of several inputs against a reference."""

    def __init__(self):
        self.ref2 = 0.0
        self.err2 = 0.0
        self.dot = 0.0
        self.x2 = 0.0
        self.count = 0

    def add(self, ref: np.ndarray, x: np.ndarray) -> None:
        if ref.shape != x.shape:
            raise Failure(f"shape {x.shape} against reference {ref.shape}")
        r = ref.astype(np.float64).ravel()
        v = x.astype(np.float64).ravel()
        self.ref2 += float(r @ r)
        self.err2 += float((v - r) @ (v - r))
        self.dot += float(r @ v)
        self.x2 += float(v @ v)
        self.count += 1

    @property
    def sqnr(self) -> Optional[float]:
        if self.count == 0:
            return None
        if self.err2 == 0:
            return float("inf")
        return 10 * np.log10(self.ref2 / self.err2)

    @property
    def cosine(self) -> Optional[float]:
        if self.count == 0 or self.ref2 == 0 or self.x2 == 0:
            return None
        return self.dot / np.sqrt(self.ref2 * self.x2)


def fmt(v: Optional[float], spec: str = "7.2f") -> str:
    if v is None:
        return "n/a"
    if v == float("inf"):
        return "inf"
    return format(v, spec)


def ort_method(method: str, ort_defaults: bool) -> Tuple[str, Dict[str, object], str]:
    """(ORT CalibrationMethod name, calibrator options, explanation) for our --method. Matched (default): the same
    statistic where ORT has it; with ort_defaults, ORT's own defaults for the method."""
    from siammask_ref.ort_quant import ort_percentile

    name, _, arg = method.partition(":")
    if name == "minmax":
        return "MinMax", {}, "minmax -> ORT MinMax"
    if name == "percentile":
        ours = float(arg) if arg else 99.99
        if ort_defaults:
            return "Percentile", {}, (f"ours percentile {ours} ({100 - ours:.4g}% cut per tail) -> ORT Percentile "
                                      f"with ORT's defaults (99.999 of |x|, symmetric histogram, 2048 bins)")
        p = ort_percentile(ours)
        return "Percentile", {"percentile": p, "symmetric": False, "num_bins": 2048}, (
            f"percentile {ours} (ours: {100 - ours:.4g}% cut per tail) -> ORT Percentile {p:.6g} on the signed "
            f"histogram (symmetric=False, 2048 bins: (100-p)/2 = {(100 - p) / 2:.4g}% cut per tail)")
    if name == "entropy":
        if ort_defaults:
            return "Entropy", {}, ("ours entropy -> ORT Entropy with ORT's defaults (128 bins, 128 quantized bins: "
                                   "no candidate threshold below the first input's max |x|, close to MinMax)")
        return "Entropy", {"num_bins": 2048, "num_quantized_bins": 255}, (
            "entropy (ours: KL on a 2048-bin histogram, 255 levels) -> ORT Entropy with num_bins 2048, "
            "num_quantized_bins 255 (ORT's defaults, 128 and 128, allow no threshold below the first input's max |x|)")
    if name == "mse":
        return "Percentile", {}, "mse -> ORT has no MSE method: ORT Percentile with its defaults (99.999 of |x|)"
    raise Failure(f"unknown --method {method}")


def tracker_cells(cli: Path, model: Path, sequences: List[Path], frames: int, work: Path,
                  threads: int) -> Dict[str, Tuple[int, int, int, float]]:
    """{"<sequence>_<frame:05d>": (anchor, row, column, score)}: the cell the float32 tracker picked in each frame,
    from `siammask track` (results.jsonl `best` = anchor * 625 + row * 25 + column), started like `calibrate` from
    the first-frame ground truth, so its frames are the ones whose inputs `calibrate --save-inputs` wrote."""
    cells = {}
    for sequence in sequences:
        out = work / "track-cells"
        shutil.rmtree(out, ignore_errors=True)
        run_cli([str(cli), "track", str(model), "--sequence", str(sequence), "--frames", str(frames + 1),
                 "--threads", str(threads), "--no-overlay", "--out", str(out)], quiet=True)
        for line in (out / "results.jsonl").read_text().splitlines():
            r = json.loads(line)
            if r.get("best") is None:
                continue
            a, rest = divmod(int(r["best"]), 625)
            cells[f"{sequence.name}_{int(r['frame']):05d}"] = (a, rest // 25, rest % 25, float(r["score"]))
        shutil.rmtree(out, ignore_errors=True)
    return cells


def check_cell(stem: str, cls: np.ndarray, cell: Tuple[int, int, int, float]) -> None:
    """The tracker's score at its cell must be the foreground probability of the float32 cls there: this ties the
    cell to the saved input (the same frame and crop)."""
    a, row, col, score = cell
    c = cls.reshape(2, -1, cls.shape[2], cls.shape[3]).astype(np.float64)
    fg = 1.0 / (1.0 + np.exp(c[0, a, row, col] - c[1, a, row, col]))
    if abs(fg - score) > 1e-3:
        raise Failure(f"{stem}: the tracker's score {score:.6f} at anchor {a} cell ({row},{col}) is not the float32 "
                      f"foreground probability there ({fg:.6f}): its frames do not match the saved inputs")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--siammask", type=Path, default=Path(".build/release/siammask"), help="the Swift CLI")
    parser.add_argument("--model-pth", type=Path, default=Path("out/full/model.pth"))
    parser.add_argument("--model-siam", type=Path, default=Path("out/full/model.siam"))
    parser.add_argument("--out", type=Path, default=Path("out/ort-int8"), help="work folder (default out/ort-int8)")
    parser.add_argument("--method", default="mse",
                        help="calibration method: minmax, percentile[:P], entropy, mse (default mse, the product default; ORT then runs its own default, Percentile 99.999 of |x|)")
    parser.add_argument("--data-root", type=Path, default=Path("../shared/data"))
    parser.add_argument("--calib-sequence", action="append", default=None,
                        help="calibration sequence (repeatable; default DAVIS tennis and VOT bag)")
    parser.add_argument("--eval-sequence", action="append", default=None,
                        help="evaluation sequence (repeatable; default DAVIS car-shadow and OTB Crossing)")
    parser.add_argument("--calib-frames", type=int, default=8, help="frames per calibration sequence (default 8)")
    parser.add_argument("--eval-frames", type=int, default=3, help="frames per evaluation sequence (default 3)")
    parser.add_argument("--threads", type=int, default=1, help="threads for our CLI, torch and ORT (default 1)")
    parser.add_argument("--ort-defaults", action="store_true",
                        help="calibrate ORT with its own defaults for the method instead of the matched statistic")
    parser.add_argument("--keep-activations", action="store_true",
                        help="keep our dumped activations (WORK/ours/*/activations, ~100 MB per input) and the "
                             "refine inputs and activations")
    parser.add_argument("--no-refine", action="store_true", help="skip the refine (mask) comparison")
    parser.add_argument("--track-frames", type=int, default=10,
                        help="frames of `siammask track` for our steady-state network time (default 10)")
    parser.add_argument("--timing-runs", type=int, default=5, help="timed ORT runs after 2 warm-up runs (default 5)")
    args = parser.parse_args(argv)
    try:
        return run(args)
    except Failure as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def run(args) -> int:
    started = time.perf_counter()
    cli = args.siammask
    for path, hint in [(cli, "build it: swift build -c release --product siammask --scratch-path .build"),
                       (args.model_pth, "create it with .venv/bin/python Tools/compare_full.py"),
                       (args.model_siam, "create it with .venv/bin/python Tools/compare_full.py")]:
        if not path.exists():
            raise Failure(f"{path} not found: {hint}")
    if "--save-inputs" not in run_cli([str(cli), "help", "calibrate"], quiet=True):
        raise Failure(f"{cli} has no `calibrate --save-inputs`: rebuild it from the current sources")
    if "--dump-activations" not in run_cli([str(cli), "help", "run"], quiet=True):
        raise Failure(f"{cli} has no `run --dump-activations`: rebuild it from the current sources")
    data = args.data_root
    calib_sequences = [Path(s) for s in args.calib_sequence] if args.calib_sequence else \
        [data / "DAVIS/JPEGImages/480p/tennis", data / "VOT/bag"]
    eval_sequences = [Path(s) for s in args.eval_sequence] if args.eval_sequence else \
        [data / "DAVIS/JPEGImages/480p/car-shadow", data / "OTB/Crossing"]
    for s in calib_sequences + eval_sequences:
        if not s.exists():
            raise Failure(f"sequence {s} not found (see ../shared/data/README.md)")
    if set(map(str, calib_sequences)) & set(map(str, eval_sequences)):
        raise Failure("calibration and evaluation sequences must differ")

    import onnx
    import onnxruntime
    import torch

    from siammask_ref.export import export_onnx, tolerance
    from siammask_ref.model import RefineGraph, SearchGraph, SiamMaskSharp
    from siammask_ref import ort_quant

    torch.set_num_threads(args.threads)
    work = args.out
    work.mkdir(parents=True, exist_ok=True)

    # 1. Calibration and evaluation inputs, our int8 model ----------------------------------------------------------
    print("== 1. calibration (ours) and evaluation inputs")
    calib_table = work / "calib.json"
    calibrate(cli, args.model_siam, calib_sequences, args.calib_frames, args.method, work / "calib-inputs",
              calib_table, args.threads)
    eval_table = work / "eval-calib.json"
    calibrate(cli, args.model_siam, eval_sequences, args.eval_frames, args.method, work / "eval-inputs", eval_table,
              args.threads)
    eval_table.unlink()  # only the saved inputs are wanted
    int8_siam = work / "model-int8.siam"
    print(run_cli([str(cli), "quantize", str(args.model_siam), "--calibration", str(calib_table), "-o",
                   str(int8_siam)]).rstrip())
    calib_inputs = input_pairs(work / "calib-inputs")
    eval_inputs = input_pairs(work / "eval-inputs")
    calib_stems = {s for s, _, _ in calib_inputs}
    if calib_stems & {s for s, _, _ in eval_inputs}:
        raise Failure("calibration and evaluation inputs overlap")
    print(f"{len(calib_inputs)} calibration inputs, {len(eval_inputs)} evaluation inputs")

    # 2. ONNX export and ORT quantisation ----------------------------------------------------------------------------
    print("== 2. ONNX export and ONNX Runtime static quantisation")
    model = SiamMaskSharp(1.0)
    state = torch.load(args.model_pth, map_location="cpu")
    model.load_state_dict(state["state_dict"] if "state_dict" in state else state)
    model.eval()
    search_graph = SearchGraph(model).eval()
    first = {"search": np.load(eval_inputs[0][1]), "zf": np.load(eval_inputs[0][2])}
    search_fp32 = work / "search-fp32.onnx"
    export_onnx(search_graph, first, search_fp32, folded=True)
    float_model = onnx.load(str(search_fp32))
    tensors, conv_nodes, unmatched = ort_quant.node_tensors(float_model, search_graph)
    if unmatched:
        raise Failure("ONNX convolutions not matched to modules: " + ", ".join(unmatched))
    method_name, calibrator_options, mapping = ort_method(args.method, args.ort_defaults)
    print(f"calibration method: {mapping}")
    exclude = sorted(node for key, node in conv_nodes.items() if key.endswith(".conv_kernel"))
    calib_feeds = [{"search": np.load(s), "zf": np.load(z)} for _, s, z in calib_inputs]
    search_int8 = work / "search-int8-qdq.onnx"
    t0 = time.perf_counter()
    ort_settings = ort_quant.quantize_qdq(search_fp32, search_int8, calib_feeds, method_name, calibrator_options,
                                          exclude, args.threads)
    print(f"quantised {search_fp32} -> {search_int8} in {time.perf_counter() - t0:.1f} s "
          f"(excluded: {', '.join(exclude)})")
    quant_model = onnx.load(str(search_int8))
    options = ort_quant.session_options(args.threads)

    def session(m):
        return onnxruntime.InferenceSession(m.SerializeToString() if isinstance(m, onnx.ModelProto) else str(m),
                                            options, providers=["CPUExecutionProvider"])

    plain = session(search_int8)
    ort_ops = ort_quant.optimized_op_counts(search_int8, work / "search-int8-ort-optimized.onnx")
    print("ORT CPU graph after optimisation: " + ", ".join(f"{k} {v}" for k, v in ort_ops.items()))
    probed_model, probe_names = ort_quant.probe(quant_model, tensors)
    probed = session(probed_model)
    probed_outputs = [o.name for o in probed.get_outputs()]
    # The float before the output QuantizeLinear of cls, loc, corr (informational). A separate session: making a
    # Conv's output a graph output stops ORT fusing that Conv with its QuantizeLinear, which changes the rounding.
    pre_q = {}
    g = ort_quant._Graph(quant_model)
    for name in ("cls", "loc", "corr"):
        dq = g.producer.get(name)
        if dq is not None and dq.op_type == "DequantizeLinear" and dq.input[0] in g.producer:
            pre_q[name] = g.producer[dq.input[0]].input[0]
    pre_q_model = onnx.ModelProto()
    pre_q_model.CopyFrom(quant_model)
    for tensor in pre_q.values():
        pre_q_model.graph.output.append(onnx.helper.make_empty_tensor_value_info(tensor))
    pre_q_session = session(pre_q_model)
    # Rounding sensitivity (informational): the same QDQ model with ORT's graph optimisations off, i.e. the unfused
    # DequantizeLinear -> float op -> QuantizeLinear path instead of the int8 kernels; same scales, other rounding.
    unfused_options = ort_quant.session_options(args.threads)
    unfused_options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    unfused = onnxruntime.InferenceSession(str(search_int8), unfused_options, providers=["CPUExecutionProvider"])
    unfused_stats: Dict[str, Stats] = {k: Stats() for k in OUTPUTS}
    pre_q_outputs = [o.name for o in pre_q_session.get_outputs()]

    # Mapping check on the float32 export: mapped tensors must equal PyTorch.
    fp32_probe_model, fp32_names = ort_quant.probe(float_model, tensors)
    fp32_session = session(fp32_probe_model)
    fp32_values = dict(zip([o.name for o in fp32_session.get_outputs()], fp32_session.run(None, first)))
    reference0 = ort_quant.search_reference(search_graph, first["search"], first["zf"])
    worst = 0.0
    for key, name in fp32_names.items():
        if key not in reference0:
            raise Failure(f"no PyTorch reference for {key}")
        ratio = float(np.abs(fp32_values[name] - reference0[key]).max()) / tolerance(reference0[key])
        if ratio > 1:
            raise Failure(f"tensor map wrong: ONNX {name} differs from PyTorch {key} ({ratio:.1f}x tolerance)")
        worst = max(worst, ratio)
    print(f"tensor map: {len(tensors)} of our nodes found in the ONNX graph; float32 ONNX = PyTorch on all "
          f"(worst {worst:.3f} of the tolerance)")
    del fp32_session

    # 3. Per-layer comparison ---------------------------------------------------------------------------------------
    print("== 3. per-layer comparison on the evaluation inputs")
    ours_stats: Dict[str, Stats] = {}
    ort_stats: Dict[str, Stats] = {}
    preq_stats: Dict[str, Stats] = {k: Stats() for k in pre_q}
    order: List[str] = []
    consistency = {name: Stats() for name in OUTPUTS}
    ours_dir = work / "ours"
    shutil.rmtree(ours_dir, ignore_errors=True)
    evals = []
    for stem, search_path, zf_path in eval_inputs:
        feeds = {"search": np.load(search_path), "zf": np.load(zf_path)}
        reference = ort_quant.search_reference(search_graph, feeds["search"], feeds["zf"])
        if not order:
            order = [k for k in reference if k not in OUTPUTS]
        out_dir, dump_dir = ours_dir / stem / "outputs", ours_dir / stem / "activations"
        run_cli([str(cli), "run", str(int8_siam), "--graph", "search", "--input", f"search={search_path}",
                 "--input", f"zf={zf_path}", "--output", str(out_dir), "--dump-activations", str(dump_dir),
                 "--threads", str(args.threads)], quiet=True)
        ort_values = dict(zip(probed_outputs, probed.run(None, feeds)))
        plain_values = dict(zip([o.name for o in plain.get_outputs()], plain.run(None, feeds)))
        for name in OUTPUTS:
            consistency[name].add(plain_values[name], ort_values[name])
        for key in list(reference):
            ref = reference[key]
            ours_path = (out_dir if key in OUTPUTS else dump_dir) / f"{key}.npy"
            if ours_path.exists():
                ours_stats.setdefault(key, Stats()).add(ref, np.load(ours_path))
            if key in OUTPUTS:
                ort_stats.setdefault(key, Stats()).add(ref, plain_values[key])
            elif key in probe_names:
                ort_stats.setdefault(key, Stats()).add(ref, ort_values[probe_names[key]])
        pre_q_values = dict(zip(pre_q_outputs, pre_q_session.run(None, feeds)))
        unfused_values = dict(zip([o.name for o in unfused.get_outputs()], unfused.run(None, feeds)))
        for name in OUTPUTS:
            unfused_stats[name].add(reference[name], unfused_values[name])
        for key, name in pre_q.items():
            preq_stats[key].add(reference[key], pre_q_values[name])
        if not args.keep_activations:
            shutil.rmtree(dump_dir)  # about 100 MB per input
        evals.append({"stem": stem, "feeds": feeds, "reference": reference, "ours_outputs": out_dir,
                      "ort_outputs": plain_values})
        print(f"  {stem}: cls SQNR so far ours {fmt(ours_stats['cls'].sqnr)} dB, ORT {fmt(ort_stats['cls'].sqnr)} dB")
    missing_ours = [k for k in order if k not in ours_stats]
    probe_consistency = min(c.sqnr for c in consistency.values())
    print("probed ORT model (extra outputs) against the plain one on the graph outputs: " +
          ("identical" if probe_consistency == float("inf") else f"SQNR >= {probe_consistency:.1f} dB") +
          (f"; ours did not dump: {', '.join(missing_ours)}" if missing_ours else ""))

    # Refine --------------------------------------------------------------------------------------------------------
    refine_info = None
    mask_stats = {"ours": Stats(), "ort": Stats()}
    refine_layer_stats: Dict[str, Dict[str, Stats]] = {"ours": {}, "ort": {}}  # refine fed the float32 features
    if not args.no_refine:
        print("== refine: ORT quantisation of the refine graph; masks at the float32 tracker's cells")
        refine_graph = RefineGraph(model).eval()
        ref_feed_names = ["f0", "f1", "f2", "corr"]
        # The cells the float32 tracker refined at: ours was calibrated there, ORT is calibrated there too, and the
        # masks are compared there.
        calib_cells = tracker_cells(cli, args.model_siam, calib_sequences, args.calib_frames, work, args.threads)
        eval_cells = tracker_cells(cli, args.model_siam, eval_sequences, args.eval_frames, work, args.threads)
        calib_refine = []
        for stem, s, z in calib_inputs:
            if stem not in calib_cells:
                raise Failure(f"siammask track gave no cell for calibration frame {stem}")
            with torch.no_grad():
                outs = dict(zip(SearchGraph.output_names,
                                search_graph(torch.from_numpy(np.load(s)), torch.from_numpy(np.load(z)))))
            check_cell(stem, outs["cls"].numpy(), calib_cells[stem])
            feed = {n: outs[n].numpy() for n in ref_feed_names}
            feed["pos"] = np.array(calib_cells[stem][1:3], dtype=np.int64)
            calib_refine.append(feed)
        refine_fp32 = work / "refine-fp32.onnx"
        export_onnx(refine_graph, calib_refine[0], refine_fp32, folded=True)
        refine_float = onnx.load(str(refine_fp32))
        deconv = [n.name for n in refine_float.graph.node if n.op_type == "ConvTranspose"]
        refine_int8 = work / "refine-int8-qdq.onnx"
        t0 = time.perf_counter()
        refine_settings = ort_quant.quantize_qdq(refine_fp32, refine_int8, calib_refine, method_name,
                                                 calibrator_options, deconv, args.threads)
        print(f"quantised {refine_fp32} -> {refine_int8} in {time.perf_counter() - t0:.1f} s (excluded: "
              f"{', '.join(deconv)})")
        del calib_refine
        refine_session = session(refine_int8)
        # Per-layer map of the refine graph, checked on the float32 export like the search graph's.
        refine_tensors, refine_unmatched = ort_quant.refine_node_tensors(refine_float, refine_graph)
        if refine_unmatched:
            raise Failure("refine ONNX convolutions not matched to modules: " + ", ".join(refine_unmatched))
        for e in evals:
            if e["stem"] not in eval_cells:
                raise Failure(f"siammask track gave no cell for evaluation frame {e['stem']}")
            check_cell(e["stem"], e["reference"]["cls"], eval_cells[e["stem"]])
        e0 = evals[0]
        pos0 = eval_cells[e0["stem"]][1:3]
        feed0 = {n: e0["reference"][n] for n in ref_feed_names}
        feed0["pos"] = np.array(pos0, dtype=np.int64)
        check_model, check_names = ort_quant.probe(refine_float, refine_tensors)
        check_session = session(check_model)
        check_values = dict(zip([o.name for o in check_session.get_outputs()], check_session.run(None, feed0)))
        check_ref = ort_quant.refine_reference(refine_graph, *[feed0[n] for n in ref_feed_names], pos0)
        for key, name in check_names.items():
            ratio = float(np.abs(check_values[name] - check_ref[key]).max()) / tolerance(check_ref[key])
            if ratio > 1:
                raise Failure(f"refine tensor map wrong: ONNX {name} differs from PyTorch {key} ({ratio:.1f}x)")
        del check_session
        refine_probed_model, refine_probe_names = ort_quant.probe(onnx.load(str(refine_int8)), refine_tensors)
        refine_probed = session(refine_probed_model)
        refine_probed_outputs = [o.name for o in refine_probed.get_outputs()]
        refine_order: List[str] = []
        cells = []
        for e in evals:
            row, col = eval_cells[e["stem"]][1:3]
            cells.append(f"{e['stem']}:{row},{col}")
            pos = np.array([row, col], dtype=np.int64)
            # End to end: each side's refine on its own int8 search outputs.
            ref_values = ort_quant.refine_reference(refine_graph, *[e["reference"][n] for n in ref_feed_names],
                                                    (row, col))
            ref_mask = ref_values["mask"]
            mask_dir = ours_dir / e["stem"] / "refine"
            command = [str(cli), "run", str(int8_siam), "--graph", "refine", "--pos", f"{row},{col}"]
            for n in ref_feed_names:
                command += ["--input", f"{n}={e['ours_outputs'] / (n + '.npy')}"]
            run_cli(command + ["--output", str(mask_dir), "--threads", str(args.threads)], quiet=True)
            mask_stats["ours"].add(ref_mask, np.load(mask_dir / "mask.npy"))
            feed = {n: e["ort_outputs"][n] for n in ref_feed_names}
            feed["pos"] = pos
            mask_stats["ort"].add(ref_mask, refine_session.run(None, feed)[0])
            # The refine module's own error, per layer: both sides fed the float32 reference features.
            ref_dir = ours_dir / e["stem"] / "reference-features"
            ref_dir.mkdir(parents=True, exist_ok=True)
            command = [str(cli), "run", str(int8_siam), "--graph", "refine", "--pos", f"{row},{col}"]
            for n in ref_feed_names:
                np.save(ref_dir / f"{n}.npy", e["reference"][n])
                command += ["--input", f"{n}={ref_dir / (n + '.npy')}"]
            only_dir = mask_dir / "from-reference"
            run_cli(command + ["--output", str(only_dir), "--dump-activations", str(only_dir / "activations"),
                               "--threads", str(args.threads)], quiet=True)
            feed = {n: e["reference"][n] for n in ref_feed_names}
            feed["pos"] = pos
            ort_values = dict(zip(refine_probed_outputs, refine_probed.run(None, feed)))
            if not refine_order:
                refine_order = [k for k in ort_quant.REFINE_ORDER if k in ref_values]
                refine_order += [k for k in ref_values if k not in refine_order and k != "mask"]
            for key, ref in ref_values.items():
                if key == "mask":
                    continue  # = refine_model.post2
                path = only_dir / f"activations/{key}.npy"
                if path.exists():
                    refine_layer_stats["ours"].setdefault(key, Stats()).add(ref, np.load(path))
                if key in refine_probe_names:
                    refine_layer_stats["ort"].setdefault(key, Stats()).add(ref, ort_values[refine_probe_names[key]])
            if not args.keep_activations:
                shutil.rmtree(ref_dir)
                shutil.rmtree(only_dir / "activations")
        refine_rows = []
        for key in refine_order:
            o = refine_layer_stats["ours"].get(key, Stats())
            r = refine_layer_stats["ort"].get(key, Stats())
            refine_rows.append({"layer": key if key != "refine_model.post2" else "refine_model.post2 (= mask)",
                                "final": False,
                                "ours_sqnr_db": o.sqnr, "ort_sqnr_db": r.sqnr,
                                "difference_db": None if o.sqnr is None or r.sqnr is None else o.sqnr - r.sqnr,
                                "ours_cosine": o.cosine, "ort_cosine": r.cosine})
        only = next(r for r in refine_rows if r["layer"].startswith("refine_model.post2"))
        refine_info = {"ort_settings": refine_settings, "cells": cells,
                       "note": "mask row: each side's refine on its own int8 search outputs (f0, f1, f2, corr) at the "
                               "cell the float32 tracker picked (siammask track, results.jsonl best)",
                       "refine_only": {"note": "refine fed the float32 reference f0, f1, f2, corr",
                                       "ours_sqnr_db": only["ours_sqnr_db"], "ort_sqnr_db": only["ort_sqnr_db"]},
                       "rows": refine_rows}
        del refine_session, refine_probed

    # 4. Timing -----------------------------------------------------------------------------------------------------
    print("== 4. timing (1 thread, first evaluation input)")
    stem, search_path, zf_path = eval_inputs[0]
    ours_ms = []
    for _ in range(3):
        out = run_cli([str(cli), "run", str(int8_siam), "--graph", "search", "--input", f"search={search_path}",
                       "--input", f"zf={zf_path}", "--output", str(work / "timing"), "--threads", "1"], quiet=True)
        m = re.search(r"ran in (\d+(?:\.\d+)?) ms", out)
        if not m:
            raise Failure(f"cannot find the run time in: {out}")
        ours_ms.append(float(m.group(1)))
        packing = "packing included" in out
    shutil.rmtree(work / "timing", ignore_errors=True)
    feeds = evals[0]["feeds"]
    ort_first, times = time_ort(onnxruntime, ort_quant, search_int8, feeds, args.timing_runs)
    timing = {"ours_ms_median_of_3_processes": statistics.median(ours_ms), "ours_ms_all": ours_ms,
              "ours_includes_packing": packing, "ort_ms_mean": statistics.mean(times), "ort_ms_all": times,
              "ort_first_run_ms": ort_first, "threads": 1, "input": stem}
    # Ours in steady state: the tracker's network stage (int8 search with precomputed kernels + int8 refine).
    track_dir = work / "track-timing"
    shutil.rmtree(track_dir, ignore_errors=True)
    out = run_cli([str(cli), "track", str(int8_siam), "--sequence", str(eval_sequences[0]), "--frames",
                   str(args.track_frames), "--threads", "1", "--no-overlay", "--out", str(track_dir)], quiet=True)
    shutil.rmtree(track_dir, ignore_errors=True)
    m = re.search(r"network (\d+(?:\.\d+)?) ms", out)
    if m:
        timing["ours_tracker_network_ms_per_frame"] = float(m.group(1))
        timing["ours_tracker_frames"] = args.track_frames
    if refine_info:
        e = evals[0]
        row, col = eval_cells[e["stem"]][1:3]
        feed = {n: e["ort_outputs"][n] for n in ("f0", "f1", "f2", "corr")}
        feed["pos"] = np.array([row, col], dtype=np.int64)
        _, refine_times = time_ort(onnxruntime, ort_quant, work / "refine-int8-qdq.onnx", feed, args.timing_runs)
        timing["ort_refine_ms_mean"] = statistics.mean(refine_times)

    # 5. Report -----------------------------------------------------------------------------------------------------
    rows = []
    for key in order + OUTPUTS + (["mask"] if refine_info else []):
        if key == "mask":
            o, r = mask_stats["ours"], mask_stats["ort"]
        else:
            o, r = ours_stats.get(key, Stats()), ort_stats.get(key, Stats())
        diff = None if o.sqnr is None or r.sqnr is None else o.sqnr - r.sqnr
        rows.append({"layer": key, "final": key in FINAL, "ours_sqnr_db": o.sqnr, "ort_sqnr_db": r.sqnr,
                     "difference_db": diff, "ours_cosine": o.cosine, "ort_cosine": r.cosine,
                     "ort_sqnr_before_output_q_db": preq_stats[key].sqnr if key in preq_stats else None,
                     "ort_unfused_sqnr_db": unfused_stats[key].sqnr if key in unfused_stats else None})
    finals = [r for r in rows if r["final"]]
    verdict = all(r["difference_db"] is not None and r["difference_db"] >= 0 for r in finals)
    worst_final = min(finals, key=lambda r: r["difference_db"] if r["difference_db"] is not None else -1e9)
    verdict_line = (f"ours no worse on the final outputs: {'yes' if verdict else 'no'} (smallest margin: "
                    f"{worst_final['layer']} {fmt(worst_final['difference_db'], '+.2f')} dB)")
    pth, siam, siam8 = (p.stat().st_size for p in (args.model_pth, args.model_siam, int8_siam))
    sizes = {"pth_bytes": pth, "fp32_siam_bytes": siam, "ours_int8_siam_bytes": siam8,
             "ours_int8_over_pth": siam8 / pth, "target_ratio": 0.30,
             "ort_fp32_onnx_bytes": search_fp32.stat().st_size, "ort_qdq_onnx_bytes": search_int8.stat().st_size}
    if refine_info:
        sizes["ort_refine_qdq_onnx_bytes"] = (work / "refine-int8-qdq.onnx").stat().st_size
    report = {
        "command": " ".join([".venv/bin/python", "Tools/compare_ort_int8.py"] + sys.argv[1:]),
        "method": args.method, "ort_method_mapping": mapping, "ort_settings": ort_settings,
        "calibration": {"sequences": [str(s) for s in calib_sequences], "frames_per_sequence": args.calib_frames,
                        "inputs": len(calib_inputs)},
        "evaluation": {"sequences": [str(s) for s in eval_sequences], "frames_per_sequence": args.eval_frames,
                       "inputs": [s for s, _, _ in eval_inputs]},
        "tensor_map_check_worst_ratio": worst, "probe_vs_plain_min_sqnr_db": probe_consistency,
        "ort_optimized_search_ops": ort_ops, "rows": rows, "verdict_ours_no_worse_on_final_outputs": verdict,
        "verdict": verdict_line, "sizes": sizes, "timing": timing,
        "refine": refine_info, "versions": {"onnxruntime": onnxruntime.__version__, "onnx": onnx.__version__,
                                            "torch": torch.__version__},
        "seconds": time.perf_counter() - started,
        "notes": [
            "SQNR = 10 log10(sum ref^2 / sum err^2) over all evaluation inputs; reference = PyTorch float32.",
            "ORT values are read after each tensor's DequantizeLinear; ORT quantises its graph outputs (cls, loc, "
            "corr, f0-f2) to uint8, ours returns graph outputs in float32 (see ort_sqnr_before_output_q_db).",
            "conv_kernel layers run in float32 on both sides (template side, once per target).",
            "refine_model.deconv stays float32 on both sides; ours dumps its float32 output, ORT's row is the value "
            "after the QuantizeLinear/DequantizeLinear that feeds h2.0 (ours quantises h2.0's input the same way).",
        ],
    }
    lines = table_lines(rows)
    if refine_info:
        lines.append("")
        lines.append("  refine module alone (both sides fed the float32 reference f0, f1, f2, corr):")
        lines += table_lines(refine_info["rows"])[:-1]
    lines.append("")
    lines.append(verdict_line)
    lines.append("")
    lines += summary_lines(report)
    text = "\n".join(lines)
    print()
    print(text)
    (work / "report.json").write_text(json.dumps(report, indent=2, default=float) + "\n")
    (work / "report.md").write_text(markdown(report) + "\n")
    print(f"\nwrote {work / 'report.json'} and {work / 'report.md'} ({report['seconds']:.0f} s)")
    return 0


def time_ort(onnxruntime, ort_quant, path: Path, feeds, runs: int) -> Tuple[float, List[float]]:
    """(first run ms, [ms of `runs` runs after 2 warm-up runs]) with 1 intra-op thread."""
    session = onnxruntime.InferenceSession(str(path), ort_quant.session_options(1), providers=["CPUExecutionProvider"])
    t0 = time.perf_counter()
    session.run(None, feeds)
    first = (time.perf_counter() - t0) * 1000
    session.run(None, feeds)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        session.run(None, feeds)
        times.append((time.perf_counter() - t0) * 1000)
    return first, times


def table_lines(rows) -> List[str]:
    header = f"  {'layer':<40} {'ours SQNR':>10} {'ORT SQNR':>10} {'diff':>8} {'ours cos':>10} {'ORT cos':>10}"
    lines = [header, "  " + "-" * (len(header) - 2)]
    for r in rows:
        mark = "*" if r["final"] else " "
        lines.append(f"{mark} {r['layer']:<40} {fmt(r['ours_sqnr_db']):>10} {fmt(r['ort_sqnr_db']):>10} "
                     f"{fmt(r['difference_db'], '+7.2f'):>8} {fmt(r['ours_cosine'], '.6f'):>10} "
                     f"{fmt(r['ort_cosine'], '.6f'):>10}")
    lines.append("  (SQNR in dB against PyTorch float32; diff = ours - ORT; * = final output)")
    return lines


def summary_lines(report) -> List[str]:
    s, t = report["sizes"], report["timing"]
    lines = [f"calibration: {report['ort_method_mapping']}",
             f"sizes: fp32 .pth {s['pth_bytes']:,} B; our int8 .siam {s['ours_int8_siam_bytes']:,} B = "
             f"{100 * s['ours_int8_over_pth']:.1f}% of the .pth (target <= 30%: "
             f"{'met' if s['ours_int8_over_pth'] <= 0.30 else 'NOT met'}); fp32 .siam {s['fp32_siam_bytes']:,} B; "
             f"ORT search graph fp32 .onnx {s['ort_fp32_onnx_bytes']:,} B, QDQ .onnx {s['ort_qdq_onnx_bytes']:,} B"]
    pre = [r for r in report["rows"] if r["ort_sqnr_before_output_q_db"] is not None]
    if pre:
        lines.append("ORT before its output QuantizeLinear (float conv output, as ours returns): " + ", ".join(
            f"{r['layer']} {fmt(r['ort_sqnr_before_output_q_db'], '.2f')} dB" for r in pre))
    if report.get("refine"):
        r = report["refine"]["refine_only"]
        lines.append(f"mask from the float32 reference features (the refine module's own int8 error): ours "
                     f"{fmt(r['ours_sqnr_db'], '.2f')} dB, ORT {fmt(r['ort_sqnr_db'], '.2f')} dB")
    unf = [r for r in report["rows"] if r["ort_unfused_sqnr_db"] is not None and r["layer"] in FINAL]
    if unf:
        lines.append("rounding sensitivity: the same ORT QDQ model with graph optimisations off (float ops between "
                     "Q/DQ, same scales): " + ", ".join(f"{r['layer']} {fmt(r['ort_unfused_sqnr_db'], '.2f')} dB"
                                                        for r in unf))
    ops = report.get("ort_optimized_search_ops", {})
    if ops:
        lines.append("ORT runs the search graph as: " + ", ".join(f"{k} {v}" for k, v in ops.items()))
    lines.append(f"int8 search graph, 1 thread ({t['input']}): ours {t['ours_ms_median_of_3_processes']:.0f} ms "
                 f"(median of 3 `siammask run` processes"
                 f"{', weight packing included' if t['ours_includes_packing'] else ''}); "
                 f"ORT {t['ort_ms_mean']:.0f} ms (mean of {len(t['ort_ms_all'])} runs after 2 warm-up runs; "
                 f"first run {t['ort_first_run_ms']:.0f} ms)")
    if "ours_tracker_network_ms_per_frame" in t:
        extra = (f"; ORT int8 search + refine: {t['ort_ms_mean'] + t['ort_refine_ms_mean']:.0f} ms "
                 f"(refine {t['ort_refine_ms_mean']:.0f} ms)") if "ort_refine_ms_mean" in t else ""
        lines.append(f"steady state, 1 thread: our tracker's int8 network stage (search with precomputed kernels + "
                     f"refine, packed weights reused) {t['ours_tracker_network_ms_per_frame']:.0f} ms per frame over "
                     f"{t['ours_tracker_frames']} frames{extra}")
    return lines


def markdown(report) -> str:
    out = ["# Our int8 vs ONNX Runtime static int8 (full-size model: search graph per layer, refine mask)", "",
           f"Command: `{report['command']}`", "",
           f"Calibration: {report['calibration']['inputs']} inputs from "
           f"{', '.join(Path(s).name for s in report['calibration']['sequences'])}; evaluation: "
           f"{len(report['evaluation']['inputs'])} inputs from "
           f"{', '.join(Path(s).name for s in report['evaluation']['sequences'])}. Method: "
           f"{report['ort_method_mapping']}. ORT: QDQ, per-channel QInt8 weights, QUInt8 activations, conv_kernel "
           f"layers excluded (float32 on both sides).", "",
           "| layer | ours SQNR (dB) | ORT SQNR (dB) | ours − ORT | ours cos | ORT cos |",
           "|---|---|---|---|---|---|"]
    for r in report["rows"]:
        name = f"**{r['layer']}**" if r["final"] else r["layer"]
        out.append(f"| {name} | {fmt(r['ours_sqnr_db'])} | {fmt(r['ort_sqnr_db'])} | "
                   f"{fmt(r['difference_db'], '+.2f')} | {fmt(r['ours_cosine'], '.6f')} | "
                   f"{fmt(r['ort_cosine'], '.6f')} |")
    if report.get("refine"):
        out += ["", "Refine module alone (both sides fed the float32 reference f0, f1, f2, corr at the float32 "
                "tracker's cell):", "",
                "| layer | ours SQNR (dB) | ORT SQNR (dB) | ours − ORT | ours cos | ORT cos |",
                "|---|---|---|---|---|---|"]
        for r in report["refine"]["rows"]:
            out.append(f"| {r['layer']} | {fmt(r['ours_sqnr_db'])} | {fmt(r['ort_sqnr_db'])} | "
                       f"{fmt(r['difference_db'], '+.2f')} | {fmt(r['ours_cosine'], '.6f')} | "
                       f"{fmt(r['ort_cosine'], '.6f')} |")
    out += ["", f"**{report['verdict'][0].upper() + report['verdict'][1:]}**", ""]
    out += [f"- {line}" for line in summary_lines(report)]
    out += [f"- {note}" for note in report["notes"]]
    return "\n".join(out)


if __name__ == "__main__":
    sys.exit(main())
