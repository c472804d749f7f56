#!/usr/bin/env bash
# Builds the local toolchain from published Go modules, pinned in dev/toolchain/versions.json:
# the Pulumi CLI, our Node.js language host, the Kubernetes provider plugin, etcd, the Kubernetes
# control plane and kwok, and for the real nodes the kubelet, kubectl, containerd, runc, Multus and
# the CNI plugins. Idempotent: each binary is built once per version into .cache/toolchain/bin
# (Go's own caches make a rebuild after a clean clone quick); provider plugins go to .cache/toolchain/plugins. A binary already on PATH is used when
# it reports the pinned version.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
CACHE="${PLUMR_TOOLCHAIN_DIR:-$ROOT/.cache/toolchain}"
BIN="$CACHE/bin"
# Provider plugins stay off PATH: the engine would take them from there before the installed ones.
PLUGINS="$CACHE/plugins"
SRC="$CACHE/src"
mkdir -p "$BIN" "$PLUGINS" "$SRC"
export PATH="/usr/local/go/bin:$PATH" GOFLAGS=-mod=mod GOTOOLCHAIN=local CGO_ENABLED=0

version() { node -p "require('$ROOT/dev/toolchain/versions.json')['$1']"; }
say() { printf '[toolchain %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

# wrapper NAME: a module of ours that requires the tool's module, so its dependencies resolve
# from published versions (a dependency's own replace lines do not apply).
wrapper() {
    local dir="$SRC/$1"
    mkdir -p "$dir"
    printf 'module plumr.local/toolchain/%s\n\ngo 1.26\n' "$1" >"$dir/go.mod"
    echo "$dir"
}

# stamp NAME VERSION: whether NAME is already built at VERSION.
built() { [ -x "$BIN/$1" ] && [ "$(cat "$BIN/.$1.version" 2>/dev/null)" = "$2" ]; }
stamp() { echo "$2" >"$BIN/.$1.version"; }
built_plugin() { [ -x "$PLUGINS/$1" ] && [ "$(cat "$PLUGINS/.$1.version" 2>/dev/null)" = "$2" ]; }

# on_path NAME EXPECTED ARGS...: use a binary already on PATH when `NAME ARGS` prints EXPECTED.
on_path() {
    local name="$1" expected="$2" found
    shift 2
    found="$(command -v "$name" 2>/dev/null)" || return 1
    [ "$found" != "$BIN/$name" ] || return 1
    "$found" "$@" 2>&1 | grep -qF -- "$expected" || return 1
    ln -sf "$found" "$BIN/$name"
    stamp "$name" "$expected"
    say "$name: using $found ($expected)"
}

build_pulumi() {
    local v; v="$(version pulumi)"
    on_path pulumi "v$v" version && return
    built pulumi "v$v" && { say "pulumi v$v: cached"; return; }
    say "pulumi v$v: building the CLI from github.com/pulumi/pulumi/pkg/v3 (several minutes)"
    local dir; dir="$(wrapper pulumi)"
    cat >>"$dir/go.mod" <<MOD
require github.com/pulumi/pulumi/pkg/v3 v$v
replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e
MOD
    (cd "$dir" && go get "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@v$v" &&
        go build -trimpath -ldflags "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$v" -o "$BIN/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi)
    stamp pulumi "v$v"
}

build_language_host() {
    local v; v="$(version pulumi)"
    built pulumi-language-nodejs "$v-$(sha256sum "$ROOT"/dev/toolchain/language-host/*.go | sha256sum | cut -c1-12)" && { say "pulumi-language-nodejs: cached"; return; }
    say "pulumi-language-nodejs: building the project's language host against sdk v$v"
    local dir; dir="$(wrapper language-host)"
    cp "$ROOT"/dev/toolchain/language-host/*.go "$dir/"
    cat >>"$dir/go.mod" <<MOD
require github.com/pulumi/pulumi/sdk/v3 v$v
MOD
    (cd "$dir" && go mod tidy && go build -trimpath -ldflags "-X main.version=$v" -o "$BIN/pulumi-language-nodejs" .)
    stamp pulumi-language-nodejs "$v-$(sha256sum "$ROOT"/dev/toolchain/language-host/*.go | sha256sum | cut -c1-12)"
}

build_image_archive() {
    local v label; v="$(version goContainerRegistry)"
    label="$v-$(sha256sum "$ROOT"/dev/toolchain/image-archive/*.go | sha256sum | cut -c1-12)"
    built image-archive "$label" && { say "image-archive: cached"; return; }
    say "image-archive: building the OCI archive writer (dev/setup/images.sh) against go-containerregistry v$v"
    local dir; dir="$(wrapper image-archive)"
    cp "$ROOT"/dev/toolchain/image-archive/*.go "$dir/"
    printf 'require github.com/google/go-containerregistry v%s\n' "$v" >>"$dir/go.mod"
    (cd "$dir" && go mod tidy && go build -trimpath -o "$BIN/image-archive" .)
    stamp image-archive "$label"
}

build_kubernetes_provider() {
    local v mod; v="$(version pulumiKubernetes)"; mod="$(version pulumiKubernetesGoModule)"
    built_plugin pulumi-resource-kubernetes "$v" && { say "kubernetes provider v$v: cached"; return; }
    say "kubernetes provider v$v: building from github.com/pulumi/pulumi-kubernetes/provider/v4@$mod (several minutes)"
    local dir; dir="$(wrapper kubernetes-provider)"
    cat >>"$dir/go.mod" <<MOD
require github.com/pulumi/pulumi-kubernetes/provider/v4 $mod
MOD
    (cd "$dir" && go mod download -json "github.com/pulumi/pulumi-kubernetes/provider/v4@$mod" >"$dir/module.json")
    local moddir; moddir="$(node -p "require('$dir/module.json').Dir")"
    # The provider's main package embeds its schema with the version stamped in; its build makes
    # that file with go generate. Do the same from the module's own schema.json.
    rm -rf "$dir/cmd" && mkdir -p "$dir/cmd"
    cp "$moddir/cmd/pulumi-resource-kubernetes/main.go" "$moddir"/cmd/pulumi-resource-kubernetes/*.json "$dir/cmd/"
    chmod -R u+w "$dir/cmd"
    node -e '
        const fs = require("fs"); const [src, out, v] = process.argv.slice(1);
        const schema = JSON.parse(fs.readFileSync(`${src}/schema.json`)); schema.version = v;
        fs.writeFileSync(`${out}/schema-embed.json`, JSON.stringify(schema));
        fs.writeFileSync(`${out}/terraform-mapping-embed.json`, JSON.stringify(JSON.parse(fs.readFileSync(`${src}/terraform-mapping.json`))));
    ' "$moddir/cmd/pulumi-resource-kubernetes" "$dir/cmd" "$v"
    (cd "$dir" && go mod tidy && go build -trimpath \
        -ldflags "-X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=$v" \
        -o "$PLUGINS/pulumi-resource-kubernetes" ./cmd)
    echo "$v" >"$PLUGINS/.pulumi-resource-kubernetes.version"
}

# build_module NAME MODULE VERSION PACKAGE STAMP: a tool that builds from its module as published.
build_module() {
    local name="$1" module="$2" v="$3" package="$4" label="$5"
    built "$name" "$label" && { say "$name v$v: cached"; return; }
    say "$name v$v: building from $module"
    local dir; dir="$(wrapper "$name")"
    printf 'require %s v%s\n' "$module" "$v" >>"$dir/go.mod"
    (cd "$dir" && go get "$package@v$v" && go build -trimpath -o "$BIN/$name" "$package")
    stamp "$name" "$label"
}

build_etcd() {
    local v; v="$(version etcd)"
    on_path etcd "etcd Version: $v" --version && return
    build_module etcd go.etcd.io/etcd/server/v3 "$v" go.etcd.io/etcd/server/v3 "etcd Version: $v"
}

build_kubernetes() {
    local v; v="$(version kubernetes)"
    # The control plane, and the kubelet and kubectl of the local clusters' real nodes.
    local tools=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubectl)
    local missing=() t
    for t in "${tools[@]}"; do on_path "$t" "Kubernetes v$v" --version || built "$t" "Kubernetes v$v" || missing+=("$t"); done
    [ ${#missing[@]} = 0 ] && { say "kubernetes v$v: cached"; return; }
    say "kubernetes v$v: building ${missing[*]} from k8s.io/kubernetes (the longest step)"
    local dir; dir="$(wrapper kubernetes)"
    local gomod; gomod="$(go mod download -json "k8s.io/kubernetes@v$v" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).GoMod))')"
    {
        printf 'require k8s.io/kubernetes v%s\n' "$v"
        # k8s.io/kubernetes requires its staging modules at v0.0.0 through relative replaces:
        # point each at the release published with the same minor and patch.
        grep -oE 'k8s.io/[a-z0-9-]+ => ./staging/src/k8s.io/[a-z0-9-]+' "$gomod" | awk -v tag="v0.${v#1.}" '{print "replace " $1 " => " $1 " " tag}'
    } >>"$dir/go.mod"
    # Without the version stamped in, the binaries report v0.0.0 and the API server rejects the kubelet's skew.
    local minor="${v#1.}"; minor="${minor%%.*}"
    local ldflags="-X k8s.io/component-base/version.gitVersion=v$v -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor"
    (cd "$dir" && for t in "${missing[@]}"; do go get "k8s.io/kubernetes/cmd/$t@v$v"; done &&
        for t in "${missing[@]}"; do say "  $t"; go build -trimpath -ldflags "$ldflags" -o "$BIN/$t" "k8s.io/kubernetes/cmd/$t"; stamp "$t" "Kubernetes v$v"; done)
}

build_kwok() {
    local v; v="$(version kwok)"
    on_path kwok "kwok version v$v" --version && return
    build_module kwok sigs.k8s.io/kwok "$v" sigs.k8s.io/kwok/cmd/kwok "$v"
}

build_cni_plugins() {
    local v; v="$(version cniPlugins)"
    local plugin
    # CNI_PATH is searched by plugin type, so the plugins also appear under their own names.
    # bridge, macvlan and static serve the link attachments; loopback and host-local the real
    # nodes' default pod network (containerd sets up every pod's lo through the loopback plugin).
    mkdir -p "$CACHE/cni"
    for plugin in main/bridge main/macvlan ipam/static main/loopback ipam/host-local; do
        build_module "cni-${plugin#*/}" github.com/containernetworking/plugins "$v" "github.com/containernetworking/plugins/plugins/$plugin" "$v"
        ln -sf "$BIN/cni-${plugin#*/}" "$CACHE/cni/${plugin#*/}"
    done
}

# The container runtime of the local clusters' real nodes: containerd, its runc shim and ctr.
build_containerd() {
    local v; v="$(version containerd)"
    local tools=(containerd containerd-shim-runc-v2 ctr) t missing=()
    for t in "${tools[@]}"; do built "$t" "$v" || missing+=("$t"); done
    [ ${#missing[@]} = 0 ] && { say "containerd v$v: cached"; return; }
    say "containerd v$v: building ${missing[*]} from github.com/containerd/containerd/v2"
    local dir; dir="$(wrapper containerd)"
    printf 'require github.com/containerd/containerd/v2 v%s\n' "$v" >>"$dir/go.mod"
    (cd "$dir" && for t in "${missing[@]}"; do go get "github.com/containerd/containerd/v2/cmd/$t@v$v"; done &&
        for t in "${missing[@]}"; do
            go build -trimpath -ldflags "-X github.com/containerd/containerd/v2/version.Version=v$v" -o "$BIN/$t" "github.com/containerd/containerd/v2/cmd/$t"
            stamp "$t" "$v"
        done)
}

# runc needs cgo and libseccomp (Debian's libseccomp-dev): containerd gives every pod sandbox
# the RuntimeDefault seccomp profile, which runc can only apply when built with it.
build_runc() {
    local v; v="$(version runc)"
    built runc "$v" && { say "runc v$v: cached"; return; }
    say "runc v$v: building from github.com/opencontainers/runc (cgo, seccomp)"
    local dir; dir="$(wrapper runc)"
    printf 'require github.com/opencontainers/runc v%s\n' "$v" >>"$dir/go.mod"
    (cd "$dir" && go get "github.com/opencontainers/runc@v$v" &&
        CGO_ENABLED=1 go build -trimpath -tags "seccomp urfave_cli_no_docs" -ldflags "-X main.version=$v" -o "$BIN/runc" github.com/opencontainers/runc)
    stamp runc "$v"
}

# Multus's thin plugin: reads the pod's network annotations and the NetworkAttachmentDefinitions
# from the API server and delegates to the plugins they name. The module proxy serves it only
# when asked for the exact version.
build_multus() {
    local v; v="$(version multus)"
    build_module multus gopkg.in/k8snetworkplumbingwg/multus-cni.v4 "$v" gopkg.in/k8snetworkplumbingwg/multus-cni.v4/cmd/multus "$v"
    ln -sf "$BIN/multus" "$CACHE/cni/multus"
}

build_actionlint() {
    local v; v="$(version actionlint)"
    build_module actionlint github.com/rhysd/actionlint "$v" github.com/rhysd/actionlint/cmd/actionlint "$v"
}

steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(pulumi language_host kubernetes_provider etcd kubernetes kwok cni_plugins containerd runc multus actionlint image_archive)
start=$(date +%s)
for step in "${steps[@]}"; do "build_$step"; done
say "ready in $(( $(date +%s) - start ))s: $BIN"
