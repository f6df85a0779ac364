// `spnego decode` on NTLM messages: flags by name, AV pairs, the NTLMv2 response; raw and inside SPNEGO.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describeToken } from '../../lib/cli/describe.js';
import { MemoryReplayCache } from '../../lib/krb5/replay-cache.js';
import { fromHex, utf8 } from '../../lib/util/bytes.js';
import { NtlmAcceptor, NtlmInitiator, userStoreFromFile } from '../../lib/ntlm/index.js';
import { encodeNegTokenResp } from '../../lib/spnego/codec.js';

const fx = JSON.parse(readFileSync(fileURLToPath(new URL('../fixtures/ntlm-vectors.json', import.meta.url)), 'utf8'));

test('MS-NLMP 4.2.4.3 CHALLENGE: flag names and AV pairs', () => {
  const d = describeToken(fromHex(fx.ntlmv2_4_2_4.challengeMessage_4_2_4_3)) as any;
  assert.equal(d.type, 'NTLM CHALLENGE_MESSAGE');
  assert.deepEqual(new Set(d.flags.names), new Set(fx.ntlmv2_4_2_4.challengeFlagNames));
  assert.equal(d['server-challenge'], fx.common_4_2_1.serverChallenge);
  assert.deepEqual(d['target-info'].map((p: any) => [p.name, p.value]), [['MsvAvNbDomainName', 'Domain'], ['MsvAvNbComputerName', 'Server']]);
});

test('AUTHENTICATE: user, domain, MIC and the NTLMv2 response AV pairs (target name, MIC flag, timestamp, bindings)', async () => {
  const ini = new NtlmInitiator({ credentials: { principal: 'alice@EXAMPLE', password: 'pw' }, targetName: 'HTTP/web.example', channelBindings: { applicationData: utf8.encode('x') } });
  const acc = new NtlmAcceptor({ userStore: userStoreFromFile('EXAMPLE:alice:pw'), replayCache: new MemoryReplayCache() });
  const auth = ini.step((await acc.step(ini.step()))!);
  const d = describeToken(auth) as any;
  assert.equal(d.type, 'NTLM AUTHENTICATE_MESSAGE');
  assert.equal(d.user, 'alice');
  assert.equal(d.domain, 'EXAMPLE');
  assert.match(d.mic, /^[0-9a-f]{32}$/);
  assert.ok(d.flags.names.includes('NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY'));
  const av = Object.fromEntries(d['nt-challenge-response']['av-pairs'].map((p: any) => [p.name, p.value]));
  assert.equal(av.MsvAvTargetName, 'HTTP/web.example');
  assert.deepEqual(av.MsvAvFlags.names, ['MIC_PRESENT']);
  assert.match(av.MsvAvTimestamp.iso, /^\d{4}-/);
  assert.match(av.MsvAvChannelBindings, /^[0-9a-f]{32}$/);
  assert.notEqual(av.MsvAvChannelBindings, '0'.repeat(32));
  // inside a SPNEGO negTokenResp
  const nego = describeToken(encodeNegTokenResp({ responseToken: auth })) as any;
  assert.equal(nego['response-token'].type, 'NTLM AUTHENTICATE_MESSAGE');
});
