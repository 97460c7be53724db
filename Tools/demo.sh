#!/usr/bin/env bash
# The main job on the bundled default: set up, build (release), convert the bundled reduced-width model from its
# PyTorch checkpoint, show it, run the three graphs and compare every output with the PyTorch goldens.
# (Tracking on footage arrives with the tracker; until then this exercises the whole convert -> run path.)
set -euo pipefail
cd "$(dirname "$0")/.."
Tools/setup.sh
swift build -c release --product siammask
B=.build/release/siammask
F=Models/fixture
OUT=${OUT:-out/demo}
rm -rf "$OUT"; mkdir -p "$OUT"

$B convert "$F/siammask_legacy_wrapped_cuda.pth" -o "$OUT/model.siam"
$B inspect "$OUT/model.siam" | head -8
$B run "$OUT/model.siam" --graph template --input template="$F/template_input.npy" --output "$OUT"
$B run "$OUT/model.siam" --graph search --input search="$F/search_input.npy" --input zf="$F/template_zf.npy" --output "$OUT"
$B run "$OUT/model.siam" --graph refine --pos 12,12 --output "$OUT/refine_r12_c12" \
    --input f0="$F/search_f0.npy" --input f1="$F/search_f1.npy" --input f2="$F/search_f2.npy" --input corr="$F/search_corr.npy"

# Compare with the PyTorch goldens (numpy when present; the Swift tests make the same check in CI).
if command -v /usr/bin/python3 >/dev/null && /usr/bin/python3 -c "import numpy" 2>/dev/null; then
    /usr/bin/python3 - "$OUT" "$F" <<'PY'
import sys, numpy as np
out, fx = sys.argv[1], sys.argv[2]
pairs = [("zf", "template_zf")] + [(n, "search_" + n) for n in ("cls", "loc", "corr", "f0", "f1", "f2")] \
      + [("refine_r12_c12/mask", "refine_mask_r12_c12")]
ok = True
for ours, ref in pairs:
    a, b = np.load(f"{out}/{ours}.npy"), np.load(f"{fx}/{ref}.npy")
    err, tol = float(np.abs(a - b).max()), 1e-4 * float(np.abs(b).max()) + 1e-5
    ok &= err <= tol
    print(f"{ours:22s} {str(a.shape):18s} max err {err:.3e}  tolerance {tol:.3e}  {'PASS' if err <= tol else 'FAIL'}")
sys.exit(0 if ok else 1)
PY
else
    echo "numpy not installed: outputs are in $OUT; Tools/test.sh checks them against the goldens"
fi
