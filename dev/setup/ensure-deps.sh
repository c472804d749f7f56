#!/bin/sh
# Installs the npm dependencies exactly as package-lock.json pins them, when they are missing or
# older than the lock file; a no-op otherwise, so every npm command can start with it.
set -eu
cd "$(dirname "$0")/../.."
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "ensure-deps: installing the npm dependencies pinned by package-lock.json..."
    npm ci --no-audit --no-fund
fi
