// GssContext: one GSS-API security context (initiator or acceptor) as a Node ObjectWrap. The
// gss_ctx_id_t, names and a reference to the credential (credential.h) live in CtxState, shared (shared_ptr) between the JS object
// and any step running on the pool, and never leave C++. RFC 2744 names throughout.
#include "context.h"

#include <atomic>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "../bridge.h"
#include "../worker.h"
#include "credential.h"
#include "gss_util.h"
#include "loader.h"

namespace spnego {

namespace {

std::string OidToString(gss_OID oid) {
  if (!oid || !oid->length) return "";
  const uint8_t* p = static_cast<const uint8_t*>(oid->elements);
  std::string out = std::to_string(p[0] / 40) + "." + std::to_string(p[0] % 40);
  uint64_t v = 0;
  for (OM_uint32 i = 1; i < oid->length; i++) {
    v = (v << 7) | (p[i] & 0x7f);
    if (!(p[i] & 0x80)) {
      out += "." + std::to_string(v);
      v = 0;
    }
  }
  return out;
}


}  // namespace

struct CtxState {
  std::shared_ptr<const GssLib> lib;
  bool initiator = true;
  bool spnego = true;
  std::string target;
  bool targetIsPrincipal = false;
  CredRequest request;                     // what to acquire when no credential object was given
  std::shared_ptr<CredState> credential;   // given, or acquired for this context alone at the first step
  std::string delegatedCcache;
  OM_uint32 reqFlags = 0;
  bool hasBindings = false;
  OM_uint32 cbInitiatorType = 0, cbAcceptorType = 0;
  std::vector<uint8_t> cbInitiatorAddr, cbAcceptorAddr, cbApplicationData;

  gss_ctx_id_t ctx = GSS_C_NO_CONTEXT;
  gss_name_t targetName = GSS_C_NO_NAME;
  gss_cred_id_t delegated = GSS_C_NO_CREDENTIAL;
  bool complete = false;
  std::atomic<bool> busy{false};
  std::atomic<bool> disposed{false};
  std::mutex mu;  // held by whoever uses the handles below

  gss_OID mech() const { return spnego ? &kSpnegoOid : &kKrb5Oid; }

  // Frees every handle (the credential's go with its last user). Caller holds mu (or is the destructor).
  void Release() {
    if (!lib) return;
    OM_uint32 minor = 0;
    if (ctx != GSS_C_NO_CONTEXT) lib->delete_sec_context(&minor, &ctx, GSS_C_NO_BUFFER);
    if (delegated != GSS_C_NO_CREDENTIAL) lib->release_cred(&minor, &delegated);
    if (targetName != GSS_C_NO_NAME) lib->release_name(&minor, &targetName);
    credential.reset();
    Wipe(request.password);
  }
  ~CtxState() { Release(); }

  CallStatus ImportName(const std::string& s, gss_OID type, gss_name_t* out) {
    OM_uint32 minor = 0;
    gss_buffer_desc b{s.size(), const_cast<char*>(s.data())};
    return Status(*lib, "gss_import_name", lib->import_name(&minor, &b, type, out), minor);
  }

  // Runs on the pool: the transient credential of a context given none, for its one mechanism.
  CallStatus EnsureCredential() {
    if (credential) return CallStatus{};
    auto c = std::make_shared<CredState>();
    c->lib = lib;
    request.mechs = spnego ? kMechSpnego : kMechKrb5;
    CallStatus st = AcquireCredential(*c, request);
    if (!st.failed()) credential = c;
    return st;
  }

  CallStatus StoreDelegated() {
    OM_uint32 minor = 0;
    if (lib->store_cred_into) {
      gss_key_value_element_desc el[1] = {{"ccache", delegatedCcache.c_str()}};
      gss_key_value_set_desc store{1, el};
      return Status(*lib, "gss_store_cred_into",
                    lib->store_cred_into(&minor, delegated, GSS_C_INITIATE, &kKrb5Oid, 1, 0, &store, nullptr, nullptr), minor);
    }
    if (!lib->hasKrb5() || !lib->krb5_copy_ccache) return UsageFailure("gss_krb5_copy_ccache", lib->path + " cannot store delegated credentials");
    krb5_context k = nullptr;
    if (lib->krb5_init_context(&k) != 0) return UsageFailure("krb5_init_context", "cannot initialize a krb5 context");
    krb5_ccache cc = nullptr;
    CallStatus st;
    if (lib->krb5_cc_resolve(k, delegatedCcache.c_str(), &cc) != 0) {
      st = UsageFailure("krb5_cc_resolve", "cannot resolve ccache " + delegatedCcache);
    } else {
      st = Status(*lib, "gss_krb5_copy_ccache", lib->krb5_copy_ccache(&minor, delegated, cc), minor);
      lib->krb5_cc_close(k, cc);
    }
    lib->krb5_free_context(k);
    return st;
  }
};

struct StepResult {
  CallStatus status;
  std::vector<uint8_t> token;
  bool complete = false;
};

Napi::FunctionReference GssContext::constructor;

Napi::Object GssContext::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function f = DefineClass(env, "GssContext",
                                 {InstanceMethod("step", &GssContext::Step), InstanceMethod("inquire", &GssContext::Inquire),
                                  InstanceMethod("getMIC", &GssContext::GetMic), InstanceMethod("verifyMIC", &GssContext::VerifyMic),
                                  InstanceMethod("wrap", &GssContext::WrapToken), InstanceMethod("unwrap", &GssContext::UnwrapToken),
                                  InstanceMethod("dispose", &GssContext::Dispose)});
  constructor = Napi::Persistent(f);
  exports.Set("GssContext", f);
  return exports;
}

// new GssContext({ library, role, mech, target, targetType, flags, channelBindings, delegatedCcache,
//                  credential (a GssCredential of the same library and usage), or else the options
//                  of a transient one: ccache, principal, password, clientKeytab, keytab, allowWeakCrypto })
GssContext::GssContext(const Napi::CallbackInfo& info) : Napi::ObjectWrap<GssContext>(info) {
  Napi::Env env = info.Env();
  if (!info[0].IsObject()) {
    Napi::TypeError::New(env, "GssContext: options object expected").ThrowAsJavaScriptException();
    return;
  }
  Napi::Object o = info[0].As<Napi::Object>();
  std::string error;
  auto lib = LoadGssLib(StringOf(o, "library"), &error);
  if (!lib) {
    Napi::Error::New(env, error).ThrowAsJavaScriptException();
    return;
  }
  state_ = std::make_shared<CtxState>();
  CtxState& s = *state_;
  s.lib = lib;
  s.initiator = StringOf(o, "role") != "acceptor";
  s.spnego = StringOf(o, "mech") != "kerberos";
  s.target = StringOf(o, "target");
  s.targetIsPrincipal = StringOf(o, "targetType") == "principal";
  Napi::Value credential = o.Get("credential");
  if (!credential.IsUndefined()) {
    std::string why;
    s.credential = GssCredential::StateOf(credential, s.initiator, &why);
    if (!s.credential) {
      Napi::Error::New(env, why).ThrowAsJavaScriptException();
      return;
    }
    if (s.credential->lib != lib) {
      Napi::Error::New(env, "the credential belongs to " + s.credential->lib->path + ", not " + lib->path).ThrowAsJavaScriptException();
      return;
    }
  } else {
    s.request.initiator = s.initiator;
    s.request.ccache = StringOf(o, "ccache");
    s.request.principal = StringOf(o, "principal");
    s.request.password = StringOf(o, "password");
    s.request.clientKeytab = StringOf(o, "clientKeytab");
    s.request.keytab = StringOf(o, "keytab");
    s.request.restrictEnctypes = !o.Get("allowWeakCrypto").ToBoolean().Value();
  }
  s.delegatedCcache = StringOf(o, "delegatedCcache");
  Napi::Value flags = o.Get("flags");
  s.reqFlags = flags.IsNumber() ? flags.As<Napi::Number>().Uint32Value() : 0;
  Napi::Value cb = o.Get("channelBindings");
  if (cb.IsObject()) {
    Napi::Object c = cb.As<Napi::Object>();
    s.hasBindings = true;
    Napi::Value it = c.Get("initiatorAddrType"), at = c.Get("acceptorAddrType");
    s.cbInitiatorType = it.IsNumber() ? it.As<Napi::Number>().Uint32Value() : 0;
    s.cbAcceptorType = at.IsNumber() ? at.As<Napi::Number>().Uint32Value() : 0;
    s.cbInitiatorAddr = BytesOf(c.Get("initiatorAddress"));
    s.cbAcceptorAddr = BytesOf(c.Get("acceptorAddress"));
    s.cbApplicationData = BytesOf(c.Get("applicationData"));
  }
}

GssContext::~GssContext() = default;  // the state (and its handles) goes with the last reference

// step(input?: Uint8Array): Promise<{ token?: Buffer, complete: boolean, error?: {...} }>
Napi::Value GssContext::Step(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Usable(env, state_, false)) return env.Undefined();
  std::shared_ptr<CtxState> s = state_;
  bool expected = false;
  if (!s->busy.compare_exchange_strong(expected, true)) {
    Napi::Error::New(env, "step() is running on this context").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  std::vector<uint8_t> input = BytesOf(info[0]);
  return RunAsync<StepResult>(
      env,
      [s, input]() {
        StepResult r;
        std::lock_guard<std::mutex> lock(s->mu);
        const GssLib& lib = *s->lib;
        if (s->disposed) {
          r.status = UsageFailure("step", "the context was disposed");
          return r;
        }
        r.status = s->EnsureCredential();
        if (r.status.failed()) return r;
        const CredState& cred = *s->credential;
        if (s->spnego && !cred.spnegoError.empty()) {
          r.status = UsageFailure("gss_acquire_cred", cred.spnegoError);
          return r;
        }
        OM_uint32 minor = 0, major = 0, retFlags = 0, timeRec = 0;
        gss_buffer_desc in = Buf(input);
        gss_buffer_desc out{0, nullptr};
        gss_channel_bindings_struct cb{};
        if (s->hasBindings) {
          cb.initiator_addrtype = s->cbInitiatorType;
          cb.initiator_address = Buf(s->cbInitiatorAddr);
          cb.acceptor_addrtype = s->cbAcceptorType;
          cb.acceptor_address = Buf(s->cbAcceptorAddr);
          cb.application_data = Buf(s->cbApplicationData);
        }
        gss_channel_bindings_t bindings = s->hasBindings ? &cb : GSS_C_NO_CHANNEL_BINDINGS;
        if (s->initiator) {
          if (s->targetName == GSS_C_NO_NAME) {
            r.status = s->ImportName(s->target, s->targetIsPrincipal ? &kNtKrb5Principal : &kNtHostbased, &s->targetName);
            if (r.status.failed()) return r;
          }
          major = lib.init_sec_context(&minor, cred.For(s->spnego), &s->ctx, s->targetName, s->mech(), s->reqFlags, 0, bindings,
                                       input.empty() ? GSS_C_NO_BUFFER : &in, nullptr, &out, &retFlags, &timeRec);
          r.status = Status(lib, "gss_init_sec_context", major, minor);
        } else {
          gss_cred_id_t deleg = GSS_C_NO_CREDENTIAL;
          major = s->spnego && cred.acceptWithDefaults
                      ? cred.AcceptWithDefaults(&minor, &s->ctx, &in, bindings, &out, &retFlags, &timeRec, &deleg)
                      : lib.accept_sec_context(&minor, &s->ctx, cred.For(s->spnego), &in, bindings, nullptr, nullptr, &out, &retFlags, &timeRec, &deleg);
          r.status = Status(lib, "gss_accept_sec_context", major, minor);
          if (deleg != GSS_C_NO_CREDENTIAL) {
            OM_uint32 m2 = 0;
            if (s->delegated != GSS_C_NO_CREDENTIAL) lib.release_cred(&m2, &s->delegated);
            s->delegated = deleg;
          }
        }
        r.token = Take(lib, &out);  // on failure this may be an error token (KRB-ERROR) for the peer
        if (!r.status.failed()) {
          r.complete = (major & GSS_S_CONTINUE_NEEDED) == 0;
          s->complete = r.complete;
          if (r.complete && !s->initiator && s->delegated != GSS_C_NO_CREDENTIAL && !s->delegatedCcache.empty()) {
            r.status = s->StoreDelegated();
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

// inquire(): names, flags, lifetime, mech, session key (GSS_C_INQ_SSPI_SESSION_KEY) of a complete context.
Napi::Value GssContext::Inquire(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Usable(env, state_, true)) return env.Undefined();
  CtxState& s = *state_;
  std::lock_guard<std::mutex> lock(s.mu);
  const GssLib& lib = *s.lib;
  OM_uint32 minor = 0, lifetime = 0, flags = 0;
  gss_name_t src = GSS_C_NO_NAME, targ = GSS_C_NO_NAME;
  gss_OID mech = GSS_C_NO_OID;
  int local = 0, open = 0;
  // gss-ntlmssp 1.2 (gssntlm_inquire_context) strdup()s a NULL name when asked for the target name
  // of an acceptor whose credential has no name (the default acceptor credential): crashes the
  // process. For an NTLM acceptor, ask for the initiator's name only.
  gss_OID probe = GSS_C_NO_OID;
  const bool ntlmAcceptor = !s.initiator &&
                            !GSS_ERROR(lib.inquire_context(&minor, s.ctx, nullptr, nullptr, nullptr, &probe, nullptr, nullptr, nullptr)) &&
                            probe != GSS_C_NO_OID && OidToString(probe) == "1.3.6.1.4.1.311.2.2.10";
  CallStatus st = Status(lib, "gss_inquire_context", lib.inquire_context(&minor, s.ctx, &src, ntlmAcceptor ? nullptr : &targ, &lifetime, &mech, &flags, &local, &open), minor);
  if (st.failed()) return ThrowStatus(env, st);
  Napi::Object out = Napi::Object::New(env);
  auto name = [&](gss_name_t n, const char* key) {
    if (n == GSS_C_NO_NAME) return;
    gss_buffer_desc b{0, nullptr};
    OM_uint32 m = 0;
    if (!GSS_ERROR(lib.display_name(&m, n, &b, nullptr))) {
      auto v = Take(lib, &b);
      // gss-ntlmssp counts the C string's NUL in the display name's length.
      while (!v.empty() && v.back() == 0) v.pop_back();
      out.Set(key, Napi::String::New(env, std::string(v.begin(), v.end())));
    }
    lib.release_name(&m, &n);
  };
  // The acceptor's view of the initiator's PAC (RFC 6680 name attribute "urn:mspac:", MIT and
  // Heimdal): the raw AD-WIN2K-PAC, and whether the library verified its signatures.
  if (!s.initiator && src != GSS_C_NO_NAME && lib.get_name_attribute) {
    static const char kMspac[] = "urn:mspac:";
    gss_buffer_desc attr{sizeof(kMspac) - 1, const_cast<char*>(kMspac)};
    gss_buffer_desc value{0, nullptr}, display{0, nullptr};
    int authenticated = 0, complete = 0, more = -1;
    OM_uint32 m = 0;
    if (!GSS_ERROR(lib.get_name_attribute(&m, src, &attr, &authenticated, &complete, &value, &display, &more))) {
      auto v = Take(lib, &value);
      Take(lib, &display);
      out.Set("pac", Napi::Buffer<uint8_t>::Copy(env, v.data(), v.size()));
      out.Set("pacAuthenticated", Napi::Boolean::New(env, authenticated != 0));
    }
  }
  name(src, "initiatorName");
  name(targ, "acceptorName");
  out.Set("lifetime", Napi::Number::New(env, lifetime));
  out.Set("flags", Napi::Number::New(env, flags));
  out.Set("mech", Napi::String::New(env, OidToString(mech)));
  out.Set("open", Napi::Boolean::New(env, open != 0));
  if (lib.inquire_sec_context_by_oid) {
    gss_buffer_set_t set = nullptr;
    OM_uint32 maj = lib.inquire_sec_context_by_oid(&minor, s.ctx, &kInqSessionKey, &set);
    if (!GSS_ERROR(maj) && set) {
      if (set->count >= 1) {
        gss_buffer_desc& k = set->elements[0];
        out.Set("sessionKey", Napi::Buffer<uint8_t>::Copy(env, static_cast<uint8_t*>(k.value), k.length));
      }
      if (set->count >= 2) {  // the enctype as OID 1.2.840.113554.1.2.2.4.<enctype>
        gss_OID_desc e{static_cast<OM_uint32>(set->elements[1].length), set->elements[1].value};
        out.Set("sessionKeyOid", Napi::String::New(env, OidToString(&e)));
      }
      if (lib.release_buffer_set) lib.release_buffer_set(&minor, &set);
    }
  }
  if (lib.heimdal_subkey_oid && lib.inquire_sec_context_by_oid) {
    // Heimdal gives no enctype with the session key; GSS_KRB5_GET_SUBKEY_X gives the same key
    // (acceptor subkey, else initiator subkey, else ticket key) as a stored keyblock.
    gss_buffer_set_t set = nullptr;
    OM_uint32 maj = lib.inquire_sec_context_by_oid(&minor, s.ctx, lib.heimdal_subkey_oid, &set);
    if (!GSS_ERROR(maj) && set && set->count >= 1) {
      gss_buffer_desc& k = set->elements[0];
      out.Set("keyblock", Napi::Buffer<uint8_t>::Copy(env, static_cast<uint8_t*>(k.value), k.length));
    }
    if (set && lib.release_buffer_set) lib.release_buffer_set(&minor, &set);
  }
  return out;
}

Napi::Value GssContext::GetMic(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Usable(env, state_, true)) return env.Undefined();
  CtxState& s = *state_;
  std::lock_guard<std::mutex> lock(s.mu);
  std::vector<uint8_t> msg = BytesOf(info[0]);
  gss_buffer_desc in = Buf(msg), out{0, nullptr};
  OM_uint32 minor = 0;
  CallStatus st = Status(*s.lib, "gss_get_mic", s.lib->get_mic(&minor, s.ctx, GSS_C_QOP_DEFAULT, &in, &out), minor);
  auto token = Take(*s.lib, &out);
  if (st.failed()) return ThrowStatus(env, st);
  return Napi::Buffer<uint8_t>::Copy(env, token.data(), token.size());
}

// verifyMIC(message, token): the major status (0 or supplementary bits such as GSS_S_DUPLICATE_TOKEN).
Napi::Value GssContext::VerifyMic(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Usable(env, state_, true)) return env.Undefined();
  CtxState& s = *state_;
  std::lock_guard<std::mutex> lock(s.mu);
  std::vector<uint8_t> msg = BytesOf(info[0]), tok = BytesOf(info[1]);
  gss_buffer_desc m = Buf(msg), t = Buf(tok);
  OM_uint32 minor = 0;
  gss_qop_t qop = 0;
  OM_uint32 major = s.lib->verify_mic(&minor, s.ctx, &m, &t, &qop);
  CallStatus st = Status(*s.lib, "gss_verify_mic", major, minor);
  if (st.failed()) return ThrowStatus(env, st);
  return Napi::Number::New(env, major);
}

Napi::Value GssContext::WrapToken(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Usable(env, state_, true)) return env.Undefined();
  CtxState& s = *state_;
  std::lock_guard<std::mutex> lock(s.mu);
  std::vector<uint8_t> msg = BytesOf(info[0]);
  int confReq = info[1].ToBoolean().Value() ? 1 : 0, confState = 0;
  gss_buffer_desc in = Buf(msg), out{0, nullptr};
  OM_uint32 minor = 0;
  CallStatus st = Status(*s.lib, "gss_wrap", s.lib->wrap(&minor, s.ctx, confReq, GSS_C_QOP_DEFAULT, &in, &confState, &out), minor);
  auto token = Take(*s.lib, &out);
  if (st.failed()) return ThrowStatus(env, st);
  Napi::Object r = Napi::Object::New(env);
  r.Set("token", Napi::Buffer<uint8_t>::Copy(env, token.data(), token.size()));
  r.Set("encrypted", Napi::Boolean::New(env, confState != 0));
  return r;
}

Napi::Value GssContext::UnwrapToken(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!Usable(env, state_, true)) return env.Undefined();
  CtxState& s = *state_;
  std::lock_guard<std::mutex> lock(s.mu);
  std::vector<uint8_t> tok = BytesOf(info[0]);
  gss_buffer_desc in = Buf(tok), out{0, nullptr};
  OM_uint32 minor = 0;
  int confState = 0;
  gss_qop_t qop = 0;
  OM_uint32 major = s.lib->unwrap(&minor, s.ctx, &in, &out, &confState, &qop);
  CallStatus st = Status(*s.lib, "gss_unwrap", major, minor);
  auto message = Take(*s.lib, &out);
  if (st.failed()) return ThrowStatus(env, st);
  Napi::Object r = Napi::Object::New(env);
  r.Set("message", Napi::Buffer<uint8_t>::Copy(env, message.data(), message.size()));
  r.Set("encrypted", Napi::Boolean::New(env, confState != 0));
  r.Set("major", Napi::Number::New(env, major));
  return r;
}

// dispose(): frees the handles now, or at the end of the running step.
Napi::Value GssContext::Dispose(const Napi::CallbackInfo& info) {
  if (!state_) return info.Env().Undefined();
  state_->disposed = true;
  std::unique_lock<std::mutex> lock(state_->mu, std::try_to_lock);
  if (lock.owns_lock()) state_->Release();
  return info.Env().Undefined();
}

// info(library?): whether the library loads, which one, its version, what it lacks.
Napi::Value LibraryInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string spec = info[0].IsString() ? info[0].As<Napi::String>().Utf8Value() : "";
  std::string error;
  auto lib = LoadGssLib(spec, &error);
  Napi::Object out = Napi::Object::New(env);
  out.Set("loaded", Napi::Boolean::New(env, lib != nullptr));
  if (!lib) {
    out.Set("error", Napi::String::New(env, error));
    return out;
  }
  out.Set("library", Napi::String::New(env, lib->flavor));
  out.Set("path", Napi::String::New(env, lib->realPath.empty() ? lib->path : lib->realPath));
  if (!lib->version.empty()) out.Set("version", Napi::String::New(env, lib->version));
  Napi::Object f = Napi::Object::New(env);
  f.Set("acquireCredFrom", Napi::Boolean::New(env, lib->acquire_cred_from != nullptr));
  f.Set("acquireCredWithPassword", Napi::Boolean::New(env, lib->acquire_cred_with_password != nullptr));
  f.Set("inquireSecContextByOid", Napi::Boolean::New(env, lib->inquire_sec_context_by_oid != nullptr));
  f.Set("storeCredInto", Napi::Boolean::New(env, lib->store_cred_into != nullptr));
  f.Set("krb5ImportCred", Napi::Boolean::New(env, lib->krb5_import_cred != nullptr && lib->hasKrb5()));
  out.Set("features", f);
  return out;
}

}  // namespace spnego
