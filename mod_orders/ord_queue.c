/*
 * ord_queue: bounded jobs on an apr_thread_pool.  See ord_queue.h.
 */
#include <apr_atomic.h>
#include <apr_thread_mutex.h>
#include <apr_thread_pool.h>

#include "ord_queue.h"

struct ord_queue_t {
    apr_thread_pool_t *threads;
    apr_pool_t *jobs;           /* parent of job pools; its allocator locks */
    apr_uint32_t bound;
    ord_queue_gauges_t *gauges;
};

typedef struct {
    ord_queue_t *queue;
    apr_pool_t *pool;
    ord_job_step_fn *step;
    void *job;
} queued_job_t;

static void *APR_THREAD_FUNC run_step(apr_thread_t *thread, void *data);

static void end_job(queued_job_t *qj)
{
    ord_queue_t *queue = qj->queue;

    apr_pool_destroy(qj->pool);
    apr_atomic_dec32(&queue->gauges->held);
}

/* Hands the job to a thread now or after `delay`; ends it when the pool
 * cannot take it. */
static void dispatch(queued_job_t *qj, apr_interval_time_t delay)
{
    apr_status_t rv;

    if (delay > 0) {
        rv = apr_thread_pool_schedule(qj->queue->threads, run_step, qj, delay,
                                      NULL);
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
    apr_interval_time_t next;

    (void)thread;
    apr_atomic_inc32(&qj->queue->gauges->running);
    next = qj->step(qj->job);
    apr_atomic_dec32(&qj->queue->gauges->running);
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
    queued_job_t *qj;

    if (apr_atomic_inc32(&queue->gauges->held) >= queue->bound) {
        apr_atomic_dec32(&queue->gauges->held);
        apr_pool_destroy(job_pool);
        return APR_EAGAIN;
    }
    qj = apr_palloc(job_pool, sizeof(*qj));
    qj->queue = queue;
    qj->pool = job_pool;
    qj->step = step;
    qj->job = job;
    dispatch(qj, 0);
    return APR_SUCCESS;
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
