/*
 * Unit tests of ord_order (mod_orders/ord_order.h): status names, id and
 * text rules, exact money parsing and formatting, generated ids, the "same
 * content" comparison behind safe retries, and the ISO 8601 time format.
 *
 * Money is tested here and only here: every amount test_ord_json.c sends
 * through JSON is a row of the money tables below too (test_ord_json.c
 * keeps only what is JSON's: that the field reaches this code).
 *
 * Every test asserts concrete values taken from API.md section 2 and from
 * the header's contract.  Memory comes from one APR pool per group.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "unit_support.h"

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_time.h>

#include "ord_order.h"

/* ------------------------------------------------------------------ */
/* Status names                                                        */
/* ------------------------------------------------------------------ */

typedef struct {
    const char *name;
    const char *text;
    int known;              /* 1: the name of `status`; 0: refused */
    ord_status_e status;
    int final;              /* known only: no transition leaves it */
} status_case_t;

static const char *check_status_cases(const unit_ctx_t *c, const void *r)
{
    const status_case_t *row = r;
    ord_status_e s = ORD_STATUS_COUNT;
    apr_status_t rv = ord_status_parse(row->text, &s);

    if (!row->known) {
        return rv == APR_EINVAL ? NULL
               : apr_psprintf(c->pool, "parsed (rv %d, status %d), want "
                              "APR_EINVAL", rv, (int)s);
    }
    if (rv != APR_SUCCESS || s != row->status) {
        return apr_psprintf(c->pool, "parsed rv %d status %d, want %d", rv,
                            (int)s, (int)row->status);
    }
    if (ord_status_final(row->status) != row->final) {
        return apr_psprintf(c->pool, "ord_status_final gives %d",
                            ord_status_final(row->status));
    }
    return strcmp(ord_status_name(row->status), row->text)
           ? apr_psprintf(c->pool, "ord_status_name gives \"%s\"",
                          ord_status_name(row->status))
           : NULL;
}

static const status_case_t status_cases[] = {
    { "Pending", "Pending", 1, ORD_PENDING, 0 },
    { "Processing", "Processing", 1, ORD_PROCESSING, 0 },
    { "Completed", "Completed", 1, ORD_COMPLETED, 1 },
    { "Cancelled", "Cancelled", 1, ORD_CANCELLED, 1 },
    { "lower case", "pending", 0, ORD_STATUS_COUNT, 0 },
    { "upper case", "PENDING", 0, ORD_STATUS_COUNT, 0 },
    { "American spelling", "Canceled", 0, ORD_STATUS_COUNT, 0 },
    { "trailing space", "Pending ", 0, ORD_STATUS_COUNT, 0 },
    { "empty", "", 0, ORD_STATUS_COUNT, 0 },
    { "another word", "Done", 0, ORD_STATUS_COUNT, 0 },
};

static void test_status_parse_name_round_trips(void **state)
{
    int i;
    (void)state;
    for (i = 0; i < ORD_STATUS_COUNT; i++) {
        ord_status_e s = ORD_STATUS_COUNT;
        assert_int_equal(ord_status_parse(ord_status_name((ord_status_e)i), &s),
                         APR_SUCCESS);
        assert_int_equal(s, i);
    }
}

/* ------------------------------------------------------------------ */
/* Texts: order_id 1..64 chars of [A-Za-z0-9._:-]; user_id 1..64       */
/* printable UTF-8 code points; item 1..64 code points, no control     */
/* ------------------------------------------------------------------ */

typedef int text_rule_fn(const char *text, apr_size_t len);

typedef struct {
    const char *name;
    text_rule_fn *rule;
    const char *text;       /* "<<u*N>>": N copies of u (unit_spell) */
    apr_size_t len;         /* 0: strlen(text) */
    int valid;
} text_case_t;

static const char *check_text_cases(const unit_ctx_t *c, const void *r)
{
    const text_case_t *row = r;
    const char *text = unit_spell(c->pool, row->text);
    apr_size_t len = row->len ? row->len : strlen(text);
    int got = row->rule(text, len) ? 1 : 0;

    return got == row->valid ? NULL
           : apr_psprintf(c->pool, "%s (len %u), want %s",
                          got ? "valid" : "invalid", (unsigned)len,
                          row->valid ? "valid" : "invalid");
}

static const text_case_t text_cases[] = {
    { "order_id ORD003", ord_order_id_text_valid, "ORD003", 6, 1 },
    { "order_id of allowed characters", ord_order_id_text_valid, "ABCXYZabcxyz0189._:-", 0, 1 },
    { "order_id of one letter", ord_order_id_text_valid, "a", 1, 1 },
    { "order_id of one dash", ord_order_id_text_valid, "-", 1, 1 },
    { "order_id of 64 characters", ord_order_id_text_valid, "<<a*64>>", 0, 1 },
    { "order_id of 65 characters", ord_order_id_text_valid, "<<a*65>>", 0, 0 },
    { "order_id empty", ord_order_id_text_valid, "", 0, 0 },
    { "order_id with a space", ord_order_id_text_valid, "a b", 3, 0 },
    { "order_id with a slash", ord_order_id_text_valid, "a/b", 3, 0 },
    { "order_id with a question mark", ord_order_id_text_valid, "a?b", 3, 0 },
    { "order_id with a hash", ord_order_id_text_valid, "a#b", 3, 0 },
    { "order_id with a percent", ord_order_id_text_valid, "a%20", 4, 0 },
    { "order_id with a plus", ord_order_id_text_valid, "a+b", 3, 0 },
    { "order_id with a non-ASCII letter", ord_order_id_text_valid, "\xc3\xa9", 2, 0 },
    { "order_id with a tab", ord_order_id_text_valid, "a\tb", 3, 0 },
    /* An embedded NUL within `len` is not an allowed character. */
    { "order_id with a NUL inside len", ord_order_id_text_valid, "ab\000cd", 5, 0 },
    /* Only the first `len` bytes count. */
    { "order_id shorter than its buffer", ord_order_id_text_valid, "ab/", 2, 1 },
    { "user_id of one letter", ord_user_id_text_valid, "u", 1, 1 },
    { "user_id with spaces and UTF-8", ord_user_id_text_valid, "Zo\xc3\xab Smith ~!", 0, 1 },
    /* U+0020 is printable */
    { "user_id of a space", ord_user_id_text_valid, " ", 1, 1 },
    /* characters count, not bytes: 64 x é is 128 bytes */
    { "user_id of 64 two-byte characters", ord_user_id_text_valid, "<<\xc3\xa9*64>>", 0, 1 },
    { "user_id of 65 two-byte characters", ord_user_id_text_valid, "<<\xc3\xa9*65>>", 0, 0 },
    { "user_id of 64 four-byte characters", ord_user_id_text_valid, "<<\xf0\x9f\x91\x8b*64>>", 0, 1 },
    { "user_id of 64 ASCII characters", ord_user_id_text_valid, "<<x*64>>", 64, 1 },
    { "user_id of 65 ASCII characters", ord_user_id_text_valid, "<<x*65>>", 65, 0 },
    { "user_id empty", ord_user_id_text_valid, "", 0, 0 },
    { "user_id with U+0000", ord_user_id_text_valid, "a\000b", 3, 0 },
    { "user_id with U+0009", ord_user_id_text_valid, "a\tb", 3, 0 },
    { "user_id with U+000A", ord_user_id_text_valid, "a\nb", 3, 0 },
    { "user_id with U+001F", ord_user_id_text_valid, "a\037b", 3, 0 },
    { "user_id with U+007F", ord_user_id_text_valid, "a\177b", 3, 0 },
    { "user_id with U+007E", ord_user_id_text_valid, "a~b", 3, 1 },
    { "user_id with U+0080", ord_user_id_text_valid, "a\302\200b", 4, 0 },
    { "user_id with U+0085", ord_user_id_text_valid, "a\302\205b", 4, 0 },
    { "user_id with U+009F", ord_user_id_text_valid, "a\302\237b", 4, 0 },
    { "user_id with U+00A0", ord_user_id_text_valid, "a\302\240b", 4, 1 },
    { "item plain", ord_item_text_valid, "item_1", 6, 1 },
    { "item with a dash", ord_item_text_valid, "a-2", 3, 1 },
    { "item with a space", ord_item_text_valid, "two words", 9, 1 },
    /* "été" */
    { "item with UTF-8", ord_item_text_valid, "\xc3\xa9t\xc3\xa9", 5, 1 },
    { "item of 64 characters", ord_item_text_valid, "<<i*64>>", 64, 1 },
    { "item of 65 characters", ord_item_text_valid, "<<i*65>>", 65, 0 },
    { "item of 64 two-byte characters", ord_item_text_valid, "<<\xc3\xa9*64>>", 0, 1 },
    { "item of 65 two-byte characters", ord_item_text_valid, "<<\xc3\xa9*65>>", 0, 0 },
    { "item empty", ord_item_text_valid, "", 0, 0 },
    { "item with a tab", ord_item_text_valid, "a\tb", 3, 0 },
    { "item with a newline", ord_item_text_valid, "a\nb", 3, 0 },
    { "item with a NUL", ord_item_text_valid, "a\000b", 3, 0 },
    { "item with DEL", ord_item_text_valid, "a\177b", 3, 0 },
    { "item with U+0085", ord_item_text_valid, "a\302\205b", 4, 0 },
};

/* ------------------------------------------------------------------ */
/* integer ids: 0..2^53-1                                              */
/* ------------------------------------------------------------------ */

typedef struct {
    const char *name;
    apr_int64_t value;
    int valid;
} int_id_case_t;

static const char *check_int_id_cases(const unit_ctx_t *c, const void *r)
{
    const int_id_case_t *row = r;

    (void)c;
    if (!ord_int_id_valid(row->value) == !row->valid) {
        return NULL;
    }
    return row->valid ? "invalid, want valid" : "valid, want invalid";
}

static const int_id_case_t int_id_cases[] = {
    { "0", 0, 1 },
    { "1", 1, 1 },
    { "2^53-1", APR_INT64_C(9007199254740991), 1 },
    { "2^53", APR_INT64_C(9007199254740992), 0 },
    { "-1", -1, 0 },
    { "INT64_MIN", APR_INT64_MIN, 0 },
    { "INT64_MAX", APR_INT64_MAX, 0 },
};

/* ------------------------------------------------------------------ */
/* ord_money_parse                                                     */
/* ------------------------------------------------------------------ */

typedef struct {
    const char *name;
    const char *text;
    int ok;                 /* 0: refused with APR_EINVAL and a reason */
    apr_int64_t cents;
    int scale;
    const char *back;       /* ord_money_format of it: the canonical text */
} money_parse_case_t;


static const char *check_money_parse_cases(const unit_ctx_t *c, const void *r)
{
    const money_parse_case_t *row = r;
    ord_money_t m = { -1, -1 };
    const char *why = NULL;
    apr_status_t rv = ord_money_parse(row->text, &m, &why);

    if (!row->ok) {
        return rv == APR_EINVAL && why && *why ? NULL
               : apr_psprintf(c->pool, "rv %d {%" APR_INT64_T_FMT ",%d} why %s, "
                              "want APR_EINVAL with a reason", rv, m.cents,
                              m.scale, unit_show(why));
    }
    if (rv != APR_SUCCESS) {
        return apr_psprintf(c->pool, "refused: %s", unit_show(why));
    }
    if (m.cents != row->cents || m.scale != row->scale) {
        return apr_psprintf(c->pool, "{%" APR_INT64_T_FMT ",%d}, want {%"
                            APR_INT64_T_FMT ",%d}", m.cents, m.scale,
                            row->cents, row->scale);
    }
    why = ord_money_format(c->pool, m);
    return unit_same(why, row->back) ? NULL
           : apr_psprintf(c->pool, "formatted back \"%s\", want \"%s\"",
                          unit_show(why), row->back);
}

/* Each accepted text is formatted back too: the round trip of a parse and
 * ord_money_format gives the text sent, or its canonical spelling. */
static const money_parse_case_t money_parse_cases[] = {
    { "two decimals", "59.99", 1, 5999, 2, "59.99" },
    { "two decimals above 100", "149.99", 1, 14999, 2, "149.99" },
    { "below one", "0.05", 1, 5, 2, "0.05" },
    { "trailing zero of two decimals", "0.10", 1, 10, 2, "0.10" },
    { "one decimal below one", "0.5", 1, 50, 1, "0.5" },
    { "integer", "60", 1, 6000, 0, "60" },
    { "zero", "0", 1, 0, 0, "0" },
    { "one", "1", 1, 100, 0, "1" },
    { "one decimal kept", "60.0", 1, 6000, 1, "60.0" },
    { "two zero decimals kept", "60.00", 1, 6000, 2, "60.00" },
    { "zero with a decimal", "0.0", 1, 0, 1, "0.0" },
    { "positive exponent", "1.5e1", 1, 1500, 0, "15" },
    { "upper-case exponent", "1E2", 1, 10000, 0, "100" },
    { "exponent with a plus", "1e+2", 1, 10000, 0, "100" },
    { "exponent leaving two decimals", "1.001e1", 1, 1001, 2, "10.01" },
    { "exponent leaving one decimal", "1.50e1", 1, 1500, 1, "15.0" },
    { "negative exponent", "15e-1", 1, 150, 1, "1.5" },
    { "negative exponent to a cent", "1e-2", 1, 1, 2, "0.01" },
    { "negative exponent keeping a zero", "150e-2", 1, 150, 2, "1.50" },
    { "negative upper-case exponent", "5999E-2", 1, 5999, 2, "59.99" },
    { "negative lower-case exponent", "5999e-2", 1, 5999, 2, "59.99" },
    /* Many decimals written, but none left once the exponent applies. */
    { "exponent cancels a long fraction", "0.0000000000000001e16", 1, 100, 0, "1" },
    { "exponent of a long integer", "100000000000000e-2", 1, 100000000000000, 2, "1000000000000.00" },
    { "minus zero", "-0", 1, 0, 0, "0" },
    { "the maximum", "1000000000000", 1, 100000000000000, 0, "1000000000000" },
    { "the maximum with an exponent", "1e12", 1, 100000000000000, 0, "1000000000000" },
    { "the maximum with decimals", "1000000000000.00", 1, 100000000000000, 2, "1000000000000.00" },
    { "a cent below the maximum", "999999999999.99", 1, 99999999999999, 2, "999999999999.99" },
    { "a cent above the maximum", "1000000000000.01", 0, 0, 0, "" },
    { "one above the maximum", "1000000000001", 0, 0, 0, "" },
    { "ten times the maximum", "1e13", 0, 0, 0, "" },
    { "26 digits", "10000000000000000000000000", 0, 0, 0, "" },
    { "20 digits", "99999999999999999999", 0, 0, 0, "" },
    { "20 digits negative", "-99999999999999999999", 0, 0, 0, "" },
    { "huge exponent", "1e400", 0, 0, 0, "" },
    { "exponent of 20 digits", "1e99999999999999999999", 0, 0, 0, "" },
    { "non-zero with 400 decimals", "1e-400", 0, 0, 0, "" },
    { "three decimals", "0.001", 0, 0, 0, "" },
    { "three decimals above one", "59.999", 0, 0, 0, "" },
    { "three decimals by exponent", "1e-3", 0, 0, 0, "" },
    { "three decimals by exponent of two digits", "15e-3", 0, 0, 0, "" },
    { "negative", "-1", 0, 0, 0, "" },
    { "a negative cent", "-0.01", 0, 0, 0, "" },
    { "negative with decimals", "-59.99", 0, 0, 0, "" },
    { "empty", "", 0, 0, 0, "" },
    { "letters", "abc", 0, 0, 0, "" },
    { "digits then letters", "12abc", 0, 0, 0, "" },
    { "a JSON string", "\"59.99\"", 0, 0, 0, "" },
    { "two points", "1.2.3", 0, 0, 0, "" },
    { "NaN", "NaN", 0, 0, 0, "" },
    { "Infinity", "Infinity", 0, 0, 0, "" },
    /* The header promises "a JSON number's text": these are not JSON. */
    { "a plus sign", "+1", 0, 0, 0, "" },
    { "a leading zero", "01", 0, 0, 0, "" },
    { "no integer part", ".5", 0, 0, 0, "" },
    { "no fraction after the point", "1.", 0, 0, 0, "" },
    { "no exponent after the e", "1e", 0, 0, 0, "" },
    { "a lone minus", "-", 0, 0, 0, "" },
    { "a leading space", " 1", 0, 0, 0, "" },
    { "a trailing space", "1 ", 0, 0, 0, "" },
};

/* ------------------------------------------------------------------ */
/* ord_money_format                                                    */
/* ------------------------------------------------------------------ */

typedef struct {
    const char *name;
    apr_int64_t cents;
    int scale;
    const char *text;
} money_format_case_t;

static const char *check_money_format_cases(const unit_ctx_t *c, const void *r)
{
    const money_format_case_t *row = r;
    const char *got = ord_money_format(c->pool, (ord_money_t){ row->cents,
                                                               row->scale });

    return unit_same(got, row->text) ? NULL
           : apr_psprintf(c->pool, "\"%s\", want \"%s\"", unit_show(got),
                          row->text);
}

static const money_format_case_t money_format_cases[] = {
    { "two decimals", 5999, 2, "59.99" },
    { "two decimals above 100", 14999, 2, "149.99" },
    { "scale 0", 6000, 0, "60" },
    { "zero at scale 0", 0, 0, "0" },
    { "scale 1 with a zero", 6000, 1, "60.0" },
    { "scale 1", 150, 1, "1.5" },
    { "scale 1 below one", 50, 1, "0.5" },
    { "leading zero below one", 5, 2, "0.05" },
    { "one cent", 1, 2, "0.01" },
    { "zero at scale 2", 0, 2, "0.00" },
    { "the maximum", APR_INT64_C(100000000000000), 0, "1000000000000" },
    { "the maximum at scale 2", APR_INT64_C(100000000000000), 2,
      "1000000000000.00" },
    { "a cent below the maximum", APR_INT64_C(99999999999999), 2,
      "999999999999.99" },
};

/* ------------------------------------------------------------------ */
/* ord_order_new_id                                                    */
/* ------------------------------------------------------------------ */

static void test_new_id_is_36_char_uuid_v4(void **state)
{
    apr_pool_t *p = unit_pool(state);
    const char *id = ord_order_new_id(p);
    int i;
    assert_non_null(id);
    assert_int_equal(strlen(id), 36);
    for (i = 0; i < 36; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            assert_int_equal(id[i], '-');
        }
        else {
            assert_non_null(strchr("0123456789abcdefABCDEF", id[i]));
        }
    }
    assert_int_equal(id[14], '4');                       /* version 4 */
    assert_non_null(strchr("89abAB", id[19]));           /* RFC 4122 variant */
}

static void test_new_id_is_a_valid_order_id(void **state)
{
    apr_pool_t *p = unit_pool(state);
    const char *id = ord_order_new_id(p);
    assert_non_null(id);
    assert_true(ord_order_id_text_valid(id, strlen(id)));
}

static void test_new_id_differs_each_call(void **state)
{
    apr_pool_t *p = unit_pool(state);
    const char *a = ord_order_new_id(p);
    const char *b = ord_order_new_id(p);
    const char *c = ord_order_new_id(p);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_string_not_equal(a, b);
    assert_string_not_equal(a, c);
    assert_string_not_equal(b, c);
}

/* ------------------------------------------------------------------ */
/* ord_order_random                                                    */
/* ------------------------------------------------------------------ */

/* A decimal integer without sign or leading zero, in [min, max]. */
static int decimal_in(const char *s, apr_size_t len, long min, long max,
                      long *out)
{
    long v = 0;
    apr_size_t i;

    if (len == 0 || len > 9 || (s[0] == '0' && len > 1)) {
        return 0;
    }
    for (i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return v >= min && v <= max;
}

/* `json` is exactly "[n,n,...]" with 1..5 integers 1..10000 and no
 * spaces; the items in vals[], their number returned (0: malformed). */
static int random_items(const char *json, long vals[5])
{
    apr_size_t len = strlen(json), i = 1, start;
    int n = 0;

    if (len < 3 || json[0] != '[' || json[len - 1] != ']') {
        return 0;
    }
    for (;;) {
        start = i;
        while (i < len - 1 && json[i] != ',') {
            i++;
        }
        if (n == 5 || !decimal_in(json + start, i - start, 1, 10000,
                                  &vals[n])) {
            return 0;
        }
        n++;
        if (i == len - 1) {
            return n;
        }
        i++;    /* the comma */
    }
}

/* Checks every field of one random order; returns its item count. */
static int check_random_order(const ord_order_t *o, const char *order_id,
                              long *user)
{
    long items[5];
    int n;

    assert_non_null(o->order_id.text);
    assert_string_equal(o->order_id.text, order_id);
    assert_int_equal(o->order_id.is_int, 0);
    assert_non_null(o->user_id.text);
    if (!decimal_in(o->user_id.text, strlen(o->user_id.text), 1, 1000,
                    user)) {
        print_error("user_id \"%s\" is not an integer 1..1000\n",
                    o->user_id.text);
        fail();
    }
    assert_int_equal(o->user_id.is_int, 1);
    assert_non_null(o->item_ids_json);
    n = random_items(o->item_ids_json, items);
    if (n == 0) {
        print_error("item_ids_json \"%s\" is not 1..5 integers 1..10000\n",
                    o->item_ids_json);
        fail();
    }
    assert_in_range(o->total_amount.cents, 100, 99999);
    assert_int_equal(o->total_amount.scale, 2);
    assert_int_equal(o->status, ORD_PENDING);
    assert_int_equal(o->created_at, 0);
    assert_int_equal(o->updated_at, 0);
    assert_int_equal(o->processing_started_at, 0);
    assert_int_equal(o->completed_at, 0);
    return n;
}

static int same_random_content(const ord_order_t *a, const ord_order_t *b)
{
    return strcmp(a->user_id.text, b->user_id.text) == 0
           && strcmp(a->item_ids_json, b->item_ids_json) == 0
           && a->total_amount.cents == b->total_amount.cents;
}

static void test_random_is_deterministic_for_a_seed(void **state)
{
    apr_pool_t *p = unit_pool(state);
    apr_uint64_t r1 = 12345, r2 = 12345;
    int i;

    for (i = 0; i < 50; i++) {
        ord_order_t a, b;
        ord_order_random(p, &r1, "b-1", &a);
        ord_order_random(p, &r2, "b-1", &b);
        assert_string_equal(a.user_id.text, b.user_id.text);
        assert_string_equal(a.item_ids_json, b.item_ids_json);
        assert_int_equal(a.total_amount.cents, b.total_amount.cents);
        assert_int_equal(a.total_amount.scale, b.total_amount.scale);
        assert_int_equal(r1, r2);
    }
}

static void test_random_advances_the_generator(void **state)
{
    apr_pool_t *p = unit_pool(state);
    apr_uint64_t rng = 7, before;
    ord_order_t a, b;

    before = rng;
    ord_order_random(p, &rng, "x-1", &a);
    assert_true(rng != before);
    assert_true(rng != 0);
    before = rng;
    ord_order_random(p, &rng, "x-2", &b);
    assert_true(rng != before);
    /* The next order of the same generator is another one. */
    assert_false(same_random_content(&a, &b));
}

static void test_random_keeps_order_id_and_clears_the_rest(void **state)
{
    apr_pool_t *p = unit_pool(state);
    apr_uint64_t rng = 99;
    const char *id = "Load.Test_2:x-100000";
    ord_order_t o;
    long user;

    memset(&o, 0x5a, sizeof(o));
    ord_order_random(p, &rng, id, &o);
    check_random_order(&o, id, &user);
    assert_ptr_equal(o.order_id.text, id);
}

static void test_random_fields_in_range(void **state)
{
    apr_pool_t *p = unit_pool(state);
    apr_pool_t *sub;
    apr_uint64_t rng = APR_UINT64_C(0x9E3779B97F4A7C15);
    int seen_count[6] = { 0 };
    long user_min = 100000, user_max = 0;
    apr_int64_t cents_min = APR_INT64_C(1) << 40, cents_max = 0;
    int i;

    assert_int_equal(apr_pool_create(&sub, p), APR_SUCCESS);
    for (i = 0; i < 5000; i++) {
        ord_order_t o;
        long user;
        int n;
        ord_order_random(sub, &rng, "r-1", &o);
        n = check_random_order(&o, "r-1", &user);
        seen_count[n]++;
        user_min = user < user_min ? user : user_min;
        user_max = user > user_max ? user : user_max;
        if (o.total_amount.cents < cents_min) {
            cents_min = o.total_amount.cents;
        }
        if (o.total_amount.cents > cents_max) {
            cents_max = o.total_amount.cents;
        }
    }
    apr_pool_destroy(sub);
    /* The whole ranges are used, not a corner of them. */
    for (i = 1; i <= 5; i++) {
        assert_true(seen_count[i] > 500);
    }
    assert_true(user_min <= 5);
    assert_true(user_max >= 995);
    assert_true(cents_min < 200);
    assert_true(cents_max > 99800);
}

/* Seeds as a caller would use them: a time, a counter, small numbers. */
static void test_random_fields_in_range_for_many_seeds(void **state)
{
    apr_pool_t *p = unit_pool(state);
    apr_pool_t *sub;
    apr_uint64_t seed;

    assert_int_equal(apr_pool_create(&sub, p), APR_SUCCESS);
    for (seed = 1; seed <= 200; seed++) {
        apr_uint64_t r = seed, t = seed * APR_UINT64_C(1795446017000000);
        ord_order_t o;
        long user;
        ord_order_random(sub, &r, "s-1", &o);
        check_random_order(&o, "s-1", &user);
        ord_order_random(sub, &t, "s-2", &o);
        check_random_order(&o, "s-2", &user);
    }
    apr_pool_destroy(sub);
}

static void test_random_different_seeds_differ(void **state)
{
    apr_pool_t *p = unit_pool(state);
    static const apr_uint64_t seeds[] = {
        1, 2, 3, 12345, APR_UINT64_C(1795446017000000),
        APR_UINT64_C(0xFFFFFFFFFFFFFFFF)
    };
    ord_order_t first[sizeof(seeds) / sizeof(seeds[0])];
    size_t i, j;

    for (i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
        apr_uint64_t rng = seeds[i];
        ord_order_random(p, &rng, "d-1", &first[i]);
    }
    for (i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++) {
        for (j = i + 1; j < sizeof(seeds) / sizeof(seeds[0]); j++) {
            if (same_random_content(&first[i], &first[j])) {
                print_error("seeds %zu and %zu give the same first order: "
                            "user %s items %s cents %" APR_INT64_T_FMT "\n",
                            i, j, first[i].user_id.text,
                            first[i].item_ids_json,
                            first[i].total_amount.cents);
                fail();
            }
        }
    }
}

/* ------------------------------------------------------------------ */
/* ord_order_same_content                                              */
/* ------------------------------------------------------------------ */

/* An order with every content field set from separate allocations, so that
 * a comparison by pointer instead of by value is caught. */
static ord_order_t *sample_order(apr_pool_t *p)
{
    ord_order_t *o = apr_pcalloc(p, sizeof(*o));
    o->order_id.text = apr_pstrdup(p, "ORD003");
    o->order_id.is_int = 0;
    o->user_id.text = apr_pstrdup(p, "1");
    o->user_id.is_int = 1;
    o->item_ids_json = apr_pstrdup(p, "[101,102,103]");
    o->total_amount.cents = 5999;
    o->total_amount.scale = 2;
    o->status = ORD_PENDING;
    o->created_at = APR_INT64_C(1795446017000000);
    o->updated_at = o->created_at;
    return o;
}

/* What tells two samples apart (or does not). */
typedef enum {
    SEPARATE_COPIES, LATER_STATUS_AND_TIMES, OTHER_ORDER_ID,
    ORDER_ID_INT_AND_STRING, OTHER_USER_ID, USER_ID_INT_AND_STRING,
    FEWER_ITEMS, ITEM_AS_STRING, OTHER_CENTS, OTHER_SCALE
} change_e;

typedef struct {
    const char *name;
    change_e change;
    int same;               /* in both directions */
} same_case_t;

static void change(apr_pool_t *p, ord_order_t *a, ord_order_t *b, change_e c)
{
    switch (c) {
    case SEPARATE_COPIES:
        break;
    case LATER_STATUS_AND_TIMES:
        b->status = ORD_COMPLETED;
        b->created_at += 5000000;
        b->updated_at += 9000000;
        b->processing_started_at = b->created_at + 1000000;
        b->completed_at = b->created_at + 3000000;
        break;
    case OTHER_ORDER_ID:
        b->order_id.text = "ORD004";
        break;
    case ORDER_ID_INT_AND_STRING:
        a->order_id.text = "42";
        a->order_id.is_int = 1;
        b->order_id.text = apr_pstrdup(p, "42");
        break;
    case OTHER_USER_ID:
        b->user_id.text = "2";
        break;
    case USER_ID_INT_AND_STRING:
        b->user_id.is_int = 0;
        break;
    case FEWER_ITEMS:
        b->item_ids_json = "[101,102]";
        break;
    case ITEM_AS_STRING:
        b->item_ids_json = "[101,102,\"103\"]";
        break;
    case OTHER_CENTS:
        b->total_amount.cents = 5998;
        break;
    case OTHER_SCALE:
        a->total_amount.cents = b->total_amount.cents = 6000;
        a->total_amount.scale = 0;
        b->total_amount.scale = 1;
        break;
    }
}

static const char *check_same_cases(const unit_ctx_t *c, const void *r)
{
    const same_case_t *row = r;
    ord_order_t *a = sample_order(c->pool), *b = sample_order(c->pool);
    int ab, ba;

    if (a->user_id.text == b->user_id.text) {
        return "the samples share their texts";
    }
    change(c->pool, a, b, row->change);
    ab = ord_order_same_content(a, b) ? 1 : 0;
    ba = ord_order_same_content(b, a) ? 1 : 0;
    return ab == row->same && ba == row->same ? NULL
           : apr_psprintf(c->pool, "same(a,b) %d same(b,a) %d, want %d", ab, ba,
                          row->same);
}

static const same_case_t same_cases[] = {
    { "equal separate copies", SEPARATE_COPIES, 1 },
    { "status and times are not content", LATER_STATUS_AND_TIMES, 1 },
    { "another order_id", OTHER_ORDER_ID, 0 },
    { "order_id 42 and \"42\"", ORDER_ID_INT_AND_STRING, 0 },
    { "another user_id", OTHER_USER_ID, 0 },
    /* a: "user_id": 1    b: "user_id": "1" */
    { "user_id 1 and \"1\"", USER_ID_INT_AND_STRING, 0 },
    { "fewer items", FEWER_ITEMS, 0 },
    { "an item as a string", ITEM_AS_STRING, 0 },
    { "another amount", OTHER_CENTS, 0 },
    /* 60 and 60.0 are the same value, sent differently. */
    { "60 and 60.0", OTHER_SCALE, 0 },
};

/* ------------------------------------------------------------------ */
/* ord_time_format                                                     */
/* ------------------------------------------------------------------ */

typedef struct {
    const char *name;
    apr_time_t t;
    const char *want;       /* NULL: what gmtime() gives, ".uuuuuuZ" */
} time_case_t;

/* The text gmtime() gives for `t`, plus ".uuuuuuZ": an independent
 * computation of what ord_time_format must produce. */
static const char *expected_iso(apr_pool_t *p, apr_time_t t)
{
    time_t sec = (time_t)(t / APR_USEC_PER_SEC);
    struct tm tm;
    char buf[64];

    if (!gmtime_r(&sec, &tm)
        || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
        return "(gmtime failed)";
    }
    return apr_psprintf(p, "%s.%06ldZ", buf, (long)(t % APR_USEC_PER_SEC));
}

static const char *check_time_cases(const unit_ctx_t *c, const void *r)
{
    const time_case_t *row = r;
    const char *want = row->want ? row->want : expected_iso(c->pool, row->t);
    const char *got = ord_time_format(c->pool, row->t);

    return unit_same(got, want) && strlen(got) == 27 ? NULL
           : apr_psprintf(c->pool, "\"%s\", want \"%s\"", unit_show(got), want);
}

static const time_case_t time_cases[] = {
    { "the epoch", 0, "1970-01-01T00:00:00.000000Z" },
    { "one microsecond", 1, "1970-01-01T00:00:00.000001Z" },
    { "the API.md example", APR_INT64_C(1795446017000000), NULL },
    { "microseconds", APR_INT64_C(1795446017123456), NULL },
    { "the last microsecond of a second", APR_INT64_C(1795446017999999),
      NULL },
    { "ten microseconds", APR_INT64_C(1795446017000010), NULL },
    /* 2100-01-01T00:00:00Z */
    { "after 2038", APR_INT64_C(4102444800) * APR_USEC_PER_SEC,
      "2100-01-01T00:00:00.000000Z" },
};

/* ------------------------------------------------------------------ */

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TABLE(status_cases),
        cmocka_unit_test(test_status_parse_name_round_trips),
        UNIT_TABLE(text_cases),
        UNIT_TABLE(int_id_cases),

        UNIT_TABLE(money_parse_cases),
        UNIT_TABLE(money_format_cases),

        cmocka_unit_test(test_new_id_is_36_char_uuid_v4),
        cmocka_unit_test(test_new_id_is_a_valid_order_id),
        cmocka_unit_test(test_new_id_differs_each_call),

        cmocka_unit_test(test_random_is_deterministic_for_a_seed),
        cmocka_unit_test(test_random_advances_the_generator),
        cmocka_unit_test(test_random_keeps_order_id_and_clears_the_rest),
        cmocka_unit_test(test_random_fields_in_range),
        cmocka_unit_test(test_random_fields_in_range_for_many_seeds),
        cmocka_unit_test(test_random_different_seeds_differ),

        UNIT_TABLE(same_cases),
        UNIT_TABLE(time_cases),
    };
    return cmocka_run_group_tests(tests, unit_group_setup, unit_group_teardown);
}
