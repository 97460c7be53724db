"""ONNX Runtime static int8 quantisation of the exported graphs, and the map from ONNX tensors to our node names.

Used by Tools/compare_ort_int8.py. Three pieces:

- `quantize_qdq`: `onnxruntime.quantization.quantize_static` with ORT's recommended CPU settings for CNNs (QDQ format,
  per-channel QInt8 weights, QUInt8 activations) on given calibration feeds and calibrator options, with the session
  threads capped.
- `node_tensors`: for each node of our graphs (official module paths, e.g. `features.features.layer2.0.conv3`), the
  float tensor of the exported ONNX graph holding the same value. Convolutions are identified by their weights, not
  by names: an ONNX Conv whose initializer equals the PyTorch convolution's weight scaled per output channel (the
  exporter folds BatchNorm into the weights, which is exactly such a scaling) is that module. From the Conv output the
  map follows what our fused node includes: a following Relu, for a bottleneck's conv3 the residual Add and its Relu,
  and Reshapes (the depth-wise correlation is exported as Reshape, grouped Conv, Reshape). A Conv whose weight is not
  an initializer is a correlation: it is named after the conv_search feeding it (`<block>.xcorr`). Deconvolutions
  (ConvTranspose) are matched the same way; pooling, padding and resizing are matched by type where there is one.
- `probe`: a copy of a (quantised) model that also outputs, for each float tensor name, the value the next layer
  reads: in a QDQ model the output of the DequantizeLinear that follows the tensor's QuantizeLinear (for a graph
  output the output itself), otherwise the tensor.
"""

from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import numpy as np
import onnx
import torch
from onnx import numpy_helper
from torch import nn

def ort_percentile(ours: float) -> float:
    """ORT's CalibPercentile p cuts (100 - p) / 2 percent from each tail of the value histogram; ours (p) cuts 100 - p
    percent from each tail. The ORT setting that clips the same tails as ours."""
    return 100.0 - 2.0 * (100.0 - ours)


def session_options(threads: int):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return options


class _FeedReader:
    """A CalibrationDataReader over a list of feed dicts."""

    def __init__(self, feeds: Sequence[Dict[str, np.ndarray]]):
        self.feeds = list(feeds)
        self.index = 0

    def get_next(self):
        if self.index >= len(self.feeds):
            return None
        self.index += 1
        return self.feeds[self.index - 1]

    def rewind(self):
        self.index = 0


def quantize_qdq(float_path: Path, out_path: Path, feeds: Sequence[Dict[str, np.ndarray]], method: str,
                 calibrator_options: Dict[str, object], nodes_to_exclude: Sequence[str],
                 threads: int) -> Dict[str, object]:
    """Static QDQ quantisation (per-channel QInt8 weights, QUInt8 activations, no reduce_range). `method`: MinMax,
    Percentile or Entropy; `calibrator_options`: options of ORT's `create_calibrator` (e.g. percentile, symmetric,
    num_bins). onnxruntime 1.19's quantize_static forwards only CalibTensorRangeSymmetric, CalibMovingAverage(Constant)
    and CalibMaxIntermediateOutputs to its calibrator (its CalibPercentile / CalibNumBins are documented but dropped),
    so the options are passed by wrapping the `create_calibrator` it calls. The calibration session runs with `threads`
    intra-op threads (onnxruntime.SessionOptions is wrapped for the same reason). Returns the settings used."""
    import importlib

    import onnxruntime
    from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, \
        quantize_static

    class Reader(_FeedReader, CalibrationDataReader):
        pass

    # The module, not the `quantize` function the package exports under the same name.
    ort_quantize = importlib.import_module("onnxruntime.quantization.quantize")
    original_options = onnxruntime.SessionOptions
    original_calibrator = ort_quantize.create_calibrator
    used: Dict[str, object] = {}

    def capped():
        options = original_options()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        return options

    def calibrator(*args, **kwargs):
        options = dict(kwargs.get("extra_options") or {})
        options.update(calibrator_options)
        kwargs["extra_options"] = options
        used.update(options)
        return original_calibrator(*args, **kwargs)

    onnxruntime.SessionOptions = capped
    ort_quantize.create_calibrator = calibrator
    try:
        quantize_static(str(float_path), str(out_path), Reader(feeds), quant_format=QuantFormat.QDQ, per_channel=True,
                        reduce_range=False, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        calibrate_method=getattr(CalibrationMethod, method), nodes_to_exclude=list(nodes_to_exclude))
    finally:
        onnxruntime.SessionOptions = original_options
        ort_quantize.create_calibrator = original_calibrator
    if calibrator_options and not used:
        raise RuntimeError("quantize_static did not call create_calibrator: the calibrator options were not applied")
    return {"quant_format": "QDQ", "per_channel": True, "activation_type": "QUInt8", "weight_type": "QInt8",
            "reduce_range": False, "calibrate_method": method, "calibrator_options": used,
            "nodes_to_exclude": list(nodes_to_exclude), "calibration_samples": len(feeds)}


def optimized_op_counts(path: Path, scratch: Path) -> Dict[str, int]:
    """Op types of the graph ORT actually runs on the CPU (all graph optimisations on, as in a default session): shows
    whether the Q/DQ pairs were fused into int8 kernels (QLinearConv, ...) or left as float ops between Q/DQ."""
    import onnxruntime

    options = session_options(1)
    options.optimized_model_filepath = str(scratch)
    options.log_severity_level = 3  # not the warning that the saved graph is specific to this CPU
    onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    counts: Dict[str, int] = {}
    for node in onnx.load(str(scratch)).graph.node:
        key = node.op_type if not node.domain or node.domain == "ai.onnx" else f"{node.domain}.{node.op_type}"
        counts[key] = counts.get(key, 0) + 1
    scratch.unlink()
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


# ---------------------------------------------------------------------------------------------------------------------
# ONNX tensor <-> our node names


def our_node_name(module: str) -> str:
    """Our graph's node name for a convolution module path (the Swift graph builders' naming): a Sequential's conv
    `X.conv_search.0` / `X.conv_kernel.0` / `X.downsample.0` is the node `X.conv_search` / ...; the adjust layer
    `features.downsample.downsample.0` is `features.downsample`; every other module keeps its path."""
    for suffix in (".conv_search.0", ".conv_kernel.0", ".downsample.0"):
        if module.endswith(suffix):
            module = module[: -len(".0")]
            break
    return "features.downsample" if module == "features.downsample.downsample" else module


def _proportional(a: np.ndarray, b: np.ndarray) -> bool:
    """a[o] == s[o] * b[o] for every output channel o (some scale s[o]), to float32 precision."""
    a = a.reshape(a.shape[0], -1).astype(np.float64)
    b = b.reshape(b.shape[0], -1).astype(np.float64)
    bb = (b * b).sum(axis=1)
    if np.any(bb == 0):
        return bool(np.array_equal(a == 0, b == 0)) and np.allclose(a, 0, atol=0)
    s = (a * b).sum(axis=1) / bb
    residual = a - s[:, None] * b
    return bool(np.all(np.sqrt((residual ** 2).sum(axis=1)) <= 1e-5 * np.sqrt((a ** 2).sum(axis=1)) + 1e-12))


class _Graph:
    def __init__(self, model: onnx.ModelProto):
        self.model = model
        self.nodes = list(model.graph.node)
        self.initializers = {i.name: i for i in model.graph.initializer}
        self.producer = {o: n for n in self.nodes for o in n.output}
        self.consumers: Dict[str, List[onnx.NodeProto]] = {}
        for n in self.nodes:
            for i in n.input:
                self.consumers.setdefault(i, []).append(n)
        self.outputs = {o.name for o in model.graph.output}

    def only_consumer(self, tensor: str, op_types: Iterable[str]) -> Optional[onnx.NodeProto]:
        users = self.consumers.get(tensor, [])
        if len(users) == 1 and users[0].op_type in set(op_types) and tensor not in self.outputs:
            return users[0]
        return None

    def follow(self, tensor: str, op_types: Iterable[str]) -> str:
        while True:
            nxt = self.only_consumer(tensor, op_types)
            if nxt is None:
                return tensor
            tensor = nxt.output[0]

    def trace_back(self, tensor: str, op_types: Iterable[str]) -> str:
        while tensor in self.producer and self.producer[tensor].op_type in set(op_types):
            tensor = self.producer[tensor].input[0]
        return tensor


def node_tensors(model: onnx.ModelProto, graph: nn.Module) -> Tuple[Dict[str, str], Dict[str, str], List[str]]:
    """({our node name: float tensor name}, {our node name: ONNX Conv node name}, unmatched ONNX convolutions) for an
    exported graph; see the module docstring. `graph` is the PyTorch graph wrapper the model was exported from
    (module paths = official names)."""
    g = _Graph(model)
    convs: Dict[Tuple[str, Tuple[int, ...]], List[Tuple[str, np.ndarray]]] = {}
    for name, module in graph.named_modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            w = module.weight.detach().numpy()
            if isinstance(module, nn.ConvTranspose2d):  # scaled per output channel = axis 1
                w = np.swapaxes(w, 0, 1)
            kind = "ConvTranspose" if isinstance(module, nn.ConvTranspose2d) else "Conv"
            convs.setdefault((kind, w.shape), []).append((name, w))
    result: Dict[str, str] = {}
    conv_nodes: Dict[str, str] = {}
    unmatched: List[str] = []
    correlations = []
    for node in g.nodes:
        if node.op_type not in ("Conv", "ConvTranspose"):
            continue
        weight_name = node.input[1]
        if weight_name not in g.initializers:
            correlations.append(node)
            continue
        w = numpy_helper.to_array(g.initializers[weight_name])
        if node.op_type == "ConvTranspose":
            w = np.swapaxes(w, 0, 1)
        matches = [m for m, mw in convs.get((node.op_type, w.shape), []) if _proportional(w, mw)]
        if len(matches) != 1:
            unmatched.append(f"{node.name} ({len(matches)} candidates)")
            continue
        module = matches[0]
        tensor = node.output[0]
        if module.endswith(".conv3"):
            # Our conv3 node carries the residual add and the ReLU.
            add = g.only_consumer(tensor, ["Add"])
            if add is not None:
                tensor = add.output[0]
        tensor = g.follow(tensor, ["Relu"])
        result[our_node_name(module)] = tensor
        conv_nodes[our_node_name(module)] = node.name
    by_tensor = {t: n for n, t in result.items()}
    for node in correlations:
        source = g.trace_back(node.input[0], ["Reshape"])
        search = by_tensor.get(source)
        if search is None or not search.endswith(".conv_search"):
            unmatched.append(f"{node.name} (correlation input {source} is no conv_search)")
            continue
        key = search[: -len(".conv_search")] + ".xcorr"
        result[key] = g.follow(node.output[0], ["Reshape"])
        conv_nodes[key] = node.name
    pools = [n for n in g.nodes if n.op_type == "MaxPool"]
    if len(pools) == 1:
        result["features.features.maxpool"] = pools[0].output[0]
    return result, conv_nodes, unmatched


# ---------------------------------------------------------------------------------------------------------------------
# Probing intermediate tensors of a (QDQ) model


def dequantized_name(model: onnx.ModelProto, tensor: str) -> str:
    """The tensor that carries `tensor`'s value as the next layer reads it in `model` (see `probe`)."""
    g = _Graph(model)
    if tensor in g.outputs:
        return tensor
    if tensor not in g.producer and tensor not in {i.name for i in model.graph.input}:
        raise KeyError(f"tensor {tensor!r} is not in the quantised model")
    for q in g.consumers.get(tensor, []):
        if q.op_type == "QuantizeLinear":
            for dq in g.consumers.get(q.output[0], []):
                if dq.op_type == "DequantizeLinear":
                    return dq.output[0]
    return tensor


def probe(model: onnx.ModelProto, tensors: Dict[str, str]) -> Tuple[onnx.ModelProto, Dict[str, str]]:
    """A copy of `model` with extra graph outputs; returns it and {key: output name} for the given {key: tensor}."""
    probed = onnx.ModelProto()
    probed.CopyFrom(model)
    existing = {o.name for o in probed.graph.output}
    names: Dict[str, str] = {}
    for key, tensor in tensors.items():
        name = dequantized_name(model, tensor)
        names[key] = name
        if name not in existing:
            probed.graph.output.append(onnx.helper.make_empty_tensor_value_info(name))
            existing.add(name)
    return probed, names


# ---------------------------------------------------------------------------------------------------------------------
# PyTorch reference values of our nodes


class _Recorder:
    def __init__(self):
        self.values: Dict[str, torch.Tensor] = {}
        self.handles = []

    def hook_output(self, module: nn.Module, key: str, transform: Callable = lambda t: t):
        def hook(_m, _inputs, output):
            self.values[key] = transform(output.detach().clone())
        self.handles.append(module.register_forward_hook(hook))

    def hook_input(self, module: nn.Module, key: str):
        def hook(_m, inputs):
            self.values[key] = inputs[0].detach().clone()
        self.handles.append(module.register_forward_pre_hook(hook))

    def remove(self):
        for h in self.handles:
            h.remove()


@torch.no_grad()
def search_reference(graph: nn.Module, search: np.ndarray, zf: np.ndarray) -> Dict[str, np.ndarray]:
    """Every node of our search graph, computed by the PyTorch SearchGraph in float32 (forward hooks; the BN+ReLU
    pairs of the bottlenecks are applied to the hooked BN outputs, because those ReLUs run in place)."""
    rec = _Recorder()
    modules = dict(graph.named_modules())
    relu = torch.relu
    backbone = "features.features"
    rec.hook_output(modules[f"{backbone}.bn1"], f"{backbone}.conv1", relu)
    rec.hook_output(modules[f"{backbone}.maxpool"], f"{backbone}.maxpool")
    for name, module in modules.items():
        if name.startswith(f"{backbone}.layer") and name.count(".") == 3:  # a Bottleneck
            rec.hook_output(module.bn1, f"{name}.conv1", relu)
            rec.hook_output(module.bn2, f"{name}.conv2", relu)
            rec.hook_output(module, f"{name}.conv3")
            if module.downsample is not None:
                rec.hook_output(module.downsample, f"{name}.downsample")
    rec.hook_output(modules["features.downsample"], "features.downsample")
    for block in ("rpn_model.cls", "rpn_model.loc", "mask_model.mask"):
        rec.hook_output(modules[f"{block}.conv_kernel"], f"{block}.conv_kernel")
        rec.hook_output(modules[f"{block}.conv_search"], f"{block}.conv_search")
        if block != "mask_model.mask":
            rec.hook_input(modules[f"{block}.head"], f"{block}.xcorr")
            rec.hook_output(modules[f"{block}.head.2"], f"{block}.head.0")
            rec.hook_output(modules[f"{block}.head.3"], f"{block}.head.3")
    try:
        outputs = graph(torch.from_numpy(search), torch.from_numpy(zf))
    finally:
        rec.remove()
    values = {k: v.numpy() for k, v in rec.values.items()}
    for name, value in zip(graph.output_names, outputs):
        values[name] = value.numpy()
    values["mask_model.mask.xcorr"] = values["corr"]
    return values


def refine_node_tensors(model: onnx.ModelProto, graph: nn.Module) -> Tuple[Dict[str, str], List[str]]:
    """`node_tensors` for the exported RefineGraph, plus our refine graph's merge (Add) and nearest-upsampling
    (Resize) nodes: `refine_model.merge<k>` is the Add of h<k>'s and v<k>'s outputs and `refine_model.up<size>` the
    Resize that reads it (merge2 -> up31, merge1 -> up61, merge0 -> up127); `mask` is post2's output."""
    result, _, unmatched = node_tensors(model, graph)
    g = _Graph(model)
    by_tensor = {t: n for n, t in result.items()}
    for node in g.nodes:
        if node.op_type != "Add":
            continue
        sources = {by_tensor.get(i, "") for i in node.input}
        for k, size in (("2", 31), ("1", 61), ("0", 127)):
            if {f"refine_model.h{k}.2", f"refine_model.v{k}.2"} == sources:
                result[f"refine_model.merge{k}"] = node.output[0]
                # (its other reader is the Shape that computes the Resize's sizes)
                resizes = [n for n in g.consumers.get(node.output[0], [])
                           if n.op_type == "Resize" and n.input[0] == node.output[0]]
                if len(resizes) == 1:
                    result[f"refine_model.up{size}"] = resizes[0].output[0]
    if "refine_model.post2" in result:
        result["mask"] = result["refine_model.post2"]
    return result, unmatched


REFINE_ORDER = ["refine_model.deconv", "refine_model.h2.0", "refine_model.h2.2", "refine_model.v2.0",
                "refine_model.v2.2", "refine_model.merge2", "refine_model.up31", "refine_model.post0",
                "refine_model.h1.0", "refine_model.h1.2", "refine_model.v1.0", "refine_model.v1.2",
                "refine_model.merge1", "refine_model.up61", "refine_model.post1", "refine_model.h0.0",
                "refine_model.h0.2", "refine_model.v0.0", "refine_model.v0.2", "refine_model.merge0",
                "refine_model.up127", "refine_model.post2"]


@torch.no_grad()
def refine_reference(graph: nn.Module, f0: np.ndarray, f1: np.ndarray, f2: np.ndarray, corr: np.ndarray,
                     pos: Tuple[int, int]) -> Dict[str, np.ndarray]:
    """Every node of our refine graph (convolutions, merges, upsamplings, mask) from the PyTorch RefineGraph in
    float32. The refine ReLUs are not in place, so the pair outputs are hooked directly."""
    rec = _Recorder()
    modules = dict(graph.named_modules())
    r = "refine_model"
    for pair in ("v0", "v1", "v2", "h0", "h1", "h2"):
        rec.hook_output(modules[f"{r}.{pair}.1"], f"{r}.{pair}.0")
        rec.hook_output(modules[f"{r}.{pair}.3"], f"{r}.{pair}.2")
    rec.hook_output(modules[f"{r}.deconv"], f"{r}.deconv")
    for k, size in (("0", 31), ("1", 61), ("2", 127)):
        rec.hook_input(modules[f"{r}.post{k}"], f"{r}.up{size}")
        rec.hook_output(modules[f"{r}.post{k}"], f"{r}.post{k}")
    try:
        mask = graph(*(torch.from_numpy(a) for a in (f0, f1, f2, corr)), torch.tensor(pos, dtype=torch.int64))
    finally:
        rec.remove()
    values = {k: v.numpy() for k, v in rec.values.items()}
    for k in ("0", "1", "2"):
        values[f"{r}.merge{k}"] = values[f"{r}.h{k}.2"] + values[f"{r}.v{k}.2"]
    values["mask"] = mask.numpy()
    return values
