#!/usr/bin/env bash
# The main job on the bundled default: set up, build (release), convert the bundled model from its PyTorch
# checkpoint, generate a synthetic sequence, track it (overlays a person can look at in out/demo/track/overlay),
# print accuracy against the generator's ground truth, and check the three graphs against the PyTorch goldens.
set -euo pipefail
cd "$(dirname "$0")/.."
Tools/setup.sh
swift build -c release --product siammask
B=.build/release/siammask
OUT=${OUT:-out/demo}
rm -rf "$OUT"; mkdir -p "$OUT"

# The trained test model when it is bundled, else the reduced-width fixture (random weights: it will not track).
if [[ -f Models/siammask-synth.pth ]]; then SRC=Models/siammask-synth.pth; else SRC=Models/fixture/siammask_legacy_wrapped_cuda.pth; fi
$B convert "$SRC" -o "$OUT/model.siam"
$B inspect "$OUT/model.siam" > "$OUT/model.txt"; head -4 "$OUT/model.txt"
$B synth --seed 42 --frames 60 --difficulty medium --out "$OUT/sequence"
$B track "$OUT/model.siam" --sequence "$OUT/sequence" --threads 2 --out "$OUT/track"
echo "overlays: $OUT/track/overlay/, masks: $OUT/track/masks/, polygons: $OUT/track/polygons.txt"

# The three graphs of the fixture against PyTorch's goldens.
F=Models/fixture
$B run "$F/siammask.siam" --graph template --input template="$F/template_input.npy" --output "$OUT/graphs" > "$OUT/run.log"; tail -1 "$OUT/run.log"
$B run "$F/siammask.siam" --graph search --input search="$F/search_input.npy" --input zf="$F/template_zf.npy" \
    --output "$OUT/graphs" > "$OUT/run.log"; tail -1 "$OUT/run.log"
$B run "$F/siammask.siam" --graph refine --pos 12,12 --output "$OUT/graphs/refine_r12_c12" \
    --input f0="$F/search_f0.npy" --input f1="$F/search_f1.npy" --input f2="$F/search_f2.npy" --input corr="$F/search_corr.npy" > "$OUT/run.log"; tail -1 "$OUT/run.log"
if /usr/bin/python3 -c "import numpy" 2>/dev/null; then
    /usr/bin/python3 - "$OUT/graphs" "$F" <<'PY'
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
    echo "numpy not installed: graph outputs are in $OUT/graphs; Tools/test.sh checks them against the goldens"
fi
