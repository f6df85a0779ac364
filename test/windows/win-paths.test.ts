// Windows forms of keytab, ccache and krb5.conf names for the pure backend (lib/util/win-paths.ts),
// read as MIT Kerberos for Windows reads them. Runs everywhere (the platform is an argument); the
// Wine layer (sspi.test.ts) runs the pure demo under node.exe, where process.platform is win32.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { configFileList, defaultKrb5ConfigPath, isWindowsPath, refuseWindowsOnlyCcache, splitKrb5Name } from '../../lib/util/win-paths.js';
import { ccachePath } from '../../lib/krb5/ccache.js';
import { UsageError } from '../../lib/errors.js';

test('a drive letter is a path on Windows, a residual type elsewhere', () => {
  assert.deepEqual(splitKrb5Name('C:\\ProgramData\\kt', 'win32'), { residual: 'C:\\ProgramData\\kt' });
  assert.deepEqual(splitKrb5Name('c:/tmp/kt', 'win32'), { residual: 'c:/tmp/kt' });
  assert.deepEqual(splitKrb5Name('FILE:C:\\tmp\\kt', 'win32'), { type: 'FILE', residual: 'C:\\tmp\\kt' });
  assert.deepEqual(splitKrb5Name('\\\\server\\share\\kt', 'win32'), { residual: '\\\\server\\share\\kt' });
  assert.deepEqual(splitKrb5Name('C:\\tmp\\kt', 'linux'), { type: 'C', residual: '\\tmp\\kt' });
  assert.deepEqual(splitKrb5Name('/etc/krb5.keytab', 'win32'), { residual: '/etc/krb5.keytab' });
  assert.equal(isWindowsPath('C:'), false, 'a bare drive is not a file');
});

test('MSLSA: and API: are refused with what to do instead', () => {
  assert.throws(() => refuseWindowsOnlyCcache('MSLSA'), (e: unknown) => e instanceof UsageError && /native backend/.test(e.message));
  assert.throws(() => refuseWindowsOnlyCcache('API'), (e: unknown) => e instanceof UsageError && /FILE: cache/.test(e.message));
  assert.throws(() => ccachePath('MSLSA:'), (e: unknown) => e instanceof UsageError && /logon session/.test(e.message));
  refuseWindowsOnlyCcache('FILE');
});

test("KRB5_CONFIG is a ';' list on Windows; the default is %ProgramData%\\MIT\\Kerberos5\\krb5.ini", () => {
  assert.deepEqual(configFileList('C:\\a\\krb5.ini;D:\\b.conf', 'win32'), ['C:\\a\\krb5.ini', 'D:\\b.conf']);
  assert.deepEqual(configFileList('/a:/b', 'linux'), ['/a', '/b']);
  assert.equal(defaultKrb5ConfigPath({ ProgramData: 'D:\\PD' }, 'win32'), 'D:\\PD\\MIT\\Kerberos5\\krb5.ini');
  assert.equal(defaultKrb5ConfigPath({}, 'win32'), 'C:\\ProgramData\\MIT\\Kerberos5\\krb5.ini');
  assert.equal(defaultKrb5ConfigPath({}, 'linux'), '/etc/krb5.conf');
});
