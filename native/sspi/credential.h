// SspiCredential: an SSPI credential (AcquireCredentialsHandleW) acquired once on the pool and used
// by many SspiContexts, with the GssCredential JS surface (registered as "GssCredential"). Its
// handles live in SspiCredState, shared by the JS object and every context made from it, so a
// credential disposed while contexts run stays alive until the last of them ends. A context given
// no credential acquires a transient one through the same AcquireSspiCredential.
#pragma once
#include <napi.h>

#include <memory>
#include <string>

#include "../credential_wrap.h"
#include "sspi_util.h"

namespace spnego {

constexpr unsigned kSspiNegotiate = 1, kSspiKerberos = 2;

struct SspiCredRequest {
  bool initiator = true;
  unsigned packages = kSspiNegotiate | kSspiKerberos;
  std::wstring principal;               // pszPrincipal for an acceptor
  std::wstring user, domain, password;  // SEC_WINNT_AUTH_IDENTITY_W when a password is given
  bool hasIdentity = false;
  SspiCredRequest() = default;
  SspiCredRequest(const SspiCredRequest&) = delete;
  SspiCredRequest& operator=(const SspiCredRequest&) = delete;
  ~SspiCredRequest() { Wipe(password); }
};

struct SspiCredState {
  bool initiator = true;
  CredHandle negotiate{}, kerberos{};
  bool haveNegotiate = false, haveKerberos = false;
  TimeStamp expiry{};
  std::string principal;
  SspiCredState() = default;
  SspiCredState(const SspiCredState&) = delete;
  SspiCredState& operator=(const SspiCredState&) = delete;
  ~SspiCredState();
  // The handle for a context of the "Kerberos" or "Negotiate" package; nullptr if not acquired.
  CredHandle* For(bool kerberosPackage) {
    if (kerberosPackage) return haveKerberos ? &kerberos : nullptr;
    return haveNegotiate ? &negotiate : nullptr;
  }
};

// Reads the credential options ({ usage/role, principal, password, ccache, keytab, clientKeytab });
// false (and *why) for the forms SSPI cannot use: it has no keytab or ccache, only the logon
// session or a password.
bool SspiCredRequestOf(const Napi::Object& o, bool initiator, SspiCredRequest* r, std::string* why);
// AcquireCredentialsHandleW for each package asked for. Runs on the pool. r.password is kept
// (wiped by ~SspiCredRequest or the context's dispose).
CallStatus AcquireSspiCredential(SspiCredState& c, SspiCredRequest& r);

// The JS credential (credential_wrap.h), registered as "GssCredential" like the GSSAPI one:
// acquireCredential() runs AcquireSspiCredential on the pool.
class SspiCredential : public CredentialWrap<SspiCredential, SspiCredState> {
 public:
  using CredentialWrap::CredentialWrap;

 private:
  friend class CredentialWrap<SspiCredential, SspiCredState>;
  static Napi::Value AcquireFrom(Napi::Env env, const Napi::Object& o);
  static void MoreInfo(Napi::Env env, const SspiCredState& s, Napi::Object& out);
};

}  // namespace spnego
