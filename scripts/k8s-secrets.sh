#!/usr/bin/env bash
# Makes the secrets the Kubernetes manifests read, as files kustomize's secretGenerator turns
# into Secrets (named with a hash of their content, so a new secret rolls the pods):
#   deploy/k8s/base/secrets/session-secret          signs session tokens (every frontend)
#   deploy/k8s/overlays/redis/secrets/redis-password the Redis password (brokers, Redis, probes)
# Each is 32 random bytes in hex, readable by you alone, and never overwritten: run it again
# and the existing secrets stay. The files are ignored by git; keep them (or your secret
# store's copy) safe. Usage: scripts/k8s-secrets.sh [the deploy/k8s directory]
set -euo pipefail
k8s="${1:-$(dirname "$0")/../deploy/k8s}"
umask 077
for file in base/secrets/session-secret overlays/redis/secrets/redis-password; do
  path="$k8s/$file"
  if [[ -s "$path" ]]; then
    echo "kept $path"
    continue
  fi
  mkdir -p "$(dirname "$path")"
  openssl rand -hex 32 | tr -d '\n' > "$path"
  echo "made $path"
done
