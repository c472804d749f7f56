#!/bin/sh
# Installs binaries onto this node from the chunks the program shipped in ConfigMaps: plumr and
# shm_printer, and the CNI plugins a node lacks.
# Every binary is reassembled and verified before any is moved into place, and each one replaces
# the old file by rename in the same directory, so a node never runs a half-written binary.
set -eu

chunks="${CHUNKS_DIR:-/chunks}"
manifest="${MANIFEST_DIR:-/manifest}"
dest="${DEST_DIR:-/host-bin}"
# The binaries to install, as sha256sum -c lines: all the manifest names, or a part of them.
sums="${SUMS_FILE:-$manifest/SHA256SUMS}"

fail() {
    echo "install-binaries: $*; nothing was installed" >&2
    rm -f "$dest"/.*.plumr-tmp
    exit 1
}

[ -d "$dest" ] || fail "$dest is not a directory"

# First pass: every chunk set must add up before anything is written.
while read -r name count; do
    [ -n "$name" ] || continue
    found=$(ls "$chunks" | grep -c "^$name\.gz\.[0-9][0-9][0-9]\$" || true)
    [ "$found" -eq "$count" ] || fail "$name: found $found of $count chunks, the chunk set does not add up"
done <"$manifest/CHUNKS"

# Second pass: reassemble and verify into temporary files next to their destinations.
while read -r sum name; do
    [ -n "$name" ] || continue
    tmp="$dest/.$name.plumr-tmp"
    cat "$chunks/$name".gz.* | gunzip -c >"$tmp" || fail "$name: the chunks do not gunzip"
    actual=$(sha256sum "$tmp" | cut -d' ' -f1)
    [ "$actual" = "$sum" ] || fail "$name: sha256 is $actual, expected $sum"
    chmod 0755 "$tmp"
done <"$sums"
sync

# Last pass: rename into place; each rename is atomic.
while read -r sum name; do
    [ -n "$name" ] || continue
    mv -f "$dest/.$name.plumr-tmp" "$dest/$name"
    echo "install-binaries: $name $sum installed in $dest"
done <"$sums"
sync
