/*
 * Unit tests of ord_query (mod_orders/ord_query.h): the query string of
 * GET {mount} (API.md section 2, "GET /orders: list"), its percent-decoding
 * and the link to the next page.
 *
 * A refused query must give APR_EINVAL with a message naming the parameter
 * (the header's contract: the client sees it in the 400 body).  Next links
 * are compared as whole strings, and parsed back to show that a client
 * following one keeps its filters, limit and cursor.
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
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static apr_pool_t *pool_of(void **state)
{
    return (apr_pool_t *)*state;
}

/* A string of `n` copies of `unit`. */
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

/* `args` must parse; returns the query. */
#define PARSE_OK(p, args) parse_ok_((p), (args), __FILE__, __LINE__)

static ord_list_query_t parse_ok_(apr_pool_t *p, const char *args,
                                  const char *file, int line)
{
    ord_list_query_t q;
    const char *error = NULL;
    apr_status_t rv;

    memset(&q, 0x5a, sizeof(q));
    rv = ord_query_parse_list(p, args, &q, &error);
    if (rv != APR_SUCCESS) {
        print_error("query refused: \"%s\"\n  error: %s\n",
                    args ? args : "(NULL)", error ? error : "(NULL)");
    }
    _assert_int_equal(rv, APR_SUCCESS, file, line);
    return q;
}

/* `args` must be refused with APR_EINVAL and a non-empty message which,
 * when `name` is given, contains it. */
#define PARSE_BAD(p, args, name) \
    parse_bad_((p), (args), (name), __FILE__, __LINE__)

static void parse_bad_(apr_pool_t *p, const char *args, const char *name,
                       const char *file, int line)
{
    ord_list_query_t q;
    const char *error = NULL;
    apr_status_t rv;

    rv = ord_query_parse_list(p, args, &q, &error);
    if (rv != APR_EINVAL) {
        print_error("query not refused with APR_EINVAL (rv=%d): \"%s\"\n", rv,
                    args);
        _assert_int_equal(rv, APR_EINVAL, file, line);
    }
    _assert_true(error != NULL, "error != NULL", file, line);
    _assert_true(error[0] != '\0', "error is not empty", file, line);
    if (name && !strstr(error, name)) {
        print_error("error \"%s\" does not name the parameter \"%s\"\n"
                    "  query: \"%s\"\n", error, name, args);
        _fail(file, line);
    }
}

/* The query has the defaults: no filter, first page, limit 50. */
static void assert_defaults(const ord_list_query_t *q)
{
    assert_int_equal(q->has_status, 0);
    assert_null(q->user_id);
    assert_int_equal(q->after, 0);
    assert_int_equal(q->limit, 50);
}

static ord_list_query_t query_of(int has_status, ord_status_e status,
                                 const char *user_id, int limit)
{
    ord_list_query_t q;

    memset(&q, 0, sizeof(q));
    q.has_status = has_status;
    q.status = status;
    q.user_id = user_id;
    q.limit = limit;
    return q;
}

/* ------------------------------------------------------------------ */
/* Parsing: defaults and each parameter                                */
/* ------------------------------------------------------------------ */

static void test_parse_null_gives_defaults(void **state)
{
    ord_list_query_t q = PARSE_OK(pool_of(state), NULL);
    assert_defaults(&q);
    assert_int_equal(ORD_LIST_DEFAULT_LIMIT, 50);
    assert_int_equal(ORD_LIST_MAX_LIMIT, 1000);
}

static void test_parse_empty_gives_defaults(void **state)
{
    ord_list_query_t q = PARSE_OK(pool_of(state), "");
    assert_defaults(&q);
}

static void test_parse_each_status_name(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_list_query_t q;

    q = PARSE_OK(p, "status=Pending");
    assert_int_equal(q.has_status, 1);
    assert_int_equal(q.status, ORD_PENDING);
    q = PARSE_OK(p, "status=Processing");
    assert_int_equal(q.has_status, 1);
    assert_int_equal(q.status, ORD_PROCESSING);
    q = PARSE_OK(p, "status=Completed");
    assert_int_equal(q.has_status, 1);
    assert_int_equal(q.status, ORD_COMPLETED);
    q = PARSE_OK(p, "status=Cancelled");
    assert_int_equal(q.has_status, 1);
    assert_int_equal(q.status, ORD_CANCELLED);
    /* The other fields keep their defaults. */
    assert_null(q.user_id);
    assert_int_equal(q.after, 0);
    assert_int_equal(q.limit, 50);
}

static void test_parse_user_id_plain(void **state)
{
    ord_list_query_t q = PARSE_OK(pool_of(state), "user_id=42");
    assert_string_equal(q.user_id, "42");
    assert_int_equal(q.has_status, 0);
    assert_int_equal(q.limit, 50);
    assert_int_equal(q.after, 0);
}

static void test_parse_user_id_percent_escapes_and_plus(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_list_query_t q;

    q = PARSE_OK(p, "user_id=a%20b%26c+d");
    assert_string_equal(q.user_id, "a b&c d");
    q = PARSE_OK(p, "user_id=%3D%3f%23%25%2B");      /* mixed-case hex */
    assert_string_equal(q.user_id, "=?#%+");
    q = PARSE_OK(p, "user_id=Zo%C3%AB");              /* UTF-8 */
    assert_string_equal(q.user_id, "Zo\xc3\xab");
    q = PARSE_OK(p, "user_id=%41");                   /* escape at the end */
    assert_string_equal(q.user_id, "A");
}

static void test_parse_user_id_64_chars_accepted(void **state)
{
    apr_pool_t *p = pool_of(state);
    const char *u64 = repeat(p, "u", 64);
    ord_list_query_t q;

    q = PARSE_OK(p, apr_pstrcat(p, "user_id=", u64, NULL));
    assert_string_equal(q.user_id, u64);
    /* 64 characters of two bytes each: characters count, not bytes. */
    q = PARSE_OK(p, apr_pstrcat(p, "user_id=", repeat(p, "%C3%AB", 64),
                                NULL));
    assert_string_equal(q.user_id, repeat(p, "\xc3\xab", 64));
}

static void test_parse_limit_bounds(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_list_query_t q;

    q = PARSE_OK(p, "limit=1");
    assert_int_equal(q.limit, 1);
    q = PARSE_OK(p, "limit=1000");
    assert_int_equal(q.limit, 1000);
    q = PARSE_OK(p, "limit=50");
    assert_int_equal(q.limit, 50);
    q = PARSE_OK(p, "limit=007");                    /* still a number */
    assert_int_equal(q.limit, 7);
    assert_int_equal(q.has_status, 0);
    assert_null(q.user_id);
    assert_int_equal(q.after, 0);
}

static void test_parse_after_values(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_list_query_t q;

    q = PARSE_OK(p, "after=1");
    assert_int_equal(q.after, 1);
    q = PARSE_OK(p, "after=123456789");
    assert_int_equal(q.after, 123456789);
    q = PARSE_OK(p, "after=999999999999999999");     /* 18 digits */
    assert_int_equal(q.after, APR_INT64_C(999999999999999999));
    q = PARSE_OK(p, "after=4294967297");             /* beyond 32 bits */
    assert_int_equal(q.after, APR_INT64_C(4294967297));
    assert_int_equal(q.limit, 50);
}

static void test_parse_all_parameters_in_any_order(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_list_query_t q;

    q = PARSE_OK(p, "after=77&limit=10&user_id=bob&status=Completed");
    assert_int_equal(q.has_status, 1);
    assert_int_equal(q.status, ORD_COMPLETED);
    assert_string_equal(q.user_id, "bob");
    assert_int_equal(q.limit, 10);
    assert_int_equal(q.after, 77);

    q = PARSE_OK(p, "status=Pending&user_id=7&limit=1000&after=5");
    assert_int_equal(q.has_status, 1);
    assert_int_equal(q.status, ORD_PENDING);
    assert_string_equal(q.user_id, "7");
    assert_int_equal(q.limit, 1000);
    assert_int_equal(q.after, 5);
}

/* Parameter names are decoded like values. */
static void test_parse_escaped_parameter_name(void **state)
{
    ord_list_query_t q = PARSE_OK(pool_of(state), "lim%69t=5&user%5Fid=x");
    assert_int_equal(q.limit, 5);
    assert_string_equal(q.user_id, "x");
}

/* Empty segments ("&&", a leading or trailing '&') are skipped; a segment
 * with text but no '=' is refused even next to them. */
static void test_parse_empty_segments_are_skipped(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_list_query_t q;

    q = PARSE_OK(p, "&&limit=5&");
    assert_int_equal(q.limit, 5);
    assert_int_equal(q.has_status, 0);
    assert_null(q.user_id);
    assert_int_equal(q.after, 0);

    q = PARSE_OK(p, "&");
    assert_defaults(&q);
    q = PARSE_OK(p, "&&&");
    assert_defaults(&q);

    q = PARSE_OK(p, "status=Pending&&after=9");
    assert_int_equal(q.status, ORD_PENDING);
    assert_int_equal(q.after, 9);

    PARSE_BAD(p, "a&&limit=5", NULL);
}

/* ------------------------------------------------------------------ */
/* Parsing: refused                                                    */
/* ------------------------------------------------------------------ */

static void test_parse_bad_limit(void **state)
{
    apr_pool_t *p = pool_of(state);

    PARSE_BAD(p, "limit=0", "limit");
    PARSE_BAD(p, "limit=1001", "limit");
    PARSE_BAD(p, "limit=abc", "limit");
    PARSE_BAD(p, "limit=", "limit");
    PARSE_BAD(p, "limit=1e3", "limit");
    PARSE_BAD(p, "limit=-1", "limit");
    PARSE_BAD(p, "limit=+5", "limit");        /* '+' is a space */
    PARSE_BAD(p, "limit=%205", "limit");
    PARSE_BAD(p, "limit=5.0", "limit");
    PARSE_BAD(p, "limit=0x10", "limit");
    PARSE_BAD(p, "limit=99999999999999999999", "limit");
    PARSE_BAD(p, "status=Pending&limit=0", "limit");
}

static void test_parse_bad_status(void **state)
{
    apr_pool_t *p = pool_of(state);

    PARSE_BAD(p, "status=Done", "status");
    PARSE_BAD(p, "status=pending", "status");     /* names are exact */
    PARSE_BAD(p, "status=PENDING", "status");
    PARSE_BAD(p, "status=", "status");
    PARSE_BAD(p, "status=Pending+", "status");
}

static void test_parse_bad_user_id(void **state)
{
    apr_pool_t *p = pool_of(state);

    PARSE_BAD(p, "user_id=%01", "user_id");
    PARSE_BAD(p, "user_id=a%0Ab", "user_id");     /* newline */
    PARSE_BAD(p, "user_id=%7F", "user_id");       /* DEL */
    PARSE_BAD(p, "user_id=%C2%85", "user_id");    /* C1 control */
    PARSE_BAD(p, "user_id=%FF", "user_id");       /* not UTF-8 */
    PARSE_BAD(p, "user_id=", "user_id");
    PARSE_BAD(p, apr_pstrcat(p, "user_id=", repeat(p, "u", 65), NULL),
              "user_id");
    PARSE_BAD(p, apr_pstrcat(p, "user_id=", repeat(p, "%C3%AB", 65), NULL),
              "user_id");
}

static void test_parse_bad_after(void **state)
{
    apr_pool_t *p = pool_of(state);

    PARSE_BAD(p, "after=abc", "after");
    PARSE_BAD(p, "after=0", "after");
    PARSE_BAD(p, "after=-1", "after");
    PARSE_BAD(p, "after=-5", "after");
    PARSE_BAD(p, "after=", "after");
    PARSE_BAD(p, "after=1.5", "after");
    PARSE_BAD(p, "after=1000000000000000000", "after");     /* 19 digits */
    PARSE_BAD(p, "after=9999999999999999999", "after");     /* 19 digits */
    PARSE_BAD(p, "after=12abc", "after");
}

static void test_parse_unknown_parameter(void **state)
{
    apr_pool_t *p = pool_of(state);

    PARSE_BAD(p, "sort=asc", "sort");
    PARSE_BAD(p, "limit=5&offset=10", "offset");
    PARSE_BAD(p, "Limit=5", "Limit");             /* names are exact */
    PARSE_BAD(p, "=5", NULL);                     /* an empty name */
}

static void test_parse_parameter_twice(void **state)
{
    apr_pool_t *p = pool_of(state);

    PARSE_BAD(p, "limit=5&limit=5", "limit");
    PARSE_BAD(p, "limit=5&limit=6", "limit");
    PARSE_BAD(p, "status=Pending&status=Completed", "status");
    PARSE_BAD(p, "user_id=a&limit=2&user_id=a", "user_id");
    PARSE_BAD(p, "after=1&after=2", "after");
    PARSE_BAD(p, "limit=5&lim%69t=5", "limit");   /* the same, escaped */
}

static void test_parse_parameter_without_value(void **state)
{
    apr_pool_t *p = pool_of(state);

    PARSE_BAD(p, "limit", "limit");
    PARSE_BAD(p, "status", "status");
    PARSE_BAD(p, "limit=5&after", "after");
}

static void test_parse_malformed_escape(void **state)
{
    apr_pool_t *p = pool_of(state);

    PARSE_BAD(p, "user_id=%G1", "user_id");
    PARSE_BAD(p, "user_id=%1G", "user_id");
    PARSE_BAD(p, "user_id=ab%", "user_id");       /* trailing % */
    PARSE_BAD(p, "user_id=ab%4", "user_id");      /* half an escape */
    PARSE_BAD(p, "user_id=a%00b", "user_id");     /* NUL */
    PARSE_BAD(p, "limit=%", "limit");
    PARSE_BAD(p, "user_id=ab%&limit=5", "user_id");
}

/* The same malformed escapes, checked for the status and outcome alone (a
 * malformed escape in a name cannot name its parameter). */
static void test_parse_malformed_escape_is_einval(void **state)
{
    apr_pool_t *p = pool_of(state);

    PARSE_BAD(p, "user_id=%G1", NULL);
    PARSE_BAD(p, "user_id=ab%", NULL);
    PARSE_BAD(p, "user_id=a%00b", NULL);
    PARSE_BAD(p, "li%G1mit=5", NULL);
    PARSE_BAD(p, "%=5", NULL);
}

/* ------------------------------------------------------------------ */
/* ord_query_decode                                                    */
/* ------------------------------------------------------------------ */

static void test_decode_plus_and_escapes(void **state)
{
    apr_pool_t *p = pool_of(state);

    assert_string_equal(ord_query_decode(p, "a+b%20c", 7), "a b c");
    assert_string_equal(ord_query_decode(p, "%41%62%6a%6A", 12), "Abjj");
    assert_string_equal(ord_query_decode(p, "%2B+%25", 7), "+ %");
    assert_string_equal(ord_query_decode(p, "%C3%AB", 6), "\xc3\xab");
    assert_string_equal(ord_query_decode(p, "plain-text_.~", 13),
                        "plain-text_.~");
    assert_string_equal(ord_query_decode(p, "", 0), "");
}

static void test_decode_reads_only_len_bytes(void **state)
{
    apr_pool_t *p = pool_of(state);

    assert_string_equal(ord_query_decode(p, "abc&def", 3), "abc");
    assert_string_equal(ord_query_decode(p, "ab%41xyz", 5), "abA");
    /* An escape cut by `len` is malformed even if the text goes on. */
    assert_null(ord_query_decode(p, "ab%41", 4));
    assert_null(ord_query_decode(p, "ab%41", 3));
}

static void test_decode_malformed_gives_null(void **state)
{
    apr_pool_t *p = pool_of(state);

    assert_null(ord_query_decode(p, "%G1", 3));
    assert_null(ord_query_decode(p, "%1G", 3));
    assert_null(ord_query_decode(p, "%", 1));
    assert_null(ord_query_decode(p, "a%", 2));
    assert_null(ord_query_decode(p, "%4", 2));
    assert_null(ord_query_decode(p, "%00", 3));
    assert_null(ord_query_decode(p, "a%00b", 5));
    assert_null(ord_query_decode(p, "% 1", 3));
}

/* ------------------------------------------------------------------ */
/* ord_query_next_link                                                 */
/* ------------------------------------------------------------------ */

static void test_next_link_without_filters(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_list_query_t q = query_of(0, ORD_PENDING, NULL, 50);

    assert_string_equal(ord_query_next_link(p, "/orders", &q, 123),
                        "/orders?limit=50&after=123");
    q.after = 99;   /* the old cursor does not matter, `last` does */
    assert_string_equal(ord_query_next_link(p, "/orders", &q, 124),
                        "/orders?limit=50&after=124");
}

static void test_next_link_mount_with_trailing_slash(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_list_query_t q = query_of(0, ORD_PENDING, NULL, 7);

    assert_string_equal(ord_query_next_link(p, "/api/v1/orders/", &q, 5),
                        "/api/v1/orders?limit=7&after=5");
    assert_string_equal(ord_query_next_link(p, "/api/v1/orders", &q, 5),
                        "/api/v1/orders?limit=7&after=5");
}

static void test_next_link_root_mount(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_list_query_t q = query_of(0, ORD_PENDING, NULL, 1000);

    assert_string_equal(ord_query_next_link(p, "", &q, 1),
                        "/?limit=1000&after=1");
    assert_string_equal(ord_query_next_link(p, "/", &q, 1),
                        "/?limit=1000&after=1");
}

static void test_next_link_with_filters(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_list_query_t q = query_of(1, ORD_PROCESSING, "bob", 10);

    assert_string_equal(ord_query_next_link(p, "/orders", &q, 42),
                        "/orders?status=Processing&user_id=bob&limit=10"
                        "&after=42");
    assert_string_equal(ord_query_next_link(p, "/api/v1/orders/", &q, 42),
                        "/api/v1/orders?status=Processing&user_id=bob"
                        "&limit=10&after=42");
    assert_string_equal(ord_query_next_link(p, "", &q, 42),
                        "/?status=Processing&user_id=bob&limit=10&after=42");

    q = query_of(1, ORD_CANCELLED, NULL, 3);
    assert_string_equal(ord_query_next_link(p, "/orders", &q,
                                            APR_INT64_C(4294967297)),
                        "/orders?status=Cancelled&limit=3&after=4294967297");

    q = query_of(0, ORD_PENDING, "7", 50);
    assert_string_equal(ord_query_next_link(p, "/orders", &q, 8),
                        "/orders?user_id=7&limit=50&after=8");
}

static void test_next_link_percent_encodes_user_id(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_list_query_t q = query_of(0, ORD_PENDING, "a b&c", 50);

    assert_string_equal(ord_query_next_link(p, "/orders", &q, 9),
                        "/orders?user_id=a%20b%26c&limit=50&after=9");
    q.user_id = "x=y?z#1+2%/";
    assert_string_equal(ord_query_next_link(p, "/orders", &q, 9),
                        "/orders?user_id=x%3Dy%3Fz%231%2B2%25%2F&limit=50"
                        "&after=9");
    q.user_id = "Zo\xc3\xab";
    assert_string_equal(ord_query_next_link(p, "/orders", &q, 9),
                        "/orders?user_id=Zo%C3%AB&limit=50&after=9");
    q.user_id = "Az09-._~";   /* unreserved: as is */
    assert_string_equal(ord_query_next_link(p, "/orders", &q, 9),
                        "/orders?user_id=Az09-._~&limit=50&after=9");
}

/* Parses the query part of `link` and checks it gives `q`'s filters and
 * limit with `last` as the cursor. */
static void check_round_trip(apr_pool_t *p, const char *mount,
                             const ord_list_query_t *q, apr_int64_t last)
{
    const char *link = ord_query_next_link(p, mount, q, last);
    const char *mark;
    ord_list_query_t back;

    assert_non_null(link);
    mark = strchr(link, '?');
    assert_non_null(mark);
    back = PARSE_OK(p, mark + 1);
    assert_int_equal(back.has_status, q->has_status);
    if (q->has_status) {
        assert_int_equal(back.status, q->status);
    }
    if (q->user_id) {
        assert_non_null(back.user_id);
        assert_string_equal(back.user_id, q->user_id);
    }
    else {
        assert_null(back.user_id);
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
    apr_pool_t *p = pool_of(state);
    size_t u, m;
    int s;

    for (u = 0; u < sizeof(users) / sizeof(users[0]); u++) {
        for (m = 0; m < sizeof(mounts) / sizeof(mounts[0]); m++) {
            for (s = -1; s < ORD_STATUS_COUNT; s++) {
                ord_list_query_t q = query_of(s >= 0, s >= 0 ? s : 0,
                                              users[u], s == 1 ? 1 : 1000);
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
    apr_pool_t *p = pool_of(state);
    ord_list_query_t q = PARSE_OK(p, "user_id=a+b%26c&status=Pending"
                                     "&limit=25&after=3");
    const char *link = ord_query_next_link(p, "/orders", &q, 28);

    assert_string_equal(link, "/orders?status=Pending&user_id=a%20b%26c"
                              "&limit=25&after=28");
    check_round_trip(p, "/orders", &q, 28);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_null_gives_defaults),
        cmocka_unit_test(test_parse_empty_gives_defaults),
        cmocka_unit_test(test_parse_each_status_name),
        cmocka_unit_test(test_parse_user_id_plain),
        cmocka_unit_test(test_parse_user_id_percent_escapes_and_plus),
        cmocka_unit_test(test_parse_user_id_64_chars_accepted),
        cmocka_unit_test(test_parse_limit_bounds),
        cmocka_unit_test(test_parse_after_values),
        cmocka_unit_test(test_parse_all_parameters_in_any_order),
        cmocka_unit_test(test_parse_escaped_parameter_name),
        cmocka_unit_test(test_parse_empty_segments_are_skipped),

        cmocka_unit_test(test_parse_bad_limit),
        cmocka_unit_test(test_parse_bad_status),
        cmocka_unit_test(test_parse_bad_user_id),
        cmocka_unit_test(test_parse_bad_after),
        cmocka_unit_test(test_parse_unknown_parameter),
        cmocka_unit_test(test_parse_parameter_twice),
        cmocka_unit_test(test_parse_parameter_without_value),
        cmocka_unit_test(test_parse_malformed_escape),
        cmocka_unit_test(test_parse_malformed_escape_is_einval),

        cmocka_unit_test(test_decode_plus_and_escapes),
        cmocka_unit_test(test_decode_reads_only_len_bytes),
        cmocka_unit_test(test_decode_malformed_gives_null),

        cmocka_unit_test(test_next_link_without_filters),
        cmocka_unit_test(test_next_link_mount_with_trailing_slash),
        cmocka_unit_test(test_next_link_root_mount),
        cmocka_unit_test(test_next_link_with_filters),
        cmocka_unit_test(test_next_link_percent_encodes_user_id),
        cmocka_unit_test(test_next_link_round_trips_through_parse),
        cmocka_unit_test(test_parse_link_parse_is_stable),
    };
    return cmocka_run_group_tests(tests, unit_group_setup, unit_group_teardown);
}
