#!/usr/bin/env bash
# Apicurio Registry (Apache 2.0; Confluent-compatible API at /apis/ccompat/v7) from Maven Central, for tests, the
# benchmark and `demo --wire-format confluent` on machines without a Docker engine. Needs Java 17+ (and Maven for
# `setup`). Storage is in memory: a restart forgets every schema (fault tests make it hang with SIGSTOP instead).
#
# usage: registry-local.sh setup | start | stop | kill | status
#
#   setup   download the application into lib/ (skipped when lib/ holds this version)
#   start   start on REGISTRY_PORT, wait for /health/ready, set the global compatibility; prints the start time
#   stop    SIGTERM, wait up to REGISTRY_STOP_TIMEOUT seconds, then SIGKILL
#   kill    SIGKILL at once
#   status  exit 0 and print the pid when running, exit 1 when stopped
#
# Environment: REGISTRY_PORT (8081), REGISTRY_WORK_DIR (scripts/registry-local/.registry-<port>),
# REGISTRY_COMPATIBILITY (FULL; Apicurio's own default is NONE), REGISTRY_HEAP_OPTS, REGISTRY_START_TIMEOUT (90),
# REGISTRY_STOP_TIMEOUT (20), JAVA_HOME, and REGISTRY_OWNER_PID: when set, a watchdog stops the registry once that
# process is gone, so a crashed test runner never leaves one behind.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VERSION="3.0.9"   # 3.0.x runs on Java 17; 3.3.x needs Java 21+
LIB="$HERE/lib"
APP="$LIB/app"
JAR="$APP/apicurio-registry-app-$VERSION-runner.jar"
PORT="${REGISTRY_PORT:-8081}"
WORK="${REGISTRY_WORK_DIR:-$HERE/.registry-$PORT}"
PIDFILE="$WORK/registry.pid"
WATCHDOG_PIDFILE="$WORK/watchdog.pid"
LOG="$WORK/registry.log"
COMPATIBILITY="${REGISTRY_COMPATIBILITY:-FULL}"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
# client compiler only and the serial collector: the machine has 2 cores, and a test registry serves little
HEAP_OPTS="${REGISTRY_HEAP_OPTS:--Xms64m -Xmx256m}"
JVM_OPTS="-XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true"
START_TIMEOUT="${REGISTRY_START_TIMEOUT:-90}"
STOP_TIMEOUT="${REGISTRY_STOP_TIMEOUT:-20}"
BASE="http://127.0.0.1:$PORT"

die() { echo "registry-local: $*" >&2; exit 1; }
now_ms() { local t="${EPOCHREALTIME/./}"; echo $((t / 1000)); }
need_java() { command -v "$JAVA" >/dev/null 2>&1 || die "java not found (need Java 17+; set JAVA_HOME or put java on PATH)"; }
lib_complete() { [[ -f "$LIB/.complete" && "$(cat "$LIB/.complete")" == "$VERSION" && -f "$JAR" ]]; }

alive() {
  kill -0 "$1" 2>/dev/null || return 1
  [[ -r "/proc/$1/stat" ]] || return 0
  [[ "$(sed 's/.*) //' "/proc/$1/stat" | cut -c1)" != Z ]]
}

# the pid file names a live registry on this port (guards against a stale pid file whose pid was reused)
running() {
  [[ -f "$PIDFILE" ]] || return 1
  local pid; pid="$(cat "$PIDFILE")"
  alive "$pid" || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 0
  tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF -- "-Dquarkus.http.port=$PORT "
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# GET/PUT with bash's /dev/tcp only (no curl needed); prints the status code
http() {  # method path [body]
  local body="${3:-}" status
  exec 3<>"/dev/tcp/127.0.0.1/$PORT" || return 1
  printf '%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/vnd.schemaregistry.v1+json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
    "$1" "$2" "${#body}" "$body" >&3
  status="$(head -n 1 <&3 | cut -d' ' -f2)"
  exec 3<&- 3>&-
  echo "$status"
}

wait_gone() {  # pid, seconds
  local deadline=$((SECONDS + $2))
  while alive "$1"; do
    (( SECONDS < deadline )) || return 1
    sleep 0.1
  done
}

stop_watchdog() {
  [[ -f "$WATCHDOG_PIDFILE" ]] && kill "$(cat "$WATCHDOG_PIDFILE")" 2>/dev/null || true
  rm -f "$WATCHDOG_PIDFILE"
}

start_watchdog() {  # registry pid; stops it once REGISTRY_OWNER_PID has exited (SIGCONT first: it may be stopped)
  local owner="${REGISTRY_OWNER_PID:-}"
  [[ -n "$owner" ]] || return 0
  setsid bash -c '
    owner=$1 pid=$2
    while kill -0 "$owner" 2>/dev/null && kill -0 "$pid" 2>/dev/null; do sleep 1; done
    kill -0 "$pid" 2>/dev/null || exit 0
    kill -CONT "$pid"; kill -TERM "$pid"
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || exit 0; sleep 0.1; done
    kill -KILL "$pid"
  ' registry-local-watchdog "$owner" "$1" > /dev/null 2>&1 < /dev/null &
  echo $! > "$WATCHDOG_PIDFILE"
}

case "${1:-}" in
  setup)
    if lib_complete; then echo "lib/ holds Apicurio Registry $VERSION, skipping download"; exit 0; fi
    command -v mvn >/dev/null 2>&1 || die "mvn not found (Maven is needed once to download Apicurio Registry into $LIB)"
    rm -rf "$LIB.tmp"; mkdir -p "$LIB.tmp/app"
    mvn -B -q -Dstyle.color=never dependency:copy \
      -Dartifact="io.apicurio:apicurio-registry-app:$VERSION:tar.gz:all" -DoutputDirectory="$LIB.tmp" 2>&1 \
      | sed 's/\x1b\[[0-9;]*m//g'
    tar xzf "$LIB.tmp/apicurio-registry-app-$VERSION-all.tar.gz" -C "$LIB.tmp/app"
    rm -f "$LIB.tmp/apicurio-registry-app-$VERSION-all.tar.gz"
    [[ -f "$LIB.tmp/app/apicurio-registry-app-$VERSION-runner.jar" ]] || die "the archive has no runner jar"
    echo "$VERSION" > "$LIB.tmp/.complete"
    rm -rf "$LIB"; mv "$LIB.tmp" "$LIB"
    echo "lib/ ready (Apicurio Registry $VERSION)"
    ;;

  start)
    if running; then echo "already running on $BASE (pid $(cat "$PIDFILE"))"; exit 0; fi
    need_java
    lib_complete || die "lib/ is incomplete: run '$0 setup' first (needs Maven)"
    port_open "$PORT" && die "port $PORT on 127.0.0.1 is already in use by another process"
    t0="$(now_ms)"
    mkdir -p "$WORK"
    # shellcheck disable=SC2086  # option lists are meant to split
    (cd "$WORK" && exec setsid nohup "$JAVA" $HEAP_OPTS $JVM_OPTS -Dquarkus.http.port="$PORT" -Dquarkus.http.host=127.0.0.1 \
      -Dquarkus.log.level=WARN -Dquarkus.banner.enabled=false -jar "$JAR" > "$LOG" 2>&1 < /dev/null) &
    pid=$!
    echo "$pid" > "$PIDFILE"
    trap 'kill -KILL "$pid" 2>/dev/null; rm -f "$PIDFILE"; stop_watchdog; exit 130' INT TERM HUP
    start_watchdog "$pid"
    deadline=$((SECONDS + START_TIMEOUT))
    until port_open "$PORT" && [[ "$(http GET /health/ready 2>/dev/null)" == 200 ]]; do
      if ! alive "$pid"; then
        rm -f "$PIDFILE"; tail -n 40 "$LOG" >&2 || true
        die "registry exited during startup (log: $LOG)"
      fi
      if (( SECONDS >= deadline )); then
        kill -KILL "$pid" 2>/dev/null || true; rm -f "$PIDFILE"; tail -n 40 "$LOG" >&2 || true
        die "registry not ready after ${START_TIMEOUT}s, killed it (log: $LOG)"
      fi
      sleep 0.1
    done
    status="$(http PUT /apis/ccompat/v7/config "{\"compatibility\":\"$COMPATIBILITY\"}")"
    [[ "$status" == 200 ]] || die "setting the global compatibility to $COMPATIBILITY answered HTTP $status"
    trap - INT TERM HUP
    echo "registry ready on $BASE/apis/ccompat/v7 (pid $pid, compatibility $COMPATIBILITY) in $(( $(now_ms) - t0 )) ms; log $LOG"
    ;;

  stop|kill)
    stop_watchdog
    running || { echo "not running"; rm -f "$PIDFILE"; exit 0; }
    pid="$(cat "$PIDFILE")"
    kill -CONT "$pid" 2>/dev/null || true   # a stopped (SIGSTOP) JVM would never act on SIGTERM
    if [[ "$1" == kill ]]; then kill -KILL "$pid" 2>/dev/null || true
    else kill -TERM "$pid" 2>/dev/null || true; fi
    if ! wait_gone "$pid" "$STOP_TIMEOUT"; then
      kill -KILL "$pid" 2>/dev/null || true
      wait_gone "$pid" 10 || die "pid $pid survived SIGKILL"
    fi
    rm -f "$PIDFILE"
    echo "stopped (pid $pid)"
    ;;

  status)
    if running; then echo "running on $BASE (pid $(cat "$PIDFILE"))"; else echo "stopped"; exit 1; fi
    ;;

  *)
    echo "usage: $0 setup|start|stop|kill|status" >&2; exit 2
    ;;
esac
