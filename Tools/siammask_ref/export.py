"""Reference model construction, golden tensors, ONNX export and verification, manifest writing."""

import hashlib
import json
import warnings
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np
import torch

from .data import calibration_pairs, golden_pair
from .model import RefineGraph, SearchGraph, SiamMaskSharp, TemplateGraph, TrackingFrameGraph, template_kernels
from .weights import calibrate_bn, init_weights

ONNX_OPSET = 17  # the highest opset torch 1.13's exporter supports
REFINE_POSITIONS = [(12, 12), (3, 21)]


def tolerance(reference: np.ndarray) -> float:
    """Allowed max |ours - ref|: 1e-4 of the reference's largest magnitude, plus 1e-5."""
    return 1e-4 * float(np.abs(reference).max()) + 1e-5


def build_reference_model(width_multiplier: float, seed: int, data_root: Path, frames_per_sequence: int):
    """Seeded weights with BN statistics calibrated on real crops. Returns (model in eval mode, calibration report)."""
    model = SiamMaskSharp(width_multiplier)
    init_weights(model, seed)
    exemplars, searches = calibration_pairs(data_root, frames_per_sequence)
    report = calibrate_bn(model, exemplars, searches)
    return model.eval(), report


def refine_golden_name(pos: Tuple[int, int]) -> str:
    return f"refine_mask_r{pos[0]}_c{pos[1]}"


@torch.no_grad()
def golden_tensors(model: SiamMaskSharp, data_root: Path) -> Dict[str, np.ndarray]:
    """Golden inputs and outputs of the three graphs, named <graph>_<tensor> (refine: by position)."""
    template, search = (torch.from_numpy(a) for a in golden_pair(data_root))
    zf = TemplateGraph(model)(template)
    cls, loc, corr, f0, f1, f2 = SearchGraph(model)(search, zf)
    goldens = {"template_input": template, "template_zf": zf, "search_input": search, "search_cls": cls,
               "search_loc": loc, "search_corr": corr, "search_f0": f0, "search_f1": f1, "search_f2": f2}
    refine = RefineGraph(model)
    for pos in REFINE_POSITIONS:
        goldens[refine_golden_name(pos)] = refine(f0, f1, f2, corr, torch.tensor(pos, dtype=torch.int64))
    return {name: np.ascontiguousarray(t.numpy(), dtype=np.float32) for name, t in goldens.items()}


def graph_cases(model: SiamMaskSharp, goldens: Dict[str, np.ndarray]):
    """(name, graph module, ONNX feeds per case, expected outputs per case) for the three graphs."""
    g = goldens
    search_outputs = {n: g["search_" + n] for n in SearchGraph.output_names}
    refine_feeds = {"f0": g["search_f0"], "f1": g["search_f1"], "f2": g["search_f2"], "corr": g["search_corr"]}
    return [
        ("template", TemplateGraph(model), [{"template": g["template_input"]}], [{"zf": g["template_zf"]}]),
        ("search", SearchGraph(model), [{"search": g["search_input"], "zf": g["template_zf"]}], [search_outputs]),
        ("refine", RefineGraph(model),
         [dict(refine_feeds, pos=np.array(pos, dtype=np.int64)) for pos in REFINE_POSITIONS],
         [{"mask": g[refine_golden_name(pos)]} for pos in REFINE_POSITIONS]),
    ]


def export_onnx(graph: torch.nn.Module, feeds: Dict[str, np.ndarray], path: Path, folded: bool) -> None:
    """folded: eval-mode export with constant folding (BN folded into the convs, anonymous initializer names).
    unfolded: BatchNormalization nodes kept (TrainingMode.PRESERVE on an eval-mode model, no constant folding), so
    initializers keep the module-path names the graph wrapper gives them (the official key names)."""
    graph.eval()
    args = tuple(torch.from_numpy(feeds[name]) for name in graph.input_names)
    with warnings.catch_warnings():
        # Expected and harmless: the adjust layer's `width < 20` crop is a Python branch (template and search are
        # separate graphs for that reason); F.pad's pads are computed by a small constant subgraph that torch 1.13
        # does not fold (reversed Slice); the shape-inference note concerns those same constants.
        warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)
        warnings.filterwarnings("ignore", message="Constant folding - Only steps=1")
        warnings.filterwarnings("ignore", message="The shape inference of prim::Constant")
        torch.onnx.export(graph, args, str(path), opset_version=ONNX_OPSET, input_names=graph.input_names,
                          output_names=graph.output_names, do_constant_folding=folded,
                          training=torch.onnx.TrainingMode.EVAL if folded else torch.onnx.TrainingMode.PRESERVE)


@torch.no_grad()
def tracking_frame_feeds(model: SiamMaskSharp, template: np.ndarray, search: np.ndarray) -> Dict[str, np.ndarray]:
    """Inputs of TrackingFrameGraph: the search crop and the three correlation kernels of the template crop."""
    zf = TemplateGraph(model)(torch.from_numpy(template))
    names = TrackingFrameGraph.input_names[1:]
    feeds = {"search": np.ascontiguousarray(search, dtype=np.float32)}
    for name, k in zip(names, template_kernels(model, zf)):
        feeds[name] = np.ascontiguousarray(k.numpy(), dtype=np.float32)
    return feeds


def export_tracking_frame_onnx(model: SiamMaskSharp, feeds: Dict[str, np.ndarray], path: Path,
                               pos: Tuple[int, int] = (12, 12)) -> TrackingFrameGraph:
    """The tracker's per-frame network (search + kernels -> cls, loc, refine mask at `pos`) as a BN-folded ONNX file
    (opset ONNX_OPSET, batch 1, static shapes). Returns the exported module."""
    graph = TrackingFrameGraph(model, pos).eval()
    export_onnx(graph, feeds, path, folded=True)
    return graph


def verify_onnx(path: Path, feeds_per_case: Sequence[Dict[str, np.ndarray]],
                expected_per_case: Sequence[Dict[str, np.ndarray]], threads: int) -> float:
    """Run the file in onnxruntime on every case; every output must match PyTorch within `tolerance`.
    Returns the worst error as a fraction of its tolerance."""
    import onnx
    import onnxruntime

    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    worst = 0.0
    for feeds, expected in zip(feeds_per_case, expected_per_case):
        outputs = dict(zip([o.name for o in session.get_outputs()], session.run(None, feeds)))
        for name, reference in expected.items():
            got = outputs[name]
            if got.shape != reference.shape:
                raise AssertionError(f"{path.name}: {name} has shape {got.shape}, expected {reference.shape}")
            ratio = float(np.abs(got - reference).max()) / tolerance(reference)
            if ratio > 1:
                raise AssertionError(f"{path.name}: {name} differs from PyTorch ({ratio:.2f}x the tolerance)")
            worst = max(worst, ratio)
    return worst


def onnx_initializer_summary(path: Path) -> Dict[str, object]:
    """Counts of nodes by type and initializer names (first few) for the report."""
    import onnx

    graph = onnx.load(str(path)).graph
    ops: Dict[str, int] = {}
    for node in graph.node:
        ops[node.op_type] = ops.get(node.op_type, 0) + 1
    names = [i.name for i in graph.initializer]
    return {"ops": ops, "initializers": len(names),
            "official_names": sum(1 for n in names if not n.startswith("onnx::")), "examples": names[:3]}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_manifest(out_dir: Path, files: List[Dict[str, object]], extra: Dict[str, object]) -> Path:
    """manifest.json: `extra` (settings, versions, command) plus every file with its size and sha256."""
    entries = []
    for entry in files:
        path = out_dir / entry["file"]
        entries.append(dict(entry, bytes=path.stat().st_size, sha256=sha256(path)))
    manifest = dict(extra, files=entries)
    path = out_dir / "manifest.json"
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    return path
