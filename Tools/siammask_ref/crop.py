"""The official crop (`get_subwindow_tracking`) and the exemplar / search crop sizes (spec sections 3 and 5.3)."""

import math
from typing import Sequence, Tuple

import cv2
import numpy as np

EXEMPLAR_SIZE = 127
INSTANCE_SIZE = 255
CONTEXT_AMOUNT = 0.5


def average_colour(image: np.ndarray) -> np.ndarray:
    """Per-channel mean (float64, BGR) of a frame; the tracker takes it from the first frame only."""
    return image.reshape(-1, image.shape[2]).mean(axis=0)


def exemplar_side(size: Tuple[float, float]) -> int:
    """s_z = round(sqrt((w + p)(h + p))), p = (w + h) / 2, Python rounding (half to even)."""
    w, h = size
    context = CONTEXT_AMOUNT * (w + h)
    return int(round(math.sqrt((w + context) * (h + context))))


def search_side(size: Tuple[float, float]) -> Tuple[float, int]:
    """(unrounded search side S, round(S)), computed in the order of the official code:
    s = sqrt((h + p)(w + p)), scale = 127 / s, S = s + 2 * (64 / scale)."""
    w, h = size
    context = CONTEXT_AMOUNT * (w + h)
    s = math.sqrt((h + context) * (w + context))
    scale = EXEMPLAR_SIZE / s
    side = s + 2 * (((INSTANCE_SIZE - EXEMPLAR_SIZE) / 2) / scale)
    return side, int(round(side))


def subwindow(image: np.ndarray, pos: Sequence[float], model_size: int, original_size: int,
              avg_chans: np.ndarray) -> np.ndarray:
    """The official `get_subwindow_tracking`: an original_size square around pos = (x, y), padded with avg_chans
    truncated to uint8, resized (INTER_LINEAR on uint8) to model_size. Returns float32 [1, 3, S, S], BGR, 0..255."""
    rows, cols, channels = image.shape
    half = (original_size + 1) / 2
    x_min = int(round(float(pos[0]) - half))
    y_min = int(round(float(pos[1]) - half))
    x_max = x_min + original_size - 1
    y_max = y_min + original_size - 1
    left, top = max(0, -x_min), max(0, -y_min)
    right, bottom = max(0, x_max - cols + 1), max(0, y_max - rows + 1)
    if left or top or right or bottom:
        canvas = np.empty((rows + top + bottom, cols + left + right, channels), np.uint8)
        canvas[...] = np.asarray(avg_chans, np.float64).astype(np.uint8)
        canvas[top:top + rows, left:left + cols] = image
        patch = canvas[y_min + top:y_max + top + 1, x_min + left:x_max + left + 1]
    else:
        patch = image[y_min:y_max + 1, x_min:x_max + 1]
    if model_size != original_size:
        patch = cv2.resize(patch, (model_size, model_size))
    return np.ascontiguousarray(patch.astype(np.float32).transpose(2, 0, 1)[None])


def exemplar_crop(image: np.ndarray, pos: Sequence[float], size: Tuple[float, float],
                  avg_chans: np.ndarray) -> np.ndarray:
    """The 127x127 exemplar crop the tracker takes at init."""
    return subwindow(image, pos, EXEMPLAR_SIZE, exemplar_side(size), avg_chans)


def search_crop(image: np.ndarray, pos: Sequence[float], size: Tuple[float, float],
                avg_chans: np.ndarray) -> np.ndarray:
    """The 255x255 search crop the tracker takes around the previous target (pos, size)."""
    return subwindow(image, pos, INSTANCE_SIZE, search_side(size)[1], avg_chans)
