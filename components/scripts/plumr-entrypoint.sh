#!/bin/sh
# Starts plumr in the foreground, so that the kubelet sees it exit and restarts it.
set -eu

bin="${PLUMR_BIN_DIR:?}/plumr"
config="${PLUMR_CONFIG:?}"

if [ ! -x "$bin" ]; then
    echo "plumr-entrypoint: $bin is missing or not executable on node ${NODE_NAME:-?}; is the plumr installer DaemonSet ready there?" >&2
    exit 1
fi
if [ ! -r "$config" ]; then
    echo "plumr-entrypoint: cannot read the plumr config $config" >&2
    exit 1
fi

echo "plumr-entrypoint: link ${PLUMR_LINK:-?}: tunnel ${PLUMR_TUN_IP:-?} -> ${PLUMR_REMOTE_TUN_IP:-?} over ${PLUMR_REMOTE_IP:-?}"
exec "$bin" -f "$config"
