/*
 * ord_order: field rules, exact money and the canonical form of an order.
 * See ord_order.h for the contract.
 */
#include <string.h>

#include <apr_strings.h>
#include <apr_uuid.h>

#include "ord_order.h"

static const char *const status_names[ORD_STATUS_COUNT] = {
    "Pending", "Processing", "Completed", "Cancelled"
};

const char *ord_status_name(ord_status_e status)
{
    return (status >= 0 && status < ORD_STATUS_COUNT) ? status_names[status]
                                                      : "Unknown";
}

apr_status_t ord_status_parse(const char *name, ord_status_e *status)
{
    int i;

    for (i = 0; i < ORD_STATUS_COUNT; i++) {
        if (name && strcmp(name, status_names[i]) == 0) {
            *status = (ord_status_e)i;
            return APR_SUCCESS;
        }
    }
    return APR_EINVAL;
}

int ord_status_final(ord_status_e status)
{
    return status == ORD_COMPLETED || status == ORD_CANCELLED;
}

int ord_order_id_text_valid(const char *text, apr_size_t len)
{
    apr_size_t i;

    if (len < 1 || len > ORD_ID_MAX_CHARS) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        char c = text[i];
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
                 || (c >= '0' && c <= '9') || c == '.' || c == '_'
                 || c == ':' || c == '-';
        if (!ok) {
            return 0;
        }
    }
    return 1;
}

/* Decodes the next code point of strict UTF-8: no overlong forms, no
 * surrogates, nothing above U+10FFFF (json-c only checks the byte layout).
 * Returns the number of bytes it took, 0 on anything malformed. */
static apr_size_t utf8_next(const unsigned char *s, apr_size_t len,
                            apr_uint32_t *cp)
{
    static const apr_uint32_t min_for_length[5] = { 0, 0, 0x80, 0x800,
                                                    0x10000 };
    apr_size_t n, i;

    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xE0) == 0xC0) {
        n = 2;
        *cp = s[0] & 0x1F;
    }
    else if ((s[0] & 0xF0) == 0xE0) {
        n = 3;
        *cp = s[0] & 0x0F;
    }
    else if ((s[0] & 0xF8) == 0xF0) {
        n = 4;
        *cp = s[0] & 0x07;
    }
    else {
        return 0;
    }
    if (n > len) {
        return 0;
    }
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) {
            return 0;
        }
        *cp = (*cp << 6) | (s[i] & 0x3F);
    }
    if (*cp < min_for_length[n] || *cp > 0x10FFFF
        || (*cp >= 0xD800 && *cp <= 0xDFFF)) {
        return 0;
    }
    return n;
}

static int is_control(apr_uint32_t cp)
{
    return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F);
}

/* 1..64 characters, none of them a control character. */
static int text_of_printable_chars(const char *text, apr_size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    apr_size_t pos = 0, chars = 0;

    while (pos < len) {
        apr_uint32_t cp;
        apr_size_t n = utf8_next(s + pos, len - pos, &cp);
        if (n == 0 || is_control(cp)) {
            return 0;
        }
        pos += n;
        chars++;
    }
    return chars >= 1 && chars <= ORD_ID_MAX_CHARS;
}

int ord_user_id_text_valid(const char *text, apr_size_t len)
{
    return text_of_printable_chars(text, len);
}

int ord_item_text_valid(const char *text, apr_size_t len)
{
    return text_of_printable_chars(text, len);
}

int ord_int_id_valid(apr_int64_t value)
{
    return value >= 0 && value <= ORD_INT_ID_MAX;
}

apr_status_t ord_money_parse(const char *text, ord_money_t *money,
                             const char **why)
{
    const char *s = text;
    apr_int64_t digits = 0;     /* mantissa without leading zeros */
    int significant = 0;        /* digits accumulated into `digits` */
    int frac_len = 0, exponent = 0, exp_sign = 1, negative = 0, scale;
    int seen_digit = 0;

    if (*s == '-') {
        negative = 1;
        s++;
    }
    /* JSON's grammar: an integer part without leading zeros. */
    if (!(*s >= '0' && *s <= '9') || (s[0] == '0' && s[1] >= '0'
                                      && s[1] <= '9')) {
        goto not_a_number;
    }
    for (; *s >= '0' && *s <= '9'; s++) {
        seen_digit = 1;
        if (digits == 0 && *s == '0') {
            continue;
        }
        if (++significant > 18) {
            goto too_large;
        }
        digits = digits * 10 + (*s - '0');
    }
    if (*s == '.') {
        if (!(s[1] >= '0' && s[1] <= '9')) {
            goto not_a_number;
        }
        for (s++; *s >= '0' && *s <= '9'; s++) {
            seen_digit = 1;
            frac_len++;
            if (digits == 0 && *s == '0') {
                continue;
            }
            if (++significant > 18) {
                goto too_precise;
            }
            digits = digits * 10 + (*s - '0');
        }
    }
    if (!seen_digit) {
        goto not_a_number;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-') {
            exp_sign = (*s == '-') ? -1 : 1;
            s++;
        }
        if (!(*s >= '0' && *s <= '9')) {
            goto not_a_number;
        }
        for (; *s >= '0' && *s <= '9'; s++) {
            /* Anything past a few hundred is out of range either way. */
            if (exponent < 1000) {
                exponent = exponent * 10 + (*s - '0');
            }
        }
    }
    if (*s != '\0') {
        goto not_a_number;
    }

    scale = frac_len - exp_sign * exponent;
    if (scale > ORD_AMOUNT_MAX_SCALE) {
        goto too_precise;
    }
    if (digits == 0) {
        /* Zero in any spelling, -0 too; keep the decimals it was written
         * with. */
        money->cents = 0;
        money->scale = scale < 0 ? 0 : scale;
        return APR_SUCCESS;
    }
    if (negative) {
        goto negative;
    }
    /* Bring `digits` to hundredths: value = digits * 10^(2 - scale). */
    {
        int shift = ORD_AMOUNT_MAX_SCALE - scale;
        for (; shift > 0; shift--) {
            if (digits > ORD_AMOUNT_MAX_CENTS / 10) {
                goto too_large;
            }
            digits *= 10;
        }
    }
    if (digits > ORD_AMOUNT_MAX_CENTS) {
        goto too_large;
    }
    money->cents = digits;
    money->scale = scale < 0 ? 0 : scale;
    return APR_SUCCESS;

not_a_number:
    *why = "must be a JSON number";
    return APR_EINVAL;
negative:
    *why = "must not be negative";
    return APR_EINVAL;
too_precise:
    *why = "must have at most 2 decimals";
    return APR_EINVAL;
too_large:
    *why = "must not exceed 1000000000000";
    return APR_EINVAL;
}

const char *ord_money_format(apr_pool_t *p, ord_money_t money)
{
    apr_int64_t units = money.cents / 100, hundredths = money.cents % 100;

    switch (money.scale) {
    case 0:
        return apr_psprintf(p, "%" APR_INT64_T_FMT, units);
    case 1:
        return apr_psprintf(p, "%" APR_INT64_T_FMT ".%d", units,
                            (int)(hundredths / 10));
    default:
        return apr_psprintf(p, "%" APR_INT64_T_FMT ".%02d", units,
                            (int)hundredths);
    }
}

const char *ord_order_new_id(apr_pool_t *p)
{
    apr_uuid_t uuid;
    char *text = apr_palloc(p, APR_UUID_FORMATTED_LENGTH + 1);

    apr_uuid_get(&uuid);
    apr_uuid_format(text, &uuid);
    return text;
}

/* xorshift64*: fast, and plenty for simulated orders. */
static apr_uint64_t next_random(apr_uint64_t *state)
{
    apr_uint64_t x = *state;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * APR_UINT64_C(2685821657736338717);
}

void ord_order_random(apr_pool_t *p, apr_uint64_t *rng, const char *order_id,
                      ord_order_t *o)
{
    int items = 1 + (int)(next_random(rng) % 5), i;
    const char *json = "[";

    memset(o, 0, sizeof(*o));
    o->order_id.text = order_id;
    o->user_id.text = apr_psprintf(p, "%d", 1 + (int)(next_random(rng) % 1000));
    o->user_id.is_int = 1;
    for (i = 0; i < items; i++) {
        json = apr_psprintf(p, "%s%s%d", json, i ? "," : "",
                            1 + (int)(next_random(rng) % 10000));
    }
    o->item_ids_json = apr_pstrcat(p, json, "]", NULL);
    o->total_amount.cents = 100 + (apr_int64_t)(next_random(rng) % 99900);
    o->total_amount.scale = 2;
    o->status = ORD_PENDING;
}

static int same_id(ord_id_t a, ord_id_t b)
{
    return a.is_int == b.is_int && a.text && b.text
           && strcmp(a.text, b.text) == 0;
}

int ord_order_same_content(const ord_order_t *a, const ord_order_t *b)
{
    return same_id(a->order_id, b->order_id)
           && same_id(a->user_id, b->user_id)
           && strcmp(a->item_ids_json, b->item_ids_json) == 0
           && a->total_amount.cents == b->total_amount.cents
           && a->total_amount.scale == b->total_amount.scale;
}

const char *ord_time_format(apr_pool_t *p, apr_time_t t)
{
    apr_time_exp_t tm;

    apr_time_exp_gmt(&tm, t);
    return apr_psprintf(p, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
                        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                        tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_usec);
}
