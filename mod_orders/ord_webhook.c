/*
 * ord_webhook: secrets, signatures, headers and retries of webhook
 * attempts.  See ord_webhook.h.
 */
#include <string.h>

#include <apr_base64.h>
#include <apr_date.h>
#include <apr_strings.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "ord_webhook.h"

#define PREFIX_LEN (sizeof(ORD_WEBHOOK_SECRET_PREFIX) - 1)
#define SHA256_BYTES 32
/* Retry-After seconds past this saturate (317 years: far above any MAX,
 * and its microseconds still fit in 64 bits). */
#define RETRY_AFTER_SATURATE_SEC APR_INT64_C(10000000000)

/* ---- secrets ----------------------------------------------------------- */

static int is_base64_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/* A character for a message: itself when visible, else its code, so that
 * a tab or a stray byte in a config line can be seen. */
static const char *show_char(apr_pool_t *p, char c)
{
    unsigned char u = (unsigned char)c;

    if (u == ' ') {
        return "a space";
    }
    if (u == '\t') {
        return "a tab";
    }
    if (u > 0x20 && u < 0x7f) {
        return apr_psprintf(p, "'%c'", c);
    }
    return apr_psprintf(p, "byte 0x%02X", u);
}

/* `noun` is "the secret", "the first secret" or "the second secret". */
static apr_status_t parse_secret(apr_pool_t *p, const char *noun,
                                 const char *text, ord_webhook_key_t *key,
                                 const char **error)
{
    const char *b64;
    apr_size_t n, pad = 0, data, len, i;
    unsigned char *bytes;
    int decoded;
    apr_status_t rv = APR_EINVAL;

    if (!text || !*text) {
        *error = apr_psprintf(p, "%s is empty: it must be %s followed by the "
                              "base64 of %d to %d random bytes", noun,
                              ORD_WEBHOOK_SECRET_PREFIX,
                              ORD_WEBHOOK_SECRET_MIN_BYTES,
                              ORD_WEBHOOK_SECRET_MAX_BYTES);
        goto leave;
    }
    if (strncmp(text, ORD_WEBHOOK_SECRET_PREFIX, PREFIX_LEN) != 0) {
        *error = apr_psprintf(p, "%s must start with %s (the Standard "
                              "Webhooks secret format: %s then base64)",
                              noun, ORD_WEBHOOK_SECRET_PREFIX,
                              ORD_WEBHOOK_SECRET_PREFIX);
        goto leave;
    }
    b64 = text + PREFIX_LEN;
    n = strlen(b64);
    if (n == 0) {
        *error = apr_psprintf(p, "%s has nothing after %s", noun,
                              ORD_WEBHOOK_SECRET_PREFIX);
        goto leave;
    }
    while (pad < n && b64[n - 1 - pad] == '=') {
        pad++;
    }
    data = n - pad;
    if (pad > 2) {
        *error = apr_psprintf(p, "%s ends in %" APR_SIZE_T_FMT " '=': base64 "
                              "pads with at most two", noun, pad);
        goto leave;
    }
    for (i = 0; i < data; i++) {
        if (!is_base64_char(b64[i])) {
            *error = apr_psprintf(p, "%s has %s at character %" APR_SIZE_T_FMT
                                  ", which is not standard base64 (A-Z, a-z, "
                                  "0-9, + and /%s)", noun,
                                  show_char(p, b64[i]), PREFIX_LEN + i + 1,
                                  b64[i] == '-' || b64[i] == '_'
                                  ? "; - and _ are the URL-safe alphabet, "
                                    "which is not accepted"
                                  : b64[i] == '=' ? "; '=' only pads the end"
                                  : "");
            goto leave;
        }
    }
    /* One character left over carries 6 bits: less than a byte, so the
     * text was cut or mistyped.  Padding, when present, must make whole
     * 4-character groups. */
    if (data % 4 == 1 || (pad > 0 && n % 4 != 0)) {
        *error = apr_psprintf(p, "%s is not whole base64: %" APR_SIZE_T_FMT
                              " characters after %s%s (truncated or "
                              "mistyped?)", noun, n,
                              ORD_WEBHOOK_SECRET_PREFIX,
                              pad > 0 ? ", padded with '=', are not a "
                                        "multiple of 4" : " leave one over");
        goto leave;
    }
    len = data / 4 * 3 + (data % 4 == 0 ? 0 : data % 4 - 1);
    if (len < ORD_WEBHOOK_SECRET_MIN_BYTES
        || len > ORD_WEBHOOK_SECRET_MAX_BYTES) {
        *error = apr_psprintf(p, "%s decodes to %" APR_SIZE_T_FMT " bytes; "
                              "it must be %d to %d (at least %d base64 "
                              "characters after %s)", noun, len,
                              ORD_WEBHOOK_SECRET_MIN_BYTES,
                              ORD_WEBHOOK_SECRET_MAX_BYTES,
                              (ORD_WEBHOOK_SECRET_MIN_BYTES + 2) / 3 * 4,
                              ORD_WEBHOOK_SECRET_PREFIX);
        goto leave;
    }
    /* The text is checked: apr_base64 (which would silently stop at the
     * first stranger) now decodes all of it, padded or not. */
    bytes = apr_palloc(p, (apr_size_t)apr_base64_decode_len(b64));
    decoded = apr_base64_decode_binary(bytes, b64);
    if (decoded < 0 || (apr_size_t)decoded != len) {
        *error = apr_psprintf(p, "%s: base64 decoding gave %d bytes, not %"
                              APR_SIZE_T_FMT, noun, decoded, len);
        rv = APR_EGENERAL;
        goto leave;
    }
    key->bytes = bytes;
    key->len = len;
    rv = APR_SUCCESS;
leave:
    return rv;
}

apr_status_t ord_webhook_secret_parse(apr_pool_t *p, const char *text,
                                      ord_webhook_key_t *key,
                                      const char **error)
{
    return parse_secret(p, "the secret", text, key, error);
}

apr_status_t ord_webhook_keys_parse(apr_pool_t *p, const char *first,
                                    const char *second,
                                    ord_webhook_keys_t *keys,
                                    const char **error)
{
    ord_webhook_keys_t k;
    apr_status_t rv;

    memset(&k, 0, sizeof(k));
    rv = parse_secret(p, second ? "the first secret" : "the secret", first,
                      &k.key[0], error);
    if (rv != APR_SUCCESS) {
        goto leave;
    }
    k.count = 1;
    if (second) {
        rv = parse_secret(p, "the second secret", second, &k.key[1], error);
        if (rv != APR_SUCCESS) {
            goto leave;
        }
        if (k.key[0].len == k.key[1].len
            && memcmp(k.key[0].bytes, k.key[1].bytes, k.key[0].len) == 0) {
            *error = "the two secrets are the same key: give a second "
                     "secret only during a rotation, the old and the new";
            rv = APR_EINVAL;
            goto leave;
        }
        k.count = 2;
    }
    *keys = k;
leave:
    return rv;
}

/* ---- signature --------------------------------------------------------- */

/* The specification splits the signed content on '.', so neither the id
 * nor the timestamp may hold one; the id also becomes a header value. */
static int id_valid(const char *id)
{
    const char *c;

    if (!id || !*id) {
        return 0;
    }
    for (c = id; *c; c++) {
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f
            || *c == '.') {
            return 0;
        }
    }
    return 1;
}

apr_status_t ord_webhook_sign(apr_pool_t *p, const ord_webhook_keys_t *keys,
                              const char *id, apr_int64_t timestamp,
                              const char *body, apr_size_t body_len,
                              const char **signature)
{
    char stamp[32];
    apr_size_t id_len, stamp_len, msg_len;
    unsigned char *msg;
    const char *out = NULL;
    int i;
    apr_status_t rv = APR_EINVAL;

    if (!keys || keys->count < 1 || keys->count > ORD_WEBHOOK_MAX_KEYS
        || !id_valid(id) || timestamp < 0 || (!body && body_len > 0)) {
        goto leave;
    }
    id_len = strlen(id);
    stamp_len = (apr_size_t)apr_snprintf(stamp, sizeof(stamp),
                                         "%" APR_INT64_T_FMT, timestamp);
    /* One copy of the message for every key. */
    msg_len = id_len + 1 + stamp_len + 1 + body_len;
    msg = apr_palloc(p, msg_len);
    memcpy(msg, id, id_len);
    msg[id_len] = '.';
    memcpy(msg + id_len + 1, stamp, stamp_len);
    msg[id_len + 1 + stamp_len] = '.';
    if (body_len > 0) {
        memcpy(msg + id_len + 1 + stamp_len + 1, body, body_len);
    }
    for (i = 0; i < keys->count; i++) {
        const ord_webhook_key_t *key = &keys->key[i];
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int mac_len = 0;
        char b64[64];

        if (!key->bytes || key->len == 0
            || key->len > ORD_WEBHOOK_SECRET_MAX_BYTES) {
            rv = APR_EINVAL;
            goto leave;
        }
        /* Our own `mac` buffer: HMAC() with NULL would use a static one,
         * which is not thread-safe. */
        if (!HMAC(EVP_sha256(), key->bytes, (int)key->len, msg, msg_len, mac,
                  &mac_len) || mac_len != SHA256_BYTES) {
            rv = APR_EGENERAL;
            goto leave;
        }
        apr_base64_encode_binary(b64, mac, (int)mac_len);
        out = out ? apr_pstrcat(p, out, " v1,", b64, NULL)
                  : apr_pstrcat(p, "v1,", b64, NULL);
    }
    *signature = out;
    rv = APR_SUCCESS;
leave:
    return rv;
}

/* ---- headers ----------------------------------------------------------- */

/* RFC 9110 tchar: what a product-version may be made of. */
static int token_valid(const char *s)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";

    if (!s || !*s) {
        return 0;
    }
    for (; *s; s++) {
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')
              || (*s >= '0' && *s <= '9') || strchr(extra, *s))) {
            return 0;
        }
    }
    return 1;
}

apr_status_t ord_webhook_headers(apr_pool_t *p, const ord_webhook_keys_t *keys,
                                 const char *id, apr_time_t now,
                                 const char *body, apr_size_t body_len,
                                 const char *version,
                                 ord_webhook_headers_t *headers)
{
    ord_webhook_headers_t h;
    apr_int64_t secs = apr_time_sec(now);
    const char *signature;
    apr_status_t rv = APR_EINVAL;

    if (now < 0 || !token_valid(version)) {
        goto leave;
    }
    rv = ord_webhook_sign(p, keys, id, secs, body, body_len, &signature);
    if (rv != APR_SUCCESS) {
        goto leave;
    }
    h.field[ORD_WEBHOOK_H_ID].name = "webhook-id";
    h.field[ORD_WEBHOOK_H_ID].value = apr_pstrdup(p, id);
    h.field[ORD_WEBHOOK_H_TIMESTAMP].name = "webhook-timestamp";
    h.field[ORD_WEBHOOK_H_TIMESTAMP].value =
        apr_psprintf(p, "%" APR_INT64_T_FMT, secs);
    h.field[ORD_WEBHOOK_H_SIGNATURE].name = "webhook-signature";
    h.field[ORD_WEBHOOK_H_SIGNATURE].value = signature;
    h.field[ORD_WEBHOOK_H_CONTENT_TYPE].name = "Content-Type";
    h.field[ORD_WEBHOOK_H_CONTENT_TYPE].value = ORD_WEBHOOK_CONTENT_TYPE;
    h.field[ORD_WEBHOOK_H_USER_AGENT].name = "User-Agent";
    h.field[ORD_WEBHOOK_H_USER_AGENT].value =
        apr_pstrcat(p, ORD_WEBHOOK_PRODUCT "/", version, NULL);
    *headers = h;
leave:
    return rv;
}

/* ---- retries ----------------------------------------------------------- */

/* The policy as the functions use it: min > 0, max >= min, attempts >= 1,
 * whatever the caller passed (the config refuses worse). */
static void policy_bounds(const ord_webhook_policy_t *policy,
                          apr_interval_time_t *min, apr_interval_time_t *max)
{
    *min = policy->min > 0 ? policy->min : 1;
    *max = policy->max >= *min ? policy->max : *min;
}

apr_interval_time_t ord_webhook_backoff(const ord_webhook_policy_t *policy,
                                        int attempt, apr_uint32_t random)
{
    apr_interval_time_t min, max, hi, lo;
    apr_uint64_t span, q, rem;
    int i;

    policy_bounds(policy, &min, &max);
    /* hi = min(MAX, MIN * 2^(attempt-1)), doubling only while below MAX so
     * that it cannot overflow: at most 63 rounds, whatever `attempt`. */
    hi = min;
    for (i = 1; i < (attempt < 2 ? 2 : attempt) && hi < max; i++) {
        hi = hi > max / 2 ? max : hi * 2;
    }
    lo = hi / 2 > min ? hi / 2 : min;
    /* span * random / 0xFFFFFFFF exactly, in 64 bits: span = q * M + rem
     * gives q * random + rem * random / M, and rem * random < M * M. */
    span = (apr_uint64_t)(hi - lo);
    q = span / APR_UINT32_MAX;
    rem = span % APR_UINT32_MAX;
    return lo + (apr_interval_time_t)(q * random
                                      + rem * random / APR_UINT32_MAX);
}

apr_status_t ord_webhook_retry_after_parse(const char *value, apr_time_t now,
                                           apr_interval_time_t *delay)
{
    const char *s, *e;
    apr_int64_t secs = 0;
    apr_status_t rv = APR_EINVAL;

    if (!value) {
        goto leave;
    }
    for (s = value; *s == ' ' || *s == '\t'; s++) {
    }
    for (e = s + strlen(s); e > s && (e[-1] == ' ' || e[-1] == '\t'); e--) {
    }
    if (e == s) {
        goto leave;
    }
    if (*s >= '0' && *s <= '9') {
        const char *c;

        for (c = s; c < e; c++) {
            if (*c < '0' || *c > '9') {
                goto leave;
            }
            if (secs < RETRY_AFTER_SATURATE_SEC) {
                secs = secs * 10 + (*c - '0');
            }
        }
        if (secs > RETRY_AFTER_SATURATE_SEC) {
            secs = RETRY_AFTER_SATURATE_SEC;
        }
        *delay = apr_time_from_sec(secs);
        rv = APR_SUCCESS;
    }
    else {
        /* An HTTP-date starts with a day name; anything else ("-5", "+5")
         * is junk rather than a date apr_date might half-read. */
        char date[64];
        apr_time_t when;

        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))
            || (apr_size_t)(e - s) >= sizeof(date)) {
            goto leave;
        }
        memcpy(date, s, (apr_size_t)(e - s));
        date[e - s] = '\0';
        when = apr_date_parse_http(date);
        if (when == APR_DATE_BAD) {
            goto leave;
        }
        *delay = when > now ? when - now : 0;
        rv = APR_SUCCESS;
    }
leave:
    return rv;
}

apr_interval_time_t ord_webhook_retry_delay(const ord_webhook_policy_t *policy,
                                            int attempt, int status,
                                            const char *retry_after,
                                            apr_time_t now,
                                            apr_uint32_t random)
{
    apr_interval_time_t min, max, delay, asked;

    policy_bounds(policy, &min, &max);
    delay = ord_webhook_backoff(policy, attempt, random);
    if ((status == 429 || status == 503)
        && ord_webhook_retry_after_parse(retry_after, now, &asked)
           == APR_SUCCESS
        && asked > delay) {
        delay = asked;
    }
    return delay < max ? delay : max;
}

/* ---- the verdict ------------------------------------------------------- */

void ord_webhook_judge(const ord_webhook_policy_t *policy, int attempt,
                       int status, const char *retry_after, apr_time_t now,
                       apr_uint32_t random, ord_webhook_outcome_t *outcome)
{
    int attempts = policy->attempts >= 1 ? policy->attempts : 1;

    if (status < 100 || status > 599) {
        status = 0;
    }
    outcome->delay = 0;
    if (status >= 200 && status <= 299) {
        outcome->verdict = ORD_WEBHOOK_DELIVERED;
    }
    else if (status == 410 || attempt >= attempts) {
        outcome->verdict = ORD_WEBHOOK_GIVE_UP;
    }
    else {
        outcome->verdict = ORD_WEBHOOK_RETRY;
        outcome->delay = ord_webhook_retry_delay(policy, attempt + 1, status,
                                                 retry_after, now, random);
    }
}

const char *ord_webhook_verdict_name(ord_webhook_verdict_e verdict)
{
    switch (verdict) {
    case ORD_WEBHOOK_DELIVERED: return "delivered";
    case ORD_WEBHOOK_RETRY:     return "retry";
    case ORD_WEBHOOK_GIVE_UP:   return "give up";
    }
    return "(unknown verdict)";
}
