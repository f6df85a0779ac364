#!/usr/bin/env bash
# Installs, with apt-get, every real peer the test suite can use (Debian 12, root).
# Daemons are kept from starting system-wide during the install (policy-rc.d); the tests start
# their own instances on loopback, in temp dirs.
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "install-peers.sh: must run as root" >&2; exit 1; }
PKGS=(
  # MIT Kerberos: KDC, admin tools, clients, library and headers; python3-gssapi makes MIT tokens in tests
  krb5-kdc krb5-admin-server krb5-user libkrb5-dev libgssapi-krb5-2 python3-gssapi
  # Heimdal libraries (the KDC and clients conflict with MIT's packages: see scripts/heimdal-extract.sh)
  libgssapi3-heimdal libkrb5-26-heimdal libkdc2-heimdal libhdb9-heimdal libkadm5srv8-heimdal libkadm5clnt7-heimdal libsl0-heimdal libotp0-heimdal libkafs0-heimdal libhx509-5-heimdal libcap-ng0
  # Apache with mod_auth_gssapi, curl with GSS-Negotiate, headless Chromium (a browser as the client)
  apache2 libapache2-mod-auth-gssapi curl chromium
  # Squid with negotiate_kerberos_auth: a proxy answering 407 Proxy-Authenticate: Negotiate (test/http/proxy)
  squid
  # NTLM (MS-NLMP) as a GSSAPI mechanism plugin for MIT (/etc/gss/mech.d): the NTLM cross-checks (test/ntlm)
  gss-ntlmssp
  # Samba AD DC (Heimdal KDC inside)
  samba samba-ad-dc samba-ad-provision samba-dsdb-modules samba-vfs-modules winbind python3-samba ldb-tools
  # Redis: the shared replay cache (lib/redis) and the cluster tests (test/cluster)
  redis-server
  # tools the harness and the native checks use
  # the addon's build (node-gyp) and its checks: valgrind, the Windows (SSPI) cross-compile
  g++ make python3 iproute2 procps valgrind g++-mingw-w64-x86-64 tshark openssl
  # Wine 8 runs node.exe (scripts/install-windows-node.sh) with the mingw-built SSPI DLL: test/windows.
  # Its Kerberos package loads the host's MIT libkrb5 / libgssapi_krb5 (above).
  wine wine64 libwine fonts-wine
)
made_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod 755 /usr/sbin/policy-rc.d; made_policy=1
fi
trap '[ $made_policy = 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# packages that do not exist under this name on this release are reported, not fatal here: the
# tests that need them fail under SPNEGO_REQUIRE_PEERS=1.
avail=()
for p in "${PKGS[@]}"; do
  if apt-cache show "$p" >/dev/null 2>&1; then avail+=("$p"); else echo "install-peers.sh: no package $p" >&2; fi
done
apt-get install -y -qq --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${avail[@]}"
