#include "vault/vault.h"

#include "util/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY_BYTES   crypto_aead_xchacha20poly1305_ietf_KEYBYTES
#define NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_BYTES   crypto_aead_xchacha20poly1305_ietf_ABYTES
#define VERSION     1
#define HEADER      (1 + NONCE_BYTES)

static const unsigned char ad[] = "mailroom-vault-v1";
static const char check_text[] = "mailroom key check";

struct mr_vault {
    unsigned char *key; /* sodium_malloc'd */
    char *source;
};

static int parse_hex_key(const char *hex, unsigned char *key)
{
    size_t bin_len = 0;
    const char *end = NULL;
    if (sodium_hex2bin(key, KEY_BYTES, hex, strlen(hex), NULL, &bin_len, &end) != 0)
        return -1;
    while (end && (*end == '\n' || *end == '\r' || *end == ' '))
        end++;
    return bin_len == KEY_BYTES && end && *end == '\0' ? 0 : -1;
}

static int read_key_file(struct mr_vault *v, const char *path, mr_error *err)
{
    struct stat st;
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return mr_error_set(err, MR_EVAULT, "master key", "cannot open %s: %s", path,
                            strerror(errno));
    char text[2 * KEY_BYTES + 8] = "";
    ssize_t n = fstat(fd, &st) == 0 ? read(fd, text, sizeof(text) - 1) : -1;
    close(fd);
    int rc = 0;
    if (n < 0)
        rc = mr_error_set(err, MR_EVAULT, "master key", "cannot read %s", path);
    else if (st.st_mode & 077)
        rc = mr_error_set(err, MR_EVAULT, "master key",
                          "%s is readable by other users (mode %04o); run: chmod 600 %s", path,
                          (unsigned)(st.st_mode & 07777), path);
    else if (parse_hex_key(text, v->key) != 0)
        rc = mr_error_set(err, MR_EVAULT, "master key",
                          "%s does not hold a master key (64 hex digits)", path);
    sodium_memzero(text, sizeof(text));
    return rc;
}

static int write_key_file(struct mr_vault *v, const char *dir, const char *path, mr_error *err)
{
    char hex[2 * KEY_BYTES + 2];
    randombytes_buf(v->key, KEY_BYTES);
    sodium_bin2hex(hex, sizeof(hex), v->key, KEY_BYTES);
    strcat(hex, "\n");
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    int ok = fd >= 0 && write(fd, hex, strlen(hex)) == (ssize_t)strlen(hex) && fsync(fd) == 0;
    int saved = errno;
    sodium_memzero(hex, sizeof(hex));
    if (fd >= 0)
        close(fd);
    if (!ok) {
        if (fd >= 0)
            unlink(path);
        return mr_error_set(err, MR_EVAULT, "master key", "cannot create %s: %s", path,
                            strerror(saved));
    }
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) { /* make the new name durable too */
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

static int load_key(struct mr_vault *v, const char *dir, int create, mr_error *err)
{
    const char *env = getenv(MR_VAULT_KEY_ENV);
    if (env && *env) {
        v->source = mr_xstrdup("$" MR_VAULT_KEY_ENV);
        if (parse_hex_key(env, v->key) != 0)
            return mr_error_set(err, MR_EVAULT, "master key",
                                "$%s is not a master key (64 hex digits)", MR_VAULT_KEY_ENV);
        return 0;
    }
    v->source = mr_xasprintf("%s/%s", dir, MR_VAULT_KEY_FILE);
    if (access(v->source, F_OK) == 0)
        return read_key_file(v, v->source, err);
    if (!create)
        return mr_error_set(err, MR_EVAULT, "master key",
                            "no master key: %s does not exist and $%s is not set; the secrets "
                            "in this store cannot be opened without the key they were sealed with",
                            v->source, MR_VAULT_KEY_ENV);
    return write_key_file(v, dir, v->source, err);
}

int mr_vault_open(struct mr_vault **out, const char *dir, int create, mr_error *err)
{
    *out = NULL;
    if (sodium_init() < 0)
        return mr_error_set(err, MR_EVAULT, "", "libsodium could not be initialised");
    struct mr_vault *v = mr_xcalloc(1, sizeof(*v));
    v->key = sodium_malloc(KEY_BYTES);
    if (!v->key) {
        free(v);
        return mr_error_set(err, MR_EVAULT, "", "cannot allocate protected memory for the key");
    }
    int rc = load_key(v, dir, create, err);
    if (rc)
        mr_vault_close(&v);
    *out = v;
    return rc;
}

void mr_vault_close(struct mr_vault **vp)
{
    struct mr_vault *v = *vp;
    if (!v)
        return;
    sodium_free(v->key);
    free(v->source);
    free(v);
    *vp = NULL;
}

const char *mr_vault_key_source(const struct mr_vault *v)
{
    return v->source;
}

int mr_vault_seal(struct mr_vault *v, const void *plain, size_t len, struct mr_buf *out,
                  mr_error *err)
{
    unsigned char header[HEADER];
    header[0] = VERSION;
    randombytes_buf(header + 1, NONCE_BYTES);
    unsigned char *cipher = mr_xmalloc(len + TAG_BYTES);
    unsigned long long clen = 0;
    crypto_aead_xchacha20poly1305_ietf_encrypt(cipher, &clen, plain, len, ad, sizeof(ad) - 1, NULL,
                                               header + 1, v->key);
    mr_buf_reset(out);
    int rc = mr_buf_append(out, header, HEADER);
    if (rc == 0)
        rc = mr_buf_append(out, cipher, (size_t)clen);
    free(cipher);
    if (rc)
        return mr_error_set(err, rc, "password", "the secret is too big to seal");
    return 0;
}

int mr_vault_unseal(struct mr_vault *v, const void *sealed, size_t len, struct mr_secret **out,
                    mr_error *err)
{
    const unsigned char *in = sealed;
    *out = NULL;
    if (len < HEADER + TAG_BYTES || in[0] != VERSION)
        return mr_error_set(err, MR_EVAULT, "", "a sealed secret is damaged (bad header)");
    size_t plen = len - HEADER - TAG_BYTES;
    struct mr_secret *s = mr_xcalloc(1, sizeof(*s));
    s->data = sodium_malloc(plen + 1);
    if (!s->data) {
        free(s);
        return mr_error_set(err, MR_EVAULT, "", "cannot allocate protected memory");
    }
    unsigned long long got = 0;
    if (crypto_aead_xchacha20poly1305_ietf_decrypt((unsigned char *)s->data, &got, NULL,
                                                   in + HEADER, len - HEADER, ad, sizeof(ad) - 1,
                                                   in + 1, v->key) != 0) {
        mr_secret_free(&s);
        return mr_error_set(err, MR_EVAULT, "",
                            "a secret cannot be opened with the master key from %s: the key is "
                            "wrong or the secret was tampered with",
                            v->source);
    }
    s->data[got] = '\0';
    s->len = (size_t)got;
    *out = s;
    return 0;
}

struct mr_secret *mr_secret_dup(const char *text, size_t len)
{
    struct mr_secret *s = mr_xcalloc(1, sizeof(*s));
    s->data = sodium_malloc(len + 1);
    if (!s->data)
        abort(); /* as mr_xmalloc does when memory runs out */
    memcpy(s->data, text, len);
    s->data[len] = '\0';
    s->len = len;
    return s;
}

void mr_secret_free(struct mr_secret **sp)
{
    struct mr_secret *s = *sp;
    if (!s)
        return;
    sodium_free(s->data); /* wipes before freeing */
    free(s);
    *sp = NULL;
}

int mr_vault_make_check(struct mr_vault *v, struct mr_buf *out, mr_error *err)
{
    return mr_vault_seal(v, check_text, sizeof(check_text) - 1, out, err);
}

int mr_vault_verify_check(struct mr_vault *v, const void *check, size_t len, mr_error *err)
{
    struct mr_secret *s = NULL;
    int rc = mr_vault_unseal(v, check, len, &s, err);
    int ok =
        rc == 0 && s->len == sizeof(check_text) - 1 && memcmp(s->data, check_text, s->len) == 0;
    mr_secret_free(&s);
    if (!ok)
        return mr_error_set(err, MR_EVAULT, "master key",
                            "wrong master key: the key from %s is not the one this store's "
                            "secrets were sealed with",
                            v->source);
    return 0;
}
