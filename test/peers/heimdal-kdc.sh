#!/usr/bin/env bash
# Heimdal's KDC (7.8) on loopback, all state in one directory; binaries from scripts/heimdal-extract.sh.
#
#   heimdal-kdc.sh [up] [STATE_DIR]   create the realm, start the kdc, verify with Heimdal's kinit,
#                                     print `export K=V` lines on stdout (logs on stderr)
#   heimdal-kdc.sh env   STATE_DIR    print the exports again
#   heimdal-kdc.sh stop  STATE_DIR    stop the kdc started here (PID file)
#   heimdal-kdc.sh clean STATE_DIR    stop, then rm -rf STATE_DIR
#
# Realm HEIMDAL.TEST; principals alice (aes-sha1 keys from her password), bob (aes-sha2 only,
# RFC 8009), carol (rc4-hmac only), HTTP/localhost (all of them, keytab). Port: first free >= 61188.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$HERE/_common.sh"

H=${HEIMDAL_ROOT:-/opt/spnego-heimdal}
KDC_BIN=$H/usr/lib/heimdal-servers/kdc
KADMIN=$H/usr/bin/kadmin.heimdal
KSTASH=$H/usr/sbin/kstash
KINIT=$H/usr/bin/kinit.heimdal
KGETCRED=$H/usr/bin/kgetcred

peer_args heimdal-kdc "$@"
REALM=HEIMDAL.TEST
ADDR=127.0.0.1
PW_ALICE=alice-Heimdal-Passw0rd
PW_BOB=bob-Heimdal-Passw0rd
PW_CAROL=carol-Heimdal-Passw0rd

print_env() {
  . "$S/ports.env"
  cat <<EOT
export KRB5_CONFIG='$S/krb5.conf'
export KRB5_KTNAME='FILE:$S/http.keytab'
export KRB5CCNAME='FILE:$S/ccache'
export KRB5RCACHEDIR='$S'
export HEIMDALKDC_STATE='$S'
export HEIMDALKDC_REALM='$REALM'
export HEIMDALKDC_KDC_ADDR='$ADDR'
export HEIMDALKDC_KDC_PORT='$KDC_PORT'
export HEIMDALKDC_USER='alice@$REALM'
export HEIMDALKDC_PASSWORD='$PW_ALICE'
export HEIMDALKDC_USER2='bob@$REALM'
export HEIMDALKDC_PASSWORD2='$PW_BOB'
export HEIMDALKDC_USER_SHA2='bob@$REALM'
export HEIMDALKDC_PASSWORD_SHA2='$PW_BOB'
export HEIMDALKDC_USER_RC4='carol@$REALM'
export HEIMDALKDC_PASSWORD_RC4='$PW_CAROL'
export HEIMDALKDC_SERVICE='HTTP/localhost@$REALM'
export HEIMDALKDC_SERVICE_HOSTBASED='HTTP@localhost'
export HEIMDALKDC_KEYTAB='$S/http.keytab'
export HEIMDALKDC_BIN='$H'
EOT
}

stop_all() { stop_pidfile "$S/kdc.pid" kdc; }

case $cmd in
  env) print_env; exit 0;;
  stop) stop_all; exit 0;;
  clean) stop_all; release_ports "$S"; rm -rf "$S"; exit 0;;
esac

[ -x "$KDC_BIN" ] && [ -x "$KADMIN" ] || die "Heimdal KDC not extracted in $H (run scripts/heimdal-extract.sh)"
assert_loopback "$ADDR"
t0=$(date +%s.%N)
if [ ! -f "$S/ports.env" ]; then
  echo "KDC_PORT=$(claim_ports 61188 1 "$S")" > "$S/ports.env"
fi
. "$S/ports.env"
cat > "$S/krb5.conf" <<EOT
[libdefaults]
  default_realm = $REALM
  dns_lookup_kdc = false
  dns_lookup_realm = false
  dns_canonicalize_hostname = false
  rdns = false
  udp_preference_limit = 1
  forwardable = true
[realms]
  $REALM = {
    kdc = $ADDR:$KDC_PORT
  }
[kdc]
  database = {
    dbname = $S/heimdal
    realm = $REALM
    mkey_file = $S/m-key
    acl_file = $S/kadmind.acl
    log_file = $S/iprop.log
  }
  addresses = $ADDR
  ports = $KDC_PORT
  enable-pkinit = false
[logging]
  kdc = FILE:$S/kdc.log
  default = FILE:$S/heimdal.log
EOT
export KRB5_CONFIG=$S/krb5.conf
if [ ! -f "$S/http.keytab" ]; then
  log "creating realm $REALM in $S"
  : > "$S/kadmind.acl"
  "$KSTASH" --random-key --key-file="$S/m-key" >&2
  "$KADMIN" -c "$S/krb5.conf" -l init --realm-max-ticket-life=1d --realm-max-renewable-life=1w "$REALM" >&2
  "$KADMIN" -c "$S/krb5.conf" -l add --password="$PW_ALICE" --use-defaults alice >&2
  # Keys per principal: [kadmin] default_keys decides which enctypes a password makes.
  keys_conf() { cat "$S/krb5.conf"; printf '[kadmin]\n  default_keys = %s\n' "$1"; }
  keys_conf "aes256-cts-hmac-sha384-192:pw-salt aes128-cts-hmac-sha256-128:pw-salt" > "$S/keys-sha2.conf"
  keys_conf "arcfour-hmac-md5:pw-salt" > "$S/keys-rc4.conf"
  keys_conf "aes256-cts-hmac-sha1-96:pw-salt aes128-cts-hmac-sha1-96:pw-salt aes256-cts-hmac-sha384-192:pw-salt aes128-cts-hmac-sha256-128:pw-salt arcfour-hmac-md5:pw-salt" > "$S/keys-all.conf"
  KRB5_CONFIG="$S/keys-sha2.conf" "$KADMIN" -c "$S/keys-sha2.conf" -l add --password="$PW_BOB" --use-defaults bob >&2
  KRB5_CONFIG="$S/keys-rc4.conf" "$KADMIN" -c "$S/keys-rc4.conf" -l add --password="$PW_CAROL" --use-defaults carol >&2
  KRB5_CONFIG="$S/keys-all.conf" "$KADMIN" -c "$S/keys-all.conf" -l add --random-key --use-defaults HTTP/localhost >&2
  "$KADMIN" -c "$S/krb5.conf" -l ext_keytab -k "$S/http.keytab" HTTP/localhost >&2
fi
if ! pid_alive "$S/kdc.pid" kdc; then
  port_in_use "$KDC_PORT" && die "port $KDC_PORT is taken"
  log "starting Heimdal kdc on $ADDR:$KDC_PORT"
  setsid "$KDC_BIN" --config-file="$S/krb5.conf" --addresses="$ADDR" --ports="$KDC_PORT" </dev/null >>"$S/kdc.out" 2>&1 &
  echo $! > "$S/kdc.pid"
  wait_tcp "$ADDR" "$KDC_PORT" 10 || die "kdc did not listen on $ADDR:$KDC_PORT: $(tail -5 "$S/kdc.out" "$S/kdc.log" 2>/dev/null)"
fi
# Check: Heimdal's own kinit and kgetcred.
printf '%s\n' "$PW_ALICE" | KRB5CCNAME="FILE:$S/ccache" "$KINIT" --password-file=STDIN alice@"$REALM" >&2 || die "kinit alice failed"
KRB5CCNAME="FILE:$S/ccache" "$KGETCRED" HTTP/localhost@"$REALM" >&2 || die "kgetcred HTTP/localhost failed"
log "ready in $(echo "$(date +%s.%N) - $t0" | bc 2>/dev/null || echo '?')s; state in $S"
print_env
