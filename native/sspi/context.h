// The Windows half of the addon: one SSPI security context (Negotiate or Kerberos package) behind
// the same JS surface as the GSSAPI GssContext (registered under the JS name "GssContext", so the
// TypeScript adapter does not care which one it got).
#pragma once
#include <napi.h>

#include <memory>

namespace spnego {

struct SspiState;

class SspiContext : public Napi::ObjectWrap<SspiContext> {
 public:
  static Napi::Object Init(Napi::Env env, Napi::Object exports);
  explicit SspiContext(const Napi::CallbackInfo& info);
  ~SspiContext() override;

 private:
  static Napi::FunctionReference constructor;
  Napi::Value Step(const Napi::CallbackInfo& info);
  Napi::Value Inquire(const Napi::CallbackInfo& info);
  Napi::Value GetMic(const Napi::CallbackInfo& info);
  Napi::Value VerifyMic(const Napi::CallbackInfo& info);
  Napi::Value WrapToken(const Napi::CallbackInfo& info);    // not Wrap: ObjectWrap<T>::Wrap is a static
  Napi::Value UnwrapToken(const Napi::CallbackInfo& info);  // not Unwrap: ObjectWrap<T>::Unwrap is a static
  Napi::Value Dispose(const Napi::CallbackInfo& info);

  std::shared_ptr<SspiState> state_;
};

// info(): { loaded: true, library: 'SSPI', version, path: 'secur32.dll' }
Napi::Value SspiInfo(const Napi::CallbackInfo& info);

}  // namespace spnego
