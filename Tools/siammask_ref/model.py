"""The siammask_sharp network (ResNet-50 backbone + refine module) with the official module and key names.

Written from /work/shared/docs/siammask-spec.md sections 1 and 2. `SiamMaskSharp().state_dict()` holds exactly the
356 keys of the official checkpoints (registration order included) when the width multiplier is 1. A multiplier m
scales every channel count c to max(1, round_half_away_from_zero(c * m)); kernel sizes, strides, block counts,
the 5 anchors and the 63x63 mask head do not change.

The official top-level module also registers a parameter-free bilinear `upSample` used only in training; it adds no
state-dict key, so it is left out here.

Images are float32 NCHW, BGR, 0..255, no normalisation. Three graph wrappers expose the inference entry points:
`TemplateGraph`, `SearchGraph` and `RefineGraph`.
"""

import math
from dataclasses import dataclass
from typing import List, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

EXPANSION = 4
BLOCKS = (3, 4, 6)
ANCHORS = 5
MASK_HEAD_CHANNELS = 63 * 63


def scale_channels(count: int, multiplier: float) -> int:
    """max(1, round(count * multiplier)) with ties rounded away from zero (Swift `.toNearestOrAwayFromZero`)."""
    x = count * multiplier
    whole = math.floor(x)
    return max(1, int(whole + 1 if x - whole >= 0.5 else whole))


@dataclass(frozen=True)
class Widths:
    """Channel widths; `Widths.scaled(1.0)` is the official model."""

    stem: int
    planes: Tuple[int, int, int]
    adjust: int
    correlation: int
    refine_v0: Tuple[int, int]
    refine_v1: Tuple[int, int]
    refine_v2: Tuple[int, int]

    @staticmethod
    def scaled(multiplier: float) -> "Widths":
        def s(c: int) -> int:
            return scale_channels(c, multiplier)

        return Widths(stem=s(64), planes=(s(64), s(128), s(256)), adjust=s(256), correlation=s(256),
                      refine_v0=(s(16), s(4)), refine_v1=(s(64), s(16)), refine_v2=(s(128), s(32)))

    @property
    def stage_outputs(self) -> Tuple[int, int, int]:
        return tuple(p * EXPANSION for p in self.planes)


class Bottleneck(nn.Module):
    """1x1 -> 3x3 (carries the stride and dilation) -> 1x1 (x4), with a residual shortcut."""

    def __init__(self, inplanes: int, planes: int, stride: int = 1, dilation: int = 1, downsample: nn.Module = None):
        super().__init__()
        # Padding rule of the official code: 2 - stride, or the dilation when it is above 1.
        padding = dilation if dilation > 1 else 2 - stride
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=padding, dilation=dilation, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * EXPANSION, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * EXPANSION)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Main branch first, then the shortcut, as in the official code (this fixes the node order of exports).
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        shortcut = x if self.downsample is None else self.downsample(x)
        return self.relu(y + shortcut)


class ResNet(nn.Module):
    """Modified ResNet-50 up to layer3 (no layer4, avgpool or fc). Returns the taps (P0, P1, P2, P3)."""

    def __init__(self, widths: Widths):
        super().__init__()
        self.conv1 = nn.Conv2d(3, widths.stem, 7, stride=2, padding=0, bias=False)
        self.bn1 = nn.BatchNorm2d(widths.stem)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        p1, p2, p3 = widths.planes
        self.layer1 = self._make_layer(widths.stem, p1, BLOCKS[0], stride=1, dilation=1)
        self.layer2 = self._make_layer(p1 * EXPANSION, p2, BLOCKS[1], stride=2, dilation=1)
        self.layer3 = self._make_layer(p2 * EXPANSION, p3, BLOCKS[2], stride=1, dilation=2)

    @staticmethod
    def _make_layer(inplanes: int, planes: int, blocks: int, stride: int, dilation: int) -> nn.Sequential:
        outplanes = planes * EXPANSION
        if stride == 1 and dilation == 1:
            # layer1: plain 1x1 projection.
            downsample = nn.Sequential(nn.Conv2d(inplanes, outplanes, 1, bias=False), nn.BatchNorm2d(outplanes))
        else:
            # layer2 (stride 2, pad 0) and layer3 (stride 1, pad 1): 3x3 projections, not torchvision's 1x1.
            downsample = nn.Sequential(nn.Conv2d(inplanes, outplanes, 3, stride=stride, padding=2 - stride, bias=False),
                                       nn.BatchNorm2d(outplanes))
        # A dilated stage starts with dilation // 2 (so layer3.0 is undilated); the remaining blocks use the dilation.
        first_dilation = dilation // 2 if dilation > 1 else 1
        layers = [Bottleneck(inplanes, planes, stride, first_dilation, downsample)]
        layers += [Bottleneck(outplanes, planes, dilation=dilation) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def stem(self, x: torch.Tensor) -> torch.Tensor:
        """conv1, bn1, ReLU: the tap P0 (before the max-pool)."""
        return self.relu(self.bn1(self.conv1(x)))

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        p0 = self.stem(x)
        p1 = self.layer1(self.maxpool(p0))
        p2 = self.layer2(p1)
        p3 = self.layer3(p2)
        return p0, p1, p2, p3


class ResDownS(nn.Module):
    """Adjust layer: 1x1 conv + BN (no ReLU); maps narrower than 20 (the exemplar's 15) are cropped to [4:-4]."""

    def __init__(self, inplanes: int, outplanes: int):
        super().__init__()
        self.downsample = nn.Sequential(nn.Conv2d(inplanes, outplanes, 1, bias=False), nn.BatchNorm2d(outplanes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.downsample(x)
        if x.size(3) < 20:
            x = x[:, :, 4:-4, 4:-4]
        return x


class ResDown(nn.Module):
    """`features`: the backbone (`features.features`) followed by the adjust layer (`features.downsample`)."""

    def __init__(self, widths: Widths):
        super().__init__()
        self.features = ResNet(widths)
        self.downsample = ResDownS(widths.stage_outputs[2], widths.adjust)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(self.features(x)[3])


def depthwise_xcorr(search: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """Per-channel valid cross-correlation of `search` (B,C,H,W) with `kernel` (B,C,h,w), one kernel per sample."""
    b, c = kernel.shape[:2]
    x = search.reshape(1, b * c, search.size(2), search.size(3))
    k = kernel.reshape(b * c, 1, kernel.size(2), kernel.size(3))
    out = F.conv2d(x, k, groups=b * c)
    return out.reshape(b, c, out.size(2), out.size(3))


class DepthCorr(nn.Module):
    """conv_kernel / conv_search (3x3 pad 0, BN, ReLU), depth-wise correlation, head (1x1, BN, ReLU, 1x1 + bias)."""

    def __init__(self, in_channels: int, hidden: int, out_channels: int):
        super().__init__()
        self.conv_kernel = nn.Sequential(nn.Conv2d(in_channels, hidden, 3, bias=False), nn.BatchNorm2d(hidden),
                                         nn.ReLU(inplace=True))
        self.conv_search = nn.Sequential(nn.Conv2d(in_channels, hidden, 3, bias=False), nn.BatchNorm2d(hidden),
                                         nn.ReLU(inplace=True))
        self.head = nn.Sequential(nn.Conv2d(hidden, hidden, 1, bias=False), nn.BatchNorm2d(hidden),
                                  nn.ReLU(inplace=True), nn.Conv2d(hidden, out_channels, 1))

    def forward_corr(self, kernel: torch.Tensor, search: torch.Tensor) -> torch.Tensor:
        kernel = self.conv_kernel(kernel)
        return depthwise_xcorr(self.conv_search(search), kernel)

    def forward(self, kernel: torch.Tensor, search: torch.Tensor) -> torch.Tensor:
        return self.head(self.forward_corr(kernel, search))


class UP(nn.Module):
    """`rpn_model`: the classification (2 x 5 anchors) and box (4 x 5 anchors) correlation blocks."""

    def __init__(self, widths: Widths):
        super().__init__()
        self.cls = DepthCorr(widths.adjust, widths.correlation, 2 * ANCHORS)
        self.loc = DepthCorr(widths.adjust, widths.correlation, 4 * ANCHORS)

    def forward(self, zf: torch.Tensor, xf: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        return self.cls(zf, xf), self.loc(zf, xf)


class MaskCorr(nn.Module):
    """`mask_model`: one correlation block whose head predicts a 63x63 mask per cell (unused with refine)."""

    def __init__(self, widths: Widths):
        super().__init__()
        self.mask = DepthCorr(widths.adjust, widths.correlation, MASK_HEAD_CHANNELS)

    def forward(self, zf: torch.Tensor, xf: torch.Tensor) -> torch.Tensor:
        return self.mask(zf, xf)


def _conv_relu_pair(in_channels: int, mid: int, out_channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, mid, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(mid, out_channels, 3, padding=1), nn.ReLU())


Position = Union[Tuple[int, int], torch.Tensor]


class Refine(nn.Module):
    """`refine_model`: fuses the search taps P0..P2 with one correlation cell into a 127x127 mask (logits)."""

    def __init__(self, widths: Widths):
        super().__init__()
        c0, c1, c2 = widths.stem, widths.stage_outputs[0], widths.stage_outputs[1]
        (v0a, v0b), (v1a, v1b), (v2a, v2b) = widths.refine_v0, widths.refine_v1, widths.refine_v2
        self.v0 = _conv_relu_pair(c0, v0a, v0b)
        self.v1 = _conv_relu_pair(c1, v1a, v1b)
        self.v2 = _conv_relu_pair(c2, v2a, v2b)
        self.h2 = _conv_relu_pair(v2b, v2b, v2b)
        self.h1 = _conv_relu_pair(v1b, v1b, v1b)
        self.h0 = _conv_relu_pair(v0b, v0b, v0b)
        self.deconv = nn.ConvTranspose2d(widths.correlation, v2b, 15, stride=15)
        self.post0 = nn.Conv2d(v2b, v1b, 3, padding=1)
        self.post1 = nn.Conv2d(v1b, v0b, 3, padding=1)
        self.post2 = nn.Conv2d(v0b, 1, 3, padding=1)

    @staticmethod
    def _window(feature: torch.Tensor, pad: int, row, col, step: int, size: int) -> torch.Tensor:
        """Zero-pad by `pad` on every side, then take the size x size window at (step*row, step*col)."""
        padded = F.pad(feature, [pad, pad, pad, pad])
        return padded.narrow(2, step * row, size).narrow(3, step * col, size)

    def forward(self, f0: torch.Tensor, f1: torch.Tensor, f2: torch.Tensor, corr: torch.Tensor,
                pos: Position) -> torch.Tensor:
        """`pos` = (row, column) of the chosen cell in the 25x25 map: a pair of ints or an int64 tensor of shape [2].
        Returns logits of shape [1, 1, 127, 127]."""
        row, col = pos[0], pos[1]
        q0 = self._window(f0, 16, row, col, 4, 61)
        q1 = self._window(f1, 8, row, col, 2, 31)
        q2 = self._window(f2, 4, row, col, 1, 15)
        q3 = corr.narrow(2, row, 1).narrow(3, col, 1)
        u = self.deconv(q3)
        u = self.post0(F.interpolate(self.h2(u) + self.v2(q2), size=(31, 31), mode="nearest"))
        u = self.post1(F.interpolate(self.h1(u) + self.v1(q1), size=(61, 61), mode="nearest"))
        return self.post2(F.interpolate(self.h0(u) + self.v0(q0), size=(127, 127), mode="nearest"))


class SiamMaskSharp(nn.Module):
    """Top-level module (the official `Custom`): children features, rpn_model, mask_model, refine_model."""

    def __init__(self, width_multiplier: float = 1.0):
        super().__init__()
        self.widths = Widths.scaled(width_multiplier)
        self.features = ResDown(self.widths)
        self.rpn_model = UP(self.widths)
        self.mask_model = MaskCorr(self.widths)
        self.refine_model = Refine(self.widths)

    def forward(self, template: torch.Tensor, search: torch.Tensor) -> dict:
        """Every network output for (exemplar crop, search crop) pairs, the unused 3969-channel mask head included."""
        zf = self.features(template)
        f0, f1, f2, p3 = self.features.features(search)
        xf = self.features.downsample(p3)
        cls, loc = self.rpn_model(zf, xf)
        corr = self.mask_model.mask.forward_corr(zf, xf)
        return {"zf": zf, "cls": cls, "loc": loc, "corr": corr, "mask_head": self.mask_model.mask.head(corr),
                "f0": f0, "f1": f1, "f2": f2}


class TemplateGraph(nn.Module):
    """template [1,3,127,127] -> zf [1,adjust,7,7]. Holds `features` under its official name."""

    input_names = ["template"]
    output_names = ["zf"]

    def __init__(self, model: SiamMaskSharp):
        super().__init__()
        self.features = model.features

    def forward(self, template: torch.Tensor) -> torch.Tensor:
        return self.features(template)


class SearchGraph(nn.Module):
    """search [1,3,255,255], zf -> cls, loc, corr (mask-branch correlation before its head), f0, f1, f2."""

    input_names = ["search", "zf"]
    output_names = ["cls", "loc", "corr", "f0", "f1", "f2"]

    def __init__(self, model: SiamMaskSharp):
        super().__init__()
        self.features = model.features
        self.rpn_model = model.rpn_model
        self.mask_model = model.mask_model

    def forward(self, search: torch.Tensor, zf: torch.Tensor):
        # Called through the children (not ResDown.forward) because the taps are needed too.
        f0, f1, f2, p3 = self.features.features(search)
        xf = self.features.downsample(p3)
        cls, loc = self.rpn_model(zf, xf)
        corr = self.mask_model.mask.forward_corr(zf, xf)
        return cls, loc, corr, f0, f1, f2


class RefineGraph(nn.Module):
    """f0, f1, f2, corr, pos (int64 [2] = row, column) -> mask logits [1,1,127,127]."""

    input_names = ["f0", "f1", "f2", "corr", "pos"]
    output_names = ["mask"]

    def __init__(self, model: SiamMaskSharp):
        super().__init__()
        self.refine_model = model.refine_model

    def forward(self, f0, f1, f2, corr, pos: torch.Tensor) -> torch.Tensor:
        return self.refine_model(f0, f1, f2, corr, pos)


class TrackingFrameGraph(nn.Module):
    """The tracker's per-frame network: search [1,3,255,255] and the three template-side correlation kernels
    (kernel_cls, kernel_loc, kernel_mask = conv_kernel(zf) of rpn_model.cls, rpn_model.loc, mask_model.mask, computed
    once per target, see `template_kernels`) -> cls, loc and the refine mask logits at the fixed cell `pos`.
    Computes exactly what SearchGraph (with zf) followed by RefineGraph at `pos` compute; only the conv_kernel
    branches are moved out. Used for exports to other runtimes (Tools/bench_peers.py)."""

    input_names = ["search", "kernel_cls", "kernel_loc", "kernel_mask"]
    output_names = ["cls", "loc", "mask"]

    def __init__(self, model: SiamMaskSharp, pos: Tuple[int, int] = (12, 12)):
        super().__init__()
        self.features = model.features
        self.rpn_model = model.rpn_model
        self.mask_model = model.mask_model
        self.refine_model = model.refine_model
        self.pos = (int(pos[0]), int(pos[1]))

    def forward(self, search, kernel_cls, kernel_loc, kernel_mask):
        f0, f1, f2, p3 = self.features.features(search)
        xf = self.features.downsample(p3)
        cls_block, loc_block = self.rpn_model.cls, self.rpn_model.loc
        cls = cls_block.head(depthwise_xcorr(cls_block.conv_search(xf), kernel_cls))
        loc = loc_block.head(depthwise_xcorr(loc_block.conv_search(xf), kernel_loc))
        corr = depthwise_xcorr(self.mask_model.mask.conv_search(xf), kernel_mask)
        mask = self.refine_model(f0, f1, f2, corr, self.pos)
        return cls, loc, mask


def template_kernels(model: SiamMaskSharp, zf: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(kernel_cls, kernel_loc, kernel_mask) = each DepthCorr block's conv_kernel(zf), the inputs of
    `TrackingFrameGraph` (each [1, correlation, 5, 5] for a 7x7 zf)."""
    return (model.rpn_model.cls.conv_kernel(zf), model.rpn_model.loc.conv_kernel(zf),
            model.mask_model.mask.conv_kernel(zf))


def child_parameter_counts(model: SiamMaskSharp) -> List[Tuple[str, int]]:
    """(child name, parameter count) for each top-level child, in registration order."""
    return [(name, sum(p.numel() for p in child.parameters())) for name, child in model.named_children()]


def batch_norms(model: nn.Module) -> Sequence[Tuple[str, nn.BatchNorm2d]]:
    """Every BatchNorm2d with its module path, in registration order."""
    return [(name, m) for name, m in model.named_modules() if isinstance(m, nn.BatchNorm2d)]
