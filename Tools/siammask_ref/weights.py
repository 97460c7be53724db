"""Realistic stand-in weights: seeded random initialisation, then batch-norm statistics measured on real crops.

No trained checkpoint is available, so the reference uses random weights whose activations look like those of a
trained network: every BatchNorm's running_mean / running_var are the statistics of its real input (exemplar and
search crops cut with the official crop from real footage), measured layer after layer in eval mode so that each
layer sees inputs already normalised by the calibrated layers before it.
"""

import math
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np
import torch
from torch import nn

from .model import DepthCorr, SiamMaskSharp, batch_norms, depthwise_xcorr

# A plausible training-step count for every BN's num_batches_tracked (the checkpoints are trained networks).
NUM_BATCHES_TRACKED = 120000

# Convolutions whose output is not followed by a ReLU get a linear-gain initialisation.
_LINEAR_OUTPUT_SUFFIXES = ("head.3", "deconv", "post0", "post1", "post2")


def _fan_in(module: nn.Module) -> int:
    if isinstance(module, nn.ConvTranspose2d):
        # Stride equals kernel size here, so each output pixel sees one input pixel of every input channel.
        return module.in_channels // module.groups
    return module.weight[0].numel()


def init_weights(model: SiamMaskSharp, seed: int) -> None:
    """Kaiming-normal convolution weights (gain sqrt(2) before a ReLU, 1 otherwise), biases U(-0.1, 0.1),
    BN gamma ~ N(1, 0.1), beta ~ N(0, 0.1), running statistics reset. Drawn with numpy's PCG64 in registration
    order, so the draws are identical on every machine."""
    rng = np.random.default_rng(seed)

    def draw(shape, scale, loc=0.0) -> torch.Tensor:
        return torch.from_numpy((loc + scale * rng.standard_normal(shape)).astype(np.float32))

    with torch.no_grad():
        for name, module in model.named_modules():
            if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
                gain = 1.0 if name.endswith(_LINEAR_OUTPUT_SUFFIXES) else math.sqrt(2.0)
                module.weight.copy_(draw(module.weight.shape, gain / math.sqrt(_fan_in(module))))
                if module.bias is not None:
                    module.bias.copy_(torch.from_numpy(rng.uniform(-0.1, 0.1, module.bias.shape).astype(np.float32)))
            elif isinstance(module, nn.BatchNorm2d):
                module.weight.copy_(draw(module.weight.shape, 0.1, 1.0))
                module.bias.copy_(draw(module.bias.shape, 0.1))
                module.reset_running_stats()


class _Measured(Exception):
    """Raised by the measuring hook once a BN's input has been seen: the rest of the unit is not needed."""


def _measure(unit: Callable, bn: nn.BatchNorm2d, inputs: Sequence) -> None:
    """Set bn's running statistics to the per-channel mean and (population) variance of its input over every call
    of unit(*args) for args in inputs."""
    total = torch.zeros(bn.num_features, dtype=torch.float64)
    total_sq = torch.zeros_like(total)
    count = 0

    def hook(_module, args):
        nonlocal total, total_sq, count
        x = args[0].double()
        total += x.sum(dim=(0, 2, 3))
        total_sq += (x * x).sum(dim=(0, 2, 3))
        count += x.numel() // x.size(1)
        raise _Measured

    handle = bn.register_forward_pre_hook(hook)
    try:
        for args in inputs:
            try:
                unit(*args)
            except _Measured:
                pass
    finally:
        handle.remove()
    mean = total / count
    var = (total_sq / count - mean * mean).clamp_min(0.0)
    bn.running_mean.copy_(mean.float())
    bn.running_var.copy_(var.float())
    bn.num_batches_tracked.fill_(NUM_BATCHES_TRACKED)


def _calibrate_unit(bns: Sequence[nn.BatchNorm2d], unit: Callable, inputs: Sequence) -> List:
    """Calibrate `bns` (the BNs inside `unit`, listed in an order that respects the data flow) one after the other,
    then return the unit's outputs for each argument tuple in `inputs`."""
    for bn in bns:
        _measure(unit, bn, inputs)
    return [unit(*args) for args in inputs]


def _calibrate_module(module: nn.Module, inputs: Sequence) -> List:
    """_calibrate_unit over every BN of `module` in registration order (a valid data-flow order in this network)."""
    return _calibrate_unit([bn for _, bn in batch_norms(module)], module, inputs)


def _calibrate_depth_corr(block: DepthCorr, zf: torch.Tensor, xf: torch.Tensor) -> None:
    (kernel,) = _calibrate_module(block.conv_kernel, [(zf,)])
    (search,) = _calibrate_module(block.conv_search, [(xf,)])
    _calibrate_module(block.head, [(depthwise_xcorr(search, kernel),)])


@torch.no_grad()
def calibrate_bn(model: SiamMaskSharp, exemplars: np.ndarray, searches: np.ndarray) -> Dict[str, Tuple[float, float]]:
    """Measure every BN's running statistics on real crops, sequentially, in eval mode.

    exemplars [N,3,127,127] and searches [N,3,255,255] are paired (exemplar i and search i come from the same
    target), float32 BGR 0..255. Backbone and adjust BNs see both sets; each correlation block's conv_kernel BN sees
    the exemplar features, conv_search the search features, and head the correlation of each pair.
    Returns, per output of SiamMaskSharp.forward, (mean |x|, max |x|) on the calibration set, for reporting."""
    model.eval()
    resnet = model.features.features
    streams = [(torch.from_numpy(exemplars),), (torch.from_numpy(searches),)]
    streams = [(x,) for x in _calibrate_unit([resnet.bn1], resnet.stem, streams)]
    streams = [(resnet.maxpool(x),) for (x,) in streams]
    for layer in (resnet.layer1, resnet.layer2, resnet.layer3):
        for block in layer:
            streams = [(x,) for x in _calibrate_module(block, streams)]
    zf, xf = _calibrate_module(model.features.downsample, streams)
    for block in (model.rpn_model.cls, model.rpn_model.loc, model.mask_model.mask):
        _calibrate_depth_corr(block, zf, xf)
    outputs = model(torch.from_numpy(exemplars), torch.from_numpy(searches))
    return {name: (value.abs().mean().item(), value.abs().max().item()) for name, value in outputs.items()}
