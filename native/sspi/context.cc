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
#include <sddl.h>

#include "context.h"

#include <atomic>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "../bridge.h"
#include "../worker.h"
#include "credential.h"
#include "sspi_util.h"

namespace spnego {

namespace {
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

// cbMaxToken of the "Kerberos" or "Negotiate" package: the size of an output token buffer.
CallStatus MaxTokenOf(bool kerberos, ULONG* out) {
  wchar_t name[16];
  wcscpy(name, kerberos ? L"Kerberos" : L"Negotiate");
  PSecPkgInfoW pi = nullptr;
  SECURITY_STATUS ss = QuerySecurityPackageInfoW(name, &pi);
  if (ss != SEC_E_OK || !pi) {
    if (pi) FreeContextBuffer(pi);
    return Status("QuerySecurityPackageInfoW", ss == SEC_E_OK ? SEC_E_SECPKG_NOT_FOUND : ss);
  }
  *out = pi->cbMaxToken ? pi->cbMaxToken : 12000;  // 12000: Negotiate's documented cbMaxToken
  FreeContextBuffer(pi);
  return CallStatus{};
}

// A SID as "S-1-5-21-...", or "" (ConvertSidToStringSidW).
std::string SidString(PSID sid) {
  LPWSTR w = nullptr;
  if (!sid || !ConvertSidToStringSidW(sid, &w) || !w) return std::string();
  std::string out = Narrow(w);
  LocalFree(w);
  return out;
}

// GetTokenInformation(TokenUser, TokenGroups) of an access token: the user's SID and its groups'.
bool TokenSids(HANDLE token, std::string* user, std::vector<std::string>* groups) {
  auto query = [token](TOKEN_INFORMATION_CLASS c, std::vector<uint8_t>* buf) {
    DWORD need = 0;
    GetTokenInformation(token, c, nullptr, 0, &need);
    if (!need) return false;
    buf->resize(need);
    return GetTokenInformation(token, c, buf->data(), need, &need) != 0;
  };
  std::vector<uint8_t> u, g;
  if (!query(TokenUser, &u)) return false;
  *user = SidString(reinterpret_cast<TOKEN_USER*>(u.data())->User.Sid);
  if (query(TokenGroups, &g)) {
    const TOKEN_GROUPS* tg = reinterpret_cast<const TOKEN_GROUPS*>(g.data());
    for (DWORD i = 0; i < tg->GroupCount; i++) {
      std::string sid = SidString(tg->Groups[i].Sid);
      if (!sid.empty()) groups->push_back(sid);
    }
  }
  return !user->empty();
}

}  // namespace

struct SspiState {
  bool initiator = true;
  bool kerberos = false;                 // package "Kerberos", else "Negotiate" (MS-SPNG)
  std::wstring spn;                      // pszTargetName of InitializeSecurityContextW
  SspiCredRequest request;               // what to acquire when no credential object was given
  std::shared_ptr<SspiCredState> credential;  // given, or acquired for this context at the first step
  uint32_t reqFlags = 0;                 // GSS bits
  ULONG maxToken = 0;                    // cbMaxToken of the package (QuerySecurityPackageInfoW)
  std::vector<uint8_t> bindings;         // SEC_CHANNEL_BINDINGS followed by its data

  CtxtHandle ctx{};
  bool haveCtx = false;
  bool complete = false;
  ULONG retAttrs = 0;                    // last ISC_RET_* / ASC_RET_*
  TimeStamp expiry{};
  SecPkgContext_Sizes sizes{};
  bool haveSizes = false;
  std::atomic<bool> busy{false};
  std::atomic<bool> disposed{false};
  Lock mu;  // held by whoever uses the handles

  // DeleteSecurityContext; the credential goes with its last user. Caller holds mu (or is the destructor).
  void Release() {
    if (haveCtx) DeleteSecurityContext(&ctx);
    haveCtx = false;
    complete = false;
    credential.reset();
    Wipe(request.password);
  }
  ~SspiState() { Release(); }

  // Runs on the pool: the transient credential of a context given none, for its one package.
  CallStatus EnsureCredential() {
    if (credential) return CallStatus{};
    auto c = std::make_shared<SspiCredState>();
    request.packages = kerberos ? kSspiKerberos : kSspiNegotiate;
    CallStatus st = AcquireSspiCredential(*c, request);
    if (!st.failed()) credential = c;
    return st;
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

// new GssContext({ role, mech, target, targetType, flags, channelBindings, credential (an
// SspiCredential of the same usage), or else principal, password }). A ccache, keytab or client
// keytab is refused: SSPI uses the logon session (or a password).
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
  Napi::Value credential = o.Get("credential");
  if (!credential.IsUndefined()) {
    std::string why;
    s.credential = SspiCredential::StateOf(credential, s.initiator, &why);
    if (!s.credential) {
      Napi::Error::New(env, why).ThrowAsJavaScriptException();
      return;
    }
  } else {
    std::string why;
    if (!SspiCredRequestOf(o, s.initiator, &s.request, &why)) {
      Napi::Error::New(env, why).ThrowAsJavaScriptException();
      return;
    }
  }
  Napi::Value flags = o.Get("flags");
  // An acceptor asks for what a GSS acceptor grants when the initiator asks (RFC 2743 1.2.1.2):
  // replay and sequence detection, integrity and confidentiality; Windows' acceptor grants only
  // what fContextReq names. Mutual authentication and delegation are the initiator's to ask.
  const uint32_t acceptorDefault = kGssReplay | kGssSequence | kGssConf | kGssInteg;
  s.reqFlags = flags.IsNumber() ? flags.As<Napi::Number>().Uint32Value() : (s.initiator ? 0 : acceptorDefault);
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
        r.status = s->EnsureCredential();
        if (r.status.failed()) return r;
        CredHandle* cred = s->credential->For(s->kerberos);
        if (!cred) {
          r.status = UsageFailure("AcquireCredentialsHandleW", "the credential has no handle for this package");
          return r;
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
        // Output: one SECBUFFER_TOKEN of the package's cbMaxToken, allocated here. The caller's
        // buffer works on every Windows and is the only form Wine implements (it has no
        // ISC_REQ_ALLOCATE_MEMORY / ASC_REQ_ALLOCATE_MEMORY).
        if (!s->maxToken) {
          r.status = MaxTokenOf(s->kerberos, &s->maxToken);
          if (r.status.failed()) return r;
        }
        std::vector<uint8_t> out(s->maxToken);
        SecBuffer outBuf{static_cast<ULONG>(out.size()), SECBUFFER_TOKEN, out.data()};
        SecBufferDesc outDesc{SECBUFFER_VERSION, 1, &outBuf};
        ULONG attrs = 0;
        SECURITY_STATUS ss;
        const char* call;
        if (s->initiator) {
          call = "InitializeSecurityContextW";
          ss = InitializeSecurityContextW(cred, s->haveCtx ? &s->ctx : nullptr, s->spn.empty() ? nullptr : &s->spn[0],
                                          IscReqOf(s->reqFlags), 0, SECURITY_NATIVE_DREP,
                                          nIn ? &inDesc : nullptr, 0, &s->ctx, &outDesc, &attrs, &s->expiry);
        } else {
          call = "AcceptSecurityContext";
          ss = AcceptSecurityContext(cred, s->haveCtx ? &s->ctx : nullptr, &inDesc, AscReqOf(s->reqFlags),
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
        // On failure this may be an error token for the peer (a KRB-ERROR). A failed call that left
        // cbBuffer as given wrote none (Wine does not reset it): no token then.
        bool wrote = outBuf.cbBuffer < out.size() || (ss >= 0 && outBuf.cbBuffer == out.size());
        if (outBuf.pvBuffer && outBuf.cbBuffer && wrote) r.token.assign(out.begin(), out.begin() + outBuf.cbBuffer);
        Wipe(out);
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

  // SECPKG_ATTR_NATIVE_NAMES first: client and server as Kerberos names (user@REALM,
  // service/host@REALM). Then SECPKG_ATTR_NAMES, the client as "DOMAIN\user" or a UPN, turned into
  // user@DOMAIN. Wine answers neither (dlls/kerberos answers only SIZES and NEGOTIATION_INFO):
  // the names are then left out, as info documents.
  SecPkgContext_NativeNamesW native{};
  if (QueryContextAttributesW(&s.ctx, SECPKG_ATTR_NATIVE_NAMES, &native) == SEC_E_OK) {
    if (native.sClientName) {
      out.Set("initiatorName", Napi::String::New(env, Narrow(native.sClientName)));
      FreeContextBuffer(native.sClientName);
    }
    if (native.sServerName) {
      out.Set("acceptorName", Napi::String::New(env, Narrow(native.sServerName)));
      FreeContextBuffer(native.sServerName);
    }
  }
  if (!out.Has("initiatorName")) {
    SecPkgContext_NamesW names{};
    if (QueryContextAttributesW(&s.ctx, SECPKG_ATTR_NAMES, &names) == SEC_E_OK && names.sUserName) {
      out.Set("initiatorName", Napi::String::New(env, UserAtRealm(Narrow(names.sUserName))));
      FreeContextBuffer(names.sUserName);
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
  // The acceptor's view of the client's authorization: the access token Windows built from the
  // PAC (QuerySecurityContextToken), its user and group SIDs (GetTokenInformation TokenUser,
  // TokenGroups), as ctx.info.pac reports them on Linux. Wine returns no token (its Kerberos
  // package does not build one): the SIDs are then left out.
  if (!s.initiator) {
    HANDLE token = nullptr;
    if (QuerySecurityContextToken(&s.ctx, &token) == SEC_E_OK && token) {
      std::string user;
      std::vector<std::string> groups;
      if (TokenSids(token, &user, &groups)) {
        out.Set("userSid", Napi::String::New(env, user));
        Napi::Array a = Napi::Array::New(env, groups.size());
        for (size_t i = 0; i < groups.size(); i++) a.Set(static_cast<uint32_t>(i), Napi::String::New(env, groups[i]));
        out.Set("groupSids", a);
      }
      CloseHandle(token);
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

// Wine (any version) exports wine_get_version from its ntdll; Windows does not. Wine 8's Kerberos
// package (dlls/kerberos/unixlib.c, seal_message_no_vector / unseal_message_no_vector) lays a
// gss_wrap token out as DATA || TOKEN (Windows: TOKEN || DATA), reports a cbSecurityTrailer of 49
// (AES sealing needs 60) and does not take SECBUFFER_STREAM: wrap and unwrap follow it there.
static bool UnderWine() {
  static const bool wine = [] {
    HMODULE nt = GetModuleHandleW(L"ntdll.dll");
    return nt != nullptr && GetProcAddress(nt, "wine_get_version") != nullptr;
  }();
  return wine;
}

// Under Wine, DecryptMessage copies exactly cbBuffer of SECBUFFER_DATA bytes of plaintext back,
// so the DATA / TOKEN split must put the plaintext's length in DATA. RFC 4121 4.2.6.2: a sealed
// token is header(16) || E(confounder(16) | data | filler(EC) | header(16)) || checksum; an
// integrity-only one is header(16) || data || checksum(EC bytes). The checksum of a sealed token is
// taken as 12 bytes (aes128/aes256-cts-hmac-sha1-96, what Wine's hosts negotiate by default).
// Returns the plaintext length, or -1 when the token is not an RFC 4121 Wrap token.
static long WinePlaintextLength(const std::vector<uint8_t>& tok) {
  if (tok.size() < 16 || tok[0] != 0x05 || tok[1] != 0x04) return -1;
  const bool sealed = (tok[2] & 0x02) != 0;
  const long ec = (static_cast<long>(tok[4]) << 8) | tok[5];
  const long overhead = sealed ? 16 + 16 + ec + 16 + 12 : 16 + ec;
  const long p = static_cast<long>(tok.size()) - overhead;
  return p < 0 ? -1 : p;
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
  const bool wine = UnderWine();
  // WINE: its cbSecurityTrailer (49) is short of what AES sealing writes (60 + EC): room to spare.
  const ULONG trailerSize = s.sizes.cbSecurityTrailer + (wine ? 64 : 0);
  std::vector<uint8_t> trailer(trailerSize ? trailerSize : 1);
  std::vector<uint8_t> padding(s.sizes.cbBlockSize ? s.sizes.cbBlockSize : 1);
  SecBuffer bufs[3] = {{trailerSize, SECBUFFER_TOKEN, trailer.data()},
                       {static_cast<ULONG>(msg.size()), SECBUFFER_DATA, msg.empty() ? nullptr : msg.data()},
                       {static_cast<ULONG>(s.sizes.cbBlockSize), SECBUFFER_PADDING, padding.data()}};
  SecBufferDesc desc{SECBUFFER_VERSION, 3, bufs};
  CallStatus st = Status("EncryptMessage", EncryptMessage(&s.ctx, encrypt ? 0 : SECQOP_WRAP_NO_ENCRYPT, &desc, 0));
  if (st.failed()) return ThrowStatus(env, st);
  if (wine) bufs[2].cbBuffer = 0;
  size_t total = static_cast<size_t>(bufs[0].cbBuffer) + bufs[1].cbBuffer + bufs[2].cbBuffer;
  Napi::Buffer<uint8_t> token = Napi::Buffer<uint8_t>::New(env, total);
  uint8_t* p = token.Data();
  // Windows: TOKEN || DATA || PADDING; WINE: DATA || TOKEN (the gss_wrap output cut at the data's
  // length), and it leaves PADDING's cbBuffer as given: not part of the token.
  const int order[3] = {wine ? 1 : 0, wine ? 0 : 1, 2};
  for (int k : order) {
    const SecBuffer& b = bufs[k];
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
  // WINE: no SECBUFFER_STREAM; DATA || TOKEN is the whole token, DATA as long as the plaintext.
  const long plain = UnderWine() ? WinePlaintextLength(tok) : -1;
  if (plain >= 0) {
    bufs[0] = {static_cast<ULONG>(plain), SECBUFFER_DATA, plain ? tok.data() : nullptr};
    bufs[1] = {static_cast<ULONG>(tok.size() - plain), SECBUFFER_TOKEN, tok.data() + plain};
  }
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
