// Our own declarations of the GSS-API C bindings (RFC 2744), so the addon builds with no Kerberos
// headers or libraries installed: the library is dlopen'ed at first use (loader.cc). Only what the
// addon calls is declared; types and constants are the RFC's (and MIT/Heimdal's, which agree).
#pragma once
#include <cstddef>
#include <cstdint>

extern "C" {
typedef uint32_t OM_uint32;
typedef struct gss_OID_desc_struct { OM_uint32 length; void* elements; } gss_OID_desc, *gss_OID;
typedef const gss_OID_desc* gss_const_OID;
typedef struct gss_OID_set_desc_struct { size_t count; gss_OID elements; } gss_OID_set_desc, *gss_OID_set;
typedef struct gss_buffer_desc_struct { size_t length; void* value; } gss_buffer_desc, *gss_buffer_t;
typedef struct gss_buffer_set_desc_struct { size_t count; gss_buffer_desc* elements; } gss_buffer_set_desc, *gss_buffer_set_t;
typedef struct gss_name_struct* gss_name_t;
typedef struct gss_cred_id_struct* gss_cred_id_t;
typedef struct gss_ctx_id_struct* gss_ctx_id_t;
typedef int gss_cred_usage_t;
typedef OM_uint32 gss_qop_t;
typedef struct gss_channel_bindings_struct {
  OM_uint32 initiator_addrtype; gss_buffer_desc initiator_address;
  OM_uint32 acceptor_addrtype; gss_buffer_desc acceptor_address;
  gss_buffer_desc application_data;
} *gss_channel_bindings_t;
// RFC 7546 / MIT gssapi_ext.h: credential store key-value pairs.
typedef struct gss_key_value_element_struct { const char* key; const char* value; } gss_key_value_element_desc;
typedef struct gss_key_value_set_struct { OM_uint32 count; gss_key_value_element_desc* elements; } gss_key_value_set_desc;
typedef const gss_key_value_set_desc* gss_const_key_value_set_t;
}

#define GSS_C_NO_NAME ((gss_name_t)0)
#define GSS_C_NO_BUFFER ((gss_buffer_t)0)
#define GSS_C_NO_OID ((gss_OID)0)
#define GSS_C_NO_OID_SET ((gss_OID_set)0)
#define GSS_C_NO_CONTEXT ((gss_ctx_id_t)0)
#define GSS_C_NO_CREDENTIAL ((gss_cred_id_t)0)
#define GSS_C_NO_CHANNEL_BINDINGS ((gss_channel_bindings_t)0)
#define GSS_C_INDEFINITE 0xfffffffful
#define GSS_C_BOTH 0
#define GSS_C_INITIATE 1
#define GSS_C_ACCEPT 2
#define GSS_C_GSS_CODE 1
#define GSS_C_MECH_CODE 2
#define GSS_C_QOP_DEFAULT 0

// Flags, RFC 2744 section 5.19 (the same bits as RFC 4121's checksum flags).
#define GSS_C_DELEG_FLAG 1
#define GSS_C_MUTUAL_FLAG 2
#define GSS_C_REPLAY_FLAG 4
#define GSS_C_SEQUENCE_FLAG 8
#define GSS_C_CONF_FLAG 16
#define GSS_C_INTEG_FLAG 32
#define GSS_C_ANON_FLAG 64
#define GSS_C_PROT_READY_FLAG 128
#define GSS_C_TRANS_FLAG 256

// Status codes, RFC 2744 section 3.9.1.
#define GSS_S_COMPLETE 0
#define GSS_S_CONTINUE_NEEDED 1
#define GSS_C_CALLING_ERROR_OFFSET 24
#define GSS_C_ROUTINE_ERROR_OFFSET 16
#define GSS_ERROR(x) ((x) & 0xffff0000u)
#define GSS_ROUTINE_ERROR(x) ((x) & (0xffu << GSS_C_ROUTINE_ERROR_OFFSET))
#define GSS_CALLING_ERROR(x) ((x) & (0xffu << GSS_C_CALLING_ERROR_OFFSET))

typedef OM_uint32 (*gss_import_name_fn)(OM_uint32*, gss_buffer_t, gss_OID, gss_name_t*);
typedef OM_uint32 (*gss_release_name_fn)(OM_uint32*, gss_name_t*);
typedef OM_uint32 (*gss_display_name_fn)(OM_uint32*, gss_name_t, gss_buffer_t, gss_OID*);
typedef OM_uint32 (*gss_release_buffer_fn)(OM_uint32*, gss_buffer_t);
typedef OM_uint32 (*gss_release_cred_fn)(OM_uint32*, gss_cred_id_t*);
typedef OM_uint32 (*gss_delete_sec_context_fn)(OM_uint32*, gss_ctx_id_t*, gss_buffer_t);
typedef OM_uint32 (*gss_display_status_fn)(OM_uint32*, OM_uint32, int, gss_OID, OM_uint32*, gss_buffer_t);
typedef OM_uint32 (*gss_acquire_cred_fn)(OM_uint32*, gss_name_t, OM_uint32, gss_OID_set, gss_cred_usage_t, gss_cred_id_t*, gss_OID_set*, OM_uint32*);
typedef OM_uint32 (*gss_acquire_cred_from_fn)(OM_uint32*, gss_name_t, OM_uint32, gss_OID_set, gss_cred_usage_t, gss_const_key_value_set_t, gss_cred_id_t*, gss_OID_set*, OM_uint32*);
typedef OM_uint32 (*gss_acquire_cred_with_password_fn)(OM_uint32*, gss_name_t, const gss_buffer_t, OM_uint32, gss_OID_set, gss_cred_usage_t, gss_cred_id_t*, gss_OID_set*, OM_uint32*);
typedef OM_uint32 (*gss_add_cred_with_password_fn)(OM_uint32*, gss_cred_id_t, gss_name_t, gss_OID, const gss_buffer_t, gss_cred_usage_t, OM_uint32, OM_uint32, gss_cred_id_t*, gss_OID_set*, OM_uint32*, OM_uint32*);
typedef OM_uint32 (*gss_get_name_attribute_fn)(OM_uint32*, gss_name_t, gss_buffer_t, int*, int*, gss_buffer_t, gss_buffer_t, int*);
typedef OM_uint32 (*gss_init_sec_context_fn)(OM_uint32*, gss_cred_id_t, gss_ctx_id_t*, gss_name_t, gss_OID, OM_uint32, OM_uint32, gss_channel_bindings_t, gss_buffer_t, gss_OID*, gss_buffer_t, OM_uint32*, OM_uint32*);
typedef OM_uint32 (*gss_accept_sec_context_fn)(OM_uint32*, gss_ctx_id_t*, gss_cred_id_t, gss_buffer_t, gss_channel_bindings_t, gss_name_t*, gss_OID*, gss_buffer_t, OM_uint32*, OM_uint32*, gss_cred_id_t*);
typedef OM_uint32 (*gss_get_mic_fn)(OM_uint32*, gss_ctx_id_t, gss_qop_t, gss_buffer_t, gss_buffer_t);
typedef OM_uint32 (*gss_verify_mic_fn)(OM_uint32*, gss_ctx_id_t, gss_buffer_t, gss_buffer_t, gss_qop_t*);
typedef OM_uint32 (*gss_wrap_fn)(OM_uint32*, gss_ctx_id_t, int, gss_qop_t, gss_buffer_t, int*, gss_buffer_t);
typedef OM_uint32 (*gss_unwrap_fn)(OM_uint32*, gss_ctx_id_t, gss_buffer_t, gss_buffer_t, int*, gss_qop_t*);
typedef OM_uint32 (*gss_inquire_cred_fn)(OM_uint32*, gss_cred_id_t, gss_name_t*, OM_uint32*, gss_cred_usage_t*, gss_OID_set*);
// MIT and Heimdal: restrict a krb5 credential to these enctypes (krb5_enctype is an int32).
typedef OM_uint32 (*gss_krb5_set_allowable_enctypes_fn)(OM_uint32*, gss_cred_id_t, OM_uint32, int32_t*);
typedef OM_uint32 (*gss_inquire_context_fn)(OM_uint32*, gss_ctx_id_t, gss_name_t*, gss_name_t*, OM_uint32*, gss_OID*, OM_uint32*, int*, int*);
typedef OM_uint32 (*gss_inquire_sec_context_by_oid_fn)(OM_uint32*, gss_ctx_id_t, gss_OID, gss_buffer_set_t*);
typedef OM_uint32 (*gss_release_buffer_set_fn)(OM_uint32*, gss_buffer_set_t*);
typedef OM_uint32 (*gss_store_cred_into_fn)(OM_uint32*, gss_cred_id_t, gss_cred_usage_t, gss_OID, OM_uint32, OM_uint32, gss_const_key_value_set_t, gss_OID_set*, gss_cred_usage_t*);
typedef OM_uint32 (*krb5_gss_register_acceptor_identity_fn)(const char*);
typedef OM_uint32 (*gss_krb5_ccache_name_fn)(OM_uint32*, const char*, const char**);

// The few krb5 calls the addon makes (MIT and Heimdal share these signatures): they give Heimdal,
// which lacks gss_acquire_cred_from / gss_store_cred_into, a way to name a ccache or a keytab
// (gss_krb5_import_cred / gss_krb5_copy_ccache, RFC-less but in both libraries).
typedef struct _krb5_context* krb5_context;
typedef struct _krb5_ccache* krb5_ccache;
typedef struct _krb5_keytab* krb5_keytab;
typedef struct krb5_principal_data* krb5_principal;
typedef int32_t krb5_error_code;
typedef krb5_error_code (*krb5_init_context_fn)(krb5_context*);
typedef void (*krb5_free_context_fn)(krb5_context);
typedef krb5_error_code (*krb5_cc_resolve_fn)(krb5_context, const char*, krb5_ccache*);
typedef krb5_error_code (*krb5_cc_close_fn)(krb5_context, krb5_ccache);
typedef krb5_error_code (*krb5_cc_destroy_fn)(krb5_context, krb5_ccache);
typedef krb5_error_code (*krb5_kt_resolve_fn)(krb5_context, const char*, krb5_keytab*);
typedef krb5_error_code (*krb5_kt_close_fn)(krb5_context, krb5_keytab);
typedef krb5_error_code (*krb5_parse_name_fn)(krb5_context, const char*, krb5_principal*);
typedef const char* (*krb5_cc_default_name_fn)(krb5_context);
typedef void (*krb5_free_principal_fn)(krb5_context, krb5_principal);
typedef OM_uint32 (*gss_krb5_import_cred_fn)(OM_uint32*, krb5_ccache, krb5_principal, krb5_keytab, gss_cred_id_t*);
typedef OM_uint32 (*gss_krb5_copy_ccache_fn)(OM_uint32*, gss_cred_id_t, krb5_ccache);
