#!/usr/bin/python3
"""One GSS-API context through the system GSSAPI library (MIT, via python3-gssapi), driven over
stdin/stdout with JSON lines, so a test can put it face to face with our code.

  gss_peer.py initiator --target HTTP@localhost [--mech spnego|krb5] [--flags mutual,replay,...] [--cb HEX]
  gss_peer.py acceptor [--mech spnego|krb5] [--cb HEX]           (keytab: KRB5_KTNAME)

Requests (one JSON object per line) and replies:
  {"op":"step","token":HEX|null}  -> {"token":HEX|null,"complete":bool, ...info when complete}
  {"op":"get_mic","msg":HEX}      -> {"mic":HEX}
  {"op":"verify_mic","msg":HEX,"mic":HEX} -> {"ok":true}
  {"op":"wrap","msg":HEX,"conf":bool}     -> {"token":HEX}
  {"op":"unwrap","token":HEX}     -> {"msg":HEX,"conf":bool}
Any failure -> {"error":"...", "major":N, "minor":N}; the process keeps going.
info = session_key (GSS_C_INQ_SSPI_SESSION_KEY), enctype, mech, initiator, acceptor, flags.
"""
import argparse, sys
sys.dont_write_bytecode = True  # no __pycache__ left in the source tree
import gssapi
import gssapi.raw as graw
from jsonl_peer import context_ops, serve  # next to this file: sys.path[0] whatever the cwd

INQ_SSPI_SESSION_KEY = gssapi.OID.from_int_seq('1.2.840.113554.1.2.2.5.5')
MECHS = {'spnego': gssapi.OID.from_int_seq('1.3.6.1.5.5.2'), 'krb5': gssapi.OID.from_int_seq('1.2.840.113554.1.2.2')}
FLAGS = {'delegate': gssapi.RequirementFlag.delegate_to_peer, 'mutual': gssapi.RequirementFlag.mutual_authentication,
         'replay': gssapi.RequirementFlag.replay_detection, 'sequence': gssapi.RequirementFlag.out_of_sequence_detection,
         'conf': gssapi.RequirementFlag.confidentiality, 'integ': gssapi.RequirementFlag.integrity}


def info(ctx):
    out = {}
    try:
        bufs = graw.inquire_sec_context_by_oid(ctx, INQ_SSPI_SESSION_KEY)
        out['session_key'] = bufs[0].hex()
        if len(bufs) > 1:
            # second buffer: OID 1.2.840.113554.1.2.2.4.<enctype> contents; the last arc is the enctype
            b = bufs[1]
            v, arcs = 0, []
            for x in b[1:]:
                v = (v << 7) | (x & 0x7f)
                if not x & 0x80:
                    arcs.append(v); v = 0
            out['enctype'] = arcs[-1]
    except Exception as e:
        out['session_key_error'] = repr(e)
    try:
        out['mech'] = ctx.mech.dotted_form
    except Exception:
        pass
    for k, attr in (('initiator', 'initiator_name'), ('acceptor', 'target_name')):
        try:
            out[k] = str(getattr(ctx, attr))
        except Exception:
            pass
    try:
        out['flags'] = sorted(n for n, f in FLAGS.items() if f in ctx.actual_flags)
    except Exception:
        pass
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('role', choices=['initiator', 'acceptor'])
    ap.add_argument('--target')
    ap.add_argument('--mech', default='spnego', choices=list(MECHS))
    ap.add_argument('--flags', default='mutual,replay,sequence,conf,integ')
    ap.add_argument('--cb')
    a = ap.parse_args()
    cb = graw.ChannelBindings(application_data=bytes.fromhex(a.cb)) if a.cb else None
    if a.role == 'initiator':
        name = gssapi.Name(a.target, gssapi.NameType.hostbased_service) if '@' in a.target and '/' not in a.target \
            else gssapi.Name(a.target, gssapi.NameType.kerberos_principal)
        flags = [FLAGS[f] for f in a.flags.split(',') if f]
        ctx = gssapi.SecurityContext(name=name, mech=MECHS[a.mech], flags=flags, usage='initiate', channel_bindings=cb)
    else:
        creds = gssapi.Credentials(usage='accept', mechs=[MECHS[a.mech]]) if a.mech == 'krb5' else None
        ctx = gssapi.SecurityContext(creds=creds, usage='accept', channel_bindings=cb)
    serve(context_ops(ctx, info))


if __name__ == '__main__':
    main()
