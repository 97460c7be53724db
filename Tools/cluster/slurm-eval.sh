#!/usr/bin/env bash
# siammask eval as a Slurm array job: every array task evaluates one shard of the dataset (--shard-from-env reads
# SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN of SLURM_ARRAY_TASK_COUNT), then one dependent job merges the shards into
# the report an unsharded run would write (same report.json / report.md bytes).
#
#   export SIAMMASK=$PWD/.build/release/siammask MODEL=$PWD/model.siam COMPARE=$PWD/model-int8.siam   # COMPARE optional
#   export DATASET=vot ROOT=/datasets/vot2018 OUT=/scratch/$USER/eval-vot2018                          # OUT on a shared filesystem
#   jid=$(sbatch --parsable --array=0-11 Tools/cluster/slurm-eval.sh)
#   sbatch --dependency=afterok:$jid --export=ALL,MERGE=1 --array=0 Tools/cluster/slurm-eval.sh
#
# Results: $OUT/shard-K/ per task, $OUT/report/ after the merge (report.md, report.json, plots/, results/).
# A failed task is rerun with `sbatch --array=K ...` after removing $OUT/shard-K (an output folder is never
# overwritten). Threads follow --cpus-per-task; the sizing arithmetic is in the README ("Evaluating on a cluster").
#SBATCH --job-name=siammask-eval
#SBATCH --cpus-per-task=1
#SBATCH --mem=2G
#SBATCH --time=02:00:00
#SBATCH --output=%x-%A_%a.out
set -euo pipefail

SIAMMASK=${SIAMMASK:-siammask}
: "${MODEL:?set MODEL to the .siam file}" "${DATASET:?set DATASET to vot, otb or davis}" "${ROOT:?set ROOT to the dataset root}"
: "${OUT:?set OUT to a folder on a filesystem every node sees}"
mkdir -p "$OUT"

if [[ -n "${MERGE:-}" ]]; then
    shopt -s nullglob
    shards=("$OUT"/shard-*)
    (( ${#shards[@]} > 0 )) || { echo "no shard folders in $OUT" >&2; exit 1; }
    exec "$SIAMMASK" eval --merge "${shards[@]}" --out "$OUT/report"
fi

: "${SLURM_ARRAY_TASK_ID:?run this with sbatch --array=0-(N-1)}"
index=$(( SLURM_ARRAY_TASK_ID - ${SLURM_ARRAY_TASK_MIN:-0} ))
args=("$MODEL" --dataset "$DATASET" "$ROOT" --shard-from-env --threads "${SLURM_CPUS_PER_TASK:-1}" --out "$OUT/shard-$index")
[[ -n "${COMPARE:-}" ]] && args+=(--compare "$COMPARE")
[[ -n "${SEQUENCES:-}" ]] && args+=(--sequences "$SEQUENCES")
[[ -n "${FRAMES:-}" ]] && args+=(--frames "$FRAMES")
exec "$SIAMMASK" eval "${args[@]}"
