/*
 * Unit tests of ord_order (mod_orders/ord_order.h): status names, id and
 * text rules, exact money parsing and formatting, generated ids, the "same
 * content" comparison behind safe retries, and the ISO 8601 time format.
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
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static apr_pool_t *pool_of(void **state)
{
    return (apr_pool_t *)*state;
}

/* A string of `n` copies of `unit` (which may be a multi-byte character). */
static char *repeat(apr_pool_t *p, const char *unit, int n)
{
    apr_size_t ulen = strlen(unit);
    char *s = apr_palloc(p, ulen * (apr_size_t)n + 1);
    int i;
    for (i = 0; i < n; i++) {
        memcpy(s + ulen * (apr_size_t)i, unit, ulen);
    }
    s[ulen * (apr_size_t)n] = '\0';
    return s;
}

/* ord_money_parse must accept `text` and give exactly cents/scale. */
#define MONEY_OK(text, want_cents, want_scale) \
    money_ok_((text), APR_INT64_C(want_cents), (want_scale), __FILE__, __LINE__)

static void money_ok_(const char *text, apr_int64_t want_cents, int want_scale,
                      const char *file, int line)
{
    ord_money_t m = { -1, -1 };
    const char *why = NULL;
    apr_status_t rv = ord_money_parse(text, &m, &why);
    if (rv != APR_SUCCESS) {
        print_error("ord_money_parse(\"%s\") refused it: %s\n", text,
                    why ? why : "(no reason)");
    }
    _assert_int_equal(rv, APR_SUCCESS, file, line);
    if (m.cents != want_cents || m.scale != want_scale) {
        print_error("ord_money_parse(\"%s\") gave {%" APR_INT64_T_FMT ",%d}, "
                    "want {%" APR_INT64_T_FMT ",%d}\n",
                    text, m.cents, m.scale, want_cents, want_scale);
    }
    _assert_int_equal(m.cents, want_cents, file, line);
    _assert_int_equal(m.scale, want_scale, file, line);
}

/* ord_money_parse must refuse `text` with APR_EINVAL and a reason. */
#define MONEY_BAD(text) money_bad_((text), __FILE__, __LINE__)

static void money_bad_(const char *text, const char *file, int line)
{
    ord_money_t m = { -1, -1 };
    const char *why = NULL;
    apr_status_t rv = ord_money_parse(text, &m, &why);
    if (rv != APR_EINVAL) {
        print_error("ord_money_parse(\"%s\") returned %d ({%" APR_INT64_T_FMT
                    ",%d}), want APR_EINVAL\n", text, rv, m.cents, m.scale);
    }
    _assert_int_equal(rv, APR_EINVAL, file, line);
    _assert_true(why != NULL, "why != NULL", file, line);
    _assert_true(why != NULL && why[0] != '\0', "why is not empty", file, line);
}

/* ord_money_format({cents, scale}) must give exactly `want`. */
#define MONEY_FMT(p, c, s, want) \
    money_fmt_((p), APR_INT64_C(c), (s), (want), __FILE__, __LINE__)

static void money_fmt_(apr_pool_t *p, apr_int64_t cents, int scale,
                       const char *want, const char *file, int line)
{
    ord_money_t m;
    const char *got;
    m.cents = cents;
    m.scale = scale;
    got = ord_money_format(p, m);
    _assert_true(got != NULL, "ord_money_format() != NULL", file, line);
    _assert_string_equal(got, want, file, line);
}

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

/* The text gmtime() gives for `sec`, plus ".uuuuuuZ": an independent
 * computation of what ord_time_format must produce. */
static const char *expected_iso(apr_pool_t *p, apr_int64_t sec, long usec)
{
    time_t t = (time_t)sec;
    struct tm tm;
    char buf[64];
    assert_non_null(gmtime_r(&t, &tm));
    assert_true(strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm) > 0);
    return apr_psprintf(p, "%s.%06ldZ", buf, usec);
}

/* ------------------------------------------------------------------ */
/* Status names                                                        */
/* ------------------------------------------------------------------ */

static void test_status_name_spells_each_status(void **state)
{
    (void)state;
    assert_string_equal(ord_status_name(ORD_PENDING), "Pending");
    assert_string_equal(ord_status_name(ORD_PROCESSING), "Processing");
    assert_string_equal(ord_status_name(ORD_COMPLETED), "Completed");
    assert_string_equal(ord_status_name(ORD_CANCELLED), "Cancelled");
}

static void test_status_parse_accepts_each_name(void **state)
{
    ord_status_e s;
    (void)state;

    s = ORD_STATUS_COUNT;
    assert_int_equal(ord_status_parse("Pending", &s), APR_SUCCESS);
    assert_int_equal(s, ORD_PENDING);
    s = ORD_STATUS_COUNT;
    assert_int_equal(ord_status_parse("Processing", &s), APR_SUCCESS);
    assert_int_equal(s, ORD_PROCESSING);
    s = ORD_STATUS_COUNT;
    assert_int_equal(ord_status_parse("Completed", &s), APR_SUCCESS);
    assert_int_equal(s, ORD_COMPLETED);
    s = ORD_STATUS_COUNT;
    assert_int_equal(ord_status_parse("Cancelled", &s), APR_SUCCESS);
    assert_int_equal(s, ORD_CANCELLED);
}

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

static void test_status_parse_rejects_unknown_names(void **state)
{
    ord_status_e s = ORD_STATUS_COUNT;
    (void)state;
    assert_int_equal(ord_status_parse("pending", &s), APR_EINVAL);
    assert_int_equal(ord_status_parse("PENDING", &s), APR_EINVAL);
    assert_int_equal(ord_status_parse("Canceled", &s), APR_EINVAL);
    assert_int_equal(ord_status_parse("Pending ", &s), APR_EINVAL);
    assert_int_equal(ord_status_parse("", &s), APR_EINVAL);
    assert_int_equal(ord_status_parse("Done", &s), APR_EINVAL);
}

/* ------------------------------------------------------------------ */
/* order_id text: 1..64 chars of [A-Za-z0-9._:-]                       */
/* ------------------------------------------------------------------ */

static void test_order_id_text_accepts_allowed_charset(void **state)
{
    const char *all = "ABCXYZabcxyz0189._:-";
    (void)state;
    assert_true(ord_order_id_text_valid("ORD003", 6));
    assert_true(ord_order_id_text_valid(all, strlen(all)));
    assert_true(ord_order_id_text_valid("a", 1));
    assert_true(ord_order_id_text_valid("-", 1));
}

static void test_order_id_text_length_limits(void **state)
{
    apr_pool_t *p = pool_of(state);
    const char *s64 = repeat(p, "a", 64);
    const char *s65 = repeat(p, "a", 65);
    assert_true(ord_order_id_text_valid(s64, 64));
    assert_false(ord_order_id_text_valid(s65, 65));
    assert_false(ord_order_id_text_valid("", 0));
}

static void test_order_id_text_rejects_other_chars(void **state)
{
    (void)state;
    assert_false(ord_order_id_text_valid("a b", 3));
    assert_false(ord_order_id_text_valid("a/b", 3));
    assert_false(ord_order_id_text_valid("a?b", 3));
    assert_false(ord_order_id_text_valid("a#b", 3));
    assert_false(ord_order_id_text_valid("a%20", 4));
    assert_false(ord_order_id_text_valid("a+b", 3));
    assert_false(ord_order_id_text_valid("\xc3\xa9", 2));   /* é */
    assert_false(ord_order_id_text_valid("a\tb", 3));
}

static void test_order_id_text_uses_len_not_nul(void **state)
{
    (void)state;
    /* An embedded NUL within `len` is not an allowed character. */
    assert_false(ord_order_id_text_valid("ab\0cd", 5));
    /* Only the first `len` bytes count: "ab" is valid even though the
     * buffer goes on with a forbidden character. */
    assert_true(ord_order_id_text_valid("ab/", 2));
}

/* ------------------------------------------------------------------ */
/* user_id text: 1..64 printable UTF-8 code points                      */
/* ------------------------------------------------------------------ */

static void test_user_id_text_accepts_printable(void **state)
{
    const char *s = "Zo\xc3\xab Smith ~!";    /* "Zoë Smith ~!" */
    (void)state;
    assert_true(ord_user_id_text_valid("u", 1));
    assert_true(ord_user_id_text_valid(s, strlen(s)));
    assert_true(ord_user_id_text_valid(" ", 1));  /* U+0020 is printable */
}

static void test_user_id_text_counts_code_points_not_bytes(void **state)
{
    apr_pool_t *p = pool_of(state);
    const char *e64 = repeat(p, "\xc3\xa9", 64);          /* 64 x é, 128 B */
    const char *e65 = repeat(p, "\xc3\xa9", 65);
    const char *emoji64 = repeat(p, "\xf0\x9f\x91\x8b", 64); /* 256 B */
    assert_true(ord_user_id_text_valid(e64, strlen(e64)));
    assert_false(ord_user_id_text_valid(e65, strlen(e65)));
    assert_true(ord_user_id_text_valid(emoji64, strlen(emoji64)));
}

static void test_user_id_text_length_limits_ascii(void **state)
{
    apr_pool_t *p = pool_of(state);
    assert_true(ord_user_id_text_valid(repeat(p, "x", 64), 64));
    assert_false(ord_user_id_text_valid(repeat(p, "x", 65), 65));
    assert_false(ord_user_id_text_valid("", 0));
}

static void test_user_id_text_rejects_c0_controls(void **state)
{
    (void)state;
    assert_false(ord_user_id_text_valid("a\0b", 3));     /* U+0000 */
    assert_false(ord_user_id_text_valid("a\tb", 3));     /* U+0009 */
    assert_false(ord_user_id_text_valid("a\nb", 3));     /* U+000A */
    assert_false(ord_user_id_text_valid("a\x1f" "b", 3)); /* U+001F */
}

static void test_user_id_text_rejects_del(void **state)
{
    (void)state;
    assert_false(ord_user_id_text_valid("a\x7f" "b", 3)); /* U+007F */
    assert_true(ord_user_id_text_valid("a~b", 3));         /* U+007E ok */
}

static void test_user_id_text_rejects_c1_controls(void **state)
{
    (void)state;
    assert_false(ord_user_id_text_valid("a\xc2\x80" "b", 4)); /* U+0080 */
    assert_false(ord_user_id_text_valid("a\xc2\x85" "b", 4)); /* U+0085 */
    assert_false(ord_user_id_text_valid("a\xc2\x9f" "b", 4)); /* U+009F */
    assert_true(ord_user_id_text_valid("a\xc2\xa0" "b", 4));  /* U+00A0 ok */
}

/* ------------------------------------------------------------------ */
/* item text: 1..64 UTF-8 code points, no control character           */
/* ------------------------------------------------------------------ */

static void test_item_text_accepts_plain_and_spaces(void **state)
{
    (void)state;
    assert_true(ord_item_text_valid("item_1", 6));
    assert_true(ord_item_text_valid("a-2", 3));
    assert_true(ord_item_text_valid("two words", 9));
    assert_true(ord_item_text_valid("\xc3\xa9t\xc3\xa9", 5));  /* "été" */
}

static void test_item_text_length_limits(void **state)
{
    apr_pool_t *p = pool_of(state);
    const char *e64 = repeat(p, "\xc3\xa9", 64);
    const char *e65 = repeat(p, "\xc3\xa9", 65);
    assert_true(ord_item_text_valid(repeat(p, "i", 64), 64));
    assert_false(ord_item_text_valid(repeat(p, "i", 65), 65));
    assert_true(ord_item_text_valid(e64, strlen(e64)));
    assert_false(ord_item_text_valid(e65, strlen(e65)));
    assert_false(ord_item_text_valid("", 0));
}

static void test_item_text_rejects_controls(void **state)
{
    (void)state;
    assert_false(ord_item_text_valid("a\tb", 3));
    assert_false(ord_item_text_valid("a\nb", 3));
    assert_false(ord_item_text_valid("a\0b", 3));
    assert_false(ord_item_text_valid("a\x7f" "b", 3));
    assert_false(ord_item_text_valid("a\xc2\x85" "b", 4));
}

/* ------------------------------------------------------------------ */
/* integer ids: 0..2^53-1                                              */
/* ------------------------------------------------------------------ */

static void test_int_id_range(void **state)
{
    (void)state;
    assert_true(ord_int_id_valid(0));
    assert_true(ord_int_id_valid(1));
    assert_true(ord_int_id_valid(APR_INT64_C(9007199254740991)));
    assert_false(ord_int_id_valid(APR_INT64_C(9007199254740992)));
    assert_false(ord_int_id_valid(-1));
    assert_false(ord_int_id_valid(APR_INT64_MIN));
    assert_false(ord_int_id_valid(APR_INT64_MAX));
}

/* ------------------------------------------------------------------ */
/* ord_money_parse                                                     */
/* ------------------------------------------------------------------ */

static void test_money_parse_two_decimals(void **state)
{
    (void)state;
    MONEY_OK("59.99", 5999, 2);
    MONEY_OK("149.99", 14999, 2);
    MONEY_OK("0.05", 5, 2);
    MONEY_OK("0.10", 10, 2);
}

static void test_money_parse_integer_has_scale_0(void **state)
{
    (void)state;
    MONEY_OK("60", 6000, 0);
    MONEY_OK("0", 0, 0);
    MONEY_OK("1", 100, 0);
}

static void test_money_parse_keeps_trailing_zero_scale(void **state)
{
    (void)state;
    MONEY_OK("60.0", 6000, 1);
    MONEY_OK("60.00", 6000, 2);
    MONEY_OK("0.0", 0, 1);
}

static void test_money_parse_positive_exponent(void **state)
{
    (void)state;
    MONEY_OK("1.5e1", 1500, 0);
    MONEY_OK("1E2", 10000, 0);
    MONEY_OK("1e+2", 10000, 0);
    MONEY_OK("1.001e1", 1001, 2);   /* 10.01 */
    MONEY_OK("1.50e1", 1500, 1);    /* 15.0 */
}

static void test_money_parse_negative_exponent(void **state)
{
    (void)state;
    MONEY_OK("15e-1", 150, 1);      /* 1.5 */
    MONEY_OK("1e-2", 1, 2);         /* 0.01 */
    MONEY_OK("150e-2", 150, 2);     /* 1.50 */
    MONEY_OK("5999E-2", 5999, 2);   /* 59.99 */
}

static void test_money_parse_exponent_cancels_long_fraction(void **state)
{
    (void)state;
    /* Many decimals written, but none left once the exponent applies. */
    MONEY_OK("0.0000000000000001e16", 100, 0);      /* 1 */
    MONEY_OK("100000000000000e-2", 100000000000000, 2); /* 1000000000000.00 */
}

static void test_money_parse_negative_zero_is_zero(void **state)
{
    (void)state;
    MONEY_OK("-0", 0, 0);
}

static void test_money_parse_max_is_1e12(void **state)
{
    (void)state;
    MONEY_OK("1000000000000", 100000000000000, 0);
    MONEY_OK("1e12", 100000000000000, 0);
    MONEY_OK("1000000000000.00", 100000000000000, 2);
    MONEY_OK("999999999999.99", 99999999999999, 2);
}

static void test_money_parse_rejects_above_1e12(void **state)
{
    (void)state;
    MONEY_BAD("1000000000000.01");
    MONEY_BAD("1000000000001");
    MONEY_BAD("1e13");
    MONEY_BAD("10000000000000000000000000");
}

static void test_money_parse_rejects_huge_exponent(void **state)
{
    (void)state;
    MONEY_BAD("1e400");
    MONEY_BAD("1e99999999999999999999");
    MONEY_BAD("1e-400");               /* non-zero, 400 decimals */
}

static void test_money_parse_rejects_three_decimals(void **state)
{
    (void)state;
    MONEY_BAD("0.001");
    MONEY_BAD("59.999");
    MONEY_BAD("1e-3");
    MONEY_BAD("15e-3");
}

static void test_money_parse_rejects_negative(void **state)
{
    (void)state;
    MONEY_BAD("-1");
    MONEY_BAD("-0.01");
    MONEY_BAD("-59.99");
}

static void test_money_parse_rejects_non_numbers(void **state)
{
    (void)state;
    MONEY_BAD("");
    MONEY_BAD("abc");
    MONEY_BAD("12abc");
    MONEY_BAD("\"59.99\"");
    MONEY_BAD("1.2.3");
    MONEY_BAD("NaN");
    MONEY_BAD("Infinity");
}

static void test_money_parse_rejects_non_json_number_syntax(void **state)
{
    (void)state;
    /* The header promises "a JSON number's text": these are not JSON. */
    MONEY_BAD("+1");
    MONEY_BAD("01");
    MONEY_BAD(".5");
    MONEY_BAD("1.");
    MONEY_BAD("1e");
    MONEY_BAD("-");
    MONEY_BAD(" 1");
    MONEY_BAD("1 ");
}

/* ------------------------------------------------------------------ */
/* ord_money_format                                                    */
/* ------------------------------------------------------------------ */

static void test_money_format_two_decimals(void **state)
{
    apr_pool_t *p = pool_of(state);
    MONEY_FMT(p, 5999, 2, "59.99");
    MONEY_FMT(p, 14999, 2, "149.99");
}

static void test_money_format_scale_0(void **state)
{
    apr_pool_t *p = pool_of(state);
    MONEY_FMT(p, 6000, 0, "60");
    MONEY_FMT(p, 0, 0, "0");
}

static void test_money_format_scale_1(void **state)
{
    apr_pool_t *p = pool_of(state);
    MONEY_FMT(p, 6000, 1, "60.0");
    MONEY_FMT(p, 150, 1, "1.5");
    MONEY_FMT(p, 50, 1, "0.5");
}

static void test_money_format_leading_zero_below_one(void **state)
{
    apr_pool_t *p = pool_of(state);
    MONEY_FMT(p, 5, 2, "0.05");
    MONEY_FMT(p, 1, 2, "0.01");
    MONEY_FMT(p, 0, 2, "0.00");
}

static void test_money_format_max(void **state)
{
    apr_pool_t *p = pool_of(state);
    MONEY_FMT(p, 100000000000000, 0, "1000000000000");
    MONEY_FMT(p, 100000000000000, 2, "1000000000000.00");
    MONEY_FMT(p, 99999999999999, 2, "999999999999.99");
}

static void test_money_parse_format_round_trip(void **state)
{
    static const char *const texts[] = {
        "59.99", "60", "60.0", "0.05", "0", "1000000000000", "149.99", "0.5"
    };
    apr_pool_t *p = pool_of(state);
    size_t i;
    for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        ord_money_t m;
        const char *why = NULL;
        assert_int_equal(ord_money_parse(texts[i], &m, &why), APR_SUCCESS);
        assert_string_equal(ord_money_format(p, m), texts[i]);
    }
}

/* ------------------------------------------------------------------ */
/* ord_order_new_id                                                    */
/* ------------------------------------------------------------------ */

static void test_new_id_is_36_char_uuid_v4(void **state)
{
    apr_pool_t *p = pool_of(state);
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
    apr_pool_t *p = pool_of(state);
    const char *id = ord_order_new_id(p);
    assert_non_null(id);
    assert_true(ord_order_id_text_valid(id, strlen(id)));
}

static void test_new_id_differs_each_call(void **state)
{
    apr_pool_t *p = pool_of(state);
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
    apr_pool_t *p = pool_of(state);
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
    apr_pool_t *p = pool_of(state);
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
    apr_pool_t *p = pool_of(state);
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
    apr_pool_t *p = pool_of(state);
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
    apr_pool_t *p = pool_of(state);
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
    apr_pool_t *p = pool_of(state);
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

static void test_same_content_equal_copies(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_order_t *a = sample_order(p);
    ord_order_t *b = sample_order(p);
    assert_true(a->user_id.text != b->user_id.text);   /* separate copies */
    assert_true(ord_order_same_content(a, b));
    assert_true(ord_order_same_content(b, a));
}

static void test_same_content_ignores_status_and_times(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_order_t *a = sample_order(p);
    ord_order_t *b = sample_order(p);
    b->status = ORD_COMPLETED;
    b->created_at += 5000000;
    b->updated_at += 9000000;
    b->processing_started_at = b->created_at + 1000000;
    b->completed_at = b->created_at + 3000000;
    assert_true(ord_order_same_content(a, b));
}

static void test_same_content_differs_on_order_id(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_order_t *a = sample_order(p);
    ord_order_t *b = sample_order(p);
    b->order_id.text = "ORD004";
    assert_false(ord_order_same_content(a, b));
}

static void test_same_content_differs_on_order_id_type(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_order_t *a = sample_order(p);
    ord_order_t *b = sample_order(p);
    a->order_id.text = "42";
    a->order_id.is_int = 1;
    b->order_id.text = apr_pstrdup(p, "42");
    b->order_id.is_int = 0;
    assert_false(ord_order_same_content(a, b));
}

static void test_same_content_differs_on_user_id_text(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_order_t *a = sample_order(p);
    ord_order_t *b = sample_order(p);
    b->user_id.text = "2";
    assert_false(ord_order_same_content(a, b));
}

static void test_same_content_differs_on_user_id_int_vs_string(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_order_t *a = sample_order(p);
    ord_order_t *b = sample_order(p);
    /* a: "user_id": 1    b: "user_id": "1" */
    b->user_id.is_int = 0;
    assert_false(ord_order_same_content(a, b));
    assert_false(ord_order_same_content(b, a));
}

static void test_same_content_differs_on_item_ids(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_order_t *a = sample_order(p);
    ord_order_t *b = sample_order(p);
    b->item_ids_json = "[101,102]";
    assert_false(ord_order_same_content(a, b));
    b->item_ids_json = "[101,102,\"103\"]";
    assert_false(ord_order_same_content(a, b));
}

static void test_same_content_differs_on_cents(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_order_t *a = sample_order(p);
    ord_order_t *b = sample_order(p);
    b->total_amount.cents = 5998;
    assert_false(ord_order_same_content(a, b));
}

static void test_same_content_differs_on_scale(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_order_t *a = sample_order(p);
    ord_order_t *b = sample_order(p);
    /* 60 and 60.0 are the same value, sent differently. */
    a->total_amount.cents = 6000;
    a->total_amount.scale = 0;
    b->total_amount.cents = 6000;
    b->total_amount.scale = 1;
    assert_false(ord_order_same_content(a, b));
}

/* ------------------------------------------------------------------ */
/* ord_time_format                                                     */
/* ------------------------------------------------------------------ */

static void test_time_format_epoch(void **state)
{
    apr_pool_t *p = pool_of(state);
    assert_string_equal(ord_time_format(p, 0), "1970-01-01T00:00:00.000000Z");
}

static void test_time_format_one_microsecond(void **state)
{
    apr_pool_t *p = pool_of(state);
    assert_string_equal(ord_time_format(p, apr_time_from_sec(0) + 1),
                        "1970-01-01T00:00:00.000001Z");
}

static void test_time_format_matches_gmtime(void **state)
{
    apr_pool_t *p = pool_of(state);
    const char *got = ord_time_format(p, APR_INT64_C(1795446017000000));
    assert_non_null(got);
    assert_string_equal(got, expected_iso(p, APR_INT64_C(1795446017), 0));
    assert_int_equal(strlen(got), 27);
}

static void test_time_format_microsecond_part(void **state)
{
    apr_pool_t *p = pool_of(state);
    const char *got = ord_time_format(p, APR_INT64_C(1795446017123456));
    assert_string_equal(got, expected_iso(p, APR_INT64_C(1795446017), 123456));
    got = ord_time_format(p, APR_INT64_C(1795446017999999));
    assert_string_equal(got, expected_iso(p, APR_INT64_C(1795446017), 999999));
    got = ord_time_format(p, APR_INT64_C(1795446017000010));
    assert_string_equal(got, expected_iso(p, APR_INT64_C(1795446017), 10));
}

static void test_time_format_after_2038(void **state)
{
    apr_pool_t *p = pool_of(state);
    /* 2100-01-01T00:00:00Z */
    assert_string_equal(ord_time_format(p, apr_time_from_sec(APR_INT64_C(4102444800))),
                        "2100-01-01T00:00:00.000000Z");
}

/* ------------------------------------------------------------------ */

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_name_spells_each_status),
        cmocka_unit_test(test_status_parse_accepts_each_name),
        cmocka_unit_test(test_status_parse_name_round_trips),
        cmocka_unit_test(test_status_parse_rejects_unknown_names),

        cmocka_unit_test(test_order_id_text_accepts_allowed_charset),
        cmocka_unit_test(test_order_id_text_length_limits),
        cmocka_unit_test(test_order_id_text_rejects_other_chars),
        cmocka_unit_test(test_order_id_text_uses_len_not_nul),

        cmocka_unit_test(test_user_id_text_accepts_printable),
        cmocka_unit_test(test_user_id_text_counts_code_points_not_bytes),
        cmocka_unit_test(test_user_id_text_length_limits_ascii),
        cmocka_unit_test(test_user_id_text_rejects_c0_controls),
        cmocka_unit_test(test_user_id_text_rejects_del),
        cmocka_unit_test(test_user_id_text_rejects_c1_controls),

        cmocka_unit_test(test_item_text_accepts_plain_and_spaces),
        cmocka_unit_test(test_item_text_length_limits),
        cmocka_unit_test(test_item_text_rejects_controls),

        cmocka_unit_test(test_int_id_range),

        cmocka_unit_test(test_money_parse_two_decimals),
        cmocka_unit_test(test_money_parse_integer_has_scale_0),
        cmocka_unit_test(test_money_parse_keeps_trailing_zero_scale),
        cmocka_unit_test(test_money_parse_positive_exponent),
        cmocka_unit_test(test_money_parse_negative_exponent),
        cmocka_unit_test(test_money_parse_exponent_cancels_long_fraction),
        cmocka_unit_test(test_money_parse_negative_zero_is_zero),
        cmocka_unit_test(test_money_parse_max_is_1e12),
        cmocka_unit_test(test_money_parse_rejects_above_1e12),
        cmocka_unit_test(test_money_parse_rejects_huge_exponent),
        cmocka_unit_test(test_money_parse_rejects_three_decimals),
        cmocka_unit_test(test_money_parse_rejects_negative),
        cmocka_unit_test(test_money_parse_rejects_non_numbers),
        cmocka_unit_test(test_money_parse_rejects_non_json_number_syntax),

        cmocka_unit_test(test_money_format_two_decimals),
        cmocka_unit_test(test_money_format_scale_0),
        cmocka_unit_test(test_money_format_scale_1),
        cmocka_unit_test(test_money_format_leading_zero_below_one),
        cmocka_unit_test(test_money_format_max),
        cmocka_unit_test(test_money_parse_format_round_trip),

        cmocka_unit_test(test_new_id_is_36_char_uuid_v4),
        cmocka_unit_test(test_new_id_is_a_valid_order_id),
        cmocka_unit_test(test_new_id_differs_each_call),

        cmocka_unit_test(test_random_is_deterministic_for_a_seed),
        cmocka_unit_test(test_random_advances_the_generator),
        cmocka_unit_test(test_random_keeps_order_id_and_clears_the_rest),
        cmocka_unit_test(test_random_fields_in_range),
        cmocka_unit_test(test_random_fields_in_range_for_many_seeds),
        cmocka_unit_test(test_random_different_seeds_differ),

        cmocka_unit_test(test_same_content_equal_copies),
        cmocka_unit_test(test_same_content_ignores_status_and_times),
        cmocka_unit_test(test_same_content_differs_on_order_id),
        cmocka_unit_test(test_same_content_differs_on_order_id_type),
        cmocka_unit_test(test_same_content_differs_on_user_id_text),
        cmocka_unit_test(test_same_content_differs_on_user_id_int_vs_string),
        cmocka_unit_test(test_same_content_differs_on_item_ids),
        cmocka_unit_test(test_same_content_differs_on_cents),
        cmocka_unit_test(test_same_content_differs_on_scale),

        cmocka_unit_test(test_time_format_epoch),
        cmocka_unit_test(test_time_format_one_microsecond),
        cmocka_unit_test(test_time_format_matches_gmtime),
        cmocka_unit_test(test_time_format_microsecond_part),
        cmocka_unit_test(test_time_format_after_2038),
    };
    return cmocka_run_group_tests(tests, unit_group_setup, unit_group_teardown);
}
