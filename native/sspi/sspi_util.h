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

// GSS major routine errors (RFC 2744 3.9.1, shifted by 16).
inline constexpr uint32_t kGssBadMech = 1u << 16, kGssBadName = 2u << 16, kGssNoContext = 8u << 16,
                          kGssDefectiveToken = 9u << 16, kGssDefectiveCredential = 10u << 16,
                          kGssCredentialsExpired = 11u << 16, kGssContextExpired = 12u << 16, kGssBadQop = 14u << 16,
                          kGssUnauthorized = 15u << 16, kGssUnavailable = 16u << 16;
// Supplementary bits (RFC 2744 3.9.1): SSPI reports a replayed or out-of-order token as the error
// SEC_E_OUT_OF_SEQUENCE; GSS as these bits on a verify/unwrap that otherwise succeeded.
inline constexpr uint32_t kGssDuplicateToken = 1u << 1, kGssUnseqToken = 1u << 3;

// Every SECURITY_STATUS one meets with Negotiate and Kerberos (winerror.h), with its name (the
// minor's name in GssError messages) and the nearest GSS major status (RFC 2744 3.9.1). A code not
// in the table is reported by number as GSS_S_FAILURE.
struct StatusEntry {
  SECURITY_STATUS code;
  const char* name;
  uint32_t major;
};
#define SPNEGO_SEC(n, major) {static_cast<SECURITY_STATUS>(n), #n, major}
inline const StatusEntry kStatusTable[] = {
    SPNEGO_SEC(SEC_E_INSUFFICIENT_MEMORY, kGssFailure),
    SPNEGO_SEC(SEC_E_INVALID_HANDLE, kGssNoContext),
    SPNEGO_SEC(SEC_E_UNSUPPORTED_FUNCTION, kGssUnavailable),
    SPNEGO_SEC(SEC_E_TARGET_UNKNOWN, kGssBadName),  // no such SPN at the KDC (KDC_ERR_S_PRINCIPAL_UNKNOWN)
    SPNEGO_SEC(SEC_E_INTERNAL_ERROR, kGssFailure),
    SPNEGO_SEC(SEC_E_SECPKG_NOT_FOUND, kGssBadMech),
    SPNEGO_SEC(SEC_E_NOT_OWNER, kGssNoCred),
    SPNEGO_SEC(SEC_E_CANNOT_INSTALL, kGssUnavailable),
    SPNEGO_SEC(SEC_E_INVALID_TOKEN, kGssDefectiveToken),
    SPNEGO_SEC(SEC_E_CANNOT_PACK, kGssFailure),
    SPNEGO_SEC(SEC_E_QOP_NOT_SUPPORTED, kGssBadQop),
    SPNEGO_SEC(SEC_E_NO_IMPERSONATION, kGssUnauthorized),
    SPNEGO_SEC(SEC_E_LOGON_DENIED, kGssNoCred),  // wrong password or locked account
    SPNEGO_SEC(SEC_E_UNKNOWN_CREDENTIALS, kGssNoCred),
    SPNEGO_SEC(SEC_E_NO_CREDENTIALS, kGssNoCred),
    SPNEGO_SEC(SEC_E_MESSAGE_ALTERED, kGssBadSig),
    SPNEGO_SEC(SEC_E_OUT_OF_SEQUENCE, kGssFailure | kGssUnseqToken),
    SPNEGO_SEC(SEC_E_NO_AUTHENTICATING_AUTHORITY, kGssUnavailable),  // no KDC answered
    SPNEGO_SEC(SEC_E_BAD_PKGID, kGssBadMech),
    SPNEGO_SEC(SEC_E_CONTEXT_EXPIRED, kGssContextExpired),
    SPNEGO_SEC(SEC_E_INCOMPLETE_MESSAGE, kGssDefectiveToken),
    SPNEGO_SEC(SEC_E_INCOMPLETE_CREDENTIALS, kGssDefectiveCredential),
    SPNEGO_SEC(SEC_E_BUFFER_TOO_SMALL, kGssFailure),
    SPNEGO_SEC(SEC_E_WRONG_PRINCIPAL, kGssBadName),  // the ticket is for another service (KRB_AP_ERR_NOT_US)
    SPNEGO_SEC(SEC_E_TIME_SKEW, kGssFailure),        // KRB_AP_ERR_SKEW: GSSAPI libraries report GSS_S_FAILURE too
    SPNEGO_SEC(SEC_E_UNTRUSTED_ROOT, kGssFailure),
    SPNEGO_SEC(SEC_E_ILLEGAL_MESSAGE, kGssDefectiveToken),
    SPNEGO_SEC(SEC_E_CERT_UNKNOWN, kGssFailure),
    SPNEGO_SEC(SEC_E_CERT_EXPIRED, kGssCredentialsExpired),
    SPNEGO_SEC(SEC_E_ENCRYPT_FAILURE, kGssFailure),
    SPNEGO_SEC(SEC_E_DECRYPT_FAILURE, kGssBadSig),
    SPNEGO_SEC(SEC_E_ALGORITHM_MISMATCH, kGssBadMech),
    SPNEGO_SEC(SEC_E_SECURITY_QOS_FAILED, kGssBadQop),
    SPNEGO_SEC(SEC_E_UNFINISHED_CONTEXT_DELETED, kGssNoContext),
    SPNEGO_SEC(SEC_E_NO_TGT_REPLY, kGssNoCred),
    SPNEGO_SEC(SEC_E_NO_IP_ADDRESSES, kGssFailure),
    SPNEGO_SEC(SEC_E_WRONG_CREDENTIAL_HANDLE, kGssDefectiveCredential),
    SPNEGO_SEC(SEC_E_CRYPTO_SYSTEM_INVALID, kGssFailure),
    SPNEGO_SEC(SEC_E_MAX_REFERRALS_EXCEEDED, kGssUnavailable),
    SPNEGO_SEC(SEC_E_MUST_BE_KDC, kGssFailure),
    SPNEGO_SEC(SEC_E_STRONG_CRYPTO_NOT_SUPPORTED, kGssBadMech),
    SPNEGO_SEC(SEC_E_TOO_MANY_PRINCIPALS, kGssBadName),
    SPNEGO_SEC(SEC_E_NO_PA_DATA, kGssNoCred),
    SPNEGO_SEC(SEC_E_PKINIT_NAME_MISMATCH, kGssBadName),
    SPNEGO_SEC(SEC_E_SMARTCARD_LOGON_REQUIRED, kGssNoCred),
    SPNEGO_SEC(SEC_E_SHUTDOWN_IN_PROGRESS, kGssUnavailable),
    SPNEGO_SEC(SEC_E_KDC_INVALID_REQUEST, kGssFailure),
    SPNEGO_SEC(SEC_E_KDC_UNABLE_TO_REFER, kGssUnavailable),
    SPNEGO_SEC(SEC_E_KDC_UNKNOWN_ETYPE, kGssBadMech),
    SPNEGO_SEC(SEC_E_UNSUPPORTED_PREAUTH, kGssFailure),
    SPNEGO_SEC(SEC_E_DELEGATION_REQUIRED, kGssUnauthorized),
    SPNEGO_SEC(SEC_E_BAD_BINDINGS, kGssBadBindings),
    SPNEGO_SEC(SEC_E_MULTIPLE_ACCOUNTS, kGssBadName),
    SPNEGO_SEC(SEC_E_NO_KERB_KEY, kGssNoCred),
    SPNEGO_SEC(SEC_E_CERT_WRONG_USAGE, kGssFailure),
    SPNEGO_SEC(SEC_E_DOWNGRADE_DETECTED, kGssFailure),
    SPNEGO_SEC(SEC_E_SMARTCARD_CERT_REVOKED, kGssCredentialsExpired),
    SPNEGO_SEC(SEC_E_ISSUING_CA_UNTRUSTED, kGssFailure),
    SPNEGO_SEC(SEC_E_REVOCATION_OFFLINE_C, kGssUnavailable),
    SPNEGO_SEC(SEC_E_PKINIT_CLIENT_FAILURE, kGssNoCred),
    SPNEGO_SEC(SEC_E_SMARTCARD_CERT_EXPIRED, kGssCredentialsExpired),
    SPNEGO_SEC(SEC_E_NO_S4U_PROT_SUPPORT, kGssUnavailable),
    SPNEGO_SEC(SEC_E_CROSSREALM_DELEGATION_FAILURE, kGssUnauthorized),
    SPNEGO_SEC(SEC_E_REVOCATION_OFFLINE_KDC, kGssUnavailable),
    SPNEGO_SEC(SEC_E_ISSUING_CA_UNTRUSTED_KDC, kGssFailure),
    SPNEGO_SEC(SEC_E_KDC_CERT_EXPIRED, kGssFailure),
    SPNEGO_SEC(SEC_E_KDC_CERT_REVOKED, kGssFailure),
    SPNEGO_SEC(SEC_E_INVALID_PARAMETER, kGssFailure),
    SPNEGO_SEC(SEC_E_DELEGATION_POLICY, kGssUnauthorized),
    SPNEGO_SEC(SEC_E_POLICY_NLTM_ONLY, kGssUnavailable),
    SPNEGO_SEC(SEC_E_NO_CONTEXT, kGssNoContext),
    SPNEGO_SEC(SEC_E_PKU2U_CERT_FAILURE, kGssFailure),
    SPNEGO_SEC(SEC_E_MUTUAL_AUTH_FAILED, kGssFailure),
    SPNEGO_SEC(SEC_E_ONLY_HTTPS_ALLOWED, kGssUnauthorized),
    SPNEGO_SEC(SEC_E_APPLICATION_PROTOCOL_MISMATCH, kGssFailure),
    SPNEGO_SEC(SEC_E_INVALID_UPN_NAME, kGssBadName),
    // Wine's Kerberos package turns every failure of the host's libkrb5 into STATUS_UNSUCCESSFUL
    // (dlls/kerberos/unixlib.c, status_gss_to_sspi's default).
    {static_cast<SECURITY_STATUS>(0xC0000001L), "STATUS_UNSUCCESSFUL", kGssFailure},
    SPNEGO_SEC(SEC_I_CONTINUE_NEEDED, 0),
    SPNEGO_SEC(SEC_I_COMPLETE_NEEDED, 0),
    SPNEGO_SEC(SEC_I_COMPLETE_AND_CONTINUE, 0),
    SPNEGO_SEC(SEC_I_INCOMPLETE_CREDENTIALS, 0),
};
#undef SPNEGO_SEC

inline const StatusEntry* StatusEntryOf(SECURITY_STATUS ss) {
  for (const auto& e : kStatusTable)
    if (e.code == ss) return &e;
  return nullptr;
}

inline const char* StatusNameOf(SECURITY_STATUS ss) {
  const StatusEntry* e = StatusEntryOf(ss);
  return e ? e->name : "SECURITY_STATUS";
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

// SECURITY_STATUS -> GSS major status (kStatusTable; GSS_S_FAILURE when not listed).
inline uint32_t MajorOf(SECURITY_STATUS ss) {
  const StatusEntry* e = StatusEntryOf(ss);
  return e && e->major ? e->major : kGssFailure;
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


// "DOMAIN\user" (SECPKG_ATTR_NAMES, SECPKG_CRED_ATTR_NAMES) -> "user@DOMAIN", the form every
// backend reports; a name with '@' or without a domain is kept.
inline std::string UserAtRealm(const std::string& name) {
  size_t bs = name.find('\\');
  if (bs == std::string::npos || name.find('@') != std::string::npos) return name;
  return name.substr(bs + 1) + "@" + name.substr(0, bs);
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
