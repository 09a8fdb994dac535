#!/usr/bin/env bash
# experiment.sh: run an experiment file (see README "Experiments" and
# docs/experiments.md).
#
# Usage:
#   scripts/experiment.sh FILE [--out DIR]
#   scripts/experiment.sh --help
#
# Builds if needed (setup and build, as ring.sh does) and checks FILE; then
# runs it with lwc-lab (through `lwc experiment`) against the ring that is
# up. If none is, it starts one (`lwc up --detach`) and stops it afterwards.
# The phases are printed as they pass (a bar with the phase name on a
# terminal), a ✓/✗ table at the end; DIR/report.json and DIR/report.html are
# written (default: experiments/<name>-<time>/ in the ring's state directory,
# i.e. .lwc/experiments/ for the project's ring).
#
# Exit: 0 every expectation holds, 1 one fails, 2 the file is bad, the ring
# cannot be reached or started, or the run was aborted.
#
# Environment:
#   LWC_DIR=DIR        the ring's state directory, as for lwc (default .lwc
#                      in the project root); a ring this script starts lives there
#   LWC_MANIFEST=PATH  the manifest of a ring this script starts (default
#                      scripts/ring.toml)
#   LWC_HTTP_PORT=PORT the HTTP port of a ring this script starts (default:
#                      the manifest's, 30000)
#   LWC_NO_BUILD=1     skip setup and build
set -euo pipefail

# lib.sh sets LWC_DIR to the project's .lwc: keep the caller's choice.
CALLER_DIR=${LWC_DIR:-}
LWC_PROG=experiment # read by lib.sh's messages
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"
LWC_DIR=${CALLER_DIR:-$LWC_DIR}

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

if [[ $# -lt 1 || $1 == --help || $1 == -h ]]; then
    usage
    [[ $# -ge 1 ]] && exit 0
    exit 2
fi

LAB=$LWC_ROOT/target/release/lwc-lab
LWC=$LWC_ROOT/target/release/lwc

if [[ -z ${LWC_NO_BUILD:-} ]]; then
    { "$LWC_ROOT/scripts/setup.sh" && build_all; } >&2 || { lwc_say "setup or build failed"; exit 2; }
fi
for bin in "$LAB" "$LWC"; do
    [[ -x $bin ]] || { lwc_say "$bin missing: build with cargo build --release"; exit 2; }
done

# Check the file (and the flags) before starting anything.
"$LAB" --check "$@" || exit 2

ring() { "$LWC" --dir "$LWC_DIR" "$@"; }

STARTED=""
stop_ring() {
    if [[ -n $STARTED ]]; then
        lwc_say "stopping the ring this run started"
        ring down >&2 || true
    fi
}
trap stop_ring EXIT

if ! ring status --check; then
    lwc_say "no ring is up in $LWC_DIR: starting one"
    up=(up --detach --dash none)
    [[ -n ${LWC_HTTP_PORT:-} ]] && up+=(--http-port "$LWC_HTTP_PORT")
    STARTED=1
    ring "${up[@]}" >&2 || { lwc_say "cannot start the ring (logs: $LWC_DIR/logs/)"; exit 2; }
fi

# lwc maps lwc-lab's kill/start/restart-nats onto this state directory.
set +e
ring experiment "$@"
code=$?
set -e
exit "$code"
