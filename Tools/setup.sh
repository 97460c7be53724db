#!/usr/bin/env bash
# Installs what the project needs from Debian. Usage: Tools/setup.sh [--python] [--bench] [--eval]
#   (no option)  the Swift product's libraries: protobuf-c, zstd, turbojpeg, spng, pkg-config; ffmpeg for video input;
#                clang-format for Tools/format.sh
#   --python     also the reference side in Tools/: Debian's torch/numpy/opencv and a venv with onnx + onnxruntime
#   --bench      --python plus the peer runtimes of Tools/bench_peers.py (Tools/requirements-bench.txt: OpenVINO,
#                NNCF, ncnn, pnnx, onnxruntime 1.32) in the same venv, with numpy held at the venv's (Debian's) version
#   --eval       --python plus the reference toolkits of Tools/check_metrics.py (Tools/requirements-eval.txt: got10k,
#                vot-toolkit, shapely, scikit-image), numpy held likewise, without their opencv-python
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libprotobuf-c-dev protobuf-c-compiler libzstd-dev libturbojpeg0-dev libspng-dev pkg-config ffmpeg clang-format)
python=0
bench=0
eval_tools=0
for arg in "$@"; do
    case "$arg" in
        --python) python=1 ;;
        --bench) python=1; bench=1 ;;
        --eval) python=1; eval_tools=1 ;;
        *) echo "setup: unknown option $arg (use --python, --bench, --eval)" >&2; exit 2 ;;
    esac
done
if (( python )); then packages+=(python3-torch python3-numpy python3-opencv python3-venv python3-pip); fi

missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if (( ${#missing[@]} )); then
    SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    echo "setup: installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if (( python )) && [[ ! -x .venv/bin/python ]]; then
    /usr/bin/python3 -m venv --system-site-packages .venv
    .venv/bin/pip install -q -r Tools/requirements.txt
fi
if (( bench )); then
    # Keep the numpy torch 1.13 and OpenCV were built against: the peers' dependencies would pull numpy 2.
    constraints=$(mktemp)
    trap 'rm -f "$constraints"' EXIT
    .venv/bin/python -c 'import numpy; print("numpy==" + numpy.__version__)' > "$constraints"
    .venv/bin/pip install -q -c "$constraints" -r Tools/requirements-bench.txt
    .venv/bin/python -c 'import openvino, ncnn, pnnx, onnxruntime' || { echo "setup: peer runtimes do not import" >&2; exit 1; }
fi
if (( eval_tools )); then
    # A full pinned closure installed without dependency resolution: vot-toolkit would otherwise pull opencv-python.
    eval_constraints=$(mktemp)
    .venv/bin/python -c 'import numpy; print("numpy==" + numpy.__version__)' > "$eval_constraints"
    .venv/bin/pip install -q --no-deps -c "$eval_constraints" -r Tools/requirements-eval.txt
    rm -f "$eval_constraints"
    .venv/bin/python -c 'import got10k.experiments.otb, vot.analysis.supervised, vot.region, shapely, skimage.morphology' \
        || { echo "setup: reference toolkits do not import" >&2; exit 1; }
fi
echo "setup: ok"
