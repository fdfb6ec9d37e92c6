/*
 * Unit tests of ord_queue (mod_orders/ord_queue.h): a bounded queue of
 * multi-step jobs on a real apr_thread_pool.
 *
 * Jobs here are tiny state machines that count their steps with atomics;
 * "blocking" jobs hold their thread until the test opens a gate, so the
 * queue can be filled to its bound deterministically.  Each job's pool gets
 * a cleanup that counts its destruction, which is how the tests see the
 * queue keep its promise to destroy every pool it was given.  Whatever
 * another thread does is awaited with a bounded poll (unit_support.h),
 * never with a bare sleep.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <apr_atomic.h>
#include <apr_thread_proc.h>

#include "unit_support.h"
#include "ord_queue.h"

#define MAX_JOBS 64

/* How long a blocking step waits for its gate before it gives up, so that
 * a failing test cannot hang the run. */
#define GATE_GIVE_UP_US (10 * APR_USEC_PER_SEC)

typedef struct {
    apr_pool_t *pool;                   /* the queue lives here */
    ord_queue_t *queue;
    int queue_destroyed;
    ord_queue_gauges_t gauges;
    volatile apr_uint32_t gate;         /* 1: blocking steps may go on */
    volatile apr_uint32_t started;      /* blocking steps begun */
    volatile apr_uint32_t finished;     /* jobs that returned ORD_JOB_DONE */
    volatile apr_uint32_t pools_destroyed;
    volatile apr_uint32_t runs[MAX_JOBS];   /* steps run, per job */
    apr_time_t step_at[MAX_JOBS][2];        /* when steps 1 and 2 began */
} fixture_t;

typedef struct {
    fixture_t *fx;
    int id;
    apr_interval_time_t delay;  /* two_steps: wait between the steps */
    ord_job_t *handle;          /* parking_step: for ord_queue_resume */
} job_t;

/* ------------------------------------------------------------------ */
/* Steps                                                               */
/* ------------------------------------------------------------------ */

/* One step, then done. */
static apr_interval_time_t one_step(void *data)
{
    job_t *job = data;

    apr_atomic_inc32(&job->fx->runs[job->id]);
    apr_atomic_inc32(&job->fx->finished);
    return ORD_JOB_DONE;
}

/* Asks for `delay` after its first step, done after its second. */
static apr_interval_time_t two_steps(void *data)
{
    job_t *job = data;
    apr_uint32_t n = apr_atomic_read32(&job->fx->runs[job->id]);

    if (n < 2) {
        job->fx->step_at[job->id][n] = apr_time_now();
    }
    apr_atomic_inc32(&job->fx->runs[job->id]);
    if (n == 0) {
        return job->delay;
    }
    apr_atomic_inc32(&job->fx->finished);
    return ORD_JOB_DONE;
}

/* Parks on its first run (someone else resumes it), done on its second. */
static volatile job_t *parked_job;

static apr_interval_time_t parking_step(void *data)
{
    job_t *job = data;
    apr_uint32_t n = apr_atomic_inc32(&job->fx->runs[job->id]);

    if (n == 0) {
        parked_job = job;       /* handed on: not touched again here */
        return ORD_JOB_PARKED;
    }
    apr_atomic_inc32(&job->fx->finished);
    return ORD_JOB_DONE;
}

/* Holds its thread until the gate opens. */
static apr_interval_time_t blocking_step(void *data)
{
    job_t *job = data;
    apr_time_t give_up = apr_time_now() + GATE_GIVE_UP_US;

    apr_atomic_inc32(&job->fx->started);
    while (apr_atomic_read32(&job->fx->gate) == 0
           && apr_time_now() < give_up) {
        apr_sleep(200);
    }
    apr_atomic_inc32(&job->fx->runs[job->id]);
    apr_atomic_inc32(&job->fx->finished);
    return ORD_JOB_DONE;
}

/* ------------------------------------------------------------------ */
/* Fixture                                                             */
/* ------------------------------------------------------------------ */

static apr_status_t count_pool_destroyed(void *data)
{
    fixture_t *fx = data;

    apr_atomic_inc32(&fx->pools_destroyed);
    return APR_SUCCESS;
}

static int setup(void **state)
{
    apr_pool_t *group = unit_pool(state);
    fixture_t *fx = apr_pcalloc(group, sizeof(*fx));

    if (apr_pool_create(&fx->pool, group) != APR_SUCCESS) {
        return -1;
    }
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *fx = *state;

    apr_atomic_set32(&fx->gate, 1);
    if (fx->queue && !fx->queue_destroyed) {
        ord_queue_destroy(fx->queue);
    }
    apr_pool_destroy(fx->pool);
    return 0;
}

static void make_queue(fixture_t *fx, apr_size_t threads, apr_uint32_t bound)
{
    fx->gauges.held = 0;
    fx->gauges.running = 0;
    assert_int_equal(ord_queue_create(&fx->queue, fx->pool, threads, bound,
                                      &fx->gauges), APR_SUCCESS);
    assert_non_null(fx->queue);
}

static void destroy_queue(fixture_t *fx)
{
    assert_int_equal(ord_queue_destroy(fx->queue), APR_SUCCESS);
    fx->queue_destroyed = 1;
}

/* A job in its own pool, whose destruction is counted. */
static job_t *make_job(fixture_t *fx, ord_queue_t *queue, int id,
                       apr_interval_time_t delay, apr_pool_t **jp)
{
    job_t *job;

    *jp = NULL;
    assert_int_equal(ord_queue_job_pool(queue, jp), APR_SUCCESS);
    assert_non_null(*jp);
    job = apr_pcalloc(*jp, sizeof(*job));
    job->fx = fx;
    job->id = id;
    job->delay = delay;
    apr_pool_cleanup_register(*jp, fx, count_pool_destroyed,
                              apr_pool_cleanup_null);
    return job;
}

/* Makes a job and pushes it; returns what the push said. */
static apr_status_t push_on(fixture_t *fx, ord_queue_t *queue, int id,
                            ord_job_step_fn *step, apr_interval_time_t delay)
{
    apr_pool_t *jp;
    job_t *job = make_job(fx, queue, id, delay, &jp);

    return ord_queue_push(queue, jp, step, job);
}

static apr_status_t push_parking(fixture_t *fx, int id)
{
    apr_pool_t *jp;
    job_t *job = make_job(fx, fx->queue, id, 0, &jp);

    return ord_queue_push_job(fx->queue, jp, parking_step, job, &job->handle);
}

static apr_status_t start(fixture_t *fx, int id, ord_job_step_fn *step,
                          apr_interval_time_t delay)
{
    apr_pool_t *jp;
    job_t *job = make_job(fx, fx->queue, id, delay, &jp);

    return ord_queue_start(fx->queue, jp, step, job, &job->handle);
}

static apr_status_t push(fixture_t *fx, int id, ord_job_step_fn *step,
                         apr_interval_time_t delay)
{
    return push_on(fx, fx->queue, id, step, delay);
}

/* Pushes jobs 0..n-1 of `step` (no delay); each must be taken. */
static void push_all(fixture_t *fx, int n, ord_job_step_fn *step)
{
    int i;

    for (i = 0; i < n; i++) {
        assert_int_equal(push(fx, i, step, 0), APR_SUCCESS);
    }
}

/* ------------------------------------------------------------------ */
/* Running jobs                                                        */
/* ------------------------------------------------------------------ */

static void test_pushed_jobs_each_run_exactly_once(void **state)
{
    int i;
    fixture_t *fx = *state;

    make_queue(fx, 2, 16);
    push_all(fx, 10, one_step);
    assert_eventually_u32(&fx->finished, 10);
    assert_eventually_u32(&fx->gauges.held, 0);
    assert_eventually_u32(&fx->gauges.running, 0);
    for (i = 0; i < 10; i++) {
        assert_int_equal(fx->runs[i], 1);
    }
    assert_int_equal(fx->finished, 10);
}

static void test_multi_step_job_runs_second_step_after_its_delay(
    void **state)
{
    fixture_t *fx = *state;
    apr_interval_time_t waited;

    make_queue(fx, 2, 4);
    assert_int_equal(push(fx, 0, two_steps, 20000), APR_SUCCESS);
    assert_eventually_u32(&fx->finished, 1);
    assert_eventually_u32(&fx->gauges.held, 0);
    assert_int_equal(fx->runs[0], 2);
    waited = fx->step_at[0][1] - fx->step_at[0][0];
    if (waited < 20000) {
        fail_msg("second step ran %" APR_TIME_T_FMT " us after the first, "
                 "asked for 20000", waited);
    }
}

/* Many waits at once share time slots: every job still gets its second
 * step, none before its delay. */
static void test_many_waiting_jobs_each_run_after_their_delay(void **state)
{
    fixture_t *fx = *state;
    enum { N = MAX_JOBS };
    int i;

    make_queue(fx, 4, N);
    for (i = 0; i < N; i++) {
        /* 30-61 ms: several jobs per 10 ms slot, several slots. */
        assert_int_equal(push(fx, i, two_steps, 30000 + (i % 32) * 1000),
                         APR_SUCCESS);
    }
    assert_eventually_u32(&fx->finished, N);
    assert_eventually_u32(&fx->gauges.held, 0);
    for (i = 0; i < N; i++) {
        apr_interval_time_t waited = fx->step_at[i][1] - fx->step_at[i][0];

        assert_int_equal(fx->runs[i], 2);
        if (waited < 30000 + (i % 32) * 1000) {
            fail_msg("job %d: second step %" APR_TIME_T_FMT " us after the "
                     "first, asked for %d", i, waited, 30000 + (i % 32) * 1000);
        }
    }
}

static void test_zero_delay_step_runs_again(void **state)
{
    fixture_t *fx = *state;

    make_queue(fx, 1, 4);
    assert_int_equal(push(fx, 0, two_steps, 0), APR_SUCCESS);
    assert_eventually_u32(&fx->finished, 1);
    assert_eventually_u32(&fx->gauges.held, 0);
    assert_int_equal(fx->runs[0], 2);
}

/* With one thread: a job waiting between its steps leaves the thread free
 * for the next job, and still counts as held but not as running. */
static void test_waiting_between_steps_holds_no_thread_but_counts_held(
    void **state)
{
    fixture_t *fx = *state;

    make_queue(fx, 1, 4);
    assert_int_equal(push(fx, 0, two_steps, 2 * APR_USEC_PER_SEC),
                     APR_SUCCESS);
    assert_eventually_u32(&fx->runs[0], 1);
    assert_eventually_u32(&fx->gauges.running, 0);

    assert_int_equal(push(fx, 1, one_step, 0), APR_SUCCESS);
    assert_eventually_u32(&fx->runs[1], 1);
    assert_eventually_u32(&fx->gauges.held, 1);
    /* Job 0 is still between its steps, 2 s away from its second. */
    assert_int_equal(fx->runs[0], 1);
    assert_int_equal(fx->gauges.running, 0);
}

/* ------------------------------------------------------------------ */
/* The bound                                                           */
/* ------------------------------------------------------------------ */

static void test_push_past_the_bound_is_eagain(void **state)
{
    fixture_t *fx = *state;

    make_queue(fx, 2, 3);
    push_all(fx, 3, blocking_step);
    /* Two run (two threads), one waits for a thread: all three held. */
    assert_eventually_u32(&fx->started, 2);
    assert_eventually_u32(&fx->gauges.running, 2);
    assert_int_equal(fx->gauges.held, 3);

    assert_int_equal(push(fx, 3, one_step, 0), APR_EAGAIN);
    assert_int_equal(fx->gauges.held, 3);
    assert_int_equal(fx->gauges.running, 2);
    assert_int_equal(fx->runs[3], 0);
}

static void test_held_returns_to_zero_after_blocked_jobs_finish(void **state)
{
    fixture_t *fx = *state;
    int i;

    make_queue(fx, 2, 3);
    push_all(fx, 3, blocking_step);
    /* Two run, the third waits for a thread: a fourth has no room. */
    assert_eventually_u32(&fx->started, 2);
    assert_int_equal(push(fx, 3, one_step, 0), APR_EAGAIN);

    apr_atomic_set32(&fx->gate, 1);
    assert_eventually_u32(&fx->finished, 3);
    assert_eventually_u32(&fx->gauges.held, 0);
    assert_eventually_u32(&fx->gauges.running, 0);
    for (i = 0; i < 3; i++) {
        assert_int_equal(fx->runs[i], 1);
    }
    assert_int_equal(fx->runs[3], 0);   /* the refused job never ran */

    /* Room again: a new push is taken and runs. */
    assert_int_equal(push(fx, 4, one_step, 0), APR_SUCCESS);
    assert_eventually_u32(&fx->runs[4], 1);
    assert_eventually_u32(&fx->gauges.held, 0);
}

static void test_refused_push_destroys_the_jobs_pool(void **state)
{
    fixture_t *fx = *state;

    make_queue(fx, 1, 1);
    push_all(fx, 1, blocking_step);
    assert_eventually_u32(&fx->started, 1);
    assert_int_equal(fx->pools_destroyed, 0);

    assert_int_equal(push(fx, 1, one_step, 0), APR_EAGAIN);
    /* Destroyed by the time the push returns, not later. */
    assert_int_equal(fx->pools_destroyed, 1);
    assert_int_equal(fx->runs[1], 0);

    apr_atomic_set32(&fx->gate, 1);
    assert_eventually_u32(&fx->pools_destroyed, 2);
    assert_int_equal(fx->runs[1], 0);
}

/* Pushes from many threads at once onto a queue of blocked jobs: exactly
 * `bound` are taken, the others are refused and their pools destroyed. */
#define PUSHERS        8
#define PUSHES_EACH    4
#define RACE_BOUND     5

typedef struct {
    fixture_t *fx;
    int first_id;
    volatile apr_uint32_t *accepted;
    volatile apr_uint32_t *refused;
    volatile apr_uint32_t *other;
    ord_job_step_fn *step;
    int count;
} pusher_t;

static void *APR_THREAD_FUNC pusher(apr_thread_t *t, void *data)
{
    pusher_t *ps = data;
    int i;

    for (i = 0; i < ps->count; i++) {
        apr_pool_t *jp = NULL;
        job_t *job;
        apr_status_t rv;

        if (ord_queue_job_pool(ps->fx->queue, &jp) != APR_SUCCESS) {
            apr_atomic_inc32(ps->other);
            continue;
        }
        job = apr_pcalloc(jp, sizeof(*job));
        job->fx = ps->fx;
        job->id = ps->first_id + i < MAX_JOBS ? ps->first_id + i : 0;
        apr_pool_cleanup_register(jp, ps->fx, count_pool_destroyed,
                                  apr_pool_cleanup_null);
        rv = ord_queue_push(ps->fx->queue, jp, ps->step, job);
        apr_atomic_inc32(rv == APR_SUCCESS ? ps->accepted
                         : rv == APR_EAGAIN ? ps->refused : ps->other);
    }
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

static void run_pushers(fixture_t *fx, ord_job_step_fn *step, int count,
                        volatile apr_uint32_t *accepted,
                        volatile apr_uint32_t *refused,
                        volatile apr_uint32_t *other)
{
    apr_thread_t *threads[PUSHERS];
    pusher_t ps[PUSHERS];
    apr_status_t rv;
    int i;

    for (i = 0; i < PUSHERS; i++) {
        ps[i].fx = fx;
        ps[i].first_id = i * count;
        ps[i].accepted = accepted;
        ps[i].refused = refused;
        ps[i].other = other;
        ps[i].step = step;
        ps[i].count = count;
        assert_int_equal(apr_thread_create(&threads[i], NULL, pusher, &ps[i],
                                           fx->pool), APR_SUCCESS);
    }
    for (i = 0; i < PUSHERS; i++) {
        assert_int_equal(apr_thread_join(&rv, threads[i]), APR_SUCCESS);
    }
}

static void test_bound_holds_under_concurrent_pushes(void **state)
{
    fixture_t *fx = *state;
    volatile apr_uint32_t accepted = 0, refused = 0, other = 0;

    make_queue(fx, 2, RACE_BOUND);
    run_pushers(fx, blocking_step, PUSHES_EACH, &accepted, &refused, &other);

    assert_int_equal(other, 0);
    assert_int_equal(accepted, RACE_BOUND);
    assert_int_equal(refused, PUSHERS * PUSHES_EACH - RACE_BOUND);
    assert_int_equal(fx->gauges.held, RACE_BOUND);
    assert_int_equal(fx->pools_destroyed, PUSHERS * PUSHES_EACH - RACE_BOUND);

    apr_atomic_set32(&fx->gate, 1);
    assert_eventually_u32(&fx->finished, RACE_BOUND);
    assert_eventually_u32(&fx->gauges.held, 0);
    assert_eventually_u32(&fx->pools_destroyed, PUSHERS * PUSHES_EACH);
}

static void test_jobs_pushed_from_many_threads_all_run(void **state)
{
    fixture_t *fx = *state;
    volatile apr_uint32_t accepted = 0, refused = 0, other = 0;

    make_queue(fx, 4, 10000);
    run_pushers(fx, one_step, 200, &accepted, &refused, &other);

    assert_int_equal(other, 0);
    assert_int_equal(refused, 0);
    assert_int_equal(accepted, PUSHERS * 200);
    assert_eventually_u32(&fx->finished, PUSHERS * 200);
    assert_eventually_u32(&fx->gauges.held, 0);
    assert_eventually_u32(&fx->pools_destroyed, PUSHERS * 200);
    assert_eventually_u32(&fx->gauges.running, 0);
}

/* ------------------------------------------------------------------ */
/* Job pools                                                           */
/* ------------------------------------------------------------------ */

static void test_job_pool_is_destroyed_when_the_job_ends(void **state)
{
    fixture_t *fx = *state;

    make_queue(fx, 2, 4);
    assert_int_equal(push(fx, 0, one_step, 0), APR_SUCCESS);
    assert_eventually_u32(&fx->pools_destroyed, 1);
    assert_int_equal(fx->runs[0], 1);
    assert_eventually_u32(&fx->gauges.held, 0);
}

static void test_job_pool_lives_between_steps(void **state)
{
    fixture_t *fx = *state;
    apr_uint32_t destroyed, runs;

    make_queue(fx, 2, 4);
    assert_int_equal(push(fx, 0, two_steps, APR_USEC_PER_SEC), APR_SUCCESS);
    assert_eventually_u32(&fx->runs[0], 1);
    assert_eventually_u32(&fx->gauges.running, 0);
    /* Read the pool count first: if the second step has not begun after
     * it, the pool cannot have been destroyed legitimately before. */
    destroyed = apr_atomic_read32(&fx->pools_destroyed);
    runs = apr_atomic_read32(&fx->runs[0]);
    assert_int_equal(runs, 1);          /* 1 s before the second step */
    assert_int_equal(destroyed, 0);

    assert_eventually_u32(&fx->finished, 1);
    assert_eventually_u32(&fx->pools_destroyed, 1);
    assert_int_equal(fx->runs[0], 2);
}

static void test_start_runs_the_first_step_before_it_returns(void **state)
{
    fixture_t *fx = *state;

    make_queue(fx, 1, 4);
    assert_int_equal(start(fx, 0, two_steps, 20000), APR_SUCCESS);
    /* No waiting: the first step ran on this thread. */
    assert_int_equal(apr_atomic_read32(&fx->runs[0]), 1);
    assert_int_equal(apr_atomic_read32(&fx->gauges.held), 1);
    assert_eventually_u32(&fx->finished, 1);
    assert_true(fx->step_at[0][1] - fx->step_at[0][0] >= 20000);
    assert_eventually_u32(&fx->pools_destroyed, 1);
    assert_eventually_u32(&fx->gauges.held, 0);
}

static void test_start_past_the_bound_is_eagain_and_runs_nothing(
    void **state)
{
    fixture_t *fx = *state;

    make_queue(fx, 1, 1);
    assert_int_equal(start(fx, 0, two_steps, APR_USEC_PER_SEC), APR_SUCCESS);
    assert_int_equal(start(fx, 1, one_step, 0), APR_EAGAIN);
    assert_int_equal(apr_atomic_read32(&fx->runs[1]), 0);
    assert_int_equal(apr_atomic_read32(&fx->pools_destroyed), 1);
    assert_int_equal(apr_atomic_read32(&fx->gauges.held), 1);
}

/* ------------------------------------------------------------------ */
/* Parked jobs                                                         */
/* ------------------------------------------------------------------ */

/* A queue of `threads` with job 0 parked on it, its step returned. */
static job_t *park_one(fixture_t *fx, apr_size_t threads)
{
    apr_time_t give_up = apr_time_now() + GATE_GIVE_UP_US;

    parked_job = NULL;
    make_queue(fx, threads, 4);
    assert_int_equal(push_parking(fx, 0), APR_SUCCESS);
    while (!parked_job && apr_time_now() < give_up) {
        apr_sleep(200);
    }
    assert_non_null(parked_job);
    assert_eventually_u32(&fx->gauges.running, 0);
    return (job_t *)parked_job;
}

static void test_parked_job_holds_no_thread_and_resumes_after_its_delay(
    void **state)
{
    fixture_t *fx = *state;
    job_t *job = park_one(fx, 1);
    apr_time_t resumed_at;

    /* Parked: still held, no thread taken (another job runs meanwhile on
     * the only thread), its pool alive. */
    assert_int_equal(apr_atomic_read32(&fx->gauges.held), 1);
    assert_int_equal(push(fx, 1, one_step, 0), APR_SUCCESS);
    assert_eventually_u32(&fx->runs[1], 1);
    assert_eventually_u32(&fx->pools_destroyed, 1);     /* job 1's */
    assert_int_equal(apr_atomic_read32(&fx->runs[0]), 1);

    resumed_at = apr_time_now();
    ord_queue_resume(job->handle, apr_time_from_msec(200));
    assert_eventually_u32(&fx->runs[0], 2);
    assert_true(apr_time_now() - resumed_at >= apr_time_from_msec(200));
    assert_eventually_u32(&fx->pools_destroyed, 2);
    assert_eventually_u32(&fx->gauges.held, 0);
}

static void test_resume_with_done_ends_a_parked_job(void **state)
{
    fixture_t *fx = *state;
    job_t *job = park_one(fx, 2);

    ord_queue_resume(job->handle, ORD_JOB_DONE);
    assert_int_equal(apr_atomic_read32(&fx->pools_destroyed), 1);
    assert_int_equal(apr_atomic_read32(&fx->gauges.held), 0);
    assert_int_equal(apr_atomic_read32(&fx->runs[0]), 1);   /* not run again */
}

/* ------------------------------------------------------------------ */
/* Destroy                                                             */
/* ------------------------------------------------------------------ */

static void test_destroy_leaves_gauges_at_zero(void **state)
{
    fixture_t *fx = *state;

    make_queue(fx, 1, 8);
    /* Job 0 waits 10 s between its steps; jobs 1-2 finish. */
    assert_int_equal(push(fx, 0, two_steps, 10 * APR_USEC_PER_SEC),
                     APR_SUCCESS);
    assert_int_equal(push(fx, 1, one_step, 0), APR_SUCCESS);
    assert_int_equal(push(fx, 2, one_step, 0), APR_SUCCESS);
    assert_eventually_u32(&fx->finished, 2);
    assert_eventually_u32(&fx->runs[0], 1);
    assert_eventually_u32(&fx->gauges.held, 1);

    destroy_queue(fx);
    assert_int_equal(fx->gauges.held, 0);
    assert_int_equal(fx->gauges.running, 0);
    assert_int_equal(fx->runs[0], 1);   /* dropped, never run again */
}

typedef struct {
    fixture_t *fx;
    apr_interval_time_t after;
} opener_t;

static void *APR_THREAD_FUNC open_gate_later(apr_thread_t *t, void *data)
{
    opener_t *o = data;

    apr_sleep(o->after);
    apr_atomic_set32(&o->fx->gate, 1);
    apr_thread_exit(t, APR_SUCCESS);
    return NULL;
}

/* "Stops the threads after the steps running now": destroy returns only
 * once the running step has ended, however long it takes. */
static void test_destroy_waits_for_the_running_step(void **state)
{
    fixture_t *fx = *state;
    apr_thread_t *opener;
    opener_t o;
    apr_status_t rv;

    make_queue(fx, 1, 4);
    assert_int_equal(push(fx, 0, blocking_step, 0), APR_SUCCESS);
    assert_eventually_u32(&fx->started, 1);
    assert_eventually_u32(&fx->gauges.running, 1);

    o.fx = fx;
    o.after = 100000;
    assert_int_equal(apr_thread_create(&opener, NULL, open_gate_later, &o,
                                       fx->pool), APR_SUCCESS);
    destroy_queue(fx);
    /* Not a timing assumption: destroy must not return before the step. */
    assert_int_equal(fx->finished, 1);
    assert_int_equal(fx->runs[0], 1);
    assert_int_equal(fx->gauges.held, 0);
    assert_int_equal(fx->gauges.running, 0);
    assert_int_equal(apr_thread_join(&rv, opener), APR_SUCCESS);
}

/* "Jobs still waiting are dropped with their pools." */
static void test_destroy_drops_waiting_jobs_with_their_pools(void **state)
{
    fixture_t *fx = *state;

    make_queue(fx, 1, 8);
    assert_int_equal(push(fx, 0, two_steps, 10 * APR_USEC_PER_SEC),
                     APR_SUCCESS);
    assert_int_equal(push(fx, 1, two_steps, 10 * APR_USEC_PER_SEC),
                     APR_SUCCESS);
    assert_eventually_u32(&fx->runs[0], 1);
    assert_eventually_u32(&fx->runs[1], 1);
    assert_int_equal(fx->pools_destroyed, 0);

    destroy_queue(fx);
    assert_int_equal(fx->pools_destroyed, 2);
    assert_int_equal(fx->runs[0], 1);
    assert_int_equal(fx->runs[1], 1);
}

/* "The threads are stopped when `p` is cleared": a queue whose pool goes
 * away takes its threads and its jobs' pools with it. */
static void test_destroying_the_queues_pool_stops_it(void **state)
{
    fixture_t *fx = *state;
    apr_pool_t *qp = NULL;
    ord_queue_t *queue = NULL;
    ord_queue_gauges_t gauges = { 0, 0 };

    assert_int_equal(apr_pool_create(&qp, fx->pool), APR_SUCCESS);
    assert_int_equal(ord_queue_create(&queue, qp, 1, 8, &gauges),
                     APR_SUCCESS);
    assert_int_equal(push_on(fx, queue, 0, two_steps,
                             10 * APR_USEC_PER_SEC), APR_SUCCESS);
    assert_int_equal(push_on(fx, queue, 1, one_step, 0), APR_SUCCESS);
    assert_eventually_u32(&fx->runs[0], 1);
    assert_eventually_u32(&fx->runs[1], 1);
    assert_eventually_u32(&gauges.held, 1);

    apr_pool_destroy(qp);
    assert_int_equal(fx->pools_destroyed, 2);
    assert_int_equal(fx->runs[0], 1);
}

#define QTEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        QTEST(test_pushed_jobs_each_run_exactly_once),
        QTEST(test_multi_step_job_runs_second_step_after_its_delay),
        QTEST(test_zero_delay_step_runs_again),
        QTEST(test_many_waiting_jobs_each_run_after_their_delay),
        QTEST(test_waiting_between_steps_holds_no_thread_but_counts_held),
        QTEST(test_push_past_the_bound_is_eagain),
        QTEST(test_held_returns_to_zero_after_blocked_jobs_finish),
        QTEST(test_refused_push_destroys_the_jobs_pool),
        QTEST(test_bound_holds_under_concurrent_pushes),
        QTEST(test_jobs_pushed_from_many_threads_all_run),
        QTEST(test_job_pool_is_destroyed_when_the_job_ends),
        QTEST(test_job_pool_lives_between_steps),
        QTEST(test_start_runs_the_first_step_before_it_returns),
        QTEST(test_start_past_the_bound_is_eagain_and_runs_nothing),
        QTEST(test_parked_job_holds_no_thread_and_resumes_after_its_delay),
        QTEST(test_resume_with_done_ends_a_parked_job),
        QTEST(test_destroy_leaves_gauges_at_zero),
        QTEST(test_destroy_waits_for_the_running_step),
        QTEST(test_destroy_drops_waiting_jobs_with_their_pools),
        QTEST(test_destroying_the_queues_pool_stops_it),
    };

    return cmocka_run_group_tests(tests, unit_group_setup,
                                  unit_group_teardown);
}
