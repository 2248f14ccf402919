#include "CEarshotShims.h"
#include <stdio.h>
#include <openssl/ec.h>

int earshot_opus_encoder_set_int(OpusEncoder *encoder, int request, int value) {
    return opus_encoder_ctl(encoder, request, value);
}
int earshot_opus_encoder_get_int(OpusEncoder *encoder, int request, int *value) {
    return opus_encoder_ctl(encoder, request, value);
}
int earshot_opus_decoder_set_int(OpusDecoder *decoder, int request, int value) {
    return opus_decoder_ctl(decoder, request, value);
}
int earshot_opus_decoder_get_int(OpusDecoder *decoder, int request, int *value) {
    return opus_decoder_ctl(decoder, request, value);
}
int earshot_opus_decoder_reset(OpusDecoder *decoder) {
    return opus_decoder_ctl(decoder, OPUS_RESET_STATE);
}

int earshot_ssl_ctx_set_dtls12_only(SSL_CTX *ctx) {
    return SSL_CTX_set_min_proto_version(ctx, DTLS1_2_VERSION) && SSL_CTX_set_max_proto_version(ctx, DTLS1_2_VERSION);
}
int earshot_ssl_ctx_set_groups(SSL_CTX *ctx, const char *groups) {
    return (int)SSL_CTX_set1_groups_list(ctx, groups);
}
int earshot_ssl_set_mtu(SSL *ssl, long mtu) {
    return (int)SSL_set_mtu(ssl, mtu);
}
long earshot_ssl_set_no_query_mtu(SSL *ssl) {
    return (long)SSL_set_options(ssl, SSL_OP_NO_QUERY_MTU);
}
int earshot_dtls_get_timeout(SSL *ssl, long *seconds, long *microseconds) {
    struct timeval tv = {0, 0};
    int running = (int)DTLSv1_get_timeout(ssl, &tv);
    *seconds = (long)tv.tv_sec;
    *microseconds = (long)tv.tv_usec;
    return running;
}
int earshot_dtls_handle_timeout(SSL *ssl) {
    return (int)DTLSv1_handle_timeout(ssl);
}
void earshot_bio_set_retry_read(BIO *bio) {
    BIO_set_retry_read(bio);
}
void earshot_bio_clear_retry_flags(BIO *bio) {
    BIO_clear_retry_flags(bio);
}
EVP_PKEY *earshot_generate_p256_key(void) {
    return EVP_EC_gen("P-256");
}

void earshot_line_buffer_stdout(void) {
    setvbuf(stdout, NULL, _IOLBF, 0);
}
