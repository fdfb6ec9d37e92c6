/*
 * ord_writer: group commit on a real SQLite file.  Writes submitted from
 * many threads all commit; posted writes are answered through their callback
 * after the commit; a failing write fails (and rolls back) its whole batch; a writer without a connection fails writes cleanly; stop drains
 * what was queued and refuses the rest.
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
#include "unit_sqlite.h"

#include <apr_dbd.h>
#include <apr_hash.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "ord_store.h"
#include "ord_writer.h"

typedef struct {
    unit_sqlite_t db;           /* first: unit_sqlite_setup's fixture */
    int refuse_open;            /* the open callback fails */
    volatile apr_uint32_t batches;
    /* The outcomes the connection went back with, in order: "S" success,
     * "A" APR_EAGAIN (runs again), "F" another failure.  Written by the
     * writer thread, read once its writes have been answered. */
    char closed[16];
} fixture_t;

static ord_db_t *open_conn(void *ctx, apr_pool_t *p)
{
    fixture_t *fx = ctx;

    apr_atomic_inc32(&fx->batches);
    return fx->refuse_open ? NULL : &fx->db.conn;
}

static void close_conn(void *ctx, ord_db_t *conn, apr_status_t outcome)
{
    fixture_t *fx = ctx;
    apr_size_t n = strlen(fx->closed);

    (void)conn;
    if (n + 1 < sizeof(fx->closed)) {
        fx->closed[n] = outcome == APR_SUCCESS ? 'S'
                        : outcome == APR_EAGAIN ? 'A' : 'F';
        fx->closed[n + 1] = '\0';
    }
}

static int setup(void **state)
{
    return unit_sqlite_setup(state, sizeof(fixture_t), 1);
}

static int count_rows(fixture_t *fx)
{
    return unit_sqlite_orders(&fx->db, fx->db.pool);
}

typedef struct {
    ord_order_t order;
    int created;
    int fail;                   /* this write fails on purpose */
} insert_t;

static apr_status_t write_insert(ord_db_t *c, apr_pool_t *p,
                                 void *arg)
{
    insert_t *w = arg;

    if (w->fail) {
        return APR_EGENERAL;
    }
    return ord_store_insert(c, p, &w->order, 1, &w->created);
}

static void make_order(apr_pool_t *p, insert_t *w, const char *id)
{
    memset(w, 0, sizeof(*w));
    w->order.order_id.text = apr_pstrdup(p, id);
    w->order.user_id.text = "u";
    w->order.item_ids_json = "[1]";
    w->order.total_amount.cents = 100;
    w->order.created_at = w->order.updated_at = 1;
}

/* A writer of `bound` writes on the fixture's connection. */
static ord_writer_t *new_writer(fixture_t *fx, apr_size_t bound)
{
    ord_writer_t *writer = NULL;

    assert_int_equal(ord_writer_create(&writer, fx->db.pool, bound, open_conn,
                                       close_conn, fx), APR_SUCCESS);
    return writer;
}

typedef struct {
    ord_writer_t *writer;
    apr_pool_t *pool;
    int index;
    apr_status_t rv;
    int created;
} submitter_t;

static void *APR_THREAD_FUNC submit_one(apr_thread_t *t, void *data)
{
    submitter_t *s = data;
    insert_t w;

    make_order(s->pool, &w, apr_psprintf(s->pool, "thread-%d", s->index));
    s->rv = ord_writer_submit(s->writer, write_insert, &w);
    s->created = w.created;
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

static void test_writes_from_many_threads_all_commit_in_fewer_batches(void **state)
{
    fixture_t *fx = *state;
    enum { N = 64 };
    apr_thread_t *threads[N];
    submitter_t subs[N];
    ord_writer_t *writer;
    apr_status_t rv;
    int i;

    writer = new_writer(fx, 256);
    for (i = 0; i < N; i++) {
        subs[i].writer = writer;
        subs[i].index = i;
        subs[i].rv = APR_EGENERAL;
        apr_pool_create(&subs[i].pool, fx->db.pool);
        assert_int_equal(apr_thread_create(&threads[i], NULL, submit_one,
                                           &subs[i], fx->db.pool), APR_SUCCESS);
    }
    for (i = 0; i < N; i++) {
        apr_thread_join(&rv, threads[i]);
        assert_int_equal(subs[i].rv, APR_SUCCESS);
        assert_int_equal(subs[i].created, 1);
    }
    assert_int_equal(count_rows(fx), N);
    /* Every write committed; some batches held more than one. */
    assert_true(apr_atomic_read32(&fx->batches) >= 1);
    assert_true(apr_atomic_read32(&fx->batches) <= N);
    assert_int_equal(ord_writer_stop(writer), APR_SUCCESS);
}

static void test_submit_returns_after_commit(void **state)
{
    fixture_t *fx = *state;
    ord_writer_t *writer;
    insert_t w;

    writer = new_writer(fx, 8);
    make_order(fx->db.pool, &w, "durable-1");
    assert_int_equal(ord_writer_submit(writer, write_insert, &w), APR_SUCCESS);
    assert_int_equal(w.created, 1);
    /* Seen at once on the same file: the transaction has ended. */
    assert_int_equal(count_rows(fx), 1);
    make_order(fx->db.pool, &w, "durable-1");
    assert_int_equal(ord_writer_submit(writer, write_insert, &w), APR_SUCCESS);
    assert_int_equal(w.created, 0);
    assert_int_equal(count_rows(fx), 1);
    ord_writer_stop(writer);
}

static void test_no_connection_fails_writes_cleanly(void **state)
{
    fixture_t *fx = *state;
    ord_writer_t *writer;
    insert_t w;

    fx->refuse_open = 1;
    writer = new_writer(fx, 8);
    make_order(fx->db.pool, &w, "nowhere");
    assert_int_equal(ord_writer_submit(writer, write_insert, &w),
                     APR_EGENERAL);
    fx->refuse_open = 0;
    assert_int_equal(ord_writer_submit(writer, write_insert, &w),
                     APR_SUCCESS);
    assert_int_equal(count_rows(fx), 1);
    ord_writer_stop(writer);
}

static void test_stop_refuses_later_writes(void **state)
{
    fixture_t *fx = *state;
    insert_t w;
    ord_writer_t *writer;

    writer = new_writer(fx, 8);
    assert_int_equal(ord_writer_stop(writer), APR_SUCCESS);
    make_order(fx->db.pool, &w, "too-late");
    assert_int_equal(ord_writer_submit(writer, write_insert, &w), APR_EOF);
    assert_int_equal(count_rows(fx), 0);
    assert_int_equal(ord_writer_stop(writer), APR_SUCCESS);   /* twice: fine */
}

/* ord_writer_post: the outcome arrives through the callback, on the writer's
 * thread, after the batch. */
typedef struct {
    fixture_t *fx;
    insert_t w;
    apr_status_t rv;
    int rows_at_done;           /* rows in the table when done ran */
    volatile apr_uint32_t *calls;
} posted_t;

static apr_status_t write_posted(ord_db_t *c, apr_pool_t *p,
                                 void *arg)
{
    posted_t *pw = arg;

    return write_insert(c, p, &pw->w);
}

/* On the writer's thread: a pool of its own, since the test's thread goes
 * on using fx->db.pool. */
static void posted_done(apr_status_t rv, void *arg)
{
    posted_t *pw = arg;
    apr_pool_t *p;

    apr_pool_create(&p, NULL);
    pw->rv = rv;
    pw->rows_at_done = unit_sqlite_orders(&pw->fx->db, p);
    apr_pool_destroy(p);
    apr_atomic_inc32(pw->calls);
}

static void post_insert(ord_writer_t *writer, fixture_t *fx, posted_t *pw,
                        const char *id, volatile apr_uint32_t *calls)
{
    make_order(fx->db.pool, &pw->w, id);
    pw->fx = fx;
    pw->rv = APR_EINIT;
    pw->rows_at_done = -1;
    pw->calls = calls;
    assert_int_equal(ord_writer_post(writer, fx->db.pool, write_posted, pw,
                                     posted_done), APR_SUCCESS);
}

/* Posts `n` inserts of "<prefix>-<i>" into posted[]. */
static void post_many(ord_writer_t *writer, fixture_t *fx, posted_t *posted,
                      int n, const char *prefix, volatile apr_uint32_t *calls)
{
    int i;

    for (i = 0; i < n; i++) {
        post_insert(writer, fx, &posted[i],
                    apr_psprintf(fx->db.pool, "%s-%d", prefix, i), calls);
    }
}

static void test_post_returns_at_once_and_calls_done_after_commit(void **state)
{
    fixture_t *fx = *state;
    enum { N = 20 };
    static volatile apr_uint32_t calls;
    posted_t posted[N];
    ord_writer_t *writer;
    int i;

    apr_atomic_set32(&calls, 0);
    writer = new_writer(fx, 256);
    post_many(writer, fx, posted, N, "post", &calls);
    assert_true(unit_wait_u32(&calls, N));
    for (i = 0; i < N; i++) {
        assert_int_equal(posted[i].rv, APR_SUCCESS);
        assert_int_equal(posted[i].w.created, 1);
        /* Committed before its callback: its own row, at least, is there. */
        assert_true(posted[i].rows_at_done >= i + 1);
    }
    assert_int_equal(count_rows(fx), N);
    ord_writer_stop(writer);
}

/* Holds the writer inside a batch until released, so that the next
 * submissions gather into one batch. */
static volatile apr_uint32_t gate_open;

static apr_status_t write_gate(ord_db_t *c, apr_pool_t *p, void *arg)
{
    while (!apr_atomic_read32(&gate_open)) {
        apr_sleep(1000);
    }
    return APR_SUCCESS;
}

static void *APR_THREAD_FUNC submit_gate(apr_thread_t *t, void *data)
{
    ord_writer_submit(data, write_gate, NULL);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

static void test_posted_failure_reaches_every_done_of_the_batch(void **state)
{
    fixture_t *fx = *state;
    static volatile apr_uint32_t calls;
    ord_writer_t *writer;
    apr_thread_t *gate;
    posted_t good, bad;
    apr_status_t rv;

    apr_atomic_set32(&calls, 0);
    apr_atomic_set32(&gate_open, 0);
    writer = new_writer(fx, 256);
    assert_int_equal(apr_thread_create(&gate, NULL, submit_gate, writer,
                                       fx->db.pool), APR_SUCCESS);
    assert_true(unit_wait_u32(&fx->batches, 1));    /* the gate's batch runs */
    /* Both queue behind the gate, in this order, into the next batch. */
    post_insert(writer, fx, &good, "good-2", &calls);
    post_insert(writer, fx, &bad, "bad-2", &calls);
    bad.w.fail = 1;
    apr_atomic_set32(&gate_open, 1);
    apr_thread_join(&rv, gate);
    assert_true(unit_wait_u32(&calls, 2));
    assert_int_equal(bad.rv, APR_EGENERAL);
    assert_int_equal(good.rv, APR_EGENERAL);
    assert_int_equal(count_rows(fx), 0);
    ord_writer_stop(writer);
}

static void test_stop_runs_posted_writes_and_then_refuses_posts(void **state)
{
    fixture_t *fx = *state;
    enum { N = 10 };
    static volatile apr_uint32_t calls;
    posted_t posted[N], late;
    ord_writer_t *writer;

    apr_atomic_set32(&calls, 0);
    writer = new_writer(fx, 4);
    post_many(writer, fx, posted, N, "drain", &calls);
    assert_int_equal(ord_writer_stop(writer), APR_SUCCESS);
    /* Every posted write ran and was answered before stop returned. */
    assert_int_equal(apr_atomic_read32(&calls), N);
    assert_int_equal(count_rows(fx), N);
    make_order(fx->db.pool, &late.w, "too-late-2");
    assert_int_equal(ord_writer_post(writer, fx->db.pool, write_posted, &late,
                                     posted_done), APR_EOF);
    assert_int_equal(apr_atomic_read32(&calls), N);
    assert_int_equal(count_rows(fx), N);
}

/* A write whose first run fails as its session did: lost (the batch runs
 * again on a new session), or cut for running too long (it does not: it
 * would wait as long again); or as the loser of a deadlock (it runs again,
 * its first connection given back as APR_EAGAIN: no incident). */
typedef struct {
    ord_db_fault_e fault;
    int runs;
    apr_time_t run_at[2];       /* when the first two runs began */
} fails_once_t;

static apr_status_t write_fails_once(ord_db_t *c, apr_pool_t *p, void *arg)
{
    fails_once_t *f = arg;

    (void)p;
    if (f->runs < 2) {
        f->run_at[f->runs] = apr_time_now();
    }
    if (f->runs++ > 0) {
        return APR_SUCCESS;
    }
    c->error_code = -1;
    c->fault = f->fault;
    return APR_EGENERAL;
}

static void test_a_lost_or_conflicting_batch_runs_again_and_a_cut_one_does_not(void **state)
{
    static const struct {
        ord_db_fault_e fault;
        apr_status_t rv;
        int runs;
        const char *closed;
        /* The least time between the two runs: the loser of a deadlock
         * lets the winner have the rows first. */
        apr_interval_time_t pause;
    } rows[] = {
        { ORD_DB_LOST, APR_SUCCESS, 2, "FS", 0 },
        { ORD_DB_STALE, APR_SUCCESS, 2, "FS", 0 },
        { ORD_DB_CONFLICT, APR_SUCCESS, 2, "AS", apr_time_from_msec(100) },
        { ORD_DB_CUT, APR_EGENERAL, 1, "F", 0 },
        { ORD_DB_BUSY, APR_EGENERAL, 1, "F", 0 },
        { ORD_DB_FAILED, APR_EGENERAL, 1, "F", 0 },
    };
    fixture_t *fx = *state;
    apr_size_t i;

    for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        ord_writer_t *writer = new_writer(fx, 8);
        fails_once_t f = { rows[i].fault, 0, { 0, 0 } };

        ord_db_reset_error(&fx->db.conn);
        fx->batches = 0;
        fx->closed[0] = '\0';
        assert_int_equal(ord_writer_submit(writer, write_fails_once, &f),
                         rows[i].rv);
        ord_writer_stop(writer);
        assert_int_equal(f.runs, rows[i].runs);
        assert_int_equal(apr_atomic_read32(&fx->batches), rows[i].runs);
        assert_string_equal(fx->closed, rows[i].closed);
        if (rows[i].runs == 2) {
            assert_true(f.run_at[1] - f.run_at[0] >= rows[i].pause);
        }
    }
}

#define WTEST(f) cmocka_unit_test_setup_teardown(f, setup, unit_sqlite_teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        WTEST(test_writes_from_many_threads_all_commit_in_fewer_batches),
        WTEST(test_submit_returns_after_commit),
        WTEST(test_no_connection_fails_writes_cleanly),
        WTEST(test_stop_refuses_later_writes),
        WTEST(test_post_returns_at_once_and_calls_done_after_commit),
        WTEST(test_posted_failure_reaches_every_done_of_the_batch),
        WTEST(test_stop_runs_posted_writes_and_then_refuses_posts),
        WTEST(test_a_lost_or_conflicting_batch_runs_again_and_a_cut_one_does_not),
    };
    return cmocka_run_group_tests(tests, unit_group_setup, unit_group_teardown);
}
