#!/usr/bin/env bash
# Regenerates imports/ from the CRD files in ../shared/reference. All CRDs of one API group go
# into one import, since `cdk8s import` writes one file per group and a second import of the
# same group would overwrite the first.
set -euo pipefail
cd "$(dirname "$0")/.."
ref=${SHARED_REFERENCE:-../shared/reference}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
join() { local out=$1; shift; for f in "$@"; do cat "$f"; printf '\n---\n'; done >"$out"; }
join "$tmp/keda.yaml" "$ref"/keda/keda.sh_*.yaml
join "$tmp/monitoring.yaml" "$ref"/prometheus-operator/monitoring.coreos.com_*.yaml
for spec in "$tmp/keda.yaml" "$tmp/monitoring.yaml"; do
  npx cdk8s import --no-save --check-upgrade false --language typescript --output imports "$spec"
done
