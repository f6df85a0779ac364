// The native backend's workload for scripts/valgrind.sh: handshakes in both mechs with every
// credential kind, per-message calls, failures, dispose() and contexts left to the finalizer;
// credential objects acquired once and reused, disposed while a context runs, or left to the finalizer.
// Environment: a running MIT KDC's exports (KRB5_CONFIG, KRB5CCNAME, KRB5_KTNAME, MITKDC_*).
import { createAcceptor, createInitiator, GssError, UsageError } from '../dist/esm/index.js';
import { acquireNativeCredentials } from '../dist/esm/native/index.js';

const env = process.env;
const rounds = Number(env.ROUNDS ?? 3);
const msg = new TextEncoder().encode('valgrind');

async function handshake(i, a) {
  let t = await i.step();
  while (t) {
    const b = await a.step(t);
    if (!b || i.complete) break;
    t = await i.step(b);
  }
}

for (let r = 0; r < rounds; r++) {
  for (const library of ['mit', 'heimdal']) {
    for (const mech of ['spnego', 'kerberos']) {
      for (const credentials of [{ ccache: env.KRB5CCNAME }, { principal: env.MITKDC_USER, password: env.MITKDC_PASSWORD }]) {
        const i = createInitiator({ backend: 'native', gssapiLibrary: library, target: env.MITKDC_SERVICE_HOSTBASED, mech, credentials, flags: { delegate: r === 0 } });
        const a = createAcceptor({ backend: 'native', gssapiLibrary: library, keytab: env.KRB5_KTNAME, mech });
        await handshake(i, a);
        a.verifyMIC(msg, i.getMIC(msg));
        i.unwrap(a.wrap(msg, { encrypt: true }));
        a.unwrap(i.wrap(msg, { encrypt: false }));
        try { a.verifyMIC(msg, new Uint8Array(28)); } catch (e) { if (!(e instanceof GssError)) throw e; }
        void i.info; void a.info;
        if (r % 2 === 0) { i.dispose(); a.dispose(); } // else: the finalizer frees them
      }
    }
    // Failures release what they acquired: wrong password, unknown service, garbage token.
    for (const o of [
      { credentials: { principal: env.MITKDC_USER, password: 'wrong' } },
      { target: `HTTP/nowhere.example.test@${env.MITKDC_REALM}` },
    ]) {
      try { await createInitiator({ backend: 'native', gssapiLibrary: library, target: env.MITKDC_SERVICE_HOSTBASED, ...o }).step(); } catch (e) { if (!(e instanceof GssError)) throw e; }
    }
    try { await createAcceptor({ backend: 'native', gssapiLibrary: library, keytab: env.KRB5_KTNAME }).step(new Uint8Array([0x60, 3, 6, 1, 0])); } catch (e) { if (!(e instanceof GssError)) throw e; }

    // Credential objects: acquired once, reused by several contexts of both mechs, disposed while
    // a context is in flight (r even) or left to the finalizer (r odd).
    const acc = await acquireNativeCredentials({ usage: 'accept', backend: 'native', gssapiLibrary: library, keytab: env.KRB5_KTNAME });
    for (const credentials of [{ ccache: env.KRB5CCNAME }, { principal: env.MITKDC_USER, password: env.MITKDC_PASSWORD }]) {
      const ini = await acquireNativeCredentials({ usage: 'initiate', backend: 'native', gssapiLibrary: library, credentials });
      void ini.info;
      for (const mech of ['spnego', 'kerberos', 'spnego', 'kerberos']) {
        const i = createInitiator({ backend: 'native', target: env.MITKDC_SERVICE_HOSTBASED, mech, credentials: ini });
        const a = createAcceptor({ backend: 'native', credentials: acc, mech });
        const first = i.step();
        if (r % 2 === 0 && mech === 'kerberos') ini.dispose(); // the running context keeps the handle
        await a.step(await first).then((b) => b && i.step(b));
        a.verifyMIC(msg, i.getMIC(msg));
        if (r % 2 === 0) { i.dispose(); a.dispose(); }
        if (ini.disposed) break;
      }
      try { createInitiator({ backend: 'native', target: env.MITKDC_SERVICE_HOSTBASED, credentials: ini }); } catch (e) { if (!(e instanceof UsageError)) throw e; }
    }
    if (r % 2 === 0) acc.dispose();
    // A failed acquisition frees what it got.
    try { await acquireNativeCredentials({ usage: 'initiate', backend: 'native', gssapiLibrary: library, credentials: { principal: env.MITKDC_USER, password: 'wrong' } }); } catch (e) { if (!(e instanceof GssError)) throw e; }
  }
}
globalThis.gc?.();
await new Promise((r) => setTimeout(r, 200));
globalThis.gc?.();
console.log('workload done');
