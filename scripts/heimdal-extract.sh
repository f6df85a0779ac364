#!/usr/bin/env bash
# Heimdal's KDC and clients next to MIT's: Debian's heimdal-kdc and heimdal-clients conflict with
# krb5-kdc/krb5-user, so their .debs are downloaded and unpacked (dpkg -x, not installed) into
# $HEIMDAL_ROOT (default /opt/spnego-heimdal). They run against the Heimdal libraries that
# scripts/install-peers.sh installs (those do not conflict). test/peers/heimdal-kdc.sh uses them.
set -euo pipefail
ROOT=${HEIMDAL_ROOT:-/opt/spnego-heimdal}
if [ -x "$ROOT/usr/lib/heimdal-servers/kdc" ] && [ -x "$ROOT/usr/bin/kadmin.heimdal" ]; then
  echo "heimdal-extract.sh: already in $ROOT" >&2
  exit 0
fi
[ "$(id -u)" = 0 ] || { echo "heimdal-extract.sh: must run as root" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
apt-get download -o APT::Sandbox::User=root heimdal-kdc heimdal-clients >&2
mkdir -p "$ROOT"
for deb in ./*.deb; do dpkg -x "$deb" "$ROOT"; done
"$ROOT/usr/lib/heimdal-servers/kdc" --version >&2
echo "heimdal-extract.sh: Heimdal KDC and clients in $ROOT" >&2
