#!/usr/bin/env bash
# experiment.sh: run an experiment file (see README "Experiments").
#
# Usage:
#   scripts/experiment.sh FILE [--out DIR] [other lwc-lab flags]
#
# Builds if needed (setup and build, as ring.sh does), then runs lwc-lab
# against the ring that is up; if none is, it starts one with
# `scripts/ring.sh --detach` and stops it afterwards. Phases are printed as
# they pass, a ✓/✗ table at the end; DIR/report.json and DIR/report.html
# are written (default .lwc/experiments/<name>-<time>/).
#
# Exit: 0 every expectation holds, 1 one fails, 2 the file is bad or the ring
# cannot be reached.
#
# Environment:
#   LWC_NO_BUILD=1   skip setup and build
set -euo pipefail

LWC_PROG=experiment # read by lib.sh's messages
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

if [[ $# -lt 1 || $1 == --help || $1 == -h ]]; then
    usage
    [[ $# -ge 1 ]] && exit 0
    exit 2
fi

LAB=$LWC_ROOT/target/release/lwc-lab
RING_ENV=$LWC_DIR/ring.env

if [[ -z ${LWC_NO_BUILD:-} ]]; then
    "$LWC_ROOT/scripts/setup.sh" >&2
    build_all >&2
fi
[[ -x $LAB ]] || lwc_die "$LAB missing: build with cargo build --release"

# Check the file before starting anything.
"$LAB" --check "$@" || exit 2

# bash's /dev/tcp: a connect that succeeds means someone listens there.
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A ring is up when its env file names an HTTP address that answers.
ring_is_up() {
    local http port
    [[ -r $RING_ENV ]] || return 1
    http=$(sed -n 's/^LWC_HTTP=//p' "$RING_ENV")
    port=${http##*:}
    [[ -n $port ]] && listening "$port"
}

STARTED=""
if ! ring_is_up; then
    lwc_say "no ring is up: starting one"
    LWC_NO_BUILD=1 "$LWC_ROOT/scripts/ring.sh" --detach >&2 || lwc_die "cannot start the ring"
    STARTED=1
fi
stop_ring() {
    if [[ -n $STARTED ]]; then
        lwc_say "stopping the ring this run started"
        "$LWC_ROOT/scripts/ring.sh" --stop >&2 || true
    fi
}
trap stop_ring EXIT

cd -- "$LWC_ROOT"
set +e
"$LAB" --ring-env "$RING_ENV" --ring-cmd "$LWC_ROOT/scripts/ring.sh" "$@"
code=$?
set -e
exit "$code"
