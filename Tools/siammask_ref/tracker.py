"""The official siammask_sharp tracking loop (`siamese_init` / `siamese_track` of tools/test.py, with --mask --refine),
written from /work/shared/docs/siammask-spec.md sections 3-5. This is the bit-faithful baseline the Swift port is
measured against, so every statement keeps the official operation order and numpy dtypes.

Dtypes (numpy 1.24 value-based casting; checked by Tools/test_tracker_ref.py, and the Swift port must copy them):
- Tracker state pos / size, avg_chans, s_x, scale_x, crop box, window, back-projection matrix: float64.
- Network outputs are float32 tensors; `.numpy()` keeps float32. fg (softmax) is float32.
- Anchor table: float32 (integer values). Decoded boxes: float32 (float32 delta * float32 anchor + float32 anchor;
  exp in float32). Note numpy's float32 exp is a SIMD routine that is up to 2 ulp off the correctly rounded value.
- An array op with a numpy float64 *scalar* or a Python float stays float32 (the scalar is first cast to float32):
  s_c, r_c, penalty, penalty * fg, and pred_in_crop = delta[:, best] / scale_x are float32.
- pscore = (penalty * fg) [f32] * (1 - wi) [cast to f32] + window [f64] * wi  ->  float64 (array + array upcasts).
- Scalar-only ops promote normally: lr = (penalty[best] * fg[best]) [f32] * hp.lr -> float64;
  pos + pred (f32) -> float64; size * (1 - lr) + pred * lr -> float64.
- mask127 = sigmoid(logits), float32; warpAffine keeps float32; `mask > seg_thr` compares in float32
  (seg_thr is cast to float32: float32(0.3) > 0.3, so a value equal to float32(0.3) is NOT foreground).
Rounding: Python `round` (half to even) for s_z, round(S) and the crop origin; `int()` truncation for the anchor
shapes and for avg_chans -> uint8 padding colour.
"""

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Optional, Sequence, Tuple

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from .crop import CONTEXT_AMOUNT, EXEMPLAR_SIZE, INSTANCE_SIZE, subwindow
from .model import RefineGraph, SearchGraph, SiamMaskSharp, TemplateGraph, Widths

# Anchor / map settings (identical in every siammask_sharp config, spec section 4).
TOTAL_STRIDE = 8
RATIOS = (0.33, 0.5, 1, 2, 3)
SCALES = (8,)
BASE_SIZE = 8
ANCHOR_NUM = len(RATIOS) * len(SCALES)
SCORE_SIZE = (INSTANCE_SIZE - EXEMPLAR_SIZE) // TOTAL_STRIDE + 1 + BASE_SIZE  # 25


@dataclass(frozen=True)
class TrackerHP:
    """The hp block of a tracker config (spec 5.1). out_size must be 127 with refine."""

    penalty_k: float
    window_influence: float
    lr: float
    seg_thr: float
    out_size: int = 127


VOT = TrackerHP(penalty_k=0.04, window_influence=0.42, lr=0.25, seg_thr=0.30)      # config_vot.json
DAVIS = TrackerHP(penalty_k=0.04, window_influence=0.40, lr=1.0, seg_thr=0.35)     # config_davis.json (demo)
PRESETS = {"vot": VOT, "davis": DAVIS}


# ---------------------------------------------------------------------------------------------------------------
# Anchors, window, init rules
# ---------------------------------------------------------------------------------------------------------------

def anchor_shapes() -> np.ndarray:
    """(5, 2) float32 anchor (w, h) in crop pixels: ws = int(sqrt(64 / r)), hs = int(ws * r) (truncation), x scale 8.
    = (104, 32), (88, 40), (64, 64), (40, 80), (32, 96)."""
    size = TOTAL_STRIDE * TOTAL_STRIDE
    shapes = []
    for r in RATIOS:
        ws = int(math.sqrt(size * 1. / r))
        hs = int(ws * r)
        for s in SCALES:
            shapes.append((ws * s, hs * s))
    return np.array(shapes, dtype=np.float32)


def generate_anchors() -> np.ndarray:
    """(3125, 4) float32 rows (cx, cy, w, h), row n = a*625 + i*25 + j: centre (8(j-12), 8(i-12)) relative to the
    centre of the 255 crop, shape of anchor a. Built as the official Anchors.generate_anchors + generate_anchor."""
    shapes = anchor_shapes()
    corners = np.zeros((ANCHOR_NUM, 4), dtype=np.float32)  # official: [-w/2, -h/2, w/2, h/2] with offset 0
    for k, (w, h) in enumerate(shapes):
        corners[k] = [-w * 0.5, -h * 0.5, w * 0.5, h * 0.5]
    x1, y1, x2, y2 = corners[:, 0], corners[:, 1], corners[:, 2], corners[:, 3]
    anchor = np.stack([(x1 + x2) * 0.5, (y1 + y2) * 0.5, x2 - x1, y2 - y1], 1)  # float32
    anchor = np.tile(anchor, SCORE_SIZE * SCORE_SIZE).reshape((-1, 4))        # anchor-major
    ori = -(SCORE_SIZE // 2) * TOTAL_STRIDE
    xx, yy = np.meshgrid([ori + TOTAL_STRIDE * dx for dx in range(SCORE_SIZE)],
                         [ori + TOTAL_STRIDE * dy for dy in range(SCORE_SIZE)])
    xx = np.tile(xx.flatten(), (ANCHOR_NUM, 1)).flatten()
    yy = np.tile(yy.flatten(), (ANCHOR_NUM, 1)).flatten()
    anchor[:, 0], anchor[:, 1] = xx.astype(np.float32), yy.astype(np.float32)
    return anchor


def cosine_window() -> np.ndarray:
    """(3125,) float64: outer(hanning(25), hanning(25)) flattened (row-major), tiled 5 times (anchor-major).
    numpy's hanning(M) is 0.5 + 0.5*cos(pi*n/(M-1)) for n = 1-M, 3-M, ..., M-1 (exactly 0 at both ends)."""
    window = np.outer(np.hanning(SCORE_SIZE), np.hanning(SCORE_SIZE))
    return np.tile(window.flatten(), ANCHOR_NUM)


def get_axis_aligned_bbox(region: Sequence[float]) -> Tuple[float, float, float, float]:
    """The official VOT init rule (tools/test.py). 8 values (x1,y1,...,x4,y4): centre = vertex mean, w, h = the
    axis-aligned extent scaled to the area |v1-v2|*|v2-v3|, plus 1. 4 values: (x, y, w, h) -> centre x + w/2 (no
    1-based correction). float64 throughout; mean = ((x1+x2)+x3)+x4 then /4 (numpy's order for 4 elements);
    np.linalg.norm of a 2-vector equals sqrt(dx*dx + dy*dy) here (not math.hypot, which can differ by an ulp)."""
    region = np.asarray(region, dtype=np.float64)
    if region.size == 8:
        cx = np.mean(region[0::2])
        cy = np.mean(region[1::2])
        x1 = min(region[0::2])
        x2 = max(region[0::2])
        y1 = min(region[1::2])
        y2 = max(region[1::2])
        a1 = np.linalg.norm(region[0:2] - region[2:4]) * np.linalg.norm(region[2:4] - region[4:6])
        a2 = (x2 - x1) * (y2 - y1)
        s = np.sqrt(a1 / a2)
        w = s * (x2 - x1) + 1
        h = s * (y2 - y1) + 1
    elif region.size == 4:
        x, y, w, h = region
        cx = x + w / 2
        cy = y + h / 2
    else:
        raise ValueError(f"a region has 4 or 8 values, got {region.size}")
    return float(cx), float(cy), float(w), float(h)


def box_target(box: Sequence[float]) -> Tuple[float, float, float, float]:
    """Demo ROI (x, y, w, h) -> (x + w/2, y + h/2, w, h)."""
    x, y, w, h = (float(v) for v in box)
    return x + w / 2, y + h / 2, w, h


def mask_target(mask: np.ndarray) -> Tuple[float, float, float, float]:
    """DAVIS / YouTube-VOS init: cv2.boundingRect of the non-zero mask pixels -> (x + w/2, y + h/2, w, h)."""
    x, y, w, h = cv2.boundingRect((np.asarray(mask) > 0).astype(np.uint8))
    if w == 0 or h == 0:
        raise ValueError("empty init mask")
    return x + w / 2, y + h / 2, float(w), float(h)


# ---------------------------------------------------------------------------------------------------------------
# Mask back-projection and polygon
# ---------------------------------------------------------------------------------------------------------------

def backprojection_matrix(crop_box: Sequence[float], row: int, col: int, image_w: int, image_h: int,
                          out_size: int = 127) -> np.ndarray:
    """The official two-step M (float64 2x3) that maps mask pixel (u, v) to image (X, Y):
    X = (W-1)/W * (sub.x + u*sub.w/out), Y = (H-1)/H * (sub.y + v*sub.h/out), with
    sub = (box.x + (col-4)*8*k, box.y + (row-4)*8*k, 127k, 127k), k = box.side/255."""
    s = crop_box[2] / INSTANCE_SIZE
    sub_box = [crop_box[0] + (col - BASE_SIZE / 2) * TOTAL_STRIDE * s,
               crop_box[1] + (row - BASE_SIZE / 2) * TOTAL_STRIDE * s,
               s * EXEMPLAR_SIZE, s * EXEMPLAR_SIZE]
    s = out_size / sub_box[2]
    back_box = [-sub_box[0] * s, -sub_box[1] * s, image_w * s, image_h * s]
    # crop_back(image, bbox=back_box, out_sz=(W, H)):
    a = (image_w - 1) / back_box[2]
    b = (image_h - 1) / back_box[3]
    c = -a * back_box[0]
    d = -b * back_box[1]
    return np.array([[a, 0, c], [0, b, d]], dtype=np.float64)


def back_project(mask: np.ndarray, matrix: np.ndarray, image_w: int, image_h: int) -> np.ndarray:
    """cv2.warpAffine(mask, M, (W, H), INTER_LINEAR, BORDER_CONSTANT, borderValue=-1): float32 HxW."""
    return cv2.warpAffine(mask, matrix, (image_w, image_h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=-1)


def warp_affine_emulated(src: np.ndarray, matrix: np.ndarray, out_w: int, out_h: int,
                         border: float = -1.0) -> np.ndarray:
    """Numpy re-implementation of what OpenCV 4.6 (no IPP) does in `back_project` for a float32 single-channel
    source, written down for the Swift port (Tools/test_tracker_ref.py checks it is bit-identical to cv2):
    1. invert M in float64: D = 1/(a*e - b*d'); A11 = e*D, A22 = a*D, A12 = -b*D, A21 = -d'*D,
       b1 = -A11*c - A12*f, b2 = -A21*c - A22*f  (M = [[a, b, c], [d', e, f]]).
    2. fixed point with AB_BITS = 10, INTER_BITS = 5 (rint = round half to even, like cvRound):
       adelta[x] = rint(A11*x*1024), bdelta[x] = rint(A21*x*1024),
       X0 = rint((A12*y + b1)*1024) + 16, Y0 = rint((A22*y + b2)*1024) + 16,
       X = (X0 + adelta[x]) >> 5, Y = (Y0 + bdelta[x]) >> 5 (arithmetic shifts),
       sx = X >> 5, sy = Y >> 5 (saturated to int16), fx = (X & 31)/32, fy = (Y & 31)/32.
    3. float32 weights w = ((1-fy)(1-fx), (1-fy)fx, fy(1-fx), fy*fx) (exact), float32 sum in the order
       ((v00*w0 + v01*w1) + v10*w2) + v11*w3, no FMA; a neighbour outside the source reads `border`."""
    src = np.asarray(src, dtype=np.float32)
    (a, b, c), (d, e, f) = np.asarray(matrix, dtype=np.float64)
    det = a * e - b * d
    det = 1. / det if det != 0 else 0.
    a11, a22 = e * det, a * det
    a12, a21 = b * -det, d * -det
    b1 = -a11 * c - a12 * f
    b2 = -a21 * c - a22 * f
    xs = np.arange(out_w, dtype=np.float64)
    ys = np.arange(out_h, dtype=np.float64)[:, None]
    adelta = np.rint(a11 * xs * 1024).astype(np.int64)
    bdelta = np.rint(a21 * xs * 1024).astype(np.int64)
    x0 = np.rint((a12 * ys + b1) * 1024).astype(np.int64) + 16
    y0 = np.rint((a22 * ys + b2) * 1024).astype(np.int64) + 16
    big_x = (x0 + adelta) >> 5
    big_y = (y0 + bdelta) >> 5
    sx = np.clip(big_x >> 5, -32768, 32767)
    sy = np.clip(big_y >> 5, -32768, 32767)
    fx = (big_x & 31).astype(np.float32) * np.float32(1 / 32)
    fy = (big_y & 31).astype(np.float32) * np.float32(1 / 32)
    one = np.float32(1)
    weights = [(one - fy) * (one - fx), (one - fy) * fx, fy * (one - fx), fy * fx]
    rows, cols = src.shape
    total = None
    for (dy, dx), weight in zip([(0, 0), (0, 1), (1, 0), (1, 1)], weights):
        px, py = sx + dx, sy + dy
        inside = (px >= 0) & (px < cols) & (py >= 0) & (py < rows)
        value = np.where(inside, src[np.clip(py, 0, rows - 1), np.clip(px, 0, cols - 1)], np.float32(border))
        term = (value * weight).astype(np.float32)
        total = term if total is None else (total + term).astype(np.float32)
    return total


def mask_polygon(binary: np.ndarray, pos: Sequence[float], size: Sequence[float]) -> Tuple[np.ndarray, bool]:
    """(4x2 polygon, from_mask). boxPoints(minAreaRect(all points of the largest external contour)) (float32) when
    that contour's contourArea > 100 (first maximum if several tie), otherwise the axis-aligned box of the (not yet
    clamped) pos / size (float64, official cxy_wh_2_rect corner order)."""
    contours = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)[-2]
    areas = [cv2.contourArea(contour) for contour in contours]
    if len(contours) != 0 and np.max(areas) > 100:
        contour = contours[int(np.argmax(areas))]
        return cv2.boxPoints(cv2.minAreaRect(contour.reshape(-1, 2))), True
    location = np.array([pos[0] - size[0] / 2, pos[1] - size[1] / 2, size[0], size[1]])
    return np.array([[location[0], location[1]],
                     [location[0] + location[2], location[1]],
                     [location[0] + location[2], location[1] + location[3]],
                     [location[0], location[1] + location[3]]]), False


# ---------------------------------------------------------------------------------------------------------------
# Model loading (any .pth shape of checkpoint.py; widths inferred from the tensor shapes)
# ---------------------------------------------------------------------------------------------------------------

def read_state_dict(path: Path) -> Dict[str, torch.Tensor]:
    """The official load_pretrain resolution: a wrapper's 'state_dict' entry or the dict itself, `module.` stripped.
    Legacy / zip, CPU- or CUDA-tagged files all load with map_location='cpu'."""
    loaded = torch.load(str(path), map_location="cpu")
    state_dict = loaded["state_dict"] if isinstance(loaded, dict) and "state_dict" in loaded else loaded
    return {(k[len("module."):] if k.startswith("module.") else k): v for k, v in state_dict.items()}


def state_dict_widths(state_dict: Dict[str, torch.Tensor]) -> Widths:
    def out(key: str) -> int:
        return int(state_dict[key].shape[0])

    layers = "features.features.layer{}.0.conv1.weight"
    return Widths(stem=out("features.features.conv1.weight"),
                  planes=tuple(out(layers.format(i)) for i in (1, 2, 3)),
                  adjust=out("features.downsample.downsample.0.weight"),
                  correlation=out("rpn_model.cls.conv_kernel.0.weight"),
                  refine_v0=(out("refine_model.v0.0.weight"), out("refine_model.v0.2.weight")),
                  refine_v1=(out("refine_model.v1.0.weight"), out("refine_model.v1.2.weight")),
                  refine_v2=(out("refine_model.v2.0.weight"), out("refine_model.v2.2.weight")))


def infer_width_multiplier(state_dict: Dict[str, torch.Tensor]) -> float:
    """A multiplier m with Widths.scaled(m) equal to the widths in the state dict (candidates c/base first, the
    stem's ratio before the others, then (c - 0.5)/base for the rounding ties)."""
    target = state_dict_widths(state_dict)
    full = Widths.scaled(1.0)
    pairs = [(target.stem, full.stem)] + list(zip(target.planes, full.planes)) + \
        [(target.adjust, full.adjust), (target.correlation, full.correlation)] + \
        list(zip(target.refine_v0 + target.refine_v1 + target.refine_v2,
                 full.refine_v0 + full.refine_v1 + full.refine_v2))
    candidates = [c / base for c, base in pairs] + [(c - 0.5) / base for c, base in pairs if c > 1]
    for m in dict.fromkeys(candidates):  # ordered, without repeats
        if Widths.scaled(m) == target:
            return m
    raise ValueError(f"no width multiplier gives the state dict's widths {target}")


def load_model(path: Path) -> Tuple[SiamMaskSharp, float]:
    """(model in eval mode, width multiplier) from a .pth; strict load (all 356 keys must be there)."""
    state_dict = read_state_dict(path)
    multiplier = infer_width_multiplier(state_dict)
    model = SiamMaskSharp(multiplier)
    model.load_state_dict(state_dict, strict=True)
    return model.eval(), multiplier


# ---------------------------------------------------------------------------------------------------------------
# The tracker
# ---------------------------------------------------------------------------------------------------------------

class SiamMaskTracker:
    """Single-target siammask_sharp tracker (official siamese_init / siamese_track with mask and refine on).

    tracker = SiamMaskTracker(model, VOT); tracker.init(first_bgr_frame, (cx, cy), (w, h))   # or init_box /
    init_polygon / init_mask; then state = tracker.track(next_bgr_frame) per frame. Frames are BGR uint8 HxWx3
    (cv2.imread)."""

    def __init__(self, model: SiamMaskSharp, hp: TrackerHP = VOT):
        if hp.out_size != 127:
            raise ValueError("the refine tracker needs out_size 127")
        self.model = model.eval()
        self.hp = hp
        self.template_graph = TemplateGraph(model)
        self.search_graph = SearchGraph(model)
        self.refine_graph = RefineGraph(model)
        self.anchor = generate_anchors()
        self.window = cosine_window()
        self.zf = None
        self.frame = 0

    # -- init --------------------------------------------------------------------------------------------------

    @torch.no_grad()
    def init(self, image: np.ndarray, pos: Sequence[float], size: Sequence[float]) -> Dict[str, object]:
        """siamese_init: avg_chans (float64 BGR mean of this frame), s_z = round(sqrt((w+p)(h+p))), exemplar crop
        resized to 127, zf. Returns the init record (frame 0, the exemplar crop and s_z)."""
        self.image_h, self.image_w = image.shape[:2]
        self.avg_chans = np.mean(image, axis=(0, 1))  # float64, exact sum of uint8 / count
        self.pos = np.array([float(pos[0]), float(pos[1])], dtype=np.float64)
        self.size = np.array([float(size[0]), float(size[1])], dtype=np.float64)
        wc_z = self.size[0] + CONTEXT_AMOUNT * sum(self.size)
        hc_z = self.size[1] + CONTEXT_AMOUNT * sum(self.size)
        s_z = round(np.sqrt(wc_z * hc_z))  # Python round on np.float64: half to even, returns int
        z_crop = subwindow(image, self.pos, EXEMPLAR_SIZE, s_z, self.avg_chans)
        self.zf = self.template_graph(torch.from_numpy(z_crop))
        self.frame = 0
        return {"frame": 0, "pos": self.pos.copy(), "size": self.size.copy(), "s_z": s_z, "exemplar": z_crop}

    def init_box(self, image: np.ndarray, box: Sequence[float]) -> Dict[str, object]:
        cx, cy, w, h = box_target(box)
        return self.init(image, (cx, cy), (w, h))

    def init_polygon(self, image: np.ndarray, region: Sequence[float]) -> Dict[str, object]:
        cx, cy, w, h = get_axis_aligned_bbox(region)
        return self.init(image, (cx, cy), (w, h))

    def init_mask(self, image: np.ndarray, mask: np.ndarray) -> Dict[str, object]:
        cx, cy, w, h = mask_target(mask)
        return self.init(image, (cx, cy), (w, h))

    # -- track -------------------------------------------------------------------------------------------------

    @torch.no_grad()
    def track(self, image: np.ndarray, keep_float_mask: bool = False, debug: bool = False) -> Dict[str, object]:
        """siamese_track on the next frame. Returns frame, pos (cx, cy), size (w, h) (both clamped, the new state),
        score (= fg[best], float32 value), best (flat index a*625 + i*25 + j), best_pscore, second_pscore,
        polygon (4x2), polygon_from_mask, mask (HxW uint8 0/1), crop_box (x, y, side, side), and with
        keep_float_mask the HxW float32 probability map (-1 outside the window); with debug also the search crop,
        s_x, scale_x, fg, the decoded boxes, penalty, pscore, mask127 and the affine matrix."""
        if self.zf is None:
            raise RuntimeError("init first")
        if image.shape[:2] != (self.image_h, self.image_w):
            raise ValueError("frame size differs from the init frame")
        hp = self.hp
        self.frame += 1
        target_pos, target_sz = self.pos, self.size

        # Search region (float64). The official names wc_x = h + p, hc_x = w + p are swapped; same product.
        wc_x = target_sz[1] + CONTEXT_AMOUNT * sum(target_sz)
        hc_x = target_sz[0] + CONTEXT_AMOUNT * sum(target_sz)
        s_x = np.sqrt(wc_x * hc_x)
        scale_x = EXEMPLAR_SIZE / s_x
        d_search = (INSTANCE_SIZE - EXEMPLAR_SIZE) / 2
        pad = d_search / scale_x
        s_x = s_x + 2 * pad
        side = round(s_x)  # half to even, int
        crop_box = [target_pos[0] - side / 2, target_pos[1] - side / 2, side, side]  # float origin
        x_crop = subwindow(image, target_pos, INSTANCE_SIZE, side, self.avg_chans)

        cls, loc, corr, f0, f1, f2 = self.search_graph(torch.from_numpy(x_crop), self.zf)
        # loc (1,20,25,25) -> (4, 3125): row k holds channels 5k..5k+4, flattened (a, i, j). float32.
        delta = loc.permute(1, 2, 3, 0).contiguous().view(4, -1).numpy().copy()
        # cls [bg x5, fg x5] -> (2, 3125) -> softmax over each column, keep the fg row. float32.
        score = F.softmax(cls.permute(1, 2, 3, 0).contiguous().view(2, -1).permute(1, 0), dim=1)[:, 1].numpy()

        anchor = self.anchor
        delta[0, :] = delta[0, :] * anchor[:, 2] + anchor[:, 0]   # float32 ops (two roundings, no FMA)
        delta[1, :] = delta[1, :] * anchor[:, 3] + anchor[:, 1]
        delta[2, :] = np.exp(delta[2, :]) * anchor[:, 2]
        delta[3, :] = np.exp(delta[3, :]) * anchor[:, 3]

        def change(r):
            return np.maximum(r, 1. / r)

        def sz(w, h):
            pad = (w + h) * 0.5
            sz2 = (w + pad) * (h + pad)
            return np.sqrt(sz2)

        def sz_wh(wh):
            pad = (wh[0] + wh[1]) * 0.5
            sz2 = (wh[0] + pad) * (wh[1] + pad)
            return np.sqrt(sz2)

        target_sz_in_crop = target_sz * scale_x                                   # float64
        s_c = change(sz(delta[2, :], delta[3, :]) / (sz_wh(target_sz_in_crop)))   # float32 (f64 scalar -> f32)
        r_c = change((target_sz_in_crop[0] / target_sz_in_crop[1]) / (delta[2, :] / delta[3, :]))  # float32
        penalty = np.exp(-(r_c * s_c - 1) * hp.penalty_k)                        # float32
        pscore = penalty * score                                                 # float32
        pscore = pscore * (1 - hp.window_influence) + self.window * hp.window_influence  # float64
        best = int(np.argmax(pscore))                                            # first maximum

        pred_in_crop = delta[:, best] / scale_x                                  # float32 (4,)
        lr = penalty[best] * score[best] * hp.lr                                 # float64 scalar
        res_x = pred_in_crop[0] + target_pos[0]                                  # float64
        res_y = pred_in_crop[1] + target_pos[1]
        res_w = target_sz[0] * (1 - lr) + pred_in_crop[2] * lr
        res_h = target_sz[1] * (1 - lr) + pred_in_crop[3] * lr
        target_pos = np.array([res_x, res_y])
        target_sz = np.array([res_w, res_h])

        # Mask: refine at the chosen cell (row i, column j); the anchor index is ignored.
        _, row, col = np.unravel_index(best, (ANCHOR_NUM, SCORE_SIZE, SCORE_SIZE))
        logits = self.refine_graph(f0, f1, f2, corr, torch.tensor([int(row), int(col)], dtype=torch.int64))
        mask = logits.sigmoid().squeeze().view(hp.out_size, hp.out_size).numpy()     # float32 127x127
        matrix = backprojection_matrix(crop_box, row, col, self.image_w, self.image_h, hp.out_size)
        mask_in_img = back_project(mask, matrix, self.image_w, self.image_h)         # float32 HxW
        target_mask = (mask_in_img > hp.seg_thr).astype(np.uint8)                    # float32 comparison
        polygon, from_mask = mask_polygon(target_mask, target_pos, target_sz)

        # Clamp after the polygon (Python min/max on float64 values).
        target_pos[0] = max(0, min(self.image_w, target_pos[0]))
        target_pos[1] = max(0, min(self.image_h, target_pos[1]))
        target_sz[0] = max(10, min(self.image_w, target_sz[0]))
        target_sz[1] = max(10, min(self.image_h, target_sz[1]))
        self.pos, self.size = target_pos, target_sz

        others = np.delete(pscore, best)
        state = {"frame": self.frame, "pos": target_pos.copy(), "size": target_sz.copy(),
                 "score": float(score[best]), "best": best, "best_pscore": float(pscore[best]),
                 "second_pscore": float(others.max()), "polygon": polygon, "polygon_from_mask": from_mask,
                 "mask": target_mask, "crop_box": [float(v) for v in crop_box]}
        if keep_float_mask:
            state["float_mask"] = mask_in_img
        if debug:
            state.update({"search": x_crop, "s_x": float(s_x), "scale_x": float(scale_x), "fg": score.copy(),
                          "boxes": delta, "penalty": penalty, "pscore": pscore, "mask127": mask.copy(),
                          "affine": matrix, "lr": float(lr)})
        return state
