/*
 * Unit tests of ord_webhook (mod_orders/ord_webhook.h): the
 * OrdersWebhookSecret format, the Standard Webhooks signature, the headers
 * of one attempt, the retry schedule with its jitter and Retry-After, and
 * the verdict on one attempt (API.md section 6).
 *
 * The signature is checked against the specification's own test vector,
 * taken from github.com/standard-webhooks/standard-webhooks,
 * libraries/javascript/src/webhook.test.ts, test "sign function works"
 * (the same vector is in libraries/python/tests/test_webhooks.py
 * test_sign_function and libraries/go/webhook_test.go TestWebhookSign):
 * secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw, id
 * msg_p5jXN8AQM9LWM0D4loKWxJek, timestamp 1614265330, payload
 * {"test": 2432232314}, v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=.
 * The other signatures were computed apart from this code, with Python's
 * hmac and base64 modules.
 *
 * The unit takes `now` and its random number as parameters, so every row
 * is exact: no clock, no randomness.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "unit_support.h"

#include <apr_strings.h>
#include <apr_time.h>

#include "ord_webhook.h"

#define S(n)   apr_time_from_sec(n)
#define RMAX   APR_UINT32_MAX
/* The specification's test vector (see the top of the file). */
#define SW_SECRET  "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SW_HEX     "31f290f6bf06298aab4f08d43c3f082cf648a362da2da4b0"
#define SW_ID      "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define SW_TS      1614265330
#define SW_BODY    "{\"test\": 2432232314}"
#define SW_SIG     "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
/* 64 bytes 00 01 .. 3f, and the vector's message signed with it. */
#define K64        "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIj" \
                   "JCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw=="
#define K64_SW_SIG "v1,LZ5zuwHTqQH3VM8ERUusjzVQq1FXzemvpR8Mk7Ivp5c="
/* 25 bytes 64 65 .. 7c ("==" padding) and 24 bytes fb ff bf ... (+ and /). */
#define K25        "whsec_ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fA=="
#define K25_HEX    "6465666768696a6b6c6d6e6f707172737475767778797a7b7c"
#define KPS        "whsec_+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/+/"
#define KPS_HEX    "fbffbffbffbffbffbffbffbffbffbffbffbffbffbffbffbf"

static const char *hex(apr_pool_t *p, const unsigned char *b, apr_size_t n)
{
    char *out = apr_palloc(p, n * 2 + 1);
    apr_size_t i;

    for (i = 0; i < n; i++) {
        apr_snprintf(out + i * 2, 3, "%02x", b[i]);
    }
    out[n * 2] = '\0';
    return out;
}

/* NULL when `error` holds `says` (and `also`, when given). */
static const char *message_lacks(apr_pool_t *p, const char *error,
                                 const char *says, const char *also)
{
    if (!error || (says && !strstr(error, says))
        || (also && !strstr(error, also))) {
        return apr_psprintf(p, "message \"%s\" should say \"%s\"%s%s%s",
                            unit_show(error), unit_show(says),
                            also ? " and \"" : "", also ? also : "",
                            also ? "\"" : "");
    }
    return NULL;
}

/* A message for configtest (and the error log) must never quote the
 * secret: NULL when no 8 consecutive characters of it appear. */
static const char *message_quotes(apr_pool_t *p, const char *error,
                                  const char *secret)
{
    apr_size_t i, n = secret ? strlen(secret) : 0;

    for (i = 0; error && i + 8 <= n; i++) {
        if (strstr(error, apr_pstrndup(p, secret + i, 8))) {
            return apr_psprintf(p, "message \"%s\" quotes the secret", error);
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Secrets                                                             */
/* ------------------------------------------------------------------ */

typedef struct {
    const char *name;
    const char *text;       /* "<<u*N>>": N copies of u (unit_spell) */
    apr_size_t len;         /* accepted: the decoded length; 0: refused */
    const char *bytes_hex;  /* accepted: the bytes (NULL: length only) */
    const char *says;       /* refused: what the message must hold */
    const char *also;       /* refused: and this too (NULL: nothing more) */
} secret_case_t;

#define TAKES(len, bytes_hex) len, bytes_hex, NULL, NULL
#define REFUSED(says, also)   0, NULL, says, also

static const secret_case_t secret_cases[] = {
    { "the specification's test secret, 24 bytes", SW_SECRET,
      TAKES(24, SW_HEX) },
    { "25 bytes padded with ==", K25, TAKES(25, K25_HEX) },
    { "25 bytes unpadded", "whsec_ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fA",
      TAKES(25, K25_HEX) },
    { "26 bytes padded with =", "whsec_yMnKy8zNzs/Q0dLT1NXW19jZ2tvc3d7f4OE=",
      TAKES(26, "c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1") },
    { "26 bytes unpadded", "whsec_yMnKy8zNzs/Q0dLT1NXW19jZ2tvc3d7f4OE",
      TAKES(26, "c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1") },
    { "+ and / of the standard alphabet", KPS, TAKES(24, KPS_HEX) },
    { "64 bytes, the specification's largest", K64,
      TAKES(64, "000102030405060708090a0b0c0d0e0f"
                "101112131415161718191a1b1c1d1e1f"
                "202122232425262728292a2b2c2d2e2f"
                "303132333435363738393a3b3c3d3e3f") },
    { "1024 bytes, the sanity ceiling", "whsec_<<AAAA*341>>AA==",
      TAKES(1024, NULL) },

    { "NULL", NULL, REFUSED("the secret is empty", "whsec_") },
    { "empty", "", REFUSED("the secret is empty", "24 to 1024") },
    { "no prefix", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
      REFUSED("must start with whsec_", NULL) },
    { "prefix in capitals", "WHSEC_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
      REFUSED("must start with whsec_", NULL) },
    { "another scheme's prefix", "whsk_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
      REFUSED("must start with whsec_", NULL) },
    { "prefix only", "whsec_", REFUSED("nothing after whsec_", NULL) },
    { "URL-safe alphabet", "whsec_-_-_-_-_-_-_-_-_-_-_-_-_-_-_-_",
      REFUSED("'-' at character 7", "URL-safe") },
    { "URL-safe underscore later", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa_w",
      REFUSED("'_' at character 37", "URL-safe") },
    { "a space inside", "whsec_MfKQ9r8GKYqrTwjU PD8ILPZIo2LaLaSw",
      REFUSED("a space at character 23", "not standard base64") },
    { "a tab at the end", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\t",
      REFUSED("a tab at character 39", NULL) },
    { "a non-ASCII byte", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLa\xc3\xa9",
      REFUSED("byte 0xC3 at character 37", NULL) },
    { "'=' inside", "whsec_MfKQ9r8GKYqrTwjU=PD8ILPZIo2LaLaSw",
      REFUSED("'=' at character 23", "only pads the end") },
    { "three '='", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS===",
      REFUSED("ends in 3 '='", "at most two") },
    { "only '='", "whsec_==", REFUSED("not whole base64", NULL) },
    { "one character over a group", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwA",
      REFUSED("not whole base64", "33 characters") },
    { "padding that makes no whole group",
      "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSwAA=",
      REFUSED("not whole base64", "not a multiple of 4") },
    { "23 bytes, one short", "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRY=",
      REFUSED("decodes to 23 bytes", "24 to 1024") },
    { "23 bytes unpadded", "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRY",
      REFUSED("decodes to 23 bytes", NULL) },
    { "a password, not base64 of random bytes", "whsec_hunter2",
      REFUSED("decodes to 5 bytes", NULL) },
    { "1025 bytes", "whsec_<<AAAA*341>>AAA=",
      REFUSED("decodes to 1025 bytes", NULL) },
};

static const char *check_secret_case(const unit_ctx_t *c, const void *r)
{
    const secret_case_t *row = r;
    apr_pool_t *p = c->pool;
    const char *text = unit_spell(p, row->text);
    const char *error = NULL, *why;
    ord_webhook_key_t key = { (const unsigned char *)"untouched", 9 };
    apr_status_t rv;

    rv = ord_webhook_secret_parse(p, text, &key, &error);
    if (row->len) {
        if (rv != APR_SUCCESS) {
            return apr_psprintf(p, "refused (rv %d): %s", rv,
                                unit_show(error));
        }
        if (key.len != row->len) {
            return apr_psprintf(p, "%" APR_SIZE_T_FMT " bytes, want %"
                                APR_SIZE_T_FMT, key.len, row->len);
        }
        if (row->bytes_hex
            && strcmp(hex(p, key.bytes, key.len), row->bytes_hex) != 0) {
            return apr_psprintf(p, "bytes %s, want %s",
                                hex(p, key.bytes, key.len), row->bytes_hex);
        }
        return NULL;
    }
    if (rv != APR_EINVAL) {
        return apr_psprintf(p, "rv %d, want APR_EINVAL", rv);
    }
    if (key.len != 9 || strcmp((const char *)key.bytes, "untouched") != 0) {
        return "the key was set on a failure";
    }
    why = message_lacks(p, error, row->says, row->also);
    /* What follows "whsec_" (or the whole text, when it lacks it). */
    return why ? why : message_quotes(p, error,
                                      text && strlen(text) > 6 ? text + 6
                                                               : text);
}

UNIT_TABLE_TEST(test_secrets, secret_cases, check_secret_case)

typedef struct {
    const char *name;
    const char *first;
    const char *second;     /* NULL: one secret */
    int count;              /* accepted: how many keys; 0: refused */
    const char *says;       /* refused: what the message must hold */
    const char *lacks;      /* refused: what it must not hold (or NULL) */
} keys_case_t;

static const keys_case_t keys_cases[] = {
    { "one secret", SW_SECRET, NULL, 1, NULL, NULL },
    { "two secrets in a rotation", SW_SECRET, K64, 2, NULL, NULL },
    { "two secrets the other way round", K64, SW_SECRET, 2, NULL, NULL },
    { "one bad secret alone", "whsec_", NULL, 0, "the secret has nothing",
      "first" },
    { "the first of two is bad", "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", K64, 0,
      "the first secret must start with whsec_", NULL },
    { "the second of two is bad", SW_SECRET, "whsec_hunter2", 0,
      "the second secret decodes to 5 bytes", NULL },
    { "the same secret twice", SW_SECRET, SW_SECRET, 0,
      "the two secrets are the same", NULL },
    { "the same bytes spelled with and without padding", K25,
      "whsec_ZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXp7fA", 0,
      "the two secrets are the same", NULL },
};

static const char *check_keys_case(const unit_ctx_t *c, const void *r)
{
    const keys_case_t *row = r;
    apr_pool_t *p = c->pool;
    ord_webhook_keys_t keys, untouched;
    const char *error = NULL, *why;
    apr_status_t rv;

    memset(&keys, 0x5a, sizeof(keys));
    rv = ord_webhook_keys_parse(p, row->first, row->second, &keys, &error);
    if (row->count) {
        ord_webhook_key_t k0, k1;

        if (rv != APR_SUCCESS) {
            return apr_psprintf(p, "refused (rv %d): %s", rv,
                                unit_show(error));
        }
        if (keys.count != row->count) {
            return apr_psprintf(p, "%d keys, want %d", keys.count,
                                row->count);
        }
        /* Each key is the one its argument names, in argument order. */
        if (ord_webhook_secret_parse(p, row->first, &k0, &error)
            != APR_SUCCESS || k0.len != keys.key[0].len
            || memcmp(k0.bytes, keys.key[0].bytes, k0.len) != 0) {
            return "key 0 is not the first argument's";
        }
        if (row->second
            && (ord_webhook_secret_parse(p, row->second, &k1, &error)
                != APR_SUCCESS || k1.len != keys.key[1].len
                || memcmp(k1.bytes, keys.key[1].bytes, k1.len) != 0)) {
            return "key 1 is not the second argument's";
        }
        return NULL;
    }
    memset(&untouched, 0x5a, sizeof(untouched));
    if (rv != APR_EINVAL) {
        return apr_psprintf(p, "rv %d, want APR_EINVAL", rv);
    }
    if (memcmp(&keys, &untouched, sizeof(keys)) != 0) {
        return "the keys were set on a failure";
    }
    why = message_lacks(p, error, row->says, NULL);
    if (!why && row->lacks && strstr(error, row->lacks)) {
        why = apr_psprintf(p, "message \"%s\" should not say \"%s\"", error,
                           row->lacks);
    }
    return why;
}

UNIT_TABLE_TEST(test_keys, keys_cases, check_keys_case)

/* ------------------------------------------------------------------ */
/* Signatures                                                          */
/* ------------------------------------------------------------------ */

typedef struct {
    const char *name;
    const char *first;
    const char *second;     /* NULL: one secret */
    const char *id;
    apr_int64_t timestamp;
    const char *body;
    apr_size_t body_len;
    const char *signature;
} sign_case_t;

#define SW_MSG SW_ID, SW_TS, SW_BODY, sizeof(SW_BODY) - 1

static const sign_case_t sign_cases[] = {
    { "the specification's test vector", SW_SECRET, NULL, SW_MSG, SW_SIG },
    { "a 64-byte key", K64, NULL, SW_MSG, K64_SW_SIG },
    { "two keys: one v1 each, in order, one space", SW_SECRET, K64, SW_MSG,
      SW_SIG " " K64_SW_SIG },
    { "two keys the other way round", K64, SW_SECRET, SW_MSG,
      K64_SW_SIG " " SW_SIG },
    { "a key using + and /", KPS, NULL, "evt_01JD", 1700000000,
      "{\"id\":\"evt_01JD\"}", 17,
      "v1,nND90A5PyQF8rI/naLspl+5IamEzlS+rJ9WpHsyzmBk=" },
    { "a 25-byte key", K25, NULL, "evt_01JD", 1700000000,
      "{\"id\":\"evt_01JD\"}", 17,
      "v1,iO0b8tfz0fhkXiwHCju6rHjrvOxTj5aLVYGA1CTgeYI=" },
    { "an empty body at time 0", SW_SECRET, NULL, "evt_01", 0, "", 0,
      "v1,7uqMRO5FnyLc65W7iMCfxk2eaO+WrXuLyTEEEHQfWUY=" },
    /* The body is bytes: a NUL does not end it. */
    { "a body holding UTF-8 and a NUL", SW_SECRET, NULL, "evt_01",
      1614265330, "{\"a\":\"\xc3\xab\0z\"}", 12,
      "v1,7U3j34r6Saan7jjEg0JhDkzfLDFC3zmq7M4hI/CXSH0=" },
};

static const char *check_sign_case(const unit_ctx_t *c, const void *r)
{
    const sign_case_t *row = r;
    apr_pool_t *p = c->pool;
    ord_webhook_keys_t keys;
    const char *error = NULL, *sig = NULL;
    apr_status_t rv;

    if (ord_webhook_keys_parse(p, row->first, row->second, &keys, &error)
        != APR_SUCCESS) {
        return apr_psprintf(p, "the row's secrets: %s", unit_show(error));
    }
    rv = ord_webhook_sign(p, &keys, row->id, row->timestamp, row->body,
                          row->body_len, &sig);
    if (rv != APR_SUCCESS) {
        return apr_psprintf(p, "rv %d", rv);
    }
    if (!unit_same(sig, row->signature)) {
        return apr_psprintf(p, "signature %s, want %s", unit_show(sig),
                            row->signature);
    }
    return NULL;
}

UNIT_TABLE_TEST(test_signatures, sign_cases, check_sign_case)

typedef struct {
    const char *name;
    int count;              /* keys handed in (0: none) */
    const char *id;
    apr_int64_t timestamp;
    const char *body;
    apr_size_t body_len;
} sign_bad_case_t;

static const sign_bad_case_t sign_bad_cases[] = {
    { "an id with a '.' (the signed content splits on it)", 1, "evt.1", 1,
      "{}", 2 },
    { "an id that is only a '.'", 1, ".", 1, "{}", 2 },
    { "an empty id", 1, "", 1, "{}", 2 },
    { "no id", 1, NULL, 1, "{}", 2 },
    { "an id with a space", 1, "evt 1", 1, "{}", 2 },
    { "an id with CR LF (header injection)", 1, "evt1\r\nX-Evil: 1", 1, "{}",
      2 },
    { "an id with a non-ASCII byte", 1, "evt\xc3\xa9", 1, "{}", 2 },
    { "a negative timestamp", 1, "evt_1", -1, "{}", 2 },
    { "no key", 0, "evt_1", 1, "{}", 2 },
    { "a length without a body", 1, "evt_1", 1, NULL, 2 },
};

static const char *check_sign_bad_case(const unit_ctx_t *c, const void *r)
{
    const sign_bad_case_t *row = r;
    apr_pool_t *p = c->pool;
    ord_webhook_keys_t keys;
    const char *error = NULL, *sig = "untouched";
    apr_status_t rv;

    if (ord_webhook_keys_parse(p, SW_SECRET, NULL, &keys, &error)
        != APR_SUCCESS) {
        return unit_show(error);
    }
    keys.count = row->count;
    rv = ord_webhook_sign(p, &keys, row->id, row->timestamp, row->body,
                          row->body_len, &sig);
    if (rv != APR_EINVAL) {
        return apr_psprintf(p, "rv %d, want APR_EINVAL", rv);
    }
    return strcmp(sig, "untouched") == 0 ? NULL
                                         : "the signature was set";
}

UNIT_TABLE_TEST(test_signatures_refused, sign_bad_cases, check_sign_bad_case)

/* ------------------------------------------------------------------ */
/* The headers of one attempt                                          */
/* ------------------------------------------------------------------ */

/* The vector's attempt, made 0.999999 s into its second: the timestamp is
 * the whole seconds (truncated), and the signature covers that same
 * number. */
static void test_headers_of_an_attempt(void **state)
{
    apr_pool_t *p = unit_pool(state);
    static const char *const names[ORD_WEBHOOK_H_COUNT] = {
        "webhook-id", "webhook-timestamp", "webhook-signature",
        "Content-Type", "User-Agent",
    };
    static const char *const values[ORD_WEBHOOK_H_COUNT] = {
        SW_ID, "1614265330", SW_SIG, "application/json",
        "mod_orders/1.4.0-rc1",
    };
    ord_webhook_keys_t keys;
    ord_webhook_headers_t h;
    const char *error = NULL;
    int i;

    assert_int_equal(ord_webhook_keys_parse(p, SW_SECRET, NULL, &keys,
                                            &error), APR_SUCCESS);
    assert_int_equal(ord_webhook_headers(p, &keys, SW_ID,
                                         S(SW_TS) + 999999, SW_BODY,
                                         sizeof(SW_BODY) - 1, "1.4.0-rc1",
                                         &h), APR_SUCCESS);
    for (i = 0; i < ORD_WEBHOOK_H_COUNT; i++) {
        assert_string_equal(h.field[i].name, names[i]);
        assert_string_equal(h.field[i].value, values[i]);
    }
}

/* The same event on its next attempt: same id, new timestamp, new
 * signature; with two keys, two signatures. */
static void test_headers_of_a_retry_in_a_rotation(void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_webhook_keys_t keys;
    ord_webhook_headers_t first, retry;
    const char *error = NULL, *sig = NULL;

    assert_int_equal(ord_webhook_keys_parse(p, SW_SECRET, K64, &keys,
                                            &error), APR_SUCCESS);
    assert_int_equal(ord_webhook_headers(p, &keys, SW_ID, S(SW_TS), SW_BODY,
                                         sizeof(SW_BODY) - 1, "1", &first),
                     APR_SUCCESS);
    assert_string_equal(first.field[ORD_WEBHOOK_H_SIGNATURE].value,
                        SW_SIG " " K64_SW_SIG);
    assert_int_equal(ord_webhook_headers(p, &keys, SW_ID, S(SW_TS + 5),
                                         SW_BODY, sizeof(SW_BODY) - 1, "1",
                                         &retry), APR_SUCCESS);
    assert_string_equal(retry.field[ORD_WEBHOOK_H_ID].value, SW_ID);
    assert_string_equal(retry.field[ORD_WEBHOOK_H_TIMESTAMP].value,
                        "1614265335");
    assert_int_equal(ord_webhook_sign(p, &keys, SW_ID, SW_TS + 5, SW_BODY,
                                      sizeof(SW_BODY) - 1, &sig),
                     APR_SUCCESS);
    assert_string_equal(retry.field[ORD_WEBHOOK_H_SIGNATURE].value, sig);
    assert_string_not_equal(sig, first.field[ORD_WEBHOOK_H_SIGNATURE].value);
}

typedef struct {
    const char *name;
    const char *id;
    apr_time_t now;
    const char *version;
} headers_bad_case_t;

static const headers_bad_case_t headers_bad_cases[] = {
    { "an id with a '.'", "evt.1", S(SW_TS), "1.0" },
    { "an id with CR LF", "e\r\nX: 1", S(SW_TS), "1.0" },
    { "no id", NULL, S(SW_TS), "1.0" },
    { "a time before 1970", SW_ID, -1, "1.0" },
    { "no version", SW_ID, S(SW_TS), NULL },
    { "an empty version", SW_ID, S(SW_TS), "" },
    { "a version with a space", SW_ID, S(SW_TS), "1.0 beta" },
    { "a version with a '/'", SW_ID, S(SW_TS), "1/2" },
    { "a version with CR LF", SW_ID, S(SW_TS), "1\r\nX: 1" },
};

static const char *check_headers_bad_case(const unit_ctx_t *c, const void *r)
{
    const headers_bad_case_t *row = r;
    apr_pool_t *p = c->pool;
    ord_webhook_keys_t keys;
    ord_webhook_headers_t h, untouched;
    const char *error = NULL;
    apr_status_t rv;

    if (ord_webhook_keys_parse(p, SW_SECRET, NULL, &keys, &error)
        != APR_SUCCESS) {
        return unit_show(error);
    }
    memset(&h, 0x5a, sizeof(h));
    memset(&untouched, 0x5a, sizeof(untouched));
    rv = ord_webhook_headers(p, &keys, row->id, row->now, "{}", 2,
                             row->version, &h);
    if (rv != APR_EINVAL) {
        return apr_psprintf(p, "rv %d, want APR_EINVAL", rv);
    }
    return memcmp(&h, &untouched, sizeof(h)) == 0 ? NULL
                                                  : "the headers were set";
}

UNIT_TABLE_TEST(test_headers_refused, headers_bad_cases,
                check_headers_bad_case)

/* ------------------------------------------------------------------ */
/* The retry schedule                                                  */
/* ------------------------------------------------------------------ */

/* API.md's defaults, OrdersWebhookRetry 5 3600, OrdersWebhookAttempts 15. */
#define DEFAULTS S(5), S(3600)

typedef struct {
    const char *name;
    apr_interval_time_t min, max;
    int attempt;
    apr_uint32_t random;
    apr_interval_time_t delay;
} backoff_case_t;

static const backoff_case_t backoff_cases[] = {
    { "first retry, lowest draw: MIN", DEFAULTS, 2, 0, S(5) },
    { "first retry, highest draw: 2 MIN", DEFAULTS, 2, RMAX, S(10) },
    { "first retry, middle draw", DEFAULTS, 2, 0x80000000u, 7500000 },
    { "first retry, a quarter", DEFAULTS, 2, 0x40000000u, 6250000 },
    { "second retry doubles", DEFAULTS, 3, 0, S(10) },
    { "second retry doubles, high", DEFAULTS, 3, RMAX, S(20) },
    { "attempt 8", DEFAULTS, 8, 0, S(320) },
    { "attempt 10, high", DEFAULTS, 10, RMAX, S(2560) },
    { "attempt 11 reaches the cap, high", DEFAULTS, 11, RMAX, S(3600) },
    { "attempt 11 at the cap, low: MAX/2", DEFAULTS, 11, 0, S(1800) },
    { "attempt 15, the last of the default", DEFAULTS, 15, RMAX, S(3600) },
    { "attempt 1000: capped, no overflow", DEFAULTS, 1000, RMAX, S(3600) },
    { "attempt 1 counts as the first retry", DEFAULTS, 1, 0, S(5) },
    { "attempt 0 counts as the first retry", DEFAULTS, 0, RMAX, S(10) },
    { "a negative attempt counts as the first retry", DEFAULTS, -7, 0,
      S(5) },
    { "MIN == MAX: no jitter left", S(5), S(5), 2, RMAX, S(5) },
    { "MIN == MAX, later attempt", S(5), S(5), 9, 0, S(5) },
    { "MAX below 2 MIN: the window is [MIN, MAX]", S(5), S(7), 2, RMAX,
      S(7) },
    { "MAX below 2 MIN, low draw", S(5), S(7), 4, 0, S(5) },
    { "fractions of a second", 250000, S(1), 2, RMAX, 500000 },
    { "fractions at the cap", 250000, S(1), 4, 0, 500000 },
    { "a microsecond MIN", 1, S(60), 2, RMAX, 2 },
    { "MAX of 30 days, very late attempt", S(5), S(2592000), 100, RMAX,
      S(2592000) },
    { "MAX of 30 days, very late attempt, low", S(5), S(2592000), 100, 0,
      S(1296000) },
    { "the largest MAX there is", 1, APR_INT64_MAX, 100, RMAX,
      APR_INT64_MAX },
    { "the largest MAX there is, low", 1, APR_INT64_MAX, 100, 0,
      APR_INT64_MAX / 2 },
    { "MIN 0 counts as a microsecond", 0, S(1), 2, RMAX, 2 },
    { "MAX below MIN counts as MIN", S(5), S(1), 3, RMAX, S(5) },
};

static const char *check_backoff_case(const unit_ctx_t *c, const void *r)
{
    const backoff_case_t *row = r;
    apr_pool_t *p = c->pool;
    ord_webhook_policy_t policy = { row->min, row->max, 15 };
    apr_interval_time_t d = ord_webhook_backoff(&policy, row->attempt,
                                                row->random);

    if (d != row->delay) {
        return apr_psprintf(p, "%" APR_INT64_T_FMT " us, want %"
                            APR_INT64_T_FMT, (apr_int64_t)d,
                            (apr_int64_t)row->delay);
    }
    return NULL;
}

UNIT_TABLE_TEST(test_backoff, backoff_cases, check_backoff_case)

/* The jitter window of each attempt: the lowest draw gives `lo`, the
 * highest `hi`, and a sweep of draws (in order, and pseudo-random) stays
 * inside and never goes down as the draw goes up.  The default policy's
 * whole schedule is here. */
typedef struct {
    const char *name;
    apr_interval_time_t min, max;
    int attempt;
    apr_interval_time_t lo, hi;
} window_case_t;

static const window_case_t window_cases[] = {
    { "default, attempt 2", DEFAULTS, 2, S(5), S(10) },
    { "default, attempt 3", DEFAULTS, 3, S(10), S(20) },
    { "default, attempt 4", DEFAULTS, 4, S(20), S(40) },
    { "default, attempt 5", DEFAULTS, 5, S(40), S(80) },
    { "default, attempt 6", DEFAULTS, 6, S(80), S(160) },
    { "default, attempt 7", DEFAULTS, 7, S(160), S(320) },
    { "default, attempt 8", DEFAULTS, 8, S(320), S(640) },
    { "default, attempt 9", DEFAULTS, 9, S(640), S(1280) },
    { "default, attempt 10", DEFAULTS, 10, S(1280), S(2560) },
    { "default, attempt 11", DEFAULTS, 11, S(1800), S(3600) },
    { "default, attempt 12", DEFAULTS, 12, S(1800), S(3600) },
    { "default, attempt 13", DEFAULTS, 13, S(1800), S(3600) },
    { "default, attempt 14", DEFAULTS, 14, S(1800), S(3600) },
    { "default, attempt 15", DEFAULTS, 15, S(1800), S(3600) },
    { "MIN 1 MAX 3, first retry", S(1), S(3), 2, S(1), S(2) },
    { "MIN 1 MAX 3, doubling meets the cap", S(1), S(3), 3, 1500000, S(3) },
    { "MIN 1 MAX 3, capped", S(1), S(3), 4, 1500000, S(3) },
    { "MIN == MAX", S(2), S(2), 5, S(2), S(2) },
    { "odd microseconds", 3, 1001, 9, 384, 768 },
    { "odd microseconds, capped", 3, 1001, 10, 500, 1001 },
    { "30 days at the cap", S(5), S(2592000), 40, S(1296000), S(2592000) },
};

static const char *check_window_case(const unit_ctx_t *c, const void *r)
{
    const window_case_t *row = r;
    apr_pool_t *p = c->pool;
    ord_webhook_policy_t policy = { row->min, row->max, 15 };
    apr_interval_time_t d, prev;
    apr_uint32_t x = 2463534242u;   /* xorshift32 state: fixed, non-zero */
    apr_uint32_t draw;
    int k;

    d = ord_webhook_backoff(&policy, row->attempt, 0);
    if (d != row->lo) {
        return apr_psprintf(p, "lowest draw %" APR_INT64_T_FMT ", want %"
                            APR_INT64_T_FMT, (apr_int64_t)d,
                            (apr_int64_t)row->lo);
    }
    d = ord_webhook_backoff(&policy, row->attempt, RMAX);
    if (d != row->hi) {
        return apr_psprintf(p, "highest draw %" APR_INT64_T_FMT ", want %"
                            APR_INT64_T_FMT, (apr_int64_t)d,
                            (apr_int64_t)row->hi);
    }
    prev = row->lo;
    for (k = 0; k <= 1000; k++) {
        draw = (apr_uint32_t)((apr_uint64_t)RMAX * (apr_uint64_t)k / 1000);
        d = ord_webhook_backoff(&policy, row->attempt, draw);
        if (d < prev || d > row->hi) {
            return apr_psprintf(p, "draw %u gave %" APR_INT64_T_FMT
                                " after %" APR_INT64_T_FMT, draw,
                                (apr_int64_t)d, (apr_int64_t)prev);
        }
        prev = d;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        d = ord_webhook_backoff(&policy, row->attempt, x);
        if (d < row->lo || d > row->hi) {
            return apr_psprintf(p, "draw %u gave %" APR_INT64_T_FMT
                                ", outside the window", x, (apr_int64_t)d);
        }
    }
    return NULL;
}

UNIT_TABLE_TEST(test_jitter_windows, window_cases, check_window_case)

/* ------------------------------------------------------------------ */
/* Retry-After                                                         */
/* ------------------------------------------------------------------ */

/* Sun, 06 Nov 1994 08:49:37 GMT (RFC 9110's example date), plus half a
 * second: a date is whole seconds, `now` is not. */
#define NOW (S(784111777) + 500000)

typedef struct {
    const char *name;
    const char *value;      /* "<<u*N>>": N copies of u (unit_spell) */
    apr_interval_time_t delay;   /* -1: refused */
} retry_after_case_t;

static const retry_after_case_t retry_after_cases[] = {
    { "delay-seconds", "120", S(120) },
    { "zero", "0", 0 },
    { "leading zeros", "007", S(7) },
    { "surrounding spaces and tabs", " \t120\t ", S(120) },
    { "a day", "86400", S(86400) },
    { "huge: saturates", "99999999999999999999999999", S(10000000000) },
    { "a thousand digits: saturates", "<<9*1000>>", S(10000000000) },
    { "just below saturation", "9999999999", S(9999999999) },
    { "IMF-fixdate, 2 minutes ahead", "Sun, 06 Nov 1994 08:51:37 GMT",
      S(120) - 500000 },
    { "RFC 850 date", "Sunday, 06-Nov-94 08:51:37 GMT", S(120) - 500000 },
    { "asctime date", "Sun Nov  6 08:51:37 1994", S(120) - 500000 },
    { "a date in a later year", "Mon, 06 Nov 1995 08:49:37 GMT",
      S(365 * 86400) - 500000 },
    { "a date in the past: now", "Sun, 06 Nov 1994 08:48:37 GMT", 0 },
    { "a date this very second: now", "Sun, 06 Nov 1994 08:49:37 GMT", 0 },
    { "a date long past", "Thu, 01 Jan 1970 00:00:01 GMT", 0 },
    /* refused: the schedule decides */
    { "absent", NULL, -1 },
    { "empty", "", -1 },
    { "blank", "  \t ", -1 },
    { "negative", "-5", -1 },
    { "a plus sign", "+5", -1 },
    { "a fraction", "1.5", -1 },
    { "a unit", "5s", -1 },
    { "two numbers", "5 6", -1 },
    { "a hex number", "0x10", -1 },
    { "words", "soon", -1 },
    { "a malformed date", "Sun, 06 Nov 1994 25:61:37 GMT", -1 },
    { "a date without a time", "Sun, 06 Nov 1994", -1 },
    { "an ISO 8601 date", "1994-11-06T08:51:37Z", -1 },
    { "a date too long to be one", "Sun, 06 Nov 1994 08:51:37 GMT<<x*64>>",
      -1 },
};

static const char *check_retry_after_case(const unit_ctx_t *c, const void *r)
{
    const retry_after_case_t *row = r;
    apr_pool_t *p = c->pool;
    apr_interval_time_t d = -42;
    apr_status_t rv;

    rv = ord_webhook_retry_after_parse(unit_spell(p, row->value), NOW, &d);
    if (row->delay < 0) {
        if (rv != APR_EINVAL || d != -42) {
            return apr_psprintf(p, "rv %d delay %" APR_INT64_T_FMT
                                ", want refused and untouched", rv,
                                (apr_int64_t)d);
        }
        return NULL;
    }
    if (rv != APR_SUCCESS || d != row->delay) {
        return apr_psprintf(p, "rv %d delay %" APR_INT64_T_FMT ", want %"
                            APR_INT64_T_FMT, rv, (apr_int64_t)d,
                            (apr_int64_t)row->delay);
    }
    return NULL;
}

UNIT_TABLE_TEST(test_retry_after, retry_after_cases, check_retry_after_case)

/* The delay the delivery uses: the schedule, raised by a Retry-After on a
 * 429 or 503 only, always capped at MAX (defaults: 5 s .. 3600 s). */
typedef struct {
    const char *name;
    int attempt;
    apr_uint32_t random;
    int status;
    const char *retry_after;
    apr_interval_time_t delay;
} delay_case_t;

static const delay_case_t delay_cases[] = {
    { "503 asking for 2 minutes", 2, 0, 503, "120", S(120) },
    { "429 asking for 2 minutes", 2, 0, 429, "120", S(120) },
    { "429 with a date", 2, 0, 429, "Sun, 06 Nov 1994 08:51:37 GMT",
      S(120) - 500000 },
    { "503 asking for a day: MAX", 2, 0, 503, "86400", S(3600) },
    { "503 asking for exactly MAX", 2, 0, 503, "3600", S(3600) },
    { "503 asking for a huge delay: MAX", 2, 0, 503,
      "99999999999999999999999999", S(3600) },
    { "503 asking for 1 s: not sooner than the schedule", 2, 0, 503, "1",
      S(5) },
    { "503 asking for 0", 2, RMAX, 503, "0", S(10) },
    { "503 with a past date: the schedule", 2, 0, 503,
      "Sun, 06 Nov 1994 08:00:00 GMT", S(5) },
    { "503 with junk: the schedule", 2, RMAX, 503, "soon", S(10) },
    { "503 negative: the schedule", 2, 0, 503, "-120", S(5) },
    { "503 without the header", 3, 0, 503, NULL, S(10) },
    { "late attempt: Retry-After shorter than the schedule", 10, RMAX, 503,
      "120", S(2560) },
    { "late attempt: Retry-After longer than MAX", 12, 0, 429, "7200",
      S(3600) },
    { "500 with Retry-After: ignored", 2, 0, 500, "120", S(5) },
    { "502 with Retry-After: ignored", 2, 0, 502, "120", S(5) },
    { "301 with Retry-After: ignored", 2, 0, 301, "120", S(5) },
    { "no answer: the schedule", 2, 0, 0, "120", S(5) },
};

static const char *check_delay_case(const unit_ctx_t *c, const void *r)
{
    const delay_case_t *row = r;
    apr_pool_t *p = c->pool;
    ord_webhook_policy_t policy = { DEFAULTS, 15 };
    apr_interval_time_t d;

    d = ord_webhook_retry_delay(&policy, row->attempt, row->status,
                                row->retry_after, NOW, row->random);
    if (d != row->delay) {
        return apr_psprintf(p, "%" APR_INT64_T_FMT " us, want %"
                            APR_INT64_T_FMT, (apr_int64_t)d,
                            (apr_int64_t)row->delay);
    }
    return NULL;
}

UNIT_TABLE_TEST(test_retry_delay, delay_cases, check_delay_case)

/* ------------------------------------------------------------------ */
/* The verdict on one attempt                                          */
/* ------------------------------------------------------------------ */

#define DELIVERED ORD_WEBHOOK_DELIVERED
#define RETRY     ORD_WEBHOOK_RETRY
#define GIVE_UP   ORD_WEBHOOK_GIVE_UP

typedef struct {
    const char *name;
    int attempts;           /* OrdersWebhookAttempts */
    int attempt;
    int status;
    const char *retry_after;
    ord_webhook_verdict_e verdict;
    apr_interval_time_t delay;  /* with the lowest draw, defaults 5..3600 */
} judge_case_t;

static const judge_case_t judge_cases[] = {
    { "200 on the first attempt", 15, 1, 200, NULL, DELIVERED, 0 },
    { "204", 15, 1, 204, NULL, DELIVERED, 0 },
    { "299, the last 2xx", 15, 3, 299, NULL, DELIVERED, 0 },
    { "202 on the last attempt", 15, 15, 202, NULL, DELIVERED, 0 },
    { "200 past the last attempt still counts", 15, 16, 200, NULL,
      DELIVERED, 0 },
    { "500 on the first: retry after MIN", 15, 1, 500, NULL, RETRY, S(5) },
    { "500 on the second: the schedule doubles", 15, 2, 500, NULL, RETRY,
      S(10) },
    { "500 on the one before last", 15, 14, 500, NULL, RETRY, S(1800) },
    { "500 on the last: give up", 15, 15, 500, NULL, GIVE_UP, 0 },
    { "no answer (time-out, refused, TLS)", 15, 1, 0, NULL, RETRY, S(5) },
    { "no answer on the last", 15, 15, 0, NULL, GIVE_UP, 0 },
    { "410 Gone on the first: give up at once", 15, 1, 410, NULL, GIVE_UP,
      0 },
    { "410 Gone with a Retry-After", 15, 1, 410, "60", GIVE_UP, 0 },
    { "404", 15, 1, 404, NULL, RETRY, S(5) },
    { "400", 15, 1, 400, NULL, RETRY, S(5) },
    { "301 is a failure, not followed", 15, 1, 301, NULL, RETRY, S(5) },
    { "304", 15, 1, 304, NULL, RETRY, S(5) },
    { "199 is not 2xx", 15, 1, 199, NULL, RETRY, S(5) },
    { "300 is not 2xx", 15, 1, 300, NULL, RETRY, S(5) },
    { "100 Continue as a final answer", 15, 1, 100, NULL, RETRY, S(5) },
    { "429 with Retry-After", 15, 1, 429, "120", RETRY, S(120) },
    { "503 with Retry-After past MAX", 15, 1, 503, "86400", RETRY, S(3600) },
    { "503 with Retry-After on the last: give up", 15, 15, 503, "120",
      GIVE_UP, 0 },
    { "a status out of range counts as no answer", 15, 1, 2000, NULL, RETRY,
      S(5) },
    { "a status of 20 is not 2xx", 15, 1, 20, NULL, RETRY, S(5) },
    { "a negative status counts as no answer", 15, 1, -1, NULL, RETRY,
      S(5) },
    { "one attempt only: the first failure gives up", 1, 1, 500, NULL,
      GIVE_UP, 0 },
    { "attempts 0 counts as 1", 0, 1, 503, NULL, GIVE_UP, 0 },
    { "two attempts: the first retries", 2, 1, 503, NULL, RETRY, S(5) },
    { "past the last (redelivered): give up on failure", 15, 20, 500, NULL,
      GIVE_UP, 0 },
    { "the largest attempt number", 15, 2147483647, 500, NULL, GIVE_UP, 0 },
};

static const char *check_judge_case(const unit_ctx_t *c, const void *r)
{
    const judge_case_t *row = r;
    apr_pool_t *p = c->pool;
    ord_webhook_policy_t policy = { DEFAULTS, row->attempts };
    ord_webhook_outcome_t out;

    memset(&out, 0x5a, sizeof(out));
    ord_webhook_judge(&policy, row->attempt, row->status, row->retry_after,
                      NOW, 0, &out);
    if (out.verdict != row->verdict || out.delay != row->delay) {
        return apr_psprintf(p, "%s after %" APR_INT64_T_FMT " us, want %s "
                            "after %" APR_INT64_T_FMT " us",
                            ord_webhook_verdict_name(out.verdict),
                            (apr_int64_t)out.delay,
                            ord_webhook_verdict_name(row->verdict),
                            (apr_int64_t)row->delay);
    }
    return NULL;
}

UNIT_TABLE_TEST(test_judge, judge_cases, check_judge_case)

static void test_verdict_names(void **state)
{
    assert_string_equal(ord_webhook_verdict_name(ORD_WEBHOOK_DELIVERED),
                        "delivered");
    assert_string_equal(ord_webhook_verdict_name(ORD_WEBHOOK_RETRY),
                        "retry");
    assert_string_equal(ord_webhook_verdict_name(ORD_WEBHOOK_GIVE_UP),
                        "give up");
}

/* The default policy of API.md: the 14 retries span from 3.2 to 6.4 hours
 * before the 15th attempt's failure gives up, none sooner than 5 s after a
 * failure, none later than an hour. */
static void test_default_schedule_spans_hours(void **state)
{
    ord_webhook_policy_t policy = { ORD_WEBHOOK_DEFAULT_RETRY_MIN,
                                    ORD_WEBHOOK_DEFAULT_RETRY_MAX,
                                    ORD_WEBHOOK_DEFAULT_ATTEMPTS };
    apr_interval_time_t low = 0, high = 0;
    ord_webhook_outcome_t out;
    int attempt;

    for (attempt = 1; attempt < ORD_WEBHOOK_DEFAULT_ATTEMPTS; attempt++) {
        ord_webhook_judge(&policy, attempt, 503, NULL, NOW, 0, &out);
        assert_int_equal(out.verdict, ORD_WEBHOOK_RETRY);
        low += out.delay;
        ord_webhook_judge(&policy, attempt, 503, NULL, NOW, RMAX, &out);
        high += out.delay;
    }
    ord_webhook_judge(&policy, attempt, 503, NULL, NOW, RMAX, &out);
    assert_int_equal(out.verdict, ORD_WEBHOOK_GIVE_UP);
    /* 5+10+...+1280 + 5 x 1800 and 10+20+...+2560 + 5 x 3600 */
    assert_int_equal(low, S(2555 + 5 * 1800));
    assert_int_equal(high, S(5110 + 5 * 3600));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_secrets),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_signatures),
        cmocka_unit_test(test_signatures_refused),
        cmocka_unit_test(test_headers_of_an_attempt),
        cmocka_unit_test(test_headers_of_a_retry_in_a_rotation),
        cmocka_unit_test(test_headers_refused),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_jitter_windows),
        cmocka_unit_test(test_retry_after),
        cmocka_unit_test(test_retry_delay),
        cmocka_unit_test(test_judge),
        cmocka_unit_test(test_verdict_names),
        cmocka_unit_test(test_default_schedule_spans_hours),
    };

    return cmocka_run_group_tests(tests, unit_group_setup,
                                  unit_group_teardown);
}
