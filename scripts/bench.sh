#!/usr/bin/env bash
# bench.sh: measure the lwc ring against a raw NATS ring, on this machine.
#
# Usage:
#   scripts/bench.sh            full run (~1.5 min); writes bench/results.md
#   scripts/bench.sh --quick    a few seconds per figure; writes nothing
#   scripts/bench.sh --json     also print one JSON object as the last line
#   scripts/bench.sh --size 5,50,200
#                               also a row per generated ring of that many probe
#                               hosts (2..=1000 each), started as `lwc up --size N`
#                               starts it (32 hosts per lwc-host process): hop p50,
#                               hops/s, CPU µs per hop, RSS, idle CPU and start-up time
#   scripts/bench.sh --help     this text
#
# Builds (release) what it needs, then runs target/release/lwc-bench, which
# starts its own nats-server (on a port it picks itself, with a token), a raw NATS ring of
# four processes, and five-host lwc rings of its own (fresh instances, then
# --reuse 1000, then with OTLP export) on their own HTTP ports and lattices: a
# ring started by scripts/ring.sh is left alone. Everything it starts is
# stopped at the end. The table gives hop latency, hops/s and CPU µs per hop.
#
# Environment:
#   LWC_NATS_SERVER=PATH   the nats-server binary to use (see scripts/lib.sh)
#   LWC_NO_BUILD=1         skip the build
#   LWC_HOST_ARGS="..."    extra lwc-host flags for every host, e.g. "--threads 1"
set -euo pipefail

LWC_PROG=bench # read by lib.sh's messages
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

quick=0
sizes=
args=()
while (($#)); do
    case $1 in
        --quick) quick=1; args+=("$1") ;;
        --json) args+=("$1") ;;
        --size)
            (($# >= 2)) || lwc_die "--size needs a list of ring sizes, e.g. --size 5,50,200"
            sizes=$2; args+=(--size "$2"); shift ;;
        --size=*) sizes=${1#--size=}; args+=("$1") ;;
        -h | --help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) lwc_die "unknown argument: $1 (see --help)" ;;
    esac
    shift
done

nats=$(find_nats_server) || lwc_die "no working nats-server (run scripts/setup.sh, or set LWC_NATS_SERVER)"

cd -- "$LWC_ROOT"
if [[ -z ${LWC_NO_BUILD:-} ]]; then
    lwc_say "building (release)"
    cargo build --release
    cargo build --release --target wasm32-wasip2 -p lwc-probe -p lwc-control
    cargo build --release -p lwc-bench
fi

out=$(mktemp)
trap 'rm -f -- "$out"' EXIT
target/release/lwc-bench --nats-server "$nats" --root "$LWC_ROOT" "${args[@]}" | tee "$out"

if ((quick == 0)); then
    # Before results.md is rewritten: rewriting it would count as a change.
    revision="$(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo ', uncommitted changes')"
    {
        echo "# lwc benchmark results"
        echo
        echo "Produced by \`scripts/bench.sh\` on $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores"
        echo "($(uname -sm); git $revision)."
        echo
        # The table and the aims line; not the JSON line.
        grep -v '^{' "$out"
        echo
        echo "## How these figures are measured"
        echo
        echo "- *hop p50/p99*: one packet in flight. lwc: a traced packet (ttl 10000);"
        echo "  a hop is the difference between consecutive hop events' \`recv_ns\`"
        echo "  (receive to receive, so it includes instantiation and the call)."
        echo "  Raw NATS: the same receive-to-receive time, each node stamping its"
        echo "  receive time into the message it forwards. HdrHistogram, 3 digits."
        echo "- *hops/s*: 64 packets in flight. lwc: sum over hosts of the rate of"
        echo "  \`counters.invocations\` between their first and last heartbeat in a"
        echo "  10 s window after 2 s of warm-up. Raw NATS: hop counters of the four"
        echo "  nodes over a 10 s window."
        echo "- *CPU µs/hop*: user + system time (\`/proc/<pid>/stat\`) of every"
        echo "  process of the ring, nats-server included (the hosts, or the raw"
        echo "  ring's four nodes), over the same window as hops/s, divided by the"
        echo "  hops in it. Steadier than hops/s on a shared machine."
        echo "- Raw NATS ring: four \`lwc-bench --node i\` processes (plain async-nats,"
        echo "  no wasm, no acks) on the same nats-server as the lwc rings."
        echo "- Hosts run with \`RUST_LOG=warn\` and their default flags otherwise."
        echo "- The lwc latency packet is traced, so each of its hops also publishes a"
        echo "  hop event; lwc hops are acknowledged, raw NATS hops are not."
        echo "- *OpenTelemetry*: the fresh-instance ring again, hosts exporting over"
        echo "  OTLP/HTTP to a sink inside the benchmark that takes and discards each"
        echo "  export (so the cost measured is the hosts', not a collector's), metrics"
        echo "  every 1 s. Default sampling traces only packets injected with"
        echo "  \`trace\`; the second row traces every packet (a span per hop)."
        if [[ -n $sizes ]]; then
            echo "- *Generated rings* (\`--size $sizes\`): the manifest \`lwc up --size N\`"
            echo "  writes (the cli's generator), N probe hosts and control, packed as it"
            echo "  packs them (32 hosts per \`lwc-host\` process, control alone), fresh"
            echo "  instances, the same latency, hops/s and CPU figures. *start-up*: first"
            echo "  spawn to every process's ready file, with the run's compile cache"
            echo "  already filled (as after any earlier ring). *RSS*: VmRSS of the ring's"
            echo "  processes and nats-server after the throughput window. *idle CPU*: the"
            echo "  same processes with nothing in flight, % of one core, 3 s after start-up."
        fi
        echo "- Shared, noisy machine: compare the ratios, not the absolutes; one run."
        echo
        # Hand-written: what the profiles found and what changed.
        cat bench/profile.md
    } >bench/results.md
    lwc_say "wrote bench/results.md"
fi
