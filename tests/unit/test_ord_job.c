/*
 * ord_job: one order's claim, wait and completion, driven through a fake
 * writer and a fake clock on a real SQLite file.  Each case is a row: what
 * happens to the order's row before the job starts or between its claim
 * and its completion, and what the writer does with each write the job
 * hands it; the walker checks how the job ends, what it counted, what it
 * logged and what the row says.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "unit_support.h"

#include <apr_dbd.h>
#include <apr_hash.h>
#include <apr_strings.h>

#include "ord_job.h"
#include "ord_store.h"

#define CREATED     APR_INT64_C(1000000)
#define START       APR_INT64_C(1500000)
#define PROCESSING  APR_INT64_C(2000000)
#define LEASE       APR_INT64_C(1000000)
#define RETRY       APR_INT64_C(500000)

typedef struct {
    apr_pool_t *pool;
    char dir[64];
    ord_db_t conn;
    apr_time_t clock;
    /* What the job handed the writer, and what the environment saw. */
    ord_order_job_t *posted;
    ord_write_fn *write;
    int begins, ends, claimed, completed, warnings;
    ord_status_e claimed_from;
    apr_interval_time_t processing;
} fixture_t;

/* ---- the environment -------------------------------------------- */

static apr_status_t fake_post(void *ctx, ord_order_job_t *job,
                              ord_write_fn *write)
{
    fixture_t *fx = ctx;

    fx->posted = job;
    fx->write = write;
    return APR_SUCCESS;
}

static apr_time_t fake_now(void *ctx)
{
    return ((fixture_t *)ctx)->clock;
}

static apr_interval_time_t fake_processing_time(void *ctx)
{
    return PROCESSING;
}

static void fake_begin(void *ctx)
{
    ((fixture_t *)ctx)->begins++;
}

static void fake_end(void *ctx, const ord_job_event_t *ev)
{
    fixture_t *fx = ctx;

    fx->ends++;
    if (ev && ev->claimed) {
        fx->claimed++;
        fx->claimed_from = ev->from;
    }
    if (ev && ev->completed) {
        fx->completed++;
        fx->processing = ev->processing;
    }
}

/* Counts the orders left to the recovery pass, as the log says them. */
static void fake_log(void *ctx, int level, const char *message)
{
    if (strstr(message, "ORD00010:")) {
        ((fixture_t *)ctx)->warnings++;
    }
}

/* ---- fixture ---------------------------------------------------------- */

static int setup(void **state)
{
    fixture_t *fx = calloc(1, sizeof(*fx));
    const apr_dbd_driver_t *driver;
    apr_dbd_t *handle;

    apr_pool_create(&fx->pool, NULL);
    apr_dbd_init(fx->pool);
    strcpy(fx->dir, "/tmp/ord_job_XXXXXX");
    if (!mkdtemp(fx->dir)
        || apr_dbd_get_driver(fx->pool, "sqlite3", &driver) != APR_SUCCESS
        || apr_dbd_open(driver, fx->pool,
                        apr_pstrcat(fx->pool, fx->dir, "/orders.db", NULL),
                        &handle) != APR_SUCCESS
        || ord_db_init(&fx->conn, driver, handle, apr_hash_make(fx->pool),
                       fx->pool) != APR_SUCCESS
        || ord_store_ensure_schema(&fx->conn, fx->pool) != APR_SUCCESS) {
        return -1;
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *fx = *state;
    char cmd[128];

    apr_dbd_close(fx->conn.driver, fx->conn.handle);
    apr_pool_destroy(fx->pool);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
    free(fx);
    return system(cmd) == 0 ? 0 : -1;
}

static void run_sql(fixture_t *fx, const char *sql)
{
    if (sql && ord_db_run(&fx->conn, sql) != APR_SUCCESS) {
        fail_msg("%s: %s", sql, ord_db_error(&fx->conn));
    }
}

static const char *row_status(fixture_t *fx)
{
    ord_order_t *o = NULL;

    if (ord_store_get(&fx->conn, fx->pool, "ORD1", &o) != APR_SUCCESS) {
        fail_msg("ORD1 is gone: %s", ord_db_error(&fx->conn));
    }
    return ord_status_name(o->status);
}

/* ---- the cases ---------------------------------------------------------- */

/* Per write the job hands on: 'o' the writer runs it and commits; 'f' the
 * batch fails (nothing written); 'c' it commits but its answer is lost
 * (the job is told it failed). */
typedef struct {
    const char *name;
    const char *before;         /* SQL on the row before the job starts */
    const char *between;        /* ... after the claim, before completing */
    const char *writes;
    ord_job_end_e end;
    int claimed, completed, warnings;
    const char *status;         /* the row's, in the end */
} job_case_t;

#define CANCEL "UPDATE orders SET status = 'Cancelled' WHERE order_id = 'ORD1'"
#define OTHER_CLAIM "UPDATE orders SET status = 'Processing', " \
    "claim_token = 'other', lease_until_us = 9000000000000000 " \
    "WHERE order_id = 'ORD1'"

static const job_case_t cases[] = {
    { "claimed, waited and completed", NULL, NULL, "oo", ORD_JOB_COMPLETED, 1, 1, 0, "Completed" },
    { "cancelled before the claim", CANCEL, NULL, "o", ORD_JOB_LOST, 0, 0, 0, "Cancelled" },
    { "claim lost to another", OTHER_CLAIM, NULL, "o", ORD_JOB_LOST, 0, 0, 0, "Processing" },
    { "completion lost to another", NULL, OTHER_CLAIM, "oo", ORD_JOB_LOST, 1, 0, 0, "Processing" },
    { "claim failed once, then completed", NULL, NULL, "foo", ORD_JOB_COMPLETED, 1, 1, 0, "Completed" },
    { "completion failed once, then completed", NULL, NULL, "ofo", ORD_JOB_COMPLETED, 1, 1, 0, "Completed" },
    { "claim retries exhausted", NULL, NULL, "fff", ORD_JOB_GAVE_UP, 0, 0, 1, "Pending" },
    { "completion retries exhausted", NULL, NULL, "offf", ORD_JOB_GAVE_UP, 1, 0, 1, "Processing" },
    { "claim committed, answer lost", NULL, NULL, "coo", ORD_JOB_COMPLETED, 1, 1, 0, "Completed" },
    { "completion committed, answer lost", NULL, NULL, "oco", ORD_JOB_COMPLETED, 1, 1, 0, "Completed" },
};

/* One write as the writer would run it: inside a transaction, committed
 * or not; the job hears `answer`. */
static apr_status_t run_write(fixture_t *fx, char what)
{
    apr_status_t rv;

    if (what == 'f') {
        return APR_EGENERAL;
    }
    run_sql(fx, "BEGIN IMMEDIATE");
    rv = fx->write(&fx->conn, fx->pool, fx->posted);
    run_sql(fx, rv == APR_SUCCESS ? "COMMIT" : "ROLLBACK");
    return what == 'c' ? APR_INCOMPLETE : rv;
}

static void walk(fixture_t *fx, const job_case_t *c)
{
    ord_job_env_t env = { fake_post, fake_now, fake_processing_time,
                          fake_begin, fake_end, fake_log, fx, LEASE, RETRY };
    ord_order_t o;
    ord_order_job_t *job;
    apr_interval_time_t next;
    size_t used = 0;
    int created = 0, claims_seen = 0, steps = 0;

    memset(&o, 0, sizeof(o));
    o.order_id.text = "ORD1";
    o.user_id.text = "7";
    o.item_ids_json = "[1]";
    o.created_at = o.updated_at = CREATED;
    assert_int_equal(ord_store_insert(&fx->conn, fx->pool, &o, CREATED + LEASE,
                                      &created), APR_SUCCESS);
    run_sql(fx, c->before);
    fx->clock = START;
    job = ord_job_create(fx->pool, &env, "ORD1", ORD_PENDING, "mine", fx);
    assert_ptr_equal(ord_job_owner(job), fx);

    for (next = ord_job_step(job); next != ORD_JOB_DONE; steps++) {
        if (steps > 20) {
            fail_msg("%s: the job never ends", c->name);
        }
        if (next != ORD_JOB_PARKED) {
            fx->clock += next;          /* the queue's timer */
            if (ord_job_state(job) == ORD_JOB_WAIT && c->between
                && claims_seen++ == 0) {
                run_sql(fx, c->between);
            }
            next = ord_job_step(job);
            continue;
        }
        if (!c->writes[used]) {
            fail_msg("%s: more writes than the case has (%u)", c->name,
                     (unsigned)used);
        }
        next = ord_job_answer(job, run_write(fx, c->writes[used++]));
    }
    if (c->writes[used]) {
        fail_msg("%s: %u write(s) left over", c->name,
                 (unsigned)strlen(c->writes + used));
    }
    if (ord_job_end(job) != c->end || fx->claimed != c->claimed
        || fx->completed != c->completed || fx->warnings != c->warnings
        || strcmp(row_status(fx), c->status) != 0) {
        fail_msg("%s: end %d claimed %d completed %d warnings %d row %s; "
                 "expected %d %d %d %d %s", c->name, ord_job_end(job),
                 fx->claimed, fx->completed, fx->warnings, row_status(fx),
                 c->end, c->claimed, c->completed, c->warnings, c->status);
    }
    assert_int_equal(ord_job_state(job), ORD_JOB_FINISHED);
    /* Every transition's bracket closed. */
    assert_int_equal(fx->begins, fx->ends);
    if (fx->claimed) {
        assert_int_equal(fx->claimed_from, ORD_PENDING);
    }
}

static void test_job_cases(void **state)
{
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        void *one = NULL;
        assert_int_equal(setup(&one), 0);
        walk(one, &cases[i]);
        assert_int_equal(teardown(&one), 0);
    }
}

/* The completion counts the processing time the row says: from the claim
 * to the completion, the processing time of the fake clock. */
static void test_completed_event_carries_the_rows_times(void **state)
{
    fixture_t *fx = *state;

    walk(fx, &cases[0]);
    assert_int_equal(fx->processing, PROCESSING);
}

/* A writer that refuses the write (stopping): the job retries, then leaves
 * the order to the recovery pass, with every bracket closed. */
static apr_status_t refusing_post(void *ctx, ord_order_job_t *job,
                                  ord_write_fn *write)
{
    return APR_EOF;
}

static void test_refused_writes_leave_the_order_to_recovery(void **state)
{
    fixture_t *fx = *state;
    ord_job_env_t env = { refusing_post, fake_now, fake_processing_time,
                          fake_begin, fake_end, fake_log, fx, LEASE, RETRY };
    ord_order_job_t *job = ord_job_create(fx->pool, &env, "ORD1",
                                          ORD_PENDING, "mine", fx);
    int i;

    for (i = 1; i < ORD_JOB_ATTEMPTS; i++) {
        assert_int_equal(ord_job_step(job), RETRY);
        assert_int_equal(ord_job_state(job), ORD_JOB_CLAIM);
    }
    assert_int_equal(ord_job_step(job), ORD_JOB_DONE);
    assert_int_equal(ord_job_end(job), ORD_JOB_GAVE_UP);
    assert_int_equal(fx->begins, ORD_JOB_ATTEMPTS);
    assert_int_equal(fx->ends, ORD_JOB_ATTEMPTS);
    assert_int_equal(fx->warnings, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_job_cases),
        cmocka_unit_test_setup_teardown(
            test_completed_event_carries_the_rows_times, setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_refused_writes_leave_the_order_to_recovery, setup,
            teardown),
    };

    apr_initialize();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
