#!/usr/bin/python3
"""One NTLM GSS-API context through MIT's mechglue with gss-ntlmssp (OID 1.3.6.1.4.1.311.2.2.10),
via python3-gssapi, driven over stdin/stdout with JSON lines (the protocol of test/peers/gss_peer.py).

  ntlm_peer.py initiator --target HTTP@host --user DOMAIN\\user --password PW [--cb HEX]
  ntlm_peer.py acceptor [--cb HEX]                       (users: NTLM_USER_FILE)

  {"op":"step","token":HEX|null}  -> {"token":HEX|null,"complete":bool, "initiator":..., "session_key":...}
  {"op":"get_mic","msg":HEX} -> {"mic":HEX}     {"op":"verify_mic","msg":HEX,"mic":HEX} -> {"ok":true}
  {"op":"wrap","msg":HEX}    -> {"token":HEX}   {"op":"unwrap","token":HEX} -> {"msg":HEX,"conf":bool}
Any failure -> {"error":"...", "major":N, "minor":N}.
"""
import argparse, json, sys
import gssapi
import gssapi.raw as graw

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
    for line in sys.stdin:
        req = json.loads(line)
        try:
            op = req['op']
            if op == 'step':
                tok = ctx.step(bytes.fromhex(req['token']) if req.get('token') else None)
                rep = {'token': tok.hex() if tok else None, 'complete': bool(ctx.complete)}
                if ctx.complete:
                    rep.update(info(ctx))
            elif op == 'get_mic':
                rep = {'mic': ctx.get_signature(bytes.fromhex(req['msg'])).hex()}
            elif op == 'verify_mic':
                ctx.verify_signature(bytes.fromhex(req['msg']), bytes.fromhex(req['mic']))
                rep = {'ok': True}
            elif op == 'wrap':
                w = ctx.wrap(bytes.fromhex(req['msg']), True)
                rep = {'token': w.message.hex(), 'conf': bool(w.encrypted)}
            elif op == 'unwrap':
                u = ctx.unwrap(bytes.fromhex(req['token']))
                rep = {'msg': u.message.hex(), 'conf': bool(u.encrypted)}
            else:
                rep = {'error': f'unknown op {op}'}
        except gssapi.exceptions.GSSError as e:
            rep = {'error': str(e), 'major': e.maj_code, 'minor': e.min_code}
        except Exception as e:
            rep = {'error': repr(e)}
        sys.stdout.write(json.dumps(rep) + '\n')
        sys.stdout.flush()


if __name__ == '__main__':
    main()
