"""Training pairs for SiamMask, sampled from synthetic sequences the way the official training does.

A sequence folder (written by `siammask synth`) holds `00000.jpg ...`, `masks/00000.png` (0/255 object mask) and
`groundtruth.txt` (one VOT polygon per frame). The target box of a frame is the bounding rectangle of its mask
(the DAVIS rule of data.davis_sequence), centre = (x + w/2, y + h/2).

One pair (official `datasets/siam_mask_dataset.py` conventions, our own code):
- exemplar: frame t, the tracker's exemplar crop (crop.exemplar_crop: context 0.5, s_z rounded, 127x127), padded
  with the frame's average colour, with the official template jitter (shift <= 4 crop px, scale +-5%);
- search: frame t + k (|k| <= frame_range), an S x S crop (S = search_size) at the exemplar scale (s_x = s_z * 255
  / 127 image pixels map to 255 crop pixels, exactly as the tracker's search crop) around the search frame's own
  target, shifted by up to `shift` crop pixels and scaled by up to +-18% per axis (official search augmentation),
  with the official colour (PCA) noise, motion blur and grey conversion;
- negative pairs (probability `neg`): the exemplar comes from another sequence; labels are 16 negatives in the
  central 7x7 cells, no box or mask labels (official `AnchorTargetLayer(neg=True)`).

Labels over the G x G score map (G = (S - 127) / 8 + 1 + 8; 25 for S = 255, 17 for S = 191):
- anchor a at cell (i, j) is centred at crop pixel (8 j + 31, 8 i + 31) (for S = 255 this is 127 + 8 (j - 12),
  the spec's anchor grid), with the spec's 5 anchor shapes;
- cls: 1 where IoU(anchor, target) > 0.6 (at most 16, random), 0 where IoU < 0.3 (64 - #positives, random),
  -1 (ignored) elsewhere;
- loc: (dx, dy, dw, dh) = ((tx - ax) / aw, (ty - ay) / ah, log(tw / aw), log(th / ah)), the inverse of the
  tracker's decode; loc_weight = 1 / #positives at positives (official weighted L1);
- mask: the S x S search-crop mask in {-1, +1}; mask_weight = 1 at cells where some anchor is positive. The
  training code cuts the 127x127 window of cell (i, j) starting at crop pixel (8 j - 32, 8 i - 32) (zero = ignored
  outside the crop), the same window the refine module and the 63x63 head predict for that cell.

Everything random comes from one numpy Generator, so a sampler is deterministic given its seed.

`interim_synth_sequence` is an INTERIM Python stand-in for the Swift generator (same folder format); it is used
only when the Swift `siammask synth` is not available.
"""

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np

from .crop import EXEMPLAR_SIZE, average_colour, exemplar_crop, exemplar_side

STRIDE = 8
ANCHOR_RATIOS = (0.33, 0.5, 1, 2, 3)
POS_IOU, NEG_IOU = 0.6, 0.3
POS_NUM, RPN_BATCH, NEG_PAIR_NUM = 16, 64, 16
WINDOW = 127
# The official search colour noise (BGR offset = rgbVar @ N(0, 1)), reversed to BGR.
RGB_VAR = np.array([[-0.55919361, 0.98062831, -0.41940627],
                    [1.72091413, 0.19879334, -1.82968581],
                    [4.64467907, 4.73710203, 4.88324118]], dtype=np.float32)


def score_size(search_size: int) -> int:
    return (search_size - EXEMPLAR_SIZE) // STRIDE + 1 + 8


def anchor_shapes() -> List[Tuple[int, int]]:
    """(w, h) of the 5 anchors, integer-truncated as in utils/anchors.py: (104,32) (88,40) (64,64) (40,80) (32,96)."""
    shapes = []
    for r in ANCHOR_RATIOS:
        ws = int(math.sqrt(STRIDE * STRIDE / r))
        hs = int(ws * r)
        shapes.append((ws * 8, hs * 8))
    return shapes


def anchor_grid(size: int) -> np.ndarray:
    """[4, 5, size, size] anchors (cx, cy, w, h) in crop pixels (pixel-centre coordinates)."""
    grid = np.zeros((4, len(ANCHOR_RATIOS), size, size), np.float32)
    centres = STRIDE * np.arange(size, dtype=np.float32) + 31
    for a, (w, h) in enumerate(anchor_shapes()):
        grid[0, a] = centres[None, :]
        grid[1, a] = centres[:, None]
        grid[2, a] = w
        grid[3, a] = h
    return grid


def box_iou(anchors: np.ndarray, box: Tuple[float, float, float, float]) -> np.ndarray:
    """IoU of every anchor (cx, cy, w, h arrays) with box (x1, y1, x2, y2)."""
    cx, cy, w, h = anchors
    ax1, ay1, ax2, ay2 = cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2
    x1, y1, x2, y2 = box
    iw = np.clip(np.minimum(ax2, x2) - np.maximum(ax1, x1), 0, None)
    ih = np.clip(np.minimum(ay2, y2) - np.maximum(ay1, y1), 0, None)
    inter = iw * ih
    return inter / (w * h + (x2 - x1) * (y2 - y1) - inter)


@dataclass
class SynthSequence:
    root: Path
    frames: List[Path]
    masks: List[Path]

    def image(self, index: int) -> np.ndarray:
        image = cv2.imread(str(self.frames[index]), cv2.IMREAD_COLOR)
        if image is None:
            raise FileNotFoundError(self.frames[index])
        return image

    def mask(self, index: int) -> np.ndarray:
        mask = cv2.imread(str(self.masks[index]), cv2.IMREAD_GRAYSCALE)
        if mask is None:
            raise FileNotFoundError(self.masks[index])
        return mask

    def __len__(self) -> int:
        return len(self.frames)


def load_sequence(root: Path) -> SynthSequence:
    frames = sorted(root.glob("*.jpg"))
    masks = [root / "masks" / (f.stem + ".png") for f in frames]
    return SynthSequence(root, frames, masks)


def mask_box(mask: np.ndarray):
    """(cx, cy, w, h) of cv2.boundingRect of the mask (centre x + w/2), or None for an empty mask."""
    if not mask.any():
        return None
    x, y, w, h = cv2.boundingRect((mask > 127).astype(np.uint8))
    if w == 0 or h == 0:
        return None
    return x + w / 2, y + h / 2, float(w), float(h)


def affine_crop(image: np.ndarray, cx: float, cy: float, side_x: float, side_y: float, out: int,
                border, interpolation=cv2.INTER_LINEAR) -> np.ndarray:
    """Crop the side_x x side_y region centred at (cx, cy) (edge coordinates: pixel p spans [p, p+1)) to out x out
    with bilinear sampling; outside the image takes `border`."""
    ax, ay = side_x / out, side_y / out
    # crop pixel centre u + 0.5 maps to image edge coordinate cx - side_x / 2 + (u + 0.5) * ax; cv2 wants centres.
    matrix = np.array([[ax, 0, cx - side_x / 2 + 0.5 * ax - 0.5],
                       [0, ay, cy - side_y / 2 + 0.5 * ay - 0.5]], np.float64)
    return cv2.warpAffine(image, matrix, (out, out), flags=interpolation | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=border)


class PairSampler:
    """Samples (exemplar, search, labels) pairs from a list of synthetic sequences with one numpy Generator."""

    def __init__(self, sequences: Sequence[SynthSequence], search_size: int = 255, seed: int = 0,
                 frame_range: int = 20, shift: float = 48.0, scale: float = 0.18, neg: float = 0.2,
                 gray: float = 0.1, blur: float = 0.18):
        self.sequences = [s for s in sequences if len(s) >= 2]
        self.search_size = search_size
        self.size = score_size(search_size)
        self.anchors = anchor_grid(self.size)
        self.rng = np.random.default_rng(seed)
        self.frame_range, self.shift, self.scale = frame_range, shift, scale
        self.neg, self.gray, self.blur = neg, gray, blur

    # -- random helpers -------------------------------------------------------------------------------------------
    def _uniform(self, limit: float) -> float:
        return float(self.rng.uniform(-limit, limit))

    def _frame_with_target(self, sequence: SynthSequence, index: int):
        mask = sequence.mask(index)
        return mask, mask_box(mask)

    def _pick(self):
        """(sequence, template index, search index) with a visible target in both frames."""
        for _ in range(100):
            sequence = self.sequences[int(self.rng.integers(len(self.sequences)))]
            t = int(self.rng.integers(len(sequence)))
            lo, hi = max(0, t - self.frame_range), min(len(sequence) - 1, t + self.frame_range)
            s = int(self.rng.integers(lo, hi + 1))
            mt, bt = self._frame_with_target(sequence, t)
            ms, bs = self._frame_with_target(sequence, s)
            if bt is not None and bs is not None and min(bt[2:]) >= 4 and min(bs[2:]) >= 4:
                return sequence, t, s, bt, ms, bs
        raise RuntimeError("no frame pair with a visible target found")

    def _photometric(self, crop: np.ndarray, gray: bool) -> np.ndarray:
        """crop: HxWx3 uint8 -> float32 with the official colour noise, optional grey and motion blur."""
        image = crop
        if gray:
            g = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
            image = np.repeat(g[:, :, None], 3, axis=2)
        image = image.astype(np.float32)
        offset = (RGB_VAR @ self.rng.standard_normal((3, 1)).astype(np.float32))[::-1].reshape(3)
        image = image - offset
        if self.rng.random() < self.blur:
            size = int(np.round(self.rng.standard_normal())) * 2 + 1
            if size > 1 and self.rng.random() < 0.5:
                size = min(size, 45)
                kernel = np.zeros((size, size), np.float32)
                c, wx = size // 2, float(self.rng.random())
                kernel[:, c] += wx / size
                kernel[c, :] += (1 - wx) / size
                image = cv2.filter2D(image, -1, kernel)
        return np.clip(image, 0, 255)

    # -- one pair ------------------------------------------------------------------------------------------------
    def sample(self) -> Dict[str, np.ndarray]:
        sequence, t, s, bt, search_mask, bs = self._pick()
        negative = self.rng.random() < self.neg and len(self.sequences) > 1
        gray = self.rng.random() < self.gray

        # Exemplar: the tracker's crop of frame t (of another sequence for a negative pair), jittered.
        ex_sequence, ex_index, ex_box = sequence, t, bt
        if negative:
            while True:
                other = self.sequences[int(self.rng.integers(len(self.sequences)))]
                if other is sequence:
                    continue
                index = int(self.rng.integers(len(other)))
                box = mask_box(other.mask(index))
                if box is not None and min(box[2:]) >= 4:
                    ex_sequence, ex_index, ex_box = other, index, box
                    break
        ex_image = ex_sequence.image(ex_index)
        avg = average_colour(ex_image)
        cx, cy, w, h = ex_box
        s_z = exemplar_side((w, h))
        jitter = 1 + self._uniform(0.05)
        pos = (cx + self._uniform(4) * s_z / EXEMPLAR_SIZE, cy + self._uniform(4) * s_z / EXEMPLAR_SIZE)
        template = exemplar_crop(ex_image, pos, (w * jitter, h * jitter), avg)[0].transpose(1, 2, 0)
        template = self._photometric(template.astype(np.uint8), gray)

        # Search: frame s around its own target at the exemplar scale (s_x = s_z * 255 / 127 per 255 px),
        # shifted and scaled.
        image = sequence.image(s)
        cx, cy, w, h = bs
        side = exemplar_side((w, h)) * 255.0 / EXEMPLAR_SIZE * self.search_size / 255.0
        sx, sy = side * (1 + self._uniform(self.scale)), side * (1 + self._uniform(self.scale))
        shift_x, shift_y = self._uniform(self.shift), self._uniform(self.shift)
        ccx, ccy = cx - shift_x * sx / self.search_size, cy - shift_y * sy / self.search_size
        search = affine_crop(image, ccx, ccy, sx, sy, self.search_size, tuple(float(v) for v in average_colour(image)))
        search = self._photometric(search, gray)
        crop_mask = affine_crop(search_mask, ccx, ccy, sx, sy, self.search_size, 0)

        # Target box in crop pixel-centre coordinates.
        kx, ky = self.search_size / sx, self.search_size / sy
        tcx = (cx - (ccx - sx / 2)) * kx - 0.5
        tcy = (cy - (ccy - sy / 2)) * ky - 0.5
        tw, th = w * kx, h * ky

        size = self.size
        cls = np.full((5, size, size), -1, np.int64)
        loc = np.zeros((4, 5, size, size), np.float32)
        loc_weight = np.zeros((5, size, size), np.float32)
        if negative:
            lo, hi = size // 2 - 3, size // 2 + 4
            centre = np.zeros((5, size, size), bool)
            centre[:, lo:hi, lo:hi] = True
            chosen = self._select(np.where(centre), NEG_PAIR_NUM)
            cls[chosen] = 0
            mask_weight = np.zeros((size, size), np.float32)
        else:
            ax, ay, aw, ah = self.anchors
            loc[0] = (tcx - ax) / aw
            loc[1] = (tcy - ay) / ah
            loc[2] = np.log(tw / aw)
            loc[3] = np.log(th / ah)
            iou = box_iou(self.anchors, (tcx - tw / 2, tcy - th / 2, tcx + tw / 2, tcy + th / 2))
            pos = self._select(np.where(iou > POS_IOU), POS_NUM)
            npos = len(pos[0])
            neg = self._select(np.where(iou < NEG_IOU), RPN_BATCH - npos)
            cls[pos] = 1
            cls[neg] = 0
            loc_weight[pos] = 1.0 / (npos + 1e-6)
            mask_weight = (cls == 1).any(axis=0).astype(np.float32)
        label_mask = np.where(crop_mask > 127, 1.0, -1.0).astype(np.float32)
        return {"template": np.ascontiguousarray(template.transpose(2, 0, 1)),
                "search": np.ascontiguousarray(search.transpose(2, 0, 1)),
                "cls": cls, "loc": loc, "loc_weight": loc_weight,
                "mask": label_mask[None], "mask_weight": mask_weight,
                "box": np.array([tcx, tcy, tw, th], np.float32)}

    def _select(self, position, keep: int):
        count = position[0].shape[0]
        if count <= keep:
            return position
        chosen = self.rng.permutation(count)[:keep]
        return tuple(p[chosen] for p in position)

    def batch(self, count: int) -> Dict[str, np.ndarray]:
        samples = [self.sample() for _ in range(count)]
        return {key: np.stack([s[key] for s in samples]) for key in samples[0]}


# -- INTERIM Python stand-in for the Swift generator ----------------------------------------------------------------

def _texture(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    image = np.empty((height, width, 3), np.float32)
    for c in range(3):
        fy, fx, ph = rng.uniform(0.005, 0.12), rng.uniform(0.005, 0.12), rng.uniform(0, 6.28)
        image[..., c] = rng.uniform(40, 215) + rng.uniform(10, 60) * np.sin(fy * yy + fx * xx + ph)
    return image


def interim_synth_sequence(seed: int, frames: int, out: Path, width: int = 320, height: int = 240,
                           difficulty: str = "medium") -> None:
    """INTERIM stand-in (not the Swift generator): a textured background with blobs, one textured target shape
    (ellipse or rotated rectangle) moving, scaling and rotating smoothly, and distractor shapes; writes
    00000.jpg..., masks/00000.png (0/255) and groundtruth.txt (minAreaRect polygon of the mask)."""
    rng = np.random.default_rng(seed)
    out = Path(out)
    (out / "masks").mkdir(parents=True, exist_ok=True)
    background = _texture(rng, height, width)
    for _ in range(int(rng.integers(5, 25))):
        centre = (int(rng.uniform(0, width)), int(rng.uniform(0, height)))
        axes = (int(rng.uniform(5, 40)), int(rng.uniform(5, 40)))
        cv2.ellipse(background, centre, axes, float(rng.uniform(0, 180)), 0, 360, rng.uniform(0, 255, 3).tolist(), -1)
    distractors = {"easy": 0, "medium": 1, "hard": 3}[difficulty]
    speed = {"easy": 2.0, "medium": 4.0, "hard": 7.0}[difficulty]

    def make_object():
        return {"shape": int(rng.integers(2)), "w": rng.uniform(20, 70), "h": rng.uniform(20, 70),
                "x": rng.uniform(0.25, 0.75) * width, "y": rng.uniform(0.25, 0.75) * height,
                "vx": rng.uniform(-speed, speed), "vy": rng.uniform(-speed, speed),
                "angle": rng.uniform(0, 180), "va": rng.uniform(-3, 3), "vs": rng.uniform(-0.01, 0.01),
                "texture": _texture(rng, 64, 64), "scale": 1.0}

    target = make_object()
    others = [make_object() for _ in range(distractors)]
    lines = []
    for f in range(frames):
        image = background.copy()
        target_mask = None
        for k, obj in enumerate(others + [target]):
            mask = np.zeros((height, width), np.uint8)
            centre = (obj["x"], obj["y"])
            size = (obj["w"] * obj["scale"], obj["h"] * obj["scale"])
            if obj["shape"] == 0:
                cv2.ellipse(mask, (centre, size, obj["angle"]), 255, -1)
            else:
                cv2.fillPoly(mask, [cv2.boxPoints((centre, size, obj["angle"])).round().astype(np.int32)], 255)
            tex = cv2.resize(obj["texture"], (width, height))
            image[mask > 0] = tex[mask > 0]
            if obj is target:  # drawn last: distractors never occlude the target
                target_mask = mask
        image += rng.normal(0, 4, image.shape).astype(np.float32)
        cv2.imwrite(str(out / f"{f:05d}.jpg"), np.clip(image, 0, 255).astype(np.uint8),
                    [cv2.IMWRITE_JPEG_QUALITY, 90])
        cv2.imwrite(str(out / "masks" / f"{f:05d}.png"), target_mask)
        points = cv2.findNonZero(target_mask)
        poly = cv2.boxPoints(cv2.minAreaRect(points)) if points is not None else np.zeros((4, 2))
        lines.append(",".join(f"{v:.2f}" for v in poly.reshape(-1)))
        for obj in others + [target]:
            obj["x"] += obj["vx"]
            obj["y"] += obj["vy"]
            obj["angle"] += obj["va"]
            obj["scale"] = float(np.clip(obj["scale"] * (1 + obj["vs"]), 0.6, 1.6))
            if not 20 < obj["x"] < width - 20:
                obj["vx"] = -obj["vx"]
            if not 20 < obj["y"] < height - 20:
                obj["vy"] = -obj["vy"]
            obj["vx"] += rng.normal(0, 0.3)
            obj["vy"] += rng.normal(0, 0.3)
    (out / "groundtruth.txt").write_text("\n".join(lines) + "\n")
