/*
 * Unit tests of ord_request (mod_orders/ord_request.h): which client
 * request ids are taken as they are, what a generated one looks like, and
 * the outcome word of every kind of answer the module gives.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <apr_strings.h>

#include "unit_support.h"
#include "ord_request.h"

/* ---- client request ids ---------------------------------------------- */

typedef struct {
    const char *name;
    const char *id;
    int valid;
} id_case_t;

static const char *check_id_cases(const unit_ctx_t *c, const void *r)
{
    const id_case_t *row = r;
    int got = ord_request_id_valid(row->id);

    return got == row->valid ? NULL
           : apr_psprintf(c->pool, "%s is %s", unit_show(row->id),
                          got ? "taken" : "refused");
}

/* 200 and 201 characters, of a character the rule allows. */
#define REPEAT10(s) s s s s s s s s s s
#define ID_200 REPEAT10(REPEAT10("ab"))

static const id_case_t id_cases[] = {
    { "a UUID", "0f8fad5b-d9cb-469f-a165-70867728950e", 1 },
    { "every allowed kind of character", "Az09._:-", 1 },
    { "one character", "x", 1 },
    { "200 characters", ID_200, 1 },
    { "201 characters", ID_200 "e", 0 },
    { "empty", "", 0 },
    { "absent", NULL, 0 },
    { "a space", "abc def", 0 },
    { "a quote (would break JSON and logs)", "abc\"def", 0 },
    { "a newline (header or log injection)", "abc\ndef", 0 },
    { "a slash", "a/b", 0 },
    { "a non-ASCII byte", "caf\xc3\xa9", 0 },
    { "a percent sign", "100%", 0 },
};

/* ---- generated ids ---------------------------------------------------- */

static void test_a_made_id_is_the_bytes_in_hex_and_valid(void **state)
{
    apr_pool_t *p = unit_pool(state);
    const unsigned char bytes[ORD_REQUEST_ID_BYTES] = {
        0x00, 0x01, 0x7f, 0x80, 0xff, 0x10, 0xab, 0xcd,
        0xef, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde,
    };
    const char *id = ord_request_id_make(p, bytes);

    assert_string_equal(id, "00017f80ff10abcdef123456789abcde");
    assert_true(ord_request_id_valid(id));
}

/* ---- outcomes --------------------------------------------------------- */

typedef struct {
    const char *name;
    ord_route_action_e action;
    int metrics;
    int status;
    const char *want;
} outcome_case_t;

static const char *check_outcome_cases(const unit_ctx_t *c, const void *r)
{
    const outcome_case_t *row = r;
    const char *got = ord_outcome_name(ord_outcome_of(row->action,
                                                      row->metrics,
                                                      row->status));

    return strcmp(got, row->want) ? apr_psprintf(c->pool, "%s, want %s", got,
                                                 row->want)
                                  : NULL;
}

static const outcome_case_t outcome_cases[] = {
    { "a new order", ORD_ROUTE_CREATE, 0, 202, "created" },
    { "the same order again", ORD_ROUTE_CREATE, 0, 200, "retry" },
    { "the id with other content", ORD_ROUTE_CREATE, 0, 409, "conflict" },
    { "a bad body", ORD_ROUTE_CREATE, 0, 400, "invalid" },
    { "no length", ORD_ROUTE_CREATE, 0, 411, "invalid" },
    { "too large", ORD_ROUTE_CREATE, 0, 413, "invalid" },
    { "not JSON", ORD_ROUTE_CREATE, 0, 415, "invalid" },
    { "the body too slow", ORD_ROUTE_CREATE, 0, 408, "invalid" },
    { "another user's id", ORD_ROUTE_CREATE, 0, 403, "forbidden" },
    { "no database", ORD_ROUTE_CREATE, 0, 503, "unavailable" },
    { "an order read", ORD_ROUTE_GET, 0, 200, "found" },
    { "unchanged", ORD_ROUTE_GET, 0, 304, "not-modified" },
    { "no such order", ORD_ROUTE_GET, 0, 404, "not-found" },
    { "cancelled", ORD_ROUTE_CANCEL, 0, 200, "cancelled" },
    { "too late to cancel", ORD_ROUTE_CANCEL, 0, 409, "conflict" },
    { "a page of orders", ORD_ROUTE_LIST, 0, 200, "listed" },
    { "a page of events", ORD_ROUTE_EVENTS, 0, 200, "listed" },
    { "a cursor past retention", ORD_ROUTE_EVENTS, 0, 410, "gone" },
    { "populated", ORD_ROUTE_POPULATE, 0, 201, "populated" },
    { "queued again", ORD_ROUTE_REDELIVER, 0, 202, "redelivered" },
    { "a wrong method", ORD_ROUTE_METHOD_NOT_ALLOWED, 0, 405, "not-allowed" },
    { "an unknown path", ORD_ROUTE_NOT_FOUND, 0, 404, "not-found" },
    { "the metrics", ORD_ROUTE_NOT_FOUND, 1, 200, "metrics" },
    { "the metrics without a database", ORD_ROUTE_NOT_FOUND, 1, 503,
      "unavailable" },
    { "a status the module does not give", ORD_ROUTE_GET, 0, 418, "other" },
    { "a success of no route", ORD_ROUTE_NOT_FOUND, 0, 200, "other" },
};

static void test_every_outcome_has_its_own_name(void **state)
{
    int i, j;

    (void)state;
    for (i = 0; i < ORD_OUTCOME_COUNT; i++) {
        assert_non_null(ord_outcome_name((ord_outcome_e)i));
        for (j = 0; j < i; j++) {
            assert_string_not_equal(ord_outcome_name((ord_outcome_e)i),
                                    ord_outcome_name((ord_outcome_e)j));
        }
    }
    assert_string_equal(ord_outcome_name(ORD_OUTCOME_COUNT), "other");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TABLE(id_cases),
        cmocka_unit_test(test_a_made_id_is_the_bytes_in_hex_and_valid),
        UNIT_TABLE(outcome_cases),
        cmocka_unit_test(test_every_outcome_has_its_own_name),
    };

    return cmocka_run_group_tests(tests, unit_group_setup, unit_group_teardown);
}
