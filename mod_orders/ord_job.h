/*
 * ord_job: the processing of one order, as a state machine.
 *
 * A job claims its order (Pending, or Processing whose lease ran out ->
 * Processing under the job's token and a lease), waits out the processing
 * time, and completes it (Processing -> Completed while the token holds).
 * Each write goes to the child's database writer, and the job waits for its
 * answer without holding a thread.  The states, and the thread each step
 * runs on:
 *
 *   state       what happens                            runs on
 *   CLAIM       hands the claim to the writer           the thread that
 *                                                       starts the job (a
 *                                                       request's, the
 *                                                       recovery pass's), or
 *                                                       a pool thread after
 *                                                       a retry delay
 *   CLAIMING    the claim is with the writer; its       the writer's
 *               answer: won -> WAIT, the row says
 *               another has it (or it was cancelled)
 *               -> FINISHED (lost), failed -> CLAIM
 *               after the retry delay
 *   WAIT        the processing time (a time slot of     nobody: a timer
 *               the queue; no thread held)
 *   COMPLETE    hands the completion to the writer      a pool thread
 *   COMPLETING  its answer: won -> FINISHED             the writer's
 *               (completed), another claim holds it
 *               -> FINISHED (lost), failed -> COMPLETE
 *               after the retry delay
 *   FINISHED    the queue drops the job                 -
 *
 * A step that failed ORD_JOB_ATTEMPTS times in a row gives the order up to
 * the recovery pass (FINISHED, gave up): its lease runs out and another
 * claim takes it.  A failure is never read as "lost": only the row says
 * that (ord_store_claim, ord_store_complete).
 *
 * The job knows nothing of Apache: the writer, the clock, the counters and
 * the log are the environment's (ord_job_env_t), so that the unit tests
 * drive it with a fake writer and clock.
 *
 * Thread-safety: a job is advanced by one thread at a time (the queue and
 * the writer hand it on); the environment's callbacks may be called from
 * any of the threads in the table.
 */
#ifndef ORD_JOB_H
#define ORD_JOB_H

#include <apr_pools.h>
#include <apr_time.h>

#include "ord_order.h"
#include "ord_queue.h"
#include "ord_writer.h"

#define ORD_JOB_ATTEMPTS 3

typedef enum {
    ORD_JOB_CLAIM,
    ORD_JOB_CLAIMING,
    ORD_JOB_WAIT,
    ORD_JOB_COMPLETE,
    ORD_JOB_COMPLETING,
    ORD_JOB_FINISHED
} ord_job_state_e;

typedef enum {
    ORD_JOB_RUNNING = 0,
    ORD_JOB_COMPLETED,      /* this job completed the order */
    ORD_JOB_LOST,           /* the row says it is another's (or cancelled) */
    ORD_JOB_GAVE_UP         /* left to the recovery pass */
} ord_job_end_e;

/* What a transition did, for the counters. */
typedef struct {
    int claimed;                        /* the claim was won ... */
    ord_status_e from;                  /* ... from this status */
    int completed;                      /* the completion was won */
    apr_interval_time_t processing;     /* completed: claim to completion */
    apr_interval_time_t from_creation;  /* completed: creation to it */
} ord_job_event_t;

/* Syslog levels, as httpd's APLOG_* (which the module maps them to). */
#define ORD_LOG_WARNING 4
#define ORD_LOG_DEBUG   7

typedef struct ord_order_job_t ord_order_job_t;

typedef struct {
    /* Hands `write(conn, p, job)` to the database writer; once its batch
     * has committed or failed, the environment calls ord_job_answer with
     * the batch's outcome.  Non-success: the writer took nothing. */
    apr_status_t (*post)(void *ctx, ord_order_job_t *job,
                         ord_write_fn *write);
    apr_time_t (*now)(void *ctx);
    /* This order's processing time. */
    apr_interval_time_t (*processing_time)(void *ctx);
    /* Brackets every write of a transition (before it is handed on, after
     * its answer) so that the counters can tell transitions under way. */
    void (*begin)(void *ctx);
    void (*end)(void *ctx, const ord_job_event_t *event);
    void (*log)(void *ctx, int level, const char *message);
    void *ctx;
    apr_interval_time_t lease;          /* a claim's lease beyond the wait */
    apr_interval_time_t retry_delay;    /* after a failed step */
} ord_job_env_t;

/* A job for `order_id`, claimed from `from` (ORD_PENDING for a new order,
 * ORD_PROCESSING for one whose lease ran out) under `token`, in `p` (which
 * lives as long as the job).  `owner` is the environment's, for its
 * callbacks (ord_job_owner). */
ord_order_job_t *ord_job_create(apr_pool_t *p, const ord_job_env_t *env,
                                const char *order_id, ord_status_e from,
                                const char *token, void *owner);

/* The step of the current state (an ord_job_step_fn for ord_queue): the
 * delay before the next step, ORD_JOB_PARKED when the job was handed to
 * the writer, or ORD_JOB_DONE. */
apr_interval_time_t ord_job_step(void *job);

/* The writer's answer to the job's write (`rv` as ord_writer_post's done
 * callback gets it): what the queue does next, as ord_job_step returns it
 * (for ord_queue_resume). */
apr_interval_time_t ord_job_answer(ord_order_job_t *job, apr_status_t rv);

ord_job_state_e ord_job_state(const ord_order_job_t *job);
ord_job_end_e ord_job_end(const ord_order_job_t *job);
void *ord_job_owner(const ord_order_job_t *job);

#endif /* ORD_JOB_H */
