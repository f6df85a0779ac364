// GssCredential and the one credential acquisition of the GSSAPI half (see credential.h).
#include "credential.h"

#include <string>
#include <vector>

#include "gss_util.h"

namespace spnego {

std::mutex g_defaultsMu;

namespace {

// allowWeakCrypto off: MIT's default enctype list in its order (aes-sha1 RFC 3962, aes-sha2
// RFC 8009, camellia RFC 6803) without des3 (16) and rc4-hmac (23, RFC 4757), deprecated by
// RFC 8429. Heimdal 7 knows only aes-sha1.
const int32_t kStrongMit[] = {18, 17, 20, 19, 26, 25};
const int32_t kStrongHeimdal[] = {18, 17};

CallStatus ImportName(const GssLib& lib, const std::string& s, gss_OID type, gss_name_t* out) {
  OM_uint32 minor = 0;
  gss_buffer_desc b{s.size(), const_cast<char*>(s.data())};
  return Status(lib, "gss_import_name", lib.import_name(&minor, &b, type, out), minor);
}

// Heimdal has no gss_acquire_cred_from: name the ccache or keytab through gss_krb5_import_cred.
CallStatus ImportKrb5Cred(const GssLib& lib, const std::string& ccacheName, const std::string& keytabName, const std::string& princ,
                          gss_cred_id_t* out) {
  if (!lib.hasKrb5() || !lib.krb5_import_cred)
    return UsageFailure("gss_krb5_import_cred", lib.path + " has neither gss_acquire_cred_from nor gss_krb5_import_cred: cannot name a ccache or keytab");
  krb5_context k = nullptr;
  if (lib.krb5_init_context(&k) != 0) return UsageFailure("krb5_init_context", "cannot initialize a krb5 context");
  krb5_ccache cc = nullptr;
  krb5_keytab kt = nullptr;
  krb5_principal p = nullptr;
  CallStatus st;
  if (!ccacheName.empty() && lib.krb5_cc_resolve(k, ccacheName.c_str(), &cc) != 0) st = UsageFailure("krb5_cc_resolve", "cannot resolve ccache " + ccacheName);
  if (!st.failed() && !keytabName.empty() && lib.krb5_kt_resolve(k, keytabName.c_str(), &kt) != 0) st = UsageFailure("krb5_kt_resolve", "cannot resolve keytab " + keytabName);
  if (!st.failed() && !princ.empty() && lib.krb5_parse_name(k, princ.c_str(), &p) != 0) st = UsageFailure("krb5_parse_name", "cannot parse principal " + princ);
  if (!st.failed()) {
    OM_uint32 minor = 0;
    st = Status(lib, "gss_krb5_import_cred", lib.krb5_import_cred(&minor, cc, p, kt, out), minor);
  }
  if (p) lib.krb5_free_principal(k, p);
  if (kt) lib.krb5_kt_close(k, kt);
  if (cc) lib.krb5_cc_close(k, cc);
  lib.krb5_free_context(k);
  return st;
}

// Heimdal's SPNEGO wants a credential acquired for SPNEGO itself (a krb5 credential from
// gss_krb5_import_cred is refused with GSS_S_NO_CRED / GSS_S_BAD_MECH), and Heimdal has no cred
// store: point the thread's default ccache at `ccache` under the lock and acquire through it.
CallStatus AcquireSpnegoThroughDefaults(const GssLib& lib, const std::string& ccache, gss_name_t name, gss_cred_id_t* out) {
  std::lock_guard<std::mutex> lock(g_defaultsMu);
  OM_uint32 minor = 0;
  if (!lib.krb5_ccache_name) return UsageFailure("gss_krb5_ccache_name", lib.path + " has no gss_krb5_ccache_name");
  // What to restore afterwards: the thread's previous name, else the environment's default.
  std::string previous;
  if (lib.hasKrb5() && lib.krb5_cc_default_name) {
    krb5_context k = nullptr;
    if (lib.krb5_init_context(&k) == 0) {
      const char* d = lib.krb5_cc_default_name(k);
      previous = d ? d : "";
      lib.krb5_free_context(k);
    }
  }
  const char* old = nullptr;
  CallStatus st = Status(lib, "gss_krb5_ccache_name", lib.krb5_ccache_name(&minor, ccache.c_str(), &old), minor);
  if (st.failed()) return st;
  if (old && *old) previous = old;
  gss_OID_desc spnego[1] = {kSpnegoOid};
  gss_OID_set_desc set{1, spnego};
  st = Status(lib, "gss_acquire_cred", lib.acquire_cred(&minor, name, GSS_C_INDEFINITE, &set, GSS_C_INITIATE, out, nullptr, nullptr), minor);
  if (!previous.empty()) lib.krb5_ccache_name(&minor, previous.c_str(), nullptr);
  return st;
}

// Copies a krb5 credential's tickets into the credential's own MEMORY ccache.
CallStatus CopyToMemoryCcache(CredState& c, gss_cred_id_t from) {
  const GssLib& lib = *c.lib;
  if (!lib.hasKrb5() || !lib.krb5_copy_ccache) return UsageFailure("gss_krb5_copy_ccache", lib.path + " cannot copy credentials");
  c.memCcache = "MEMORY:spnego-" + std::to_string(reinterpret_cast<uintptr_t>(&c));
  krb5_context k = nullptr;
  if (lib.krb5_init_context(&k) != 0) return UsageFailure("krb5_init_context", "cannot initialize a krb5 context");
  krb5_ccache cc = nullptr;
  CallStatus st;
  if (lib.krb5_cc_resolve(k, c.memCcache.c_str(), &cc) != 0) {
    st = UsageFailure("krb5_cc_resolve", "cannot make a MEMORY ccache");
  } else {
    OM_uint32 minor = 0;
    st = Status(lib, "gss_krb5_copy_ccache", lib.krb5_copy_ccache(&minor, from, cc), minor);
    lib.krb5_cc_close(k, cc);
  }
  lib.krb5_free_context(k);
  return st;
}

// MIT: gss_acquire_cred_with_password for the mechanisms asked for. MIT's mechglue drops the minor
// status when no mechanism succeeds; ask the krb5 mechanism alone (gss_add_cred_with_password) for
// the real reason (wrong password, unknown client...).
CallStatus AcquireWithPassword(const GssLib& lib, gss_name_t name, std::string& password, gss_OID_set mechs, gss_cred_id_t* out) {
  if (!lib.acquire_cred_with_password) return UsageFailure("gss_acquire_cred_with_password", lib.path + " has no gss_acquire_cred_with_password");
  OM_uint32 minor = 0;
  gss_buffer_desc pw{password.size(), password.empty() ? nullptr : &password[0]};
  CallStatus st = Status(lib, "gss_acquire_cred_with_password",
                         lib.acquire_cred_with_password(&minor, name, &pw, GSS_C_INDEFINITE, mechs, GSS_C_INITIATE, out, nullptr, nullptr), minor);
  if (st.failed() && st.minor == 0 && lib.add_cred_with_password) {
    gss_cred_id_t probe = GSS_C_NO_CREDENTIAL;
    CallStatus why = Status(lib, "gss_acquire_cred_with_password",
                            lib.add_cred_with_password(&minor, GSS_C_NO_CREDENTIAL, name, &kKrb5Oid, &pw, GSS_C_INITIATE, GSS_C_INDEFINITE, 0, &probe, nullptr, nullptr, nullptr), minor);
    if (probe != GSS_C_NO_CREDENTIAL) lib.release_cred(&minor, &probe);
    if (why.failed()) st = why;
  }
  return st;
}

// With acquire_cred_from (MIT, RFC 7546 cred store): one union credential for every mechanism.
CallStatus AcquireMit(CredState& c, CredRequest& r, gss_name_t name, gss_OID_set mechs) {
  const GssLib& lib = *c.lib;
  OM_uint32 minor = 0;
  const gss_cred_usage_t usage = r.initiator ? GSS_C_INITIATE : GSS_C_ACCEPT;
  std::vector<gss_key_value_element_desc> el;
  if (r.initiator && !r.password.empty()) return AcquireWithPassword(lib, name, r.password, mechs, &c.cred);
  if (r.initiator && !r.clientKeytab.empty()) {
    c.memCcache = "MEMORY:spnego-" + std::to_string(reinterpret_cast<uintptr_t>(&c));
    el.push_back({"client_keytab", r.clientKeytab.c_str()});
    el.push_back({"ccache", c.memCcache.c_str()});
  } else if (r.initiator && !r.ccache.empty()) {
    el.push_back({"ccache", r.ccache.c_str()});
  } else if (!r.initiator && !r.keytab.empty()) {
    el.push_back({"keytab", r.keytab.c_str()});
  }
  if (el.empty()) {
    // The defaults (KRB5CCNAME / KRB5_KTNAME), resolved now: the credential keeps what they named.
    return Status(lib, "gss_acquire_cred", lib.acquire_cred(&minor, name, GSS_C_INDEFINITE, mechs, usage, &c.cred, nullptr, nullptr), minor);
  }
  gss_key_value_set_desc store{static_cast<OM_uint32>(el.size()), el.data()};
  return Status(lib, "gss_acquire_cred_from", lib.acquire_cred_from(&minor, name, GSS_C_INDEFINITE, mechs, usage, &store, &c.cred, nullptr, nullptr), minor);
}

// Without a cred store (Heimdal): krb5 through gss_krb5_import_cred, SPNEGO through the defaults.
CallStatus AcquireHeimdal(CredState& c, CredRequest& r, gss_name_t name, gss_OID_set mechs) {
  const GssLib& lib = *c.lib;
  OM_uint32 minor = 0;
  const bool wantSpnego = (r.mechs & kMechSpnego) != 0, wantKrb5 = (r.mechs & kMechKrb5) != 0;
  if (r.initiator && !r.password.empty()) {
    // Heimdal's SPNEGO takes no password credential: get the krb5 tickets, copy them to a MEMORY
    // ccache (destroyed with the credential) and acquire SPNEGO's credential from it.
    gss_OID_desc krb5[1] = {kKrb5Oid};
    gss_OID_set_desc krb5Set{1, krb5};
    gss_cred_id_t krb5Cred = GSS_C_NO_CREDENTIAL;
    CallStatus st = AcquireWithPassword(lib, name, r.password, &krb5Set, &krb5Cred);
    if (!st.failed() && wantSpnego) {
      st = CopyToMemoryCcache(c, krb5Cred);
      if (!st.failed()) st = AcquireSpnegoThroughDefaults(lib, c.memCcache, name, &c.spnegoCred);
    }
    if (!st.failed() && wantKrb5) {
      c.cred = krb5Cred;
    } else if (krb5Cred != GSS_C_NO_CREDENTIAL) {
      lib.release_cred(&minor, &krb5Cred);
    }
    return st;
  }
  if (r.initiator && !r.clientKeytab.empty())
    return UsageFailure("gss_acquire_cred_from", lib.flavor + " has no gss_acquire_cred_from: client keytabs need MIT (or kinit -k into a ccache)");
  if (r.initiator && !r.ccache.empty()) {
    CallStatus st;
    if (wantSpnego) st = AcquireSpnegoThroughDefaults(lib, r.ccache, name, &c.spnegoCred);
    if (!st.failed() && wantKrb5) st = ImportKrb5Cred(lib, r.ccache, "", "", &c.cred);
    return st;
  }
  if (!r.initiator && !r.keytab.empty()) {
    CallStatus st;
    if (wantKrb5) st = ImportKrb5Cred(lib, "", r.keytab, r.principal, &c.cred);
    if (wantSpnego) {
      // Heimdal's SPNEGO acceptor credential leaks ~2 KiB per gss_acquire_cred (seen under
      // valgrind, scripts/valgrind.sh): accept with GSS_C_NO_CREDENTIAL and the keytab registered
      // as the default identity around each accept (AcceptWithDefaults).
      if (!lib.register_acceptor_identity) {
        c.spnegoError = lib.path + " cannot name a keytab for its SPNEGO acceptor";
      } else if (!r.principal.empty()) {
        c.spnegoError = "with " + lib.flavor + ", an SPNEGO acceptor takes any principal of its keytab: leave `principal` unset or use mech 'kerberos'";
      } else {
        c.acceptWithDefaults = true;
        c.keytab = r.keytab;
      }
      if (!wantKrb5 && !c.spnegoError.empty()) return UsageFailure("gss_acquire_cred", c.spnegoError);
    }
    return st;
  }
  if (name != GSS_C_NO_NAME) {
    return Status(lib, "gss_acquire_cred",
                  lib.acquire_cred(&minor, name, GSS_C_INDEFINITE, mechs, r.initiator ? GSS_C_INITIATE : GSS_C_ACCEPT, &c.cred, nullptr, nullptr), minor);
  }
  return CallStatus{};  // GSS_C_NO_CREDENTIAL: the library's defaults (KRB5CCNAME / KRB5_KTNAME) at each use
}

}  // namespace

CredState::~CredState() {
  if (!lib) return;
  OM_uint32 minor = 0;
  if (cred != GSS_C_NO_CREDENTIAL) lib->release_cred(&minor, &cred);
  if (spnegoCred != GSS_C_NO_CREDENTIAL) lib->release_cred(&minor, &spnegoCred);
  if (!memCcache.empty() && lib->hasKrb5() && lib->krb5_cc_destroy) {
    krb5_context k = nullptr;
    if (lib->krb5_init_context(&k) == 0) {
      krb5_ccache cc = nullptr;
      if (lib->krb5_cc_resolve(k, memCcache.c_str(), &cc) == 0) lib->krb5_cc_destroy(k, cc);
      lib->krb5_free_context(k);
    }
  }
}

OM_uint32 CredState::AcceptWithDefaults(OM_uint32* minor, gss_ctx_id_t* ctx, gss_buffer_t in, gss_channel_bindings_t cb, gss_buffer_t out,
                                        OM_uint32* retFlags, OM_uint32* timeRec, gss_cred_id_t* deleg) const {
  std::lock_guard<std::mutex> lock(g_defaultsMu);
  if (lib->register_acceptor_identity(keytab.c_str()) != 0) {
    *minor = 0;
    return 7u << 16;  // GSS_S_NO_CRED
  }
  return lib->accept_sec_context(minor, ctx, GSS_C_NO_CREDENTIAL, in, cb, nullptr, nullptr, out, retFlags, timeRec, deleg);
}

CallStatus AcquireCredential(CredState& c, CredRequest& r) {
  const GssLib& lib = *c.lib;
  c.initiator = r.initiator;
  c.mechs = r.mechs;
  OM_uint32 minor = 0;
  std::vector<gss_OID_desc> oids;
  if (r.mechs & kMechSpnego) oids.push_back(kSpnegoOid);
  if (r.mechs & kMechKrb5) oids.push_back(kKrb5Oid);
  gss_OID_set_desc mechSet{oids.size(), oids.data()};
  gss_name_t name = GSS_C_NO_NAME;
  CallStatus st;
  // 'DOMAIN\\user' is an NTLM name (gss-ntlmssp takes it as GSS_C_NT_USER_NAME, not as a Kerberos principal).
  if (!r.principal.empty()) st = ImportName(lib, r.principal, r.principal.find('\\') != std::string::npos ? &kNtUserName : &kNtKrb5Principal, &name);
  if (!st.failed()) st = lib.acquire_cred_from ? AcquireMit(c, r, name, &mechSet) : AcquireHeimdal(c, r, name, &mechSet);
  Wipe(r.password);
  if (name != GSS_C_NO_NAME) lib.release_name(&minor, &name);
  if (st.failed()) return st;
  // RFC 8429: without allowWeakCrypto the library may not use rc4-hmac or des3, for tickets,
  // session keys and acceptor subkeys alike.
  if (r.restrictEnctypes && lib.krb5_set_allowable_enctypes) {
    const bool mit = lib.flavor == "MIT";
    const int32_t* list = mit ? kStrongMit : kStrongHeimdal;
    OM_uint32 n = mit ? sizeof kStrongMit / sizeof kStrongMit[0] : sizeof kStrongHeimdal / sizeof kStrongHeimdal[0];
    for (gss_cred_id_t h : {c.cred, c.spnegoCred}) {
      if (h == GSS_C_NO_CREDENTIAL) continue;
      st = Status(lib, "gss_krb5_set_allowable_enctypes", lib.krb5_set_allowable_enctypes(&minor, h, n, const_cast<int32_t*>(list)), minor);
      // MIT's mechglue answers GSS_S_UNAVAILABLE when no element of the (union) credential took the
      // option: it holds no Kerberos element (an SPNEGO credential of gss-ntlmssp alone), so there is
      // no Kerberos enctype to restrict. MIT's krb5 mechanism always takes it.
      if (st.failed() && mit && (st.major & 0xffff0000u) == (16u << 16)) {
        st = CallStatus{};
        continue;
      }
      if (st.failed()) return st;
      c.enctypesRestricted = true;
    }
  }
  // RFC 2743 2.1.4 gss_inquire_cred: the initiator's name and the time left.
  gss_cred_id_t h = c.cred != GSS_C_NO_CREDENTIAL ? c.cred : c.spnegoCred;
  if (!r.initiator) {
    c.principal = r.principal;
  } else if (h != GSS_C_NO_CREDENTIAL && lib.inquire_cred) {
    gss_name_t n = GSS_C_NO_NAME;
    OM_uint32 lifetime = 0;
    if (!GSS_ERROR(lib.inquire_cred(&minor, h, &n, &lifetime, nullptr, nullptr))) {
      c.lifetime = lifetime;
      if (n != GSS_C_NO_NAME) {
        gss_buffer_desc b{0, nullptr};
        if (!GSS_ERROR(lib.display_name(&minor, n, &b, nullptr))) {
          auto v = Take(lib, &b);
          c.principal.assign(v.begin(), v.end());
        }
        lib.release_name(&minor, &n);
      }
    }
  }
  return CallStatus{};
}

// acquireCredential({ library, usage: 'initiate'|'accept', ccache, principal, password, clientKeytab,
//                     keytab, allowWeakCrypto }): Promise<GssCredential>
Napi::Value GssCredential::AcquireFrom(Napi::Env env, const Napi::Object& o) {
  std::string error;
  auto lib = LoadGssLib(StringOf(o, "library"), &error);
  if (!lib) {
    Napi::Error::New(env, error).ThrowAsJavaScriptException();
    return env.Undefined();
  }
  auto req = std::make_shared<CredRequest>();
  req->initiator = StringOf(o, "usage") != "accept";
  req->ccache = StringOf(o, "ccache");
  req->principal = StringOf(o, "principal");
  req->password = StringOf(o, "password");
  req->clientKeytab = StringOf(o, "clientKeytab");
  req->keytab = StringOf(o, "keytab");
  req->restrictEnctypes = !o.Get("allowWeakCrypto").ToBoolean().Value();
  return AcquireAsync(env, [lib, req](CredState& s) {
    s.lib = lib;
    return AcquireCredential(s, *req);
  });
}

// info()'s lifetime (gss_inquire_cred at acquisition) and enctypesRestricted.
void GssCredential::MoreInfo(Napi::Env env, const CredState& s, Napi::Object& out) {
  out.Set("lifetime", Napi::Number::New(env, s.lifetime));
  out.Set("enctypesRestricted", Napi::Boolean::New(env, s.enctypesRestricted));
}

}  // namespace spnego
