#!/usr/bin/env bash
# Sets up and runs the whole test suite: Tools/setup.sh, then every Swift test target.
set -euo pipefail
cd "$(dirname "$0")/.."
Tools/setup.sh
swift build --build-tests
swift test --skip-build 2>&1 | tee .build/test.log
