/*
 * ord_queue: a child's bounded queue of jobs, served by an apr_thread_pool.
 *
 * A job is a small state machine: its step function runs on a pool thread
 * and returns how long to wait before its next step (the wait holds no
 * thread: apr_thread_pool_schedule keeps it) or ORD_JOB_DONE.  The steps
 * that follow a wait run on the thread that wakes for their time slot, one
 * after the other: a step should not block.  The bound
 * counts every job the queue holds, waiting or between steps, so a child's
 * memory for orders in flight never exceeds it; a push past it is refused
 * and the caller leaves the work to whoever else can do it (for orders: the
 * recovery pass, since the database has them).
 *
 * Each job owns a pool made by ord_queue_job_pool(); the queue destroys it
 * when the job ends.  The two gauges may live in shared memory, so that
 * other processes can read how busy this child is.
 *
 * Thread-safety: every function may be called from any thread.
 */
#ifndef ORD_QUEUE_H
#define ORD_QUEUE_H

#include <apr_pools.h>
#include <apr_time.h>

#define ORD_JOB_DONE ((apr_interval_time_t)-1)
/* A step returns this when it has handed the job to someone who continues
 * it with ord_queue_resume (a database writer's callback, say): the job
 * stays held and holds no thread meanwhile.  Once a step has handed the job
 * on, it must not touch it again. */
#define ORD_JOB_PARKED ((apr_interval_time_t)-2)

typedef struct ord_queue_t ord_queue_t;
typedef struct ord_job_t ord_job_t;

/* Runs one step of `job`; returns the delay before the next step (0: as soon
 * as a thread is free) or ORD_JOB_DONE. */
typedef apr_interval_time_t ord_job_step_fn(void *job);

typedef struct {
    volatile apr_uint32_t held;     /* jobs accepted and not yet ended */
    volatile apr_uint32_t running;  /* steps running on a thread now */
} ord_queue_gauges_t;

/* A queue of at most `bound` jobs on `threads` threads, living in `p`.  The
 * threads are stopped when `p` is cleared or by ord_queue_destroy. */
apr_status_t ord_queue_create(ord_queue_t **queue, apr_pool_t *p,
                              apr_size_t threads, apr_uint32_t bound,
                              ord_queue_gauges_t *gauges);

/* A new pool for one job, safe to make from any thread. */
apr_status_t ord_queue_job_pool(ord_queue_t *queue, apr_pool_t **job_pool);

/* Queues `job`, whose memory lives in `job_pool`; the queue owns that pool
 * from now on, whatever the outcome.  APR_EAGAIN when the queue is full. */
apr_status_t ord_queue_push(ord_queue_t *queue, apr_pool_t *job_pool,
                            ord_job_step_fn *step, void *job);

/* ord_queue_push, and sets *handle (before the first step can run) for
 * ord_queue_resume. */
apr_status_t ord_queue_push_job(ord_queue_t *queue, apr_pool_t *job_pool,
                                ord_job_step_fn *step, void *job,
                                ord_job_t **handle);

/* Like ord_queue_push_job, but runs the first step at once, on the calling
 * thread; it must not block.  For a first step that only hands the job on
 * (and parks it), this saves a trip through the pool's threads. */
apr_status_t ord_queue_start(ord_queue_t *queue, apr_pool_t *job_pool,
                             ord_job_step_fn *step, void *job,
                             ord_job_t **handle);

/* Continues a parked job: its next step after `delay` (0: at once), or its
 * end with ORD_JOB_DONE.  Not after ord_queue_destroy. */
void ord_queue_resume(ord_job_t *handle, apr_interval_time_t delay);

/* Stops the threads after the steps running now; jobs still waiting are
 * dropped with their pools.  The gauges read zero afterwards. */
apr_status_t ord_queue_destroy(ord_queue_t *queue);

#endif /* ORD_QUEUE_H */
