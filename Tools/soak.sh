#!/usr/bin/env bash
# The soak run of issue 11: converts the trained test model, calibrates and quantises it to int8 as Tools/demo.sh
# does, then tracks a long generated sequence (rendered in memory, no frame files) with each model through
# `siammask soak`: resident memory, time per frame and NaN/Inf per frame, with a pass/fail verdict.
#   Tools/soak.sh [FRAMES]          # default 10000; reports in out/soak/soak-{fp32,int8}.{json,log}
# Environment: OUT (default out/soak), THREADS (default 1: no worker spinning, so the CPU time per frame is the
# work itself, which keeps the time verdict meaningful on a shared machine), SEED (default 7), NICE (default 10),
# PARALLEL=1 to soak both models at once.
set -euo pipefail
cd "$(dirname "$0")/.."
FRAMES=${1:-10000}
OUT=${OUT:-out/soak}
T=${THREADS:-1}
SEED=${SEED:-7}
NICE=${NICE:-10}
swift build -c release --product siammask
B=.build/release/siammask
mkdir -p "$OUT"
if [[ ! -f "$OUT/model-int8.siam" ]]; then
    $B convert Models/siammask-synth.pth -o "$OUT/model.siam"
    for s in 3001 3002; do rm -rf "$OUT/calib$s"; $B synth --seed $s --frames 40 --difficulty medium --out "$OUT/calib$s" > /dev/null; done
    $B calibrate "$OUT/model.siam" --sequence "$OUT/calib3001" --sequence "$OUT/calib3002" --threads "$T" -o "$OUT/calibration.json"
    $B quantize "$OUT/model.siam" --calibration "$OUT/calibration.json" -o "$OUT/model-int8.siam"
fi
soak() {
    local m=$1 f="$OUT/model.siam" start
    [[ $m == int8 ]] && f="$OUT/model-int8.siam"
    start=$(date +%s)
    local rc=0
    nice -n "$NICE" $B soak "$f" --frames "$FRAMES" --seed "$SEED" --threads "$T" --report "$OUT/soak-$m.json" \
        > "$OUT/soak-$m.log" || rc=$?
    echo "$m: $(($(date +%s) - start)) s" >> "$OUT/soak-$m.log"
    return $rc
}
status=0
if [[ "${PARALLEL:-0}" == 1 ]]; then
    soak fp32 & a=$!
    soak int8 & b=$!
    wait $a || status=1
    wait $b || status=1
else
    soak fp32 || status=1
    soak int8 || status=1
fi
cat "$OUT/soak-fp32.log" "$OUT/soak-int8.log"
exit $status
