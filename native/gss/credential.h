// GssCredential: a GSS-API credential (RFC 2743 2.1.1 gss_acquire_cred) acquired once on the pool
// and used by many GssContexts. Its handles live in CredState, shared (shared_ptr) by the JS object
// and every context made from it: a credential disposed while contexts are in flight stays alive
// until the last of them ends. A context given no credential acquires a transient one through the
// same AcquireCredential, so there is one acquisition path.
#pragma once
#include <napi.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "../bridge.h"
#include "../credential_wrap.h"
#include "loader.h"

namespace spnego {

// Serializes changes to a library's process-wide defaults (Heimdal's acceptor identity and
// default ccache name), which stand in for the credential store Heimdal lacks.
extern std::mutex g_defaultsMu;

// Which mechanisms a credential is acquired for: the library's SPNEGO, raw krb5 (also what runs
// under our own SPNEGO), or both (a credential object serves contexts of either kind).
constexpr unsigned kMechSpnego = 1, kMechKrb5 = 2;

struct CredRequest {
  bool initiator = true;
  unsigned mechs = kMechSpnego | kMechKrb5;
  // Refuse the weak enctypes of RFC 8429 (rc4-hmac, des3) in the library (allowWeakCrypto off).
  bool restrictEnctypes = false;
  std::string ccache, principal, password, clientKeytab, keytab;
};

struct CredState {
  std::shared_ptr<const GssLib> lib;
  bool initiator = true;
  unsigned mechs = 0;
  gss_cred_id_t cred = GSS_C_NO_CREDENTIAL;        // every mechanism acquired (MIT: a union credential)
  gss_cred_id_t spnegoCred = GSS_C_NO_CREDENTIAL;  // Heimdal: the SPNEGO initiator's own credential
  bool acceptWithDefaults = false;                 // Heimdal SPNEGO acceptor: the keytab as default identity
  std::string keytab;                              // ... that keytab
  std::string spnegoError;                         // why it cannot serve the library's SPNEGO (Heimdal)
  std::string memCcache;                           // a MEMORY ccache it owns, destroyed with it
  std::string principal;                           // the initiator's name (gss_inquire_cred) or the acceptor's restriction
  uint32_t lifetime = 0xffffffffu;                 // seconds left at acquisition (GSS_C_INDEFINITE: unknown)
  bool enctypesRestricted = false;                 // gss_krb5_set_allowable_enctypes applied

  CredState() = default;
  CredState(const CredState&) = delete;
  CredState& operator=(const CredState&) = delete;
  ~CredState();

  // The handle for a context of this mechanism (GSS_C_NO_CREDENTIAL: the library's defaults).
  gss_cred_id_t For(bool spnego) const { return spnego && spnegoCred != GSS_C_NO_CREDENTIAL ? spnegoCred : cred; }
  // accept_sec_context with the keytab as the library's default identity, under g_defaultsMu.
  OM_uint32 AcceptWithDefaults(OM_uint32* minor, gss_ctx_id_t* ctx, gss_buffer_t in, gss_channel_bindings_t cb, gss_buffer_t out,
                               OM_uint32* retFlags, OM_uint32* timeRec, gss_cred_id_t* deleg) const;
};

// Acquires what `r` asks for into `c` (c.lib set). Runs on the pool: it may read files and talk to
// the KDC. Wipes r.password.
CallStatus AcquireCredential(CredState& c, CredRequest& r);

// The JS credential (credential_wrap.h): acquireCredential() runs AcquireCredential on the pool.
class GssCredential : public CredentialWrap<GssCredential, CredState> {
 public:
  using CredentialWrap::CredentialWrap;

 private:
  friend class CredentialWrap<GssCredential, CredState>;
  static Napi::Value AcquireFrom(Napi::Env env, const Napi::Object& o);
  static void MoreInfo(Napi::Env env, const CredState& s, Napi::Object& out);
};

}  // namespace spnego
