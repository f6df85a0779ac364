// What the GSSAPI halves of the addon share (context.cc, credential.cc): the OIDs, statuses as
// CallStatus (gss_display_status text), buffers, and wiping secrets. RFC 2744 names throughout.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "../bridge.h"
#include "loader.h"

namespace spnego {

// OIDs (DER contents octets).
inline gss_OID_desc kSpnegoOid = {6, const_cast<char*>("\x2b\x06\x01\x05\x05\x02")};                           // 1.3.6.1.5.5.2
inline gss_OID_desc kKrb5Oid = {9, const_cast<char*>("\x2a\x86\x48\x86\xf7\x12\x01\x02\x02")};                // 1.2.840.113554.1.2.2
inline gss_OID_desc kNtHostbased = {10, const_cast<char*>("\x2a\x86\x48\x86\xf7\x12\x01\x02\x01\x04")};       // RFC 2743 4.1
inline gss_OID_desc kNtKrb5Principal = {10, const_cast<char*>("\x2a\x86\x48\x86\xf7\x12\x01\x02\x02\x01")};   // RFC 1964 2.1.1
inline gss_OID_desc kNtUserName = {10, const_cast<char*>("\x2a\x86\x48\x86\xf7\x12\x01\x02\x01\x01")};        // RFC 2743 4.2 GSS_C_NT_USER_NAME
inline gss_OID_desc kInqSessionKey = {11, const_cast<char*>("\x2a\x86\x48\x86\xf7\x12\x01\x02\x02\x05\x05")}; // GSS_C_INQ_SSPI_SESSION_KEY

// gss_display_status loops (RFC 2744 5.11). Called on the thread that got the status: MIT and
// Heimdal keep the text of the last minor error per thread.
inline std::string DisplayStatus(const GssLib& lib, OM_uint32 code, int type) {
  std::string out;
  OM_uint32 msgCtx = 0;
  for (int i = 0; i < 8; i++) {
    OM_uint32 minor = 0;
    gss_buffer_desc buf{0, nullptr};
    OM_uint32 maj = lib.display_status(&minor, code, type, GSS_C_NO_OID, &msgCtx, &buf);
    if (GSS_ERROR(maj)) break;
    if (buf.length) {
      if (!out.empty()) out += "; ";
      out.append(static_cast<const char*>(buf.value), buf.length);
    }
    lib.release_buffer(&minor, &buf);
    if (msgCtx == 0) break;
  }
  return out;
}

inline CallStatus Status(const GssLib& lib, const char* call, OM_uint32 major, OM_uint32 minor) {
  CallStatus s;
  s.major = major;
  s.minor = minor;
  if (!GSS_ERROR(major)) return s;
  s.call = call;
  s.message = DisplayStatus(lib, major, GSS_C_GSS_CODE);
  if (minor) {
    std::string m = DisplayStatus(lib, minor, GSS_C_MECH_CODE);
    if (!m.empty()) s.message += ": " + m;
  }
  return s;
}

inline CallStatus UsageFailure(const std::string& call, const std::string& message) {
  CallStatus s;
  s.major = 13u << 16;  // GSS_S_FAILURE
  s.call = call;
  s.message = message;
  return s;
}

inline void Wipe(std::string& s) {
  volatile char* p = s.empty() ? nullptr : &s[0];
  for (size_t i = 0; i < s.size(); i++) p[i] = 0;
  s.clear();
}

inline gss_buffer_desc Buf(const std::vector<uint8_t>& v) {
  return gss_buffer_desc{v.size(), v.empty() ? nullptr : const_cast<uint8_t*>(v.data())};
}

inline std::vector<uint8_t> Take(const GssLib& lib, gss_buffer_desc* b) {
  std::vector<uint8_t> v;
  if (b->length && b->value) v.assign(static_cast<uint8_t*>(b->value), static_cast<uint8_t*>(b->value) + b->length);
  OM_uint32 minor = 0;
  if (b->value) lib.release_buffer(&minor, b);
  return v;
}

}  // namespace spnego
