#!/usr/bin/env bash
# ring.sh: the front door of lwc. Launches nats-server and one lwc-host
# process per [hosts.<name>] table of scripts/ring.toml, and stops them.
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
#   scripts/ring.sh --restart-nats  restart the ring's nats-server, same port/token
#   scripts/ring.sh --help          this text
#
# While a ring is up, .lwc/ring.env holds LWC_NATS_URL, LWC_NATS_TOKEN,
# LWC_HTTP and LWC_LATTICE (KEY=VALUE lines; `set -a; . .lwc/ring.env; set +a`
# loads them into a shell), .lwc/<name>.pid the pid of each host and of `nats`,
# and .lwc/logs/<name>.log their logs.
#
# Environment:
#   LWC_MANIFEST=PATH        another manifest (default scripts/ring.toml)
#   LWC_DASH=PATH|none       dashboard binary (default target/release/lwc-dash);
#                            `none` shows the logs instead
#   LWC_NO_BUILD=1           skip scripts/setup.sh and cargo build
#   LWC_READY_TIMEOUT=SECS   how long to wait for the ring (default 120)
#   LWC_NATS_SERVER=PATH     the nats-server binary to use
#   LWC_HOST_BIN=PATH        the host binary (default target/release/lwc-host)
#   LWC_HOST_ARGS="FLAGS"    extra lwc-host flags for every host, e.g. "--reuse 1000"
set -euo pipefail

LWC_PROG=ring # read by lib.sh's messages
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname -- "${BASH_SOURCE[0]}")/lib.sh"

MANIFEST=${LWC_MANIFEST:-$LWC_ROOT/scripts/ring.toml}
LOGS=$LWC_DIR/logs
RING_ENV=$LWC_DIR/ring.env
NATS_CONF=$LWC_DIR/nats.conf
HOST_BIN=${LWC_HOST_BIN:-$LWC_ROOT/target/release/lwc-host}
LWC_DASH=${LWC_DASH:-$LWC_ROOT/target/release/lwc-dash}
READY_TIMEOUT=${LWC_READY_TIMEOUT:-120}
STOP_TIMEOUT=10 # seconds a process gets between SIGTERM and SIGKILL
# POSTed to check that the control component serves: invalid on purpose, so
# it is answered 400 and injects nothing.
PROBE_BODY='{"ttl":-1}'

STARTED=()  # what this call started ("nats" and host names): undone on failure/quit
TAIL_PID="" # the log viewer, if running

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

# ---------------------------------------------------------------- manifest

# The [hosts.<name>] tables, in file order.
manifest_hosts() {
    sed -n 's/^[[:space:]]*\[hosts\.\([a-z0-9_-]\{1,64\}\)\][[:space:]]*\(#.*\)\{0,1\}$/\1/p' "$MANIFEST"
}

# manifest_value TABLE_ERE KEY: the first KEY = "value" in a table whose name
# matches TABLE_ERE. Enough TOML for our flat manifest (string values).
manifest_value() {
    awk -v table="^($1)\$" -v key="$2" '
        /^[[:space:]]*\[/ {
            t = $0
            sub(/^[[:space:]]*\[[[:space:]]*/, "", t); sub(/[[:space:]]*\].*$/, "", t)
            inside = (t ~ table); cur = t; next
        }
        inside && $0 ~ ("^[[:space:]]*" key "[[:space:]]*=") {
            v = $0
            sub(/^[^=]*=[[:space:]]*/, "", v); sub(/[[:space:]]*(#.*)?$/, "", v)
            gsub(/^"|"$/, "", v)
            print v; exit
        }' "$MANIFEST"
}

# The host that runs the component with an `http` address (the control host).
manifest_http_host() {
    local comp
    comp=$(awk '
        /^[[:space:]]*\[/ { t = $0; sub(/^[[:space:]]*\[[[:space:]]*/, "", t); sub(/[[:space:]]*\].*$/, "", t); next }
        t ~ /^components\./ && /^[[:space:]]*http[[:space:]]*=/ { sub(/^components\./, "", t); print t; exit }
    ' "$MANIFEST")
    [[ -n $comp ]] && manifest_value "components\\.$comp" host
}

# Where to reach the HTTP API: the manifest's address, wildcard → loopback.
manifest_http_url() {
    local addr
    addr=$(manifest_value 'components\.[a-z0-9_-]+' http)
    [[ -n $addr ]] || return 0
    addr=${addr/#0.0.0.0:/127.0.0.1:}
    addr=${addr/#\[::\]:/[::1]:}
    printf 'http://%s\n' "$addr"
}

check_host_name() {
    local name=$1
    [[ -n $name ]] || lwc_die "missing HOST; hosts in $MANIFEST: $(manifest_hosts | xargs)"
    manifest_hosts | grep -qxF -- "$name" ||
        lwc_die "unknown host '$name'; hosts in $MANIFEST: $(manifest_hosts | xargs)"
}

# --------------------------------------------------------------- processes

pid_file() { printf '%s/%s.pid\n' "$LWC_DIR" "$1"; }
ready_file() { printf '%s/%s.ready\n' "$LWC_DIR" "$1"; }
log_file() { printf '%s/%s.log\n' "$LOGS" "$1"; }

# Print the pid from NAME's pid file if that process is alive and still the
# program we started. A pid file whose process is gone, a zombie, or a reused
# pid running something else is stale: not running.
running_pid() {
    local name=$1 f pid want
    f=$(pid_file "$name")
    [[ -r $f ]] || return 1
    pid=$(<"$f")
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    if [[ $name == nats ]]; then want=nats-server; else want=lwc-host; fi
    if [[ -d /proc/$pid ]]; then
        # It may exit between the checks: then the read fails, also "not running".
        { tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null | grep -qF -- "$want" || return 1
    fi
    printf '%s\n' "$pid"
}

# launch NAME CMD...: run CMD in the background in its own session (setsid),
# so neither the terminal's Ctrl-C nor its hangup reaches it and it outlives
# the call that started it; stdout+stderr append to NAME's log. The child
# writes its own pid (exact even if setsid has to fork) before exec'ing CMD.
launch() {
    local name=$1 pidf log i
    shift
    pidf=$(pid_file "$name")
    log=$(log_file "$name")
    rm -f -- "$pidf"
    printf '=== %s ring.sh: starting %s\n' "$(date '+%F %T')" "$name" >>"$log"
    local detach=(setsid)
    command -v setsid >/dev/null 2>&1 || detach=(nohup)
    (
        cd -- "$LWC_ROOT" || exit
        # Logs go to files: plain text, no terminal colour codes.
        export NO_COLOR=1
        # 9>&-: the child must not inherit (and so hold) the ring lock.
        # shellcheck disable=SC2016 # $$ and $@ belong to the inner bash
        exec "${detach[@]}" bash -c 'echo $$ >"$0.tmp" && mv -f "$0.tmp" "$0" && exec "$@"' \
            "$pidf" "$@" </dev/null >>"$log" 2>&1 9>&-
    ) &
    for ((i = 0; i < 50; i++)); do
        [[ -s $pidf ]] && return 0
        sleep 0.1
    done
    lwc_die "$name did not start; see $log"
}

# stop_procs SIGNAL NAME...: signal every running NAME, wait for all to exit
# (SIGKILL after STOP_TIMEOUT), and remove their pid and ready files.
stop_procs() {
    local sig=$1 name pid i pending
    shift
    local -A pids=()
    for name in "$@"; do
        if pid=$(running_pid "$name"); then
            pids[$name]=$pid
            kill "-$sig" "$pid" 2>/dev/null || true
        fi
    done
    for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
        pending=0
        for name in "${!pids[@]}"; do
            if running_pid "$name" >/dev/null; then pending=1; fi
        done
        ((pending)) || break
        sleep 0.1
    done
    for name in "${!pids[@]}"; do
        if running_pid "$name" >/dev/null; then
            lwc_say "$name (pid ${pids[$name]}) ignored SIG$sig for ${STOP_TIMEOUT}s; killing it"
            kill -KILL "${pids[$name]}" 2>/dev/null || true
            for ((i = 0; i < 50; i++)); do
                running_pid "$name" >/dev/null || break
                sleep 0.1
            done
        fi
        # Reap it if it was our own child, so no zombie lingers.
        wait "${pids[$name]}" 2>/dev/null || true
        lwc_say "stopped $name (pid ${pids[$name]})"
    done
    for name in "$@"; do
        rm -f -- "$(pid_file "$name")" "$(ready_file "$name")"
    done
}

# Names of every process the ring has a pid file for, hosts first and nats
# last (hosts no longer in the manifest included).
ring_procs() {
    local f name
    for f in "$LWC_DIR"/*.pid; do
        [[ -e $f ]] || continue
        name=$(basename -- "$f" .pid)
        [[ $name == nats ]] || printf '%s\n' "$name"
    done
}

# ------------------------------------------------------------------- state

ring_lock() {
    mkdir -p -- "$LWC_DIR"
    command -v flock >/dev/null 2>&1 || return 0
    exec 9>"$LWC_DIR/ring.lock"
    flock -w 300 9 || lwc_die "another scripts/ring.sh holds $LWC_DIR/ring.lock"
}

ring_unlock() {
    if { true >&9; } 2>/dev/null; then exec 9>&-; fi
}

ring_is_up() {
    [[ -r $RING_ENV ]] && running_pid nats >/dev/null
}

# Export the LWC_* variables of ring.env (parsed, not sourced).
load_ring_env() {
    local key value
    [[ -r $RING_ENV ]] || lwc_die "no ring is up ($RING_ENV missing); start one with scripts/ring.sh --detach"
    while IFS='=' read -r key value; do
        if [[ $key =~ ^LWC_[A-Z_]+$ ]]; then export "$key=$value"; fi
    done <"$RING_ENV"
}

require_ring_up() {
    ring_is_up || lwc_die "no ring is up; start one with scripts/ring.sh --detach"
    load_ring_env
}

show_log_tail() {
    local name=$1 log
    log=$(log_file "$name")
    lwc_say "last lines of $log:"
    if [[ -r $log ]]; then tail -n 30 -- "$log" | sed 's/^/    /' >&2; fi
}

# --------------------------------------------------------------------- nats

random_token() {
    od -An -N24 -tx1 /dev/urandom | tr -d ' \n'
}

# A fresh ring's nats config: loopback only, random token, no monitoring
# port. The token lives in this 0600 file, never on a command line.
write_nats_conf() {
    local port=$1 token=$2
    (
        umask 077
        cat >"$NATS_CONF" <<EOF
# Written by scripts/ring.sh for this ring; holds its token: keep it private.
listen: "127.0.0.1:$port"
authorization {
  token: "$token"
}
EOF
    )
}

nats_conf_port() {
    sed -n 's/^listen: "127\.0\.0\.1:\([0-9]*\)"$/\1/p' "$NATS_CONF"
}

# nats-server greets every client with an INFO line: that tells it from any
# other program on the port.
nats_answers() {
    (
        exec 3<>"/dev/tcp/127.0.0.1/$1"
        IFS= read -r -t 2 line <&3
        [[ $line == INFO* ]]
    ) 2>/dev/null
}

start_nats() {
    local bin port i
    bin=$(find_nats_server) || lwc_die "nats-server not found; run scripts/setup.sh"
    port=$(nats_conf_port)
    [[ -n $port ]] || lwc_die "$NATS_CONF has no listen port"
    ! port_in_use "$port" || lwc_die "port $port is taken by another program; stop it, or run scripts/ring.sh --stop and start a new ring"
    launch nats "$bin" -c "$NATS_CONF"
    STARTED+=(nats)
    for ((i = 0; i < 100; i++)); do
        nats_answers "$port" && {
            lwc_say "nats-server up on 127.0.0.1:$port (pid $(running_pid nats))"
            return 0
        }
        running_pid nats >/dev/null || break
        sleep 0.1
    done
    show_log_tail nats
    lwc_die "nats-server did not come up on 127.0.0.1:$port"
}

write_ring_env() {
    local port token http lattice
    port=$(nats_conf_port)
    token=$(sed -n 's/^  token: "\([0-9a-f]*\)"$/\1/p' "$NATS_CONF")
    http=$(manifest_http_url)
    lattice=$(manifest_value lattice name)
    (
        umask 077
        cat >"$RING_ENV.tmp" <<EOF
LWC_NATS_URL=nats://127.0.0.1:$port
LWC_NATS_TOKEN=$token
LWC_HTTP=$http
LWC_LATTICE=${lattice:-default}
EOF
        mv -f -- "$RING_ENV.tmp" "$RING_ENV"
    )
}

# -------------------------------------------------------------------- hosts

start_host() {
    local name=$1
    [[ -x $HOST_BIN ]] || lwc_die "$HOST_BIN missing; build with scripts/ring.sh --detach (it builds)"
    rm -f -- "$(ready_file "$name")"
    local extra=()
    # Word-split on purpose: LWC_HOST_ARGS="--reuse 1000 --max-concurrent 8".
    read -r -a extra <<<"${LWC_HOST_ARGS:-}"
    launch "$name" "$HOST_BIN" --manifest "$MANIFEST" --host "$name" \
        --ready-file "$(ready_file "$name")" "${extra[@]}"
    STARTED+=("$name")
    lwc_say "started $name (pid $(running_pid "$name" || echo '?'))"
}

# Status code of POST $LWC_HTTP$1 with body $2, over bash's /dev/tcp (no curl
# needed); 000 when nothing answers.
http_post_status() {
    local hostport=${LWC_HTTP#http://} code=""
    code=$(
        exec 2>/dev/null
        exec 3<>"/dev/tcp/${hostport%:*}/${hostport##*:}" || exit 0
        printf 'POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
            "$1" "$hostport" "${#2}" "$2" >&3
        IFS=' ' read -r -t 5 _ code _ <&3 && printf '%s' "$code"
    ) || true
    printf '%s\n' "${code:-000}"
}

# wait_ready HOST...: until each HOST has made its ready file and, if the
# control host is among them, POST /packets answers. Fails early when a host
# exits, and after READY_TIMEOUT with the log of what is not ready.
wait_ready() {
    local deadline=$((SECONDS + READY_TIMEOUT)) name code=000 http_host pending
    http_host=$(manifest_http_host || true)
    local check_http=0
    if [[ -n ${LWC_HTTP:-} ]] && printf '%s\n' "$@" | grep -qxF -- "$http_host"; then
        check_http=1
    fi
    while :; do
        pending=()
        for name in "$@"; do
            [[ -e $(ready_file "$name") ]] && continue
            if ! running_pid "$name" >/dev/null; then
                show_log_tail "$name"
                lwc_die "host $name exited while starting"
            fi
            pending+=("$name")
        done
        if ((${#pending[@]} == 0)); then
            ((check_http)) || return 0
            code=$(http_post_status /packets "$PROBE_BODY")
            [[ $code == 400 ]] && return 0
        fi
        if ((SECONDS >= deadline)); then
            for name in "${pending[@]}"; do show_log_tail "$name"; done
            if ((${#pending[@]} == 0)); then
                show_log_tail "$http_host"
                lwc_die "POST $LWC_HTTP/packets answered $code (want 400 to an invalid body) after ${READY_TIMEOUT}s"
            fi
            lwc_die "not ready after ${READY_TIMEOUT}s: ${pending[*]}"
        fi
        sleep 0.2
    done
}

# ------------------------------------------------------------ ring as whole

prepare() {
    [[ ${LWC_NO_BUILD:-} == 1 ]] && return 0
    "$LWC_ROOT/scripts/setup.sh"
    lwc_say "building (cargo, release)"
    build_all
}

# Start whatever of the ring is not running. Without a live nats-server the
# ring is gone: clear its leftovers and start a new one (new token).
ensure_ring() {
    local name http todo=()
    mkdir -p -- "$LOGS"
    if ! ring_is_up; then
        stop_all quiet
        http=$(manifest_http_url)
        if [[ -n $http ]]; then
            local hp=${http#http://}
            ! port_in_use "${hp##*:}" ||
                lwc_die "${hp} is already taken by another program (another ring? a test?); free it first"
        fi
        rm -f -- "$LOGS"/*.log
        write_nats_conf "$(free_port 4222)" "$(random_token)"
        start_nats
        write_ring_env
    fi
    load_ring_env
    for name in $(manifest_hosts); do
        running_pid "$name" >/dev/null || start_host "$name"
        todo+=("$name")
    done
    ((${#todo[@]})) || lwc_die "no [hosts.<name>] tables in $MANIFEST"
    lwc_say "waiting for ${todo[*]} (up to ${READY_TIMEOUT}s)"
    wait_ready "${todo[@]}"
    lwc_say "ring up: ${LWC_HTTP:-no HTTP API}, lattice $LWC_LATTICE, nats $LWC_NATS_URL"
}

# Stop every process the ring started (hosts, then nats) and remove its
# state files. Logs stay for a post-mortem.
stop_all() {
    local quiet=${1:-} hosts
    mapfile -t hosts < <(ring_procs)
    if [[ -z $quiet ]] && ((${#hosts[@]} == 0)) && ! running_pid nats >/dev/null; then
        lwc_say "no ring processes running"
    fi
    ((${#hosts[@]} == 0)) || stop_procs TERM "${hosts[@]}"
    stop_procs TERM nats
    rm -f -- "$RING_ENV" "$NATS_CONF" "$LWC_DIR"/*.ready
}

# On exit of a call that started things: undo them, unless it succeeded in
# leaving them up (--detach clears STARTED). Having started nats means this
# call started the ring: stop all of it.
on_exit() {
    local status=$? name ring=0
    trap - EXIT INT TERM HUP
    # A signal can land inside `IFS= read`, leaving IFS empty here.
    IFS=$' \t\n'
    if [[ -n $TAIL_PID ]]; then kill "$TAIL_PID" 2>/dev/null || true; fi
    ((${#STARTED[@]})) || exit "$status"
    lwc_say "stopping what this call started"
    ring_lock || true
    for name in "${STARTED[@]}"; do
        if [[ $name == nats ]]; then ring=1; fi
    done
    if ((ring)); then
        stop_all quiet || true
    else
        stop_procs TERM "${STARTED[@]}" || true
    fi
    exit "$status"
}

# From here on, leaving this call (error, Ctrl-C, closed terminal) runs on_exit.
undo_on_exit() {
    trap on_exit EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
}

# ------------------------------------------------------------------ viewer

# The dashboard is used once target/release/lwc-dash is a real one, i.e. its
# --help mentions "dashboard"; until then (or with LWC_DASH=none) the hosts'
# logs are shown instead.
dash_is_real() {
    local help
    [[ $LWC_DASH != none && -x $LWC_DASH ]] || return 1
    help=$(timeout 10 "$LWC_DASH" --help 2>&1 </dev/null) || return 1
    grep -qi dashboard <<<"$help"
}

view_logs() {
    lwc_say "showing the hosts' logs; quit with q or Ctrl-C"
    tail -n 20 -F "$LOGS"/*.log &
    TAIL_PID=$!
    if [[ -t 0 ]]; then
        local key
        while IFS= read -rsn1 key; do
            if [[ $key == [qQ] ]]; then break; fi
        done
    else
        wait "$TAIL_PID" || true
    fi
    kill "$TAIL_PID" 2>/dev/null || true
    TAIL_PID=""
}

view() {
    # The dashboard needs a terminal; without one (a pipe, CI) show the logs.
    if dash_is_real && [[ -t 0 && -t 1 ]]; then
        "$LWC_DASH" || lwc_say "dashboard exited with status $?"
    else
        view_logs
    fi
}

# ------------------------------------------------------------------- modes

mode_view() {
    undo_on_exit
    if ring_is_up; then
        lwc_say "a ring is already up: attaching (quitting leaves it up)"
        load_ring_env
    else
        prepare
        ring_lock
        ensure_ring
        ring_unlock
    fi
    view
}

mode_detach() {
    undo_on_exit
    prepare
    ring_lock
    ensure_ring
    STARTED=() # success: leave it all running
    lwc_say "logs in $LOGS; environment in $RING_ENV; stop with scripts/ring.sh --stop"
}

mode_stop() {
    ring_lock
    stop_all
}

mode_start() {
    local name=$1
    check_host_name "$name"
    ring_lock
    require_ring_up
    if running_pid "$name" >/dev/null; then
        lwc_say "$name is running: restarting it"
        stop_procs TERM "$name"
    fi
    start_host "$name"
    wait_ready "$name"
    lwc_say "$name ready"
}

mode_kill() {
    local name=$1 pid i
    check_host_name "$name"
    ring_lock
    pid=$(running_pid "$name") || lwc_die "$name is not running"
    kill -KILL "$pid"
    for ((i = 0; i < 50; i++)); do
        running_pid "$name" >/dev/null || break
        sleep 0.1
    done
    rm -f -- "$(pid_file "$name")" "$(ready_file "$name")"
    lwc_say "killed $name (pid $pid, SIGKILL)"
}

mode_restart_nats() {
    ring_lock
    [[ -r $RING_ENV && -r $NATS_CONF ]] ||
        lwc_die "no ring is up; start one with scripts/ring.sh --detach"
    stop_procs TERM nats
    start_nats
}

main() {
    local arg=${1:-}
    case $arg in
        "") mode_view ;;
        --detach) mode_detach ;;
        --stop) mode_stop ;;
        --start) mode_start "${2:-}" ;;
        --kill) mode_kill "${2:-}" ;;
        --restart-nats) mode_restart_nats ;;
        -h | --help) usage ;;
        *) lwc_die "unknown argument '$arg' (see scripts/ring.sh --help)" ;;
    esac
}

main "$@"
