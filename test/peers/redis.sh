#!/usr/bin/env bash
# Redis on loopback, all state in one directory (the shared replay cache of lib/redis).
#
#   redis.sh [up] STATE_DIR   start redis-server (port claimed once, kept across restarts),
#                             print `export K=V` lines on stdout (logs on stderr)
#   redis.sh env   STATE_DIR  print the exports again
#   redis.sh stop  STATE_DIR  stop the redis-server started here, by PID file
#   redis.sh clean STATE_DIR  stop, release the port, rm -rf STATE_DIR
#
# Knobs: REDIS_ADDR (127.0.0.1), REDIS_PORT (first free >= 63790). No persistence (no RDB/AOF):
# a restarted Redis is an empty one, as after a crash without persistence.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/_common.sh"

peer_args "" "$@"
# shellcheck disable=SC1091
[ -f "$S/settings.env" ] && . "$S/settings.env"
REDIS_ADDR=${REDIS_ADDR:-127.0.0.1}
assert_loopback "$REDIS_ADDR"
BIN=/usr/bin/redis-server

print_env() {
  echo "export REDIS_HOST='$REDIS_ADDR'"
  echo "export REDIS_PORT='$REDIS_PORT'"
  echo "export REDIS_URL='redis://$REDIS_ADDR:$REDIS_PORT'"
  echo "export REDIS_PIDFILE='$S/redis.pid'"
}

case $cmd in
  env) print_env; exit 0;;
  stop) stop_pidfile "$S/redis.pid" redis-server; exit 0;;
  clean) stop_pidfile "$S/redis.pid" redis-server; release_ports "$S"; rm -rf "$S"; exit 0;;
esac

[ -x "$BIN" ] || apt_install redis-server
if [ -z "${REDIS_PORT:-}" ]; then
  REDIS_PORT=$(claim_ports 63790 1 "$S")
  printf 'REDIS_ADDR=%s\nREDIS_PORT=%s\n' "$REDIS_ADDR" "$REDIS_PORT" > "$S/settings.env"
fi
if ! pid_alive "$S/redis.pid" redis-server; then
  # Daemonized, bound to loopback only, no persistence, no config file of the system's.
  "$BIN" --bind "$REDIS_ADDR" --port "$REDIS_PORT" --dir "$S" --pidfile "$S/redis.pid" \
    --daemonize yes --logfile "$S/redis.log" --save '' --appendonly no --protected-mode yes >&2
  for _ in $(seq 50); do [ -s "$S/redis.pid" ] && break; sleep 0.1; done
  wait_tcp "$REDIS_ADDR" "$REDIS_PORT" 10 || { tail -20 "$S/redis.log" >&2 || true; die "redis-server did not listen on $REDIS_ADDR:$REDIS_PORT"; }
  log "redis-server pid $(cat "$S/redis.pid") on $REDIS_ADDR:$REDIS_PORT"
fi
print_env
