/** spnego: Kerberos and SPNEGO for Node.js. Public entry point. */
export * from './errors.js';
