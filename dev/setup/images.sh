#!/usr/bin/env bash
# Builds the container images the local clusters' real nodes run, as OCI archives in .cache/images/
# for `ctr -n k8s.io images import`. The nodes have no registry and nothing can be pulled, so each
# image is made here from Debian packages (fetched with apt-get download, never installed on this
# machine) or from our own code:
#   pause      the pod sandbox: dev/toolchain/pause/pause.c, built static
#   installer  the node agent DaemonSet: busybox, one symlink per applet
#   tools      the plumr sidecar and the workload: the Debian packages listed below
# Each image is tagged with a hash of its inputs (exact package versions, our sources, this script),
# so an unchanged image is not rebuilt and a changed one gets a new name. .cache/images/images.json
# maps each image to its name and archive. Idempotent; needs root (unpacked packages keep their
# owners, and each image is checked by running its commands under chroot).
set -euo pipefail

# The tools image's packages; their Depends and Pre-Depends come along, resolved by apt.
TOOLS_PACKAGES=(
    dash         # /bin/sh: every container command and probe runs under it
    coreutils    # sleep, cat, ls, ...: the commands and probes use them
    grep         # the probes match command output
    sed          # editing text in the commands
    iproute2     # ip: the sidecar's probes check its tun device; the tests read addresses and routes
    socat        # the workload's test traffic through the tunnel
    iputils-ping # ping through the tunnel
    iperf3       # throughput through the tunnel
    jq           # the plumr stand-in reads its JSON config with it
    procps       # ps and pkill, which the tests use to find and stop processes
    # Satisfies init-system-helpers' "usrmerge | usr-is-merged" (procps and iperf3 need
    # init-system-helpers), which would otherwise bring usrmerge and with it Perl. True here:
    # the rootfs is laid out merged (/bin -> usr/bin and so on), as Debian's own images are.
    usr-is-merged
)
# What every image's PATH covers (Debian's default).
IMAGE_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="$ROOT/.cache/images"
WORK="$OUT/work"
DEBS="$OUT/debs"
BIN="${PLUMR_TOOLCHAIN_DIR:-$ROOT/.cache/toolchain}/bin"

say() { printf '[images %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

if [ "$(id -u)" != 0 ]; then
    echo "images.sh: run as root: unpacked packages must keep their owners (root) and setuid bits, and each image is checked under chroot" >&2
    exit 1
fi

mkdir -p "$OUT" "$DEBS"
# One build at a time: the tests and the local clusters may both ask for the images.
exec 9>"$OUT/.lock"
flock 9

bash "$ROOT/dev/setup/toolchain.sh" image_archive | sed 's/^/  /'

# Every tag also covers this script and the archive writer: either changes what an image holds.
COMMON_INPUTS="$(sha256sum "$ROOT/dev/setup/images.sh" "$ROOT"/dev/toolchain/image-archive/*.go | sed "s| $ROOT/| |")"

lists_updated=0
# apt_retry CMD...: a fresh machine may have no package lists yet; fetch them once and retry.
apt_retry() {
    "$@" && return
    [ "$lists_updated" = 0 ] || return 1
    say "no usable package lists; running apt-get update"
    apt-get update -qq
    lists_updated=1
    "$@"
}

# resolve PACKAGE...: "name version arch" for each package of the dependency closure (Depends and
# Pre-Depends), chosen by apt's own resolver as for an install on an empty system, so virtual
# packages and alternatives get the provider apt would pick.
resolve() {
    apt-get -s -o Dir::State::status=/dev/null --no-install-recommends install "$@" |
        awk '$1 == "Inst" { match($0, /\[[a-z0-9-]+\]/); print $2, substr($3, 2), substr($0, RSTART + 1, RLENGTH - 2) }' |
        sort
}

# deb_file NAME VERSION ARCH: the file name apt-get download gives the package.
deb_file() { printf '%s/%s_%s_%s.deb' "$DEBS" "$1" "${2//:/%3a}" "$3"; }

# fetch RESOLVED: downloads the resolved packages that are not in the cache yet.
fetch() {
    local name version arch missing=()
    while read -r name version arch; do
        [ -f "$(deb_file "$name" "$version" "$arch")" ] || missing+=("$name=$version")
    done <<<"$1"
    [ ${#missing[@]} = 0 ] && return
    say "  downloading ${#missing[@]} packages"
    (cd "$DEBS" && apt-get download -qq -o APT::Sandbox::User=root "${missing[@]}")
}

tag_of() { sha256sum | cut -c1-12; }

# fresh DIR: an empty work directory.
fresh() { rm -rf "$1" && mkdir -p "$1"; }

# slim ROOTFS: documentation and translations no container reads.
slim() { rm -rf "$1"/usr/share/{doc,man,info,locale,lintian}; }

# archive NAME TAG ROOTFS [image-archive flags]: writes NAME-TAG.tar and removes NAME's older ones.
archive() {
    local name="$1" tag="$2" rootfs="$3"
    shift 3
    tar --numeric-owner --sort=name -C "$rootfs" -cf "$WORK/$name.layer.tar" .
    "$BIN/image-archive" -layer "$WORK/$name.layer.tar" -name "plumr.local/$name:$tag" -out "$OUT/$name-$tag.tar" "$@"
    rm -rf "$WORK/$name.layer.tar" "$rootfs"
    find "$OUT" -maxdepth 1 -name "$name-*.tar" ! -name "$name-$tag.tar" -delete
    say "$name: $OUT/$name-$tag.tar ($(du -h "$OUT/$name-$tag.tar" | cut -f1))"
}

# cached NAME TAG: whether the archive for these inputs exists already.
cached() { [ -f "$OUT/$1-$2.tar" ] && say "$1:$2: cached"; }

build_pause() {
    local src="$ROOT/dev/toolchain/pause/pause.c"
    PAUSE_TAG="$({ sha256sum "$src" | cut -d' ' -f1; gcc --version | head -1; dpkg-query -W libc6-dev; echo "$COMMON_INPUTS"; } | tag_of)"
    cached pause "$PAUSE_TAG" && return
    say "pause:$PAUSE_TAG: building"
    local rootfs="$WORK/pause"
    fresh "$rootfs"
    gcc -static -Os -s -Wall -Wextra -o "$rootfs/pause" "$src"
    archive pause "$PAUSE_TAG" "$rootfs" -entrypoint /pause
}

build_installer() {
    local pkgs
    pkgs="$(apt_retry resolve busybox-static)"
    INSTALLER_DEBS="$pkgs"
    INSTALLER_TAG="$({ echo "$pkgs"; echo "$COMMON_INPUTS"; } | tag_of)"
    cached installer "$INSTALLER_TAG" && return
    say "installer:$INSTALLER_TAG: building from $(echo "$pkgs" | cut -d' ' -f1,2)"
    apt_retry fetch "$pkgs"
    local rootfs="$WORK/installer" name version arch applet
    fresh "$rootfs"
    while read -r name version arch; do dpkg-deb -x "$(deb_file "$name" "$version" "$arch")" "$rootfs"; done <<<"$pkgs"
    slim "$rootfs"
    # What busybox's maintainer scripts would leave to the admin: a command name per applet.
    for applet in $("$rootfs/bin/busybox" --list); do
        [ -e "$rootfs/bin/$applet" ] || ln -s busybox "$rootfs/bin/$applet"
    done
    mkdir -p -m 1777 "$rootfs/tmp"
    chroot "$rootfs" /bin/sh -c 'for c in sh gunzip sha256sum sleep cat ls grep cut chmod mv rm sync; do [ -n "$(command -v $c)" ] || { echo "missing $c"; exit 1; }; done; sleep 0' ||
        { say "installer: the image's commands do not run"; exit 1; }
    archive installer "$INSTALLER_TAG" "$rootfs" -env "PATH=$IMAGE_PATH"
}

build_tools() {
    local pkgs
    pkgs="$(apt_retry resolve "${TOOLS_PACKAGES[@]}")"
    TOOLS_DEBS="$pkgs"
    TOOLS_TAG="$({ echo "$pkgs"; echo "$COMMON_INPUTS"; } | tag_of)"
    cached tools "$TOOLS_TAG" && return
    say "tools:$TOOLS_TAG: building from $(echo "$pkgs" | wc -l) packages"
    apt_retry fetch "$pkgs"
    local rootfs="$WORK/tools" name version arch dir
    fresh "$rootfs"
    # Merged /usr, as usr-is-merged above asserts: files packages ship in /bin, /sbin and /lib land
    # under /usr through these links (tar keeps them instead of replacing them with directories).
    for dir in bin sbin lib lib64; do
        mkdir -p "$rootfs/usr/$dir"
        ln -s "usr/$dir" "$rootfs/$dir"
    done
    while read -r name version arch; do
        dpkg-deb --fsys-tarfile "$(deb_file "$name" "$version" "$arch")" | tar -x --keep-directory-symlink -C "$rootfs"
    done <<<"$pkgs"
    slim "$rootfs"
    # What the maintainer scripts would have done, which matters here: dash's makes /bin/sh, and
    # libc's runs ldconfig so the dynamic loader finds libraries outside its default directories.
    ln -sf dash "$rootfs/usr/bin/sh"
    ldconfig -r "$rootfs"
    # base-passwd's job on a Debian system: names for the users containers run as.
    mkdir -p -m 1777 "$rootfs/tmp"
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$rootfs/etc/passwd"
    printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"
    chroot "$rootfs" /bin/sh -c 'ip -V && socat -V | head -1 && ping -V && iperf3 --version && jq --version && sleep 0' >"$WORK/tools.check" 2>&1 ||
        { cat "$WORK/tools.check"; say "tools: the image's commands do not run"; exit 1; }
    rm -f "$WORK/tools.check"
    archive tools "$TOOLS_TAG" "$rootfs" -env "PATH=$IMAGE_PATH"
}

start=$(date +%s)
mkdir -p "$WORK"
build_pause
build_installer
build_tools
rm -rf "$WORK"

# Keep only the packages the current images are made from.
keep="$(printf '%s\n%s\n' "$INSTALLER_DEBS" "$TOOLS_DEBS" | while read -r name version arch; do basename "$(deb_file "$name" "$version" "$arch")"; done)"
for deb in "$DEBS"/*.deb; do
    [ -e "$deb" ] || continue
    grep -qxF "$(basename "$deb")" <<<"$keep" || rm -f "$deb"
done

entry() { printf '  "%s": { "name": "plumr.local/%s:%s", "archive": "%s/%s-%s.tar" }' "$1" "$1" "$2" "$OUT" "$1" "$2"; }
{
    echo "{"
    entry pause "$PAUSE_TAG" && echo ","
    entry installer "$INSTALLER_TAG" && echo ","
    entry tools "$TOOLS_TAG" && echo
    echo "}"
} >"$OUT/images.json.tmp"
mv "$OUT/images.json.tmp" "$OUT/images.json"
say "ready in $(($(date +%s) - start))s: $OUT/images.json"
