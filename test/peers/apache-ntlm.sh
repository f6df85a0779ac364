#!/usr/bin/env bash
# Apache httpd + mod_auth_gssapi with gss-ntlmssp (NTLM acceptor) on 127.0.0.1 only, own
# ServerRoot/PidFile; no KDC and no keytab: NTLM users come from NTLM_USER_FILE (DOMAIN:USER:PASSWORD)
# set in Apache's environment, and GSS_MECH_CONFIG names gss-ntlmssp's mech.d file.
#
#   apache-ntlm.sh [up] [STATE_DIR]
#       Serves /public (no auth) and /private (AuthType GSSAPI, GssapiAllowedMech ntlmssp,
#       GssapiConnectionBound On: NTLM takes two requests on one keep-alive connection);
#       /private answers with headers X-Remote-User and X-GSS-Name. mod_auth_gssapi offers
#       Negotiate only (SPNEGO with NTLM inside, three legs), never the raw NTLM scheme.
#   apache-ntlm.sh env   STATE_DIR
#   apache-ntlm.sh stop  STATE_DIR
#   apache-ntlm.sh clean STATE_DIR
# Knobs: APACHE_PORT (first free >= 61180), APACHE_ADDR (127.0.0.1), NTLM_PEER_USER (EXAMPLE\alice),
#        NTLM_PEER_PASSWORD (a fixed test password).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/_common.sh"

peer_args apache-ntlm "$@"
ADDR=${APACHE_ADDR:-127.0.0.1}
assert_loopback "$ADDR"
NUSER=${NTLM_PEER_USER:-EXAMPLE\\alice}
NPASS=${NTLM_PEER_PASSWORD:-Apache ntlm 1!}

print_env() {
  . "$S/port.env"
  cat <<EOF
export APACHE_STATE='$S'
export APACHE_URL='http://localhost:$PORT/private'
export APACHE_PUBLIC_URL='http://localhost:$PORT/public'
export APACHE_PORT='$PORT'
export NTLM_APACHE_USER='$NUSER'
export NTLM_APACHE_PASSWORD='$NPASS'
export NTLM_APACHE_USER_FILE='$S/ntlm-users'
export NTLM_APACHE_MECH_CONFIG='$MECH'
EOF
}
do_stop() { stop_pidfile "$S/httpd.pid" apache2; return 0; }

# gss-ntlmssp's mech.d file: the one naming the NTLMSSP OID.
MECH=$(grep -l '1\.3\.6\.1\.4\.1\.311\.2\.2\.10' /etc/gss/mech.d/* 2>/dev/null | head -1 || true)

case $cmd in
  env)   [ -f "$S/port.env" ] || die "nothing in $S"; print_env; exit 0;;
  stop)  do_stop; exit 0;;
  clean) do_stop; release_ports "$S"; case "$S" in /|/tmp|/root|"") die "refusing to rm $S";; esac; rm -rf "$S"; log "removed $S"; exit 0;;
esac

need_root
apt_install apache2 libapache2-mod-auth-gssapi gss-ntlmssp curl iproute2 procps
MECH=$(grep -l '1\.3\.6\.1\.4\.1\.311\.2\.2\.10' /etc/gss/mech.d/* 2>/dev/null | head -1 || true)
[ -n "$MECH" ] || die "gss-ntlmssp is not installed (no /etc/gss/mech.d file names 1.3.6.1.4.1.311.2.2.10)"

[ -f "$S/port.env" ] || echo "PORT=$(claim_ports "${APACHE_PORT:-61180}" 1 "$S")" > "$S/port.env"
. "$S/port.env"

chmod 755 "$S"
printf '%s:%s:%s\n' "${NUSER%%\\*}" "${NUSER#*\\}" "$NPASS" > "$S/ntlm-users"
chown www-data:www-data "$S/ntlm-users"; chmod 600 "$S/ntlm-users"
write_apache_conf "$S" "$ADDR" "$PORT" "    AuthName \"GSSAPI NTLM Login\"
    GssapiAllowedMech ntlmssp
    GssapiConnectionBound On"

run_apache() {
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C GSS_MECH_CONFIG="$MECH" NTLM_USER_FILE="$S/ntlm-users" \
    KRB5_CONFIG=/dev/null KRB5_KTNAME="FILE:$S/none.keytab" /usr/sbin/apache2 -d "$S" -f "$S/apache2.conf" "$@"
}
start_apache "$S" "$ADDR" "$PORT" gss-ntlmssp

# --- verify: no credentials => 401; gss-ntlmssp's own initiator through curl --negotiate => 200 ---
code=$(curl -s -o /dev/null -w '%{http_code}' "http://localhost:$PORT/private")
[ "$code" = 401 ] || die "expected 401 without credentials, got $code"
code=$(env GSS_MECH_CONFIG="$MECH" NTLM_USER_FILE="$S/ntlm-users" USER="${NUSER#*\\}" LOGNAME="${NUSER#*\\}" KRB5_CONFIG=/dev/null \
  KRB5CCNAME="FILE:$S/none.ccache" curl -sS --negotiate -u : -D "$S/last-headers.txt" -o /dev/null -w '%{http_code}' "http://localhost:$PORT/private")
grep -i -E '^(HTTP|WWW-Authenticate|X-Remote-User|X-GSS-Name)' "$S/last-headers.txt" >&2 || true
[ "$code" = 200 ] || die "curl --negotiate (gss-ntlmssp) got $code, see $S/logs/error.log"
print_env
