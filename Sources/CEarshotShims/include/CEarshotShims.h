// One-line wrappers for what Swift cannot call directly: variadic C functions
// (opus_encoder_ctl, opus_decoder_ctl) and OpenSSL's function-like macros.
// Nothing else belongs here: all logic lives in the Swift owners.
#ifndef CEARSHOT_SHIMS_H
#define CEARSHOT_SHIMS_H

#include <opus/opus.h>
#include <openssl/ssl.h>
#include <openssl/evp.h>

// libopus: the *_ctl functions are variadic.
int earshot_opus_encoder_set_int(OpusEncoder *encoder, int request, int value);
int earshot_opus_encoder_get_int(OpusEncoder *encoder, int request, int *value);
int earshot_opus_decoder_set_int(OpusDecoder *decoder, int request, int value);
int earshot_opus_decoder_get_int(OpusDecoder *decoder, int request, int *value);
int earshot_opus_decoder_reset(OpusDecoder *decoder);

// OpenSSL: function-like macros.
int earshot_ssl_ctx_set_dtls12_only(SSL_CTX *ctx);
int earshot_ssl_ctx_set_groups(SSL_CTX *ctx, const char *groups);
int earshot_ssl_set_mtu(SSL *ssl, long mtu);
long earshot_ssl_set_no_query_mtu(SSL *ssl);
int earshot_dtls_get_timeout(SSL *ssl, long *seconds, long *microseconds);
int earshot_dtls_handle_timeout(SSL *ssl);
void earshot_bio_set_retry_read(BIO *bio);
void earshot_bio_clear_retry_flags(BIO *bio);
EVP_PKEY *earshot_generate_p256_key(void);

// The time OpenSSL's DTLS timer sees on this thread, in microseconds (see virtual_clock.c).
void earshot_virtual_clock_enter(long long microseconds);
void earshot_virtual_clock_exit(void);

// Makes standard output line-buffered, so progress lines reach a file or a pipe as they are printed (Swift 6
// cannot touch the `stdout` global under strict concurrency).
void earshot_line_buffer_stdout(void);

#endif
