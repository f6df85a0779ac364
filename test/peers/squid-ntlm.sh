#!/usr/bin/env bash
# Squid (HTTP proxy) with NTLM proxy authentication through squid's own ntlm_fake_auth helper
# (squid's NTLMSSP message handling; it accepts ANY user and password: it checks the protocol flow
# and message formats, not the credentials) on 127.0.0.1 only: squid-negotiate.sh with
# SQUID_AUTH=ntlm (no keytab; SQUID_PORT first free >= 63228; same commands and knobs).
# The access log names the user the client sent (DOMAIN\user or user).
# Checked before returning: a request without credentials gets 407 Proxy-Authenticate: NTLM.
set -euo pipefail
SQUID_AUTH=ntlm exec bash "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/squid-negotiate.sh" "$@"
