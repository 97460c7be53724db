#!/usr/bin/env bash
# The int8 kernels on arm64 without an arm64 machine: cross-compiles the C kernels (reference, neon, neondot) with
# the C test driver Tools/arm64/test_int8.c and runs it under qemu-user, every Arm tier bit-exact against the
# reference on the network's shapes, tile edges, saturation extremes, row splits, every epilogue and the xcorr.
#   1. qemu -cpu max (Armv8.x with the dot product): neon and neondot against the reference;
#   2. qemu -cpu cortex-a57 (Armv8.0, no dot product, --quick): dispatch must leave neondot out, neon still exact;
#   3. when clang can target aarch64 (the Swift toolchain's can): the kernels compiled by clang, as SwiftPM builds
#      them on arm64, -cpu max --quick.
# Installs gcc-aarch64-linux-gnu, libc6-dev-arm64-cross and qemu-user with apt-get when missing.
# The closing line is "N passed, N failed" (both runs together); exit status 0 only when nothing failed.
# -ffp-contract=off: gcc ignores `#pragma STDC FP_CONTRACT` and fuses a*b+c by default; the kernels' epilogue
# must not be fused (siam_int8.h).
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || need+=(gcc-aarch64-linux-gnu)
[[ -e /usr/aarch64-linux-gnu/include/stdio.h ]] || need+=(libc6-dev-arm64-cross)
command -v qemu-aarch64 >/dev/null 2>&1 || need+=(qemu-user)
if ((${#need[@]})); then
    sudo=""
    [[ $(id -u) -ne 0 ]] && sudo=sudo
    echo "installing ${need[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}" >/dev/null
fi

out=.build/arm64-int8
mkdir -p "$out"
src=Sources/CKernels/int8
aarch64-linux-gnu-gcc -O2 -march=armv8-a -ffp-contract=off -Wall -Wextra -ISources/CKernels/include \
    -ISources/CKernels Tools/arm64/test_int8.c "$src"/int8_reference.c "$src"/int8_dispatch.c "$src"/int8_neon.c \
    "$src"/int8_neondot.c Sources/CKernels/cpu_features.c -lm -lpthread -o "$out/test_int8"

total_passed=0
total_failed=0
run() {   # run LABEL BINARY CPU [ARGS...]
    local label=$1 binary=$2 cpu=$3
    shift 3
    echo "== $label (qemu-aarch64 -cpu $cpu)"
    set +e
    qemu-aarch64 -L /usr/aarch64-linux-gnu -cpu "$cpu" "$binary" "$@" 2>&1 | tee "$out/$label.log"
    set -e
    local line
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out/$label.log" | tail -1 || true)
    if [[ -z "$line" ]]; then
        echo "$label: no result line (crashed?)"
        total_failed=$((total_failed + 1))
        return
    fi
    total_passed=$((total_passed + $(echo "$line" | cut -d' ' -f1)))
    total_failed=$((total_failed + $(echo "$line" | cut -d' ' -f3)))
}
run with-dotprod "$out/test_int8" max
run without-dotprod "$out/test_int8" cortex-a57 --quick
# What SwiftPM builds on arm64: the kernels compiled by clang (default -ffp-contract=on; the sources turn it off),
# when a clang that targets aarch64 is at hand; linked with gcc's cross toolchain.
if command -v clang >/dev/null 2>&1 &&
    clang --target=aarch64-linux-gnu -isystem /usr/aarch64-linux-gnu/include -O2 -ISources/CKernels/include \
        -ISources/CKernels -c "$src"/int8_neon.c -o "$out/probe.o" >/dev/null 2>&1; then
    objs=()
    for f in Tools/arm64/test_int8.c "$src"/int8_reference.c "$src"/int8_dispatch.c "$src"/int8_neon.c \
        "$src"/int8_neondot.c Sources/CKernels/cpu_features.c; do
        clang --target=aarch64-linux-gnu -isystem /usr/aarch64-linux-gnu/include -O2 -ISources/CKernels/include \
            -ISources/CKernels -c "$f" -o "$out/$(basename "$f" .c).clang.o"
        objs+=("$out/$(basename "$f" .c).clang.o")
    done
    aarch64-linux-gnu-gcc "${objs[@]}" -lm -lpthread -o "$out/test_int8_clang"
    run clang-build "$out/test_int8_clang" max --quick
else
    echo "== clang-build: skipped (no clang targeting aarch64)"
fi
if ! grep -q '^tiers: neon neondot ' "$out/with-dotprod.log"; then
    echo "with-dotprod: expected the tiers neon and neondot"
    total_failed=$((total_failed + 1))
fi
if ! grep -q '^tiers: neon (active: neon)' "$out/without-dotprod.log"; then
    echo "without-dotprod: expected only the neon tier"
    total_failed=$((total_failed + 1))
fi
echo "$total_passed passed, $total_failed failed"
[[ $total_failed -eq 0 ]]
