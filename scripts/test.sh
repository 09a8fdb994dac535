#!/usr/bin/env bash
# The project's one test command (README and CI): setup, the release build,
# then all tests. Extra arguments go to the first `cargo test`, e.g.
#   scripts/test.sh ring_survives_kill      (a test name filter)
#   scripts/test.sh -- --nocapture
set -euo pipefail

LWC_PROG="test" # read by lib.sh's messages
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

main() {
    cd -- "$LWC_ROOT"
    scripts/setup.sh
    # The end-to-end tests look at LWC_NATS_SERVER first: hand them the one
    # setup found working (a broken shim may come first on PATH).
    LWC_NATS_SERVER=$(find_nats_server) || lwc_die "no working nats-server after setup"
    export LWC_NATS_SERVER
    build_all
    # Default members: unit tests and the end-to-end tests in tests/.
    cargo test --release "$@"
    # The control component's input validation, natively. A separate call:
    # lwc-control is not a default member (it is built for wasm32-wasip2).
    cargo test --release -p lwc-control
}

main "$@"
