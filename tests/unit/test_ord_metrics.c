/*
 * Unit tests of ord_metrics (mod_orders/ord_metrics.h): the counter table
 * behind GET /metrics.  The table lives in an apr_palloc'd buffer of
 * ord_metrics_size(n) bytes (8-aligned, as shared memory is); process
 * liveness comes from a fake function over a set of "live" pids, so slot
 * take-over and gauge summing are exact.  The JSON is parsed back with
 * json-c and every field of API.md section 4 is checked.
 *
 * The counts are a table of scripts (count_cases): what a child does to
 * the table, in order, and the counts and sums it must leave; the JSON is
 * compared as one line of its figures (figures()).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <apr_atomic.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>

#include "unit_support.h"
#include "unit_json.h"
#include "ord_metrics.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

#define T0 (APR_INT64_C(1700000000) * APR_USEC_PER_SEC)

/* A fresh table with `nslots` slots, initialised at T0. */
static ord_metrics_t *new_table(apr_pool_t *p, apr_uint32_t nslots)
{
    apr_size_t size = ord_metrics_size(nslots);
    ord_metrics_t *m = apr_palloc(p, size);

    assert_non_null(m);
    assert_int_equal((uintptr_t)m % 8, 0);
    memset(m, 0xA5, size);      /* what stale shared memory might hold */
    ord_metrics_init(m, nslots, T0);
    return m;
}

/* The fake liveness: pids listed in `live_pids` run, nothing else does. */
static apr_uint32_t live_pids[8];

static void set_live(apr_uint32_t a, apr_uint32_t b, apr_uint32_t c)
{
    memset(live_pids, 0, sizeof(live_pids));
    live_pids[0] = a;
    live_pids[1] = b;
    live_pids[2] = c;
}

static int fake_alive(apr_uint32_t pid)
{
    apr_size_t i;

    for (i = 0; i < sizeof(live_pids) / sizeof(live_pids[0]); i++) {
        if (pid != 0 && live_pids[i] == pid) {
            return 1;
        }
    }
    return 0;
}

static int all_alive(apr_uint32_t pid)
{
    return pid != 0;
}

static void set_gauges(ord_metrics_slot_t *slot, apr_uint32_t held,
                       apr_uint32_t running)
{
    slot->gauges.held = held;
    slot->gauges.running = running;
}

/* The slot `pid` takes, which must be there. */
static ord_metrics_slot_t *taken_by(ord_metrics_t *m, apr_uint32_t pid)
{
    ord_metrics_slot_t *slot = ord_metrics_slot_take(m, pid, fake_alive);

    if (!slot) {
        fail_msg("no slot for pid %u", (unsigned)pid);
    }
    return slot;
}

/* "pending processing completed cancelled processing_us from_creation_us"
 * as ord_metrics_read gives them. */
static const char *counts_of(apr_pool_t *p, ord_metrics_t *m)
{
    ord_metrics_snapshot_t s;

    ord_metrics_read(m, all_alive, 0, &s);
    return apr_psprintf(p, "%" APR_UINT64_T_FMT " %" APR_UINT64_T_FMT " %"
                        APR_UINT64_T_FMT " %" APR_UINT64_T_FMT " %"
                        APR_UINT64_T_FMT " %" APR_UINT64_T_FMT,
                        s.count[ORD_PENDING], s.count[ORD_PROCESSING],
                        s.count[ORD_COMPLETED], s.count[ORD_CANCELLED],
                        s.processing_us_sum, s.from_creation_us_sum);
}

/* What ord_metrics_read gives at `now`: "pending processing completed
 * cancelled processing_us from_creation_us queue_depth workers_busy
 * uptime_seconds". */
static const char *read_at(apr_pool_t *p, ord_metrics_t *m,
                           ord_pid_alive_fn *alive, apr_time_t now)
{
    ord_metrics_snapshot_t s;

    memset(&s, 0xA5, sizeof(s));
    ord_metrics_read(m, alive, now, &s);
    return apr_psprintf(p, "%" APR_UINT64_T_FMT " %" APR_UINT64_T_FMT " %"
                        APR_UINT64_T_FMT " %" APR_UINT64_T_FMT " %"
                        APR_UINT64_T_FMT " %" APR_UINT64_T_FMT " %"
                        APR_UINT64_T_FMT " %" APR_UINT64_T_FMT " %"
                        APR_INT64_T_FMT, s.count[ORD_PENDING],
                        s.count[ORD_PROCESSING], s.count[ORD_COMPLETED],
                        s.count[ORD_CANCELLED], s.processing_us_sum,
                        s.from_creation_us_sum, s.queue_depth, s.workers_busy,
                        (apr_int64_t)s.uptime_seconds);
}

/* ------------------------------------------------------------------ */
/* Size and init                                                       */
/* ------------------------------------------------------------------ */

static void test_size_grows_by_one_slot_per_slot(void **state)
{
    (void)state;
    assert_int_equal(ord_metrics_size(2) - ord_metrics_size(1),
                     sizeof(ord_metrics_slot_t));
    assert_int_equal(ord_metrics_size(64) - ord_metrics_size(1),
                     63 * sizeof(ord_metrics_slot_t));
    assert_true(ord_metrics_size(1)
                >= offsetof(ord_metrics_t, slots) + sizeof(ord_metrics_slot_t));
    assert_true(ord_metrics_size(3)
                >= offsetof(ord_metrics_t, slots)
                   + 3 * sizeof(ord_metrics_slot_t));
}

static void test_counters_are_8_byte_aligned_for_atomics(void **state)
{
    (void)state;
    assert_int_equal(offsetof(ord_metrics_t, count) % 8, 0);
    assert_int_equal(offsetof(ord_metrics_t, processing_us_sum) % 8, 0);
    assert_int_equal(offsetof(ord_metrics_t, from_creation_us_sum) % 8, 0);
    assert_int_equal(offsetof(ord_metrics_t, slots) % 8, 0);
    assert_int_equal(sizeof(ord_metrics_slot_t) % 8, 0);
}

static void test_init_zeroes_counts_sums_and_slots(void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_metrics_t *m = new_table(p, 4);
    apr_uint32_t i;

    assert_string_equal(counts_of(p, m), "0 0 0 0 0 0");
    assert_int_equal(m->processing_us_sum, 0);
    assert_int_equal(m->from_creation_us_sum, 0);
    assert_int_equal(m->loaded_generation, 0);
    assert_int_equal(m->nslots, 4);
    assert_int_equal(m->started_at, T0);
    for (i = 0; i < 4; i++) {
        assert_int_equal(m->slots[i].pid, 0);
        assert_int_equal(m->slots[i].gauges.held, 0);
        assert_int_equal(m->slots[i].gauges.running, 0);
    }
}

/* ------------------------------------------------------------------ */
/* Counts                                                              */
/* ------------------------------------------------------------------ */

typedef struct {
    const char *name;
    /* What is done to a fresh table, in order: "new" (an order created),
     * "claim" (from Pending), "takeover" (of an expired Processing claim),
     * "cancel" (from Pending),
     * "done:P:C" (completed after P us of processing, C us from creation),
     * "load:Pe:Pr:Co:Ca:P:C" (ord_metrics_load of those totals). */
    const char *ops;
    /* Then: Pending, Processing, Completed, Cancelled, the processing and
     * from-creation sums in us. */
    apr_uint64_t want[6];
} count_case_t;

/* Runs one op of count_case_t.ops on `m`. */
static const char *run_op(apr_pool_t *p, ord_metrics_t *m, const char *op)
{
    ord_store_totals_t t;
    apr_int64_t v[6];

    if (strcmp(op, "new") == 0) {
        ord_metrics_created(m);
    }
    else if (strcmp(op, "claim") == 0) {
        ord_metrics_claimed(m, ORD_PENDING);
    }
    else if (strcmp(op, "takeover") == 0) {
        ord_metrics_claimed(m, ORD_PROCESSING);
    }
    else if (strcmp(op, "cancel") == 0) {
        ord_metrics_cancelled(m);
    }
    else if (sscanf(op, "done:%" APR_INT64_T_FMT ":%" APR_INT64_T_FMT,
                    &v[0], &v[1]) == 2) {
        ord_metrics_completed(m, v[0], v[1]);
    }
    else if (sscanf(op, "load:%" APR_INT64_T_FMT ":%" APR_INT64_T_FMT ":%"
                    APR_INT64_T_FMT ":%" APR_INT64_T_FMT ":%" APR_INT64_T_FMT
                    ":%" APR_INT64_T_FMT, &v[0], &v[1], &v[2], &v[3], &v[4],
                    &v[5]) == 6) {
        memset(&t, 0, sizeof(t));
        t.count[ORD_PENDING] = (apr_uint64_t)v[0];
        t.count[ORD_PROCESSING] = (apr_uint64_t)v[1];
        t.count[ORD_COMPLETED] = (apr_uint64_t)v[2];
        t.count[ORD_CANCELLED] = (apr_uint64_t)v[3];
        t.processing_us_sum = (apr_uint64_t)v[4];
        t.from_creation_us_sum = (apr_uint64_t)v[5];
        ord_metrics_load(m, &t);
    }
    else {
        return apr_psprintf(p, "unknown op \"%s\"", op);
    }
    return NULL;
}

static const char *check_count_cases(const unit_ctx_t *c, const void *r)
{
    const count_case_t *row = r;
    ord_metrics_t *m = new_table(c->pool, 1);
    char *ops = apr_pstrdup(c->pool, row->ops), *last = NULL, *op;
    const char *why, *got, *want;

    for (op = apr_strtok(ops, " ", &last); op;
         op = apr_strtok(NULL, " ", &last)) {
        if ((why = run_op(c->pool, m, op)) != NULL) {
            return why;
        }
    }
    got = counts_of(c->pool, m);
    want = apr_psprintf(c->pool, "%" APR_UINT64_T_FMT " %" APR_UINT64_T_FMT
                        " %" APR_UINT64_T_FMT " %" APR_UINT64_T_FMT " %"
                        APR_UINT64_T_FMT " %" APR_UINT64_T_FMT, row->want[0],
                        row->want[1], row->want[2], row->want[3],
                        row->want[4], row->want[5]);
    return strcmp(got, want) ? apr_psprintf(c->pool, "left %s, want %s", got,
                                            want)
                             : NULL;
}

static const count_case_t count_cases[] = {
    { "load sets counts and sums", "load:5:15:980:3:1969800000:2303000000", { 5, 15, 980, 3, 1969800000, 2303000000 } },
    { "load replaces rather than adds", "new new new claim done:1000:2000 load:1:0:2:0:10:20", { 1, 0, 2, 0, 10, 20 } },
    { "a creation adds one Pending", "new", { 1, 0, 0, 0, 0, 0 } },
    { "two creations add two", "new new", { 2, 0, 0, 0, 0, 0 } },
    { "a claim moves one to Processing", "new new claim", { 1, 1, 0, 0, 0, 0 } },
    { "a takeover changes no count", "new new claim takeover", { 1, 1, 0, 0, 0, 0 } },
    { "a completion moves one and adds its times", "new new claim claim done:2000000:2500000", { 0, 1, 1, 0, 2000000, 2500000 } },
    { "a second completion adds to the sums", "new new claim claim done:2000000:2500000 done:1000000:1250000", { 0, 0, 2, 0, 3000000, 3750000 } },
    /* The claim did commit: one order is Processing now. */
    { "a claim on an empty table leaves Pending at 0", "claim", { 0, 1, 0, 0, 0, 0 } },
    { "a completion on an empty table leaves Processing at 0", "done:1000:2000", { 0, 0, 1, 0, 1000, 2000 } },
    /* Two children's steps in the other order: one stopped between its
     * claim's commit and its count while another took the order over and
     * completed it.  Once both are in, the counts are the table's. */
    { "a completion counted before its claim adds up once both are in", "new done:1000:2000 claim", { 0, 0, 1, 0, 1000, 2000 } },
    { "two completions before their claims add up too", "new new done:1:2 done:1:2 claim claim", { 0, 0, 2, 0, 2, 4 } },
    { "a cancellation counted before its creation adds up", "cancel new", { 0, 0, 0, 1, 0, 0 } },
};

/* Counts updated from many threads at once add up exactly. */
#define RACE_THREADS 8
#define RACE_ROUNDS  20000

static void *APR_THREAD_FUNC race_worker(apr_thread_t *t, void *data)
{
    ord_metrics_t *m = data;
    int i;

    for (i = 0; i < RACE_ROUNDS; i++) {
        ord_metrics_created(m);
        ord_metrics_claimed(m, ORD_PENDING);
        ord_metrics_claimed(m, ORD_PROCESSING);
        ord_metrics_completed(m, 3, 5);
    }
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

static void test_updates_from_many_threads_add_up_exactly(void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_metrics_t *m = new_table(p, 1);
    apr_thread_t *threads[RACE_THREADS];
    apr_status_t rv;
    int i;

    for (i = 0; i < RACE_THREADS; i++) {
        assert_int_equal(apr_thread_create(&threads[i], NULL, race_worker, m,
                                           p), APR_SUCCESS);
    }
    for (i = 0; i < RACE_THREADS; i++) {
        assert_int_equal(apr_thread_join(&rv, threads[i]), APR_SUCCESS);
    }
    assert_int_equal(m->count[ORD_COMPLETED], RACE_THREADS * RACE_ROUNDS);
    assert_int_equal(m->processing_us_sum, 3 * RACE_THREADS * RACE_ROUNDS);
    assert_int_equal(m->from_creation_us_sum, 5 * RACE_THREADS * RACE_ROUNDS);
    /* Every claim follows its thread's own create and every completion its
     * own claim, so no decrement ever met a zero: nothing was clipped. */
    assert_int_equal(m->count[ORD_PENDING], 0);
    assert_int_equal(m->count[ORD_PROCESSING], 0);
    assert_int_equal(m->count[ORD_CANCELLED], 0);
}

/* ------------------------------------------------------------------ */
/* Slots                                                               */
/* ------------------------------------------------------------------ */

static void test_slot_take_gives_free_slots_to_new_pids(void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_metrics_t *m = new_table(p, 2);
    ord_metrics_slot_t *a, *b;

    set_live(100, 200, 0);
    a = taken_by(m, 100);
    b = taken_by(m, 200);
    assert_ptr_not_equal(a, b);
    assert_true(a >= &m->slots[0] && a <= &m->slots[1]);
    assert_true(b >= &m->slots[0] && b <= &m->slots[1]);
    assert_int_equal(a->pid, 100);
    assert_int_equal(b->pid, 200);
}

static void test_slot_take_is_null_when_every_owner_lives(void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_metrics_t *m = new_table(p, 2);

    set_live(100, 200, 300);
    assert_non_null(ord_metrics_slot_take(m, 100, fake_alive));
    assert_non_null(ord_metrics_slot_take(m, 200, fake_alive));
    assert_null(ord_metrics_slot_take(m, 300, fake_alive));
    assert_int_equal(m->slots[0].pid + m->slots[1].pid, 300);
}

static void test_slot_of_dead_pid_is_taken_over_with_gauges_reset(
    void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_metrics_t *m = new_table(p, 2);
    ord_metrics_slot_t *dead, *live, *taken;

    set_live(100, 200, 300);
    dead = taken_by(m, 100);
    live = taken_by(m, 200);
    set_gauges(dead, 7, 3);
    set_gauges(live, 4, 2);

    set_live(200, 300, 0);      /* 100 crashed */
    taken = ord_metrics_slot_take(m, 300, fake_alive);
    assert_ptr_equal(taken, dead);
    assert_int_equal(taken->pid, 300);
    assert_int_equal(taken->gauges.held, 0);
    assert_int_equal(taken->gauges.running, 0);
    /* The live child's slot is untouched. */
    assert_int_equal(live->pid, 200);
    assert_int_equal(live->gauges.held, 4);
    assert_int_equal(live->gauges.running, 2);
}

static void test_slot_release_frees_it_for_the_next_child(void **state)
{
    ord_metrics_slot_t *s, *again;
    apr_pool_t *p = unit_pool(state);
    ord_metrics_t *m = new_table(p, 1);

    set_live(100, 200, 0);
    s = ord_metrics_slot_take(m, 100, fake_alive);
    assert_non_null(s);
    set_gauges(s, 5, 1);
    assert_null(ord_metrics_slot_take(m, 200, fake_alive));

    ord_metrics_slot_release(s);
    assert_int_equal(s->pid, 0);
    assert_int_equal(s->gauges.held, 0);
    assert_int_equal(s->gauges.running, 0);
    again = ord_metrics_slot_take(m, 200, fake_alive);
    assert_ptr_equal(again, s);
    assert_int_equal(again->pid, 200);
}

static void test_pid_alive_knows_self_zero_and_a_reaped_child(void **state)
{
    pid_t child;
    int status;

    (void)state;
    assert_true(ord_metrics_pid_alive((apr_uint32_t)getpid()));
    assert_false(ord_metrics_pid_alive(0));

    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        _exit(0);
    }
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_false(ord_metrics_pid_alive((apr_uint32_t)child));
}

/* ------------------------------------------------------------------ */
/* Read                                                                */
/* ------------------------------------------------------------------ */

static void test_read_copies_counts_and_sums(void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_metrics_t *m = new_table(p, 1);

    assert_null(run_op(p, m, "load:1:2:3:4:111:222"));
    assert_string_equal(read_at(p, m, fake_alive, T0),
                        "1 2 3 4 111 222 0 0 0");
}

static void test_read_sums_gauges_of_live_slots_only(void **state)
{
    ord_metrics_slot_t *a, *b, *c;
    apr_pool_t *p = unit_pool(state);
    ord_metrics_t *m = new_table(p, 4);

    set_live(100, 200, 300);
    a = taken_by(m, 100);
    b = taken_by(m, 200);
    c = taken_by(m, 300);
    set_gauges(a, 4, 1);
    set_gauges(b, 10, 2);
    set_gauges(c, 7, 3);     /* its process dies below */

    set_live(100, 200, 0);
    assert_string_equal(read_at(p, m, fake_alive, T0), "0 0 0 0 0 0 14 3 0");
    set_live(0, 0, 0);
    assert_string_equal(read_at(p, m, fake_alive, T0), "0 0 0 0 0 0 0 0 0");
}

static void test_read_ignores_gauges_of_free_slots(void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_metrics_t *m = new_table(p, 2);

    /* A released slot whose gauges were left behind counts for nothing,
     * even with a liveness function that calls everything alive. */
    set_gauges(&m->slots[1], 9, 9);
    assert_string_equal(read_at(p, m, all_alive, T0), "0 0 0 0 0 0 0 0 0");
}

static void test_read_computes_uptime_in_whole_seconds(void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_metrics_t *m = new_table(p, 1);

    assert_string_equal(read_at(p, m, fake_alive, T0), "0 0 0 0 0 0 0 0 0");
    assert_string_equal(read_at(p, m, fake_alive,
                                T0 + 3600 * APR_USEC_PER_SEC),
                        "0 0 0 0 0 0 0 0 3600");
    assert_string_equal(read_at(p, m, fake_alive,
                                T0 + 90 * APR_USEC_PER_SEC + 999999),
                        "0 0 0 0 0 0 0 0 90");
}

/* ------------------------------------------------------------------ */
/* Webhooks                                                            */
/* ------------------------------------------------------------------ */

/* "delivered failed retried pending oldest_pending_us" read at `now`. */
static const char *webhooks_at(apr_pool_t *p, ord_metrics_t *m,
                               apr_time_t now)
{
    ord_metrics_snapshot_t s;

    ord_metrics_read(m, fake_alive, now, &s);
    return apr_psprintf(p, "%" APR_UINT64_T_FMT " %" APR_UINT64_T_FMT " %"
                        APR_UINT64_T_FMT " %" APR_UINT64_T_FMT " %"
                        APR_UINT64_T_FMT, s.webhooks.delivered,
                        s.webhooks.failed, s.webhooks.retried,
                        s.webhooks.pending, s.webhooks.oldest_pending_us);
}

static void test_each_verdict_counts_in_its_own_counter(void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_metrics_t *m = new_table(p, 2);
    int i;

    for (i = 0; i < 3; i++) {
        ord_metrics_delivery(m, ORD_WEBHOOK_DELIVERED);
    }
    ord_metrics_delivery(m, ORD_WEBHOOK_GIVE_UP);
    ord_metrics_delivery(m, ORD_WEBHOOK_RETRY);
    ord_metrics_delivery(m, ORD_WEBHOOK_RETRY);
    assert_string_equal(webhooks_at(p, m, T0), "3 1 2 0 0");
}

static void test_answers_count_by_outcome(void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_metrics_t *m = new_table(p, 2);
    ord_metrics_snapshot_t s;
    int i;

    for (i = 0; i < 3; i++) {
        ord_metrics_answered(m, ORD_OUTCOME_CREATED);
    }
    ord_metrics_answered(m, ORD_OUTCOME_UNAVAILABLE);
    ord_metrics_answered(m, ORD_OUTCOME_COUNT);     /* out of range: none */
    ord_metrics_read(m, fake_alive, T0, &s);
    for (i = 0; i < ORD_OUTCOME_COUNT; i++) {
        assert_int_equal(s.answers[i], i == ORD_OUTCOME_CREATED ? 3
                                       : i == ORD_OUTCOME_UNAVAILABLE ? 1
                                                                      : 0);
    }
}

typedef struct {
    const char *name;
    apr_uint64_t pending;
    apr_time_t oldest_at, now;
    const char *want;       /* as webhooks_at spells it */
} backlog_case_t;

static const char *check_backlog_cases(const unit_ctx_t *c, const void *r)
{
    const backlog_case_t *row = r;
    ord_metrics_t *m = new_table(c->pool, 2);
    const char *got;

    /* Over an earlier backlog: each publication replaces the last. */
    ord_metrics_delivery_backlog(m, 99, T0 - APR_USEC_PER_SEC);
    ord_metrics_delivery_backlog(m, row->pending, row->oldest_at);
    got = webhooks_at(c->pool, m, row->now);
    return strcmp(got, row->want) ? apr_psprintf(c->pool, "%s, want %s", got,
                                                 row->want)
                                  : NULL;
}

static const backlog_case_t backlog_cases[] = {
    { "the oldest's age at the read", 3, T0 - 2500000, T0,
      "0 0 0 3 2500000" },
    { "none pending: no age, whatever the time", 0, T0 - 2500000, T0,
      "0 0 0 0 0" },
    { "pending without a time (not read): no age", 4, 0, T0,
      "0 0 0 4 0" },
    { "an oldest in the future (a clock stepped back): no age", 1,
      T0 + APR_USEC_PER_SEC, T0, "0 0 0 1 0" },
};

/* Whose turn it is to read the backlog: calls of ord_metrics_backlog_turn
 * on one table (from any child), each "at:every" in ms after T0, and which
 * of them got it ("1" or "0" each, in order). */
typedef struct {
    const char *name;
    const char *calls;
    const char *want;
} turn_case_t;

static const char *check_turn_cases(const unit_ctx_t *c, const void *r)
{
    const turn_case_t *row = r;
    ord_metrics_t *m = new_table(c->pool, 2);
    char *calls = apr_pstrdup(c->pool, row->calls), *last = NULL, *call;
    char *got = apr_pstrdup(c->pool, "");

    for (call = apr_strtok(calls, " ", &last); call;
         call = apr_strtok(NULL, " ", &last)) {
        long at, every;

        if (sscanf(call, "%ld:%ld", &at, &every) != 2) {
            return apr_psprintf(c->pool, "bad call \"%s\"", call);
        }
        got = apr_pstrcat(c->pool, got,
                          ord_metrics_backlog_turn(
                              m, T0 + apr_time_from_msec(at),
                              apr_time_from_msec(every)) ? "1" : "0", NULL);
    }
    return strcmp(got, row->want) ? apr_psprintf(c->pool, "got %s, want %s",
                                                 got, row->want)
                                  : NULL;
}

static const turn_case_t turn_cases[] = {
    { "the first call reads", "0:250", "1" },
    { "the next within the interval does not, from any child", "0:250 0:250 249:250", "100" },
    { "one call when the interval is up reads, the next not", "0:250 250:250 250:250", "110" },
    { "a later call than due reads", "0:250 900:250", "11" },
    /* A read that took 100 ms: ten times as long until the next. */
    { "the interval the reader sets holds for all", "0:1000 250:250 999:250 1000:250", "1001" },
    { "no interval is longer than a minute", "0:3600000 60000:250", "11" },
    /* Set a minute and more ahead of now: the clock stepped back. */
    { "a time set far ahead of now is due", "100000:250 30000:250 30100:250", "110" },
};

/* ------------------------------------------------------------------ */
/* JSON                                                                */
/* ------------------------------------------------------------------ */

/* The JSON of `s`, which must be exactly the eight fields of API.md
 * section 4 and section 6's "webhooks", integers where they are integers,
 * spelled as one line: "total_orders total_processed Pending Processing
 * Completed Cancelled average_processing_time
 * average_processing_time_from_creation queue_depth workers_busy
 * uptime_seconds | delivered failed retried pending
 * oldest_pending_seconds". */
static const char *figures(apr_pool_t *p, const ord_metrics_snapshot_t *s)
{
    json_object *obj = unit_json_parse(p, ord_metrics_json(p, s));
    json_object *counts = unit_json_member(obj, "status_counts");
    json_object *hooks = unit_json_member(obj, "webhooks");
    char avg[3][32];    /* C's %g: APR's spells 0.25 ".25" */

    snprintf(avg[0], sizeof(avg[0]), "%.17g",
             unit_json_number(obj, "average_processing_time"));
    snprintf(avg[1], sizeof(avg[1]), "%.17g",
             unit_json_number(obj, "average_processing_time_from_creation"));
    snprintf(avg[2], sizeof(avg[2]), "%.17g",
             unit_json_number(hooks, "oldest_pending_seconds"));
    if (!json_object_is_type(obj, json_type_object)
        || json_object_object_length(obj) != 9
        || !json_object_is_type(counts, json_type_object)
        || json_object_object_length(counts) != 4
        || !json_object_is_type(hooks, json_type_object)
        || json_object_object_length(hooks) != 5) {
        fail_msg("not the nine fields, four counts and five webhook "
                 "figures: %s", json_object_to_json_string(obj));
    }
    return apr_psprintf(
        p, "%" APR_INT64_T_FMT " %" APR_INT64_T_FMT " %" APR_INT64_T_FMT " %"
        APR_INT64_T_FMT " %" APR_INT64_T_FMT " %" APR_INT64_T_FMT " %s %s %"
        APR_INT64_T_FMT " %" APR_INT64_T_FMT " %" APR_INT64_T_FMT " | %"
        APR_INT64_T_FMT " %" APR_INT64_T_FMT " %" APR_INT64_T_FMT " %"
        APR_INT64_T_FMT " %s",
        unit_json_int(obj, "total_orders"),
        unit_json_int(obj, "total_processed"),
        unit_json_int(counts, "Pending"), unit_json_int(counts, "Processing"),
        unit_json_int(counts, "Completed"), unit_json_int(counts, "Cancelled"),
        avg[0], avg[1], unit_json_int(obj, "queue_depth"), unit_json_int(obj, "workers_busy"),
        unit_json_int(obj, "uptime_seconds"),
        unit_json_int(hooks, "delivered"), unit_json_int(hooks, "failed"),
        unit_json_int(hooks, "retried"), unit_json_int(hooks, "pending"),
        avg[2]);
}

/* Snapshots and their figures.  Doubles are compared exactly: every
 * expected value is exact in binary (1.5, 2.5, 0.25, ...). */
typedef struct {
    const char *name;
    ord_metrics_snapshot_t s;
    const char *want;       /* as figures() spells it */
} json_case_t;

/* 5 Pending, 15 Processing, 2 Completed (1.5 s and 2.5 s each on
 * average), 7 Cancelled, 6 held, 3 busy, up an hour; then changes of it. */
#define SAMPLE_COUNTS { 5, 15, 2, 7 }

static const char *check_json_cases(const unit_ctx_t *c, const void *r)
{
    const json_case_t *row = r;
    const char *got = figures(c->pool, &row->s);

    return strcmp(got, row->want) ? apr_psprintf(c->pool, "%s, want %s", got,
                                                 row->want)
                                  : NULL;
}

static const json_case_t json_cases[] = {
    { "totals, counts, averages, gauges and uptime",
      { SAMPLE_COUNTS, 3000000, 5000000, { 0 }, 6, 3, 3600,
        { 0, 0, 0, 0, 0 }, { 0 } },
      "29 2 5 15 2 7 1.5 2.5 6 3 3600 | 0 0 0 0 0" },
    { "averages of other counts and large sums",
      { { 5, 15, 4, 7 }, 1000000, APR_UINT64_C(28000000000), { 0 }, 6, 3,
        3600, { 0, 0, 0, 0, 0 }, { 0 } },
      "31 4 5 15 4 7 0.25 7000 6 3 3600 | 0 0 0 0 0" },
    { "averages zero without completed orders",
      { { 5, 15, 0, 7 }, 0, 0, { 0 }, 6, 3, 3600, { 0, 0, 0, 0, 0 },
        { 0 } },
      "27 0 5 15 0 7 0 0 6 3 3600 | 0 0 0 0 0" },
    { "webhook counters, backlog and the oldest's age in seconds",
      { SAMPLE_COUNTS, 3000000, 5000000, { 0 }, 6, 3, 3600,
        { 40, 2, 7, 12, 2500000 }, { 0 } },
      "29 2 5 15 2 7 1.5 2.5 6 3 3600 | 40 2 7 12 2.5" },
};

static void test_json_of_an_empty_table_is_all_zero(void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_metrics_t *m = new_table(p, 2);
    ord_metrics_snapshot_t s;

    ord_metrics_read(m, fake_alive, T0, &s);
    assert_string_equal(figures(p, &s), "0 0 0 0 0 0 0 0 0 0 0 | 0 0 0 0 0");
}

/* The whole path: table -> read -> JSON, as GET /metrics does it. */
static void test_json_after_read_reflects_table_updates(void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_metrics_t *m = new_table(p, 2);
    ord_metrics_slot_t *slot;
    ord_metrics_snapshot_t s;

    set_live(4242, 0, 0);
    slot = ord_metrics_slot_take(m, 4242, fake_alive);
    assert_non_null(slot);
    set_gauges(slot, 2, 1);
    ord_metrics_created(m);
    ord_metrics_created(m);
    ord_metrics_created(m);
    ord_metrics_claimed(m, ORD_PENDING);
    ord_metrics_claimed(m, ORD_PENDING);
    ord_metrics_completed(m, 1000000, 1500000);
    ord_metrics_delivery(m, ORD_WEBHOOK_DELIVERED);
    ord_metrics_delivery(m, ORD_WEBHOOK_RETRY);
    ord_metrics_delivery_backlog(m, 2, T0 + 60 * APR_USEC_PER_SEC);

    ord_metrics_read(m, fake_alive, T0 + 61 * APR_USEC_PER_SEC, &s);
    assert_string_equal(figures(p, &s),
                        "3 1 1 1 1 0 1 1.5 2 1 61 | 1 0 1 2 1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_size_grows_by_one_slot_per_slot),
        cmocka_unit_test(test_counters_are_8_byte_aligned_for_atomics),
        cmocka_unit_test(test_init_zeroes_counts_sums_and_slots),
        UNIT_TABLE(count_cases),
        cmocka_unit_test(test_updates_from_many_threads_add_up_exactly),
        cmocka_unit_test(test_slot_take_gives_free_slots_to_new_pids),
        cmocka_unit_test(test_slot_take_is_null_when_every_owner_lives),
        cmocka_unit_test(
            test_slot_of_dead_pid_is_taken_over_with_gauges_reset),
        cmocka_unit_test(test_slot_release_frees_it_for_the_next_child),
        cmocka_unit_test(test_pid_alive_knows_self_zero_and_a_reaped_child),
        cmocka_unit_test(test_read_copies_counts_and_sums),
        cmocka_unit_test(test_read_sums_gauges_of_live_slots_only),
        cmocka_unit_test(test_read_ignores_gauges_of_free_slots),
        cmocka_unit_test(test_read_computes_uptime_in_whole_seconds),
        cmocka_unit_test(test_each_verdict_counts_in_its_own_counter),
        cmocka_unit_test(test_answers_count_by_outcome),
        UNIT_TABLE(backlog_cases),
        UNIT_TABLE(turn_cases),
        UNIT_TABLE(json_cases),
        cmocka_unit_test(test_json_of_an_empty_table_is_all_zero),
        cmocka_unit_test(test_json_after_read_reflects_table_updates),
    };

    return cmocka_run_group_tests(tests, unit_group_setup,
                                  unit_group_teardown);
}
