# shellcheck shell=bash
# Shared helpers for the peer scripts. Sourced, never executed.
# Conventions: logs go to stderr, `export K=V` lines go to stdout, so a caller can
#   eval "$(./mit-kdc.sh /tmp/kdc)"

log() { printf '[%s %s] %s\n' "${0##*/}" "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

need_root() { [ "$(id -u)" = 0 ] || die "must run as root (apt-get, binding daemons)"; }

# apt_install PKG... : install only what is missing, noninteractive, without letting
# package maintainer scripts start system-wide daemons (they would bind 0.0.0.0).
apt_install() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep 'install ok installed' >/dev/null || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  # Tests never install: scripts/install-peers.sh (run by .ci/run) does.
  [ "${SPNEGO_NO_APT:-}" = 1 ] && die "missing packages: ${missing[*]} (run scripts/install-peers.sh)"
  log "apt-get install ${missing[*]}"
  local made_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; made_policy=1
  fi
  # apt lists: update once if they look empty/stale for our packages
  if ! apt-cache show "${missing[0]}" >/dev/null 2>&1; then
    log "apt-get update"; apt-get update -qq >&2 || true
  fi
  local rc=0
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" >&2 || rc=$?
  if [ $rc -ne 0 ]; then
    log "install failed (rc=$rc), retrying after apt-get update"
    apt-get update -qq >&2 || true
    rc=0
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" >&2 || rc=$?
  fi
  [ $made_policy = 1 ] && rm -f /usr/sbin/policy-rc.d
  return $rc
}

# pid_alive PIDFILE [EXPECTED_COMM_SUBSTRING]
pid_alive() {
  local f=$1 want=${2:-} pid
  [ -s "$f" ] || return 1
  pid=$(tr -dc '0-9' < "$f")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
  if [ -n "$want" ]; then
    tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -- "$want" >/dev/null || return 1
  fi
  return 0
}

# running PID : alive and not a zombie (daemons are re-parented to PID 1, which may reap late)
running() { kill -0 "$1" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }

# stop_pidfile PIDFILE [EXPECTED_COMM_SUBSTRING] : TERM, wait up to 5s, then KILL. Only that PID.
stop_pidfile() {
  local f=$1 want=${2:-} pid
  if pid_alive "$f" "$want"; then
    pid=$(tr -dc '0-9' < "$f")
    log "stopping pid $pid ($f)"
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do running "$pid" || break; sleep 0.1; done
    running "$pid" && { log "pid $pid still alive, KILL"; kill -KILL "$pid" 2>/dev/null || true; }
  fi
  rm -f "$f"
}

# port_in_use PORT [ADDR] : true if something listens (tcp or udp) on PORT
port_in_use() {
  local port=$1
  ss -Hlntu 2>/dev/null | awk '{print $5}' | grep -E "[:.]${port}\$" >/dev/null
}

# free_port START : first free port >= START
free_port() {
  local p=$1
  while port_in_use "$p"; do p=$((p+1)); done
  echo "$p"
}

# Ports handed to recipes: one file per port under PORT_CLAIMS naming the owner's state dir. The
# choice and the record happen under one lock, so two recipes starting at once (node --test runs
# two files at a time) never pick the same free port before either binds it. A record whose state
# dir is gone is stale and ignored.
PORT_CLAIMS=${SPNEGO_PORT_CLAIMS:-${TMPDIR:-/tmp}/spnego-peer-ports}
port_claimed() {
  local f="$PORT_CLAIMS/$1" owner
  [ -f "$f" ] || return 1
  owner=$(cat "$f" 2>/dev/null || true)
  [ -n "$owner" ] && [ -d "$owner" ]
}

# claim_ports START COUNT OWNER_DIR : prints the first P >= START such that P..P+COUNT-1 are neither
# listening nor claimed, and claims them for OWNER_DIR (released by release_ports or when it is gone).
claim_ports() {
  local start=$1 n=$2 owner=$3
  mkdir -p "$PORT_CLAIMS"
  (
    flock -w 60 9 || die "could not lock $PORT_CLAIMS/.lock"
    local p=$start i ok
    while :; do
      ok=1
      for ((i = 0; i < n; i++)); do
        if port_in_use $((p + i)) || port_claimed $((p + i)); then ok=0; break; fi
      done
      [ $ok = 1 ] && break
      p=$((p + i + 1))
    done
    for ((i = 0; i < n; i++)); do printf '%s\n' "$owner" > "$PORT_CLAIMS/$((p + i))"; done
    echo "$p"
  ) 9>"$PORT_CLAIMS/.lock"
}

# release_ports OWNER_DIR : drop the claims of OWNER_DIR
release_ports() {
  local f
  for f in "$PORT_CLAIMS"/[0-9]*; do
    [ -f "$f" ] && [ "$(cat "$f" 2>/dev/null)" = "$1" ] && rm -f "$f"
  done
  return 0
}

# wait_tcp HOST PORT [TIMEOUT_S]
wait_tcp() {
  local h=$1 p=$2 t=${3:-10}
  for _ in $(seq $((t*10))); do
    (exec 3<>"/dev/tcp/$h/$p") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# assert_loopback ADDR : refuse anything outside 127.0.0.0/8
assert_loopback() {
  case "$1" in 127.*) ;; *) die "refusing non-loopback address '$1'";; esac
}

# Apache httpd + mod_auth_gssapi for apache-negotiate.sh and apache-ntlm.sh: everything under S,
# listening on ADDR:PORT only; /public open, /private behind AuthType GSSAPI with the caller's
# mechanism lines ($4), answering with X-Remote-User and X-GSS-Name.
write_apache_conf() {
  local S=$1 ADDR=$2 PORT=$3 MECH_LINES=$4 MODS=/usr/lib/apache2/modules
  mkdir -p "$S/htdocs" "$S/logs" "$S/run"
  echo "public ok" > "$S/htdocs/public"
  echo "private ok" > "$S/htdocs/private"
  cat > "$S/apache2.conf" <<EOF2
ServerRoot "$S"
ServerName localhost
PidFile "$S/httpd.pid"
DefaultRuntimeDir "$S/run"
Mutex file:$S/run default
ErrorLog "$S/logs/error.log"
LogLevel warn auth_gssapi:debug
LoadModule mpm_event_module $MODS/mod_mpm_event.so
LoadModule authn_core_module $MODS/mod_authn_core.so
LoadModule authz_core_module $MODS/mod_authz_core.so
LoadModule authz_user_module $MODS/mod_authz_user.so
LoadModule headers_module $MODS/mod_headers.so
LoadModule auth_gssapi_module $MODS/mod_auth_gssapi.so
User www-data
Group www-data
Listen $ADDR:$PORT
StartServers 1
ServerLimit 1
ThreadsPerChild 16
MaxRequestWorkers 16
MinSpareThreads 1
MaxSpareThreads 16
KeepAlive On
LogFormat "%h %l %u %t \"%r\" %>s %b" common
CustomLog "$S/logs/access.log" common
DocumentRoot "$S/htdocs"
<Directory "$S/htdocs">
    Require all granted
</Directory>
<Location /private>
    AuthType GSSAPI
$MECH_LINES
    GssapiSSLonly Off
    GssapiLocalName Off
    GssapiSignalPersistentAuth On
    Require valid-user
    Header always set X-Remote-User "expr=%{REMOTE_USER}"
    Header always set X-GSS-Name "expr=%{reqenv:GSS_NAME}"
</Location>
EOF2
}

# Checks the config and starts Apache through the caller's run_apache (which sets its environment),
# unless it already runs. $4 says what for the log line.
start_apache() {
  local S=$1 ADDR=$2 PORT=$3 WHAT=$4
  run_apache -t 2>&1 | sed 's/^/[apache2 -t] /' >&2; [ "${PIPESTATUS[0]}" = 0 ] || die "apache config test failed"
  if ! pid_alive "$S/httpd.pid" apache2; then
    port_in_use "$PORT" && die "port $PORT in use"
    log "starting apache2 ($WHAT) on $ADDR:$PORT"
    run_apache -k start
    for _ in $(seq 100); do [ -s "$S/httpd.pid" ] && break; sleep 0.1; done
    wait_tcp "$ADDR" "$PORT" 10 || die "apache did not start, see $S/logs/error.log"
  fi
}

# The recipes' command line, [up|env|stop|clean] [STATE_DIR] [MORE...]: sets cmd, S (created,
# absolute) and PEER_MORE (the arguments after STATE_DIR). `up` without a STATE_DIR makes one,
# /tmp/NAME.XXXXXX; with NAME empty the state dir must be given.
peer_args() {
  local name=$1; shift
  cmd=up
  case "${1:-}" in up|env|stop|clean) cmd=$1; shift;; esac
  S=${1:-}
  PEER_MORE=("${@:2}")
  if [ -z "$S" ]; then
    [ "$cmd" = up ] && [ -n "$name" ] || die "usage: $0 $cmd STATE_DIR"
    S=$(mktemp -d "/tmp/$name.XXXXXX")
  fi
  mkdir -p "$S"; S=$(cd "$S" && pwd)
}
