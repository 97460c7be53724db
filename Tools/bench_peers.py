#!/usr/bin/env python3
"""Side-by-side speed of one SiamMask tracking frame: ours (the Swift CLI's `bench --serve`) against the peers.

The frame is the tracker's per-frame network at full size: the search graph fed with the three precomputed
template-side correlation kernels (kernel_cls, kernel_loc, kernel_mask = conv_kernel(zf) of each DepthCorr block,
256x5x5 each) plus the refine module at the fixed cell (12, 12); about 16.3 GMAC
(`siammask_ref.model.TrackingFrameGraph`). Every system runs the same weights (--model-pth) on the same inputs
(--inputs-dir: search_input.npy and template_input.npy; the kernels are computed from the template by PyTorch).

Systems (--systems, comma-separated; default all):
  ort-fp32    ONNX Runtime, the BN-folded ONNX export (opset 17); graph optimisation level all, intra_op = N,
              inter_op 1, sequential execution
  ort-int8    ONNX Runtime static int8 of the same export (siammask_ref.ort_quant.quantize_qdq: QDQ, per-channel
              QInt8 weights, QUInt8 activations, MinMax calibration on real search crops), same session settings
  ov-fp32     OpenVINO CPU plugin on the ONNX export (INFERENCE_NUM_THREADS = N, PERFORMANCE_HINT LATENCY,
              INFERENCE_PRECISION_HINT f32)
  ov-int8     NNCF post-training quantisation (nncf.quantize, default preset) of the OpenVINO model on the same
              calibration crops, same plugin settings
  ncnn-fp32   ncnn on the pnnx conversion of the ONNX export (fp16=0: fp32 weights; fp16/bf16 storage and
              arithmetic off, Winograd and SGEMM convolution on, lightmode, num_threads = N)
  torch-fp32  PyTorch (the reference modules, eval, no_grad, torch.set_num_threads(N)); single-threaded, PyTorch
              runs 1x1 convolutions through its im2col + BLAS path instead of oneDNN, so its BLAS (reported in the
              ready line as blas_info; Debian's torch 1.13: generic) dominates the 1-thread time
  ours-fp32   `SIAMMASK bench MODEL --serve --threads N --search X.npy --template Z.npy` on --ours-fp32
  ours-int8   the same on --ours-int8 (made with `siammask calibrate` + `siammask quantize`)
A system whose model or runtime is missing is skipped with the reason printed.

Every system runs in its own process pinned (sched_setaffinity) to the first N CPUs and speaks one line protocol
(ours natively, the peers through this script's --worker mode): a JSON line {"ready": true, ...} after loading, then
for each stdin line K it runs K frames and prints {"frames": K, "ms": [...]}; `quit` ends it.

Timing protocol, per thread count: load every system, warm each up (--warmup frames), then --rounds rounds; in each
round every system runs one block of --block frames, in an order shuffled by a seeded RNG, after a pause of --gap-ms
(idle thread pools of the previous system stop spinning). Per block: the per-frame
wall times (measured inside the system's process) and the CPU load of other processes during the block (the busy
jiffies of /proc/stat minus those of this process tree, as % of all CPUs). Reported: median ms per frame with
p10/p90 over all timed frames, and ours / best peer per precision (fp32: best of ort-fp32, ov-fp32, ncnn-fp32,
torch-fp32; int8: best of ort-int8, ov-int8) as the median of the per-round ratios of block medians, with min and
max. The peers' outputs are checked once against PyTorch at load (fp32: error / tolerance; int8: SQNR).

    .venv/bin/python Tools/bench_peers.py [--threads 1,2] [--rounds 5] [--block 3] [--systems ...]
        [--ours-fp32 out/full/model.siam] [--ours-int8 out/full/model-int8.siam] [--json out/bench-peers/report.json]

Exports and int8 models are written to --work (default out/bench-peers) and reused when their inputs are unchanged.
"""

import argparse
import hashlib
import json
import os
import platform
import random
import select
import shlex
import statistics
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

TOOLS = Path(__file__).resolve().parent
sys.path.insert(0, str(TOOLS))

FP32_PEERS = ["ort-fp32", "ov-fp32", "ncnn-fp32", "torch-fp32"]
INT8_PEERS = ["ort-int8", "ov-int8"]
OURS = ["ours-fp32", "ours-int8"]
ALL_SYSTEMS = FP32_PEERS + INT8_PEERS + OURS
PRECISION = {s: ("int8" if s.endswith("int8") else "fp32") for s in ALL_SYSTEMS}
INPUTS = ["search", "kernel_cls", "kernel_loc", "kernel_mask"]
OUTPUTS = ["cls", "loc", "mask"]
POS = (12, 12)


class Failure(Exception):
    pass


# ---------------------------------------------------------------------------------------------------------------------
# Preparation: model, inputs, exports, int8 models


def file_digest(*paths: Path) -> str:
    h = hashlib.sha256()
    for p in paths:
        st = p.stat()
        h.update(f"{p.resolve()}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def load_or_build_model(args):
    from siammask_ref.export import build_reference_model
    from siammask_ref.tracker import load_model

    if args.model_pth.exists():
        model, multiplier = load_model(args.model_pth)
        if multiplier != 1.0:
            raise Failure(f"{args.model_pth} has width multiplier {multiplier}; the benchmark is for the full size")
        return model, str(args.model_pth)
    built = args.work / "model.pth"
    if not built.exists():
        print(f"{args.model_pth} not found: building the full-size model as Tools/compare_full.py does (seed 1, BN "
              f"calibrated on 4 crops per sequence of {args.data_root}) -> {built}", flush=True)
        model, _ = build_reference_model(1.0, 1, args.data_root, 4)
        import torch
        torch.save(model.state_dict(), built)
    args.model_pth = built
    model, _ = load_model(built)
    return model, f"built as compare_full.py does (seed 1): {built}"


def read_inputs(args) -> Tuple[np.ndarray, np.ndarray, str]:
    d = args.inputs_dir
    search, template = d / "search_input.npy", d / "template_input.npy"
    if search.exists() and template.exists():
        return np.load(search), np.load(template), str(d)
    from siammask_ref.data import golden_pair

    print(f"{search} / {template} not found: using the golden pair of siammask_ref.data.golden_pair", flush=True)
    exemplar, s = golden_pair(args.data_root)
    return s, exemplar, "siammask_ref.data.golden_pair"


def prepare(args, systems: List[str]) -> Dict[str, object]:
    """Writes WORK/inputs (feeds, template, PyTorch outputs), WORK/frame.onnx and what the selected peers need.
    Returns the preparation report. Systems that cannot be prepared are returned in report['skipped']."""
    import torch
    from siammask_ref import ort_quant
    from siammask_ref.export import export_tracking_frame_onnx, tolerance, tracking_frame_feeds
    from siammask_ref.model import TrackingFrameGraph

    torch.set_num_threads(max(args.thread_counts))
    work = args.work
    (work / "inputs").mkdir(parents=True, exist_ok=True)
    report: Dict[str, object] = {"skipped": {}}
    peers = [s for s in systems if s not in OURS]
    search, template, source = read_inputs(args)
    np.save(work / "inputs" / "template.npy", np.ascontiguousarray(template, dtype=np.float32))
    np.save(work / "inputs" / "search_only.npy", np.ascontiguousarray(search, dtype=np.float32))
    report["inputs"] = source
    if not peers:
        return report

    t0 = time.perf_counter()
    model, model_source = load_or_build_model(args)
    report["model"] = model_source
    feeds = tracking_frame_feeds(model, template, search)
    graph = TrackingFrameGraph(model, POS).eval()
    with torch.no_grad():
        reference = [t.numpy() for t in graph(*(torch.from_numpy(feeds[n]) for n in INPUTS))]
    for name in INPUTS:
        np.save(work / "inputs" / f"{name}.npy", feeds[name])
    for name, value in zip(OUTPUTS, reference):
        np.save(work / "inputs" / f"ref_{name}.npy", value)

    onnx_path = work / "frame.onnx"
    key = file_digest(args.model_pth) if args.model_pth.exists() else "built"
    stamp = work / "frame.onnx.key"
    if not onnx_path.exists() or not stamp.exists() or stamp.read_text() != key:
        print(f"exporting the tracking frame (search + kernels + refine at {POS}) to {onnx_path}", flush=True)
        export_tracking_frame_onnx(model, feeds, onnx_path, POS)
        stamp.write_text(key)
        for stale in ["frame-int8-qdq.onnx", "frame-int8-ov.xml", "frame-int8-ov.bin", "ncnn"]:
            p = work / stale
            if p.is_dir():
                for f in p.iterdir():
                    f.unlink()
            elif p.exists():
                p.unlink()
    report["onnx"] = {"path": str(onnx_path), "bytes": onnx_path.stat().st_size}
    report["prepare_export_s"] = time.perf_counter() - t0

    needs_calibration = any(s in peers for s in INT8_PEERS)
    calib_path = work / "calibration.npz"
    if needs_calibration and not calib_path.exists():
        from siammask_ref.data import calibration_pairs
        from siammask_ref.model import TemplateGraph, template_kernels

        print(f"calibration crops: {args.calib_per_sequence} tracking pairs per sequence of {args.data_root}",
              flush=True)
        exemplars, searches = calibration_pairs(args.data_root, args.calib_per_sequence)
        arrays = {n: [] for n in INPUTS}
        with torch.no_grad():
            for e, s in zip(exemplars, searches):
                zf = TemplateGraph(model)(torch.from_numpy(e[None]))
                arrays["search"].append(s[None])
                for n, k in zip(INPUTS[1:], template_kernels(model, zf)):
                    arrays[n].append(k.numpy())
        np.savez(calib_path, **{n: np.concatenate(v).astype(np.float32) for n, v in arrays.items()})
    if needs_calibration:
        with np.load(calib_path) as z:
            calib = [{n: z[n][i:i + 1] for n in INPUTS} for i in range(z["search"].shape[0])]
        report["calibration_samples"] = len(calib)

    if "ort-int8" in peers:
        qdq = work / "frame-int8-qdq.onnx"
        if not qdq.exists():
            print(f"ORT static int8 (QDQ, per-channel, MinMax) on {len(calib)} crops -> {qdq}", flush=True)
            t = time.perf_counter()
            report["ort_int8_settings"] = ort_quant.quantize_qdq(onnx_path, qdq, calib, "MinMax", {}, [],
                                                                 threads=max(args.thread_counts))
            report["ort_int8_quantize_s"] = time.perf_counter() - t

    if "ov-int8" in peers:
        xml = work / "frame-int8-ov.xml"
        if not xml.exists():
            print(f"NNCF post-training quantisation of the OpenVINO model on {len(calib)} crops -> {xml}", flush=True)
            t = time.perf_counter()
            # A separate process: NNCF's torch backend needs a newer torch than Debian's 1.13, and NNCF skips that
            # backend when `import torch` fails, so torch is hidden from that process.
            code = ("import sys; sys.modules['torch'] = None; sys.path.insert(0, %r); import bench_peers; "
                    "bench_peers.nncf_quantize(sys.argv[1], sys.argv[2], sys.argv[3])" % str(TOOLS))
            result = subprocess.run([sys.executable, "-c", code, str(onnx_path), str(calib_path), str(xml)],
                                    capture_output=True, text=True)
            if result.returncode != 0 or not xml.exists():
                report["skipped"]["ov-int8"] = "NNCF quantisation failed: " + (result.stderr or result.stdout)[-800:]
            else:
                report["ov_int8_quantize_s"] = time.perf_counter() - t

    if "ncnn-fp32" in peers:
        ncnn_dir = work / "ncnn"
        param, binary = ncnn_dir / "frame.ncnn.param", ncnn_dir / "frame.ncnn.bin"
        if not param.exists():
            reason = pnnx_convert(onnx_path, ncnn_dir)
            if reason:
                report["skipped"]["ncnn-fp32"] = reason
        if param.exists():
            report["ncnn"] = {"param": str(param), "bin_bytes": binary.stat().st_size,
                              "converted": "whole frame (backbone, heads, correlations, refine) from frame.onnx"}
    report["tolerance_mask"] = tolerance(reference[2])
    return report


def pnnx_convert(onnx_path: Path, out_dir: Path) -> Optional[str]:
    """pnnx frame.onnx -> out_dir/frame.ncnn.{param,bin} with fp32 weights. Returns a reason on failure."""
    try:
        import pnnx
    except ImportError:
        return "pnnx is not installed (Tools/setup.sh --bench)"
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path, out_dir = onnx_path.resolve(), out_dir.resolve()  # pnnx runs in out_dir
    shapes = "[1,3,255,255],[1,256,5,5],[1,256,5,5],[1,256,5,5]"
    stem = out_dir / "frame"
    command = [pnnx.EXEC_PATH, str(onnx_path), f"inputshape={shapes}", "fp16=0",
               f"pnnxparam={stem}.pnnx.param", f"pnnxbin={stem}.pnnx.bin", f"pnnxpy={stem}_pnnx.py",
               f"pnnxonnx={stem}.pnnx.onnx", f"ncnnparam={stem}.ncnn.param", f"ncnnbin={stem}.ncnn.bin",
               f"ncnnpy={stem}_ncnn.py"]
    print("$", " ".join(command), flush=True)
    result = subprocess.run(command, capture_output=True, text=True, cwd=out_dir)
    (out_dir / "pnnx.log").write_text(result.stdout + result.stderr)
    if result.returncode != 0 or not (out_dir / "frame.ncnn.param").exists():
        return f"pnnx failed (status {result.returncode}); see {out_dir / 'pnnx.log'}"
    for extra in out_dir.glob("frame.pnnx*"):  # large intermediate files
        extra.unlink()
    for extra in out_dir.glob("*.onnx"):
        extra.unlink()
    return None


def nncf_quantize(onnx_path: str, calib_path: str, xml_path: str) -> None:
    """Runs in a process without torch (see prepare): nncf.quantize of the OpenVINO model, saved with fp32 weights."""
    import nncf
    import openvino as ov

    core = ov.Core()
    model = core.read_model(onnx_path)
    names = [p.get_any_name() for p in model.inputs]
    with np.load(calib_path) as z:
        samples = [{n: z[n][i:i + 1] for n in names} for i in range(z["search"].shape[0])]
    quantized = nncf.quantize(model, nncf.Dataset(samples), subset_size=len(samples))
    ov.save_model(quantized, xml_path, compress_to_fp16=False)


# ---------------------------------------------------------------------------------------------------------------------
# Workers (the peers, one process each, pinned) and the line protocol


def pin(threads: int) -> List[int]:
    available = sorted(os.sched_getaffinity(0))
    cpus = available[:threads] if threads <= len(available) else available
    os.sched_setaffinity(0, cpus)
    return cpus


def sqnr_db(ref: np.ndarray, x: np.ndarray) -> float:
    err = float(((x.astype(np.float64) - ref) ** 2).sum())
    return float("inf") if err == 0 else 10 * np.log10(float((ref.astype(np.float64) ** 2).sum()) / err)


def worker(system: str, work: Path, threads: int) -> int:
    """The peer `system` as a line-protocol server (see the module docstring)."""
    cpus = pin(threads)
    t0 = time.perf_counter()
    feeds = {n: np.load(work / "inputs" / f"{n}.npy") for n in INPUTS}
    reference = {n: np.load(work / "inputs" / f"ref_{n}.npy") for n in OUTPUTS}
    info: Dict[str, object] = {}
    if system in ("ort-fp32", "ort-int8"):
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        path = work / ("frame.onnx" if system == "ort-fp32" else "frame-int8-qdq.onnx")
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        names = [o.name for o in session.get_outputs()]

        def frame():
            return dict(zip(names, session.run(None, feeds)))
    elif system in ("ov-fp32", "ov-int8"):
        import openvino as ov

        core = ov.Core()
        path = work / ("frame.onnx" if system == "ov-fp32" else "frame-int8-ov.xml")
        config = {"INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY",
                  "INFERENCE_PRECISION_HINT": "f32"}
        compiled = core.compile_model(core.read_model(str(path)), "CPU", config)
        request = compiled.create_infer_request()
        outs = [(o.get_any_name(), o) for o in compiled.outputs]
        ov_feeds = {i.get_any_name(): feeds[i.get_any_name()] for i in compiled.inputs}
        info["ov_config"] = {k: str(compiled.get_property(k)) for k in
                             ("INFERENCE_NUM_THREADS", "PERFORMANCE_HINT", "INFERENCE_PRECISION_HINT")}

        def frame():
            request.infer(ov_feeds)
            return {n: request.get_tensor(o).data.copy() for n, o in outs}
    elif system == "ncnn-fp32":
        import ncnn

        net = ncnn.Net()
        opt = net.opt
        opt.num_threads = threads
        opt.lightmode = True
        opt.use_winograd_convolution = True
        opt.use_sgemm_convolution = True
        opt.use_packing_layout = True
        opt.use_fp16_packed = False
        opt.use_fp16_storage = False
        opt.use_fp16_arithmetic = False
        opt.use_bf16_storage = False
        opt.use_int8_inference = False
        opt.use_vulkan_compute = False
        ncnn_dir = work / "ncnn"
        if net.load_param(str(ncnn_dir / "frame.ncnn.param")) != 0 or \
                net.load_model(str(ncnn_dir / "frame.ncnn.bin")) != 0:
            raise Failure(f"ncnn cannot load {ncnn_dir}/frame.ncnn.*")
        mats = [ncnn.Mat(np.ascontiguousarray(feeds[n][0])).clone() for n in INPUTS]

        def frame():
            ex = net.create_extractor()
            for i, m in enumerate(mats):
                ex.input(f"in{i}", m)
            result = {}
            for i, n in enumerate(OUTPUTS):
                _, out = ex.extract(f"out{i}")
                result[n] = np.array(out)[None]
            return result
    elif system == "torch-fp32":
        import torch
        from siammask_ref.model import TrackingFrameGraph
        from siammask_ref.tracker import load_model

        torch.set_num_threads(threads)
        model, _ = load_model(Path(os.environ["BENCH_MODEL_PTH"]))
        graph = TrackingFrameGraph(model, POS).eval()
        tensors = [torch.from_numpy(feeds[n]) for n in INPUTS]

        def frame():
            with torch.no_grad():
                return {n: t.numpy() for n, t in zip(OUTPUTS, graph(*tensors))}
        info["torch_threads"] = torch.get_num_threads()
        config = torch.__config__.show()
        # PyTorch picks its own im2col + BLAS path over oneDNN for 1x1 convolutions when single-threaded, so the
        # BLAS it was built with matters at 1 thread (Debian's torch 1.13: BLAS_INFO=generic).
        info["blas_info"] = next((part.split("=", 1)[1] for part in config.replace(",", " ").split()
                                  if part.startswith("BLAS_INFO=")), None)
        info["mkldnn"] = torch.backends.mkldnn.is_available()
    else:
        raise Failure(f"unknown worker system {system}")
    load_ms = (time.perf_counter() - t0) * 1000
    out = frame()
    check = {}
    for n in OUTPUTS:
        if out[n].shape != reference[n].shape:
            raise Failure(f"{system}: output {n} has shape {out[n].shape}, expected {reference[n].shape}")
        tol = 1e-4 * float(np.abs(reference[n]).max()) + 1e-5
        check[n] = {"err_over_tol": float(np.abs(out[n] - reference[n]).max()) / tol,
                    "sqnr_db": sqnr_db(reference[n], out[n])}
    print(json.dumps({"ready": True, "load_ms": load_ms, "precision": PRECISION[system], "threads": threads,
                      "cpus": cpus, "check": check, **info}), flush=True)
    for line in sys.stdin:
        line = line.strip()
        if line == "quit":
            break
        k = int(line)
        times = []
        for _ in range(k):
            t = time.perf_counter()
            frame()
            times.append((time.perf_counter() - t) * 1000)
        print(json.dumps({"frames": k, "ms": times}), flush=True)
    return 0


class Server:
    """One system's process speaking the line protocol."""

    def __init__(self, system: str, command: List[str], threads: int, env: Dict[str, str], timeout_s: float):
        self.system = system
        self.command = command
        self.timeout_s = timeout_s
        cpus = sorted(os.sched_getaffinity(0))[:threads]
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, bufsize=1, env=env,
                                     preexec_fn=lambda: os.sched_setaffinity(0, cpus))
        self.ready = self._read_json(timeout_s)
        if not self.ready.get("ready"):
            raise Failure(f"{system}: first line is not a ready line: {self.ready}")

    def _read_json(self, timeout_s: float) -> dict:
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self.close()
                raise Failure(f"{self.system}: no answer within {timeout_s:.0f} s")
            ready, _, _ = select.select([self.proc.stdout], [], [], left)
            if not ready:
                continue
            line = self.proc.stdout.readline()
            if not line:
                err = self.proc.stderr.read()
                self.proc.wait()
                raise Failure(f"{self.system}: {shlex.join(self.command)} ended (status {self.proc.returncode}) "
                              f"without an answer:\n{err[-2000:]}")
            line = line.strip()
            if not line.startswith("{"):
                continue  # log lines a runtime may print on stdout
            try:
                return json.loads(line)
            except json.JSONDecodeError as error:
                raise Failure(f"{self.system}: cannot parse {line!r}: {error}")

    def run(self, frames: int) -> List[float]:
        self.proc.stdin.write(f"{frames}\n")
        self.proc.stdin.flush()
        answer = self._read_json(self.timeout_s)
        ms = answer.get("ms")
        if answer.get("frames") != frames or not isinstance(ms, list) or len(ms) != frames:
            raise Failure(f"{self.system}: expected {frames} frame times, got {answer}")
        return [float(v) for v in ms]

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=10)
            except (BrokenPipeError, subprocess.TimeoutExpired, OSError):
                self.proc.kill()
                self.proc.wait()


# ---------------------------------------------------------------------------------------------------------------------
# CPU load of other processes


def _tree_jiffies() -> int:
    """utime + stime (clock ticks) of this process and all its live descendants (threads included)."""
    me = os.getpid()
    parent: Dict[int, int] = {}
    ticks: Dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            text = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        parent[int(entry)] = int(fields[1])
        ticks[int(entry)] = int(fields[11]) + int(fields[12])
    total = 0
    for pid in ticks:
        p = pid
        while p > 1 and p != me:
            p = parent.get(p, 0)
        if p == me:
            total += ticks[pid]
    return total


def _machine_jiffies() -> Tuple[int, int]:
    """(busy, total) jiffies of all CPUs from /proc/stat (busy = total - idle - iowait)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    total = sum(fields[:8])  # user nice system idle iowait irq softirq steal (guest is inside user)
    return total - fields[3] - fields[4], total


class LoadMeter:
    def __enter__(self):
        self.busy0, self.total0 = _machine_jiffies()
        self.tree0 = _tree_jiffies()
        return self

    def __exit__(self, *exc):
        busy1, total1 = _machine_jiffies()
        tree1 = _tree_jiffies()
        d_total = max(1, total1 - self.total0)
        self.other_busy_pct = max(0.0, 100.0 * ((busy1 - self.busy0) - (tree1 - self.tree0)) / d_total)
        self.tree_busy_pct = 100.0 * (tree1 - self.tree0) / d_total
        return False


# ---------------------------------------------------------------------------------------------------------------------
# Benchmark


def versions() -> Dict[str, Optional[str]]:
    out = {"python": platform.python_version()}
    for dist in ["numpy", "torch", "onnx", "onnxruntime", "openvino", "nncf", "ncnn", "pnnx"]:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = None
    if out["torch"] is None:
        try:
            import torch
            out["torch"] = torch.__version__
        except ImportError:
            pass
    return out


def machine() -> Dict[str, object]:
    info: Dict[str, object] = {"cpus_online": os.cpu_count(), "cpus_allowed": len(os.sched_getaffinity(0))}
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in lscpu.splitlines():
            if line.startswith("Model name:"):
                info["model_name"] = line.split(":", 1)[1].strip()
    except OSError:
        pass
    flags = set()
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            flags = set(line.split(":", 1)[1].split())
            break
    info["flags"] = {f: f in flags for f in ["avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni",
                                              "avx512_bf16", "amx_int8"]}
    info["loadavg"] = Path("/proc/loadavg").read_text().split()[:3]
    return info


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def server_command(system: str, args, threads: int) -> Tuple[Optional[List[str]], Optional[str]]:
    """(command, None) or (None, reason to skip)."""
    if system in OURS:
        model = args.ours_fp32 if system == "ours-fp32" else args.ours_int8
        if model is None:
            return None, f"no model given (--{system})"
        if not model.exists():
            return None, f"{model} not found (--{system})"
        cli = args.siammask
        if not cli.exists():
            return None, f"{cli} not found (--siammask)"
        return ([str(cli), "bench", str(model), "--serve", "--threads", str(threads),
                 "--search", str(args.work / "inputs" / "search_only.npy"),
                 "--template", str(args.work / "inputs" / "template.npy")], None)
    return [sys.executable, str(Path(__file__).resolve()), "--worker", system, "--work", str(args.work),
            "--threads", str(threads)], None


def runtime_missing(system: str) -> Optional[str]:
    module = {"ort": "onnxruntime", "ov": "openvino", "ncnn": "ncnn", "torch": "torch"}.get(system.split("-")[0])
    if module is None:
        return None
    import importlib.util

    if importlib.util.find_spec(module) is None:
        return f"python module {module} not installed (Tools/setup.sh --bench)"
    return None


def bench_threads(args, systems: List[str], threads: int, skipped: Dict[str, str]) -> Dict[str, object]:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), BENCH_MODEL_PTH=str(args.model_pth))
    servers: Dict[str, Server] = {}
    ready: Dict[str, dict] = {}
    failed: Dict[str, str] = {}
    try:
        for system in systems:
            command, reason = server_command(system, args, threads)
            if command is None:
                skipped[system] = reason
                continue
            print(f"[{threads} thread(s)] loading {system}", flush=True)
            try:
                servers[system] = Server(system, command, threads, env, args.timeout)
                ready[system] = servers[system].ready
                servers[system].run(args.warmup)
            except Failure as error:
                failed[system] = str(error)
                print(f"  {system} failed: {error}", file=sys.stderr, flush=True)
                if system in servers:
                    servers.pop(system).close()
        rng = random.Random(args.seed * 1000 + threads)
        blocks: Dict[str, List[dict]] = {s: [] for s in servers}
        for round_index in range(args.rounds):
            order = list(servers)
            rng.shuffle(order)
            for system in order:
                # Let the previous system's thread pool stop spinning (OpenMP, ORT) before the next block starts.
                time.sleep(args.gap_ms / 1000)
                with LoadMeter() as meter:
                    ms = servers[system].run(args.block)
                blocks[system].append({"round": round_index, "ms": ms, "median_ms": statistics.median(ms),
                                       "other_busy_pct": meter.other_busy_pct, "tree_busy_pct": meter.tree_busy_pct})
            print(f"[{threads} thread(s)] round {round_index + 1}/{args.rounds}: " + ", ".join(
                f"{s} {statistics.median(blocks[s][-1]['ms']):.0f}" for s in servers) + " ms", flush=True)
    finally:
        for s in servers.values():
            s.close()
    results = {}
    for system, bl in blocks.items():
        all_ms = [v for b in bl for v in b["ms"]]
        results[system] = {"median_ms": statistics.median(all_ms), "p10_ms": percentile(all_ms, 10),
                           "p90_ms": percentile(all_ms, 90), "frames": len(all_ms),
                           "other_busy_pct_mean": statistics.mean(b["other_busy_pct"] for b in bl),
                           "other_busy_pct_max": max(b["other_busy_pct"] for b in bl),
                           "own_busy_pct_mean": statistics.mean(b["tree_busy_pct"] for b in bl),
                           "ready": ready[system], "blocks": bl}
    ratios = {}
    for ours, peers in (("ours-fp32", FP32_PEERS), ("ours-int8", INT8_PEERS)):
        present = [p for p in peers if p in results]
        if ours not in results or not present:
            continue
        per_round = []
        for r in range(args.rounds):
            best_peer = min(present, key=lambda p: results[p]["blocks"][r]["median_ms"])
            per_round.append({"round": r, "best_peer": best_peer,
                              "ratio": results[ours]["blocks"][r]["median_ms"] /
                              results[best_peer]["blocks"][r]["median_ms"]})
        values = [x["ratio"] for x in per_round]
        ratios[PRECISION[ours]] = {"ours": ours, "peers": present, "median": statistics.median(values),
                                   "min": min(values), "max": max(values), "per_round": per_round}
    return {"threads": threads, "systems": results, "failed": failed, "ratios": ratios}


def table_lines(result: Dict[str, object]) -> List[str]:
    lines = [f"threads = {result['threads']}",
             f"  {'system':<11} {'median ms':>10} {'p10':>8} {'p90':>8} {'frames':>6} {'other CPU %':>12} "
             f"{'own CPU %':>9} {'load ms':>8}  check vs PyTorch"]
    for system, r in sorted(result["systems"].items(), key=lambda kv: kv[1]["median_ms"]):
        check = r["ready"].get("check")
        if check:
            if PRECISION[system] == "fp32":
                text = "err/tol " + " ".join(f"{n} {check[n]['err_over_tol']:.2f}" for n in OUTPUTS)
            else:
                text = "SQNR dB " + " ".join(f"{n} {check[n]['sqnr_db']:.1f}" for n in OUTPUTS)
        else:
            text = ", ".join(f"{k} {r['ready'][k]}" for k in ("precision", "fp32_tier", "int8_tier")
                             if k in r["ready"])
        load = r["ready"].get("load_ms")
        lines.append(f"  {system:<11} {r['median_ms']:>10.1f} {r['p10_ms']:>8.1f} {r['p90_ms']:>8.1f} "
                     f"{r['frames']:>6} {r['other_busy_pct_mean']:>6.0f} (max {r['other_busy_pct_max']:.0f}) "
                     f"{r['own_busy_pct_mean']:>9.0f} "
                     f"{load if load is None else format(load, '.0f'):>6}  {text}")
    for precision, q in result["ratios"].items():
        lines.append(f"  {q['ours']} / best {precision} peer ({', '.join(q['peers'])}): median {q['median']:.3f} "
                     f"(min {q['min']:.3f}, max {q['max']:.3f}) over {len(q['per_round'])} rounds")
    for system, reason in result["failed"].items():
        lines.append(f"  {system}: FAILED: {reason.splitlines()[0]}")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model-pth", type=Path, default=Path("out/full/model.pth"),
                        help="full-size weights (default out/full/model.pth from Tools/compare_full.py; built the "
                             "same way when absent)")
    parser.add_argument("--inputs-dir", type=Path, default=Path("out/full/golden"),
                        help="folder with search_input.npy and template_input.npy (default out/full/golden)")
    parser.add_argument("--work", type=Path, default=Path("out/bench-peers"),
                        help="exports, int8 models and inputs (default out/bench-peers)")
    parser.add_argument("--systems", default=",".join(ALL_SYSTEMS), help=f"subset of {','.join(ALL_SYSTEMS)}")
    parser.add_argument("--threads", default="1,2", help="thread counts (default 1,2)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (default 5)")
    parser.add_argument("--block", type=int, default=3, help="frames per system per round (default 3)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up frames per system after loading (default 3)")
    parser.add_argument("--gap-ms", type=float, default=200,
                        help="pause before each block so that idle thread pools stop spinning (default 200 ms)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the shuffled order (default 1)")
    parser.add_argument("--siammask", type=Path, default=Path(".build/release/siammask"), help="our CLI")
    parser.add_argument("--ours-fp32", type=Path, default=None, help="float32 .siam for ours-fp32")
    parser.add_argument("--ours-int8", type=Path, default=None, help="int8 .siam for ours-int8")
    parser.add_argument("--data-root", type=Path, default=Path("../shared/data"))
    parser.add_argument("--calib-per-sequence", type=int, default=4,
                        help="calibration crops per sequence of --data-root for the int8 peers (default 4)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds to wait for any answer (default 600)")
    parser.add_argument("--json", type=Path, default=None, help="write everything as JSON")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        if args.worker:
            return worker(args.worker, args.work, int(args.threads))
        return run(args)
    except Failure as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


def run(args) -> int:
    started = time.perf_counter()
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = [s for s in systems if s not in ALL_SYSTEMS]
    if unknown:
        raise Failure(f"unknown system(s) {', '.join(unknown)}; known: {', '.join(ALL_SYSTEMS)}")
    try:
        args.thread_counts = [int(t) for t in args.threads.split(",")]
    except ValueError:
        raise Failure(f"--threads takes comma-separated integers, not {args.threads!r}")
    if any(t < 1 for t in args.thread_counts) or args.rounds < 1 or args.block < 1 or args.warmup < 0:
        raise Failure("--threads, --rounds and --block must be >= 1, --warmup >= 0")
    allowed = len(os.sched_getaffinity(0))
    if max(args.thread_counts) > allowed:
        print(f"note: only {allowed} CPUs are available to this process; thread counts above it share them",
              file=sys.stderr)
    skipped: Dict[str, str] = {}
    for s in list(systems):
        reason = runtime_missing(s)
        if reason:
            skipped[s] = reason
    active = [s for s in systems if s not in skipped]
    prep = prepare(args, active)
    skipped.update(prep.pop("skipped"))
    active = [s for s in active if s not in skipped]
    for s, reason in skipped.items():
        print(f"skipping {s}: {reason}", flush=True)
    results = [bench_threads(args, active, t, skipped) for t in args.thread_counts]
    report = {"command": shlex.join([sys.executable, "Tools/bench_peers.py"] + sys.argv[1:]),
              "frame": f"search 1x3x255x255 + kernel_cls/loc/mask 1x256x5x5 -> cls, loc, refine mask at {POS}",
              "settings": {"rounds": args.rounds, "block": args.block, "warmup": args.warmup, "seed": args.seed,
                           "gap_ms": args.gap_ms,
                           "threads": args.thread_counts, "systems": systems},
              "machine": machine(), "versions": versions(), "preparation": prep, "skipped": skipped,
              "results": results, "seconds": time.perf_counter() - started,
              "notes": [
                  "check vs PyTorch: each peer's outputs on the benchmark input against PyTorch float32 at load; for "
                  "int8 it shows that the graph is the same network, it is no accuracy figure (SQNR of seeded random "
                  "weights on an input outside the calibration crops' range can be low)",
                  "times are wall times per frame measured inside each system's process; ours: as reported by "
                  "`siammask bench --serve` (fp32_tier 'fake' = Tools/fake_siammask_serve.py, not our tracker)"]}
    m = report["machine"]
    print()
    print(f"machine: {m.get('model_name', '?')}, {m['cpus_allowed']} CPUs; " +
          " ".join(f"{f}={'yes' if v else 'no'}" for f, v in m["flags"].items()))
    print("versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items() if v))
    print(f"per system: median / p10 / p90 ms per frame over {args.rounds} rounds x {args.block} frames; other CPU % ="
          f" busy time of other processes during the blocks, % of all CPUs (mean, max); own CPU % = this process tree's"
          f" (mean)")
    for r in results:
        print()
        print("\n".join(table_lines(r)))
    for s, reason in skipped.items():
        print(f"skipped {s}: {reason}")
    for note in report["notes"]:
        print(f"note: {note}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, default=float) + "\n")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
