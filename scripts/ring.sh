#!/usr/bin/env bash
# ring.sh: the front door of lwc. Installs what is missing and builds if
# needed, then hands over to the `lwc` CLI (cli/, target/release/lwc), which
# parses the manifest, supervises nats-server and the hosts, and waits for
# them through their health subject. See `lwc --help` for more commands.
#
# Usage:
#   scripts/ring.sh                 build if needed, start the ring if it is not
#                                   up, show the dashboard (or the hosts' logs);
#                                   quitting (q or Ctrl-C) stops what this call
#                                   started, and leaves a ring it found up
#   scripts/ring.sh --detach        start the ring in the background; return once
#                                   every host is ready and POST /packets answers
#   scripts/ring.sh --stop          stop everything the ring started
#   scripts/ring.sh --start HOST    (re)start one host process (no rebuild)
#   scripts/ring.sh --kill HOST     kill -9 one host process
#   scripts/ring.sh --restart-nats [--server I]
#                                   restart the ring's nats-server, same port/token
#                                   (on a cluster: server I, default 1)
#   scripts/ring.sh --size N [--cluster K] [--detach]
#                                   a generated ring of N probe hosts (2..=1000)
#                                   plus control, packed several hosts per process
#                                   where lwc-host can; manifest: .lwc/ring-N.toml
#   scripts/ring.sh --cluster K [--detach]
#                                   the ring on a local NATS cluster of K servers
#                                   (1..=5), hosts spread over them
#   scripts/ring.sh --help          this text
#
# While a ring is up, .lwc/ring.env holds LWC_NATS_URL, LWC_NATS_TOKEN,
# LWC_HTTP and LWC_LATTICE (KEY=VALUE lines; `set -a; . .lwc/ring.env; set +a`
# loads them into a shell), .lwc/<name>.pid the pid of each host and of `nats`
# (`nats-2`, `nats-3`, … for the other servers of a cluster), and
# .lwc/logs/<name>.log their logs.
#
# Environment (read by lwc unless noted):
#   LWC_DIR=DIR              the state directory instead of .lwc/ (ring.sh passes it
#                            as lwc --dir), so a second ring can run beside the first
#   LWC_MANIFEST=PATH        another manifest (default scripts/ring.toml)
#   LWC_HTTP_PORT=PORT       serve the HTTP API on this port, not the manifest's
#   LWC_DASH=PATH|none       dashboard binary (default target/release/lwc-dash);
#                            `none` shows the logs instead
#   LWC_NO_BUILD=1           skip scripts/setup.sh and cargo build (ring.sh)
#   LWC_READY_TIMEOUT=SECS   how long to wait for the ring (default 120)
#   LWC_NATS_SERVER=PATH     the nats-server binary to use
#   LWC_HOST_BIN=PATH        the host binary (default target/release/lwc-host)
#   LWC_HOST_ARGS="FLAGS"    extra lwc-host flags for every host, e.g. "--reuse 1000"
set -euo pipefail

LWC_PROG=ring # read by lib.sh's messages
user_dir=${LWC_DIR:-} # lib.sh sets LWC_DIR to the project's .lwc/
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
LWC_DIR=${user_dir:-$LWC_DIR}

LWC=$LWC_ROOT/target/release/lwc

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

# Setup and the full build, unless LWC_NO_BUILD=1.
prepare() {
    [[ ${LWC_NO_BUILD:-} == 1 ]] && return 0
    "$LWC_ROOT/scripts/setup.sh"
    lwc_say "building (cargo, release)"
    build_all
}

# Only the CLI (quick: no wasmtime), for the modes that do not build.
need_lwc() {
    [[ -x $LWC ]] && return 0
    lwc_say "building the lwc CLI (cargo, release)"
    (cd -- "$LWC_ROOT" && cargo build --release -p lwc-cli)
}

# Hand over: lwc finds the ring in the project's .lwc/.
run_lwc() {
    exec "$LWC" --dir "$LWC_DIR" "$@"
}

# `up` and its flags: --detach, --size N, --cluster K (any order; lwc
# checks the values). No flag: attach to a ring that is up, else start one.
up() {
    local flags=() detach=0
    while (($#)); do
        case $1 in
            --detach) detach=1 flags+=(--detach) ;;
            --size | --cluster)
                [[ $# -ge 2 ]] || lwc_die "$1 needs a value (see scripts/ring.sh --help)"
                flags+=("$1" "$2")
                shift
                ;;
            *) lwc_die "unknown argument '$1' (see scripts/ring.sh --help)" ;;
        esac
        shift
    done
    # A ring already up and nothing to detach: attach only, no build.
    if ((detach)) || ! { [[ -x $LWC ]] && "$LWC" --dir "$LWC_DIR" status --check; }; then
        prepare
    fi
    need_lwc
    run_lwc up "${flags[@]}"
}

main() {
    local arg=${1:-}
    case $arg in
        "" | --detach | --size | --cluster) up "$@" ;;
        --stop) need_lwc && run_lwc down ;;
        --start | --kill)
            # An empty HOST too: lwc's answer lists the manifest's hosts.
            need_lwc
            run_lwc "${arg#--}" "${2:-}"
            ;;
        --restart-nats)
            shift
            need_lwc
            run_lwc restart-nats "$@"
            ;;
        -h | --help) usage ;;
        *) lwc_die "unknown argument '$arg' (see scripts/ring.sh --help)" ;;
    esac
}

main "$@"
