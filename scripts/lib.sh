# shellcheck shell=bash disable=SC2034 # LWC_DIR etc. are for the sourcing scripts
# Shared helpers for the lwc scripts. Source it; it sets no shell options of
# its own, so it is safe to source from scripts with `set -euo pipefail`.
#
#   lwc_root            print the project root (the parent of scripts/)
#   find_nats_server    print the path of a working nats-server, or fail
#   build_all           the project's one build: native + wasm components

# Resolved from this file's own location so every script works from any cwd.
lwc_root() {
    local here
    here=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd -P)
    dirname -- "$here"
}

LWC_ROOT=${LWC_ROOT:-$(lwc_root)}
LWC_DIR=$LWC_ROOT/.lwc

lwc_say() { printf '%s: %s\n' "${LWC_PROG:-lwc}" "$*" >&2; }
lwc_die() { printf '%s: error: %s\n' "${LWC_PROG:-lwc}" "$*" >&2; exit 1; }

# A candidate counts only if it actually runs: a pyenv shim can sit on PATH
# and still fail when the Python version it belongs to is not selected.
nats_server_works() {
    [[ -x $1 ]] && "$1" --version >/dev/null 2>&1
}

# Same order as the Rust tests use: $LWC_NATS_SERVER, then the project's
# venv, then every nats-server on PATH.
find_nats_server() {
    local c
    if [[ -n ${LWC_NATS_SERVER:-} ]]; then
        if nats_server_works "$LWC_NATS_SERVER"; then
            printf '%s\n' "$LWC_NATS_SERVER"
            return 0
        fi
        lwc_say "LWC_NATS_SERVER=$LWC_NATS_SERVER does not run"
        return 1
    fi
    c=$LWC_DIR/venv/bin/nats-server
    if nats_server_works "$c"; then
        printf '%s\n' "$c"
        return 0
    fi
    while IFS= read -r c; do
        if nats_server_works "$c"; then
            printf '%s\n' "$c"
            return 0
        fi
    done < <(type -aP nats-server 2>/dev/null || true)
    return 1
}

# Always exactly these two commands (one profile, release): cargo is quick
# when nothing changed, and tests and scripts share the same artifacts.
build_all() {
    (
        cd -- "$LWC_ROOT" || exit
        cargo build --release
        # lwc-runaway is a misbehaving probe the tests use.
        cargo build --release --target wasm32-wasip2 -p lwc-probe -p lwc-control -p lwc-runaway
    )
}
