#!/usr/bin/env bash
# Single-node KRaft Apache Kafka (broker + controller in one JVM) from Maven Central jars, for tests, benchmarks
# and local runs on machines without a Docker engine. Needs Java 17+ (and Maven for `setup`).
#
# usage: kafka-local.sh setup | start | stop | kill | status | tool <MainClass> [args...]
#
#   setup   download the classpath into lib/ (skipped when lib/ is already complete for this pom.xml)
#   start   format fresh storage and start; prints the start time. KAFKA_KEEP_DATA=1 keeps data/ (formats only
#           when absent), so a restart sees the same topics, offsets and transactions.
#   stop    SIGTERM (controlled shutdown), wait up to KAFKA_STOP_TIMEOUT seconds, then SIGKILL
#   kill    SIGKILL at once, like a crash (fault tests); data/ stays for a KAFKA_KEEP_DATA=1 start
#   status  exit 0 and print the pid when running, exit 1 when stopped
#   tool    run any Kafka main class on the broker's classpath (e.g. org.apache.kafka.tools.TopicCommand)
#
# Environment: KAFKA_PORT (9092), KAFKA_CONTROLLER_PORT (port+1), KAFKA_WORK_DIR (scripts/kafka-local/.kafka-<port>),
# KAFKA_ADVERTISED_PORT (the port clients are told to connect to: KAFKA_PORT, or a proxy's in front of it),
# KAFKA_KEEP_DATA, KAFKA_AUTO_CREATE_TOPICS (false), KAFKA_HEAP_OPTS, KAFKA_JVM_PERFORMANCE_OPTS, KAFKA_CDS (1),
# KAFKA_START_TIMEOUT (60), KAFKA_STOP_TIMEOUT (30), KAFKA_CLUSTER_ID, JAVA_HOME, and KAFKA_OWNER_PID: when set, a
# watchdog stops the broker once that process is gone, so a crashed test runner never leaves a broker behind.
# KAFKA_AUTHORIZER=1 starts the broker with ACLs enforced (StandardAuthorizer) but allowing everything a resource has
# no ACL for (allow.everyone.if.no.acl.found), so tests can take a permission away with a DENY ACL. On the PLAINTEXT
# listeners every client is User:ANONYMOUS, the broker's own connections included: deny only what a client needs
# and the broker does not (WRITE or READ on topics, groups, transactional ids; never CLUSTER_ACTION on the cluster).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
LIB="$HERE/lib"
PORT="${KAFKA_PORT:-9092}"
CPORT="${KAFKA_CONTROLLER_PORT:-$((PORT + 1))}"
APORT="${KAFKA_ADVERTISED_PORT:-$PORT}"
WORK="${KAFKA_WORK_DIR:-$HERE/.kafka-$PORT}"
DATA="$WORK/data"
LOGS="$WORK/logs"
PIDFILE="$WORK/kafka.pid"
WATCHDOG_PIDFILE="$WORK/watchdog.pid"
CONF="$WORK/server.properties"
# any 16-byte base64url UUID works; this is the default used by the official Docker image
CLUSTER_ID="${KAFKA_CLUSTER_ID:-5L6g3nShT-eMCtK--X86sw}"
AUTO_CREATE="${KAFKA_AUTO_CREATE_TOPICS:-false}"
AUTHORIZER="${KAFKA_AUTHORIZER:-0}"
KEEP_DATA="${KAFKA_KEEP_DATA:-0}"
JAVA="${JAVA_HOME:+$JAVA_HOME/bin/}java"
# small heap: the broker keeps message data in the page cache, not on the heap; the machine has 2 cores
HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xms128m -Xmx512m}"
JVM_OPTS="${KAFKA_JVM_PERFORMANCE_OPTS:--server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -XX:MaxInlineLevel=15 -Djava.awt.headless=true}"
# a short-lived tool JVM starts faster with the client compiler only and the serial collector
FAST_TOOL_OPTS="-Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xshare:auto"
# class-data sharing: the first start records the classes it loads into an archive (written at its clean stop);
# later starts map it and come up ~40% faster. KAFKA_CDS=0 turns it off.
CDS="${KAFKA_CDS:-1}"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-60}"
STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"

die() { echo "kafka-local: $*" >&2; exit 1; }

now_ms() { local t="${EPOCHREALTIME/./}"; echo $((t / 1000)); }

need_java() {
  command -v "$JAVA" >/dev/null 2>&1 || die "java not found (need Java 17+; set JAVA_HOME or put java on PATH)"
}

# lib/ is complete when stamped for this pom.xml or, unstamped (jars copied in by hand), when the jars that matter
# for the pinned versions are all there.
pom_prop() { sed -n "s#.*<$1>\(.*\)</$1>.*#\1#p" "$HERE/pom.xml" | head -n 1; }
lib_complete() {
  local kv lv sv jar
  kv="$(pom_prop kafka.version)"; lv="$(pom_prop log4j.version)"; sv="$(pom_prop slf4j.version)"
  # `setup` stamps lib/ with the pom it downloaded for; a changed pom means a new download
  if [[ -f "$LIB/.complete" ]]; then [[ "$(cat "$LIB/.complete")" == "$(cksum < "$HERE/pom.xml")" ]]; return; fi
  for jar in "kafka_2.13-$kv" "kafka-clients-$kv" "kafka-server-$kv" "kafka-raft-$kv" "kafka-metadata-$kv" \
             "kafka-storage-$kv" "kafka-tools-$kv" "kafka-transaction-coordinator-$kv" \
             "kafka-group-coordinator-$kv" "log4j-core-$lv" "log4j-slf4j-impl-$lv" "slf4j-api-$sv" \
             "scala-library-2.13."; do
    compgen -G "$LIB/$jar*.jar" >/dev/null || return 1
  done
}

# One archive per JVM build (a JDK update invalidates it) next to the jars it was made from (setup replaces lib/).
cds_archive() {
  local java; java="$(readlink -f "$(command -v "$JAVA")")"
  local stamp; stamp="$(stat -c %Y "$java" 2>/dev/null || stat -f %m "$java")"
  echo "$LIB/kafka-cds-$(printf '%s %s' "$java" "$stamp" | cksum | cut -d' ' -f1).jsa"
}

# After a clean stop: keep the archive the broker wrote at exit, unless one exists already.
# Copy then rename, so a concurrent start never maps a half-written archive.
keep_cds_archive() {
  [[ "$CDS" == 1 && -s "$WORK/kafka-cds.jsa" ]] || return 0
  local archive; archive="$(cds_archive)"
  if [[ ! -s "$archive" ]]; then
    cp "$WORK/kafka-cds.jsa" "$archive.$$.tmp" && mv -f "$archive.$$.tmp" "$archive" || rm -f "$archive.$$.tmp"
  fi
  rm -f "$WORK/kafka-cds.jsa"
}

tool() {  # run any Kafka main class on the same classpath, logging WARN+ to stderr
  need_java
  lib_complete || die "lib/ is incomplete: run '$0 setup' first (needs Maven)"
  # shellcheck disable=SC2086  # option lists are meant to split
  "$JAVA" ${TOOL_HEAP_OPTS:--Xmx512m} -Dlog4j2.configurationFile="$HERE/tools-log4j2.yaml" \
    -cp "$LIB/*" "$@"
}

# alive and not a zombie (a broker that died during `start` is still our unreaped child)
alive() {
  kill -0 "$1" 2>/dev/null || return 1
  [[ -r "/proc/$1/stat" ]] || return 0
  [[ "$(sed 's/.*) //' "/proc/$1/stat" | cut -c1)" != Z ]]
}

# Our broker is running: the pid file names a live process that is a broker on this work dir's config
# (guards against a stale pid file whose pid was reused).
running() {
  [[ -f "$PIDFILE" ]] || return 1
  local pid; pid="$(cat "$PIDFILE")"
  alive "$pid" || return 1
  [[ -r "/proc/$pid/cmdline" ]] || return 0
  tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF -- "$CONF"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

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

start_watchdog() {  # broker pid; stops the broker once KAFKA_OWNER_PID has exited
  local owner="${KAFKA_OWNER_PID:-}"
  [[ -n "$owner" ]] || return 0
  setsid bash -c '
    owner=$1 broker=$2 timeout=$3
    while kill -0 "$owner" 2>/dev/null && kill -0 "$broker" 2>/dev/null; do sleep 1; done
    kill -0 "$broker" 2>/dev/null || exit 0
    kill -TERM "$broker"
    for _ in $(seq 1 $((timeout * 10))); do kill -0 "$broker" 2>/dev/null || exit 0; sleep 0.1; done
    kill -KILL "$broker"
  ' kafka-local-watchdog "$owner" "$1" "$STOP_TIMEOUT" > /dev/null 2>&1 < /dev/null &
  echo $! > "$WATCHDOG_PIDFILE"
}

case "${1:-}" in
  setup)
    if lib_complete; then
      echo "lib/ complete ($(find "$LIB" -name '*.jar' | wc -l) jars), skipping download"
      cksum < "$HERE/pom.xml" > "$LIB/.complete"
      exit 0
    fi
    command -v mvn >/dev/null 2>&1 || die "mvn not found (Maven is needed once to download the Kafka jars into $LIB)"
    # download next to lib/ and swap in, so an interrupted download never looks complete and
    # jars of an older pom never stay on the classpath
    rm -rf "$LIB.tmp"
    # (Maven 3.8 still writes colour resets with -B; strip them from the log)
    mvn -B -q -Dstyle.color=never -f "$HERE/pom.xml" dependency:copy-dependencies -DoutputDirectory="$LIB.tmp" 2>&1 \
      | sed 's/\x1b\[[0-9;]*m//g'
    cksum < "$HERE/pom.xml" > "$LIB.tmp/.complete"
    rm -rf "$LIB"; mv "$LIB.tmp" "$LIB"
    echo "lib/ ready ($(find "$LIB" -name '*.jar' | wc -l) jars)"
    ;;

  start)
    if running; then echo "already running on 127.0.0.1:$PORT (pid $(cat "$PIDFILE"))"; exit 0; fi
    need_java
    lib_complete || die "lib/ is incomplete: run '$0 setup' first (needs Maven)"
    for p in "$PORT" "$CPORT"; do
      port_open "$p" && die "port $p on 127.0.0.1 is already in use by another process"
    done
    t0="$(now_ms)"
    mkdir -p "$WORK"
    if [[ "$KEEP_DATA" == 1 ]]; then
      # keep data/; keep the previous logs one generation back (readiness is read from a fresh server.log)
      mkdir -p "$LOGS/previous"
      find "$LOGS" -maxdepth 1 -name '*.log' -exec mv -f {} "$LOGS/previous/" \;
    else
      rm -rf "$DATA" "$LOGS"                       # fresh state
    fi
    mkdir -p "$DATA" "$LOGS"
    sed -e "s#@PORT@#$PORT#g" -e "s#@APORT@#$APORT#g" -e "s#@CPORT@#$CPORT#g" -e "s#@DATA@#$DATA#g" \
        -e "s#@AUTO_CREATE@#$AUTO_CREATE#g" "$HERE/server.properties.in" > "$CONF"
    if [[ "$AUTHORIZER" == 1 ]]; then
      # no super.users: with one principal for everyone, a super user would exempt the clients under test too
      printf '%s\n' '' '# ---- ACLs enforced (KAFKA_AUTHORIZER=1): allowed where a resource has no ACL ----' \
        'authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer' \
        'allow.everyone.if.no.acl.found=true' >> "$CONF"
    fi
    if [[ ! -f "$DATA/meta.properties" ]]; then
      TOOL_HEAP_OPTS="$FAST_TOOL_OPTS" tool kafka.tools.StorageTool format -t "$CLUSTER_ID" -c "$CONF" \
        > "$LOGS/format.log" 2>&1 || { cat "$LOGS/format.log" >&2; die "storage format failed"; }
    fi
    CDS_OPTS=""
    if [[ "$CDS" == 1 ]]; then
      archive="$(cds_archive)"
      rm -f "$WORK/kafka-cds.jsa"
      if [[ -s "$archive" ]]; then CDS_OPTS="-XX:SharedArchiveFile=$archive"
      else CDS_OPTS="-XX:ArchiveClassesAtExit=$WORK/kafka-cds.jsa"; fi
    fi
    t1="$(now_ms)"
    # own session: a Ctrl-C in the terminal reaches the caller, which stops the broker deliberately
    # shellcheck disable=SC2086
    setsid nohup "$JAVA" $HEAP_OPTS $JVM_OPTS $CDS_OPTS \
      -Dkafka.logs.dir="$LOGS" -Dlog4j2.configurationFile="$HERE/log4j2.yaml" \
      -cp "$LIB/*" kafka.Kafka "$CONF" > "$LOGS/stdout.log" 2>&1 < /dev/null &
    pid=$!
    echo "$pid" > "$PIDFILE"
    # interrupted or failed before ready: leave no half-started broker behind
    trap 'kill -KILL "$pid" 2>/dev/null; rm -f "$PIDFILE"; stop_watchdog; exit 130' INT TERM HUP
    start_watchdog "$pid"
    deadline=$((SECONDS + START_TIMEOUT))
    until grep -q 'Kafka Server started' "$LOGS/server.log" 2>/dev/null && port_open "$PORT"; do
      if ! alive "$pid"; then
        rm -f "$PIDFILE"
        tail -n 40 "$LOGS/stdout.log" "$LOGS/server.log" >&2 2>/dev/null || true
        die "broker exited during startup (logs in $LOGS)"
      fi
      if (( SECONDS >= deadline )); then
        kill -KILL "$pid" 2>/dev/null || true; rm -f "$PIDFILE"
        tail -n 40 "$LOGS/server.log" >&2 2>/dev/null || true
        die "broker not ready after ${START_TIMEOUT}s, killed it (logs in $LOGS)"
      fi
      sleep 0.1
    done
    trap - INT TERM HUP
    t2="$(now_ms)"
    echo "kafka ready on 127.0.0.1:$PORT (pid $pid) in $((t2 - t0)) ms (format $((t1 - t0)) ms, broker $((t2 - t1)) ms); logs in $LOGS"
    ;;

  stop)
    stop_watchdog
    running || { echo "not running"; rm -f "$PIDFILE"; exit 0; }
    pid="$(cat "$PIDFILE")"
    t0="$(now_ms)"
    kill -TERM "$pid" 2>/dev/null || true          # shutdown hook -> controlled shutdown
    if ! wait_gone "$pid" "$STOP_TIMEOUT"; then
      echo "no exit ${STOP_TIMEOUT}s after SIGTERM, sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      wait_gone "$pid" 10 || die "pid $pid survived SIGKILL"
    else
      keep_cds_archive
    fi
    rm -f "$PIDFILE"
    echo "stopped (pid $pid) in $(( $(now_ms) - t0 )) ms"
    ;;

  kill)
    stop_watchdog
    running || { echo "not running"; rm -f "$PIDFILE"; exit 0; }
    pid="$(cat "$PIDFILE")"
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 10 || die "pid $pid survived SIGKILL"
    rm -f "$PIDFILE"
    echo "killed (pid $pid)"
    ;;

  status)
    if running; then echo "running on 127.0.0.1:$PORT (pid $(cat "$PIDFILE"))"; else echo "stopped"; exit 1; fi
    ;;

  tool)
    shift; tool "$@"
    ;;

  *)
    echo "usage: $0 setup|start|stop|kill|status|tool <MainClass> [args...]" >&2; exit 2
    ;;
esac
