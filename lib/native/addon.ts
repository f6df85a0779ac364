/**
 * The native backend: the adapter between the public SecurityContext and the C++ addon
 * (native/gss/context.cc over GSSAPI, native/sspi on Windows). The addon keeps every handle in
 * C++; this file maps options to it, statuses to GssError, and watches the SPNEGO tokens that
 * pass so that ctx.info.spnego holds the same mechTypes and MIC bytes as the pure backend's.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { GSS_MAJOR, GssError, UsageError, type GssMajorName } from '../errors.js';
import type { AcceptorOptions, ContextInfo, InitiatorOptions, PacInfo, SecurityContext, SpnegoOptions, WrapResult } from '../context.js';
import { SpnegoAcceptor, SpnegoInitiator, type InnerMech } from '../spnego/negotiator.js';
import { decodeNegotiationToken } from '../spnego/codec.js';
import { gssFlagsToOptions, optionsToGssFlags } from '../pure/context.js';
import { toChannelBindings } from '../pure/index.js';
import { krb5ErrorName } from './minor.js';
import { StepGate } from '../step-gate.js';
import { decodePac, pacInfo } from '../krb5/pac/index.js';
import type { NativeInfo } from './index.js';
import { isCredential } from '../credentials.js';
import { isNativeCredential, type NativeCredential } from './credential.js';
import { here } from './here.js';

/** What the compiled addon exports (native/addon.cc). */
interface AddonStepResult {
  token?: Uint8Array;
  complete: boolean;
  error?: { major: number; minor: number; call: string; message: string };
}
interface AddonInquire {
  initiatorName?: string;
  acceptorName?: string;
  lifetime: number;
  flags: number;
  mech: string;
  sessionKey?: Uint8Array;
  sessionKeyOid?: string;
  /** Heimdal only: GSS_KRB5_GET_SUBKEY_X, the key with its enctype. */
  keyblock?: Uint8Array;
  /** Acceptor: the initiator's PAC ("urn:mspac:") and whether the library verified it. */
  pac?: Uint8Array;
  pacAuthenticated?: boolean;
  /** SSPI acceptor: the SIDs of the access token Windows built from the PAC (QuerySecurityContextToken). */
  userSid?: string;
  groupSids?: string[];
}
interface AddonContext {
  step(input?: Uint8Array): Promise<AddonStepResult>;
  inquire(): AddonInquire;
  getMIC(m: Uint8Array): Uint8Array;
  verifyMIC(m: Uint8Array, t: Uint8Array): number;
  wrap(m: Uint8Array, encrypt: boolean): { token: Uint8Array; encrypted: boolean };
  unwrap(t: Uint8Array): { message: Uint8Array; encrypted: boolean; major: number };
  dispose(): void;
}
/** A credential handle of the addon (GssCredential, native/gss/credential.cc). */
export interface AddonCredential {
  info(): { usage: 'initiate' | 'accept'; principal?: string; lifetime: number; enctypesRestricted: boolean };
  dispose(): void;
}
export interface Addon {
  info(library?: string): NativeInfo;
  GssContext: new (opts: Record<string, unknown>) => AddonContext;
  acquireCredential(opts: Record<string, unknown>): Promise<AddonCredential>;
}

/** The package root: the nearest directory above this module whose package.json is "spnego". */
export function packageRoot(from = here): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const pj = join(dir, 'package.json');
    if (existsSync(pj)) {
      try {
        if ((JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === 'spnego') return dir;
      } catch { /* not ours */ }
    }
    if (dirname(dir) === dir) throw new Error(`no spnego package.json above ${from}`);
  }
}

/** Whether a file starts like a Windows PE image ("MZ"): the only addon format node.exe can load. */
function isPeImage(path: string): boolean {
  try {
    const b = readFileSync(path).subarray(0, 2);
    return b[0] === 0x4d && b[1] === 0x5a;
  } catch {
    return false;
  }
}

/**
 * The Windows addons of a package root, in the order they are tried: the prebuild shipped in the
 * tarball (prebuildify's prebuilds/win32-<arch>/), the mingw-w64 build (scripts/compile-sspi.sh,
 * build/sspi/) and a node-gyp build made on Windows (build/Release/). Only PE images count: a tree
 * shared with Linux has an ELF build/Release that node.exe cannot load ("Bad EXE format").
 */
export function windowsAddonCandidates(root: string, arch: string = process.arch): string[] {
  const out: string[] = [];
  const pre = join(root, 'prebuilds', `win32-${arch}`);
  if (existsSync(pre)) {
    for (const f of readdirSync(pre).sort()) if (f.endsWith('.node') && (f.includes('napi') || f === 'spnego.node')) out.push(join(pre, f));
  }
  if (arch === 'x64') out.push(join(root, 'build', 'sspi', 'spnego_native.node'));
  out.push(join(root, 'build', 'Release', 'spnego_native.node'));
  return out.filter((f) => existsSync(f) && isPeImage(f));
}

/**
 * Loads the addon; throws with the reason. On Windows: the first of windowsAddonCandidates. Elsewhere:
 * build/Release or prebuilds/<platform>-<arch> with node-gyp-build.
 */
export function loadAddon(): Addon {
  const root = packageRoot();
  const req = createRequire(join(root, 'package.json'));
  if (process.platform === 'win32') {
    const found = windowsAddonCandidates(root);
    if (!found.length) throw new Error(`no Windows build of the addon in ${root} (prebuilds/win32-${process.arch}/, build/sspi/ or build/Release/)`);
    return req(found[0]!) as Addon;
  }
  const nodeGypBuild = req('node-gyp-build') as (dir: string) => Addon;
  return nodeGypBuild(root);
}

// RFC 2744 3.9.1: the routine error is bits 16-23; supplementary bits 0-4.
const ROUTINE_NAMES = new Map<number, GssMajorName>();
for (const [name, v] of Object.entries(GSS_MAJOR) as [GssMajorName, number][]) {
  // GSS_S_BAD_SIG is the RFC 1509 name of GSS_S_BAD_MIC (same value): report the RFC 2743 one.
  if (v >= 1 << 16 && name !== 'GSS_S_BAD_SIG' && !ROUTINE_NAMES.has(v)) ROUTINE_NAMES.set(v, name);
}

/** A GSS status from the library as GssError: major name, minor code (and its krb5 name), display_status text. */
export function gssErrorFrom(e: { major: number; minor: number; call: string; message: string }, library: string): GssError {
  const routine = e.major & 0x00ff0000;
  const major = ROUTINE_NAMES.get(routine) ?? 'GSS_S_FAILURE';
  // SSPI: the minor is the SECURITY_STATUS, named first in the message (native/sspi/sspi_util.h).
  const krb5 = /^((?:SEC_[EI]|STATUS)_[A-Z0-9_]+) \(0x[0-9A-F]{8}\)/.exec(e.message)?.[1] ?? krb5ErrorName(e.minor, e.message);
  const err = new GssError(major, `${e.call}: ${e.message || 'failed'}${krb5 && !e.message.startsWith(krb5) ? ` (${krb5})` : ''} [${library}]`, e.minor);
  if (krb5) Object.defineProperty(err, 'minorName', { value: krb5, enumerable: true });
  return err;
}

/** An error thrown by the addon as GssError (a library status) or UsageError (a refused argument). */
export function addonError(e: unknown, library: string): unknown {
  if (e && typeof e === 'object' && 'gssMajor' in e) {
    const x = e as { gssMajor: number; gssMinor: number; gssCall: string; message: string };
    return gssErrorFrom({ major: x.gssMajor, minor: x.gssMinor, call: x.gssCall, message: x.message }, library);
  }
  if (e instanceof Error) return new UsageError(e.message);
  return e;
}

function rethrow(e: unknown, library: string): never {
  throw addonError(e, library);
}

/** The libraries read KRB5_CONFIG from the environment; another path cannot be honoured per context or credential. */
export function refuseForeignKrb5Config(krb5Config: string | undefined): void {
  if (krb5Config && krb5Config !== process.env.KRB5_CONFIG) throw new UsageError(`krb5Config ${krb5Config} applies to the pure backend only; the native library reads KRB5_CONFIG (${process.env.KRB5_CONFIG ?? 'unset'})`);
}

/** Target "HTTP@host" is a host-based service (RFC 2743 4.1); "HTTP/host@REALM" a Kerberos principal. */
export function targetNameType(target: string): 'hostbased' | 'principal' {
  const at = target.lastIndexOf('@');
  return at > 0 && !target.slice(0, at).includes('/') ? 'hostbased' : 'principal';
}

const SUPPLEMENTARY_TEXT: Partial<Record<GssMajorName, string>> = {
  GSS_S_DUPLICATE_TOKEN: 'the token was already seen (replay)',
  GSS_S_OLD_TOKEN: 'the token is too old to check for replay',
  GSS_S_UNSEQ_TOKEN: 'a later token was already seen',
};

/** Heimdal's GSS_KRB5_GET_SUBKEY_X keyblock: int16 enctype, int32 length, key (krb5_store_keyblock, big-endian). */
export function parseHeimdalKeyblock(b: Uint8Array): { enctype: number; key: Uint8Array } | undefined {
  if (b.length < 6) return undefined;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const len = dv.getUint32(2);
  if (6 + len !== b.length) return undefined;
  return { enctype: dv.getUint16(0), key: b.slice(6) };
}

/**
 * One GSS context of the library, as SPNEGO's InnerMech too: when SPNEGO is ours (a chosen mech
 * list, or the 'always' MIC policy), the library runs only the Kerberos mechanism under it.
 */
class NativeMech implements InnerMech {
  complete = false;
  details?: AddonInquire;
  /** Read once when the context completes (the key, the verified PAC, the expiry time). */
  sessionKey?: { enctype: number; key: Uint8Array };
  pac?: PacInfo;
  expiresAt?: Date;
  constructor(readonly handle: AddonContext, readonly library: string) {}

  async step(input?: Uint8Array): Promise<Uint8Array | undefined> {
    let r: AddonStepResult;
    try {
      r = await this.handle.step(input);
    } catch (e) {
      rethrow(e, this.library);
    }
    if (r.error) {
      const err = gssErrorFrom(r.error, this.library);
      // An acceptor's KRB-ERROR for the peer (RFC 4121 4.1), as the pure backend offers it.
      if (r.token) Object.defineProperty(err, 'token', { value: new Uint8Array(r.token), enumerable: true });
      throw err;
    }
    if (r.complete) {
      this.complete = true;
      this.established(this.handle.inquire());
    }
    return r.token?.length ? new Uint8Array(r.token) : undefined;
  }

  private established(d: AddonInquire): void {
    this.details = d;
    if (d.lifetime && d.lifetime !== 0xffffffff) this.expiresAt = new Date(Date.now() + d.lifetime * 1000);
    const heimdal = d.keyblock && parseHeimdalKeyblock(d.keyblock);
    if (heimdal) {
      this.sessionKey = heimdal;
    } else if (d.sessionKey) {
      // MIT: the enctype as OID 1.2.840.113554.1.2.2.4.<enctype>.
      const m = /^1\.2\.840\.113554\.1\.2\.2\.4\.(\d+)$/.exec(d.sessionKeyOid ?? '');
      this.sessionKey = { enctype: m ? Number(m[1]) : 0, key: new Uint8Array(d.sessionKey) };
    }
    // Windows: the access token's SIDs (the LSA verified the PAC and built the token from it).
    if (d.userSid) {
      const name = d.initiatorName ?? '';
      const at = name.lastIndexOf('@');
      this.pac = { userSid: d.userSid, groupSids: d.groupSids ?? [], logonName: at > 0 ? name.slice(0, at) : name, domainName: at > 0 ? name.slice(at + 1) : '' };
    }
    // MS-PAC groups on Linux: the library verified the PAC's signatures; we decode its NDR.
    if (d.pac && d.pacAuthenticated) {
      try {
        this.pac = pacInfo(decodePac(new Uint8Array(d.pac)));
      } catch {
        /* a PAC we cannot decode is left out, as the pure backend's decoder would refuse it */
      }
    }
  }

  get integrity(): boolean {
    return true;
  }
  get cfx(): boolean {
    return this.sessionKey?.enctype !== 23;
  }
  getMIC(message: Uint8Array): Uint8Array {
    try {
      return new Uint8Array(this.handle.getMIC(message));
    } catch (e) {
      rethrow(e, this.library);
    }
  }
  verifyMIC(message: Uint8Array, token: Uint8Array): void {
    let major: number;
    try {
      major = this.handle.verifyMIC(message, token);
    } catch (e) {
      rethrow(e, this.library);
    }
    supplementary(major, this.library);
  }
}

/** RFC 2743 1.2.3: replay/sequence findings come back as supplementary bits; they fail like the pure backend's. */
function supplementary(major: number, library: string): void {
  for (const name of ['GSS_S_DUPLICATE_TOKEN', 'GSS_S_OLD_TOKEN', 'GSS_S_UNSEQ_TOKEN'] as const) {
    if (major & GSS_MAJOR[name]) throw new GssError(name, `${SUPPLEMENTARY_TEXT[name]} [${library}]`);
  }
}

export type NativeSpnegoMode = 'library' | 'ours' | 'none';

export class NativeContext implements SecurityContext {
  private readonly gate = new StepGate();
  private readonly mech: NativeMech;
  private readonly negotiator?: SpnegoInitiator | SpnegoAcceptor;
  /** SPNEGO fields seen crossing when the library runs SPNEGO (it keeps them to itself). */
  private readonly seen: { mechTypes?: Uint8Array; chosenMech?: string; micSent?: Uint8Array; micReceived?: Uint8Array } = {};

  constructor(
    readonly role: 'initiator' | 'acceptor',
    handle: AddonContext,
    private readonly library: string,
    private readonly spnegoMode: NativeSpnegoMode,
    spnegoOpts: SpnegoOptions = {},
  ) {
    this.mech = new NativeMech(handle, library);
    if (spnegoMode === 'ours') {
      this.negotiator = role === 'initiator'
        ? new SpnegoInitiator(this.mech, { mechs: spnegoOpts.mechs })
        : new SpnegoAcceptor(this.mech, { mechs: spnegoOpts.mechs, mechListMIC: spnegoOpts.mechListMIC });
    }
  }

  /** False once a step failed (StepGate: fail closed), even when the library's mechanism completed. */
  get complete(): boolean {
    if (this.gate.failed) return false;
    return this.negotiator ? this.negotiator.complete : this.mech.complete;
  }

  private observe(token: Uint8Array | undefined, sent: boolean): void {
    if (this.spnegoMode !== 'library' || !token?.length) return;
    let t;
    try {
      t = decodeNegotiationToken(token);
    } catch {
      return; // a raw KRB-ERROR token from the library, not SPNEGO
    }
    if (t.kind === 'init') this.seen.mechTypes = t.mechTypesDer;
    if (t.kind === 'resp' && t.supportedMech) this.seen.chosenMech = t.supportedMech;
    const mic = t.kind === 'init' || t.kind === 'resp' ? t.mechListMIC : undefined;
    if (mic) {
      if (sent) this.seen.micSent = mic;
      else this.seen.micReceived = mic;
    }
  }

  step(input?: Uint8Array): Promise<Uint8Array | undefined> {
    return this.gate.run(this.complete, async () => {
      if (this.negotiator) return this.negotiator.step(input);
      this.observe(input, false);
      const out = await this.mech.step(input);
      this.observe(out, true);
      return out;
    });
  }

  private established(): AddonContext {
    this.gate.check();
    if (!this.complete) throw new GssError('GSS_S_NO_CONTEXT', 'the security context is not complete');
    return this.mech.handle;
  }

  getMIC(message: Uint8Array): Uint8Array {
    this.established();
    return this.mech.getMIC(message);
  }
  verifyMIC(message: Uint8Array, token: Uint8Array): void {
    this.established();
    this.mech.verifyMIC(message, token);
  }
  wrap(message: Uint8Array, opts: { encrypt?: boolean } = {}): Uint8Array {
    const h = this.established();
    try {
      return new Uint8Array(h.wrap(message, opts.encrypt ?? true).token);
    } catch (e) {
      rethrow(e, this.library);
    }
  }
  unwrap(token: Uint8Array): WrapResult {
    const h = this.established();
    let r: { message: Uint8Array; encrypted: boolean; major: number };
    try {
      r = h.unwrap(token);
    } catch (e) {
      rethrow(e, this.library);
    }
    supplementary(r.major, this.library);
    return { message: new Uint8Array(r.message), encrypted: r.encrypted };
  }

  get info(): ContextInfo {
    // A failed context vouches for nothing: no names, key, PAC or MICs (the library may have completed its part).
    if (this.gate.failed) return { backend: 'native', flags: gssFlagsToOptions(0), library: this.library };
    const d = this.mech.details;
    const info: ContextInfo = { backend: 'native', flags: gssFlagsToOptions(d?.flags ?? 0), library: this.library };
    const spnego = this.negotiator?.state
      ? { mechTypes: this.negotiator.state.mechTypesDer, chosenMech: this.negotiator.state.chosenMech, micSent: this.negotiator.state.micSent, micReceived: this.negotiator.state.micReceived }
      : this.seen;
    const mech = this.spnegoMode !== 'none' ? spnego.chosenMech ?? d?.mech : d?.mech;
    if (mech) info.mech = mech;
    if (d?.initiatorName) info.initiatorName = d.initiatorName;
    if (d?.acceptorName) info.acceptorName = d.acceptorName;
    if (this.mech.expiresAt) info.expiresAt = this.mech.expiresAt;
    if (this.mech.sessionKey) info.sessionKey = this.mech.sessionKey;
    if (this.mech.pac) info.pac = this.mech.pac;
    if (this.spnegoMode !== 'none' && spnego.mechTypes) {
      info.spnego = { mechTypes: spnego.mechTypes, micSent: spnego.micSent, micReceived: spnego.micReceived };
    }
    return info;
  }

  dispose(): void {
    this.gate.disposed = true;
    this.mech.handle.dispose();
  }
}

export function describeLibrary(info: NativeInfo): string {
  return `${info.library ?? 'GSSAPI'}${info.version ? ` ${info.version}` : ''}`;
}

/** The native credential a context was given, checked: this backend, this usage, not disposed, same library. */
function credentialFor(c: unknown, usage: 'initiate' | 'accept', o: InitiatorOptions | AcceptorOptions): NativeCredential | undefined {
  if (c === undefined || !isCredential(c)) return undefined;
  if (!isNativeCredential(c)) throw new UsageError(`a ${c.backend} credential cannot make a native context: acquire it with backend 'native', or create the context with backend '${c.backend}'`);
  if (c.usage !== usage) throw new UsageError(`a credential for '${c.usage}' cannot make ${usage === 'initiate' ? 'an initiator' : 'an acceptor'}: acquire one with usage '${usage}'`);
  if (c.disposed) throw new UsageError('the credential was disposed: acquire a new one with acquireCredentials()');
  if (o.gssapiLibrary !== undefined && o.gssapiLibrary !== c.gssapiLibrary) throw new UsageError(`the credential was acquired with gssapiLibrary ${c.gssapiLibrary ?? '(default)'}, the context asks for ${o.gssapiLibrary}: leave gssapiLibrary unset or acquire a credential for it`);
  if (o.allowWeakCrypto !== undefined && o.allowWeakCrypto !== c.allowWeakCrypto) throw new UsageError(`allowWeakCrypto is the credential's (${c.allowWeakCrypto}): set it when acquiring the credential`);
  return c;
}

/** Maps the public options to the addon's (see native/gss/context.cc). */
export function createAddonContext(addon: Addon, role: 'initiator' | 'acceptor', o: InitiatorOptions | AcceptorOptions): SecurityContext {
  const cred = credentialFor(o.credentials, role === 'initiator' ? 'initiate' : 'accept', o);
  const library = cred ? cred.gssapiLibrary : o.gssapiLibrary;
  const info = addon.info(library);
  if (!info.loaded) throw new UsageError(`backend 'native' is not available: ${info.error}`);
  const mech = o.mech ?? 'spnego';
  // NTLM on the native backend is gss-ntlmssp's, under the library's SPNEGO: loaded from
  // /etc/gss/mech.d (or GSS_MECH_CONFIG), users from NTLM_USER_FILE, a password credential.
  if (mech === 'ntlm' || (o as { ntlm?: unknown }).ntlm) {
    throw new UsageError("the ntlm option and mech 'ntlm' are the pure backend's: the native backend does NTLM through gss-ntlmssp (install it, NTLM_USER_FILE for an acceptor, credentials { principal, password } for an initiator) under its SPNEGO");
  }
  // SPNEGO is the library's unless the caller asks for what only ours does: a chosen mechanism
  // list (e.g. the Windows one, ms-krb5 + krb5 + ntlm) or the acceptor's 'always' MIC policy
  // (GSSAPI libraries send the mechListMIC only when RFC 4178 section 5 requires it). Then the
  // library runs the Kerberos mechanism and lib/spnego/negotiator.ts the negotiation around it.
  const spnegoMode: NativeSpnegoMode = mech !== 'spnego' ? 'none' : o.spnego?.mechs || o.spnego?.mechListMIC === 'always' ? 'ours' : 'library';
  const cb = toChannelBindings(o.channelBindings);
  const opts: Record<string, unknown> = {
    library: library ?? '', role, mech: spnegoMode === 'library' ? 'spnego' : 'kerberos',
    channelBindings: cb, allowWeakCrypto: o.allowWeakCrypto === true,
  };
  if (cred) opts.credential = cred.handle();
  if (role === 'initiator') {
    const io = o as InitiatorOptions;
    refuseForeignKrb5Config(io.krb5Config);
    opts.target = io.target;
    opts.targetType = targetNameType(io.target);
    opts.flags = optionsToGssFlags(io.flags);
    const c = io.credentials;
    if (!cred) {
      if (c && 'ccache' in c) opts.ccache = c.ccache;
      else if (c && 'password' in c) Object.assign(opts, { principal: c.principal, password: c.password });
      else if (c && 'keytab' in c) Object.assign(opts, { principal: c.principal, clientKeytab: c.keytab });
    }
  } else {
    const ao = o as AcceptorOptions;
    if (cred && (ao.keytab || ao.principal)) throw new UsageError('an acceptor made from a credential takes its keytab and principal from it: leave keytab and principal unset');
    if (ao.keytab) opts.keytab = ao.keytab;
    if (ao.principal) opts.principal = ao.principal;
    const delegated = ao.delegatedCcache ?? cred?.delegatedCcache;
    if (delegated) opts.delegatedCcache = delegated.includes(':') ? delegated : `FILE:${delegated}`;
  }
  let handle: AddonContext;
  try {
    handle = new addon.GssContext(opts);
  } catch (e) {
    rethrow(e, describeLibrary(info));
  }
  return new NativeContext(role, handle, describeLibrary(info), spnegoMode, o.spnego);
}
