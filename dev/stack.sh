#!/usr/bin/env bash
# The local stack without Docker: Apache Kafka (KRaft, one node) as a Java process and
# Debian's redis-server, both on 127.0.0.1 with their data and logs under var/.
# ClickHouse needs no process: the worker embeds chDB.
#
#   dev/stack.sh jars      fetch the Kafka jars from Maven Central (cached in var/kafka/libs)
#   dev/stack.sh up        start what is not running, wait until healthy (idempotent)
#   dev/stack.sh down      stop what this script started
#   dev/stack.sh status    show what runs
#   dev/stack.sh stop|start|kill kafka|redis   one service (fault-injection tests use these; kill = SIGKILL)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VAR=${LEADSTREAM_VAR_DIR:-$ROOT/var}
KAFKA_PORT=${LEADSTREAM_DEV_KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${LEADSTREAM_DEV_KAFKA_CONTROLLER_PORT:-9093}
REDIS_PORT=${LEADSTREAM_DEV_REDIS_PORT:-6379}
KAFKA_HEAP=${LEADSTREAM_DEV_KAFKA_HEAP:-768m}
WAIT_SECONDS=${LEADSTREAM_DEV_WAIT_SECONDS:-90}

KDIR=$VAR/kafka
RDIR=$VAR/redis

say() { printf '[stack] %s\n' "$*" >&2; }
die() { printf '[stack] error: %s\n' "$*" >&2; exit 1; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

jars() {
  if [ -f "$KDIR/libs/.complete" ]; then return 0; fi
  command -v mvn >/dev/null || die "Maven not found: install it (apt-get install maven) and retry"
  command -v java >/dev/null || die "Java not found: install a JDK 17+ (apt-get install openjdk-17-jre-headless) and retry"
  say "fetching Kafka jars from Maven Central into $KDIR/libs (one time, ~45 MB)"
  rm -rf "$KDIR/libs"; mkdir -p "$KDIR/libs"
  mkdir -p "$KDIR/logs"
  mvn -B -Dstyle.color=never -f "$ROOT/dev/kafka/pom.xml" dependency:copy-dependencies -Dkafka.libs="$KDIR/libs" \
    > "$KDIR/logs/maven.log" 2>&1 \
    || { tail -n 20 "$KDIR/logs/maven.log" >&2; die "Maven could not fetch the Kafka jars (see $KDIR/logs/maven.log); check access to repo1.maven.org and retry"; }
  touch "$KDIR/libs/.complete"
}

kafka_java() {
  java -Xms256m -Xmx"$KAFKA_HEAP" -XX:+UseG1GC -Djava.awt.headless=true \
    -Dkafka.logs.dir="$KDIR/logs" -Dlog4j2.configurationFile="$ROOT/dev/kafka/log4j2.properties" \
    -cp "$KDIR/libs/*" "$@"
}

kafka_up() {
  if port_open "$KAFKA_PORT"; then
    pid_alive "$KDIR/kafka.pid" && say "kafka already running (pid $(cat "$KDIR/kafka.pid"))" \
      || say "something already listens on 127.0.0.1:$KAFKA_PORT; using it as the broker"
    return 0
  fi
  jars
  mkdir -p "$KDIR/data" "$KDIR/logs"
  sed -e "s#@VAR@#$VAR#g" -e "s#@PORT@#$KAFKA_PORT#g" -e "s#@CONTROLLER_PORT@#$KAFKA_CONTROLLER_PORT#g" \
    "$ROOT/dev/kafka/server.properties.in" > "$KDIR/server.properties"
  if [ ! -f "$KDIR/data/meta.properties" ]; then
    say "formatting Kafka storage (KRaft) in $KDIR/data"
    kafka_java kafka.tools.StorageTool format -t "$(kafka_java kafka.tools.StorageTool random-uuid)" \
      -c "$KDIR/server.properties" > "$KDIR/logs/format.log" 2>&1 \
      || die "formatting Kafka storage failed; see $KDIR/logs/format.log"
  fi
  say "starting kafka on 127.0.0.1:$KAFKA_PORT"
  # Each start writes a fresh server.log, so readiness is read from this start's lines only.
  [ -f "$KDIR/logs/server.log" ] && mv -f "$KDIR/logs/server.log" "$KDIR/logs/server.log.prev"
  setsid nohup bash -c "$(declare -f kafka_java); KDIR='$KDIR' ROOT='$ROOT' KAFKA_HEAP='$KAFKA_HEAP' \
    kafka_java kafka.Kafka '$KDIR/server.properties'" > "$KDIR/logs/stdout.log" 2>&1 < /dev/null &
  echo $! > "$KDIR/kafka.pid"
}

kafka_started() {  # grep -c reads to the end: grep -q in a pipeline would SIGPIPE under pipefail
  [ "$(grep -c 'Kafka Server started' "$KDIR/logs/server.log" 2>/dev/null)" -gt 0 ]
}

kafka_wait() {
  local deadline=$((SECONDS + WAIT_SECONDS))
  until port_open "$KAFKA_PORT" && { ! pid_alive "$KDIR/kafka.pid" || kafka_started; }; do
    if [ -f "$KDIR/kafka.pid" ] && ! pid_alive "$KDIR/kafka.pid" && ! port_open "$KAFKA_PORT"; then
      tail -n 20 "$KDIR/logs/stdout.log" >&2 || true
      die "kafka exited during start-up; see $KDIR/logs/server.log and $KDIR/logs/stdout.log"
    fi
    [ $SECONDS -lt $deadline ] || die "kafka not healthy after ${WAIT_SECONDS}s; see $KDIR/logs/server.log"
    sleep 0.5
  done
  say "kafka healthy"
}

redis_up() {
  if redis_ping; then say "redis already running on 127.0.0.1:$REDIS_PORT"; return 0; fi
  command -v redis-server >/dev/null || die "redis-server not found: install it (apt-get install redis-server) and retry"
  mkdir -p "$RDIR"
  say "starting redis on 127.0.0.1:$REDIS_PORT"
  # No snapshots: Redis holds only rebuildable hot state (rate counters, reply mailboxes).
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes --dir "$RDIR" \
    --pidfile "$RDIR/redis.pid" --logfile "$RDIR/redis.log" --save '' --appendonly no \
    || die "redis-server failed to start; see $RDIR/redis.log"
}

redis_ping() { [ "$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }

redis_wait() {
  local deadline=$((SECONDS + WAIT_SECONDS))
  until redis_ping; do
    [ $SECONDS -lt $deadline ] || die "redis not healthy after ${WAIT_SECONDS}s; see $RDIR/redis.log"
    sleep 0.2
  done
  say "redis healthy"
}

stop_pid() {  # stop_pid NAME PIDFILE: TERM, then KILL after 30 s
  local name=$1 file=$2 pid
  pid_alive "$file" || { rm -f "$file"; return 0; }
  pid=$(cat "$file"); say "stopping $name (pid $pid)"
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$pid" 2>/dev/null && { say "$name did not stop in 30 s; killing"; kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true; }
  rm -f "$file"
}

status() {
  local k r
  port_open "$KAFKA_PORT" && k=up || k=down
  redis_ping && r=up || r=down
  echo "kafka 127.0.0.1:$KAFKA_PORT $k"
  echo "redis 127.0.0.1:$REDIS_PORT $r"
  echo "clickhouse embedded (chDB, opened by the worker)"
}

case "${1:-}" in
  jars) jars ;;
  up) kafka_up; redis_up; kafka_wait; redis_wait ;;
  down) stop_pid kafka "$KDIR/kafka.pid"; stop_pid redis "$RDIR/redis.pid" ;;
  status) status ;;
  stop)
    case "${2:-}" in
      kafka) stop_pid kafka "$KDIR/kafka.pid" ;;
      redis) stop_pid redis "$RDIR/redis.pid" ;;
      *) echo "usage: $0 stop kafka|redis" >&2; exit 2 ;;
    esac ;;
  kill)
    case "${2:-}" in
      kafka) f="$KDIR/kafka.pid" ;;
      redis) f="$RDIR/redis.pid" ;;
      *) echo "usage: $0 kill kafka|redis" >&2; exit 2 ;;
    esac
    pid_alive "$f" && { kill -KILL -- "-$(cat "$f")" 2>/dev/null || kill -KILL "$(cat "$f")"; }
    rm -f "$f" ;;
  start)
    case "${2:-}" in
      kafka) kafka_up; kafka_wait ;;
      redis) redis_up; redis_wait ;;
      *) echo "usage: $0 start kafka|redis" >&2; exit 2 ;;
    esac ;;
  *) echo "usage: $0 jars|up|down|status|stop SERVICE|start SERVICE" >&2; exit 2 ;;
esac
