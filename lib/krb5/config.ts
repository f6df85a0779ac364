/**
 * krb5.conf as MIT reads it (krb5.conf(5), the "profile" syntax): [sections], `tag = value`
 * relations, `tag = { ... }` subsections, `*` final markers, `#`/`;` comments, `include FILE` and
 * `includedir DIR`. KRB5_CONFIG is a ':'-separated list of files; for a single-valued setting the
 * first file (and the first relation) that sets it wins, as in MIT's profile library.
 */
import { configFileList, defaultKrb5ConfigPath } from '../util/win-paths.js';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import { EncType } from './constants.js';

/** A section or subsection: tag -> values in file order (strings or nested sections). */
export interface ProfileNode {
  [tag: string]: (string | ProfileNode)[];
}

function parseInto(root: ProfileNode, text: string, file: string, depth: number): void {
  let section: ProfileNode | undefined;
  const stack: ProfileNode[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    const where = `${file}:${i + 1}`;
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const inc = /^(include|includedir)\s+(.+)$/.exec(line);
    if (inc && stack.length === 0) {
      if (depth > 10) throw new UsageError(`${where}: includes nested too deeply`);
      if (inc[1] === 'include') parseFile(root, inc[2]!.trim(), depth + 1);
      else {
        const dir = inc[2]!.trim();
        // MIT: only names made of letters, digits, '-' and '_', optionally ending in ".conf".
        for (const f of readdirSync(dir).sort()) if (/^[A-Za-z0-9_-]+(\.conf)?$/.test(f)) parseFile(root, join(dir, f), depth + 1);
      }
      continue;
    }
    const sec = /^\[([^\]]+)\]\s*\*?$/.exec(line);
    if (sec) {
      if (stack.length) throw new UsageError(`${where}: section header inside an unclosed { }`);
      const name = sec[1]!;
      const existing = root[name]?.find((v): v is ProfileNode => typeof v !== 'string');
      section = existing ?? {};
      if (!existing) (root[name] ??= []).push(section);
      continue;
    }
    if (line === '}' || line === '}*') {
      if (!stack.length) throw new UsageError(`${where}: '}' without '{'`);
      stack.pop();
      continue;
    }
    if (!section) throw new UsageError(`${where}: relation outside any [section]`);
    const rel = /^([^=]+?)\s*=\s*(.*)$/.exec(line);
    if (!rel) throw new UsageError(`${where}: cannot parse "${line}" (expected tag = value)`);
    const tag = rel[1]!.replace(/\*$/, '').trim();
    const value = rel[2]!;
    const target = stack.length ? stack[stack.length - 1]! : section;
    if (value === '{') {
      const sub: ProfileNode = {};
      (target[tag] ??= []).push(sub);
      stack.push(sub);
    } else {
      (target[tag] ??= []).push(unquote(value.trim()));
    }
  }
  if (stack.length) throw new UsageError(`${file}: unclosed '{' at end of file`);
}

function unquote(v: string): string {
  if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) {
    return v.slice(1, -1).replace(/\\(.)/g, (_, c: string) => ({ n: '\n', t: '\t', b: '\b' })[c] ?? c);
  }
  return v;
}

function parseFile(root: ProfileNode, path: string, depth: number): void {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read krb5 config ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  parseInto(root, text, path, depth);
}

/** Heimdal's time units (lib/roken parse_time): a unit may be written in full, in the plural, or as an unambiguous prefix. */
const TIME_UNITS: [string, number][] = [
  ['year', 365 * 86400], ['month', 30 * 86400], ['week', 7 * 86400], ['day', 86400],
  ['hour', 3600], ['h', 3600], ['minute', 60], ['m', 60], ['second', 1], ['s', 1],
];

function timeUnit(word: string): number | undefined {
  let w = word.toLowerCase();
  // 'ms' would be read as minutes by Heimdal's prefix rule ('m' + plural 's'): refused, never guessed.
  if (w === 'ms') return undefined;
  if (w.length > 1 && w.endsWith('s')) w = w.slice(0, -1);
  const exact = TIME_UNITS.find(([n]) => n === w);
  if (exact) return exact[1];
  const prefixed = TIME_UNITS.filter(([n]) => n.startsWith(w));
  return prefixed.length === 1 ? prefixed[0]![1] : undefined;
}

/**
 * A krb5.conf time value in seconds, in the syntax of either implementation, or undefined when it
 * is none: MIT's duration (krb5.conf(5) "Time duration": N seconds, h:m[:s], NdNhNmNs) and
 * Heimdal's time (krb5.conf(5) "time": "1 month 2 days 30 min", "10 seconds", a bare N is seconds).
 */
export function parseTimeValue(v: string): number | undefined {
  const t = v.trim();
  if (t === '') return undefined;
  let total = 0;
  const hms = /^(\d+):(\d+)(?::(\d+))?$/.exec(t);
  if (hms) total = Number(hms[1]) * 3600 + Number(hms[2]) * 60 + Number(hms[3] ?? 0);
  else {
    const re = /(\d+)\s*([a-z]*)[\s,]*/iy;
    let at = 0;
    while (at < t.length) {
      re.lastIndex = at;
      const m = re.exec(t);
      if (!m) return undefined;
      at = re.lastIndex;
      // A number without a unit is seconds, only at the end (Heimdal's default unit).
      const mult = m[2] ? timeUnit(m[2]) : at >= t.length ? 1 : undefined;
      if (mult === undefined) return undefined;
      total += Number(m[1]) * mult;
    }
  }
  // MIT: a duration must not exceed 2^31 - 1 seconds.
  return total <= 0x7fffffff ? total : undefined;
}

const TRUE = new Set(['y', 'yes', 'true', 't', '1', 'on']);
const FALSE = new Set(['n', 'no', 'false', 'nil', '0', 'off']);

/** Enctype names MIT accepts (krb5.conf(5) "Encryption types"), with the families. */
const ENCTYPE_NAMES: Record<string, number[]> = {
  'aes256-cts-hmac-sha1-96': [EncType.aes256_cts_hmac_sha1_96], 'aes256-cts': [EncType.aes256_cts_hmac_sha1_96], 'aes256-sha1': [EncType.aes256_cts_hmac_sha1_96],
  'aes128-cts-hmac-sha1-96': [EncType.aes128_cts_hmac_sha1_96], 'aes128-cts': [EncType.aes128_cts_hmac_sha1_96], 'aes128-sha1': [EncType.aes128_cts_hmac_sha1_96],
  'aes256-cts-hmac-sha384-192': [EncType.aes256_cts_hmac_sha384_192], 'aes256-sha2': [EncType.aes256_cts_hmac_sha384_192],
  'aes128-cts-hmac-sha256-128': [EncType.aes128_cts_hmac_sha256_128], 'aes128-sha2': [EncType.aes128_cts_hmac_sha256_128],
  'arcfour-hmac': [EncType.rc4_hmac], 'rc4-hmac': [EncType.rc4_hmac], 'arcfour-hmac-md5': [EncType.rc4_hmac],
  aes: [EncType.aes256_cts_hmac_sha1_96, EncType.aes128_cts_hmac_sha1_96, EncType.aes256_cts_hmac_sha384_192, EncType.aes128_cts_hmac_sha256_128],
  rc4: [EncType.rc4_hmac],
};
/** MIT 1.20's default list (weak ones dropped unless allow_weak_crypto), restricted to what we implement. */
// (MIT DEFAULT_ETYPE_LIST: aes256-sha1, aes128-sha1, aes256-sha2, aes128-sha2, ..., rc4)
const DEFAULT_ENCTYPES = [18, 17, 20, 19, 23];

export class Krb5Config {
  constructor(readonly root: ProfileNode, readonly files: string[]) {}

  /** First value of [section] a.b.c (subsections by path). */
  get(section: string, ...path: string[]): string | undefined {
    return this.getAll(section, ...path)[0];
  }

  getAll(section: string, ...path: string[]): string[] {
    let nodes: ProfileNode[] = (this.root[section] ?? []).filter((v): v is ProfileNode => typeof v !== 'string');
    for (let i = 0; i < path.length - 1; i++) {
      nodes = nodes.flatMap((n) => (n[path[i]!] ?? []).filter((v): v is ProfileNode => typeof v !== 'string'));
    }
    const last = path[path.length - 1]!;
    return nodes.flatMap((n) => (n[last] ?? []).filter((v): v is string => typeof v === 'string'));
  }

  private bool(name: string, dflt: boolean): boolean {
    const v = this.get('libdefaults', name)?.toLowerCase();
    if (v === undefined) return dflt;
    if (TRUE.has(v)) return true;
    if (FALSE.has(v)) return false;
    return dflt;
  }

  get defaultRealm(): string | undefined {
    return this.get('libdefaults', 'default_realm');
  }
  get dnsLookupKdc(): boolean {
    return this.bool('dns_lookup_kdc', this.bool('dns_fallback', true));
  }
  get udpPreferenceLimit(): number {
    const v = this.get('libdefaults', 'udp_preference_limit');
    return v === undefined ? 1465 : Number(v);
  }
  get allowWeakCrypto(): boolean {
    return this.bool('allow_weak_crypto', false);
  }
  /** Seconds; default 300. */
  get clockSkew(): number {
    return this.timeSetting('clockskew') ?? 300;
  }
  get rdns(): boolean {
    return this.bool('rdns', true);
  }
  get dnsCanonicalizeHostname(): 'true' | 'false' | 'fallback' {
    const v = this.get('libdefaults', 'dns_canonicalize_hostname')?.toLowerCase();
    if (v === 'fallback') return 'fallback';
    if (v !== undefined && FALSE.has(v)) return 'false';
    return 'true';
  }
  get forwardable(): boolean {
    return this.bool('forwardable', false);
  }
  /**
   * Heimdal's [libdefaults] kdc_timeout: how long one attempt (one KDC, one transport) waits for a
   * reply, in seconds; default 3 (Heimdal's documented default). MIT has no such setting.
   */
  get kdcTimeout(): number {
    const v = this.timeSetting('kdc_timeout');
    if (v === 0) throw this.badTime('kdc_timeout', '0', 'it must be at least 1 second');
    return v ?? 3;
  }
  /**
   * MIT's [libdefaults] request_timeout (release 1.22): the most one KDC request may take over all
   * its attempts, in seconds; 0 (the default) sets no total beyond the attempts' own timeouts.
   */
  get requestTimeout(): number {
    return this.timeSetting('request_timeout') ?? 0;
  }

  private timeSetting(name: string): number | undefined {
    const v = this.get('libdefaults', name);
    if (v === undefined) return undefined;
    const n = parseTimeValue(v);
    if (n === undefined) throw this.badTime(name, v, 'give seconds (3), or a time such as 10s, 1m, 1h30m, 1:30 or "1 min 30 sec"');
    return n;
  }

  private badTime(name: string, v: string, what: string): UsageError {
    const where = this.files.length ? ` (in ${this.files.join(', ')})` : '';
    return new UsageError(`krb5.conf [libdefaults] ${name} = "${v}"${where} is not a usable time: ${what}`);
  }

  get ticketLifetime(): number {
    return this.timeSetting('ticket_lifetime') ?? 86400;
  }

  /**
   * An enctype list relation (permitted_enctypes, default_tkt_enctypes, default_tgs_enctypes).
   * rc4-hmac stays only with allow_weak_crypto, or when the caller's own `allowWeak` says so.
   */
  enctypes(name: 'permitted_enctypes' | 'default_tkt_enctypes' | 'default_tgs_enctypes', opts: { allowWeak?: boolean } = {}): number[] {
    const raw = this.getAll('libdefaults', name).join(' ') || (name === 'permitted_enctypes' ? '' : this.getAll('libdefaults', 'permitted_enctypes').join(' '));
    let list: number[] = [];
    if (!raw) list = [...DEFAULT_ENCTYPES];
    for (const tok of raw.split(/[\s,]+/).filter(Boolean)) {
      const remove = tok.startsWith('-');
      const n = tok.replace(/^[+-]/, '').toLowerCase();
      const ets = n === 'default' ? DEFAULT_ENCTYPES : (ENCTYPE_NAMES[n] ?? (/^\d+$/.test(n) ? [Number(n)] : []));
      if (remove) list = list.filter((e) => !ets.includes(e));
      else for (const e of ets) if (!list.includes(e)) list.push(e);
    }
    if (!(opts.allowWeak ?? this.allowWeakCrypto)) list = list.filter((e) => e !== EncType.rc4_hmac);
    const permitted = name === 'permitted_enctypes' ? undefined : this.enctypes('permitted_enctypes', opts);
    return permitted ? list.filter((e) => permitted.includes(e)) : list;
  }

  /** [realms] REALM kdc entries. */
  kdcs(realm: string): string[] {
    return this.getAll('realms', realm, 'kdc');
  }

  /** [domain_realm]: the longest matching domain suffix ('.example.test' or 'host.example.test'). */
  realmForHost(host: string): string | undefined {
    const h = host.toLowerCase();
    const map = (this.root['domain_realm'] ?? []).filter((v): v is ProfileNode => typeof v !== 'string');
    const lookup = (k: string) => {
      for (const n of map) {
        const v = n[k]?.find((x): x is string => typeof x === 'string');
        if (v) return v;
      }
      return undefined;
    };
    const exact = lookup(h);
    if (exact) return exact;
    for (let i = h.indexOf('.'); i >= 0; i = h.indexOf('.', i + 1)) {
      const r = lookup(h.slice(i));
      if (r) return r;
    }
    return undefined;
  }

  /** default_ccache_name / default_keytab_name / default_client_keytab_name, with %{uid}-style tokens expanded. */
  path(name: 'default_ccache_name' | 'default_keytab_name' | 'default_client_keytab_name'): string | undefined {
    const v = this.get('libdefaults', name);
    return v === undefined ? undefined : expandTokens(v);
  }
}

/** MIT path tokens (krb5.conf(5) "Parameter expansion"), the ones that make sense here. */
export function expandTokens(v: string): string {
  const uid = String(process.getuid?.() ?? 0);
  return v.replace(/%\{(\w+)\}/g, (m, t: string) => {
    switch (t) {
      case 'uid': case 'euid': case 'USERID': case 'euserid': return uid;
      case 'TEMP': return process.env.TMPDIR ?? '/tmp';
      case 'username': return process.env.USER ?? uid;
      case 'null': return '';
      default: return m;
    }
  });
}

/**
 * Loads the configuration as MIT would: `path` (a ':' list) if given, else KRB5_CONFIG, else
 * /etc/krb5.conf. A file named explicitly must exist; the default one may be missing (empty config).
 */
export function loadKrb5Config(opts: { path?: string; env?: NodeJS.ProcessEnv } = {}): Krb5Config {
  const env = opts.env ?? process.env;
  const list = opts.path ?? env.KRB5_CONFIG ?? defaultKrb5ConfigPath(env);
  const explicit = opts.path !== undefined || env.KRB5_CONFIG !== undefined;
  const files = configFileList(list); // ';' on Windows, where ':' follows the drive letter
  const root: ProfileNode = {};
  const read: string[] = [];
  for (const f of files) {
    if (!existsSync(f)) {
      if (explicit && files.length === 1) throw new UsageError(`krb5 config ${f} does not exist`);
      continue;
    }
    parseFile(root, f, 0);
    read.push(f);
  }
  return new Krb5Config(root, read);
}
