/*
 * Unit tests of ord_query (mod_orders/ord_query.h): the query string of
 * GET {mount} (API.md section 2, "GET /orders: list"), its percent-decoding
 * and the link to the next page.
 *
 * A refused query must give APR_EINVAL with a message naming the parameter
 * (the header's contract: the client sees it in the 400 body); an accepted
 * one is compared field by field.  Next links are compared as whole
 * strings, and parsed back to show that a client following one keeps its
 * filters, limit and cursor.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "unit_support.h"

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>

#include "ord_order.h"
#include "ord_query.h"

/* ------------------------------------------------------------------ */
/* Parsing                                                             */
/* ------------------------------------------------------------------ */

typedef struct {
    const char *name;
    const char *args;       /* "<<u*N>>": N copies of u (unit_spell) */
    /* The query it gives, spelled "[status=S ][user_id=U ][after=N ]limit=L"
     * (U spelled as args); or "refused": APR_EINVAL and a message,
     * "refused: X" one that names X. */
    const char *want;
} parse_case_t;

static const parse_case_t parse_cases[] = {
    { "no query", NULL, "limit=50" },
    { "empty query", "", "limit=50" },
    { "status Pending", "status=Pending", "status=Pending limit=50" },
    { "status Processing", "status=Processing", "status=Processing limit=50" },
    { "status Completed", "status=Completed", "status=Completed limit=50" },
    { "status Cancelled", "status=Cancelled", "status=Cancelled limit=50" },
    { "user_id plain", "user_id=42", "user_id=42 limit=50" },
    { "user_id with escapes and a plus", "user_id=a%20b%26c+d", "user_id=a b&c d limit=50" },
    { "user_id with mixed-case hex", "user_id=%3D%3f%23%25%2B", "user_id==?#%+ limit=50" },
    { "user_id in UTF-8", "user_id=Zo%C3%AB", "user_id=Zo\xc3\xab limit=50" },
    { "user_id ending in an escape", "user_id=%41", "user_id=A limit=50" },
    { "user_id of 64 characters", "user_id=<<u*64>>", "user_id=<<u*64>> limit=50" },
    /* 64 characters of two bytes each: characters count, not bytes. */
    { "user_id of 64 two-byte characters", "user_id=<<%C3%AB*64>>", "user_id=<<\xc3\xab*64>> limit=50" },
    { "limit 1", "limit=1", "limit=1" },
    { "limit 1000", "limit=1000", "limit=1000" },
    { "limit 50", "limit=50", "limit=50" },
    { "limit with leading zeros", "limit=007", "limit=7" },
    { "after 1", "after=1", "after=1 limit=50" },
    { "after 123456789", "after=123456789", "after=123456789 limit=50" },
    { "after of 18 digits", "after=999999999999999999", "after=999999999999999999 limit=50" },
    { "after beyond 32 bits", "after=4294967297", "after=4294967297 limit=50" },
    { "every parameter", "after=77&limit=10&user_id=bob&status=Completed", "status=Completed user_id=bob after=77 limit=10" },
    { "every parameter in another order", "status=Pending&user_id=7&limit=1000&after=5", "status=Pending user_id=7 after=5 limit=1000" },
    /* Parameter names are decoded like values. */
    { "escaped parameter names", "lim%69t=5&user%5Fid=x", "user_id=x limit=5" },
    /* Empty segments ("&&", a leading or trailing '&') are skipped. */
    { "empty segments around", "&&limit=5&", "limit=5" },
    { "one ampersand", "&", "limit=50" },
    { "ampersands only", "&&&", "limit=50" },
    { "empty segment between", "status=Pending&&after=9", "status=Pending after=9 limit=50" },

    /* ---- refused: APR_EINVAL, with a message naming the parameter ---- */
    /* a segment with text but no '=' is refused even next to empty ones */
    { "text without '=' beside empty segments", "a&&limit=5", "refused" },
    { "limit 0", "limit=0", "refused: limit" },
    { "limit 1001", "limit=1001", "refused: limit" },
    { "limit not a number", "limit=abc", "refused: limit" },
    { "limit empty", "limit=", "refused: limit" },
    { "limit with an exponent", "limit=1e3", "refused: limit" },
    { "limit negative", "limit=-1", "refused: limit" },
    { "limit after a plus (a space)", "limit=+5", "refused: limit" },
    { "limit after an escaped space", "limit=%205", "refused: limit" },
    { "limit with a decimal", "limit=5.0", "refused: limit" },
    { "limit in hex", "limit=0x10", "refused: limit" },
    { "limit of 20 digits", "limit=99999999999999999999", "refused: limit" },
    { "limit 0 after a status", "status=Pending&limit=0", "refused: limit" },
    { "status unknown", "status=Done", "refused: status" },
    { "status in lower case", "status=pending", "refused: status" },
    { "status in upper case", "status=PENDING", "refused: status" },
    { "status empty", "status=", "refused: status" },
    { "status with a trailing plus", "status=Pending+", "refused: status" },
    { "user_id with a control", "user_id=%01", "refused: user_id" },
    { "user_id with a newline", "user_id=a%0Ab", "refused: user_id" },
    { "user_id with DEL", "user_id=%7F", "refused: user_id" },
    { "user_id with a C1 control", "user_id=%C2%85", "refused: user_id" },
    { "user_id not UTF-8", "user_id=%FF", "refused: user_id" },
    { "user_id empty", "user_id=", "refused: user_id" },
    { "user_id of 65 characters", "user_id=<<u*65>>", "refused: user_id" },
    { "user_id of 65 two-byte characters", "user_id=<<%C3%AB*65>>", "refused: user_id" },
    { "after not a number", "after=abc", "refused: after" },
    { "after 0", "after=0", "refused: after" },
    { "after -1", "after=-1", "refused: after" },
    { "after -5", "after=-5", "refused: after" },
    { "after empty", "after=", "refused: after" },
    { "after with a decimal", "after=1.5", "refused: after" },
    { "after of 19 digits", "after=1000000000000000000", "refused: after" },
    { "after of 19 nines", "after=9999999999999999999", "refused: after" },
    { "after with letters", "after=12abc", "refused: after" },
    { "unknown parameter", "sort=asc", "refused: sort" },
    { "unknown parameter after a known one", "limit=5&offset=10", "refused: offset" },
    { "names are exact", "Limit=5", "refused: Limit" },
    { "an empty name", "=5", "refused" },
    { "limit twice", "limit=5&limit=5", "refused: limit" },
    { "limit twice with other values", "limit=5&limit=6", "refused: limit" },
    { "status twice", "status=Pending&status=Completed", "refused: status" },
    { "user_id twice", "user_id=a&limit=2&user_id=a", "refused: user_id" },
    { "after twice", "after=1&after=2", "refused: after" },
    { "limit twice, once escaped", "limit=5&lim%69t=5", "refused: limit" },
    { "limit without a value", "limit", "refused: limit" },
    { "status without a value", "status", "refused: status" },
    { "after without a value", "limit=5&after", "refused: after" },
    { "bad hex digit", "user_id=%G1", "refused: user_id" },
    { "bad second hex digit", "user_id=%1G", "refused: user_id" },
    { "trailing percent", "user_id=ab%", "refused: user_id" },
    { "half an escape", "user_id=ab%4", "refused: user_id" },
    { "escaped NUL", "user_id=a%00b", "refused: user_id" },
    { "a lone percent as the limit", "limit=%", "refused: limit" },
    { "trailing percent before more", "user_id=ab%&limit=5", "refused: user_id" },
    /* a malformed escape in a name cannot name its parameter */
    { "bad hex digit, any message", "user_id=%G1", "refused" },
    { "trailing percent, any message", "user_id=ab%", "refused" },
    { "escaped NUL, any message", "user_id=a%00b", "refused" },
    { "bad escape in a name", "li%G1mit=5", "refused" },
    { "a lone percent as a name", "%=5", "refused" },
};

/* `q` spelled as parse_case_t.want. */
static const char *spelled(apr_pool_t *p, const ord_list_query_t *q)
{
    return apr_pstrcat(p, q->has_status ? "status=" : "",
                       q->has_status ? ord_status_name(q->status) : "",
                       q->has_status ? " " : "",
                       q->user_id ? "user_id=" : "", q->user_id ? q->user_id
                                                             : "",
                       q->user_id ? " " : "",
                       q->after ? apr_psprintf(p, "after=%" APR_INT64_T_FMT
                                               " ", q->after) : "",
                       apr_psprintf(p, "limit=%d", q->limit), NULL);
}

static const char *check_parse_case(const unit_ctx_t *c, const void *r)
{
    const parse_case_t *row = r;
    apr_pool_t *p = c->pool;
    const char *want = unit_spell(p, row->want), *got, *error = NULL;
    ord_list_query_t q;
    apr_status_t rv;

    memset(&q, 0x5a, sizeof(q));
    rv = ord_query_parse_list(p, unit_spell(p, row->args), &q, &error);
    if (strncmp(want, "refused", 7) == 0) {
        const char *names = want[7] == ':' ? want + 9 : "";

        if (rv != APR_EINVAL || !error || !*error) {
            return apr_psprintf(p, "rv %d (error %s), want APR_EINVAL", rv,
                                unit_show(error));
        }
        return strstr(error, names) ? NULL
               : apr_psprintf(p, "error \"%s\" does not name \"%s\"",
                              error, names);
    }
    if (rv != APR_SUCCESS) {
        return apr_psprintf(p, "refused (rv %d): %s", rv, unit_show(error));
    }
    got = spelled(p, &q);
    return strcmp(got, want) ? apr_psprintf(p, "gave %s, want %s", got, want)
                             : NULL;
}

static void test_parse_cases(void **state)
{
    assert_int_equal(ORD_LIST_DEFAULT_LIMIT, 50);
    assert_int_equal(ORD_LIST_MAX_LIMIT, 1000);
    UNIT_WALK(unit_pool(state), NULL, parse_cases, check_parse_case);
}

/* ------------------------------------------------------------------ */
/* ord_query_decode                                                    */
/* ------------------------------------------------------------------ */

typedef struct {
    const char *name;
    const char *text;
    apr_size_t len;
    const char *want;       /* NULL: malformed */
} decode_case_t;

static const char *check_decode_cases(const unit_ctx_t *c, const void *r)
{
    const decode_case_t *row = r;
    const char *got = ord_query_decode(c->pool, row->text, row->len);

    return unit_same(got, row->want) ? NULL
           : apr_psprintf(c->pool, "decoded %s, want %s", unit_show(got),
                          unit_show(row->want));
}

static const decode_case_t decode_cases[] = {
    { "plus and an escape", "a+b%20c", 7, "a b c" },
    { "hex in both cases", "%41%62%6a%6A", 12, "Abjj" },
    { "escaped plus and percent", "%2B+%25", 7, "+ %" },
    { "UTF-8", "%C3%AB", 6, "\xc3\xab" },
    { "plain text", "plain-text_.~", 13, "plain-text_.~" },
    { "empty", "", 0, "" },
    { "only len bytes", "abc&def", 3, "abc" },
    { "only len bytes, an escape inside", "ab%41xyz", 5, "abA" },
    /* An escape cut by `len` is malformed even if the text goes on. */
    { "escape cut after one digit", "ab%41", 4, NULL },
    { "escape cut after the percent", "ab%41", 3, NULL },
    { "bad hex digit", "%G1", 3, NULL },
    { "bad second hex digit", "%1G", 3, NULL },
    { "a lone percent", "%", 1, NULL },
    { "a trailing percent", "a%", 2, NULL },
    { "half an escape", "%4", 2, NULL },
    { "escaped NUL", "%00", 3, NULL },
    { "escaped NUL inside", "a%00b", 5, NULL },
    { "a space in an escape", "% 1", 3, NULL },
};

/* ------------------------------------------------------------------ */
/* ord_query_next_link                                                 */
/* ------------------------------------------------------------------ */

typedef struct {
    const char *name;
    const char *mount;
    int has_status;
    ord_status_e status;
    const char *user_id;
    int limit;
    apr_int64_t after;      /* the old cursor: it does not matter */
    apr_int64_t last;
    const char *want;
} link_case_t;

static const char *check_link_cases(const unit_ctx_t *c, const void *r)
{
    const link_case_t *row = r;
    ord_list_query_t q;
    const char *got;

    memset(&q, 0, sizeof(q));
    q.has_status = row->has_status;
    q.status = row->status;
    q.user_id = row->user_id;
    q.limit = row->limit;
    q.after = row->after;
    got = ord_query_next_link(c->pool, row->mount, &q, row->last);
    return unit_same(got, row->want) ? NULL
           : apr_psprintf(c->pool, "%s, want %s", unit_show(got), row->want);
}

static const link_case_t link_cases[] = {
    { "without filters", "/orders", 0, ORD_PENDING, NULL, 50, 0, 123,
      "/orders?limit=50&after=123" },
    { "the old cursor does not matter", "/orders", 0, ORD_PENDING, NULL, 50,
      99, 124, "/orders?limit=50&after=124" },
    { "mount with a trailing slash", "/api/v1/orders/", 0, ORD_PENDING, NULL,
      7, 0, 5, "/api/v1/orders?limit=7&after=5" },
    { "nested mount", "/api/v1/orders", 0, ORD_PENDING, NULL, 7, 0, 5,
      "/api/v1/orders?limit=7&after=5" },
    { "root mount empty", "", 0, ORD_PENDING, NULL, 1000, 0, 1,
      "/?limit=1000&after=1" },
    { "root mount slash", "/", 0, ORD_PENDING, NULL, 1000, 0, 1,
      "/?limit=1000&after=1" },
    { "status and user_id", "/orders", 1, ORD_PROCESSING, "bob", 10, 0, 42,
      "/orders?status=Processing&user_id=bob&limit=10&after=42" },
    { "filters under a slashed mount", "/api/v1/orders/", 1, ORD_PROCESSING,
      "bob", 10, 0, 42,
      "/api/v1/orders?status=Processing&user_id=bob&limit=10&after=42" },
    { "filters under the root", "", 1, ORD_PROCESSING, "bob", 10, 0, 42,
      "/?status=Processing&user_id=bob&limit=10&after=42" },
    { "status alone, cursor beyond 32 bits", "/orders", 1, ORD_CANCELLED,
      NULL, 3, 0, APR_INT64_C(4294967297),
      "/orders?status=Cancelled&limit=3&after=4294967297" },
    { "user_id alone", "/orders", 0, ORD_PENDING, "7", 50, 0, 8,
      "/orders?user_id=7&limit=50&after=8" },
    { "user_id percent-encoded", "/orders", 0, ORD_PENDING, "a b&c", 50, 0,
      9, "/orders?user_id=a%20b%26c&limit=50&after=9" },
    { "user_id reserved characters", "/orders", 0, ORD_PENDING,
      "x=y?z#1+2%/", 50, 0, 9,
      "/orders?user_id=x%3Dy%3Fz%231%2B2%25%2F&limit=50&after=9" },
    { "user_id in UTF-8", "/orders", 0, ORD_PENDING, "Zo\xc3\xab", 50, 0, 9,
      "/orders?user_id=Zo%C3%AB&limit=50&after=9" },
    /* unreserved: as is */
    { "user_id unreserved", "/orders", 0, ORD_PENDING, "Az09-._~", 50, 0, 9,
      "/orders?user_id=Az09-._~&limit=50&after=9" },
};

/* Parses the query part of `link` and checks it gives `q`'s filters and
 * limit with `last` as the cursor. */
static void check_round_trip(apr_pool_t *p, const char *mount,
                             const ord_list_query_t *q, apr_int64_t last)
{
    const char *link = ord_query_next_link(p, mount, q, last);
    const char *mark, *error = NULL;
    ord_list_query_t back;

    assert_non_null(link);
    mark = strchr(link, '?');
    assert_non_null(mark);
    if (ord_query_parse_list(p, mark + 1, &back, &error) != APR_SUCCESS) {
        fail_msg("link %s does not parse back: %s", link, unit_show(error));
    }
    assert_int_equal(back.has_status, q->has_status);
    if (q->has_status) {
        assert_int_equal(back.status, q->status);
    }
    if (!unit_same(back.user_id, q->user_id)) {
        fail_msg("link %s gives user_id %s, want %s", link,
                 unit_show(back.user_id), unit_show(q->user_id));
    }
    assert_int_equal(back.limit, q->limit);
    assert_int_equal(back.after, last);
}

static void test_next_link_round_trips_through_parse(void **state)
{
    static const char *const users[] = {
        NULL, "42", "a b&c", "x=y?z#1+2%/", "Zo\xc3\xab \xe6\x97\xa5\xe6\x9c\xac",
        "+plus+", "%41 not an escape", "tab-free \"quoted\" 'single' \\"
    };
    static const char *const mounts[] = { "/orders", "/api/v1/orders/", "" };
    apr_pool_t *p = unit_pool(state);
    size_t u, m;
    int s;

    for (u = 0; u < UNIT_ROWS(users); u++) {
        for (m = 0; m < UNIT_ROWS(mounts); m++) {
            for (s = -1; s < ORD_STATUS_COUNT; s++) {
                ord_list_query_t q;

                memset(&q, 0, sizeof(q));
                q.has_status = s >= 0;
                q.status = s >= 0 ? (ord_status_e)s : ORD_PENDING;
                q.user_id = users[u];
                q.limit = s == 1 ? 1 : 1000;
                check_round_trip(p, mounts[m], &q, 1);
                check_round_trip(p, mounts[m], &q,
                                 APR_INT64_C(999999999999999999));
            }
        }
    }
}

/* A query parsed, then linked, then parsed again: the same query. */
static void test_parse_link_parse_is_stable(void **state)
{
    apr_pool_t *p = unit_pool(state);
    const char *error = NULL;
    ord_list_query_t q;

    assert_int_equal(ord_query_parse_list(p, "user_id=a+b%26c&status=Pending"
                                             "&limit=25&after=3", &q, &error),
                     APR_SUCCESS);
    assert_string_equal(ord_query_next_link(p, "/orders", &q, 28),
                        "/orders?status=Pending&user_id=a%20b%26c"
                        "&limit=25&after=28");
    check_round_trip(p, "/orders", &q, 28);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_cases),
        UNIT_TABLE(decode_cases),
        UNIT_TABLE(link_cases),
        cmocka_unit_test(test_next_link_round_trips_through_parse),
        cmocka_unit_test(test_parse_link_parse_is_stable),
    };
    return cmocka_run_group_tests(tests, unit_group_setup, unit_group_teardown);
}
