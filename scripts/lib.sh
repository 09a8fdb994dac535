# shellcheck shell=bash disable=SC2034 # LWC_DIR etc. are for the sourcing scripts
# Shared helpers for the lwc scripts. Source it; it sets no shell options of
# its own, so it is safe to source from scripts with `set -euo pipefail`.
#
#   lwc_root            print the project root (the parent of scripts/)
#   find_nats_server    print the path of a working nats-server, or fail
#   build_all           the project's one build: native + wasm components
#   port_in_use PORT    true if something listens on 127.0.0.1:PORT
#   free_port [PREF]    print PREF if free, otherwise some free port

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

# bash's /dev/tcp: a connect that succeeds means someone listens there.
port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

free_port() {
    local pref=${1:-} p i
    if [[ -n $pref ]] && ! port_in_use "$pref"; then
        printf '%s\n' "$pref"
        return 0
    fi
    # 10000-29999: below Linux's ephemeral range (32768+), so outgoing
    # connections do not take it between our check and the bind, and below
    # the control host's default HTTP port 30000.
    for ((i = 0; i < 200; i++)); do
        p=$((10000 + RANDOM % 20000))
        if ! port_in_use "$p"; then
            printf '%s\n' "$p"
            return 0
        fi
    done
    lwc_say "no free port found on 127.0.0.1"
    return 1
}
