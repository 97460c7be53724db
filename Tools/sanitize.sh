#!/usr/bin/env bash
# Runs tests under a sanitizer, every target compiled with it (Swift and the C kernels and shims: SwiftPM passes
# --sanitize to clang too; UBSan: the C targets, see below), in its own build folder (.build/sanitize-KIND), and
# prints one summary line.
#   Tools/sanitize.sh address [FILTER]     # AddressSanitizer (+ LeakSanitizer), the whole suite by default
#   Tools/sanitize.sh undefined [FILTER]   # UndefinedBehaviorSanitizer on the C code, the whole suite by default
#   Tools/sanitize.sh thread [FILTER]      # ThreadSanitizer, the threaded tests by default (worker pool, executors
#                                          # with threads > 1, FrameNetwork, trackers and the synthetic renderer)
# Any sanitizer report fails the run (halt_on_error), as does a failing test. Log: .build/sanitize-KIND.log.
# Leaks: checked in the siammask processes the CLI tests start; Tools/sanitize/lsan.supp lists the toolchain's own
# (Foundation, and XCTest, which never frees its test cases, so the test process itself is not leak-checked).
# Environment: NICE (default 10), JOBS (build jobs, default: the CPU count).
set -uo pipefail
cd "$(dirname "$0")/.."
kind=${1:-}
case "$kind" in
address | undefined) default_filter="" ;;
thread) default_filter='ThreadPoolTests|RuntimeTests\.RuntimeTests|Int8LoweringTests|OperationTableTests|FrameNetworkTests|FrontDoorTests|HostileFrameTests|SyntheticTests' ;;
*)
    echo "usage: Tools/sanitize.sh address|undefined|thread [FILTER]" >&2
    exit 2
    ;;
esac
filter=${2:-$default_filter}
scratch=.build/sanitize-$kind
log=.build/sanitize-$kind.log
mkdir -p .build
nice=(nice -n "${NICE:-10}")
jobs=(); [[ -n "${JOBS:-}" ]] && jobs=(-j "$JOBS")
# halt_on_error: the first report ends the process with an error, so no finding passes unnoticed.
export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:abort_on_error=0:print_summary=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:print_summary=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export LSAN_OPTIONS="suppressions=$PWD/Tools/sanitize/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1${TSAN_OPTIONS:+:$TSAN_OPTIONS}"
start=$(date +%s)
# swiftc has no -sanitize=undefined on Linux (Swift traps on overflow and out-of-bounds access itself): for
# "undefined" the C targets are compiled with clang's -fsanitize=undefined (every check, no recovery, including
# -fsanitize=function on the kernels' dispatch tables) and every link pulls in clang's UBSan runtime.
if [[ $kind == undefined ]]; then
    sanitize=(-Xcc -fsanitize=undefined -Xcc -fno-sanitize-recover=all -Xcc -fno-omit-frame-pointer
        -Xswiftc -Xclang-linker -Xswiftc -fsanitize=undefined)
else
    sanitize=(--sanitize="$kind")
fi
if ! "${nice[@]}" swift build --build-tests "${sanitize[@]}" --scratch-path "$scratch" "${jobs[@]}" > "$log" 2>&1; then
    tail -30 "$log"
    echo "sanitize $kind: BUILD FAILED after $(($(date +%s) - start)) s (log: $log)"
    exit 1
fi
built=$(date +%s)
args=(--skip-build --disable-swift-testing "${sanitize[@]}" --scratch-path "$scratch")
[[ -n "$filter" ]] && args+=(--filter "$filter")
"${nice[@]}" swift test "${args[@]}" >> "$log" 2>&1
status=$?
end=$(date +%s)
summary=$(grep -E "^[[:space:]]*Executed [0-9]+ tests?" "$log" | tail -1 | sed -E 's/^[[:space:]]+//')
findings=$(grep -cE "ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|WARNING: ThreadSanitizer|SUMMARY: (Address|Undefined|Thread)" "$log")
[[ $status -eq 0 ]] && verdict=PASSED || verdict=FAILED
echo "sanitize $kind: $verdict; ${summary:-no XCTest summary (the process died: see the log)}; sanitizer report lines: $findings;" \
    "build $((built - start)) s, tests $((end - built)) s${filter:+; filter '$filter'} (log: $log)"
exit $status
