#!/usr/bin/env bash
# Installs what the project needs from Debian. Usage: Tools/setup.sh [--python]
#   (no option)  the Swift product's libraries: protobuf-c, zstd, turbojpeg, spng, pkg-config; ffmpeg for video input
#   --python     also the reference side in Tools/: Debian's torch/numpy/opencv and a venv with onnx + onnxruntime
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libprotobuf-c-dev protobuf-c-compiler libzstd-dev libturbojpeg0-dev libspng-dev pkg-config ffmpeg)
python=0
[[ "${1:-}" == "--python" ]] && python=1
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
echo "setup: ok"
