// What the SSPI halves of the addon share (context.cc, credential.cc): SECURITY_STATUS as
// CallStatus, the handle lock, UTF-8 <-> UTF-16, wiping secrets, TimeStamp -> seconds left.
#pragma once
#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>
#define SECURITY_WIN32
#include <security.h>
#include <sspi.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "../bridge.h"

namespace spnego {


inline constexpr uint32_t kGssFailure = 13u << 16;      // GSS_S_FAILURE
inline constexpr uint32_t kGssNoCred = 7u << 16;        // GSS_S_NO_CRED
inline constexpr uint32_t kGssBadSig = 6u << 16;        // GSS_S_BAD_SIG (GSS_S_BAD_MIC)
inline constexpr uint32_t kGssBadBindings = 4u << 16;   // GSS_S_BAD_BINDINGS

// GSS request/return flag bits (RFC 2744 3.9 / 5.19).
inline constexpr uint32_t kGssDeleg = 1, kGssMutual = 2, kGssReplay = 4, kGssSequence = 8, kGssConf = 16, kGssInteg = 32;

// A lock for the handles. The mingw-w64 win32 thread model of older GCCs has no std::mutex, and
// an SRWLOCK (InitializeSRWLock / AcquireSRWLockExclusive) needs no cleanup.
class Lock {
 public:
  Lock() { InitializeSRWLock(&l_); }
  void lock() { AcquireSRWLockExclusive(&l_); }
  bool try_lock() { return TryAcquireSRWLockExclusive(&l_) != 0; }
  void unlock() { ReleaseSRWLockExclusive(&l_); }

 private:
  SRWLOCK l_;
};

class Guard {
 public:
  explicit Guard(Lock& l) : l_(l) { l_.lock(); }
  ~Guard() { l_.unlock(); }
  Guard(const Guard&) = delete;
  Guard& operator=(const Guard&) = delete;

 private:
  Lock& l_;
};

inline std::wstring Widen(const std::string& s) {
  if (s.empty()) return std::wstring();
  int n = MultiByteToWideChar(CP_UTF8, 0, s.data(), static_cast<int>(s.size()), nullptr, 0);
  std::wstring w(static_cast<size_t>(n > 0 ? n : 0), L'\0');
  if (n > 0) MultiByteToWideChar(CP_UTF8, 0, s.data(), static_cast<int>(s.size()), &w[0], n);
  return w;
}

inline std::string Narrow(const wchar_t* w) {
  if (!w || !*w) return std::string();
  int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, nullptr, 0, nullptr, nullptr);
  if (n <= 1) return std::string();
  std::string s(static_cast<size_t>(n), '\0');
  WideCharToMultiByte(CP_UTF8, 0, w, -1, &s[0], n, nullptr, nullptr);
  s.resize(static_cast<size_t>(n - 1));
  return s;
}

template <typename S>
inline void Wipe(S& s) {
  using C = typename S::value_type;
  volatile C* p = s.empty() ? nullptr : &s[0];
  for (size_t i = 0; i < s.size(); i++) p[i] = 0;
  s.clear();
}

// Symbolic names of the SECURITY_STATUS codes one meets with Negotiate and Kerberos (winerror.h).
struct StatusName {
  SECURITY_STATUS code;
  const char* name;
};
#define SPNEGO_SEC(n) {static_cast<SECURITY_STATUS>(n), #n}
inline const StatusName kStatusNames[] = {
    SPNEGO_SEC(SEC_E_INSUFFICIENT_MEMORY),
    SPNEGO_SEC(SEC_E_INVALID_HANDLE),
    SPNEGO_SEC(SEC_E_UNSUPPORTED_FUNCTION),
    SPNEGO_SEC(SEC_E_TARGET_UNKNOWN),
    SPNEGO_SEC(SEC_E_INTERNAL_ERROR),
    SPNEGO_SEC(SEC_E_SECPKG_NOT_FOUND),
    SPNEGO_SEC(SEC_E_NOT_OWNER),
    SPNEGO_SEC(SEC_E_INVALID_TOKEN),
    SPNEGO_SEC(SEC_E_QOP_NOT_SUPPORTED),
    SPNEGO_SEC(SEC_E_NO_IMPERSONATION),
    SPNEGO_SEC(SEC_E_LOGON_DENIED),
    SPNEGO_SEC(SEC_E_UNKNOWN_CREDENTIALS),
    SPNEGO_SEC(SEC_E_NO_CREDENTIALS),
    SPNEGO_SEC(SEC_E_MESSAGE_ALTERED),
    SPNEGO_SEC(SEC_E_OUT_OF_SEQUENCE),
    SPNEGO_SEC(SEC_E_NO_AUTHENTICATING_AUTHORITY),
    SPNEGO_SEC(SEC_E_CONTEXT_EXPIRED),
    SPNEGO_SEC(SEC_E_INCOMPLETE_MESSAGE),
    SPNEGO_SEC(SEC_E_INCOMPLETE_CREDENTIALS),
    SPNEGO_SEC(SEC_E_BUFFER_TOO_SMALL),
    SPNEGO_SEC(SEC_E_WRONG_PRINCIPAL),
    SPNEGO_SEC(SEC_E_TIME_SKEW),
    SPNEGO_SEC(SEC_E_ENCRYPT_FAILURE),
    SPNEGO_SEC(SEC_E_DECRYPT_FAILURE),
    SPNEGO_SEC(SEC_E_ALGORITHM_MISMATCH),
    SPNEGO_SEC(SEC_E_UNFINISHED_CONTEXT_DELETED),
    SPNEGO_SEC(SEC_E_NO_TGT_REPLY),
    SPNEGO_SEC(SEC_E_WRONG_CREDENTIAL_HANDLE),
    SPNEGO_SEC(SEC_E_CRYPTO_SYSTEM_INVALID),
    SPNEGO_SEC(SEC_E_MAX_REFERRALS_EXCEEDED),
    SPNEGO_SEC(SEC_E_MUST_BE_KDC),
    SPNEGO_SEC(SEC_E_STRONG_CRYPTO_NOT_SUPPORTED),
    SPNEGO_SEC(SEC_E_TOO_MANY_PRINCIPALS),
    SPNEGO_SEC(SEC_E_NO_PA_DATA),
    SPNEGO_SEC(SEC_E_KDC_INVALID_REQUEST),
    SPNEGO_SEC(SEC_E_KDC_UNABLE_TO_REFER),
    SPNEGO_SEC(SEC_E_KDC_UNKNOWN_ETYPE),
    SPNEGO_SEC(SEC_E_UNSUPPORTED_PREAUTH),
    SPNEGO_SEC(SEC_E_DELEGATION_REQUIRED),
    SPNEGO_SEC(SEC_E_BAD_BINDINGS),
    SPNEGO_SEC(SEC_E_MULTIPLE_ACCOUNTS),
    SPNEGO_SEC(SEC_E_NO_KERB_KEY),
    SPNEGO_SEC(SEC_E_DOWNGRADE_DETECTED),
    SPNEGO_SEC(SEC_E_DELEGATION_POLICY),
    SPNEGO_SEC(SEC_E_POLICY_NLTM_ONLY),
    SPNEGO_SEC(SEC_E_NO_CONTEXT),
    SPNEGO_SEC(SEC_E_MUTUAL_AUTH_FAILED),
    SPNEGO_SEC(SEC_E_ILLEGAL_MESSAGE),
    SPNEGO_SEC(SEC_E_UNTRUSTED_ROOT),
    SPNEGO_SEC(SEC_E_CERT_EXPIRED),
    SPNEGO_SEC(SEC_I_CONTINUE_NEEDED),
    SPNEGO_SEC(SEC_I_COMPLETE_NEEDED),
    SPNEGO_SEC(SEC_I_COMPLETE_AND_CONTINUE),
    SPNEGO_SEC(SEC_I_INCOMPLETE_CREDENTIALS),
};
#undef SPNEGO_SEC

inline const char* StatusNameOf(SECURITY_STATUS ss) {
  for (const auto& e : kStatusNames)
    if (e.code == ss) return e.name;
  return "SECURITY_STATUS";
}

// The system's text for a status (FormatMessageW, FORMAT_MESSAGE_FROM_SYSTEM), trailing
// line breaks and full stop removed.
inline std::string SystemMessage(SECURITY_STATUS ss) {
  wchar_t* buf = nullptr;
  DWORD n = FormatMessageW(FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS, nullptr,
                           static_cast<DWORD>(ss), 0, reinterpret_cast<LPWSTR>(&buf), 0, nullptr);
  std::string out;
  if (n && buf) out = Narrow(buf);
  if (buf) LocalFree(buf);
  while (!out.empty() && (out.back() == '\r' || out.back() == '\n' || out.back() == ' ' || out.back() == '.')) out.pop_back();
  return out;
}

// SECURITY_STATUS -> nearest GSS major status (RFC 2744 3.9.1).
inline uint32_t MajorOf(SECURITY_STATUS ss) {
  if (ss == SEC_E_LOGON_DENIED || ss == SEC_E_NO_CREDENTIALS) return kGssNoCred;
  if (ss == SEC_E_MESSAGE_ALTERED) return kGssBadSig;
  if (ss == SEC_E_BAD_BINDINGS) return kGssBadBindings;
  if (ss == SEC_E_TIME_SKEW) return kGssFailure;
  return kGssFailure;
}

// A status for an SSPI call: empty (not failed) unless ss is an error (FAILED(ss)).
inline CallStatus Status(const char* call, SECURITY_STATUS ss) {
  CallStatus s;
  if (ss >= 0) return s;
  s.major = MajorOf(ss);
  s.minor = static_cast<uint32_t>(ss);
  s.call = call;
  char hex[16];
  snprintf(hex, sizeof hex, "0x%08X", static_cast<unsigned>(ss));
  s.message = std::string(StatusNameOf(ss)) + " (" + hex + ")";
  std::string text = SystemMessage(ss);
  if (!text.empty()) s.message += ": " + text;
  return s;
}

inline CallStatus UsageFailure(const std::string& call, const std::string& message) {
  CallStatus s;
  s.major = kGssFailure;
  s.call = call;
  s.message = message;
  return s;
}


// A TimeStamp (FILETIME, 100 ns since 1601, local time for Kerberos contexts) -> seconds left.
inline uint32_t SecondsLeft(const TimeStamp& expiry) {
  const int64_t never = 0x7FFFFFFFFFFFFFFFLL;
  int64_t t = (static_cast<int64_t>(expiry.HighPart) << 32) | static_cast<uint32_t>(expiry.LowPart);
  if (t >= never - 1 || (expiry.HighPart == 0x7FFFFFFF)) return 0xFFFFFFFFu;  // GSS_C_INDEFINITE
  FILETIME sys, local;
  GetSystemTimeAsFileTime(&sys);
  if (!FileTimeToLocalFileTime(&sys, &local)) local = sys;
  int64_t now = (static_cast<int64_t>(local.dwHighDateTime) << 32) | local.dwLowDateTime;
  if (t <= now) return 0;
  int64_t secs = (t - now) / 10000000LL;
  return secs > 0xFFFFFFFELL ? 0xFFFFFFFEu : static_cast<uint32_t>(secs);
}

}  // namespace spnego
