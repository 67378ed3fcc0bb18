#!/usr/bin/env bash
# One host, all its GPUs: python -m ssl_jax.main on every local GPU at once.
#
#   launch/gpu_host.sh [--dry-run] --config=configs/intl_imagenet.py --workdir=DIR [--config.x=y ...]
#
# JAX sees every visible GPU and splits the global batch across them.
# TensorFlow (the input pipeline) is kept off the GPUs by ssl_jax.main; JAX
# is told to allocate on demand up to a fraction of GPU memory
# (SSL_JAX_GPU_MEM_FRACTION, default 0.9) instead of grabbing 75 % at start,
# so a second process (a k-NN job, a profiler) still fits.
# SIGTERM/Ctrl-C is passed to the run, which saves a checkpoint and exits 0;
# run the same command again to resume.
set -euo pipefail

dry_run=0
args=()
for arg in "$@"; do
  case "$arg" in
    --dry-run) dry_run=1 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) args+=("$arg") ;;
  esac
done
if [[ ${#args[@]} -eq 0 ]]; then
  echo "usage: $0 [--dry-run] --config=CONFIG --workdir=DIR [--config.key=value ...]" >&2
  exit 2
fi

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
env_vars=(
  "XLA_PYTHON_CLIENT_PREALLOCATE=false"
  "XLA_PYTHON_CLIENT_MEM_FRACTION=${SSL_JAX_GPU_MEM_FRACTION:-0.9}"
  "TF_FORCE_GPU_ALLOW_GROWTH=true"
)
cmd=(env "${env_vars[@]}" "${PYTHON:-python}" -m ssl_jax.main "${args[@]}")

if [[ $dry_run -eq 1 ]]; then
  printf 'cd %q &&' "$repo"
  printf ' %q' "${cmd[@]}"
  printf '\n'
  exit 0
fi
cd "$repo"
exec "${cmd[@]}"
