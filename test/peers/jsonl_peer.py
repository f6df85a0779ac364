"""The request loop shared by test/peers/gss_peer.py and test/ntlm/ntlm_peer.py: one GSS-API
context (python3-gssapi) driven over stdin/stdout with JSON lines, one request and one reply a line.

  {"op":"step","token":HEX|null}  -> {"token":HEX|null,"complete":bool, ...info(ctx) when complete}
  {"op":"get_mic","msg":HEX}      -> {"mic":HEX}
  {"op":"verify_mic","msg":HEX,"mic":HEX} -> {"ok":true}
  {"op":"wrap","msg":HEX,"conf":bool}     -> {"token":HEX,"conf":bool}
  {"op":"unwrap","token":HEX}     -> {"msg":HEX,"conf":bool}
Any failure -> {"error":"...", "major":N, "minor":N} (GSS errors) or {"error":"..."}; the loop keeps going.
"""
import json, sys
import gssapi


def context_ops(ctx, info, wrap_conf=None):
    """The handlers of one context, by op. info(ctx) -> dict, merged into the step reply once complete.
    wrap_conf: None = the request's "conf" (default true); a bool = that, whatever the request says."""
    def step(req):
        tok = ctx.step(bytes.fromhex(req['token']) if req.get('token') else None)
        rep = {'token': tok.hex() if tok else None, 'complete': bool(ctx.complete)}
        if ctx.complete:
            rep.update(info(ctx))
        return rep

    def get_mic(req):
        return {'mic': ctx.get_signature(bytes.fromhex(req['msg'])).hex()}

    def verify_mic(req):
        ctx.verify_signature(bytes.fromhex(req['msg']), bytes.fromhex(req['mic']))
        return {'ok': True}

    def wrap(req):
        conf = bool(req.get('conf', True)) if wrap_conf is None else wrap_conf
        w = ctx.wrap(bytes.fromhex(req['msg']), conf)
        return {'token': w.message.hex(), 'conf': bool(w.encrypted)}

    def unwrap(req):
        u = ctx.unwrap(bytes.fromhex(req['token']))
        return {'msg': u.message.hex(), 'conf': bool(u.encrypted)}

    return {'step': step, 'get_mic': get_mic, 'verify_mic': verify_mic, 'wrap': wrap, 'unwrap': unwrap}


def serve(ops, stdin=sys.stdin, stdout=sys.stdout):
    """Answer each JSON line of stdin with ops[req["op"]](req), one JSON line on stdout, until EOF."""
    for line in stdin:
        req = json.loads(line)
        try:
            op = req['op']
            rep = ops[op](req) if op in ops else {'error': f'unknown op {op}'}
        except gssapi.exceptions.GSSError as e:
            rep = {'error': str(e), 'major': e.maj_code, 'minor': e.min_code}
        except Exception as e:
            rep = {'error': repr(e)}
        stdout.write(json.dumps(rep) + '\n')
        stdout.flush()
