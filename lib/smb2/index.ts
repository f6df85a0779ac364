/** SMB2 session setup over SPNEGO (MS-SMB2), enough to authenticate: see client.ts. */
export { Smb2Client, Smb2StatusError, commandName, type Smb2ClientOptions, type Smb2Token } from './client.js';
export { aesCmac, sp800108HmacSha256, smb311SigningKey, smbSessionKey, preauthUpdate } from './crypto.js';
export * from './messages.js';
