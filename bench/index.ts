/**
 * `npm run bench`: the same work side by side, with ratios, in one run. Sections: crypto providers
 * (node:crypto vs @noble), handshakes and per-message tokens per backend pairing next to the npm
 * `kerberos` addon, and the embedded KDC next to MIT's krb5kdc. No assertions: numbers only.
 * BENCH_ONLY=crypto,gss,kdc,http,ntlm picks sections (http: autocannon against the negotiate() middleware; ntlm: pure vs gss-ntlmssp); BENCH_MS sets the time per cell; BENCH_CONTEXTS the
 * number of pure contexts held for the heap measurement (default 100,000). Ends with the issue 11
 * goals table: each target next to its measured ratio.
 */
import { benchCrypto } from './crypto.js';
import { benchGss } from './gss.js';
import { benchKdc } from './kdc.js';
import { benchHttp } from './http.js';
import { printGoals } from './goals.js';

const only = new Set((process.env.BENCH_ONLY ?? 'crypto,gss,kdc,http,ntlm').split(','));
if (only.has('crypto')) benchCrypto();
if (only.has('gss')) await benchGss();
if (only.has('kdc')) await benchKdc();
if (only.has('http')) await benchHttp();
if (only.has('ntlm')) await (await import('./ntlm.js')).benchNtlm();
printGoals();
