// One generic AsyncWorker: `work` runs on the libuv thread pool (no JS, no napi calls there),
// `done` turns its result into a JS value on the main thread, and the returned Promise settles
// with it. Every blocking library call of the addon (KDC round trips, keytab and ccache I/O) goes
// through here, so the event loop never waits on Kerberos.
#pragma once
#include <napi.h>

#include <functional>
#include <utility>

namespace spnego {

template <typename Result>
class PromiseWorker : public Napi::AsyncWorker {
 public:
  using Work = std::function<Result()>;
  using Done = std::function<Napi::Value(Napi::Env, Result&)>;

  PromiseWorker(Napi::Env env, Work work, Done done)
      : Napi::AsyncWorker(env, "spnego:native"), deferred_(Napi::Promise::Deferred::New(env)),
        work_(std::move(work)), done_(std::move(done)) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  void Execute() override { result_ = work_(); }
  void OnOK() override {
    Napi::HandleScope scope(Env());
    Napi::Value v = done_(Env(), result_);
    if (Env().IsExceptionPending()) {
      deferred_.Reject(Env().GetAndClearPendingException().Value());
    } else {
      deferred_.Resolve(v);
    }
  }
  void OnError(const Napi::Error& e) override { deferred_.Reject(e.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Work work_;
  Done done_;
  Result result_{};
};

// Queues `work` on the pool and returns the Promise of `done(result)`.
template <typename Result>
Napi::Promise RunAsync(Napi::Env env, std::function<Result()> work, std::function<Napi::Value(Napi::Env, Result&)> done) {
  auto* w = new PromiseWorker<Result>(env, std::move(work), std::move(done));
  Napi::Promise p = w->Promise();
  w->Queue();  // the worker deletes itself once settled
  return p;
}

}  // namespace spnego
