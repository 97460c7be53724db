#!/usr/bin/env bash
# The main job on the bundled default, the product's whole pipeline: set up, build (release), convert the bundled
# model from its PyTorch checkpoint, generate a synthetic sequence and two calibration sequences, calibrate, quantise
# to int8, track with float32 and int8 (overlays a person can look at in out/demo/track-*/overlay), write the drift
# report (out/demo/drift/drift.md + drift.svg), print a summary, and check the three graphs against the PyTorch goldens.
set -euo pipefail
cd "$(dirname "$0")/.."
Tools/setup.sh
swift build -c release --product siammask
B=.build/release/siammask
OUT=${OUT:-out/demo}
rm -rf "$OUT"; mkdir -p "$OUT"

# The trained test model when it is bundled, else the reduced-width fixture (random weights: it will not track).
if [[ -f Models/siammask-synth.pth ]]; then SRC=Models/siammask-synth.pth; else SRC=Models/fixture/siammask_legacy_wrapped_cuda.pth; fi
T=2   # threads
echo "== convert the bundled model"
$B convert "$SRC" -o "$OUT/model.siam"
$B inspect "$OUT/model.siam" > "$OUT/model.txt"; head -4 "$OUT/model.txt"
echo "== generate a sequence to track (seed 42) and two calibration sequences (seeds 3001, 3002: never trained on)"
$B synth --seed 42 --frames 60 --difficulty medium --out "$OUT/sequence"
for s in 3001 3002; do $B synth --seed $s --frames 40 --difficulty medium --out "$OUT/calib$s" > /dev/null; done
echo "== calibrate on the calibration sequences (the float32 tracker's own crops), quantise to int8"
$B calibrate "$OUT/model.siam" --sequence "$OUT/calib3001" --sequence "$OUT/calib3002" --threads $T -o "$OUT/calibration.json"
$B quantize "$OUT/model.siam" --calibration "$OUT/calibration.json" -o "$OUT/model-int8.siam"
$B inspect "$OUT/model-int8.siam" > "$OUT/model-int8.txt"
echo "== track with float32 and with int8 (overlays in $OUT/track-*/overlay/)"
$B track "$OUT/model.siam" --sequence "$OUT/sequence" --threads $T --out "$OUT/track-fp32" | tee "$OUT/track-fp32.log"
$B track "$OUT/model-int8.siam" --sequence "$OUT/sequence" --threads $T --out "$OUT/track-int8" | tee "$OUT/track-int8.log"
echo "== drift of int8 against float32 (report: $OUT/drift/drift.md, plot: $OUT/drift/drift.svg)"
status=0
$B drift "$OUT/model.siam" "$OUT/model-int8.siam" --sequence "$OUT/sequence" --budget 0.9 --threads $T --out "$OUT/drift" \
    | tee "$OUT/drift.log" || status=$?

echo "== summary"
size() { stat -c %s "$1"; }
echo "model: float32 $(size "$OUT/model.siam") bytes, int8 $(size "$OUT/model-int8.siam") bytes"
echo "float32: $(grep 'against the ground truth' "$OUT/track-fp32.log" | sed 's/against the ground truth: //')"
echo "         $(grep 'per frame' "$OUT/track-fp32.log")"
echo "int8:    $(grep 'against the ground truth' "$OUT/track-int8.log" | sed 's/against the ground truth: //')"
echo "         $(grep 'per frame' "$OUT/track-int8.log")"
echo "drift:   $(grep '^drift (' "$OUT/drift.log")"
[[ $status -eq 0 ]] && echo "drift budget (box and mask IoU >= 0.9 against float32): PASSED" || echo "drift budget: FAILED"

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
exit $status
