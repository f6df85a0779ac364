// SspiContext: one SSPI security context (initiator or acceptor) for the "Negotiate" (SPNEGO,
// MS-SPNG) or "Kerberos" package, as a Node ObjectWrap with the GssContext surface. The CredHandle
// and CtxtHandle live in SspiState, shared (shared_ptr) between the JS object and a step running
// on the pool, and never leave C++. Function and constant names are those of the SSPI reference
// (AcquireCredentialsHandleW, InitializeSecurityContextW, AcceptSecurityContext, ...).
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#define SECURITY_WIN32
#include <security.h>
#include <sspi.h>

#include "context.h"

#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "../bridge.h"
#include "../worker.h"

namespace spnego {

namespace {

constexpr uint32_t kGssFailure = 13u << 16;      // GSS_S_FAILURE
constexpr uint32_t kGssNoCred = 7u << 16;        // GSS_S_NO_CRED
constexpr uint32_t kGssBadSig = 6u << 16;        // GSS_S_BAD_SIG (GSS_S_BAD_MIC)
constexpr uint32_t kGssBadBindings = 4u << 16;   // GSS_S_BAD_BINDINGS

// GSS request/return flag bits (RFC 2744 3.9 / 5.19).
constexpr uint32_t kGssDeleg = 1, kGssMutual = 2, kGssReplay = 4, kGssSequence = 8, kGssConf = 16, kGssInteg = 32;

// A lock for the handles. The mingw-w64 win32 thread model of older GCCs has no std::mutex, and
// an SRWLOCK (InitializeSRWLock / AcquireSRWLockExclusive) needs no cleanup.
class Lock {
 public:
  Lock() { InitializeSRWLock(&l_); }
  void lock() { AcquireSRWLockExclusive(&l_); }
  bool try_lock() { return TryAcquireSRWLockExclusive(&l_) != 0; }
  void unlock() { ReleaseSRWLockExclusive(&l_); }

 private:
  SRWLOCK l_;
};

class Guard {
 public:
  explicit Guard(Lock& l) : l_(l) { l_.lock(); }
  ~Guard() { l_.unlock(); }
  Guard(const Guard&) = delete;
  Guard& operator=(const Guard&) = delete;

 private:
  Lock& l_;
};

std::wstring Widen(const std::string& s) {
  if (s.empty()) return std::wstring();
  int n = MultiByteToWideChar(CP_UTF8, 0, s.data(), static_cast<int>(s.size()), nullptr, 0);
  std::wstring w(static_cast<size_t>(n > 0 ? n : 0), L'\0');
  if (n > 0) MultiByteToWideChar(CP_UTF8, 0, s.data(), static_cast<int>(s.size()), &w[0], n);
  return w;
}

std::string Narrow(const wchar_t* w) {
  if (!w || !*w) return std::string();
  int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, nullptr, 0, nullptr, nullptr);
  if (n <= 1) return std::string();
  std::string s(static_cast<size_t>(n), '\0');
  WideCharToMultiByte(CP_UTF8, 0, w, -1, &s[0], n, nullptr, nullptr);
  s.resize(static_cast<size_t>(n - 1));
  return s;
}

template <typename S>
void Wipe(S& s) {
  using C = typename S::value_type;
  volatile C* p = s.empty() ? nullptr : &s[0];
  for (size_t i = 0; i < s.size(); i++) p[i] = 0;
  s.clear();
}

// Symbolic names of the SECURITY_STATUS codes one meets with Negotiate and Kerberos (winerror.h).
struct StatusName {
  SECURITY_STATUS code;
  const char* name;
};
#define SPNEGO_SEC(n) {static_cast<SECURITY_STATUS>(n), #n}
const StatusName kStatusNames[] = {
    SPNEGO_SEC(SEC_E_INSUFFICIENT_MEMORY),
    SPNEGO_SEC(SEC_E_INVALID_HANDLE),
    SPNEGO_SEC(SEC_E_UNSUPPORTED_FUNCTION),
    SPNEGO_SEC(SEC_E_TARGET_UNKNOWN),
    SPNEGO_SEC(SEC_E_INTERNAL_ERROR),
    SPNEGO_SEC(SEC_E_SECPKG_NOT_FOUND),
    SPNEGO_SEC(SEC_E_NOT_OWNER),
    SPNEGO_SEC(SEC_E_INVALID_TOKEN),
    SPNEGO_SEC(SEC_E_QOP_NOT_SUPPORTED),
    SPNEGO_SEC(SEC_E_NO_IMPERSONATION),
    SPNEGO_SEC(SEC_E_LOGON_DENIED),
    SPNEGO_SEC(SEC_E_UNKNOWN_CREDENTIALS),
    SPNEGO_SEC(SEC_E_NO_CREDENTIALS),
    SPNEGO_SEC(SEC_E_MESSAGE_ALTERED),
    SPNEGO_SEC(SEC_E_OUT_OF_SEQUENCE),
    SPNEGO_SEC(SEC_E_NO_AUTHENTICATING_AUTHORITY),
    SPNEGO_SEC(SEC_E_CONTEXT_EXPIRED),
    SPNEGO_SEC(SEC_E_INCOMPLETE_MESSAGE),
    SPNEGO_SEC(SEC_E_INCOMPLETE_CREDENTIALS),
    SPNEGO_SEC(SEC_E_BUFFER_TOO_SMALL),
    SPNEGO_SEC(SEC_E_WRONG_PRINCIPAL),
    SPNEGO_SEC(SEC_E_TIME_SKEW),
    SPNEGO_SEC(SEC_E_ENCRYPT_FAILURE),
    SPNEGO_SEC(SEC_E_DECRYPT_FAILURE),
    SPNEGO_SEC(SEC_E_ALGORITHM_MISMATCH),
    SPNEGO_SEC(SEC_E_UNFINISHED_CONTEXT_DELETED),
    SPNEGO_SEC(SEC_E_NO_TGT_REPLY),
    SPNEGO_SEC(SEC_E_WRONG_CREDENTIAL_HANDLE),
    SPNEGO_SEC(SEC_E_CRYPTO_SYSTEM_INVALID),
    SPNEGO_SEC(SEC_E_MAX_REFERRALS_EXCEEDED),
    SPNEGO_SEC(SEC_E_MUST_BE_KDC),
    SPNEGO_SEC(SEC_E_STRONG_CRYPTO_NOT_SUPPORTED),
    SPNEGO_SEC(SEC_E_TOO_MANY_PRINCIPALS),
    SPNEGO_SEC(SEC_E_NO_PA_DATA),
    SPNEGO_SEC(SEC_E_KDC_INVALID_REQUEST),
    SPNEGO_SEC(SEC_E_KDC_UNABLE_TO_REFER),
    SPNEGO_SEC(SEC_E_KDC_UNKNOWN_ETYPE),
    SPNEGO_SEC(SEC_E_UNSUPPORTED_PREAUTH),
    SPNEGO_SEC(SEC_E_DELEGATION_REQUIRED),
    SPNEGO_SEC(SEC_E_BAD_BINDINGS),
    SPNEGO_SEC(SEC_E_MULTIPLE_ACCOUNTS),
    SPNEGO_SEC(SEC_E_NO_KERB_KEY),
    SPNEGO_SEC(SEC_E_DOWNGRADE_DETECTED),
    SPNEGO_SEC(SEC_E_DELEGATION_POLICY),
    SPNEGO_SEC(SEC_E_POLICY_NLTM_ONLY),
    SPNEGO_SEC(SEC_E_NO_CONTEXT),
    SPNEGO_SEC(SEC_E_MUTUAL_AUTH_FAILED),
    SPNEGO_SEC(SEC_E_ILLEGAL_MESSAGE),
    SPNEGO_SEC(SEC_E_UNTRUSTED_ROOT),
    SPNEGO_SEC(SEC_E_CERT_EXPIRED),
    SPNEGO_SEC(SEC_I_CONTINUE_NEEDED),
    SPNEGO_SEC(SEC_I_COMPLETE_NEEDED),
    SPNEGO_SEC(SEC_I_COMPLETE_AND_CONTINUE),
    SPNEGO_SEC(SEC_I_INCOMPLETE_CREDENTIALS),
};
#undef SPNEGO_SEC

const char* StatusNameOf(SECURITY_STATUS ss) {
  for (const auto& e : kStatusNames)
    if (e.code == ss) return e.name;
  return "SECURITY_STATUS";
}

// The system's text for a status (FormatMessageW, FORMAT_MESSAGE_FROM_SYSTEM), trailing
// line breaks and full stop removed.
std::string SystemMessage(SECURITY_STATUS ss) {
  wchar_t* buf = nullptr;
  DWORD n = FormatMessageW(FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, nullptr,
                           static_cast<DWORD>(ss), 0, reinterpret_cast<LPWSTR>(&buf), 0, nullptr);
  std::string out;
  if (n && buf) out = Narrow(buf);
  if (buf) LocalFree(buf);
  while (!out.empty() && (out.back() == '\r' || out.back() == '\n' || out.back() == ' ' || out.back() == '.')) out.pop_back();
  return out;
}

// SECURITY_STATUS -> nearest GSS major status (RFC 2744 3.9.1).
uint32_t MajorOf(SECURITY_STATUS ss) {
  if (ss == SEC_E_LOGON_DENIED || ss == SEC_E_NO_CREDENTIALS) return kGssNoCred;
  if (ss == SEC_E_MESSAGE_ALTERED) return kGssBadSig;
  if (ss == SEC_E_BAD_BINDINGS) return kGssBadBindings;
  if (ss == SEC_E_TIME_SKEW) return kGssFailure;
  return kGssFailure;
}

// A status for an SSPI call: empty (not failed) unless ss is an error (FAILED(ss)).
CallStatus Status(const char* call, SECURITY_STATUS ss) {
  CallStatus s;
  if (ss >= 0) return s;
  s.major = MajorOf(ss);
  s.minor = static_cast<uint32_t>(ss);
  s.call = call;
  char hex[16];
  snprintf(hex, sizeof hex, "0x%08X", static_cast<unsigned>(ss));
  s.message = std::string(StatusNameOf(ss)) + " (" + hex + ")";
  std::string text = SystemMessage(ss);
  if (!text.empty()) s.message += ": " + text;
  return s;
}

CallStatus UsageFailure(const std::string& call, const std::string& message) {
  CallStatus s;
  s.major = kGssFailure;
  s.call = call;
  s.message = message;
  return s;
}


// GSS request flags -> ISC_REQ_* (InitializeSecurityContextW fContextReq), one by one.
ULONG IscReqOf(uint32_t gss) {
  ULONG r = 0;
  if (gss & kGssDeleg) r |= ISC_REQ_DELEGATE;
  if (gss & kGssMutual) r |= ISC_REQ_MUTUAL_AUTH;
  if (gss & kGssReplay) r |= ISC_REQ_REPLAY_DETECT;
  if (gss & kGssSequence) r |= ISC_REQ_SEQUENCE_DETECT;
  if (gss & kGssConf) r |= ISC_REQ_CONFIDENTIALITY;
  if (gss & kGssInteg) r |= ISC_REQ_INTEGRITY;
  return r;
}

// GSS request flags -> ASC_REQ_* (AcceptSecurityContext fContextReq), one by one.
ULONG AscReqOf(uint32_t gss) {
  ULONG r = 0;
  if (gss & kGssDeleg) r |= ASC_REQ_DELEGATE;
  if (gss & kGssMutual) r |= ASC_REQ_MUTUAL_AUTH;
  if (gss & kGssReplay) r |= ASC_REQ_REPLAY_DETECT;
  if (gss & kGssSequence) r |= ASC_REQ_SEQUENCE_DETECT;
  if (gss & kGssConf) r |= ASC_REQ_CONFIDENTIALITY;
  if (gss & kGssInteg) r |= ASC_REQ_INTEGRITY;
  return r;
}

// ISC_RET_* / ASC_RET_* (pfContextAttr) -> GSS return flags, one by one.
uint32_t GssOfRet(bool initiator, ULONG a) {
  uint32_t g = 0;
  if (initiator) {
    if (a & ISC_RET_DELEGATE) g |= kGssDeleg;
    if (a & ISC_RET_MUTUAL_AUTH) g |= kGssMutual;
    if (a & ISC_RET_REPLAY_DETECT) g |= kGssReplay;
    if (a & ISC_RET_SEQUENCE_DETECT) g |= kGssSequence;
    if (a & ISC_RET_CONFIDENTIALITY) g |= kGssConf;
    if (a & ISC_RET_INTEGRITY) g |= kGssInteg;
  } else {
    if (a & ASC_RET_DELEGATE) g |= kGssDeleg;
    if (a & ASC_RET_MUTUAL_AUTH) g |= kGssMutual;
    if (a & ASC_RET_REPLAY_DETECT) g |= kGssReplay;
    if (a & ASC_RET_SEQUENCE_DETECT) g |= kGssSequence;
    if (a & ASC_RET_CONFIDENTIALITY) g |= kGssConf;
    if (a & ASC_RET_INTEGRITY) g |= kGssInteg;
  }
  return g;
}

// RFC 2743 host-based "service@host" -> SPN "service/host"; an SPN or a principal
// ("HTTP/host@REALM") is kept as is.
std::string SpnOf(const std::string& target, bool isPrincipal) {
  if (isPrincipal || target.find('/') != std::string::npos) return target;
  std::string spn = target;
  size_t at = spn.find('@');
  if (at != std::string::npos) spn[at] = '/';
  return spn;
}

// A TimeStamp (FILETIME, 100 ns since 1601, local time for Kerberos contexts) -> seconds left.
uint32_t SecondsLeft(const TimeStamp& expiry) {
  const int64_t never = 0x7FFFFFFFFFFFFFFFLL;
  int64_t t = (static_cast<int64_t>(expiry.HighPart) << 32) | static_cast<uint32_t>(expiry.LowPart);
  if (t >= never - 1 || (expiry.HighPart == 0x7FFFFFFF)) return 0xFFFFFFFFu;  // GSS_C_INDEFINITE
  FILETIME sys, local;
  GetSystemTimeAsFileTime(&sys);
  if (!FileTimeToLocalFileTime(&sys, &local)) local = sys;
  int64_t now = (static_cast<int64_t>(local.dwHighDateTime) << 32) | local.dwLowDateTime;
  if (t <= now) return 0;
  int64_t secs = (t - now) / 10000000LL;
  return secs > 0xFFFFFFFELL ? 0xFFFFFFFEu : static_cast<uint32_t>(secs);
}

}  // namespace

struct SspiState {
  bool initiator = true;
  bool kerberos = false;                 // package "Kerberos", else "Negotiate" (MS-SPNG)
  std::wstring spn;                      // pszTargetName of InitializeSecurityContextW
  std::wstring principal;                // pszPrincipal for an acceptor
  std::wstring user, domain, password;   // SEC_WINNT_AUTH_IDENTITY_W when a password is given
  bool hasIdentity = false;
  uint32_t reqFlags = 0;                 // GSS bits
  std::vector<uint8_t> bindings;         // SEC_CHANNEL_BINDINGS followed by its data

  CredHandle cred{};
  CtxtHandle ctx{};
  bool haveCred = false;
  bool haveCtx = false;
  bool complete = false;
  ULONG retAttrs = 0;                    // last ISC_RET_* / ASC_RET_*
  TimeStamp expiry{};
  SecPkgContext_Sizes sizes{};
  bool haveSizes = false;
  std::atomic<bool> busy{false};
  std::atomic<bool> disposed{false};
  Lock mu;  // held by whoever uses the handles

  // DeleteSecurityContext + FreeCredentialsHandle. Caller holds mu (or is the destructor).
  void Release() {
    if (haveCtx) DeleteSecurityContext(&ctx);
    if (haveCred) FreeCredentialsHandle(&cred);
    haveCtx = haveCred = false;
    complete = false;
    Wipe(password);
  }
  ~SspiState() { Release(); }

  // AcquireCredentialsHandleW: the logged-on user's (or service's) credentials, or those of
  // user@domain + password.
  CallStatus AcquireCred() {
    wchar_t package[16];
    wcscpy(package, kerberos ? L"Kerberos" : L"Negotiate");
    SEC_WINNT_AUTH_IDENTITY_W id{};
    if (hasIdentity) {
      id.User = reinterpret_cast<unsigned short*>(user.empty() ? nullptr : &user[0]);
      id.UserLength = static_cast<unsigned long>(user.size());
      id.Domain = reinterpret_cast<unsigned short*>(domain.empty() ? nullptr : &domain[0]);
      id.DomainLength = static_cast<unsigned long>(domain.size());
      id.Password = reinterpret_cast<unsigned short*>(password.empty() ? nullptr : &password[0]);
      id.PasswordLength = static_cast<unsigned long>(password.size());
      id.Flags = SEC_WINNT_AUTH_IDENTITY_UNICODE;
    }
    TimeStamp credExpiry{};
    SECURITY_STATUS ss = AcquireCredentialsHandleW(
        (!initiator && !principal.empty()) ? &principal[0] : nullptr, package,
        initiator ? SECPKG_CRED_OUTBOUND : SECPKG_CRED_INBOUND, nullptr, hasIdentity ? &id : nullptr, nullptr, nullptr, &cred,
        &credExpiry);
    Wipe(password);
    if (ss == SEC_E_OK) haveCred = true;
    return Status("AcquireCredentialsHandleW", ss);
  }
};

struct StepResult {
  CallStatus status;
  std::vector<uint8_t> token;
  bool complete = false;
};

Napi::FunctionReference SspiContext::constructor;

Napi::Object SspiContext::Init(Napi::Env env, Napi::Object exports) {
  // Registered as "GssContext": the JS adapter is the same on every platform.
  Napi::Function f = DefineClass(env, "GssContext",
                                 {InstanceMethod("step", &SspiContext::Step), InstanceMethod("inquire", &SspiContext::Inquire),
                                  InstanceMethod("getMIC", &SspiContext::GetMic), InstanceMethod("verifyMIC", &SspiContext::VerifyMic),
                                  InstanceMethod("wrap", &SspiContext::WrapToken), InstanceMethod("unwrap", &SspiContext::UnwrapToken),
                                  InstanceMethod("dispose", &SspiContext::Dispose)});
  constructor = Napi::Persistent(f);
  exports.Set("GssContext", f);
  return exports;
}

// new GssContext({ role, mech, target, targetType, principal, password, flags, channelBindings })
// (GSSAPI-only options such as ccache or keytab are ignored: SSPI uses the logon session.)
SspiContext::SspiContext(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SspiContext>(info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) {
    Napi::TypeError::New(env, "GssContext: options object expected").ThrowAsJavaScriptException();
    return;
  }
  Napi::Object o = info[0].As<Napi::Object>();
  state_ = std::make_shared<SspiState>();
  SspiState& s = *state_;
  s.initiator = StringOf(o, "role") != "acceptor";
  s.kerberos = StringOf(o, "mech") == "kerberos";
  s.spn = Widen(SpnOf(StringOf(o, "target"), StringOf(o, "targetType") == "principal"));
  std::string principal = StringOf(o, "principal");
  std::string password = StringOf(o, "password");
  if (!s.initiator) s.principal = Widen(principal);
  if (!password.empty()) {
    // user@REALM (or DOMAIN\user) -> SEC_WINNT_AUTH_IDENTITY_W User + Domain.
    s.hasIdentity = true;
    size_t at = principal.rfind('@');
    size_t bs = principal.find('\\');
    if (at != std::string::npos) {
      s.user = Widen(principal.substr(0, at));
      s.domain = Widen(principal.substr(at + 1));
    } else if (bs != std::string::npos) {
      s.domain = Widen(principal.substr(0, bs));
      s.user = Widen(principal.substr(bs + 1));
    } else {
      s.user = Widen(principal);
    }
    s.password = Widen(password);
    Wipe(password);
  }
  Napi::Value flags = o.Get("flags");
  s.reqFlags = flags.IsNumber() ? flags.As<Napi::Number>().Uint32Value() : 0;
  Napi::Value cb = o.Get("channelBindings");
  if (cb.IsObject()) {
    // SEC_CHANNEL_BINDINGS (the gss_channel_bindings_struct of RFC 2744 3.11, offsets from the
    // start of the structure) passed as a SECBUFFER_CHANNEL_BINDINGS buffer.
    Napi::Object c = cb.As<Napi::Object>();
    Napi::Value it = c.Get("initiatorAddrType"), at = c.Get("acceptorAddrType");
    std::vector<uint8_t> ia = BytesOf(c.Get("initiatorAddress")), aa = BytesOf(c.Get("acceptorAddress")),
                         ad = BytesOf(c.Get("applicationData"));
    SEC_CHANNEL_BINDINGS h{};
    h.dwInitiatorAddrType = it.IsNumber() ? it.As<Napi::Number>().Uint32Value() : 0;
    h.cbInitiatorLength = static_cast<unsigned long>(ia.size());
    h.dwInitiatorOffset = sizeof(h);
    h.dwAcceptorAddrType = at.IsNumber() ? at.As<Napi::Number>().Uint32Value() : 0;
    h.cbAcceptorLength = static_cast<unsigned long>(aa.size());
    h.dwAcceptorOffset = static_cast<unsigned long>(sizeof(h) + ia.size());
    h.cbApplicationDataLength = static_cast<unsigned long>(ad.size());
    h.dwApplicationDataOffset = static_cast<unsigned long>(sizeof(h) + ia.size() + aa.size());
    s.bindings.resize(sizeof(h));
    std::memcpy(s.bindings.data(), &h, sizeof(h));
    s.bindings.insert(s.bindings.end(), ia.begin(), ia.end());
    s.bindings.insert(s.bindings.end(), aa.begin(), aa.end());
    s.bindings.insert(s.bindings.end(), ad.begin(), ad.end());
  }
}

SspiContext::~SspiContext() = default;  // the state (and its handles) goes with the last reference

// step(input?: Uint8Array): Promise<{ token?: Buffer, complete: boolean, error?: {...} }>
Napi::Value SspiContext::Step(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Usable(env, state_, false)) return env.Undefined();
  std::shared_ptr<SspiState> s = state_;
  bool expected = false;
  if (!s->busy.compare_exchange_strong(expected, true)) {
    Napi::Error::New(env, "step() is running on this context").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::vector<uint8_t> input = BytesOf(info[0]);
  return RunAsync<StepResult>(
      env,
      [s, input]() mutable {
        StepResult r;
        Guard lock(s->mu);
        if (s->disposed) {
          r.status = UsageFailure("step", "the context was disposed");
          return r;
        }
        if (!s->haveCred) {
          r.status = s->AcquireCred();
          if (r.status.failed()) return r;
        }
        // Input: the peer's token (SECBUFFER_TOKEN) and the channel bindings (SECBUFFER_CHANNEL_BINDINGS).
        SecBuffer inBufs[2];
        ULONG nIn = 0;
        if (!input.empty()) {
          inBufs[nIn].BufferType = SECBUFFER_TOKEN;
          inBufs[nIn].cbBuffer = static_cast<ULONG>(input.size());
          inBufs[nIn].pvBuffer = input.data();
          nIn++;
        }
        if (!s->bindings.empty()) {
          inBufs[nIn].BufferType = SECBUFFER_CHANNEL_BINDINGS;
          inBufs[nIn].cbBuffer = static_cast<ULONG>(s->bindings.size());
          inBufs[nIn].pvBuffer = s->bindings.data();
          nIn++;
        }
        SecBufferDesc inDesc{SECBUFFER_VERSION, nIn, inBufs};
        // Output: one SECBUFFER_TOKEN allocated by the package (ISC_REQ_ALLOCATE_MEMORY /
        // ASC_REQ_ALLOCATE_MEMORY), freed with FreeContextBuffer.
        SecBuffer outBuf{0, SECBUFFER_TOKEN, nullptr};
        SecBufferDesc outDesc{SECBUFFER_VERSION, 1, &outBuf};
        ULONG attrs = 0;
        SECURITY_STATUS ss;
        const char* call;
        if (s->initiator) {
          call = "InitializeSecurityContextW";
          ss = InitializeSecurityContextW(&s->cred, s->haveCtx ? &s->ctx : nullptr, s->spn.empty() ? nullptr : &s->spn[0],
                                          IscReqOf(s->reqFlags) | ISC_REQ_ALLOCATE_MEMORY, 0, SECURITY_NATIVE_DREP,
                                          nIn ? &inDesc : nullptr, 0, &s->ctx, &outDesc, &attrs, &s->expiry);
        } else {
          call = "AcceptSecurityContext";
          ss = AcceptSecurityContext(&s->cred, s->haveCtx ? &s->ctx : nullptr, &inDesc, AscReqOf(s->reqFlags) | ASC_REQ_ALLOCATE_MEMORY,
                                     SECURITY_NATIVE_DREP, &s->ctx, &outDesc, &attrs, &s->expiry);
        }
        if (ss >= 0) {
          s->haveCtx = true;  // the first successful call created the context handle
          s->retAttrs = attrs;
        }
        // SEC_I_COMPLETE_NEEDED / SEC_I_COMPLETE_AND_CONTINUE: finish the token (CompleteAuthToken).
        if (ss == SEC_I_COMPLETE_NEEDED || ss == SEC_I_COMPLETE_AND_CONTINUE) {
          SECURITY_STATUS cs = CompleteAuthToken(&s->ctx, &outDesc);
          if (cs < 0) {
            r.status = Status("CompleteAuthToken", cs);
          } else {
            ss = (ss == SEC_I_COMPLETE_NEEDED) ? SEC_E_OK : SEC_I_CONTINUE_NEEDED;
          }
        }
        if (outBuf.pvBuffer) {
          // on failure this may be an error token for the peer
          if (outBuf.cbBuffer)
            r.token.assign(static_cast<uint8_t*>(outBuf.pvBuffer), static_cast<uint8_t*>(outBuf.pvBuffer) + outBuf.cbBuffer);
          FreeContextBuffer(outBuf.pvBuffer);
        }
        if (!r.status.failed()) r.status = Status(call, ss);
        if (!r.status.failed()) {
          r.complete = ss == SEC_E_OK;
          s->complete = r.complete;
          if (r.complete) {
            // SECPKG_ATTR_SIZES: cbMaxSignature, cbBlockSize, cbSecurityTrailer for getMIC / wrap.
            s->haveSizes = QueryContextAttributesW(&s->ctx, SECPKG_ATTR_SIZES, &s->sizes) == SEC_E_OK;
          }
        }
        if (s->disposed) s->Release();
        return r;
      },
      [s](Napi::Env env, StepResult& r) -> Napi::Value {
        s->busy = false;
        return StepOutcome(env, r.complete, r.token, r.status);
      });
}

// inquire(): names, flags, lifetime, mech and session key of a complete context
// (QueryContextAttributesW).
Napi::Value SspiContext::Inquire(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Usable(env, state_, true)) return env.Undefined();
  SspiState& s = *state_;
  Guard lock(s.mu);
  if (!s.haveCtx) return ThrowStatus(env, UsageFailure("inquire", "the context was disposed"));
  Napi::Object out = Napi::Object::New(env);

  // SECPKG_ATTR_NAMES: the client's name (the initiator on either side).
  SecPkgContext_NamesW names{};
  if (QueryContextAttributesW(&s.ctx, SECPKG_ATTR_NAMES, &names) == SEC_E_OK && names.sUserName) {
    out.Set("initiatorName", Napi::String::New(env, Narrow(names.sUserName)));
    FreeContextBuffer(names.sUserName);
  }
  // SECPKG_ATTR_NATIVE_NAMES: client and server names as the package (Kerberos) sees them.
  SecPkgContext_NativeNamesW native{};
  if (QueryContextAttributesW(&s.ctx, SECPKG_ATTR_NATIVE_NAMES, &native) == SEC_E_OK) {
    if (native.sClientName) {
      if (!out.Has("initiatorName")) out.Set("initiatorName", Napi::String::New(env, Narrow(native.sClientName)));
      FreeContextBuffer(native.sClientName);
    }
    if (native.sServerName) {
      out.Set("acceptorName", Napi::String::New(env, Narrow(native.sServerName)));
      FreeContextBuffer(native.sServerName);
    }
  }
  if (!out.Has("acceptorName") && s.initiator && !s.spn.empty()) {
    std::wstring spn = s.spn;
    out.Set("acceptorName", Napi::String::New(env, Narrow(spn.c_str())));
  }

  // SECPKG_ATTR_LIFESPAN: tsExpiry -> seconds left.
  SecPkgContext_Lifespan life{};
  uint32_t lifetime = SecondsLeft(s.expiry);
  if (QueryContextAttributesW(&s.ctx, SECPKG_ATTR_LIFESPAN, &life) == SEC_E_OK) lifetime = SecondsLeft(life.tsExpiry);
  out.Set("lifetime", Napi::Number::New(env, lifetime));
  out.Set("flags", Napi::Number::New(env, GssOfRet(s.initiator, s.retAttrs)));

  // SECPKG_ATTR_NEGOTIATION_INFO: which package Negotiate chose (Kerberos or NTLM).
  std::string package = s.kerberos ? "Kerberos" : "";
  SecPkgContext_NegotiationInfoW neg{};
  if (QueryContextAttributesW(&s.ctx, SECPKG_ATTR_NEGOTIATION_INFO, &neg) == SEC_E_OK && neg.PackageInfo) {
    package = Narrow(neg.PackageInfo->Name);
    FreeContextBuffer(neg.PackageInfo);
  }
  bool krb = package == "Kerberos" || s.kerberos;
  if (krb) {
    out.Set("mech", Napi::String::New(env, "1.2.840.113554.1.2.2"));
  } else if (package == "NTLM") {
    out.Set("mech", Napi::String::New(env, "1.3.6.1.4.1.311.2.2.10"));
  } else {
    out.Set("mech", Napi::String::New(env, "1.3.6.1.5.5.2"));
  }
  if (!package.empty()) out.Set("package", Napi::String::New(env, package));
  out.Set("open", Napi::Boolean::New(env, true));

  // SECPKG_ATTR_SESSION_KEY: the context's session key (the subkey for Kerberos).
  SecPkgContext_SessionKey key{};
  if (QueryContextAttributesW(&s.ctx, SECPKG_ATTR_SESSION_KEY, &key) == SEC_E_OK && key.SessionKey) {
    out.Set("sessionKey", Napi::Buffer<uint8_t>::Copy(env, key.SessionKey, key.SessionKeyLength));
    FreeContextBuffer(key.SessionKey);
    // SECPKG_ATTR_KEY_INFO: for Kerberos EncryptAlgorithm is the key's enctype, given as the OID
    // 1.2.840.113554.1.2.2.4.<enctype> like GSS_C_INQ_SSPI_SESSION_KEY.
    SecPkgContext_KeyInfoW ki{};
    if (krb && QueryContextAttributesW(&s.ctx, SECPKG_ATTR_KEY_INFO, &ki) == SEC_E_OK) {
      out.Set("sessionKeyOid", Napi::String::New(env, "1.2.840.113554.1.2.2.4." + std::to_string(ki.EncryptAlgorithm)));
      if (ki.sSignatureAlgorithmName) FreeContextBuffer(ki.sSignatureAlgorithmName);
      if (ki.sEncryptAlgorithmName) FreeContextBuffer(ki.sEncryptAlgorithmName);
    }
  }
  if (!s.haveSizes) s.haveSizes = QueryContextAttributesW(&s.ctx, SECPKG_ATTR_SIZES, &s.sizes) == SEC_E_OK;
  return out;
}

// getMIC(message): MakeSignature over SECBUFFER_DATA into SECBUFFER_TOKEN (cbMaxSignature).
Napi::Value SspiContext::GetMic(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Usable(env, state_, true)) return env.Undefined();
  SspiState& s = *state_;
  Guard lock(s.mu);
  if (!s.haveCtx) return ThrowStatus(env, UsageFailure("MakeSignature", "the context was disposed"));
  if (!s.haveSizes) s.haveSizes = QueryContextAttributesW(&s.ctx, SECPKG_ATTR_SIZES, &s.sizes) == SEC_E_OK;
  if (!s.haveSizes) return ThrowStatus(env, UsageFailure("QueryContextAttributesW", "SECPKG_ATTR_SIZES is not available"));
  std::vector<uint8_t> msg = BytesOf(info[0]);
  std::vector<uint8_t> sig(s.sizes.cbMaxSignature ? s.sizes.cbMaxSignature : 1);
  SecBuffer bufs[2] = {{static_cast<ULONG>(msg.size()), SECBUFFER_DATA, msg.empty() ? nullptr : msg.data()},
                       {static_cast<ULONG>(sig.size()), SECBUFFER_TOKEN, sig.data()}};
  SecBufferDesc desc{SECBUFFER_VERSION, 2, bufs};
  CallStatus st = Status("MakeSignature", MakeSignature(&s.ctx, 0, &desc, 0));
  if (st.failed()) return ThrowStatus(env, st);
  return Napi::Buffer<uint8_t>::Copy(env, sig.data(), bufs[1].cbBuffer);
}

// verifyMIC(message, token): VerifySignature; 0, or throws with gssMajor / gssMinor / gssCall.
Napi::Value SspiContext::VerifyMic(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Usable(env, state_, true)) return env.Undefined();
  SspiState& s = *state_;
  Guard lock(s.mu);
  if (!s.haveCtx) return ThrowStatus(env, UsageFailure("VerifySignature", "the context was disposed"));
  std::vector<uint8_t> msg = BytesOf(info[0]), tok = BytesOf(info[1]);
  SecBuffer bufs[2] = {{static_cast<ULONG>(msg.size()), SECBUFFER_DATA, msg.empty() ? nullptr : msg.data()},
                       {static_cast<ULONG>(tok.size()), SECBUFFER_TOKEN, tok.empty() ? nullptr : tok.data()}};
  SecBufferDesc desc{SECBUFFER_VERSION, 2, bufs};
  ULONG qop = 0;
  CallStatus st = Status("VerifySignature", VerifySignature(&s.ctx, &desc, 0, &qop));
  if (st.failed()) return ThrowStatus(env, st);
  return Napi::Number::New(env, 0);
}

// wrap(message, encrypt): EncryptMessage with SECBUFFER_TOKEN (cbSecurityTrailer) + SECBUFFER_DATA
// + SECBUFFER_PADDING (cbBlockSize); SECQOP_WRAP_NO_ENCRYPT for integrity only. The token is
// trailer || data || padding, the layout DecryptMessage takes back as one SECBUFFER_STREAM.
Napi::Value SspiContext::WrapToken(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Usable(env, state_, true)) return env.Undefined();
  SspiState& s = *state_;
  Guard lock(s.mu);
  if (!s.haveCtx) return ThrowStatus(env, UsageFailure("EncryptMessage", "the context was disposed"));
  if (!s.haveSizes) s.haveSizes = QueryContextAttributesW(&s.ctx, SECPKG_ATTR_SIZES, &s.sizes) == SEC_E_OK;
  if (!s.haveSizes) return ThrowStatus(env, UsageFailure("QueryContextAttributesW", "SECPKG_ATTR_SIZES is not available"));
  std::vector<uint8_t> msg = BytesOf(info[0]);
  bool encrypt = info[1].ToBoolean().Value();
  std::vector<uint8_t> trailer(s.sizes.cbSecurityTrailer ? s.sizes.cbSecurityTrailer : 1);
  std::vector<uint8_t> padding(s.sizes.cbBlockSize ? s.sizes.cbBlockSize : 1);
  SecBuffer bufs[3] = {{static_cast<ULONG>(s.sizes.cbSecurityTrailer), SECBUFFER_TOKEN, trailer.data()},
                       {static_cast<ULONG>(msg.size()), SECBUFFER_DATA, msg.empty() ? nullptr : msg.data()},
                       {static_cast<ULONG>(s.sizes.cbBlockSize), SECBUFFER_PADDING, padding.data()}};
  SecBufferDesc desc{SECBUFFER_VERSION, 3, bufs};
  CallStatus st = Status("EncryptMessage", EncryptMessage(&s.ctx, encrypt ? 0 : SECQOP_WRAP_NO_ENCRYPT, &desc, 0));
  if (st.failed()) return ThrowStatus(env, st);
  size_t total = static_cast<size_t>(bufs[0].cbBuffer) + bufs[1].cbBuffer + bufs[2].cbBuffer;
  Napi::Buffer<uint8_t> token = Napi::Buffer<uint8_t>::New(env, total);
  uint8_t* p = token.Data();
  for (const SecBuffer& b : bufs) {
    if (b.cbBuffer && b.pvBuffer) std::memcpy(p, b.pvBuffer, b.cbBuffer);
    p += b.cbBuffer;
  }
  Napi::Object r = Napi::Object::New(env);
  r.Set("token", token);
  r.Set("encrypted", Napi::Boolean::New(env, encrypt));
  return r;
}

// unwrap(token): DecryptMessage with SECBUFFER_STREAM (the whole token) + SECBUFFER_DATA (set by
// the package to point into the stream).
Napi::Value SspiContext::UnwrapToken(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Usable(env, state_, true)) return env.Undefined();
  SspiState& s = *state_;
  Guard lock(s.mu);
  if (!s.haveCtx) return ThrowStatus(env, UsageFailure("DecryptMessage", "the context was disposed"));
  std::vector<uint8_t> tok = BytesOf(info[0]);
  SecBuffer bufs[2] = {{static_cast<ULONG>(tok.size()), SECBUFFER_STREAM, tok.empty() ? nullptr : tok.data()},
                       {0, SECBUFFER_DATA, nullptr}};
  SecBufferDesc desc{SECBUFFER_VERSION, 2, bufs};
  ULONG qop = 0;
  CallStatus st = Status("DecryptMessage", DecryptMessage(&s.ctx, &desc, 0, &qop));
  if (st.failed()) return ThrowStatus(env, st);
  const SecBuffer* data = nullptr;
  for (const SecBuffer& b : bufs)
    if (b.BufferType == SECBUFFER_DATA) data = &b;
  Napi::Object r = Napi::Object::New(env);
  if (data && data->pvBuffer && data->cbBuffer) {
    r.Set("message", Napi::Buffer<uint8_t>::Copy(env, static_cast<const uint8_t*>(data->pvBuffer), data->cbBuffer));
  } else {
    r.Set("message", Napi::Buffer<uint8_t>::New(env, 0));
  }
  r.Set("encrypted", Napi::Boolean::New(env, qop != SECQOP_WRAP_NO_ENCRYPT));
  r.Set("major", Napi::Number::New(env, 0));
  return r;
}

// dispose(): frees the handles now, or at the end of the running step.
Napi::Value SspiContext::Dispose(const Napi::CallbackInfo& info) {
  if (!state_) return info.Env().Undefined();
  state_->disposed = true;
  if (state_->mu.try_lock()) {
    state_->Release();
    state_->mu.unlock();
  }
  return info.Env().Undefined();
}

// info(): SSPI is always there; the OS version comes from RtlGetVersion (GetVersionExW lies to
// unmanifested processes).
Napi::Value SspiInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string version;
  using RtlGetVersionFn = LONG(WINAPI*)(PRTL_OSVERSIONINFOW);
  HMODULE ntdll = GetModuleHandleW(L"ntdll.dll");
  if (ntdll) {
    auto fn = reinterpret_cast<RtlGetVersionFn>(reinterpret_cast<void*>(GetProcAddress(ntdll, "RtlGetVersion")));
    RTL_OSVERSIONINFOW v{};
    v.dwOSVersionInfoSize = sizeof(v);
    if (fn && fn(&v) == 0) {
      version = std::to_string(v.dwMajorVersion) + "." + std::to_string(v.dwMinorVersion) + "." + std::to_string(v.dwBuildNumber);
    }
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("loaded", Napi::Boolean::New(env, true));
  out.Set("library", Napi::String::New(env, "SSPI"));
  out.Set("version", Napi::String::New(env, version));
  out.Set("path", Napi::String::New(env, "secur32.dll"));
  // QuerySecurityPackageInfoW: which of the two packages this machine has.
  Napi::Object pk = Napi::Object::New(env);
  for (const wchar_t* name : {L"Negotiate", L"Kerberos"}) {
    PSecPkgInfoW pi = nullptr;
    wchar_t buf[16];
    wcscpy(buf, name);
    bool ok = QuerySecurityPackageInfoW(buf, &pi) == SEC_E_OK && pi;
    if (pi) FreeContextBuffer(pi);
    pk.Set(Narrow(name), Napi::Boolean::New(env, ok));
  }
  out.Set("features", pk);
  return out;
}

}  // namespace spnego
