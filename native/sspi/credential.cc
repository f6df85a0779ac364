// SspiCredential and the one SSPI credential acquisition (see credential.h).
#include "credential.h"

#include <cwchar>

#include "../worker.h"

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

Napi::FunctionReference SspiCredential::constructor;

Napi::Object SspiCredential::Init(Napi::Env env, Napi::Object exports) {
  // Registered as "GssCredential": the JS adapter is the same on every platform.
  Napi::Function f = DefineClass(env, "GssCredential",
                                 {InstanceMethod("info", &SspiCredential::Info), InstanceMethod("dispose", &SspiCredential::Dispose)});
  constructor = Napi::Persistent(f);
  exports.Set("GssCredential", f);
  exports.Set("acquireCredential", Napi::Function::New(env, &SspiCredential::Acquire, "acquireCredential"));
  return exports;
}

SspiCredential::SspiCredential(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SspiCredential>(info) {}

std::shared_ptr<SspiCredState> SspiCredential::StateOf(const Napi::Value& v, std::string* why) {
  if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(constructor.Value())) {
    *why = "credential: not a credential of this addon";
    return nullptr;
  }
  SspiCredential* c = SspiCredential::Unwrap(v.As<Napi::Object>());
  if (!c || !c->state_) {
    *why = c && c->disposed_ ? "the credential was disposed" : "credential: not acquired";
    return nullptr;
  }
  return c->state_;
}

struct SspiAcquireResult {
  std::shared_ptr<SspiCredState> state;
  CallStatus status;
};

// acquireCredential({ usage: 'initiate'|'accept', principal, password }): Promise<GssCredential>.
// SSPI enctype policy is the system's (Group Policy "Network security: Configure encryption types
// allowed for Kerberos"): allowWeakCrypto cannot be applied per credential and is not read here.
Napi::Value SspiCredential::Acquire(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) {
    Napi::TypeError::New(env, "acquireCredential: options object expected").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object o = info[0].As<Napi::Object>();
  auto req = std::make_shared<SspiCredRequest>();
  std::string why;
  if (!SspiCredRequestOf(o, StringOf(o, "usage") != "accept", req.get(), &why)) {
    Napi::Error::New(env, why).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  return RunAsync<SspiAcquireResult>(
      env,
      [req]() {
        SspiAcquireResult r;
        r.state = std::make_shared<SspiCredState>();
        r.status = AcquireSspiCredential(*r.state, *req);
        if (r.status.failed()) r.state.reset();
        return r;
      },
      [](Napi::Env env, SspiAcquireResult& r) -> Napi::Value {
        if (r.status.failed()) return ThrowStatus(env, r.status);
        Napi::Object obj = constructor.New({});
        SspiCredential::Unwrap(obj)->state_ = r.state;
        return obj;
      });
}

Napi::Value SspiCredential::Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!state_) {
    Napi::Error::New(env, disposed_ ? "the credential was disposed" : "credential: not acquired").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("usage", Napi::String::New(env, state_->initiator ? "initiate" : "accept"));
  if (!state_->principal.empty()) out.Set("principal", Napi::String::New(env, state_->principal));
  out.Set("lifetime", Napi::Number::New(env, state_->initiator ? SecondsLeft(state_->expiry) : 0xFFFFFFFFu));
  out.Set("enctypesRestricted", Napi::Boolean::New(env, false));
  return out;
}

Napi::Value SspiCredential::Dispose(const Napi::CallbackInfo& info) {
  disposed_ = true;
  state_.reset();
  return info.Env().Undefined();
}

}  // namespace spnego
