// What crosses between the contexts (GSSAPI and SSPI alike) and the JS adapter, lib/native/addon.ts:
// the options and byte arguments it passes, and the statuses, step outcomes and usage errors it
// reads back (gssErrorFrom there). Arguments of another type read as empty.
#pragma once
#include <napi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace spnego {

// A Uint8Array (or Buffer) copied out; empty for anything else.
inline std::vector<uint8_t> BytesOf(const Napi::Value& v) {
  std::vector<uint8_t> out;
  if (v.IsTypedArray()) {
    auto a = v.As<Napi::Uint8Array>();
    out.assign(a.Data(), a.Data() + a.ByteLength());
  }
  return out;
}

// A string property of the options object; "" when absent or not a string.
inline std::string StringOf(const Napi::Object& o, const char* key) {
  Napi::Value v = o.Get(key);
  return v.IsString() ? v.As<Napi::String>().Utf8Value() : std::string();
}

// A call's failure: the GSS major status (for SSPI the nearest one), the minor status (the
// SECURITY_STATUS for SSPI), the call that failed and the library's text. No call: success.
struct CallStatus {
  uint32_t major = 0;
  uint32_t minor = 0;
  std::string call;
  std::string message;
  bool failed() const { return !call.empty(); }
};

// Throws the status as an Error with gssMajor / gssMinor / gssCall.
inline Napi::Value ThrowStatus(Napi::Env env, const CallStatus& st) {
  Napi::Error e = Napi::Error::New(env, st.message.empty() ? st.call + " failed" : st.message);
  e.Set("gssMajor", Napi::Number::New(env, st.major));
  e.Set("gssMinor", Napi::Number::New(env, st.minor));
  e.Set("gssCall", Napi::String::New(env, st.call));
  e.ThrowAsJavaScriptException();
  return env.Undefined();
}

// step()'s result: { complete, token?, error?: { major, minor, call, message } }. On failure the
// token may be an error token for the peer.
inline Napi::Object StepOutcome(Napi::Env env, bool complete, const std::vector<uint8_t>& token, const CallStatus& st) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("complete", Napi::Boolean::New(env, complete));
  if (!token.empty()) out.Set("token", Napi::Buffer<uint8_t>::Copy(env, token.data(), token.size()));
  if (st.failed()) {
    Napi::Object e = Napi::Object::New(env);
    e.Set("major", Napi::Number::New(env, st.major));
    e.Set("minor", Napi::Number::New(env, st.minor));
    e.Set("call", Napi::String::New(env, st.call));
    e.Set("message", Napi::String::New(env, st.message));
    out.Set("error", e);
  }
  return out;
}

// Whether a context may be used now: not disposed, no step() running, complete when asked.
template <typename State>
bool Usable(Napi::Env env, const std::shared_ptr<State>& state, bool needComplete) {
  if (!state || state->disposed) {
    Napi::Error::New(env, "the context was disposed").ThrowAsJavaScriptException();
    return false;
  }
  if (state->busy) {
    Napi::Error::New(env, "step() is running on this context").ThrowAsJavaScriptException();
    return false;
  }
  if (needComplete && !state->complete) {
    CallStatus st;
    st.major = 8u << 16;  // GSS_S_NO_CONTEXT
    st.call = "context";
    st.message = "the security context is not complete";
    ThrowStatus(env, st);
    return false;
  }
  return true;
}

}  // namespace spnego
