#!/usr/bin/env bash
# Regenerates the committed seed corpora (Fuzz/Corpus/<target>/): seeds cut from the fixture model (the reference
# network exported at the smallest widths by Tools/export_fixture.py, converted, calibrated and quantised by our CLI)
# and the small generated seeds of Fuzz/Tools/make_seeds.py. Needs .venv (Tools/setup.sh --python), ../shared/data
# (BN calibration of the export) and a debug build of the CLI (swift build). Deterministic.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
python=${PYTHON:-$root/.venv/bin/python}
cli=${SIAMMASK:-$root/.build/debug/siammask}
corpus=$root/Fuzz/Corpus
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$python" Tools/export_fixture.py --width-multiplier 0.001 --seed 1 --out "$work/fixture" --threads 1 >/dev/null
"$cli" synth --seed 3 --frames 3 --width 320 --height 240 --out "$work/seq" >/dev/null
"$cli" convert "$work/fixture/siammask_legacy_wrapped.pth" -o "$work/tiny.siam" >/dev/null
"$cli" calibrate "$work/tiny.siam" --sequence "$work/seq" -o "$work/tiny.calib.json" >/dev/null
"$cli" quantize "$work/tiny.siam" --calibration "$work/tiny.calib.json" -o "$work/tiny-int8.siam" >/dev/null

rm -rf "$corpus"
mkdir -p "$corpus"/{siam,pth,onnx,npy,image,groundtruth,sequence,calibration}
cp "$work/tiny.siam" "$corpus/siam/fixture-fp32.siam"
cp "$work/tiny-int8.siam" "$corpus/siam/fixture-int8.siam"
cp "$work/fixture/siammask_legacy_wrapped.pth" "$corpus/pth/fixture-legacy-wrapped.pth"
cp "$work/fixture/siammask_zip_bare_module.pth" "$corpus/pth/fixture-zip-bare-module.pth"
cp "$work/fixture/template_folded.onnx" "$corpus/onnx/fixture-template-folded.onnx"
cp "$work/fixture/refine_folded.onnx" "$corpus/onnx/fixture-refine-folded.onnx"
cp "$work/fixture/search_unfolded.onnx" "$corpus/onnx/fixture-search-unfolded.onnx"
cp "$work/fixture/template_zf.npy" "$corpus/npy/fixture-template-zf.npy"
cp "$work/seq/00000.jpg" "$corpus/image/synth-frame.jpg"
cp "$work/seq/masks/00000.png" "$corpus/image/synth-mask.png"
"$python" Fuzz/Tools/make_seeds.py "$corpus" "$work"
du -sh "$corpus"
