// The addon's entry point: GSSAPI (loaded at run time) on Unix, SSPI on Windows, one JS surface.
#include <napi.h>

#ifdef _WIN32
#include "sspi/context.h"
#include "sspi/credential.h"
#else
#include "gss/context.h"
#include "gss/credential.h"
#endif

namespace {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
#ifdef _WIN32
  spnego::SspiCredential::Init(env, exports);
  spnego::SspiContext::Init(env, exports);
  exports.Set("info", Napi::Function::New(env, spnego::SspiInfo));
#else
  spnego::GssCredential::Init(env, exports);
  spnego::GssContext::Init(env, exports);
  exports.Set("info", Napi::Function::New(env, spnego::LibraryInfo));
#endif
  return exports;
}

}  // namespace

NODE_API_MODULE(spnego_native, Init)
