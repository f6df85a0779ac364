#pragma once
#include <napi.h>

#include <memory>

namespace spnego {

struct CtxState;

class GssContext : public Napi::ObjectWrap<GssContext> {
 public:
  static Napi::Object Init(Napi::Env env, Napi::Object exports);
  explicit GssContext(const Napi::CallbackInfo& info);
  ~GssContext() override;

 private:
  static Napi::FunctionReference constructor;
  Napi::Value Step(const Napi::CallbackInfo& info);
  Napi::Value Inquire(const Napi::CallbackInfo& info);
  Napi::Value GetMic(const Napi::CallbackInfo& info);
  Napi::Value VerifyMic(const Napi::CallbackInfo& info);
  Napi::Value WrapToken(const Napi::CallbackInfo& info);
  Napi::Value UnwrapToken(const Napi::CallbackInfo& info);
  Napi::Value Dispose(const Napi::CallbackInfo& info);

  std::shared_ptr<CtxState> state_;
};

Napi::Value LibraryInfo(const Napi::CallbackInfo& info);

}  // namespace spnego
