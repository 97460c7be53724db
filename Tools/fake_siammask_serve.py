#!/usr/bin/env python3
"""Stand-in for `siammask bench MODEL --serve ...` to test Tools/bench_peers.py's protocol path without the Swift CLI.

    Tools/fake_siammask_serve.py bench MODEL --serve --threads N --search X.npy --template Z.npy

Speaks the serve protocol: one JSON ready line ({"ready": true, "load_ms", "precision", "fp32_tier", "int8_tier",
"threads"}), then for each stdin line K it runs K "frames" and prints {"frames": K, "ms": [...]}; `quit` ends it.
A frame is real numpy work (FAKE_FRAME_MATMULS float32 1024x1024 matrix products, default 8 = 17 GFLOP), timed with
perf_counter: the times are measured, not made up, but they say nothing about our tracker. The precision is
"int8" when the model's file name contains "int8". Exits 2 on bad arguments or unreadable inputs.
"""

import argparse
import json
import os
import sys
import time

import numpy as np


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["bench"])
    parser.add_argument("model")
    parser.add_argument("--serve", action="store_true", required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--search", required=True)
    parser.add_argument("--template", required=True)
    args = parser.parse_args()
    t0 = time.perf_counter()
    for path, shape in ((args.search, (1, 3, 255, 255)), (args.template, (1, 3, 127, 127))):
        a = np.load(path)
        if a.shape != shape:
            print(f"error: {path} has shape {a.shape}, expected {shape}", file=sys.stderr)
            return 2
    if not os.path.exists(args.model):
        print(f"error: {args.model} not found", file=sys.stderr)
        return 2
    rng = np.random.default_rng(0)
    a = rng.standard_normal((1024, 1024), dtype=np.float32)
    b = rng.standard_normal((1024, 1024), dtype=np.float32)
    count = int(os.environ.get("FAKE_FRAME_MATMULS", "8"))
    precision = "int8" if "int8" in os.path.basename(args.model) else "float32"
    print(json.dumps({"ready": True, "load_ms": (time.perf_counter() - t0) * 1000, "precision": precision,
                      "fp32_tier": "fake", "int8_tier": "fake", "threads": args.threads}), flush=True)
    for line in sys.stdin:
        line = line.strip()
        if line == "quit":
            break
        k = int(line)
        times = []
        for _ in range(k):
            t = time.perf_counter()
            for _ in range(count):
                a @ b
            times.append((time.perf_counter() - t) * 1000)
        print(json.dumps({"frames": k, "ms": times}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
