#!/usr/bin/env bash
# Regenerates imports/ from the CRD files in ../shared/reference (or $SHARED_REFERENCE), and the external scaler's
# gRPC service definition from KEDA's externalscaler.proto there. All CRDs of one API group go
# into one import, since `cdk8s import` writes one file per group and a second import of the
# same group would overwrite the first.
set -euo pipefail
cd "$(dirname "$0")/.."
# The CRD files are not in this repository: reference-dir.ts finds them or says where they come from.
ref=$(npx ts-node --transpile-only scripts/reference-dir.ts) || exit 2
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
join() { local out=$1; shift; for f in "$@"; do cat "$f"; printf '\n---\n'; done >"$out"; }
join "$tmp/keda.yaml" "$ref"/keda/keda.sh_*.yaml
join "$tmp/monitoring.yaml" "$ref"/prometheus-operator/monitoring.coreos.com_*.yaml
for spec in "$tmp/keda.yaml" "$tmp/monitoring.yaml"; do
  npx cdk8s import --no-save --check-upgrade false --language typescript --output imports "$spec"
done
# KEDA's external scaler protocol: the descriptor the scaler loads at run time and its message types.
proto="$ref/keda/externalscaler.proto"
[ -f "$proto" ] || { echo "error: $proto is missing (KEDA's pkg/scalers/externalscaler/externalscaler.proto)" >&2; exit 2; }
npx ts-node --transpile-only scripts/import-proto.ts "$proto" imports/externalscaler.ts
