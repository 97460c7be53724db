#!/usr/bin/env bash
# Regenerates every golden file of the repository from its generator, in place. Regenerating is deterministic:
# on a clean tree, --check proves that the committed goldens are exactly what the generators write.
# Usage: Tools/regen_goldens.sh [--check] [--only NAME[,NAME...]]
#   --check  afterwards, fail (exit 1) if any golden differs from the committed one (git diff --exit-code)
#   --only   a subset: fixture, image-ops, tracker, pytorch, opencv (default: all; tracker takes ~10 minutes)
# Needs the Python reference side (Tools/setup.sh --python): the venv (PYTHON, default .venv/bin/python) for the
# fixture and the tracker (they need onnx / onnxruntime), Debian's own python3 (SYSTEM_PYTHON, default
# /usr/bin/python3: python3-torch 1.13, python3-opencv 4.6, python3-pil 9.4; the --bench venv has a newer Pillow)
# for the others; the real footage (SIAMMASK_DATA, default ../shared/data); for the fixture's .siam, a debug build of
# the CLI (built if missing). The fixture's manifest records the onnxruntime version: the venv of
# `Tools/setup.sh --python` (1.19.2) reproduces it, the --bench venv (1.32) changes that line only.
#
# | name      | files                                             | generator                               |
# |-----------|---------------------------------------------------|-----------------------------------------|
# | fixture   | Models/fixture/* (.pth, .onnx, .npy, manifest)    | Tools/export_fixture.py                 |
# |           | Models/fixture/siammask.siam                      | siammask convert (our own converter)    |
# | image-ops | Tests/RuntimeTests/Goldens/image_*.json           | Tools/gen_image_op_goldens.py           |
# | tracker   | Tests/SiamMaskTests/Goldens/tracker/*.jsonl       | Tools/goldens/tracker.py                |
# | pytorch   | Tests/ImportersTests/Goldens/*.pth                | Tools/goldens/pytorch_checkpoints.py    |
# | opencv    | Tests/ImagingTests/Goldens/opencv_decode.json     | Tools/goldens/opencv_decode.py          |
# |           | Tests/ImagingTests/Goldens/min_area_rect.json     | Tools/goldens/min_area_rect.py          |
# Not regenerated here: Models/siammask-synth.pth (hours of training: Models/README.md) and the generated C of
# Sources/CONNX (Tools/gen-onnx-protobuf-c.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

check=0
only="fixture,image-ops,tracker,pytorch,opencv"
while (( $# )); do
    case "$1" in
        --check) check=1 ;;
        --only) only="${2:?--only needs a list}"; shift ;;
        *) echo "regen_goldens: unknown option $1 (use --check, --only LIST)" >&2; exit 2 ;;
    esac
    shift
done
PY=${PYTHON:-.venv/bin/python}
SYS_PY=${SYSTEM_PYTHON:-/usr/bin/python3}
DATA=${SIAMMASK_DATA:-../shared/data}
[[ -d "$DATA" ]] || { echo "regen_goldens: no footage at $DATA (set SIAMMASK_DATA)" >&2; exit 2; }
DATA=$(cd "$DATA" && pwd)   # the fixture's manifest records the absolute path
wants() { [[ ",$only," == *",$1,"* ]]; }
if wants fixture || wants tracker; then
    [[ -x "$PY" ]] || { echo "regen_goldens: $PY is missing (Tools/setup.sh --python, or set PYTHON)" >&2; exit 2; }
fi
paths=()

if wants fixture; then
    echo "regen_goldens: fixture"
    "$PY" Tools/export_fixture.py --width-multiplier 0.0625 --seed 1 --out Models/fixture --data-root "$DATA" \
        --calibration-frames 4 --threads 2 >/dev/null
    [[ -x .build/debug/siammask ]] || swift build --product siammask >/dev/null
    .build/debug/siammask convert Models/fixture/siammask_legacy_wrapped_cuda.pth -o Models/fixture/siammask.siam >/dev/null
    paths+=(Models/fixture)
fi
if wants image-ops; then
    echo "regen_goldens: image-ops"
    "$SYS_PY" Tools/gen_image_op_goldens.py --data-root "$DATA" --out Tests/RuntimeTests/Goldens >/dev/null
    paths+=(Tests/RuntimeTests/Goldens)
fi
if wants tracker; then
    echo "regen_goldens: tracker"
    "$PY" Tools/goldens/tracker.py --data-root "$DATA" --out Tests/SiamMaskTests/Goldens/tracker >/dev/null
    paths+=(Tests/SiamMaskTests/Goldens/tracker)
fi
if wants pytorch; then
    echo "regen_goldens: pytorch"
    "$SYS_PY" Tools/goldens/pytorch_checkpoints.py --out Tests/ImportersTests/Goldens >/dev/null
    paths+=(Tests/ImportersTests/Goldens)
fi
if wants opencv; then
    echo "regen_goldens: opencv"
    "$SYS_PY" Tools/goldens/opencv_decode.py "$DATA" > Tests/ImagingTests/Goldens/opencv_decode.json
    "$SYS_PY" Tools/goldens/min_area_rect.py > Tests/ImagingTests/Goldens/min_area_rect.json
    paths+=(Tests/ImagingTests/Goldens)
fi

if (( check )); then
    untracked=$(git ls-files --others --exclude-standard -- "${paths[@]}")
    if ! git diff --exit-code --stat -- "${paths[@]}" || [[ -n "$untracked" ]]; then
        [[ -n "$untracked" ]] && echo "untracked: $untracked"
        echo "regen_goldens: the regenerated goldens differ from the committed ones" >&2
        exit 1
    fi
    echo "regen_goldens: ${paths[*]}: identical to the committed files"
fi
