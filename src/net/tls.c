/* TLS as a layer of the connection (OpenSSL): TLS 1.2 at least, SNI, chain
 * verification against the system store plus an optional CA file, and host
 * name (or IP address) verification, unless the account skips them. */
#include "net/conn.h"

#include "util/clock.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

static void name_text(const X509_NAME *name, char *out, size_t size);

/* --- shared contexts and resumed sessions ------------------------------------
 * An SSL_CTX that verifies holds the whole system trust store: building one
 * per connection parsed ~140 certificates each time. Contexts are made once
 * per (verify, CA file and its mtime) and shared; OpenSSL makes SSL objects
 * from one context safely across threads. Sessions the server offers for
 * resumption (tickets) are kept per (host, port, verify, CA file): the next
 * check of that server skips the full handshake, on both sides. A resumed
 * session carries the certificate and verification result of the handshake
 * it came from, made under the same settings. */
#define TLS_CONTEXTS 32
#define TLS_SESSIONS 1024

static pthread_mutex_t tls_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    int verify;
    char *ca_file;
    time_t ca_mtime;
    SSL_CTX *ctx;
} contexts[TLS_CONTEXTS];
static struct {
    char *key;
    SSL_SESSION *session;
} sessions[TLS_SESSIONS];
static size_t next_session;
static int key_index = -1; /* SSL ex data: the connection's session key */
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void make_key_index(void)
{
    key_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

/* Keeps a session the server just issued (called by OpenSSL, any time
 * during the connection: TLS 1.3 tickets come after the handshake). */
static int keep_session(SSL *ssl, SSL_SESSION *session)
{
    const char *key = SSL_get_ex_data(ssl, key_index);
    if (!key || !SSL_SESSION_is_resumable(session))
        return 0;
    pthread_mutex_lock(&tls_lock);
    size_t slot = next_session;
    for (size_t i = 0; i < TLS_SESSIONS; i++) {
        if (sessions[i].key && strcmp(sessions[i].key, key) == 0) {
            slot = i;
            break;
        }
    }
    if (slot == next_session)
        next_session = (next_session + 1) % TLS_SESSIONS;
    if (sessions[slot].session)
        SSL_SESSION_free(sessions[slot].session);
    if (!sessions[slot].key || strcmp(sessions[slot].key, key) != 0) {
        free(sessions[slot].key);
        sessions[slot].key = strdup(key);
    }
    sessions[slot].session = session; /* we keep the reference OpenSSL gave */
    pthread_mutex_unlock(&tls_lock);
    return 1;
}

/* A session to resume for this key, with a reference for the caller. */
static SSL_SESSION *find_session(const char *key)
{
    SSL_SESSION *found = NULL;
    pthread_mutex_lock(&tls_lock);
    for (size_t i = 0; i < TLS_SESSIONS && !found; i++) {
        if (sessions[i].key && sessions[i].session && strcmp(sessions[i].key, key) == 0 &&
            SSL_SESSION_up_ref(sessions[i].session))
            found = sessions[i].session;
    }
    pthread_mutex_unlock(&tls_lock);
    return found;
}

static void free_ssl(SSL *ssl)
{
    free(SSL_get_ex_data(ssl, key_index));
    SSL_set_ex_data(ssl, key_index, NULL);
    SSL_free(ssl);
}

static int ssl_wait(struct mr_conn *c, SSL *ssl, int ret, const char *what, mr_error *err)
{
    switch (SSL_get_error(ssl, ret)) {
    case SSL_ERROR_WANT_READ:
        return mr_net_wait(c, POLLIN, what, err);
    case SSL_ERROR_WANT_WRITE:
        return mr_net_wait(c, POLLOUT, what, err);
    case SSL_ERROR_ZERO_RETURN:
        return mr_error_set(err, MR_ENET, "", "the server closed the TLS connection");
    case SSL_ERROR_SYSCALL:
        if (ERR_peek_error() == 0)
            return mr_error_set(err, MR_ENET, "", "the server closed the connection (%s)", what);
        /* fall through */
    default: {
        char text[256];
        ERR_error_string_n(ERR_get_error(), text, sizeof(text));
        ERR_clear_error();
        return mr_error_set(err, MR_ETLS, "", "%s: %s", what, text);
    }
    }
}

/* The layer's session: to the mail server, or, when only the proxy speaks
 * TLS, to the proxy. */
static SSL *top_ssl(const struct mr_conn *c)
{
    return c->tls ? c->tls : c->proxy_tls;
}

static int tls_read(struct mr_conn *c, void *buf, size_t cap, size_t *got, mr_error *err)
{
    SSL *ssl = top_ssl(c);
    for (;;) {
        size_t n = 0;
        int ret = SSL_read_ex(ssl, buf, cap, &n);
        if (ret == 1) {
            *got = n;
            return 0;
        }
        int rc = ssl_wait(c, ssl, ret, "waiting for the server", err);
        if (rc)
            return rc;
    }
}

static int tls_write(struct mr_conn *c, const void *buf, size_t n, mr_error *err)
{
    SSL *ssl = top_ssl(c);
    const char *p = buf;
    while (n > 0) {
        size_t w = 0;
        int ret = SSL_write_ex(ssl, p, n, &w);
        if (ret == 1) {
            p += w;
            n -= w;
            continue;
        }
        int rc = ssl_wait(c, ssl, ret, "sending to the server", err);
        if (rc)
            return rc;
    }
    return 0;
}

static void tls_close(struct mr_conn *c)
{
    /* best effort: one try each, the socket is non-blocking */
    if (c->tls) {
        SSL_shutdown(c->tls);
        free_ssl(c->tls);
        c->tls = NULL;
    }
    if (c->proxy_tls) {
        SSL_shutdown(c->proxy_tls);
        free_ssl(c->proxy_tls);
        c->proxy_tls = NULL;
    }
}

/* --- TLS inside the TLS to a proxy -----------------------------------------
 * An HTTP proxy reached over TLS tunnels the mail server's own TLS: the inner
 * session's records travel as data of the outer one. This BIO hands the inner
 * SSL's bytes to the outer SSL; when the outer one has to wait, the retry
 * flags say for what, and the caller polls the socket as usual. */
static int tunnel_write(BIO *b, const char *data, size_t n, size_t *written)
{
    SSL *outer = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    int ret = SSL_write_ex(outer, data, n, written);
    if (ret == 1)
        return 1;
    int e = SSL_get_error(outer, ret);
    if (e == SSL_ERROR_WANT_WRITE)
        BIO_set_retry_write(b);
    else if (e == SSL_ERROR_WANT_READ)
        BIO_set_retry_read(b);
    return 0;
}

static int tunnel_read(BIO *b, char *data, size_t n, size_t *got)
{
    SSL *outer = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    int ret = SSL_read_ex(outer, data, n, got);
    if (ret == 1)
        return 1;
    int e = SSL_get_error(outer, ret);
    if (e == SSL_ERROR_WANT_READ)
        BIO_set_retry_read(b);
    else if (e == SSL_ERROR_WANT_WRITE)
        BIO_set_retry_write(b);
    return 0;
}

static long tunnel_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b, (void)num, (void)ptr;
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int tunnel_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static BIO_METHOD *tunnel_method;
static pthread_once_t tunnel_once = PTHREAD_ONCE_INIT;

static void make_tunnel_method(void)
{
    tunnel_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "mailroom tunnel");
    if (!tunnel_method)
        return;
    BIO_meth_set_write_ex(tunnel_method, tunnel_write);
    BIO_meth_set_read_ex(tunnel_method, tunnel_read);
    BIO_meth_set_ctrl(tunnel_method, tunnel_ctrl);
    BIO_meth_set_create(tunnel_method, tunnel_create);
}

static const struct mr_conn_ops tls_ops = {tls_read, tls_write, tls_close};

static int is_ip_literal(const char *host)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/* Records the server certificate's names even when verification fails, so
 * the failing step can say which certificate it was. */
static int verify_cb(int ok, X509_STORE_CTX *store)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
    struct mr_tls_info *info = ssl ? SSL_get_app_data(ssl) : NULL;
    X509 *cert = X509_STORE_CTX_get_current_cert(store);
    if (info && cert && X509_STORE_CTX_get_error_depth(store) == 0) {
        name_text(X509_get_subject_name(cert), info->subject, sizeof(info->subject));
        name_text(X509_get_issuer_name(cert), info->issuer, sizeof(info->issuer));
    }
    return ok;
}

static SSL_CTX *new_context(const struct mr_tls_opts *o, mr_error *err)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (!ctx) {
        ERR_clear_error();
        mr_error_set(err, MR_ETLS, "", "cannot set up TLS (OpenSSL)");
        return NULL;
    }
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, keep_session);
    if (o->verify) {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
        SSL_CTX_set_default_verify_paths(ctx);
        if (o->ca_file && SSL_CTX_load_verify_locations(ctx, o->ca_file, NULL) != 1) {
            SSL_CTX_free(ctx);
            ERR_clear_error();
            mr_error_set(err, MR_ETLS, "", "cannot load the CA file %s", o->ca_file);
            return NULL;
        }
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    }
    return ctx;
}

/* The shared context for these settings, with a reference for the caller. */
static SSL_CTX *context_for(const struct mr_tls_opts *o, mr_error *err)
{
    const char *ca = o->verify && o->ca_file ? o->ca_file : "";
    struct stat st;
    time_t mtime = *ca && stat(ca, &st) == 0 ? st.st_mtime : 0;
    SSL_CTX *ctx = NULL;
    pthread_mutex_lock(&tls_lock);
    size_t i;
    for (i = 0; i < TLS_CONTEXTS && contexts[i].ctx; i++) {
        if (contexts[i].verify == !!o->verify && strcmp(contexts[i].ca_file, ca) == 0 &&
            contexts[i].ca_mtime == mtime)
            break;
    }
    if (i < TLS_CONTEXTS && contexts[i].ctx) {
        ctx = contexts[i].ctx;
        SSL_CTX_up_ref(ctx);
    }
    pthread_mutex_unlock(&tls_lock);
    if (ctx)
        return ctx;
    if (!(ctx = new_context(o, err)))
        return NULL;
    pthread_mutex_lock(&tls_lock);
    for (i = 0; i < TLS_CONTEXTS && contexts[i].ctx; i++)
        ;
    if (i < TLS_CONTEXTS) { /* when the table is full, this one is not shared */
        contexts[i].verify = !!o->verify;
        contexts[i].ca_file = strdup(ca);
        contexts[i].ca_mtime = mtime;
        contexts[i].ctx = ctx;
        SSL_CTX_up_ref(ctx);
    }
    pthread_mutex_unlock(&tls_lock);
    return ctx;
}

static SSL *make_ssl(const struct mr_conn *c, const struct mr_tls_opts *o, mr_error *err)
{
    pthread_once(&key_once, make_key_index);
    SSL_CTX *ctx = context_for(o, err);
    SSL *ssl = NULL;
    if (!ctx)
        return NULL;
    ssl = SSL_new(ctx);
    SSL_CTX_free(ctx); /* the SSL keeps its own reference */
    if (!ssl)
        goto fail;
    char key[768];
    snprintf(key, sizeof(key), "%d|%s|%s|%d", !!o->verify,
             o->verify && o->ca_file ? o->ca_file : "", o->host, c->port);
    SSL_set_ex_data(ssl, key_index, strdup(key));
    SSL_SESSION *resume = find_session(key);
    if (resume) {
        SSL_set_session(ssl, resume);
        SSL_SESSION_free(resume);
    }
    if (!is_ip_literal(o->host))
        SSL_set_tlsext_host_name(ssl, o->host);
    if (o->verify && is_ip_literal(o->host))
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), o->host);
    else if (o->verify) {
        SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
        SSL_set1_host(ssl, o->host);
    }
    return ssl;
fail:
    ERR_clear_error();
    mr_error_set(err, MR_ETLS, "", "cannot set up TLS (OpenSSL)");
    return NULL;
}

static void name_text(const X509_NAME *name, char *out, size_t size)
{
    BIO *b = BIO_new(BIO_s_mem());
    X509_NAME_print_ex(b, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    int n = BIO_read(b, out, (int)size - 1);
    out[n > 0 ? n : 0] = '\0';
    BIO_free(b);
}

static void fill_info(SSL *ssl, const struct mr_tls_opts *o, struct mr_tls_info *info)
{
    snprintf(info->version, sizeof(info->version), "%s", SSL_get_version(ssl));
    snprintf(info->cipher, sizeof(info->cipher), "%s", SSL_get_cipher_name(ssl));
    X509 *cert = SSL_get1_peer_certificate(ssl);
    if (cert) {
        name_text(X509_get_subject_name(cert), info->subject, sizeof(info->subject));
        name_text(X509_get_issuer_name(cert), info->issuer, sizeof(info->issuer));
        BIO *b = BIO_new(BIO_s_mem());
        ASN1_TIME_print(b, X509_get0_notAfter(cert));
        int n = BIO_read(b, info->not_after, (int)sizeof(info->not_after) - 1);
        info->not_after[n > 0 ? n : 0] = '\0';
        BIO_free(b);
        X509_free(cert);
    }
    long v = SSL_get_verify_result(ssl);
    info->skipped = !o->verify;
    info->verified = o->verify && v == X509_V_OK && cert;
    snprintf(info->verify_text, sizeof(info->verify_text), "%s",
             o->verify ? X509_verify_cert_error_string(v) : "not checked (skip certificate)");
}

static int handshake_failed(SSL *ssl, const struct mr_tls_opts *o, struct mr_tls_info *info, int rc,
                            mr_error *err)
{
    long v = SSL_get_verify_result(ssl);
    if (o->verify && v != X509_V_OK) {
        return mr_error_set(
            err, MR_ETLS, "",
            "certificate verification failed for %s: %s (subject %s, issuer %s); "
            "give the %s a CA file, or set Skip certificate to yes if you "
            "trust this %s",
            o->host, X509_verify_cert_error_string(v), info->subject[0] ? info->subject : "?",
            info->issuer[0] ? info->issuer : "?", o->proxy ? "network connector" : "account",
            o->proxy ? "proxy" : "server");
    }
    return rc;
}

/* --- a server that answers the handshake in plain text ----------------------
 * A plain-text port (143, 110) greets at once, so our ClientHello is
 * answered with "* OK ..." or "+OK ...": OpenSSL reads its first five bytes
 * as a record header and says "wrong version number". The first bytes the
 * server sent are kept (a callback on the socket BIO) to tell that case
 * apart and to quote the server. */
struct first_bytes {
    unsigned char data[80];
    size_t len;
};

static long keep_first_bytes(BIO *b, int oper, const char *argp, size_t len, int argi, long argl,
                             int ret, size_t *processed)
{
    (void)len, (void)argi, (void)argl;
    struct first_bytes *f = (struct first_bytes *)BIO_get_callback_arg(b);
    if (f && oper == (BIO_CB_READ | BIO_CB_RETURN) && ret > 0 && processed) {
        size_t n = *processed < sizeof(f->data) - f->len ? *processed : sizeof(f->data) - f->len;
        memcpy(f->data + f->len, argp, n);
        f->len += n;
    }
    return ret;
}

/* Whether the server's first bytes are text, not a TLS record (a record
 * starts with its type, 0x14 to 0x17, and version 3). */
static int looks_like_text(const struct first_bytes *f)
{
    if (f->len < 3 || (f->data[0] >= 0x14 && f->data[0] <= 0x17 && f->data[1] == 3))
        return 0;
    for (size_t i = 0; i < 3; i++)
        if (f->data[i] < 0x20 || f->data[i] > 0x7e)
            return 0;
    return 1;
}

/* The server's first line as far as it came: what the handshake read,
 * then what waits in the socket (peeked, not consumed). */
static void first_line(struct mr_conn *c, struct first_bytes *f, char *out, size_t size)
{
    if (!c->proxy_tls && f->len < sizeof(f->data)) {
        ssize_t n =
            recv(c->fd, f->data + f->len, sizeof(f->data) - f->len, MSG_PEEK | MSG_DONTWAIT);
        if (n > 0)
            f->len += (size_t)n;
    }
    size_t n = 0;
    for (; n < f->len && n + 1 < size && n < 60; n++) {
        unsigned char ch = f->data[n];
        if (ch == '\r' || ch == '\n')
            break;
        out[n] = ch >= 0x20 && ch <= 0x7e ? (char)ch : '?';
    }
    out[n] = '\0';
}

static int plain_text_answer(struct mr_conn *c, const struct mr_tls_opts *o, struct first_bytes *f,
                             mr_error *err)
{
    char said[64];
    first_line(c, f, said, sizeof(said));
    if (o->proxy)
        return mr_error_set(err, MR_ETLS, "",
                            "the proxy answered in plain text (\"%s\"): it does not speak TLS on "
                            "port %d; set the network connector's TLS to no",
                            said, c->port);
    if (o->implicit)
        return mr_error_set(err, MR_ETLS, "",
                            "the server answered in plain text: port %d does not speak implicit "
                            "TLS; use STARTTLS (security starttls) or the implicit-TLS port (993 "
                            "for IMAP, 995 for POP3)%s%s%s",
                            c->port, said[0] ? "; it said \"" : "", said, said[0] ? "\"" : "");
    return mr_error_set(err, MR_ETLS, "",
                        "the server agreed to STARTTLS, then answered the TLS handshake in plain "
                        "text (\"%s\")",
                        said);
}

static int wrong_version(void)
{
    return ERR_GET_LIB(ERR_peek_error()) == ERR_LIB_SSL &&
           ERR_GET_REASON(ERR_peek_error()) == SSL_R_WRONG_VERSION_NUMBER;
}

static int handshake(struct mr_conn *c, const struct mr_tls_opts *o, struct mr_tls_info *info,
                     SSL **out, mr_error *err)
{
    struct first_bytes first = {{0}, 0};
    struct mr_tls_info scratch;
    info = info ? info : &scratch;
    memset(info, 0, sizeof(*info));
    int64_t t0 = mr_now_ms();
    mr_conn_step(c, o->proxy ? "the TLS handshake with the proxy" : "the TLS handshake");
    SSL *ssl = make_ssl(c, o, err);
    if (!ssl)
        return MR_ETLS;
    if (c->proxy_tls) {
        pthread_once(&tunnel_once, make_tunnel_method);
        BIO *b = tunnel_method ? BIO_new(tunnel_method) : NULL;
        if (!b) {
            free_ssl(ssl);
            ERR_clear_error();
            return mr_error_set(err, MR_ETLS, "", "cannot set up TLS inside the proxy's TLS");
        }
        BIO_set_data(b, c->proxy_tls);
        SSL_set_bio(ssl, b, b);
    } else {
        SSL_set_fd(ssl, c->fd);
        BIO_set_callback_ex(SSL_get_rbio(ssl), keep_first_bytes);
        BIO_set_callback_arg(SSL_get_rbio(ssl), (char *)&first);
    }
    SSL_set_app_data(ssl, info);
    int ret, rc = 0;
    while ((ret = SSL_connect(ssl)) != 1) {
        c->bytes = BIO_number_read(SSL_get_rbio(ssl)); /* for the step's error */
        int text = SSL_get_error(ssl, ret) == SSL_ERROR_SSL &&
                   (wrong_version() || looks_like_text(&first));
        rc = ssl_wait(c, ssl, ret, "TLS handshake", err);
        if (rc && text)
            rc = plain_text_answer(c, o, &first, err);
        if (rc) {
            rc = handshake_failed(ssl, o, info, rc, err);
            free_ssl(ssl);
            return rc;
        }
    }
    if (!c->proxy_tls) { /* first lives on this stack */
        BIO_set_callback_ex(SSL_get_rbio(ssl), NULL);
        BIO_set_callback_arg(SSL_get_rbio(ssl), NULL);
    }
    info->handshake_ms = mr_now_ms() - t0;
    info->resumed = SSL_session_reused(ssl);
    fill_info(ssl, o, info);
    *out = ssl;
    c->ops = &tls_ops;
    return 0;
}

int mr_tls_start(struct mr_conn *c, const struct mr_tls_opts *o, struct mr_tls_info *info,
                 mr_error *err)
{
    SSL *ssl = NULL;
    int rc = handshake(c, o, info, &ssl, err);
    if (rc == 0)
        c->tls = ssl;
    return rc;
}

int mr_tls_start_proxy(struct mr_conn *c, const struct mr_tls_opts *o, struct mr_tls_info *info,
                       mr_error *err)
{
    SSL *ssl = NULL;
    int rc = handshake(c, o, info, &ssl, err);
    if (rc == 0) {
        SSL_set_mode(ssl, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
        c->proxy_tls = ssl;
    }
    return rc;
}

int mr_conn_pending(const struct mr_conn *c)
{
    if (c->tls && SSL_has_pending(top_ssl(c)))
        return 1;
    return c->proxy_tls && SSL_has_pending(c->proxy_tls);
}
