#!/usr/bin/env bash
# Squid (HTTP proxy) with Negotiate proxy authentication (negotiate_kerberos_auth, MIT libgssapi)
# on 127.0.0.1 only, own config, logs and PID file in STATE_DIR. Nothing is cached.
#
#   squid-negotiate.sh [up] STATE_DIR      needs SQUID_KEYTAB (a keytab holding the proxy's
#                                          HTTP/<host> key, e.g. from the embedded KDC); it is
#                                          COPIED into STATE_DIR (read by the 'proxy' user)
#   squid-negotiate.sh env   STATE_DIR
#   squid-negotiate.sh stop  STATE_DIR
#   squid-negotiate.sh clean STATE_DIR
# Knobs: SQUID_PORT (first free >= 63128), SQUID_ADDR (127.0.0.1), SQUID_SPN (the helper's -s,
#        default GSS_C_NO_NAME: any key of the keytab), SQUID_AUTH (negotiate, or ntlm: what
#        squid-ntlm.sh sets; then no keytab, squid's ntlm_fake_auth helper, port >= 63228).
# Every request must be authenticated (proxy_auth REQUIRED), CONNECT to any port is allowed.
# Checked before returning: a request without credentials gets 407 Proxy-Authenticate: Negotiate.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/_common.sh"

peer_args "" "$@"
ADDR=${SQUID_ADDR:-127.0.0.1}
assert_loopback "$ADDR"
AUTH=${SQUID_AUTH:-negotiate}
case $AUTH in
  negotiate) HELPER=/usr/lib/squid/negotiate_kerberos_auth; SCHEME=Negotiate; BASE_PORT=63128;;
  ntlm)      HELPER=/usr/lib/squid/ntlm_fake_auth;          SCHEME=NTLM;      BASE_PORT=63228;;
  *) die "SQUID_AUTH must be negotiate or ntlm, not $AUTH";;
esac

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
[ "$AUTH" = ntlm ] || { [ -n "${SQUID_KEYTAB:-}" ] && [ -s "$SQUID_KEYTAB" ]; } || die "SQUID_KEYTAB must name the proxy's keytab"
[ -f "$S/port.env" ] || echo "PORT=$(claim_ports "${SQUID_PORT:-$BASE_PORT}" 1 "$S")" > "$S/port.env"
. "$S/port.env"

chmod 755 "$S"
mkdir -p "$S/logs" "$S/run" "$S/rcache" "$S/spool"
chown proxy:proxy "$S/logs" "$S/run" "$S/rcache" "$S/spool"
if [ "$AUTH" = negotiate ]; then
  cp "$SQUID_KEYTAB" "$S/proxy.keytab"
  chown proxy:proxy "$S/proxy.keytab"; chmod 600 "$S/proxy.keytab"
  AUTH_PARAM="auth_param negotiate program $HELPER -s ${SQUID_SPN:-GSS_C_NO_NAME} -k $S/proxy.keytab -c $S/rcache"
else
  AUTH_PARAM="auth_param ntlm program $HELPER"
fi

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
$AUTH_PARAM
auth_param $AUTH children 4 startup=1 idle=1
auth_param $AUTH keep_alive on
acl authenticated proxy_auth REQUIRED
http_access allow authenticated
http_access deny all
via on
forwarded_for delete
EOF2

run_squid() {
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C KRB5_KTNAME="FILE:$S/proxy.keytab" KRB5RCACHEDIR="$S/rcache" \
    /usr/sbin/squid -f "$S/squid.conf" "$@"
}
run_squid -k parse 2>&1 | grep -iE 'error|fatal' | sed 's/^/[squid -k parse] /' >&2 || true
if ! pid_alive "$S/run/squid.pid" squid; then
  port_in_use "$PORT" && die "port $PORT in use"
  log "starting squid on $ADDR:$PORT"
  run_squid
  for _ in $(seq 100); do [ -s "$S/run/squid.pid" ] && break; sleep 0.1; done
  wait_tcp "$ADDR" "$PORT" 15 || die "squid did not start, see $S/logs/cache.log: $(tail -5 "$S/logs/cache.log" 2>/dev/null)"
fi

# --- verify: no credentials -> 407 with Proxy-Authenticate: <scheme> ---
hdrs=$(curl -sS -o /dev/null -D - --max-time 10 -x "http://$ADDR:$PORT" "http://localhost:9/" || true)
printf '%s\n' "$hdrs" | grep -E '^HTTP/1\.[01] 407' >/dev/null || die "expected 407 from squid, got: $(printf '%s' "$hdrs" | head -1)"
printf '%s\n' "$hdrs" | grep -i "^Proxy-Authenticate: $SCHEME" >/dev/null || die "squid does not offer $SCHEME: $hdrs"
log "squid up on $ADDR:$PORT ($SCHEME via $HELPER)"
print_env
