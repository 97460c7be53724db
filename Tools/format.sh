#!/usr/bin/env bash
# Formats the Swift (swift format, .swift-format) under Sources/, Tests/ and Fuzz/Sources and the C (clang-format,
# .clang-format) under Sources/CKernels, Sources/CImageIO and Fuzz/Sources, in place. Generated code (Sources/CONNX/*.pb-c.*) is left alone.
# Usage: Tools/format.sh [--check]
#   --check  changes nothing; lists the files that are not formatted and exits 1 if there are any (CI)
set -euo pipefail
cd "$(dirname "$0")/.."

check=0
for arg in "$@"; do
    case "$arg" in
        --check) check=1 ;;
        *) echo "format: unknown option $arg (use --check)" >&2; exit 2 ;;
    esac
done
command -v clang-format >/dev/null || { echo "format: clang-format is missing (Tools/setup.sh installs it)" >&2; exit 2; }
swift format --version >/dev/null 2>&1 || { echo "format: 'swift format' is missing (Swift 6 toolchain)" >&2; exit 2; }

mapfile -t swift_files < <(git ls-files --cached --others --exclude-standard -- 'Sources/*.swift' 'Tests/*.swift' \
    'Fuzz/Sources/*.swift' | sort)
mapfile -t c_files < <(git ls-files --cached --others --exclude-standard -- \
    'Sources/CKernels/*.c' 'Sources/CKernels/*.h' 'Sources/CImageIO/*.c' 'Sources/CImageIO/*.h' \
    'Fuzz/Sources/*.c' 'Fuzz/Sources/*.h' | sort)

if (( ! check )); then
    swift format format --configuration .swift-format --parallel -i "${swift_files[@]}"
    clang-format -i --style=file "${c_files[@]}"
    echo "format: ${#swift_files[@]} Swift and ${#c_files[@]} C files formatted"
    exit 0
fi

# Check: format a copy of each file and compare, so that the list is exact (lint modes report rule findings, not
# whether the formatter would change the file).
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
unformatted=()
mkdir -p "$tmp/swift"
for f in "${swift_files[@]}"; do mkdir -p "$tmp/swift/$(dirname "$f")"; cp "$f" "$tmp/swift/$f"; done
(cd "$tmp/swift" && swift format format --configuration "$OLDPWD/.swift-format" --parallel -i "${swift_files[@]}")
for f in "${swift_files[@]}"; do cmp -s "$f" "$tmp/swift/$f" || unformatted+=("$f"); done
for f in "${c_files[@]}"; do
    clang-format --style=file --assume-filename="$f" < "$f" | cmp -s "$f" - || unformatted+=("$f")
done
if (( ${#unformatted[@]} )); then
    printf '%s\n' "${unformatted[@]}"
    echo "format: ${#unformatted[@]} file(s) not formatted (run Tools/format.sh)" >&2
    exit 1
fi
echo "format: ${#swift_files[@]} Swift and ${#c_files[@]} C files formatted"
