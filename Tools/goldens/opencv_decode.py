#!/usr/bin/env python3
"""Writes Tests/ImagingTests/Goldens/opencv_decode.json, the OpenCV reference decodes of OpenCVMatchTests.

Debian python3-opencv 4.6.0 and python3-pil 9.4 (PIL only builds the CMYK, palette, progressive, grey+alpha and
1-bit inputs).
"real": cv2.imread(path, IMREAD_COLOR / IMREAD_GRAYSCALE) of files under the data root (../shared/data): shape,
  FNV-1a 64 over the little-endian 8-byte words of the pixels (zero-padded), byte sum, and (flat index, value) samples.
"small": tiny encoded files (base64) built by the script, with cv2.imdecode outputs (base64 raw pixels).

Usage: /usr/bin/python3 Tools/goldens/opencv_decode.py [DATA_ROOT] > Tests/ImagingTests/Goldens/opencv_decode.json
"""
import base64, io, json, os, struct, sys, zlib
import cv2, numpy as np
from PIL import Image as P
D = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data"
def fnv(a):
    b = np.ascontiguousarray(a).tobytes(); b += b'\0' * (-len(b) % 8)
    h = 0xcbf29ce484222325
    for w in np.frombuffer(b, '<u8').tolist(): h = ((h ^ w) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return '%016x' % h
def entry(a):
    flat = a.reshape(-1); n = flat.size
    return {'shape': list(a.shape), 'fnv1a64': fnv(a), 'sum': int(a.sum(dtype=np.int64)),
            'samples': [[i, int(flat[i])] for i in range(0, n, max(1, n // 37))]}
files = [f'DAVIS/JPEGImages/480p/tennis/{i:05d}.jpg' for i in (0, 10, 20, 30, 40, 50, 60, 69)]
files += [f'DAVIS/JPEGImages/480p/car-shadow/{i:05d}.jpg' for i in (0, 13, 26, 39)]
files += [f'VOT/bag/{i:08d}.jpg' for i in (1, 50, 100, 150, 196)]
files += [f'OTB/Crossing/img/{i:04d}.jpg' for i in (1, 60, 120)]
files += ['DAVIS/Annotations/480p/tennis/00000.png', 'DAVIS/Annotations/480p/car-shadow/00020.png']
real = [dict(path=f, bgr=entry(cv2.imread(os.path.join(D, f), cv2.IMREAD_COLOR)),
             grey=entry(cv2.imread(os.path.join(D, f), cv2.IMREAD_GRAYSCALE))) for f in files]
rng = np.random.default_rng(7)
def smooth(h, w, c):
    y, x = np.mgrid[0:h, 0:w]
    return np.stack([(np.sin(x * (0.3 + k * 0.2) + y * (0.5 - k * 0.1) + k) * 100 + 128 + rng.integers(-20, 20, (h, w))).clip(0, 255)
                     for k in range(c)], -1).astype(np.uint8)
def pil_bytes(im, fmt, **kw):
    b = io.BytesIO(); im.save(b, fmt, **kw); return b.getvalue()
def with_exif(jpg, orientation, little=True):
    e = '<' if little else '>'
    tiff = (b'II' if little else b'MM') + struct.pack(e + 'HI', 42, 8) + struct.pack(e + 'H', 1) + \
        struct.pack(e + 'HHIHH', 0x0112, 3, 1, orientation, 0) + struct.pack(e + 'I', 0)
    payload = b'Exif\0\0' + tiff
    return jpg[:2] + b'\xff\xe1' + struct.pack('>H', len(payload) + 2) + payload + jpg[2:]
def with_png_exif(png, orientation):
    tiff = b'MM' + struct.pack('>HI', 42, 8) + struct.pack('>H', 1) + struct.pack('>HHIHH', 0x0112, 3, 1, orientation, 0) + \
        struct.pack('>I', 0)
    return png[:33] + struct.pack('>I', len(tiff)) + b'eXIf' + tiff + struct.pack('>I', zlib.crc32(b'eXIf' + tiff)) + png[33:]
cases = {}
img = smooth(11, 17, 3)
cases['jpeg-420-odd'] = cv2.imencode('.jpg', img, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()
cases['jpeg-444'] = pil_bytes(P.fromarray(img[:, :, ::-1]), 'JPEG', quality=85, subsampling=0)
cases['jpeg-422-progressive'] = pil_bytes(P.fromarray(img[:, :, ::-1]), 'JPEG', quality=80, subsampling=1, progressive=True)
cases['jpeg-grey'] = cv2.imencode('.jpg', img[:, :, 0])[1].tobytes()
cases['jpeg-cmyk'] = pil_bytes(P.fromarray(smooth(9, 13, 4), 'CMYK'), 'JPEG', quality=90)
base = cv2.imencode('.jpg', smooth(6, 10, 3), [cv2.IMWRITE_JPEG_QUALITY, 95])[1].tobytes()
for o in (2, 3, 6, 8): cases[f'jpeg-exif-{o}'] = with_exif(base, o, little=(o != 8))
cases['png-rgb'] = cv2.imencode('.png', img)[1].tobytes()
cases['png-rgba'] = cv2.imencode('.png', smooth(7, 9, 4))[1].tobytes()
cases['png-grey'] = cv2.imencode('.png', img[:, :, 1])[1].tobytes()
cases['png-grey16'] = cv2.imencode('.png', (smooth(7, 9, 1)[:, :, 0].astype(np.uint16) * 257 + 91))[1].tobytes()
cases['png-rgb16'] = cv2.imencode('.png', (smooth(7, 9, 3).astype(np.uint16) * 251))[1].tobytes()
cases['png-palette'] = pil_bytes(P.fromarray(img[:, :, ::-1]).quantize(12), 'PNG')
cases['png-grey-alpha'] = pil_bytes(P.fromarray(smooth(7, 9, 2)[:, :, :2], 'LA'), 'PNG')
cases['png-exif-6'] = with_png_exif(cv2.imencode('.png', smooth(5, 8, 3))[1].tobytes(), 6)
cases['png-exif-3'] = with_png_exif(cv2.imencode('.png', smooth(5, 8, 1)[:, :, 0])[1].tobytes(), 3)
cases['png-1bit'] = pil_bytes(P.fromarray(smooth(7, 9, 1)[:, :, 0] > 128), 'PNG')
small = {}
for k, b in cases.items():
    arr = np.frombuffer(b, np.uint8)
    c = cv2.imdecode(arr, cv2.IMREAD_COLOR); g = cv2.imdecode(arr, cv2.IMREAD_GRAYSCALE)
    small[k] = dict(data=base64.b64encode(b).decode(), bgr=dict(shape=list(c.shape), pixels=base64.b64encode(c.tobytes()).decode()),
                    grey=dict(shape=list(g.shape), pixels=base64.b64encode(g.tobytes()).decode()))
c = lambda v: json.dumps(v, sort_keys=True, separators=(',', ':'))
print('{"opencv":%s,\n"real":[\n%s],\n"small":{\n%s}}' % (c(cv2.__version__), ',\n'.join(map(c, real)),
      ',\n'.join('%s:%s' % (c(k), c(v)) for k, v in sorted(small.items()))))
