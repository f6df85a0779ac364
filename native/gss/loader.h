// Run-time loading of a GSSAPI library (MIT, Heimdal, macOS GSS.framework): nothing Kerberos is
// needed at build time. Each library is dlopen'ed once, RTLD_LOCAL (+ RTLD_DEEPBIND on glibc) so
// that its libkrb5 and OpenSSL resolve against their own dependencies, never against the copies
// of OpenSSL symbols that Node exports.
#pragma once
#include <memory>
#include <string>
#include "gssapi_decl.h"

namespace spnego {

struct GssLib {
  std::string flavor;    // "MIT" | "Heimdal" | "GSS.framework"
  std::string path;      // the name given to dlopen
  std::string realPath;  // the file it resolved to (dladdr)
  std::string version;   // e.g. "1.20.1" (MIT's KRB5_BRAND) or "7.8.0" (heimdal_version)
  void* handle = nullptr;

  // Required: RFC 2744 calls.
  gss_import_name_fn import_name = nullptr;
  gss_release_name_fn release_name = nullptr;
  gss_display_name_fn display_name = nullptr;
  gss_release_buffer_fn release_buffer = nullptr;
  gss_release_cred_fn release_cred = nullptr;
  gss_delete_sec_context_fn delete_sec_context = nullptr;
  gss_display_status_fn display_status = nullptr;
  gss_acquire_cred_fn acquire_cred = nullptr;
  gss_init_sec_context_fn init_sec_context = nullptr;
  gss_accept_sec_context_fn accept_sec_context = nullptr;
  gss_get_mic_fn get_mic = nullptr;
  gss_verify_mic_fn verify_mic = nullptr;
  gss_wrap_fn wrap = nullptr;
  gss_unwrap_fn unwrap = nullptr;
  gss_inquire_context_fn inquire_context = nullptr;

  // Optional: extensions that not every library has (nullptr when absent).
  gss_acquire_cred_from_fn acquire_cred_from = nullptr;            // RFC 7546 cred store (MIT)
  gss_acquire_cred_with_password_fn acquire_cred_with_password = nullptr;
  gss_add_cred_with_password_fn add_cred_with_password = nullptr;
  gss_get_name_attribute_fn get_name_attribute = nullptr;  // RFC 6680 (the PAC as "urn:mspac:")
  gss_inquire_sec_context_by_oid_fn inquire_sec_context_by_oid = nullptr;
  gss_release_buffer_set_fn release_buffer_set = nullptr;
  gss_store_cred_into_fn store_cred_into = nullptr;                // MIT
  gss_krb5_import_cred_fn krb5_import_cred = nullptr;              // MIT and Heimdal
  gss_inquire_cred_fn inquire_cred = nullptr;                      // RFC 2744 5.21
  gss_krb5_set_allowable_enctypes_fn krb5_set_allowable_enctypes = nullptr;  // MIT and Heimdal
  gss_krb5_copy_ccache_fn krb5_copy_ccache = nullptr;
  krb5_init_context_fn krb5_init_context = nullptr;
  krb5_free_context_fn krb5_free_context = nullptr;
  krb5_cc_resolve_fn krb5_cc_resolve = nullptr;
  krb5_cc_close_fn krb5_cc_close = nullptr;
  krb5_cc_destroy_fn krb5_cc_destroy = nullptr;
  krb5_kt_resolve_fn krb5_kt_resolve = nullptr;
  krb5_kt_close_fn krb5_kt_close = nullptr;
  krb5_parse_name_fn krb5_parse_name = nullptr;
  krb5_free_principal_fn krb5_free_principal = nullptr;
  krb5_cc_default_name_fn krb5_cc_default_name = nullptr;
  gss_krb5_ccache_name_fn krb5_ccache_name = nullptr;                        // per-thread default ccache
  krb5_gss_register_acceptor_identity_fn register_acceptor_identity = nullptr;  // process-wide default keytab
  gss_OID heimdal_subkey_oid = nullptr;  // Heimdal's GSS_KRB5_GET_SUBKEY_X: key *and* enctype

  bool hasKrb5() const {
    return krb5_init_context && krb5_free_context && krb5_cc_resolve && krb5_cc_close && krb5_kt_resolve &&
           krb5_kt_close && krb5_parse_name && krb5_free_principal;
  }
};

// "mit" | "heimdal" | "gss.framework" | a path; "" means env SPNEGO_GSSAPI_LIBRARY, then the platform
// default. Returns nullptr and sets *error when the library cannot be loaded or lacks a required call.
// Loaded libraries are kept for the life of the process (never dlclose'd: their atexit handlers).
std::shared_ptr<const GssLib> LoadGssLib(const std::string& spec, std::string* error);

}  // namespace spnego
