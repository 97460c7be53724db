#!/usr/bin/env python3
"""Writes Tests/ImagingTests/Goldens/min_area_rect.json, the cv2.minAreaRect + cv2.boxPoints references of
MinAreaRectTests (Debian python3-opencv 4.6.0).

Each case: integer points (x0,y0,x1,y1,...) and the box corners OpenCV returns (x1,y1,...,x4,y4, rounded to 4
decimals). The last 8+2 cases are contour points of shapes filled by OpenCV, an axis-aligned set and a collinear set.

Usage: /usr/bin/python3 Tools/goldens/min_area_rect.py > Tests/ImagingTests/Goldens/min_area_rect.json
"""
import json, cv2, numpy as np
rng = np.random.default_rng(11)
cases = []
for k in range(12):   # random point clouds
    n = int(rng.integers(3, 40)); c = rng.integers(50, 400, 2); s = rng.integers(5, 120, 2)
    pts = (c + rng.normal(0, 1, (n, 2)) * s).round().astype(np.int32)
    cases.append(pts)
for k in range(8):    # filled shapes drawn by OpenCV, then contour points
    m = np.zeros((240, 320), np.uint8)
    if k % 2 == 0:
        cv2.ellipse(m, (int(rng.integers(100, 220)), int(rng.integers(80, 160))), (int(rng.integers(8, 90)), int(rng.integers(4, 60))),
                    float(rng.uniform(0, 180)), 0, 360, 255, -1)
    else:
        box = cv2.boxPoints(((float(rng.uniform(100, 220)), float(rng.uniform(80, 160))), (float(rng.uniform(5, 150)), float(rng.uniform(5, 90))), float(rng.uniform(0, 180))))
        cv2.fillPoly(m, [box.round().astype(np.int32)], 255)
    cs, _ = cv2.findContours(m, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    cases.append(np.concatenate(cs).reshape(-1, 2))
cases.append(np.array([[10, 10], [30, 10], [30, 20], [10, 20], [20, 15]], np.int32))  # axis-aligned
cases.append(np.array([[0, 0], [5, 5], [10, 10]], np.int32))  # collinear
out = []
for pts in cases:
    box = cv2.boxPoints(cv2.minAreaRect(pts.reshape(-1, 1, 2)))
    out.append(dict(points=pts.reshape(-1).tolist(), box=[round(float(v), 4) for v in box.reshape(-1)]))
print('[\n' + ',\n'.join(json.dumps(o, separators=(',', ':')) for o in out) + ']')
