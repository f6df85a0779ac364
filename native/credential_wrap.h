// The JS object of a credential, for the GSSAPI (gss/credential.cc) and SSPI (sspi/credential.cc)
// halves alike: one class registered as "GssCredential" (the JS adapter, lib/native/addon.ts, is the
// same on every platform) with info() and dispose(), plus acquireCredential(options). The object holds
// a shared_ptr to its State, shared with every context made from it, so a credential disposed while
// contexts run stays alive until the last of them ends. Each half keeps only its platform calls:
//   static Napi::Value AcquireFrom(Napi::Env, const Napi::Object& options)  reads the options, then
//       returns AcquireAsync(env, acquire) (or throws and returns undefined);
//   static void MoreInfo(Napi::Env, const State&, Napi::Object& out)        sets lifetime and
//       enctypesRestricted in info().
// State has `initiator` and `principal`.
#pragma once
#include <napi.h>

#include <functional>
#include <memory>
#include <string>

#include "bridge.h"
#include "worker.h"

namespace spnego {

template <typename Derived, typename State>
class CredentialWrap : public Napi::ObjectWrap<Derived> {
 public:
  static Napi::Object Init(Napi::Env env, Napi::Object exports) {
    Napi::Function f = Napi::ObjectWrap<Derived>::DefineClass(
        env, "GssCredential",
        {Napi::ObjectWrap<Derived>::InstanceMethod("info", &CredentialWrap::Info),
         Napi::ObjectWrap<Derived>::InstanceMethod("dispose", &CredentialWrap::Dispose)});
    constructor = Napi::Persistent(f);
    exports.Set("GssCredential", f);
    exports.Set("acquireCredential", Napi::Function::New(env, &CredentialWrap::Acquire, "acquireCredential"));
    return exports;
  }

  // Made by acquireCredential() only: `new GssCredential()` from JS holds nothing and is refused by contexts.
  explicit CredentialWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<Derived>(info) {}

  // The state of a live credential of this addon, of the usage a context of this role needs; nullptr
  // (and *why set) for anything else, a disposed one or the other usage.
  static std::shared_ptr<State> StateOf(const Napi::Value& v, bool initiator, std::string* why) {
    if (!v.IsObject() || !v.As<Napi::Object>().InstanceOf(constructor.Value())) {
      *why = "credential: not a credential of this addon";
      return nullptr;
    }
    CredentialWrap* c = Derived::Unwrap(v.As<Napi::Object>());
    if (!c || !c->state_) {
      *why = c && c->disposed_ ? "the credential was disposed" : "credential: not acquired";
      return nullptr;
    }
    if (c->state_->initiator != initiator) {
      *why = initiator ? "an acceptor credential (usage 'accept') cannot make an initiator" : "an initiator credential (usage 'initiate') cannot make an acceptor";
      return nullptr;
    }
    return c->state_;
  }

 protected:
  // Runs `acquire` on the pool against a fresh State; the Promise resolves to a new credential object
  // holding it, or rejects with the failed CallStatus (the State, and whatever it acquired before the
  // failure, freed there).
  static Napi::Value AcquireAsync(Napi::Env env, std::function<CallStatus(State&)> acquire) {
    return RunAsync<AcquireResult>(
        env,
        [acquire]() {
          AcquireResult r;
          r.state = std::make_shared<State>();
          r.status = acquire(*r.state);
          if (r.status.failed()) r.state.reset();
          return r;
        },
        [](Napi::Env env, AcquireResult& r) -> Napi::Value {
          if (r.status.failed()) return ThrowStatus(env, r.status);
          Napi::Object obj = constructor.New({});
          static_cast<CredentialWrap*>(Derived::Unwrap(obj))->state_ = r.state;
          return obj;
        });
  }

 private:
  struct AcquireResult {
    std::shared_ptr<State> state;
    CallStatus status;
  };

  static Napi::FunctionReference constructor;

  static Napi::Value Acquire(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) {
      Napi::TypeError::New(env, "acquireCredential: options object expected").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    return Derived::AcquireFrom(env, info[0].As<Napi::Object>());
  }

  // info(): { usage, principal?, lifetime, enctypesRestricted }
  Napi::Value Info(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!state_) {
      Napi::Error::New(env, disposed_ ? "the credential was disposed" : "credential: not acquired").ThrowAsJavaScriptException();
      return env.Undefined();
    }
    Napi::Object out = Napi::Object::New(env);
    out.Set("usage", Napi::String::New(env, state_->initiator ? "initiate" : "accept"));
    if (!state_->principal.empty()) out.Set("principal", Napi::String::New(env, state_->principal));
    Derived::MoreInfo(env, *state_, out);
    return out;
  }

  // dispose(): drops this object's reference; the handles go with the last context using them.
  Napi::Value Dispose(const Napi::CallbackInfo& info) {
    disposed_ = true;
    state_.reset();
    return info.Env().Undefined();
  }

  std::shared_ptr<State> state_;
  bool disposed_ = false;
};

template <typename Derived, typename State>
Napi::FunctionReference CredentialWrap<Derived, State>::constructor;

}  // namespace spnego
