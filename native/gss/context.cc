// GssContext: one GSS-API security context (initiator or acceptor) as a Node ObjectWrap. The
// gss_ctx_id_t, credentials and names live in CtxState, shared (shared_ptr) between the JS object
// and any step running on the pool, and never leave C++. RFC 2744 names throughout.
#include "context.h"

#include <atomic>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

#include "../bridge.h"
#include "../worker.h"
#include "loader.h"

namespace spnego {

// Serializes changes to a library's process-wide defaults (Heimdal's acceptor identity and
// default ccache name), which stand in for the credential store Heimdal lacks.
std::mutex g_defaultsMu;

namespace {

// OIDs (DER contents octets).
gss_OID_desc kSpnegoOid = {6, const_cast<char*>("\x2b\x06\x01\x05\x05\x02")};                           // 1.3.6.1.5.5.2
gss_OID_desc kKrb5Oid = {9, const_cast<char*>("\x2a\x86\x48\x86\xf7\x12\x01\x02\x02")};                // 1.2.840.113554.1.2.2
gss_OID_desc kNtHostbased = {10, const_cast<char*>("\x2a\x86\x48\x86\xf7\x12\x01\x02\x01\x04")};       // RFC 2743 4.1
gss_OID_desc kNtKrb5Principal = {10, const_cast<char*>("\x2a\x86\x48\x86\xf7\x12\x01\x02\x02\x01")};   // RFC 1964 2.1.1
gss_OID_desc kInqSessionKey = {11, const_cast<char*>("\x2a\x86\x48\x86\xf7\x12\x01\x02\x02\x05\x05")}; // GSS_C_INQ_SSPI_SESSION_KEY

// gss_display_status loops (RFC 2744 5.11). Called on the thread that got the status: MIT and
// Heimdal keep the text of the last minor error per thread.
std::string DisplayStatus(const GssLib& lib, OM_uint32 code, int type) {
  std::string out;
  OM_uint32 msgCtx = 0;
  for (int i = 0; i < 8; i++) {
    OM_uint32 minor = 0;
    gss_buffer_desc buf{0, nullptr};
    OM_uint32 maj = lib.display_status(&minor, code, type, GSS_C_NO_OID, &msgCtx, &buf);
    if (GSS_ERROR(maj)) break;
    if (buf.length) {
      if (!out.empty()) out += "; ";
      out.append(static_cast<const char*>(buf.value), buf.length);
    }
    lib.release_buffer(&minor, &buf);
    if (msgCtx == 0) break;
  }
  return out;
}

CallStatus Status(const GssLib& lib, const char* call, OM_uint32 major, OM_uint32 minor) {
  CallStatus s;
  s.major = major;
  s.minor = minor;
  if (!GSS_ERROR(major)) return s;
  s.call = call;
  s.message = DisplayStatus(lib, major, GSS_C_GSS_CODE);
  if (minor) {
    std::string m = DisplayStatus(lib, minor, GSS_C_MECH_CODE);
    if (!m.empty()) s.message += ": " + m;
  }
  return s;
}

CallStatus UsageFailure(const std::string& call, const std::string& message) {
  CallStatus s;
  s.major = 13u << 16;  // GSS_S_FAILURE
  s.call = call;
  s.message = message;
  return s;
}

void Wipe(std::string& s) {
  volatile char* p = s.empty() ? nullptr : &s[0];
  for (size_t i = 0; i < s.size(); i++) p[i] = 0;
  s.clear();
}

gss_buffer_desc Buf(const std::vector<uint8_t>& v) {
  return gss_buffer_desc{v.size(), v.empty() ? nullptr : const_cast<uint8_t*>(v.data())};
}

std::vector<uint8_t> Take(const GssLib& lib, gss_buffer_desc* b) {
  std::vector<uint8_t> v;
  if (b->length && b->value) v.assign(static_cast<uint8_t*>(b->value), static_cast<uint8_t*>(b->value) + b->length);
  OM_uint32 minor = 0;
  if (b->value) lib.release_buffer(&minor, b);
  return v;
}

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
  std::string ccache, principal, password, clientKeytab, keytab, delegatedCcache;
  std::string memCcache;  // MEMORY: ccache of a client-keytab credential, destroyed with it
  OM_uint32 reqFlags = 0;
  bool hasBindings = false;
  OM_uint32 cbInitiatorType = 0, cbAcceptorType = 0;
  std::vector<uint8_t> cbInitiatorAddr, cbAcceptorAddr, cbApplicationData;

  gss_ctx_id_t ctx = GSS_C_NO_CONTEXT;
  gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;
  gss_name_t targetName = GSS_C_NO_NAME;
  gss_cred_id_t delegated = GSS_C_NO_CREDENTIAL;
  bool credReady = false;
  bool acceptWithDefaults = false;
  bool complete = false;
  std::atomic<bool> busy{false};
  std::atomic<bool> disposed{false};
  std::mutex mu;  // held by whoever uses the handles below

  gss_OID mech() const { return spnego ? &kSpnegoOid : &kKrb5Oid; }

  // Frees every handle. Caller holds mu (or is the destructor).
  void Release() {
    if (!lib) return;
    OM_uint32 minor = 0;
    if (ctx != GSS_C_NO_CONTEXT) lib->delete_sec_context(&minor, &ctx, GSS_C_NO_BUFFER);
    if (cred != GSS_C_NO_CREDENTIAL) lib->release_cred(&minor, &cred);
    if (delegated != GSS_C_NO_CREDENTIAL) lib->release_cred(&minor, &delegated);
    if (targetName != GSS_C_NO_NAME) lib->release_name(&minor, &targetName);
    if (!memCcache.empty() && lib->hasKrb5() && lib->krb5_cc_destroy) {
      krb5_context k = nullptr;
      if (lib->krb5_init_context(&k) == 0) {
        krb5_ccache cc = nullptr;
        if (lib->krb5_cc_resolve(k, memCcache.c_str(), &cc) == 0) lib->krb5_cc_destroy(k, cc);
        lib->krb5_free_context(k);
      }
      memCcache.clear();
    }
    Wipe(password);
  }
  ~CtxState() { Release(); }

  CallStatus ImportName(const std::string& s, gss_OID type, gss_name_t* out) {
    OM_uint32 minor = 0;
    gss_buffer_desc b{s.size(), const_cast<char*>(s.data())};
    return Status(*lib, "gss_import_name", lib->import_name(&minor, &b, type, out), minor);
  }

  // Heimdal has no gss_acquire_cred_from: name the ccache or keytab through gss_krb5_import_cred.
  CallStatus ImportKrb5Cred(const std::string& ccacheName, const std::string& keytabName, const std::string& princ) {
    if (!lib->hasKrb5() || !lib->krb5_import_cred)
      return UsageFailure("gss_krb5_import_cred", lib->path + " has neither gss_acquire_cred_from nor gss_krb5_import_cred: cannot name a ccache or keytab");
    krb5_context k = nullptr;
    if (lib->krb5_init_context(&k) != 0) return UsageFailure("krb5_init_context", "cannot initialize a krb5 context");
    krb5_ccache cc = nullptr;
    krb5_keytab kt = nullptr;
    krb5_principal p = nullptr;
    CallStatus st;
    if (!ccacheName.empty() && lib->krb5_cc_resolve(k, ccacheName.c_str(), &cc) != 0) st = UsageFailure("krb5_cc_resolve", "cannot resolve ccache " + ccacheName);
    if (!st.failed() && !keytabName.empty() && lib->krb5_kt_resolve(k, keytabName.c_str(), &kt) != 0) st = UsageFailure("krb5_kt_resolve", "cannot resolve keytab " + keytabName);
    if (!st.failed() && !princ.empty() && lib->krb5_parse_name(k, princ.c_str(), &p) != 0) st = UsageFailure("krb5_parse_name", "cannot parse principal " + princ);
    if (!st.failed()) {
      OM_uint32 minor = 0;
      st = Status(*lib, "gss_krb5_import_cred", lib->krb5_import_cred(&minor, cc, p, kt, &cred), minor);
    }
    if (p) lib->krb5_free_principal(k, p);
    if (kt) lib->krb5_kt_close(k, kt);
    if (cc) lib->krb5_cc_close(k, cc);
    lib->krb5_free_context(k);
    return st;
  }

  // Heimdal's SPNEGO wants a credential acquired for SPNEGO itself (a krb5 credential from
  // gss_krb5_import_cred is refused with GSS_S_NO_CRED / GSS_S_BAD_MECH), and Heimdal has no
  // cred store: point its defaults at the ccache (per thread) or keytab (process-wide, under a
  // lock) and acquire through them.
  CallStatus AcquireThroughDefaults(gss_name_t name, gss_OID_set mechs) {
    std::lock_guard<std::mutex> lock(g_defaultsMu);
    OM_uint32 minor = 0;
    if (initiator) {
      if (!lib->krb5_ccache_name) return UsageFailure("gss_krb5_ccache_name", lib->path + " has no gss_krb5_ccache_name");
      // What to restore afterwards: the thread's previous name, else the environment's default.
      std::string previous;
      if (lib->hasKrb5() && lib->krb5_cc_default_name) {
        krb5_context k = nullptr;
        if (lib->krb5_init_context(&k) == 0) {
          const char* d = lib->krb5_cc_default_name(k);
          previous = d ? d : "";
          lib->krb5_free_context(k);
        }
      }
      const char* old = nullptr;
      CallStatus st = Status(*lib, "gss_krb5_ccache_name", lib->krb5_ccache_name(&minor, ccache.c_str(), &old), minor);
      if (st.failed()) return st;
      if (old && *old) previous = old;
      st = Status(*lib, "gss_acquire_cred", lib->acquire_cred(&minor, name, GSS_C_INDEFINITE, mechs, GSS_C_INITIATE, &cred, nullptr, nullptr), minor);
      if (!previous.empty()) lib->krb5_ccache_name(&minor, previous.c_str(), nullptr);
      return st;
    }
    // Acceptor: Heimdal's SPNEGO acceptor credential leaks ~2 KiB per gss_acquire_cred (seen
    // under valgrind, scripts/valgrind.sh), so the acceptor runs with GSS_C_NO_CREDENTIAL and the
    // keytab registered as the default identity around each accept (AcceptWithDefaults).
    if (!lib->register_acceptor_identity) return UsageFailure("krb5_gss_register_acceptor_identity", lib->path + " cannot name a keytab");
    if (!principal.empty()) return UsageFailure("gss_acquire_cred", "with " + lib->flavor + ", an SPNEGO acceptor takes any principal of its keytab: leave `principal` unset or use mech 'kerberos'");
    acceptWithDefaults = true;
    return CallStatus{};
  }

  // accept_sec_context with this acceptor's keytab as the library's default identity (see above).
  OM_uint32 AcceptWithDefaults(OM_uint32* minor, gss_buffer_t in, gss_channel_bindings_t cb, gss_buffer_t out, OM_uint32* retFlags,
                               OM_uint32* timeRec, gss_cred_id_t* deleg) {
    std::lock_guard<std::mutex> lock(g_defaultsMu);
    if (lib->register_acceptor_identity(keytab.c_str()) != 0) {
      *minor = 0;
      return 7u << 16;  // GSS_S_NO_CRED
    }
    return lib->accept_sec_context(minor, &ctx, GSS_C_NO_CREDENTIAL, in, cb, nullptr, nullptr, out, retFlags, timeRec, deleg);
  }

  // An initiator credential from the ccache named by `ccache`.
  CallStatus AcquireFromCcache(gss_name_t name, gss_OID_set mechs) {
    OM_uint32 minor = 0;
    if (lib->acquire_cred_from) {
      gss_key_value_element_desc el[1] = {{"ccache", ccache.c_str()}};
      gss_key_value_set_desc store{1, el};
      return Status(*lib, "gss_acquire_cred_from",
                    lib->acquire_cred_from(&minor, name, GSS_C_INDEFINITE, mechs, GSS_C_INITIATE, &store, &cred, nullptr, nullptr), minor);
    }
    if (spnego) return AcquireThroughDefaults(name, mechs);
    return ImportKrb5Cred(ccache, "", "");
  }

  // Copies a krb5 credential's tickets into a fresh MEMORY ccache (memCcache).
  CallStatus CopyToMemoryCcache(gss_cred_id_t c) {
    if (!lib->hasKrb5() || !lib->krb5_copy_ccache) return UsageFailure("gss_krb5_copy_ccache", lib->path + " cannot copy credentials");
    memCcache = "MEMORY:spnego-" + std::to_string(reinterpret_cast<uintptr_t>(this));
    krb5_context k = nullptr;
    if (lib->krb5_init_context(&k) != 0) return UsageFailure("krb5_init_context", "cannot initialize a krb5 context");
    krb5_ccache cc = nullptr;
    CallStatus st;
    if (lib->krb5_cc_resolve(k, memCcache.c_str(), &cc) != 0) {
      st = UsageFailure("krb5_cc_resolve", "cannot make a MEMORY ccache");
    } else {
      OM_uint32 minor = 0;
      st = Status(*lib, "gss_krb5_copy_ccache", lib->krb5_copy_ccache(&minor, c, cc), minor);
      lib->krb5_cc_close(k, cc);
    }
    lib->krb5_free_context(k);
    return st;
  }

  // Runs on the pool: may talk to the KDC (password, client keytab) or read files.
  CallStatus AcquireCred() {
    OM_uint32 minor = 0;
    gss_OID_desc mechs[1] = {*mech()};
    gss_OID_set_desc mechSet{1, mechs};
    gss_name_t name = GSS_C_NO_NAME;
    CallStatus st;
    if (!principal.empty()) {
      st = ImportName(principal, &kNtKrb5Principal, &name);
      if (st.failed()) return st;
    }
    const gss_cred_usage_t usage = initiator ? GSS_C_INITIATE : GSS_C_ACCEPT;
    if (initiator && !password.empty()) {
      if (!lib->acquire_cred_with_password) {
        st = UsageFailure("gss_acquire_cred_with_password", lib->path + " has no gss_acquire_cred_with_password");
      } else if (lib->acquire_cred_from || !spnego) {
        gss_buffer_desc pw{password.size(), &password[0]};
        st = Status(*lib, "gss_acquire_cred_with_password",
                    lib->acquire_cred_with_password(&minor, name, &pw, GSS_C_INDEFINITE, &mechSet, usage, &cred, nullptr, nullptr), minor);
        // MIT's mechglue drops the minor status when no mechanism succeeds; ask the krb5 mechanism
        // alone (gss_add_cred_with_password) for the real reason (wrong password, unknown client...).
        if (st.failed() && st.minor == 0 && lib->add_cred_with_password) {
          gss_cred_id_t probe = GSS_C_NO_CREDENTIAL;
          CallStatus why = Status(*lib, "gss_acquire_cred_with_password",
                                 lib->add_cred_with_password(&minor, GSS_C_NO_CREDENTIAL, name, &kKrb5Oid, &pw, usage, GSS_C_INDEFINITE, 0, &probe, nullptr, nullptr, nullptr), minor);
          if (probe != GSS_C_NO_CREDENTIAL) lib->release_cred(&minor, &probe);
          if (why.failed()) st = why;
        }
      } else {
        // Heimdal's SPNEGO takes no password credential: get the tickets for krb5, copy them to
        // a MEMORY ccache (destroyed with this context), and acquire SPNEGO's credential from it.
        gss_OID_desc krb5[1] = {kKrb5Oid};
        gss_OID_set_desc krb5Set{1, krb5};
        gss_buffer_desc pw{password.size(), &password[0]};
        gss_cred_id_t krb5Cred = GSS_C_NO_CREDENTIAL;
        st = Status(*lib, "gss_acquire_cred_with_password",
                    lib->acquire_cred_with_password(&minor, name, &pw, GSS_C_INDEFINITE, &krb5Set, usage, &krb5Cred, nullptr, nullptr), minor);
        if (!st.failed()) st = CopyToMemoryCcache(krb5Cred);
        if (krb5Cred != GSS_C_NO_CREDENTIAL) lib->release_cred(&minor, &krb5Cred);
        if (!st.failed()) {
          ccache = memCcache;
          st = AcquireFromCcache(name, &mechSet);
        }
      }
      Wipe(password);
    } else if (initiator && !clientKeytab.empty()) {
      if (!lib->acquire_cred_from) {
        st = UsageFailure("gss_acquire_cred_from", lib->flavor + " has no gss_acquire_cred_from: client keytabs need MIT (or kinit -k into a ccache)");
      } else {
        memCcache = "MEMORY:spnego-" + std::to_string(reinterpret_cast<uintptr_t>(this));
        gss_key_value_element_desc el[2] = {{"client_keytab", clientKeytab.c_str()}, {"ccache", memCcache.c_str()}};
        gss_key_value_set_desc store{2, el};
        st = Status(*lib, "gss_acquire_cred_from",
                    lib->acquire_cred_from(&minor, name, GSS_C_INDEFINITE, &mechSet, usage, &store, &cred, nullptr, nullptr), minor);
      }
    } else if (initiator && !ccache.empty()) {
      st = AcquireFromCcache(name, &mechSet);
    } else if (!initiator && !keytab.empty()) {
      if (lib->acquire_cred_from) {
        gss_key_value_element_desc el[1] = {{"keytab", keytab.c_str()}};
        gss_key_value_set_desc store{1, el};
        st = Status(*lib, "gss_acquire_cred_from",
                    lib->acquire_cred_from(&minor, name, GSS_C_INDEFINITE, &mechSet, usage, &store, &cred, nullptr, nullptr), minor);
      } else if (spnego) {
        st = AcquireThroughDefaults(name, &mechSet);
      } else {
        st = ImportKrb5Cred("", keytab, principal);
      }
    } else if (name != GSS_C_NO_NAME) {
      st = Status(*lib, "gss_acquire_cred", lib->acquire_cred(&minor, name, GSS_C_INDEFINITE, &mechSet, usage, &cred, nullptr, nullptr), minor);
    }
    // else: GSS_C_NO_CREDENTIAL, the library's defaults (KRB5CCNAME / KRB5_KTNAME).
    if (name != GSS_C_NO_NAME) lib->release_name(&minor, &name);
    if (!st.failed()) credReady = true;
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

// new GssContext({ library, role, mech, target, targetType, ccache, principal, password, clientKeytab,
//                  keytab, flags, channelBindings, delegatedCcache })
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
  s.ccache = StringOf(o, "ccache");
  s.principal = StringOf(o, "principal");
  s.password = StringOf(o, "password");
  s.clientKeytab = StringOf(o, "clientKeytab");
  s.keytab = StringOf(o, "keytab");
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
        if (!s->credReady) {
          r.status = s->AcquireCred();
          if (r.status.failed()) return r;
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
          major = lib.init_sec_context(&minor, s->cred, &s->ctx, s->targetName, s->mech(), s->reqFlags, 0, bindings,
                                       input.empty() ? GSS_C_NO_BUFFER : &in, nullptr, &out, &retFlags, &timeRec);
          r.status = Status(lib, "gss_init_sec_context", major, minor);
        } else {
          gss_cred_id_t deleg = GSS_C_NO_CREDENTIAL;
          major = s->acceptWithDefaults ? s->AcceptWithDefaults(&minor, &in, bindings, &out, &retFlags, &timeRec, &deleg)
                                        : lib.accept_sec_context(&minor, &s->ctx, s->cred, &in, bindings, nullptr, nullptr, &out, &retFlags, &timeRec, &deleg);
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
  CallStatus st = Status(lib, "gss_inquire_context", lib.inquire_context(&minor, s.ctx, &src, &targ, &lifetime, &mech, &flags, &local, &open), minor);
  if (st.failed()) return ThrowStatus(env, st);
  Napi::Object out = Napi::Object::New(env);
  auto name = [&](gss_name_t n, const char* key) {
    if (n == GSS_C_NO_NAME) return;
    gss_buffer_desc b{0, nullptr};
    OM_uint32 m = 0;
    if (!GSS_ERROR(lib.display_name(&m, n, &b, nullptr))) {
      auto v = Take(lib, &b);
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
