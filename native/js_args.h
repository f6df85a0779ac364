// Reading the options object and byte arguments the JS adapter (lib/native/addon.ts) passes; the
// same for the GSSAPI and SSPI contexts. Anything of another type reads as empty.
#pragma once
#include <napi.h>

#include <cstdint>
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

}  // namespace spnego
