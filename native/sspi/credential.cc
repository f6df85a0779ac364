// SspiCredential and the one SSPI credential acquisition (see credential.h).
#include "credential.h"

#include <cwchar>

namespace spnego {

SspiCredState::~SspiCredState() {
  if (haveNegotiate) FreeCredentialsHandle(&negotiate);
  if (haveKerberos) FreeCredentialsHandle(&kerberos);
}

bool SspiCredRequestOf(const Napi::Object& o, bool initiator, SspiCredRequest* r, std::string* why) {
  for (const char* key : {"ccache", "keytab", "clientKeytab"}) {
    if (!StringOf(o, key).empty()) {
      *why = std::string("SSPI cannot use a ") + key +
             ": Windows takes the logon session's credentials (or a principal and password); use the pure backend for " + key + "s";
      return false;
    }
  }
  r->initiator = initiator;
  std::string principal = StringOf(o, "principal");
  std::string password = StringOf(o, "password");
  if (!initiator) r->principal = Widen(principal);
  if (!password.empty()) {
    // user@REALM (or DOMAIN\user) -> SEC_WINNT_AUTH_IDENTITY_W User + Domain.
    r->hasIdentity = true;
    size_t at = principal.rfind('@');
    size_t bs = principal.find('\\');
    if (at != std::string::npos) {
      r->user = Widen(principal.substr(0, at));
      r->domain = Widen(principal.substr(at + 1));
    } else if (bs != std::string::npos) {
      r->domain = Widen(principal.substr(0, bs));
      r->user = Widen(principal.substr(bs + 1));
    } else {
      r->user = Widen(principal);
    }
    r->password = Widen(password);
    Wipe(password);
  }
  return true;
}

CallStatus AcquireSspiCredential(SspiCredState& c, SspiCredRequest& r) {
  c.initiator = r.initiator;
  SEC_WINNT_AUTH_IDENTITY_W id{};
  if (r.hasIdentity) {
    id.User = reinterpret_cast<unsigned short*>(r.user.empty() ? nullptr : &r.user[0]);
    id.UserLength = static_cast<unsigned long>(r.user.size());
    id.Domain = reinterpret_cast<unsigned short*>(r.domain.empty() ? nullptr : &r.domain[0]);
    id.DomainLength = static_cast<unsigned long>(r.domain.size());
    id.Password = reinterpret_cast<unsigned short*>(r.password.empty() ? nullptr : &r.password[0]);
    id.PasswordLength = static_cast<unsigned long>(r.password.size());
    id.Flags = SEC_WINNT_AUTH_IDENTITY_UNICODE;
  }
  CallStatus st;
  for (unsigned pkg : {kSspiNegotiate, kSspiKerberos}) {
    if (!(r.packages & pkg)) continue;
    wchar_t package[16];
    wcscpy(package, pkg == kSspiKerberos ? L"Kerberos" : L"Negotiate");
    CredHandle* h = pkg == kSspiKerberos ? &c.kerberos : &c.negotiate;
    SECURITY_STATUS ss = AcquireCredentialsHandleW((!r.initiator && !r.principal.empty()) ? &r.principal[0] : nullptr, package,
                                                   r.initiator ? SECPKG_CRED_OUTBOUND : SECPKG_CRED_INBOUND, nullptr,
                                                   r.hasIdentity ? &id : nullptr, nullptr, nullptr, h, &c.expiry);
    st = Status("AcquireCredentialsHandleW", ss);
    if (st.failed()) break;
    (pkg == kSspiKerberos ? c.haveKerberos : c.haveNegotiate) = true;
  }
  // The password stays in r until r goes (~SspiCredRequest, or the context's dispose): a failed
  // acquisition can be retried with it, and the package has its own copy once it succeeded.
  if (st.failed()) return st;
  // The name the credential stands for (SECPKG_CRED_ATTR_NAMES), e.g. "DOMAIN\user".
  CredHandle* any = c.haveNegotiate ? &c.negotiate : &c.kerberos;
  SecPkgCredentials_NamesW names{};
  if (QueryCredentialsAttributesW(any, SECPKG_CRED_ATTR_NAMES, &names) == SEC_E_OK && names.sUserName) {
    c.principal = UserAtRealm(Narrow(names.sUserName));
    FreeContextBuffer(names.sUserName);
  }
  if (!r.initiator && !r.principal.empty()) {
    std::string p(Narrow(r.principal.c_str()));
    c.principal = p;
  }
  return st;
}

// acquireCredential({ usage: 'initiate'|'accept', principal, password }): Promise<GssCredential>.
// SSPI enctype policy is the system's (Group Policy "Network security: Configure encryption types
// allowed for Kerberos"): allowWeakCrypto cannot be applied per credential and is not read here.
Napi::Value SspiCredential::AcquireFrom(Napi::Env env, const Napi::Object& o) {
  auto req = std::make_shared<SspiCredRequest>();
  std::string why;
  if (!SspiCredRequestOf(o, StringOf(o, "usage") != "accept", req.get(), &why)) {
    Napi::Error::New(env, why).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return AcquireAsync(env, [req](SspiCredState& s) { return AcquireSspiCredential(s, *req); });
}

// info()'s lifetime (an acceptor's: unknown) and enctypesRestricted (never: the system's policy).
void SspiCredential::MoreInfo(Napi::Env env, const SspiCredState& s, Napi::Object& out) {
  out.Set("lifetime", Napi::Number::New(env, s.initiator ? SecondsLeft(s.expiry) : 0xFFFFFFFFu));
  out.Set("enctypesRestricted", Napi::Boolean::New(env, false));
}

}  // namespace spnego
