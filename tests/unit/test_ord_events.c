/*
 * ord_events: the feed's query and cursor, ETags, If-None-Match and
 * Prefer: wait, as tables walked by one helper each.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "unit_support.h"

#include "ord_events.h"

/* ---- the query string ---------------------------------------------- */

typedef struct {
    const char *name;
    const char *args;
    int ok;
    const char *error_names;    /* a word the error must hold */
    int limit, wait, has_after;
    apr_int64_t xid, seq;
    const char *order_id, *type;
} query_case_t;

/* A refused query: the error must name `word`. */
#define REFUSED(n, a, word) { .name = n, .args = a, .ok = 0, .error_names = word }

static const query_case_t query_cases[] = {
    { "none", NULL, 1, NULL, 100, 0, 0, 0, 0, NULL, NULL },
    { "empty", "", 1, NULL, 100, 0, 0, 0, 0, NULL, NULL },
    { "all of them", "after=12-34&limit=5&order_id=A-1&type=order.created"
      "&wait=30", 1, NULL, 5, 30, 1, 12, 34, "A-1", "order.created" },
    { "limit 1000", "limit=1000", 1, NULL, 1000, 0, 0, 0, 0, NULL, NULL },
    { "wait 0", "wait=0", 1, NULL, 100, 0, 0, 0, 0, NULL, NULL },
    { "cursor 0-0", "after=0-0", 1, NULL, 100, 0, 1, 0, 0, NULL, NULL },
    REFUSED("limit 0", "limit=0", "limit"),
    REFUSED("limit 1001", "limit=1001", "limit"),
    REFUSED("limit text", "limit=ten", "limit"),
    REFUSED("wait 31", "wait=31", "wait"),
    REFUSED("wait negative", "wait=-1", "wait"),
    REFUSED("cursor junk", "after=abc", "after"),
    REFUSED("cursor half", "after=12-", "after"),
    REFUSED("cursor no xid", "after=-12", "after"),
    REFUSED("cursor signed", "after=1-+2", "after"),
    REFUSED("cursor too long", "after=12345678901234567890-1", "after"),
    REFUSED("type unknown", "type=order.shipped", "type"),
    REFUSED("order_id bad", "order_id=a%20b", "order_id"),
    REFUSED("order_id long", "order_id=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "order_id"),
    REFUSED("unknown parameter", "colour=red", "colour"),
    REFUSED("twice", "limit=1&limit=2", "twice"),
    REFUSED("no value", "limit", "limit"),
    REFUSED("bad escape", "type=%zz", "type"),
};

static void test_feed_query(void **state)
{
    apr_pool_t *p = unit_pool(state);
    size_t i;

    for (i = 0; i < sizeof(query_cases) / sizeof(query_cases[0]); i++) {
        const query_case_t *c = &query_cases[i];
        ord_event_query_t q;
        const char *error = NULL;
        apr_status_t rv = ord_events_parse_query(p, c->args, &q, &error);

        if ((rv == APR_SUCCESS) != c->ok) {
            fail_msg("%s: %s (%s)", c->name, rv == APR_SUCCESS ? "accepted"
                     : "refused", error ? error : "");
        }
        if (!c->ok) {
            if (!error || !strstr(error, c->error_names)) {
                fail_msg("%s: error \"%s\" does not name %s", c->name,
                         error ? error : "(none)", c->error_names);
            }
            continue;
        }
        if (q.limit != c->limit || q.wait != c->wait
            || q.has_after != c->has_after || q.after.xid != c->xid
            || q.after.seq != c->seq
            || (c->order_id ? !q.order_id || strcmp(q.order_id, c->order_id)
                            : q.order_id != NULL)
            || (c->type ? !q.type || strcmp(q.type, c->type)
                        : q.type != NULL)) {
            fail_msg("%s: parsed otherwise", c->name);
        }
    }
}

/* The cursor survives the round trip through its text and the next link. */
static void test_cursor_and_next_link(void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_event_cursor_t c = { APR_INT64_C(987654321012), 42 }, back;
    ord_event_query_t q;
    const char *error = NULL;

    assert_int_equal(ord_events_cursor_parse(ord_events_cursor_text(p, c),
                                             &back), APR_SUCCESS);
    assert_true(back.xid == c.xid && back.seq == c.seq);
    assert_int_equal(ord_events_parse_query(p, "type=order.completed&wait=5"
                                            "&order_id=A.1&limit=9", &q,
                                            &error), APR_SUCCESS);
    assert_string_equal(ord_events_next_link(p, "/api/orders/", &q, c),
                        "/api/orders/events?order_id=A.1&type=order.completed"
                        "&wait=5&limit=9&after=987654321012-42");
    assert_string_equal(ord_events_id(p, 42), "evt_42");
}

/* ---- ETag and If-None-Match ------------------------------------------- */

typedef struct {
    const char *name;
    const char *if_none_match;
    int matches;
} inm_case_t;

static const inm_case_t inm_cases[] = {
    { "absent", NULL, 0 },
    { "the tag", "\"5f5e100-Pending\"", 1 },
    { "weak form", "W/\"5f5e100-Pending\"", 1 },
    { "in a list", "\"a\", \"5f5e100-Pending\"", 1 },
    { "list with spaces", "  \"a\" ,\t\"5f5e100-Pending\"  ", 1 },
    { "star", "*", 1 },
    { "another", "\"5f5e100-Completed\"", 0 },
    { "unquoted", "5f5e100-Pending", 0 },
    { "prefix only", "\"5f5e100\"", 0 },
    { "junk after", "\"5f5e100-Pending\" junk", 0 },
    { "empty", "", 0 },
    { "star in a list", "\"a\", *", 0 },
};

static void test_etag_and_if_none_match(void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_order_t o;
    const char *etag;
    size_t i;

    memset(&o, 0, sizeof(o));
    o.updated_at = 100000000;
    o.status = ORD_PENDING;
    etag = ord_order_etag(p, &o);
    assert_string_equal(etag, "\"5f5e100-Pending\"");
    for (i = 0; i < sizeof(inm_cases) / sizeof(inm_cases[0]); i++) {
        if (ord_etag_matches(inm_cases[i].if_none_match, etag)
            != inm_cases[i].matches) {
            fail_msg("%s: expected %s", inm_cases[i].name,
                     inm_cases[i].matches ? "a match" : "no match");
        }
    }
    /* Any change of the order changes the tag. */
    o.status = ORD_PROCESSING;
    assert_string_not_equal(ord_order_etag(p, &o), etag);
    o.status = ORD_PENDING;
    o.updated_at++;
    assert_string_not_equal(ord_order_etag(p, &o), etag);
}

/* ---- Prefer: wait -------------------------------------------------------- */

typedef struct {
    const char *prefer;
    int wait;
} prefer_case_t;

static const prefer_case_t prefer_cases[] = {
    { NULL, 0 }, { "", 0 }, { "wait=5", 5 }, { "WAIT=5", 5 },
    { "wait = 5", 5 }, { "respond-async, wait=10", 10 },
    { "wait=10; foo=bar", 10 }, { "wait=100", 30 }, { "wait=0", 0 },
    { "wait=", 0 }, { "wait=x", 0 }, { "wait=5x", 0 }, { "waiting=5", 0 },
    { "return=minimal", 0 }, { "wait=99999999999999", 0 },
};

static void test_prefer_wait(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(prefer_cases) / sizeof(prefer_cases[0]); i++) {
        int got = ord_prefer_wait(prefer_cases[i].prefer);
        if (got != prefer_cases[i].wait) {
            fail_msg("Prefer \"%s\": %d, expected %d",
                     prefer_cases[i].prefer ? prefer_cases[i].prefer : "(none)",
                     got, prefer_cases[i].wait);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_feed_query),
        cmocka_unit_test(test_cursor_and_next_link),
        cmocka_unit_test(test_etag_and_if_none_match),
        cmocka_unit_test(test_prefer_wait),
    };

    return cmocka_run_group_tests(tests, unit_group_setup,
                                  unit_group_teardown);
}
