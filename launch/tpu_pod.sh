#!/usr/bin/env bash
# A Cloud TPU VM pod: create it (once), install, and run the same command on every worker.
#
#   launch/tpu_pod.sh [--dry-run] [--create] --name=NAME --zone=ZONE [--type=v4-32] \
#       [--version=tpu-ubuntu2204-base] [--repo=URL] -- --config=configs/intl_imagenet.py --workdir=gs://BUCKET/DIR
#
# Everything after "--" goes to python -m ssl_jax.main on each worker; the
# workdir must be shared by the workers (a GCS path).  JAX finds the pod's
# other workers itself (jax.distributed.initialize() in ssl_jax.main).
# Preemption: the workers get SIGTERM, save a checkpoint and exit 0;
# re-run the same command (without --create) to resume.
set -euo pipefail

dry_run=0 create=0 name="" zone="" type="v4-32" version="tpu-ubuntu2204-base"
repo_url="${SSL_JAX_REPO:-}"
run_args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --dry-run) dry_run=1 ;;
    --create) create=1 ;;
    --name=*) name="${1#*=}" ;;
    --zone=*) zone="${1#*=}" ;;
    --type=*) type="${1#*=}" ;;
    --version=*) version="${1#*=}" ;;
    --repo=*) repo_url="${1#*=}" ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    --) shift; run_args=("$@"); break ;;
    *) echo "unknown option $1 (ssl_jax.main flags go after --)" >&2; exit 2 ;;
  esac
  shift
done
if [[ -z "$name" || -z "$zone" || ${#run_args[@]} -eq 0 ]]; then
  echo "usage: $0 [--dry-run] [--create] --name=NAME --zone=ZONE [--type=v4-32] -- --config=... --workdir=gs://..." >&2
  exit 2
fi
if [[ -z "$repo_url" ]]; then
  echo "set --repo=URL (or SSL_JAX_REPO) to the git URL the workers clone" >&2
  exit 2
fi

run() {
  if [[ $dry_run -eq 1 ]]; then
    printf '%q ' "$@"
    printf '\n'
  else
    "$@"
  fi
}

quoted_args="$(printf ' %q' "${run_args[@]}")"
setup="if [ ! -d ssl_jax ]; then git clone $(printf '%q' "$repo_url") ssl_jax; fi && cd ssl_jax && git pull --ff-only && pip install -q -e . -c constraints.txt && pip install -q \"jax[tpu]==0.10.2\""
train="cd ssl_jax && python3 -m ssl_jax.main${quoted_args}"

if [[ $create -eq 1 ]]; then
  run gcloud compute tpus tpu-vm create "$name" --zone="$zone" \
      --accelerator-type="$type" --version="$version"
fi
run gcloud compute tpus tpu-vm ssh "$name" --zone="$zone" --worker=all --command="$setup"
run gcloud compute tpus tpu-vm ssh "$name" --zone="$zone" --worker=all --command="$train"
