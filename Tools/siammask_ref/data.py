"""Readers for the real footage in /work/shared/data (DAVIS-2016, VOT, OTB layouts) and the crops cut from it.

Each reader returns a `Sequence`: frame paths and one ground-truth target (centre x, centre y, width, height) per
frame, in 0-based pixel coordinates, converted the way the official tracker initialises from each format.
"""

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import List, Tuple

import cv2
import numpy as np

from .crop import average_colour, exemplar_crop, search_crop

DEFAULT_DATA_ROOT = Path("/work/shared/data")

Target = Tuple[float, float, float, float]


@dataclass
class Sequence:
    name: str
    frames: List[Path]
    targets: List[Target]

    def read(self, index: int) -> np.ndarray:
        image = cv2.imread(str(self.frames[index]), cv2.IMREAD_COLOR)
        if image is None:
            raise FileNotFoundError(self.frames[index])
        return image


def davis_sequence(root: Path, name: str) -> Sequence:
    """DAVIS-2016: the target is cv2.boundingRect of the non-zero mask pixels; centre = (x + w/2, y + h/2)."""
    frames = sorted((root / "JPEGImages" / "480p" / name).glob("*.jpg"))
    targets = []
    for frame in frames:
        mask = cv2.imread(str(root / "Annotations" / "480p" / name / (frame.stem + ".png")), cv2.IMREAD_GRAYSCALE)
        x, y, w, h = cv2.boundingRect((mask > 0).astype(np.uint8))
        targets.append((x + w / 2, y + h / 2, float(w), float(h)))
    return Sequence(f"DAVIS/{name}", frames, targets)


def vot_polygon_target(values: List[float]) -> Target:
    """VOT rotated rectangle x1,y1..x4,y4 -> axis-aligned target with the same area (the official rule)."""
    xs, ys = values[0::2], values[1::2]
    cx, cy = sum(xs) / 4, sum(ys) / 4
    x1, x2, y1, y2 = min(xs), max(xs), min(ys), max(ys)
    a1 = math.hypot(xs[0] - xs[1], ys[0] - ys[1]) * math.hypot(xs[1] - xs[2], ys[1] - ys[2])
    a2 = (x2 - x1) * (y2 - y1)
    s = math.sqrt(a1 / a2)
    return cx, cy, s * (x2 - x1) + 1, s * (y2 - y1) + 1


def vot_sequence(root: Path, name: str) -> Sequence:
    frames = sorted((root / name).glob("*.jpg"))
    lines = (root / name / "groundtruth.txt").read_text().split()
    targets = []
    for line in lines:
        values = [float(v) for v in line.split(",")]
        if len(values) != 8:
            raise ValueError(f"{name}: expected 8 polygon values per line, got {len(values)}")
        targets.append(vot_polygon_target(values))
    return Sequence(f"VOT/{name}", frames, targets)


def otb_sequence(root: Path, name: str) -> Sequence:
    """OTB: x, y, w, h per line (tab, comma or space separated), 1-based pixels."""
    frames = sorted((root / name / "img").glob("*.jpg"))
    targets = []
    for line in (root / name / "groundtruth_rect.txt").read_text().splitlines():
        if line.strip():
            x, y, w, h = (float(v) for v in re.split(r"[,\s]+", line.strip()))
            targets.append((x - 1 + w / 2, y - 1 + h / 2, w, h))
    return Sequence(f"OTB/{name}", frames, targets)


def all_sequences(data_root: Path = DEFAULT_DATA_ROOT) -> List[Sequence]:
    """Every sequence under data_root: DAVIS (sequences.txt), VOT (list.txt) and each OTB folder."""
    davis = data_root / "DAVIS"
    vot = data_root / "VOT"
    otb = data_root / "OTB"
    sequences = [davis_sequence(davis, n) for n in (davis / "sequences.txt").read_text().split()]
    sequences += [vot_sequence(vot, n) for n in (vot / "list.txt").read_text().split()]
    sequences += [otb_sequence(otb, p.name) for p in sorted(otb.iterdir()) if (p / "groundtruth_rect.txt").exists()]
    return sequences


def tracking_pair(sequence: Sequence, frame: int) -> Tuple[np.ndarray, np.ndarray]:
    """(exemplar crop of `frame` around its target, search crop of `frame + 1` around the same target), both padded
    with the sequence's first-frame average colour, as the tracker would cut them."""
    avg = average_colour(sequence.read(0))
    cx, cy, w, h = sequence.targets[frame]
    exemplar = exemplar_crop(sequence.read(frame), (cx, cy), (w, h), avg)
    search = search_crop(sequence.read(frame + 1), (cx, cy), (w, h), avg)
    return exemplar, search


def synthetic_frame(seed: int, height: int = 480, width: int = 854) -> np.ndarray:
    """A deterministic BGR uint8 scene: smooth colour gradients, random blobs and a striped object in the middle.
    The committed golden inputs are cut from these, so no footage from ../shared/data is copied into the repo."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    image = np.empty((height, width, 3), dtype=np.float64)
    for c in range(3):
        fy, fx, phase = rng.uniform(0.002, 0.02), rng.uniform(0.002, 0.02), rng.uniform(0, 6.28)
        image[..., c] = 128 + 80 * np.sin(fy * yy + fx * xx + phase)
    for _ in range(40):
        cy, cx, r = rng.uniform(0, height), rng.uniform(0, width), rng.uniform(8, 60)
        blob = ((yy - cy) ** 2 + (xx - cx) ** 2) < r * r
        image[blob] = rng.uniform(0, 255, size=3)
    oy, ox = height // 2, width // 2
    inside = (np.abs(yy - oy) < 60) & (np.abs(xx - ox) < 40)
    stripes = (np.floor((xx + yy) / 6) % 2) == 0
    image[inside & stripes] = (30, 200, 240)
    image[inside & ~stripes] = (200, 40, 90)
    image += rng.normal(0, 6, size=image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def golden_pair(data_root: Path = DEFAULT_DATA_ROOT) -> Tuple[np.ndarray, np.ndarray]:
    """Golden inputs: exemplar from a synthetic frame around its striped object (80x120 at the centre), search
    from a second synthetic frame (seed + 1) around the same target, cut with the official crops."""
    del data_root  # the goldens are synthetic; calibration alone reads the real footage
    first, second = synthetic_frame(1), synthetic_frame(2)
    target = (first.shape[1] / 2, first.shape[0] / 2)
    avg = average_colour(first)
    exemplar = exemplar_crop(first, target, (80.0, 120.0), avg)
    search = search_crop(second, (target[0] + 6, target[1] - 4), (80.0, 120.0), avg)
    return exemplar, search


def calibration_pairs(data_root: Path = DEFAULT_DATA_ROOT, per_sequence: int = 4) -> Tuple[np.ndarray, np.ndarray]:
    """`per_sequence` tracking pairs from evenly spaced frames of every sequence, stacked:
    exemplars [N,3,127,127] and searches [N,3,255,255], float32."""
    exemplars, searches = [], []
    for sequence in all_sequences(data_root):
        last = min(len(sequence.frames), len(sequence.targets)) - 2
        for frame in np.linspace(0, last, per_sequence).round().astype(int):
            exemplar, search = tracking_pair(sequence, int(frame))
            exemplars.append(exemplar)
            searches.append(search)
    return np.concatenate(exemplars), np.concatenate(searches)
