#!/usr/bin/python3
"""One NTLM GSS-API context through MIT's mechglue with gss-ntlmssp (OID 1.3.6.1.4.1.311.2.2.10),
via python3-gssapi, driven over stdin/stdout with JSON lines (the protocol and loop of test/peers/jsonl_peer.py).

  ntlm_peer.py initiator --target HTTP@host --user DOMAIN\\user --password PW [--cb HEX]
  ntlm_peer.py acceptor [--cb HEX]                       (users: NTLM_USER_FILE)

  {"op":"step","token":HEX|null}  -> {"token":HEX|null,"complete":bool, "initiator":..., "session_key":...}
  {"op":"get_mic","msg":HEX} -> {"mic":HEX}     {"op":"verify_mic","msg":HEX,"mic":HEX} -> {"ok":true}
  {"op":"wrap","msg":HEX}    -> {"token":HEX}   {"op":"unwrap","token":HEX} -> {"msg":HEX,"conf":bool}
Any failure -> {"error":"...", "major":N, "minor":N}.
"""
import argparse, os, sys
sys.dont_write_bytecode = True  # no __pycache__ left in the source tree
import gssapi
import gssapi.raw as graw
# the shared JSON-lines loop, found from this file's own place (any cwd, no PYTHONPATH needed)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, 'peers'))
from jsonl_peer import context_ops, serve

NTLM = gssapi.OID.from_int_seq('1.3.6.1.4.1.311.2.2.10')
INQ_SSPI_SESSION_KEY = gssapi.OID.from_int_seq('1.2.840.113554.1.2.2.5.5')


def info(ctx):
    out = {}
    try:
        out['session_key'] = graw.inquire_sec_context_by_oid(ctx, INQ_SSPI_SESSION_KEY)[0].hex()
    except Exception as e:
        out['session_key_error'] = repr(e)
    for k, attr in (('initiator', 'initiator_name'), ('acceptor', 'target_name')):
        try:
            out[k] = str(getattr(ctx, attr))
        except Exception:
            pass
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('role', choices=['initiator', 'acceptor'])
    ap.add_argument('--target')
    ap.add_argument('--user')
    ap.add_argument('--password')
    ap.add_argument('--cb')
    a = ap.parse_args()
    cb = graw.ChannelBindings(application_data=bytes.fromhex(a.cb)) if a.cb else None
    flags = [gssapi.RequirementFlag.integrity, gssapi.RequirementFlag.confidentiality,
             gssapi.RequirementFlag.replay_detection, gssapi.RequirementFlag.out_of_sequence_detection]
    if a.role == 'initiator':
        user = gssapi.Name(a.user, gssapi.NameType.user)
        creds = graw.acquire_cred_with_password(user, a.password.encode(), usage='initiate', mechs=[NTLM]).creds
        name = gssapi.Name(a.target, gssapi.NameType.hostbased_service)
        ctx = gssapi.SecurityContext(name=name, mech=NTLM, creds=creds, flags=flags, usage='initiate', channel_bindings=cb)
    else:
        # gss-ntlmssp 1.2.0 acceptor credentials: a host name (its NetBIOS/DNS names); the users come from NTLM_USER_FILE
        creds = gssapi.Credentials(name=gssapi.Name(a.target or 'HTTP@localhost', gssapi.NameType.hostbased_service), usage='accept', mechs=[NTLM])
        ctx = gssapi.SecurityContext(creds=creds, usage='accept', channel_bindings=cb)
    serve(context_ops(ctx, info, wrap_conf=True))  # gss-ntlmssp: always sealed, as before


if __name__ == '__main__':
    main()
