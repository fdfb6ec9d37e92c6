/*
 * ord_queue: bounded jobs on an apr_thread_pool.  See ord_queue.h.
 */
#include <apr_atomic.h>
#include <apr_hash.h>
#include <apr_thread_mutex.h>
#include <apr_thread_pool.h>

#include "ord_queue.h"

/* Jobs due in the same time slot share one scheduled task.
 * apr_thread_pool_schedule keeps its tasks in one list sorted by time and
 * walks it on every insertion: with a task per order that walk was O(orders
 * in processing), 3 % of all the child's CPU at 8,000 of them under POST
 * load.  With slots the list holds at most one task per SLOT_US of the
 * longest wait; a step may run up to SLOT_US late, never early. */
#define SLOT_US 10000

typedef struct slot_t slot_t;

struct ord_job_t {
    ord_queue_t *queue;
    apr_pool_t *pool;
    ord_job_step_fn *step;
    void *job;
    ord_job_t *next_in_slot;
};
typedef ord_job_t queued_job_t;

struct slot_t {
    apr_int64_t index;          /* due time / SLOT_US, rounded up */
    ord_job_t *first, *last;
    ord_queue_t *queue;
    slot_t *next_free;
};

struct ord_queue_t {
    apr_thread_pool_t *threads;
    apr_pool_t *jobs;           /* parent of job pools; its allocator locks */
    apr_uint32_t bound;
    ord_queue_gauges_t *gauges;
    apr_thread_mutex_t *slots_lock;     /* guards the three below */
    apr_hash_t *slots;                  /* index -> slot waiting to fire */
    slot_t *free_slots;
    apr_pool_t *slot_pool;
};

static void *APR_THREAD_FUNC run_step(apr_thread_t *thread, void *data);

static void end_job(queued_job_t *qj)
{
    ord_queue_t *queue = qj->queue;

    apr_pool_destroy(qj->pool);
    apr_atomic_dec32(&queue->gauges->held);
}

static void dispatch(queued_job_t *qj, apr_interval_time_t delay);

/* A slot's time has come: its jobs go to the threads. */
static void *APR_THREAD_FUNC fire_slot(apr_thread_t *thread, void *data)
{
    slot_t *slot = data;
    ord_queue_t *queue = slot->queue;
    ord_job_t *qj, *next;

    apr_thread_mutex_lock(queue->slots_lock);
    apr_hash_set(queue->slots, &slot->index, sizeof(slot->index), NULL);
    qj = slot->first;
    slot->next_free = queue->free_slots;
    queue->free_slots = slot;
    apr_thread_mutex_unlock(queue->slots_lock);
    /* The steps run here, one after the other: pushing each to the pool
     * cost a round of its lock and a wake-up per job. */
    for (; qj; qj = next) {
        next = qj->next_in_slot;
        run_step(thread, qj);
    }
    return NULL;
}

/* Puts the job in the slot of `now + delay`, scheduling the slot when it is
 * new.  APR_SUCCESS, or the pool's refusal (the job is then not queued). */
static apr_status_t schedule_in_slot(queued_job_t *qj,
                                     apr_interval_time_t delay)
{
    ord_queue_t *queue = qj->queue;
    apr_time_t now = apr_time_now();
    apr_int64_t index = (now + delay + SLOT_US - 1) / SLOT_US;
    apr_status_t rv = APR_SUCCESS;
    slot_t *slot;

    qj->next_in_slot = NULL;
    apr_thread_mutex_lock(queue->slots_lock);
    slot = apr_hash_get(queue->slots, &index, sizeof(index));
    if (slot) {
        slot->last->next_in_slot = qj;
        slot->last = qj;
        goto leave;
    }
    slot = queue->free_slots;
    if (slot) {
        queue->free_slots = slot->next_free;
    }
    else {
        slot = apr_palloc(queue->slot_pool, sizeof(*slot));
    }
    slot->index = index;
    slot->first = slot->last = qj;
    slot->queue = queue;
    /* Under the lock, so that no job joins a slot that failed to be
     * scheduled. */
    rv = apr_thread_pool_schedule(queue->threads, fire_slot, slot,
                                  index * SLOT_US - now, NULL);
    if (rv == APR_SUCCESS) {
        apr_hash_set(queue->slots, &slot->index, sizeof(slot->index), slot);
    }
    else {
        slot->next_free = queue->free_slots;
        queue->free_slots = slot;
    }
leave:
    apr_thread_mutex_unlock(queue->slots_lock);
    return rv;
}

/* Hands the job to a thread now or after `delay`; ends it when the pool
 * cannot take it. */
static void dispatch(queued_job_t *qj, apr_interval_time_t delay)
{
    apr_status_t rv;

    if (delay > 0) {
        rv = schedule_in_slot(qj, delay);
    }
    else {
        rv = apr_thread_pool_push(qj->queue->threads, run_step, qj,
                                  APR_THREAD_TASK_PRIORITY_NORMAL, NULL);
    }
    if (rv != APR_SUCCESS) {
        end_job(qj);
    }
}

static void *APR_THREAD_FUNC run_step(apr_thread_t *thread, void *data)
{
    queued_job_t *qj = data;
    /* Read first: a parked job may be resumed, and even ended, by another
     * thread before its step has returned here. */
    ord_queue_gauges_t *gauges = qj->queue->gauges;
    apr_interval_time_t next;

    (void)thread;
    apr_atomic_inc32(&gauges->running);
    next = qj->step(qj->job);
    apr_atomic_dec32(&gauges->running);
    if (next == ORD_JOB_PARKED) {
        return NULL;
    }
    if (next == ORD_JOB_DONE) {
        end_job(qj);
    }
    else {
        dispatch(qj, next);
    }
    return NULL;
}

apr_status_t ord_queue_create(ord_queue_t **queue, apr_pool_t *p,
                              apr_size_t threads, apr_uint32_t bound,
                              ord_queue_gauges_t *gauges)
{
    apr_allocator_t *allocator = NULL;
    apr_thread_mutex_t *mutex;
    ord_queue_t *q = apr_pcalloc(p, sizeof(*q));
    apr_status_t rv;

    q->bound = bound;
    q->gauges = gauges;
    apr_atomic_set32(&gauges->held, 0);
    apr_atomic_set32(&gauges->running, 0);

    /* Job pools are made and destroyed on many threads: give them a parent
     * whose allocator is locked. */
    rv = apr_allocator_create(&allocator);
    if (rv != APR_SUCCESS) {
        goto leave;
    }
    rv = apr_pool_create_ex(&q->jobs, p, NULL, allocator);
    if (rv != APR_SUCCESS) {
        apr_allocator_destroy(allocator);
        goto leave;
    }
    apr_allocator_owner_set(allocator, q->jobs);
    /* In `p`, not in `jobs`: clearing `jobs` must leave the lock in place. */
    rv = apr_thread_mutex_create(&mutex, APR_THREAD_MUTEX_DEFAULT, p);
    if (rv != APR_SUCCESS) {
        goto leave;
    }
    apr_allocator_mutex_set(allocator, mutex);
    rv = apr_thread_mutex_create(&q->slots_lock, APR_THREAD_MUTEX_DEFAULT, p);
    if (rv != APR_SUCCESS) {
        goto leave;
    }
    rv = apr_pool_create(&q->slot_pool, p);
    if (rv != APR_SUCCESS) {
        goto leave;
    }
    q->slots = apr_hash_make(q->slot_pool);

    /* Created after `jobs` so that, in `p`'s cleanup, the threads stop
     * before the job pools go away. */
    rv = apr_thread_pool_create(&q->threads, threads, threads, p);
    if (rv != APR_SUCCESS) {
        goto leave;
    }
    *queue = q;
leave:
    return rv;
}

apr_status_t ord_queue_job_pool(ord_queue_t *queue, apr_pool_t **job_pool)
{
    return apr_pool_create(job_pool, queue->jobs);
}

apr_status_t ord_queue_push(ord_queue_t *queue, apr_pool_t *job_pool,
                            ord_job_step_fn *step, void *job)
{
    return ord_queue_push_job(queue, job_pool, step, job, NULL);
}

/* Counts the job in and wraps it; NULL (its pool destroyed) when the queue
 * is full. */
static queued_job_t *take_in(ord_queue_t *queue, apr_pool_t *job_pool,
                             ord_job_step_fn *step, void *job,
                             ord_job_t **handle)
{
    queued_job_t *qj;

    if (apr_atomic_inc32(&queue->gauges->held) >= queue->bound) {
        apr_atomic_dec32(&queue->gauges->held);
        apr_pool_destroy(job_pool);
        return NULL;
    }
    qj = apr_palloc(job_pool, sizeof(*qj));
    qj->queue = queue;
    qj->pool = job_pool;
    qj->step = step;
    qj->job = job;
    if (handle) {
        *handle = qj;
    }
    return qj;
}

/* Takes the job in and runs its first step here (`here`) or on a pool
 * thread. */
static apr_status_t take_in_and_go(ord_queue_t *queue, apr_pool_t *job_pool,
                                   ord_job_step_fn *step, void *job,
                                   ord_job_t **handle, int here)
{
    queued_job_t *qj = take_in(queue, job_pool, step, job, handle);

    if (!qj) {
        return APR_EAGAIN;
    }
    if (here) {
        run_step(NULL, qj);
    }
    else {
        dispatch(qj, 0);
    }
    return APR_SUCCESS;
}

apr_status_t ord_queue_push_job(ord_queue_t *queue, apr_pool_t *job_pool,
                                ord_job_step_fn *step, void *job,
                                ord_job_t **handle)
{
    return take_in_and_go(queue, job_pool, step, job, handle, 0);
}

apr_status_t ord_queue_start(ord_queue_t *queue, apr_pool_t *job_pool,
                             ord_job_step_fn *step, void *job,
                             ord_job_t **handle)
{
    return take_in_and_go(queue, job_pool, step, job, handle, 1);
}

void ord_queue_resume(ord_job_t *handle, apr_interval_time_t delay)
{
    if (delay == ORD_JOB_DONE) {
        end_job(handle);
    }
    else {
        dispatch(handle, delay);
    }
}

apr_status_t ord_queue_destroy(ord_queue_t *queue)
{
    apr_status_t rv = APR_SUCCESS;

    if (queue->threads) {
        rv = apr_thread_pool_destroy(queue->threads);
        queue->threads = NULL;
        /* The jobs the pool dropped still have their pools: free them. */
        apr_pool_clear(queue->jobs);
    }
    apr_atomic_set32(&queue->gauges->held, 0);
    apr_atomic_set32(&queue->gauges->running, 0);
    return rv;
}
