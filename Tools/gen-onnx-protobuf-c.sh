#!/bin/sh
# Regenerates the protobuf-c code of the ONNX importer from Schemas/onnx-subset.proto:
#   Sources/CONNX/onnx-subset.pb-c.c and Sources/CONNX/include/onnx-subset.pb-c.h
# The output is committed; the build never runs protoc-c. Needs protoc-c (Debian: protobuf-c-compiler 1.4.1).
# Usage: Tools/gen-onnx-protobuf-c.sh            (from anywhere)
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
schema_dir="$root/Schemas"
target="$root/Sources/CONNX"

command -v protoc-c >/dev/null 2>&1 || { echo "protoc-c not found (apt-get install protobuf-c-compiler)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

protoc-c --proto_path="$schema_dir" --c_out="$tmp" "$schema_dir/onnx-subset.proto"

# The header goes to the target's public include/ folder. SwiftPM puts include/ on the C target's own header search
# path, so the generated `#include "onnx-subset.pb-c.h"` resolves unchanged; check that it is still spelled so.
grep -q '^#include "onnx-subset.pb-c.h"$' "$tmp/onnx-subset.pb-c.c" || {
    echo "unexpected include line in generated onnx-subset.pb-c.c" >&2; exit 1; }

mkdir -p "$target/include"
cp "$tmp/onnx-subset.pb-c.h" "$target/include/onnx-subset.pb-c.h"
cp "$tmp/onnx-subset.pb-c.c" "$target/onnx-subset.pb-c.c"
echo "regenerated $target/onnx-subset.pb-c.c and $target/include/onnx-subset.pb-c.h ($(protoc-c --version | head -1))"
