#!/bin/sh
# Starts plumr in the foreground, so that the kubelet sees it exit and restarts it.
set -eu

bin="${PLUMR_BIN_DIR:?}/plumr"
config="${PLUMR_CONFIG:?}"
# sha256sum -c lines of the binaries this pod was made for.
sums="${PLUMR_SHA256SUMS:-}"
wait_seconds="${PLUMR_BINARIES_WAIT_SECONDS:-90}"

# The pod may start before the node agent is done on this node (both roll out at once),
# and must never run an older plumr than the one it was made for: wait for exactly these binaries.
if [ -n "$sums" ]; then
    waited=0
    until (cd "$PLUMR_BIN_DIR" && printf '%s\n' "$sums" | sha256sum -c - >/dev/null 2>&1); do
        [ "$waited" -gt 0 ] || echo "plumr-entrypoint: waiting for the plumr node agent to put these binaries on node ${NODE_NAME:-?}: $(echo $sums)"
        if [ "$waited" -ge $((wait_seconds * 2)) ]; then
            echo "plumr-entrypoint: node ${NODE_NAME:-?} did not get these binaries within ${wait_seconds}s: $(echo $sums); is the plumr node agent ready there?" >&2
            exit 1
        fi
        sleep 0.5
        waited=$((waited + 1))
    done
fi
if [ ! -x "$bin" ]; then
    echo "plumr-entrypoint: $bin is missing or not executable on node ${NODE_NAME:-?}; is the plumr node agent ready there?" >&2
    exit 1
fi
if [ ! -r "$config" ]; then
    echo "plumr-entrypoint: cannot read the plumr config $config" >&2
    exit 1
fi

echo "plumr-entrypoint: link ${PLUMR_LINK:-?}: tunnel ${PLUMR_TUN_IP:-?} -> ${PLUMR_REMOTE_TUN_IP:-?} over ${PLUMR_REMOTE_IP:-?}"
exec "$bin" -f "$config"
