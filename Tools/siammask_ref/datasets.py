"""Sequence layouts the reference tracker reads, detected from one folder path:

- davis: PATH = `ROOT/JPEGImages/<res>/SEQ` (or `ROOT/Annotations/<res>/SEQ`); frames `*.jpg`; ground truth
  `ROOT/Annotations/<res>/SEQ/<stem>.png`, the object = its non-zero pixels (single object).
- otb: PATH = `SEQ` holding `img/*.jpg` and `groundtruth_rect.txt` (x, y, w, h per line; comma, tab or space
  separated; 1-based).
- synthetic: PATH = `DIR` holding `*.jpg` (or `*.png`) frames, `groundtruth.txt` (VOT polygons) and
  `masks/<stem>.png`.
- vot: PATH = `SEQ` holding `*.jpg` and `groundtruth.txt` (8 values x1,y1..x4,y4, 0-based, or 4 values x,y,w,h).

The per-frame target (cx, cy, w, h) follows the official init rule of each format: the VOT polygon rule
(`get_axis_aligned_bbox`, also for the synthetic layout), the OTB rect made 0-based (x - 1, y - 1), the DAVIS mask's
cv2.boundingRect. DAVIS-480p and OTB go through siammask_ref.data's readers.
"""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple

import cv2
import numpy as np

from . import data
from .tracker import get_axis_aligned_bbox, mask_target

Target = Tuple[float, float, float, float]


@dataclass
class TrackSequence:
    name: str
    kind: str                                # 'davis' | 'vot' | 'otb' | 'synthetic'
    frames: List[Path]
    targets: List[Target]                    # per-frame ground truth as (cx, cy, w, h), the official init rule
    regions: Optional[List[np.ndarray]] = None   # per-frame region (4 or 8 values) where the GT is a region file
    mask_paths: Optional[List[Path]] = None      # per-frame GT mask where the layout has masks

    def __len__(self) -> int:
        return len(self.frames)

    def read(self, index: int) -> np.ndarray:
        """BGR uint8 HxWx3, as cv2.imread gives it."""
        image = cv2.imread(str(self.frames[index]), cv2.IMREAD_COLOR)
        if image is None:
            raise FileNotFoundError(self.frames[index])
        return image

    def read_mask(self, index: int) -> Optional[np.ndarray]:
        """GT mask of frame `index` as uint8 0/1 (non-zero pixels), or None where there is none."""
        if self.mask_paths is None or index >= len(self.mask_paths) or not self.mask_paths[index].exists():
            return None
        mask = cv2.imread(str(self.mask_paths[index]), cv2.IMREAD_GRAYSCALE)
        if mask is None:
            raise FileNotFoundError(self.mask_paths[index])
        return (mask > 0).astype(np.uint8)

    def polygon(self, index: int) -> Optional[np.ndarray]:
        """GT polygon (4x2) of frame `index` where the GT is an 8-value region, else None."""
        if self.regions is None or index >= len(self.regions) or self.regions[index].size != 8:
            return None
        return self.regions[index].reshape(4, 2)

    def init_target(self) -> Target:
        return self.targets[0]


def read_regions(path: Path) -> List[np.ndarray]:
    """VOT groundtruth.txt: one region per line, 8 (polygon) or 4 (x, y, w, h) comma-separated float64 values."""
    regions = []
    for line in path.read_text().splitlines():
        if line.strip():
            values = np.array([float(v) for v in re.split(r"[,\s]+", line.strip())], dtype=np.float64)
            if values.size not in (4, 8):
                raise ValueError(f"{path}: a region has 4 or 8 values, got {values.size}")
            regions.append(values)
    return regions


def image_files(folder: Path) -> List[Path]:
    frames = sorted(folder.glob("*.jpg"))
    return frames if frames else sorted(folder.glob("*.png"))


def davis(path: Path) -> TrackSequence:
    root, resolution, name = path.parents[2], path.parent.name, path.name
    annotations = root / "Annotations" / resolution / name
    if resolution == "480p":
        base = data.davis_sequence(root, name)
        frames, targets = base.frames, base.targets
    else:
        frames = sorted((root / "JPEGImages" / resolution / name).glob("*.jpg"))
        targets = []
        for frame in frames:
            targets.append(mask_target(cv2.imread(str(annotations / (frame.stem + ".png")), cv2.IMREAD_GRAYSCALE)))
    masks = [annotations / (frame.stem + ".png") for frame in frames]
    return TrackSequence(f"DAVIS/{name}", "davis", frames, targets, mask_paths=masks)


def otb(path: Path) -> TrackSequence:
    base = data.otb_sequence(path.parent, path.name)  # targets: (x - 1 + w/2, y - 1 + h/2, w, h)
    regions = []  # the 0-based rect (x - 1, y - 1, w, h) as a 4-value region
    for line in (path / "groundtruth_rect.txt").read_text().splitlines():
        if line.strip():
            x, y, w, h = (float(v) for v in re.split(r"[,\s]+", line.strip()))
            regions.append(np.array([x - 1, y - 1, w, h], dtype=np.float64))
    return TrackSequence(base.name, "otb", base.frames, base.targets, regions=regions)


def vot(path: Path, kind: str = "vot") -> TrackSequence:
    regions = read_regions(path / "groundtruth.txt")
    targets = [get_axis_aligned_bbox(region) for region in regions]
    frames = image_files(path)
    masks = None
    if kind == "synthetic":
        masks = [path / "masks" / (frame.stem + ".png") for frame in frames]
        return TrackSequence(f"synthetic/{path.name}", kind, frames, targets, regions=regions, mask_paths=masks)
    return TrackSequence(f"VOT/{path.name}", kind, frames, targets, regions=regions)


def detect(path: Path) -> str:
    path = Path(path)
    if (path / "img").is_dir() and (path / "groundtruth_rect.txt").exists():
        return "otb"
    if len(path.parents) >= 3 and path.parent.parent.name in ("JPEGImages", "Annotations"):
        return "davis"
    if (path / "groundtruth.txt").exists() and (path / "masks").is_dir():
        return "synthetic"
    if (path / "groundtruth.txt").exists():
        return "vot"
    raise ValueError(f"{path}: not a DAVIS (JPEGImages/<res>/SEQ), VOT (groundtruth.txt), OTB (img/ + "
                     f"groundtruth_rect.txt) or synthetic (groundtruth.txt + masks/) sequence folder")


def open_sequence(path: Path) -> TrackSequence:
    """Detect the layout of `path` and read it."""
    path = Path(path).resolve()
    kind = detect(path)
    if kind == "davis":
        if path.parent.parent.name == "Annotations":
            path = path.parents[2] / "JPEGImages" / path.parent.name / path.name
        sequence = davis(path)
    elif kind == "otb":
        sequence = otb(path)
    else:
        sequence = vot(path, kind)
    if not sequence.frames:
        raise ValueError(f"{path}: no frames")
    return sequence


def shared_sequences(data_root: Path = data.DEFAULT_DATA_ROOT) -> List[Path]:
    """The sequence folders of /work/shared/data (DAVIS sequences.txt, VOT list.txt, each OTB folder)."""
    davis_names = (data_root / "DAVIS" / "sequences.txt").read_text().split()
    paths = [data_root / "DAVIS" / "JPEGImages" / "480p" / n for n in davis_names]
    paths += [data_root / "VOT" / n for n in (data_root / "VOT" / "list.txt").read_text().split()]
    otb_root = data_root / "OTB"
    paths += [p for p in sorted(otb_root.iterdir()) if (p / "groundtruth_rect.txt").exists()]
    return paths
