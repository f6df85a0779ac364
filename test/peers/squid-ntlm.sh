#!/usr/bin/env bash
# Squid (HTTP proxy) with NTLM proxy authentication through squid's own ntlm_fake_auth helper
# (squid's NTLMSSP message handling; it accepts ANY user and password: it checks the protocol flow
# and message formats, not the credentials) on 127.0.0.1 only, own config, logs and PID file in
# STATE_DIR. Nothing is cached. Based on squid-negotiate.sh.
#
#   squid-ntlm.sh [up] STATE_DIR
#   squid-ntlm.sh env   STATE_DIR
#   squid-ntlm.sh stop  STATE_DIR
#   squid-ntlm.sh clean STATE_DIR
# Knobs: SQUID_PORT (first free >= 63228), SQUID_ADDR (127.0.0.1).
# Every request must be authenticated (proxy_auth REQUIRED), CONNECT to any port is allowed.
# The access log names the user the client sent (DOMAIN\user or user).
# Checked before returning: a request without credentials gets 407 Proxy-Authenticate: NTLM.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/_common.sh"

cmd=up
case "${1:-}" in up|env|stop|clean) cmd=$1; shift;; esac
S=${1:-}
[ -n "$S" ] || die "usage: $0 $cmd STATE_DIR"
mkdir -p "$S"; S=$(cd "$S" && pwd)
ADDR=${SQUID_ADDR:-127.0.0.1}
assert_loopback "$ADDR"
HELPER=/usr/lib/squid/ntlm_fake_auth

print_env() {
  . "$S/port.env"
  cat <<EOF2
export SQUID_STATE='$S'
export SQUID_URL='http://$ADDR:$PORT'
export SQUID_PORT='$PORT'
export SQUID_ADDR='$ADDR'
EOF2
}
do_stop() { stop_pidfile "$S/run/squid.pid" squid; return 0; }

case $cmd in
  env)   [ -f "$S/port.env" ] || die "nothing in $S"; print_env; exit 0;;
  stop)  do_stop; exit 0;;
  clean) do_stop; release_ports "$S"; case "$S" in /|/tmp|/root|"") die "refusing to rm $S";; esac; rm -rf "$S"; log "removed $S"; exit 0;;
esac

need_root
apt_install squid curl
[ -x "$HELPER" ] || die "$HELPER missing (Debian package squid)"
[ -f "$S/port.env" ] || echo "PORT=$(claim_ports "${SQUID_PORT:-63228}" 1 "$S")" > "$S/port.env"
. "$S/port.env"

chmod 755 "$S"
mkdir -p "$S/logs" "$S/run" "$S/spool"
chown proxy:proxy "$S/logs" "$S/run" "$S/spool"

cat > "$S/squid.conf" <<EOF2
http_port $ADDR:$PORT
pid_filename $S/run/squid.pid
cache_effective_user proxy
cache deny all
cache_mem 8 MB
access_log stdio:$S/logs/access.log
cache_log $S/logs/cache.log
cache_store_log none
coredump_dir $S/spool
netdb_filename none
pinger_enable off
logfile_rotate 0
shutdown_lifetime 0 seconds
dns_nameservers 127.0.0.1
hosts_file /etc/hosts
auth_param ntlm program $HELPER
auth_param ntlm children 4 startup=1 idle=1
auth_param ntlm keep_alive on
acl authenticated proxy_auth REQUIRED
http_access allow authenticated
http_access deny all
via on
forwarded_for delete
EOF2

run_squid() {
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C /usr/sbin/squid -f "$S/squid.conf" "$@"
}
run_squid -k parse 2>&1 | grep -iE 'error|fatal' | sed 's/^/[squid -k parse] /' >&2 || true
if ! pid_alive "$S/run/squid.pid" squid; then
  port_in_use "$PORT" && die "port $PORT in use"
  log "starting squid on $ADDR:$PORT"
  run_squid
  for _ in $(seq 100); do [ -s "$S/run/squid.pid" ] && break; sleep 0.1; done
  wait_tcp "$ADDR" "$PORT" 15 || die "squid did not start, see $S/logs/cache.log: $(tail -5 "$S/logs/cache.log" 2>/dev/null)"
fi

# --- verify: no credentials -> 407 with Proxy-Authenticate: NTLM ---
hdrs=$(curl -sS -o /dev/null -D - --max-time 10 -x "http://$ADDR:$PORT" "http://localhost:9/" || true)
printf '%s\n' "$hdrs" | grep -qE '^HTTP/1\.[01] 407' || die "expected 407 from squid, got: $(printf '%s' "$hdrs" | head -1)"
printf '%s\n' "$hdrs" | grep -qi '^Proxy-Authenticate: NTLM' || die "squid does not offer NTLM: $hdrs"
log "squid up on $ADDR:$PORT (NTLM via $HELPER)"
print_env
