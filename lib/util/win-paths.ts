/**
 * Windows forms of the krb5 names the pure backend reads (keytabs, ccaches, krb5.conf), as MIT
 * Kerberos for Windows reads them: a drive letter is a path, not a residual type ("C:\x\kt" is the
 * file, not type "C"); KRB5_CONFIG is a ';' list (':' is in every path); the default krb5.conf is
 * %ProgramData%\MIT\Kerberos5\krb5.ini. The ccache types that exist only on Windows (MSLSA: the
 * LSA's tickets, API: MIT's ccapi server) cannot be read by the pure backend: a clear error says so.
 */
import { UsageError } from '../errors.js';

/** "C:\..." / "C:/..." / "\\server\share": a path with a drive letter or a UNC path. */
export function isWindowsPath(name: string): boolean {
  return /^[A-Za-z]:[\\/]/.test(name) || /^\\\\[^\\]/.test(name);
}

/**
 * A krb5 name -> { type, residual }: "FILE:/x" -> FILE, "/x"; a bare path -> no type. On Windows a
 * one-letter "type" followed by a separator is a drive ("C:\x" is a path): MIT for Windows does the
 * same (krb5_kt_resolve, krb5_cc_resolve). Elsewhere the platform argument keeps the Unix reading.
 */
export function splitKrb5Name(name: string, platform: NodeJS.Platform = process.platform): { type?: string; residual: string } {
  if (platform === 'win32' && isWindowsPath(name)) return { residual: name };
  const m = /^([A-Za-z]+):(.*)$/s.exec(name);
  if (!m) return { residual: name };
  return { type: m[1]!.toUpperCase(), residual: m[2]! };
}

/** Throws for the ccache types of Windows only (MSLSA:, API:), with what to do instead. */
export function refuseWindowsOnlyCcache(type: string): void {
  if (type === 'MSLSA') {
    throw new UsageError('credential cache type MSLSA: (the Windows logon session\'s tickets) cannot be read by the pure backend: use the native backend (SSPI uses the logon session), or a FILE: cache made with kinit');
  }
  if (type === 'API') {
    throw new UsageError('credential cache type API: (MIT Kerberos for Windows\' ccapi server) cannot be read by the pure backend: use a FILE: cache (KRB5CCNAME=FILE:C:\\path\\krb5cc)');
  }
}

/** The files of a KRB5_CONFIG-style list: ':'-separated, or ';'-separated on Windows. */
export function configFileList(list: string, platform: NodeJS.Platform = process.platform): string[] {
  return list.split(platform === 'win32' ? ';' : ':').filter(Boolean);
}

/** The krb5.conf read when KRB5_CONFIG is unset: /etc/krb5.conf, or on Windows %ProgramData%\MIT\Kerberos5\krb5.ini. */
export function defaultKrb5ConfigPath(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (platform !== 'win32') return '/etc/krb5.conf';
  const programData = env.ProgramData ?? env.PROGRAMDATA ?? 'C:\\ProgramData';
  return `${programData}\\MIT\\Kerberos5\\krb5.ini`;
}
