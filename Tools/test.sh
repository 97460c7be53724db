#!/usr/bin/env bash
# Sets up and runs the whole test suite: Tools/setup.sh, then every Swift test target (XCTest; there are no
# Swift Testing tests, so that runner is disabled rather than reporting an empty run).
set -euo pipefail
cd "$(dirname "$0")/.."
Tools/setup.sh
swift build --build-tests
mkdir -p .build
set +e
swift test --skip-build --disable-swift-testing 2>&1 | tee .build/test.log
status=${PIPESTATUS[0]}
set -e
# The arm64 NEON / dot-product int8 kernels, cross-compiled and run under qemu-user, bit-exact against the reference.
arm_status=0
Tools/test_arm64.sh || arm_status=$?
# One plain closing line with the counts of the XCTest summary.
summary=$(grep -E "^[[:space:]]*Executed [0-9]+ tests?" .build/test.log | tail -1)
executed=$(echo "$summary" | sed -E 's/.*Executed ([0-9]+) tests?.*/\1/')
failed=$(echo "$summary" | grep -oE '[0-9]+ failures?' | grep -oE '^[0-9]+')
skipped=$(echo "$summary" | grep -oE '[0-9]+ tests? skipped' | grep -oE '^[0-9]+' || echo 0)
if [[ -n "$summary" ]]; then
    echo "tests: $((executed - failed - skipped)) passed, ${failed} failed, ${skipped} skipped"
fi
if [[ $status -eq 0 && $arm_status -ne 0 ]]; then status=$arm_status; fi
exit "$status"
