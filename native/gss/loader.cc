#include "loader.h"

#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <map>
#include <mutex>

namespace spnego {
namespace {

std::mutex g_mu;
std::map<std::string, std::shared_ptr<const GssLib>> g_libs;

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// MIT has no version call; its libkrb5 carries "KRB5_BRAND: krb5-1.20.1-final 1.20.1 20221111".
std::string MitVersionFromFile(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return "";
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string tag = "KRB5_BRAND: ";
  auto at = data.find(tag);
  if (at == std::string::npos) return "";
  auto line = data.substr(at + tag.size(), 80);
  line = line.substr(0, line.find('\0'));
  // "krb5-1.20.1-final 1.20.1 20221111": the second word is the release.
  auto sp = line.find(' ');
  if (sp == std::string::npos) return line;
  auto rest = line.substr(sp + 1);
  return rest.substr(0, rest.find(' '));
}

std::string FileOf(void* symbol) {
  Dl_info info;
  if (symbol && dladdr(symbol, &info) && info.dli_fname) return info.dli_fname;
  return "";
}

template <typename F>
void Sym(void* h, const char* name, F* out) {
  *out = reinterpret_cast<F>(dlsym(h, name));
}

}  // namespace

std::shared_ptr<const GssLib> LoadGssLib(const std::string& specIn, std::string* error) {
  std::string spec = specIn;
  if (spec.empty()) {
    const char* env = std::getenv("SPNEGO_GSSAPI_LIBRARY");
    spec = env && *env ? env : "";
  }
#ifdef __APPLE__
  if (spec.empty()) spec = "gss.framework";
#else
  if (spec.empty()) spec = "mit";
#endif
  std::lock_guard<std::mutex> lock(g_mu);
  auto found = g_libs.find(spec);
  if (found != g_libs.end()) return found->second;

  auto lib = std::make_shared<GssLib>();
  const std::string key = Lower(spec);
  if (key == "mit") {
    lib->path = "libgssapi_krb5.so.2";
  } else if (key == "heimdal") {
    lib->path = "libgssapi.so.3";
  } else if (key == "gss.framework") {
    lib->path = "/System/Library/Frameworks/GSS.framework/GSS";
  } else {
    lib->path = spec;
  }
  int flags = RTLD_NOW | RTLD_LOCAL;
#ifdef RTLD_DEEPBIND
  flags |= RTLD_DEEPBIND;  // glibc: the library's own krb5/OpenSSL first, not Node's exported copies
#endif
  lib->handle = dlopen(lib->path.c_str(), flags);
  if (!lib->handle) {
    const char* why = dlerror();
    *error = std::string("cannot load the GSSAPI library ") + lib->path + ": " + (why ? why : "unknown dlopen error");
    return nullptr;
  }
  void* h = lib->handle;
  Sym(h, "gss_import_name", &lib->import_name);
  Sym(h, "gss_release_name", &lib->release_name);
  Sym(h, "gss_display_name", &lib->display_name);
  Sym(h, "gss_release_buffer", &lib->release_buffer);
  Sym(h, "gss_release_cred", &lib->release_cred);
  Sym(h, "gss_delete_sec_context", &lib->delete_sec_context);
  Sym(h, "gss_display_status", &lib->display_status);
  Sym(h, "gss_acquire_cred", &lib->acquire_cred);
  Sym(h, "gss_init_sec_context", &lib->init_sec_context);
  Sym(h, "gss_accept_sec_context", &lib->accept_sec_context);
  Sym(h, "gss_get_mic", &lib->get_mic);
  Sym(h, "gss_verify_mic", &lib->verify_mic);
  Sym(h, "gss_wrap", &lib->wrap);
  Sym(h, "gss_unwrap", &lib->unwrap);
  Sym(h, "gss_inquire_context", &lib->inquire_context);
  const char* missing = nullptr;
  if (!lib->import_name) missing = "gss_import_name";
  else if (!lib->release_name) missing = "gss_release_name";
  else if (!lib->display_name) missing = "gss_display_name";
  else if (!lib->release_buffer) missing = "gss_release_buffer";
  else if (!lib->release_cred) missing = "gss_release_cred";
  else if (!lib->delete_sec_context) missing = "gss_delete_sec_context";
  else if (!lib->display_status) missing = "gss_display_status";
  else if (!lib->acquire_cred) missing = "gss_acquire_cred";
  else if (!lib->init_sec_context) missing = "gss_init_sec_context";
  else if (!lib->accept_sec_context) missing = "gss_accept_sec_context";
  else if (!lib->get_mic) missing = "gss_get_mic";
  else if (!lib->verify_mic) missing = "gss_verify_mic";
  else if (!lib->wrap) missing = "gss_wrap";
  else if (!lib->unwrap) missing = "gss_unwrap";
  else if (!lib->inquire_context) missing = "gss_inquire_context";
  if (missing) {
    *error = lib->path + " is not a GSSAPI library: it has no " + missing;
    dlclose(h);
    return nullptr;
  }
  Sym(h, "gss_acquire_cred_from", &lib->acquire_cred_from);
  Sym(h, "gss_acquire_cred_with_password", &lib->acquire_cred_with_password);
  Sym(h, "gss_add_cred_with_password", &lib->add_cred_with_password);
  Sym(h, "gss_get_name_attribute", &lib->get_name_attribute);
  Sym(h, "gss_inquire_sec_context_by_oid", &lib->inquire_sec_context_by_oid);
  Sym(h, "gss_release_buffer_set", &lib->release_buffer_set);
  Sym(h, "gss_store_cred_into", &lib->store_cred_into);
  Sym(h, "gss_krb5_import_cred", &lib->krb5_import_cred);
  Sym(h, "gss_krb5_copy_ccache", &lib->krb5_copy_ccache);
  Sym(h, "gss_inquire_cred", &lib->inquire_cred);
  Sym(h, "gss_krb5_set_allowable_enctypes", &lib->krb5_set_allowable_enctypes);
  // dlsym on the handle also searches the library's dependencies: its own libkrb5.
  Sym(h, "krb5_init_context", &lib->krb5_init_context);
  Sym(h, "krb5_free_context", &lib->krb5_free_context);
  Sym(h, "krb5_cc_resolve", &lib->krb5_cc_resolve);
  Sym(h, "krb5_cc_close", &lib->krb5_cc_close);
  Sym(h, "krb5_cc_destroy", &lib->krb5_cc_destroy);
  Sym(h, "krb5_kt_resolve", &lib->krb5_kt_resolve);
  Sym(h, "krb5_kt_close", &lib->krb5_kt_close);
  Sym(h, "krb5_parse_name", &lib->krb5_parse_name);
  Sym(h, "krb5_free_principal", &lib->krb5_free_principal);
  Sym(h, "krb5_cc_default_name", &lib->krb5_cc_default_name);
  Sym(h, "gss_krb5_ccache_name", &lib->krb5_ccache_name);
  Sym(h, "krb5_gss_register_acceptor_identity", &lib->register_acceptor_identity);
  lib->heimdal_subkey_oid = reinterpret_cast<gss_OID>(dlsym(h, "__gss_krb5_get_subkey_x_oid_desc"));

  lib->realPath = FileOf(reinterpret_cast<void*>(lib->init_sec_context));
  if (auto* heimdal = reinterpret_cast<const char* const*>(dlsym(h, "heimdal_version"))) {
    lib->flavor = "Heimdal";
    std::string v = *heimdal ? *heimdal : "";  // "Heimdal 7.8.0"
    auto sp = v.rfind(' ');
    lib->version = sp == std::string::npos ? v : v.substr(sp + 1);
  } else if (key == "gss.framework") {
    lib->flavor = "GSS.framework";
  } else {
    lib->flavor = "MIT";
    lib->version = MitVersionFromFile(FileOf(reinterpret_cast<void*>(lib->krb5_init_context)));
  }
  g_libs[spec] = lib;
  return lib;
}

}  // namespace spnego
