#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer + AddressSanitizer) of every reader of hostile input: the targets are the
# package in Fuzz/ (Fuzz/README.md), built here with `-sanitize=fuzzer,address` (release, cached in Fuzz/.build).
#
#   Tools/fuzz.sh --list                      the targets, one a line, with what each covers
#   Tools/fuzz.sh TARGET SECONDS [ARGS...]    build (incremental), then fuzz TARGET for SECONDS (wall clock);
#                                             extra ARGS go to libFuzzer (e.g. -runs=1000000 -jobs=2)
#   Tools/fuzz.sh TARGET --repro FILE...      run TARGET once on each FILE (a crash input, a regression input)
#   Tools/fuzz.sh --ci [SECONDS]              every target for SECONDS each (default 15); exit 1 on any finding
#   Tools/fuzz.sh --build                     build only
#
# The corpus grows in Fuzz/.build/corpus/TARGET (seeded from the committed Fuzz/Corpus/TARGET, which
# Fuzz/make_seeds.sh regenerates); crash / leak / timeout / OOM inputs land in Fuzz/.build/artifacts/TARGET/.
# Limits: 2048 MB resident (-rss_limit_mb; -malloc_limit_mb the same), 10 s per input (-timeout: a slower input is
# reported as a hang), inputs up to 1 MiB (-max_len), leak detection on (LeakSanitizer at exit of each input that
# allocates more than it frees over a run). FUZZ_NICE (default 10) is the nice level of the fuzzing process.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

targets=(siam pth onnx npy image groundtruth sequence calibration)
describe() {
    case "$1" in
        siam) echo ".siam reader (ModelFormat): header, metadata, tensor table, zstd frames; checksums repaired" ;;
        pth) echo "PyTorch .pth reader (Importers): zip and legacy containers, unpickler, tensors, canonical mapping" ;;
        onnx) echo "ONNX importer (Importers): protobuf-c decoding, model conversion, graph analysis, structure matching" ;;
        npy) echo ".npy reader (Tensors), round trip of accepted tensors" ;;
        image) echo "JPEG / PNG decoding (Imaging via CImageIO: libturbojpeg, libspng), BGR, grey, label maps" ;;
        groundtruth) echo "VOT / OTB ground-truth lines, VOT / OTB result files (Evaluation)" ;;
        sequence) echo "sequence layouts on disk (Evaluation.SequenceReader): VOT, VOT color/, OTB, synthetic" ;;
        calibration) echo "calibration-table JSON (Quantization): decode, validate, lookups, re-encode" ;;
        *) return 1 ;;
    esac
}

build() {
    (cd Fuzz && swift build -c release -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address \
        -Xswiftc -use-ld=lld "$@" 2>&1 | grep -Ev '^\[[0-9]+/[0-9]+\]' >&2) || {
        echo "fuzz: build failed" >&2
        exit 2
    }
}

symbolizer=$(command -v llvm-symbolizer || true)
[[ -z "$symbolizer" && -x "$(dirname "$(command -v swift)")/llvm-symbolizer" ]] &&
    symbolizer="$(dirname "$(command -v swift)")/llvm-symbolizer"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1:handle_abort=1}
[[ -n "$symbolizer" ]] && export ASAN_SYMBOLIZER_PATH="$symbolizer"
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$root/Fuzz/lsan.supp:print_suppressions=0}

common_flags() {
    local t=$1
    echo "-rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 -max_len=1048576 -print_final_stats=1" \
        "-dict=$root/Fuzz/Dictionaries/$t.dict -artifact_prefix=$root/Fuzz/.build/artifacts/$t/"
}

run_target() {
    local t=$1 seconds=$2
    shift 2
    describe "$t" >/dev/null || { echo "fuzz: unknown target '$t' (see --list)" >&2; exit 2; }
    local corpus="$root/Fuzz/.build/corpus/$t"
    mkdir -p "$corpus" "$root/Fuzz/.build/artifacts/$t"
    # shellcheck disable=SC2046
    nice -n "${FUZZ_NICE:-10}" "$root/Fuzz/.build/release/fuzz-$t" $(common_flags "$t") -max_total_time="$seconds" \
        "$@" "$corpus" "$root/Fuzz/Corpus/$t"
}

case "${1:-}" in
    --list)
        for t in "${targets[@]}"; do printf '%-12s %s\n' "$t" "$(describe "$t")"; done
        ;;
    --build)
        build
        ;;
    --ci)
        seconds=${2:-15}
        build
        failed=()
        for t in "${targets[@]}"; do
            log="$root/Fuzz/.build/ci-$t.log"
            if run_target "$t" "$seconds" >"$log" 2>&1; then
                echo "fuzz: $t: $(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 | sed -E 's/^#([0-9]+)[[:space:]]+DONE[[:space:]]+/\1 runs, /')"
            else
                echo "fuzz: $t: FAILED (log: $log)"
                grep -E 'ERROR: |SUMMARY: |Test unit written' "$log" | head -5
                failed+=("$t")
            fi
        done
        if ((${#failed[@]})); then
            echo "fuzz: findings in ${failed[*]}" >&2
            exit 1
        fi
        ;;
    "" | -h | --help)
        sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'
        ;;
    *)
        t=$1
        describe "$t" >/dev/null || { echo "fuzz: unknown target '$t' (see --list)" >&2; exit 2; }
        [[ $# -ge 2 ]] || { echo "usage: Tools/fuzz.sh TARGET SECONDS [libFuzzer args] | TARGET --repro FILE..." >&2; exit 2; }
        build
        if [[ $2 == --repro ]]; then
            shift 2
            # shellcheck disable=SC2046
            exec "$root/Fuzz/.build/release/fuzz-$t" $(common_flags "$t") -runs=1 "$@"
        fi
        seconds=$2
        shift 2
        run_target "$t" "$seconds" "$@"
        ;;
esac
