/*
 * ord_store_batch against a real SQLite file: writes gathered between
 * ord_store_batch_begin and _flush leave the rows, the events and the
 * outcomes that the same writes one by one leave (new ids created once, a
 * duplicate in the batch not, claims and completions won, lost, or found
 * committed by an earlier attempt), across the statements' row bounds; a
 * second claim of one order in a batch runs after the first; a write that
 * changes an order with a gathered event writes the events first; a
 * discarded batch writes nothing, and a failed flush ends the batch.
 * The claims and completions run twice: through UPDATE ... RETURNING, and
 * as a dialect without it (MariaDB) runs them, the rows read first.
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
#include "unit_sqlite.h"
#include "ord_store.h"

#define CREATED APR_INT64_C(1000000)
#define LEASE   APR_INT64_C(9000000)
#define NOW     APR_INT64_C(3000000)

typedef unit_sqlite_t fixture_t;

static int setup(void **state)
{
    return unit_sqlite_setup(state, sizeof(fixture_t), 1);
}

/* SQLite as a dialect without UPDATE ... RETURNING: the claims and
 * completions take ord_store_update_rows' way without it. */
static ord_sql_dialect_t without_returning;

static void use_no_returning(fixture_t *fx)
{
    without_returning = ord_sql_sqlite3;
    without_returning.update_returning = 0;
    fx->conn.dialect = &without_returning;
}

static int setup_no_returning(void **state)
{
    int rv = setup(state);

    if (rv == 0) {
        use_no_returning(*state);
    }
    return rv;
}

static apr_int64_t number(fixture_t *fx, const char *sql)
{
    const char *v = unit_sqlite_value(fx, fx->pool, sql);

    if (!v) {
        fail_msg("no value from: %s", sql);
    }
    return apr_atoi64(v);
}

/* "type:status" of every event of `id`, in sequence order. */
static const char *events_of(fixture_t *fx, const char *id)
{
    const char *v = unit_sqlite_value(
        fx, fx->pool, apr_psprintf(fx->pool, "SELECT COALESCE(group_concat("
                                   "type || ':' || status, ' '), '') FROM "
                                   "(SELECT type, status FROM order_events "
                                   "WHERE order_id = '%s' ORDER BY seq)", id));
    return v ? v : "";
}

static const char *status_of(fixture_t *fx, const char *id)
{
    const char *v = unit_sqlite_value(
        fx, fx->pool, apr_psprintf(fx->pool, "SELECT status || '/' || "
                                   "COALESCE(claim_token, '-') FROM orders "
                                   "WHERE order_id = '%s'", id));
    return v ? v : "missing";
}

static ord_order_t *order_of(fixture_t *fx, const char *id)
{
    ord_order_t *o = apr_pcalloc(fx->pool, sizeof(*o));

    o->order_id.text = apr_pstrdup(fx->pool, id);
    o->user_id.text = "7";
    o->user_id.is_int = 1;
    o->item_ids_json = "[1]";
    o->total_amount.cents = 250;
    o->total_amount.scale = 2;
    o->created_at = CREATED;
    o->updated_at = CREATED;
    return o;
}

/* One by one, outside a batch: an order in the state of `how` ("pending",
 * "processing:TOKEN", "completed:TOKEN"), with its events. */
static void given(fixture_t *fx, const char *id, const char *how)
{
    apr_time_t a = 0, b = 0;
    int created = 0;

    assert_int_equal(ord_store_insert(&fx->conn, fx->pool, order_of(fx, id),
                                      LEASE, &created), APR_SUCCESS);
    assert_int_equal(created, 1);
    if (strncmp(how, "processing:", 11) == 0
        || strncmp(how, "completed:", 10) == 0) {
        const char *token = strchr(how, ':') + 1;

        assert_int_equal(ord_store_claim(&fx->conn, fx->pool, id,
                                         ORD_PENDING, token, 2000000, LEASE,
                                         &a, &b), APR_SUCCESS);
        if (how[0] == 'c') {
            assert_int_equal(ord_store_complete(&fx->conn, fx->pool, id,
                                                token, 2500000, &a),
                             APR_SUCCESS);
        }
    }
}

static void flush_ok(fixture_t *fx)
{
    assert_int_equal(ord_store_batch_flush(&fx->conn, fx->pool), APR_SUCCESS);
    assert_null(fx->conn.deferred);
}

static void test_new_orders_are_created_once_with_their_events(void **state)
{
    fixture_t *fx = *state;
    int a = -1, b = -1, dup = -1, old = -1;

    given(fx, "old", "pending");
    ord_store_batch_begin(&fx->conn, fx->pool);
    assert_int_equal(ord_store_insert(&fx->conn, fx->pool, order_of(fx, "a"),
                                      LEASE, &a), APR_SUCCESS);
    assert_int_equal(ord_store_insert(&fx->conn, fx->pool, order_of(fx, "b"),
                                      LEASE, &b), APR_SUCCESS);
    assert_int_equal(ord_store_insert(&fx->conn, fx->pool, order_of(fx, "a"),
                                      LEASE, &dup), APR_SUCCESS);
    assert_int_equal(ord_store_insert(&fx->conn, fx->pool,
                                      order_of(fx, "old"), LEASE, &old),
                     APR_SUCCESS);
    /* Nothing is written before the flush. */
    assert_int_equal(number(fx, "SELECT COUNT(*) FROM orders"), 1);
    flush_ok(fx);
    assert_int_equal(a, 1);
    assert_int_equal(b, 1);
    assert_int_equal(dup, 0);
    assert_int_equal(old, 0);
    assert_int_equal(number(fx, "SELECT COUNT(*) FROM orders"), 3);
    assert_string_equal(events_of(fx, "a"), "order.created:Pending");
    assert_string_equal(events_of(fx, "b"), "order.created:Pending");
    assert_string_equal(events_of(fx, "old"), "order.created:Pending");
}

static void test_claims_are_won_lost_or_found_committed(void **state)
{
    fixture_t *fx = *state;
    apr_status_t won = -1, again = -1, lost = -1, gone = -1;
    apr_time_t created[4] = { 0 }, started[4] = { 0 };

    given(fx, "p", "pending");
    given(fx, "mine", "processing:T");      /* an earlier attempt's */
    given(fx, "theirs", "processing:U");
    ord_store_batch_begin(&fx->conn, fx->pool);
    assert_int_equal(ord_store_claim_gathered(&fx->conn, fx->pool, "p",
                                              ORD_PENDING, "T", NOW, LEASE,
                                              &won, &created[0], &started[0]),
                     APR_SUCCESS);
    assert_int_equal(ord_store_claim_gathered(&fx->conn, fx->pool, "mine",
                                              ORD_PENDING, "T", NOW, LEASE,
                                              &again, &created[1],
                                              &started[1]), APR_SUCCESS);
    assert_int_equal(ord_store_claim_gathered(&fx->conn, fx->pool, "theirs",
                                              ORD_PENDING, "T", NOW, LEASE,
                                              &lost, &created[2],
                                              &started[2]), APR_SUCCESS);
    assert_int_equal(ord_store_claim_gathered(&fx->conn, fx->pool, "none",
                                              ORD_PENDING, "T", NOW, LEASE,
                                              &gone, &created[3],
                                              &started[3]), APR_SUCCESS);
    /* The outcomes are the flush's. */
    assert_int_equal(won, APR_EGENERAL);
    flush_ok(fx);
    assert_int_equal(won, APR_SUCCESS);
    assert_int_equal(created[0], CREATED);
    assert_int_equal(started[0], NOW);
    assert_int_equal(again, APR_SUCCESS);
    assert_int_equal(created[1], CREATED);
    assert_int_equal(started[1], 2000000);     /* the earlier attempt's */
    assert_int_equal(lost, APR_NOTFOUND);
    assert_int_equal(gone, APR_NOTFOUND);
    assert_string_equal(status_of(fx, "p"), "Processing/T");
    assert_string_equal(status_of(fx, "theirs"), "Processing/U");
    assert_string_equal(events_of(fx, "p"),
                        "order.created:Pending order.processing:Processing");
    /* No second event for the claim committed before. */
    assert_string_equal(events_of(fx, "mine"),
                        "order.created:Pending order.processing:Processing");
}

static void test_completions_are_won_lost_or_found_committed(void **state)
{
    fixture_t *fx = *state;
    apr_status_t won = -1, again = -1, lost = -1;
    apr_time_t at[3] = { 0 };

    given(fx, "run", "processing:T");
    given(fx, "done", "completed:T");
    given(fx, "theirs", "processing:U");
    ord_store_batch_begin(&fx->conn, fx->pool);
    assert_int_equal(ord_store_complete_gathered(&fx->conn, fx->pool, "run",
                                                 "T", NOW, &won, &at[0]),
                     APR_SUCCESS);
    assert_int_equal(ord_store_complete_gathered(&fx->conn, fx->pool, "done",
                                                 "T", NOW, &again, &at[1]),
                     APR_SUCCESS);
    assert_int_equal(ord_store_complete_gathered(&fx->conn, fx->pool,
                                                 "theirs", "T", NOW, &lost,
                                                 &at[2]), APR_SUCCESS);
    flush_ok(fx);
    assert_int_equal(won, APR_SUCCESS);
    assert_int_equal(at[0], NOW);
    assert_int_equal(again, APR_SUCCESS);
    assert_int_equal(at[1], 2500000);          /* the first completion's */
    assert_int_equal(lost, APR_NOTFOUND);
    assert_string_equal(status_of(fx, "run"), "Completed/T");
    assert_string_equal(status_of(fx, "theirs"), "Processing/U");
    assert_int_equal(number(fx, "SELECT completed_us FROM orders "
                                "WHERE order_id = 'run'"), NOW);
    assert_string_equal(events_of(fx, "run"),
                        "order.created:Pending order.processing:Processing "
                        "order.completed:Completed");
    assert_string_equal(events_of(fx, "done"),
                        "order.created:Pending order.processing:Processing "
                        "order.completed:Completed");
}

/* Row counts on both sides of the statements' bounds (powers of two up to
 * 64, the last rows repeating the first). */
typedef struct {
    const char *name;
    int orders;
    int no_returning;
} many_case_t;

static const many_case_t many_cases[] = {
    { "one", 1, 0 },
    { "three (padded to four)", 3, 0 },
    { "sixty-four", 64, 0 },
    { "sixty-five", 65, 0 },
    { "a hundred and fifty", 150, 0 },
    { "one, rows read first", 1, 1 },
    { "three, rows read first", 3, 1 },
    { "sixty-five, rows read first", 65, 1 },
    { "a hundred and fifty, rows read first", 150, 1 },
};

static const char *check_many(const unit_ctx_t *ctx, const void *row)
{
    const many_case_t *m = row;
    fixture_t fx_;
    fixture_t *fx = &fx_;
    const char *why = NULL;
    int *created, i;
    apr_status_t *claimed;
    apr_time_t *times;

    if (unit_sqlite_open(fx, 1) != 0) {
        unit_sqlite_close(fx);
        return "no database";
    }
    if (m->no_returning) {
        use_no_returning(fx);
    }
    created = apr_pcalloc(fx->pool, sizeof(int) * (apr_size_t)m->orders);
    claimed = apr_pcalloc(fx->pool, sizeof(*claimed) * (apr_size_t)m->orders);
    times = apr_pcalloc(fx->pool, sizeof(*times) * 2 * (apr_size_t)m->orders);
    ord_store_batch_begin(&fx->conn, fx->pool);
    for (i = 0; i < m->orders; i++) {
        ord_store_insert(&fx->conn, fx->pool,
                         order_of(fx, apr_psprintf(fx->pool, "m%d", i)), LEASE,
                         &created[i]);
    }
    if (ord_store_batch_flush(&fx->conn, fx->pool) != APR_SUCCESS) {
        why = "the inserts' flush failed";
        goto leave;
    }
    ord_store_batch_begin(&fx->conn, fx->pool);
    for (i = 0; i < m->orders; i++) {
        ord_store_claim_gathered(&fx->conn, fx->pool,
                                 apr_psprintf(fx->pool, "m%d", i),
                                 ORD_PENDING, "T", NOW, LEASE, &claimed[i],
                                 &times[2 * i], &times[2 * i + 1]);
    }
    if (ord_store_batch_flush(&fx->conn, fx->pool) != APR_SUCCESS) {
        why = "the claims' flush failed";
        goto leave;
    }
    for (i = 0; i < m->orders && !why; i++) {
        if (created[i] != 1 || claimed[i] != APR_SUCCESS) {
            why = apr_psprintf(ctx->pool, "order m%d: created %d, claim %d",
                               i, created[i], claimed[i]);
        }
    }
    if (!why && number(fx, "SELECT COUNT(*) FROM orders WHERE status = "
                           "'Processing'") != m->orders) {
        why = "not every order is Processing";
    }
    ord_store_batch_begin(&fx->conn, fx->pool);
    for (i = 0; i < m->orders; i++) {
        ord_store_complete_gathered(&fx->conn, fx->pool,
                                    apr_psprintf(fx->pool, "m%d", i), "T",
                                    NOW + 1, &claimed[i], &times[2 * i]);
    }
    if (!why && ord_store_batch_flush(&fx->conn, fx->pool) != APR_SUCCESS) {
        why = "the completions' flush failed";
    }
    for (i = 0; i < m->orders && !why; i++) {
        if (claimed[i] != APR_SUCCESS || times[2 * i] != NOW + 1) {
            why = apr_psprintf(ctx->pool, "order m%d: completion %d at %"
                               APR_INT64_T_FMT, i, claimed[i], times[2 * i]);
        }
    }
    if (!why && number(fx, "SELECT COUNT(*) FROM orders WHERE status = "
                           "'Completed' AND completed_us = updated_us AND "
                           "lease_until_us IS NULL") != m->orders) {
        why = "not every order is Completed, with its times";
    }
    if (!why
        && number(fx, "SELECT COUNT(*) FROM order_events") != 3 * m->orders) {
        why = apr_psprintf(ctx->pool, "%" APR_INT64_T_FMT " events",
                           number(fx, "SELECT COUNT(*) FROM order_events"));
    }
    if (!why && number(fx, "SELECT COUNT(*) FROM (SELECT order_id, type FROM "
                           "order_events GROUP BY order_id, type "
                           "HAVING COUNT(*) > 1)") != 0) {
        why = "an event twice";
    }
leave:
    unit_sqlite_close(fx);
    return why;
}

UNIT_TABLE_TEST(test_many_rows_cross_the_statements_bounds, many_cases,
                check_many)

static void test_a_second_claim_of_one_order_runs_after_the_first(
    void **state)
{
    fixture_t *fx = *state;
    apr_status_t first = -1, second = -1;
    apr_time_t t[4];

    given(fx, "twice", "pending");
    ord_store_batch_begin(&fx->conn, fx->pool);
    ord_store_claim_gathered(&fx->conn, fx->pool, "twice", ORD_PENDING, "T1",
                             NOW, LEASE, &first, &t[0], &t[1]);
    ord_store_claim_gathered(&fx->conn, fx->pool, "twice", ORD_PENDING, "T2",
                             NOW, LEASE, &second, &t[2], &t[3]);
    flush_ok(fx);
    assert_int_equal(first, APR_SUCCESS);
    assert_int_equal(second, APR_NOTFOUND);
    assert_string_equal(status_of(fx, "twice"), "Processing/T1");
    assert_string_equal(events_of(fx, "twice"),
                        "order.created:Pending order.processing:Processing");
}

/* A cancel's event is gathered; a later write of that order in the batch
 * writes it first, so that it says what the cancel left. */
static void test_a_write_of_an_order_with_a_gathered_event_writes_it_first(
    void **state)
{
    fixture_t *fx = *state;
    apr_time_t a, b;

    given(fx, "c", "pending");
    ord_store_batch_begin(&fx->conn, fx->pool);
    assert_int_equal(ord_store_cancel(&fx->conn, fx->pool, "c", NOW),
                     APR_SUCCESS);
    assert_string_equal(events_of(fx, "c"), "order.created:Pending");
    assert_int_equal(ord_store_claim(&fx->conn, fx->pool, "c", ORD_PROCESSING,
                                     "T", NOW, LEASE, &a, &b), APR_NOTFOUND);
    assert_string_equal(events_of(fx, "c"),
                        "order.created:Pending order.cancelled:Cancelled");
    flush_ok(fx);
    assert_string_equal(events_of(fx, "c"),
                        "order.created:Pending order.cancelled:Cancelled");
}

static void test_a_discarded_batch_writes_nothing(void **state)
{
    fixture_t *fx = *state;
    int created = -1;

    ord_store_batch_begin(&fx->conn, fx->pool);
    ord_store_insert(&fx->conn, fx->pool, order_of(fx, "x"), LEASE, &created);
    ord_store_batch_discard(&fx->conn);
    assert_null(fx->conn.deferred);
    assert_int_equal(number(fx, "SELECT COUNT(*) FROM orders"), 0);
    /* Outside a batch again: at once. */
    assert_int_equal(ord_store_insert(&fx->conn, fx->pool, order_of(fx, "x"),
                                      LEASE, &created), APR_SUCCESS);
    assert_int_equal(created, 1);
    assert_int_equal(number(fx, "SELECT COUNT(*) FROM orders"), 1);
}

static void test_a_failed_flush_ends_the_batch(void **state)
{
    fixture_t *fx = *state;
    int created = -1, nrows = 0;

    ord_store_batch_begin(&fx->conn, fx->pool);
    ord_store_insert(&fx->conn, fx->pool, order_of(fx, "y"), LEASE, &created);
    assert_int_equal(apr_dbd_query(fx->conn.driver, fx->conn.handle, &nrows,
                                   "DROP TABLE order_events"), 0);
    assert_int_equal(ord_store_batch_flush(&fx->conn, fx->pool),
                     APR_EGENERAL);
    assert_null(fx->conn.deferred);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_new_orders_are_created_once_with_their_events, setup,
            unit_sqlite_teardown),
        cmocka_unit_test_setup_teardown(
            test_claims_are_won_lost_or_found_committed, setup,
            unit_sqlite_teardown),
        cmocka_unit_test_setup_teardown(
            test_completions_are_won_lost_or_found_committed, setup,
            unit_sqlite_teardown),
        /* The same, rows read first (no UPDATE ... RETURNING). */
        { "test_claims_are_won_lost_or_found_committed, rows read first",
          test_claims_are_won_lost_or_found_committed, setup_no_returning,
          unit_sqlite_teardown, NULL },
        { "test_completions_are_won_lost_or_found_committed, rows read first",
          test_completions_are_won_lost_or_found_committed,
          setup_no_returning, unit_sqlite_teardown, NULL },
        { "test_a_second_claim_of_one_order_runs_after_the_first, rows read "
          "first", test_a_second_claim_of_one_order_runs_after_the_first,
          setup_no_returning, unit_sqlite_teardown, NULL },
        cmocka_unit_test(test_many_rows_cross_the_statements_bounds),
        cmocka_unit_test_setup_teardown(
            test_a_second_claim_of_one_order_runs_after_the_first, setup,
            unit_sqlite_teardown),
        cmocka_unit_test_setup_teardown(
            test_a_write_of_an_order_with_a_gathered_event_writes_it_first,
            setup, unit_sqlite_teardown),
        cmocka_unit_test_setup_teardown(test_a_discarded_batch_writes_nothing,
                                        setup, unit_sqlite_teardown),
        cmocka_unit_test_setup_teardown(test_a_failed_flush_ends_the_batch,
                                        setup, unit_sqlite_teardown),
    };
    return cmocka_run_group_tests(tests, unit_group_setup, unit_group_teardown);
}
