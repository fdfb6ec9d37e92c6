/*
 * Unit tests of ord_metrics (mod_orders/ord_metrics.h): the counter table
 * behind GET /metrics.  The table lives in an apr_palloc'd buffer of
 * ord_metrics_size(n) bytes (8-aligned, as shared memory is); process
 * liveness comes from a fake function over a set of "live" pids, so slot
 * take-over and gauge summing are exact.  The JSON is parsed back with
 * json-c and every field of API.md section 4 is checked.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <apr_atomic.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <json.h>

#include "unit_support.h"
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

static void assert_counts(const ord_metrics_t *m, apr_uint64_t pending,
                          apr_uint64_t processing, apr_uint64_t completed,
                          apr_uint64_t cancelled)
{
    assert_int_equal(m->count[ORD_PENDING], pending);
    assert_int_equal(m->count[ORD_PROCESSING], processing);
    assert_int_equal(m->count[ORD_COMPLETED], completed);
    assert_int_equal(m->count[ORD_CANCELLED], cancelled);
}

/* Parses the JSON of a snapshot back; released by the pool. */
static apr_status_t put_json(void *obj)
{
    json_object_put(obj);
    return APR_SUCCESS;
}

static json_object *metrics_json(apr_pool_t *p,
                                 const ord_metrics_snapshot_t *s)
{
    const char *text = ord_metrics_json(p, s);
    json_object *obj;

    assert_non_null(text);
    obj = json_tokener_parse(text);
    if (!obj || !json_object_is_type(obj, json_type_object)) {
        fail_msg("ord_metrics_json gave no JSON object: %s", text);
    }
    apr_pool_cleanup_register(p, obj, put_json, apr_pool_cleanup_null);
    return obj;
}

static json_object *member(json_object *obj, const char *key)
{
    json_object *v = NULL;

    if (!json_object_object_get_ex(obj, key, &v)) {
        fail_msg("JSON has no \"%s\": %s", key,
                 json_object_to_json_string(obj));
    }
    return v;
}

static apr_int64_t int_member(json_object *obj, const char *key)
{
    json_object *v = member(obj, key);

    if (!json_object_is_type(v, json_type_int)) {
        fail_msg("\"%s\" is not a JSON integer: %s", key,
                 json_object_to_json_string(v));
    }
    return json_object_get_int64(v);
}

static double number_member(json_object *obj, const char *key)
{
    json_object *v = member(obj, key);

    if (!json_object_is_type(v, json_type_double)
        && !json_object_is_type(v, json_type_int)) {
        fail_msg("\"%s\" is not a JSON number: %s", key,
                 json_object_to_json_string(v));
    }
    return json_object_get_double(v);
}

/* Doubles compared exactly: every expected value below is exact in binary
 * (1.5, 2.5, 0.25, ...) and the text they come from has six decimals. */
#define assert_double_exact(got, want)                                       \
    do {                                                                     \
        double g_ = (got), w_ = (want);                                      \
        if (g_ != w_) {                                                      \
            fail_msg("%s is %.9f, expected %.9f", #got, g_, w_);             \
        }                                                                    \
    } while (0)

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

    assert_counts(m, 0, 0, 0, 0);
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

static void test_load_sets_counts_and_sums_from_totals(void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_metrics_t *m = new_table(p, 1);
    ord_store_totals_t t;

    memset(&t, 0, sizeof(t));
    t.count[ORD_PENDING] = 5;
    t.count[ORD_PROCESSING] = 15;
    t.count[ORD_COMPLETED] = 980;
    t.count[ORD_CANCELLED] = 3;
    t.processing_us_sum = APR_UINT64_C(1969800000);
    t.from_creation_us_sum = APR_UINT64_C(2303000000);
    ord_metrics_load(m, &t);

    assert_counts(m, 5, 15, 980, 3);
    assert_int_equal(m->processing_us_sum, APR_UINT64_C(1969800000));
    assert_int_equal(m->from_creation_us_sum, APR_UINT64_C(2303000000));
}

static void test_load_replaces_counts_rather_than_adding(void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_metrics_t *m = new_table(p, 1);
    ord_store_totals_t t;

    ord_metrics_created(m);
    ord_metrics_created(m);
    ord_metrics_created(m);
    ord_metrics_claimed(m, ORD_PENDING);
    ord_metrics_completed(m, 1000, 2000);

    memset(&t, 0, sizeof(t));
    t.count[ORD_PENDING] = 1;
    t.count[ORD_COMPLETED] = 2;
    t.processing_us_sum = 10;
    t.from_creation_us_sum = 20;
    ord_metrics_load(m, &t);

    assert_counts(m, 1, 0, 2, 0);
    assert_int_equal(m->processing_us_sum, 10);
    assert_int_equal(m->from_creation_us_sum, 20);
}

static void test_created_adds_one_pending(void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_metrics_t *m = new_table(p, 1);

    ord_metrics_created(m);
    assert_counts(m, 1, 0, 0, 0);
    ord_metrics_created(m);
    assert_counts(m, 2, 0, 0, 0);
}

static void test_claim_from_pending_moves_one_to_processing(void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_metrics_t *m = new_table(p, 1);

    ord_metrics_created(m);
    ord_metrics_created(m);
    ord_metrics_claimed(m, ORD_PENDING);
    assert_counts(m, 1, 1, 0, 0);
}

static void test_takeover_from_processing_changes_no_count(void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_metrics_t *m = new_table(p, 1);

    ord_metrics_created(m);
    ord_metrics_created(m);
    ord_metrics_claimed(m, ORD_PENDING);
    ord_metrics_claimed(m, ORD_PROCESSING);
    assert_counts(m, 1, 1, 0, 0);
    assert_int_equal(m->processing_us_sum, 0);
    assert_int_equal(m->from_creation_us_sum, 0);
}

static void test_completed_moves_one_to_completed_and_adds_durations(
    void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_metrics_t *m = new_table(p, 1);

    ord_metrics_created(m);
    ord_metrics_created(m);
    ord_metrics_claimed(m, ORD_PENDING);
    ord_metrics_claimed(m, ORD_PENDING);
    ord_metrics_completed(m, 2000000, 2500000);
    assert_counts(m, 0, 1, 1, 0);
    assert_int_equal(m->processing_us_sum, 2000000);
    assert_int_equal(m->from_creation_us_sum, 2500000);

    ord_metrics_completed(m, 1000000, 1250000);
    assert_counts(m, 0, 0, 2, 0);
    assert_int_equal(m->processing_us_sum, 3000000);
    assert_int_equal(m->from_creation_us_sum, 3750000);
}

static void test_claim_on_empty_table_leaves_pending_zero(void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_metrics_t *m = new_table(p, 1);

    ord_metrics_claimed(m, ORD_PENDING);
    assert_int_equal(m->count[ORD_PENDING], 0);
    /* The claim did commit: one order is Processing now. */
    assert_int_equal(m->count[ORD_PROCESSING], 1);
}

static void test_completed_on_empty_table_leaves_processing_zero(
    void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_metrics_t *m = new_table(p, 1);

    ord_metrics_completed(m, 1000, 2000);
    assert_int_equal(m->count[ORD_PROCESSING], 0);
    assert_int_equal(m->count[ORD_COMPLETED], 1);
    assert_int_equal(m->processing_us_sum, 1000);
    assert_int_equal(m->from_creation_us_sum, 2000);
}

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
    a = ord_metrics_slot_take(m, 100, fake_alive);
    b = ord_metrics_slot_take(m, 200, fake_alive);
    assert_non_null(a);
    assert_non_null(b);
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
    dead = ord_metrics_slot_take(m, 100, fake_alive);
    live = ord_metrics_slot_take(m, 200, fake_alive);
    assert_non_null(dead);
    assert_non_null(live);
    dead->gauges.held = 7;
    dead->gauges.running = 3;
    live->gauges.held = 4;
    live->gauges.running = 2;

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
    apr_pool_t *p = unit_pool(state);
    ord_metrics_t *m = new_table(p, 1);
    ord_metrics_slot_t *s, *again;

    set_live(100, 200, 0);
    s = ord_metrics_slot_take(m, 100, fake_alive);
    assert_non_null(s);
    s->gauges.held = 5;
    s->gauges.running = 1;
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
    ord_metrics_snapshot_t s;
    ord_store_totals_t t;

    memset(&t, 0, sizeof(t));
    t.count[ORD_PENDING] = 1;
    t.count[ORD_PROCESSING] = 2;
    t.count[ORD_COMPLETED] = 3;
    t.count[ORD_CANCELLED] = 4;
    t.processing_us_sum = 111;
    t.from_creation_us_sum = 222;
    ord_metrics_load(m, &t);

    memset(&s, 0xA5, sizeof(s));
    ord_metrics_read(m, fake_alive, T0, &s);
    assert_int_equal(s.count[ORD_PENDING], 1);
    assert_int_equal(s.count[ORD_PROCESSING], 2);
    assert_int_equal(s.count[ORD_COMPLETED], 3);
    assert_int_equal(s.count[ORD_CANCELLED], 4);
    assert_int_equal(s.processing_us_sum, 111);
    assert_int_equal(s.from_creation_us_sum, 222);
}

static void test_read_sums_gauges_of_live_slots_only(void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_metrics_t *m = new_table(p, 4);
    ord_metrics_slot_t *a, *b, *c;
    ord_metrics_snapshot_t s;

    set_live(100, 200, 300);
    a = ord_metrics_slot_take(m, 100, fake_alive);
    b = ord_metrics_slot_take(m, 200, fake_alive);
    c = ord_metrics_slot_take(m, 300, fake_alive);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    a->gauges.held = 4;
    a->gauges.running = 1;
    b->gauges.held = 10;
    b->gauges.running = 2;
    c->gauges.held = 7;     /* its process dies below */
    c->gauges.running = 3;

    set_live(100, 200, 0);
    memset(&s, 0xA5, sizeof(s));
    ord_metrics_read(m, fake_alive, T0, &s);
    assert_int_equal(s.queue_depth, 14);
    assert_int_equal(s.workers_busy, 3);

    set_live(0, 0, 0);
    ord_metrics_read(m, fake_alive, T0, &s);
    assert_int_equal(s.queue_depth, 0);
    assert_int_equal(s.workers_busy, 0);
}

static void test_read_ignores_gauges_of_free_slots(void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_metrics_t *m = new_table(p, 2);
    ord_metrics_snapshot_t s;

    /* A released slot whose gauges were left behind counts for nothing,
     * even with a liveness function that calls everything alive. */
    m->slots[1].gauges.held = 9;
    m->slots[1].gauges.running = 9;
    ord_metrics_read(m, all_alive, T0, &s);
    assert_int_equal(s.queue_depth, 0);
    assert_int_equal(s.workers_busy, 0);
}

static void test_read_computes_uptime_in_whole_seconds(void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_metrics_t *m = new_table(p, 1);
    ord_metrics_snapshot_t s;

    ord_metrics_read(m, fake_alive, T0, &s);
    assert_int_equal(s.uptime_seconds, 0);
    ord_metrics_read(m, fake_alive, T0 + 3600 * APR_USEC_PER_SEC, &s);
    assert_int_equal(s.uptime_seconds, 3600);
    ord_metrics_read(m, fake_alive, T0 + 90 * APR_USEC_PER_SEC + 999999, &s);
    assert_int_equal(s.uptime_seconds, 90);
}

/* ------------------------------------------------------------------ */
/* JSON                                                                */
/* ------------------------------------------------------------------ */

static ord_metrics_snapshot_t sample_snapshot(void)
{
    ord_metrics_snapshot_t s;

    memset(&s, 0, sizeof(s));
    s.count[ORD_PENDING] = 5;
    s.count[ORD_PROCESSING] = 15;
    s.count[ORD_COMPLETED] = 2;
    s.count[ORD_CANCELLED] = 7;
    s.processing_us_sum = 3000000;      /* 1.5 s each */
    s.from_creation_us_sum = 5000000;   /* 2.5 s each */
    s.queue_depth = 6;
    s.workers_busy = 3;
    s.uptime_seconds = 3600;
    return s;
}

static void test_json_totals_are_sum_of_counts_and_completed(void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_metrics_snapshot_t s = sample_snapshot();
    json_object *obj = metrics_json(p, &s);

    assert_int_equal(int_member(obj, "total_orders"), 5 + 15 + 2 + 7);
    assert_int_equal(int_member(obj, "total_processed"), 2);
}

static void test_json_status_counts_has_the_four_statuses(void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_metrics_snapshot_t s = sample_snapshot();
    json_object *obj = metrics_json(p, &s);
    json_object *counts = member(obj, "status_counts");

    assert_true(json_object_is_type(counts, json_type_object));
    assert_int_equal(json_object_object_length(counts), 4);
    assert_int_equal(int_member(counts, "Pending"), 5);
    assert_int_equal(int_member(counts, "Processing"), 15);
    assert_int_equal(int_member(counts, "Completed"), 2);
    assert_int_equal(int_member(counts, "Cancelled"), 7);
}

static void test_json_averages_are_sums_over_completed_in_seconds(
    void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_metrics_snapshot_t s = sample_snapshot();
    json_object *obj = metrics_json(p, &s);

    assert_double_exact(number_member(obj, "average_processing_time"), 1.5);
    assert_double_exact(
        number_member(obj, "average_processing_time_from_creation"), 2.5);
}

static void test_json_averages_of_other_counts_and_large_sums(void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_metrics_snapshot_t s = sample_snapshot();
    json_object *obj;

    s.count[ORD_COMPLETED] = 4;
    s.processing_us_sum = 1000000;                      /* 0.25 s each */
    s.from_creation_us_sum = APR_UINT64_C(28000000000); /* 7000 s each */
    obj = metrics_json(p, &s);

    assert_double_exact(number_member(obj, "average_processing_time"), 0.25);
    assert_double_exact(
        number_member(obj, "average_processing_time_from_creation"), 7000.0);
}

static void test_json_averages_are_zero_without_completed_orders(
    void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_metrics_snapshot_t s = sample_snapshot();
    json_object *obj;

    s.count[ORD_COMPLETED] = 0;
    s.processing_us_sum = 0;
    s.from_creation_us_sum = 0;
    obj = metrics_json(p, &s);

    assert_double_exact(number_member(obj, "average_processing_time"), 0.0);
    assert_double_exact(
        number_member(obj, "average_processing_time_from_creation"), 0.0);
    assert_int_equal(int_member(obj, "total_processed"), 0);
}

static void test_json_has_queue_depth_workers_busy_and_uptime(void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_metrics_snapshot_t s = sample_snapshot();
    json_object *obj = metrics_json(p, &s);

    assert_int_equal(int_member(obj, "queue_depth"), 6);
    assert_int_equal(int_member(obj, "workers_busy"), 3);
    assert_int_equal(int_member(obj, "uptime_seconds"), 3600);
}

static void test_json_has_exactly_the_eight_api_fields(void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_metrics_snapshot_t s = sample_snapshot();
    json_object *obj = metrics_json(p, &s);

    assert_int_equal(json_object_object_length(obj), 8);
}

static void test_json_of_an_empty_table_is_all_zero(void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_metrics_t *m = new_table(p, 2);
    ord_metrics_snapshot_t s;
    json_object *obj, *counts;

    ord_metrics_read(m, fake_alive, T0, &s);
    obj = metrics_json(p, &s);
    counts = member(obj, "status_counts");
    assert_int_equal(int_member(obj, "total_orders"), 0);
    assert_int_equal(int_member(obj, "total_processed"), 0);
    assert_int_equal(int_member(counts, "Pending"), 0);
    assert_int_equal(int_member(counts, "Processing"), 0);
    assert_int_equal(int_member(counts, "Completed"), 0);
    assert_int_equal(int_member(counts, "Cancelled"), 0);
    assert_double_exact(number_member(obj, "average_processing_time"), 0.0);
    assert_int_equal(int_member(obj, "queue_depth"), 0);
    assert_int_equal(int_member(obj, "workers_busy"), 0);
    assert_int_equal(int_member(obj, "uptime_seconds"), 0);
}

/* The whole path: table -> read -> JSON, as GET /metrics does it. */
static void test_json_after_read_reflects_table_updates(void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_metrics_t *m = new_table(p, 2);
    ord_metrics_slot_t *slot;
    ord_metrics_snapshot_t s;
    json_object *obj, *counts;

    set_live(4242, 0, 0);
    slot = ord_metrics_slot_take(m, 4242, fake_alive);
    assert_non_null(slot);
    slot->gauges.held = 2;
    slot->gauges.running = 1;
    ord_metrics_created(m);
    ord_metrics_created(m);
    ord_metrics_created(m);
    ord_metrics_claimed(m, ORD_PENDING);
    ord_metrics_claimed(m, ORD_PENDING);
    ord_metrics_completed(m, 1000000, 1500000);

    ord_metrics_read(m, fake_alive, T0 + 61 * APR_USEC_PER_SEC, &s);
    obj = metrics_json(p, &s);
    counts = member(obj, "status_counts");
    assert_int_equal(int_member(obj, "total_orders"), 3);
    assert_int_equal(int_member(obj, "total_processed"), 1);
    assert_int_equal(int_member(counts, "Pending"), 1);
    assert_int_equal(int_member(counts, "Processing"), 1);
    assert_int_equal(int_member(counts, "Completed"), 1);
    assert_int_equal(int_member(counts, "Cancelled"), 0);
    assert_double_exact(number_member(obj, "average_processing_time"), 1.0);
    assert_double_exact(
        number_member(obj, "average_processing_time_from_creation"), 1.5);
    assert_int_equal(int_member(obj, "queue_depth"), 2);
    assert_int_equal(int_member(obj, "workers_busy"), 1);
    assert_int_equal(int_member(obj, "uptime_seconds"), 61);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_size_grows_by_one_slot_per_slot),
        cmocka_unit_test(test_counters_are_8_byte_aligned_for_atomics),
        cmocka_unit_test(test_init_zeroes_counts_sums_and_slots),
        cmocka_unit_test(test_load_sets_counts_and_sums_from_totals),
        cmocka_unit_test(test_load_replaces_counts_rather_than_adding),
        cmocka_unit_test(test_created_adds_one_pending),
        cmocka_unit_test(test_claim_from_pending_moves_one_to_processing),
        cmocka_unit_test(test_takeover_from_processing_changes_no_count),
        cmocka_unit_test(
            test_completed_moves_one_to_completed_and_adds_durations),
        cmocka_unit_test(test_claim_on_empty_table_leaves_pending_zero),
        cmocka_unit_test(
            test_completed_on_empty_table_leaves_processing_zero),
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
        cmocka_unit_test(test_json_totals_are_sum_of_counts_and_completed),
        cmocka_unit_test(test_json_status_counts_has_the_four_statuses),
        cmocka_unit_test(
            test_json_averages_are_sums_over_completed_in_seconds),
        cmocka_unit_test(test_json_averages_of_other_counts_and_large_sums),
        cmocka_unit_test(
            test_json_averages_are_zero_without_completed_orders),
        cmocka_unit_test(test_json_has_queue_depth_workers_busy_and_uptime),
        cmocka_unit_test(test_json_has_exactly_the_eight_api_fields),
        cmocka_unit_test(test_json_of_an_empty_table_is_all_zero),
        cmocka_unit_test(test_json_after_read_reflects_table_updates),
    };

    return cmocka_run_group_tests(tests, unit_group_setup,
                                  unit_group_teardown);
}
