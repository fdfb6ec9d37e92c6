/*
 * ord_job: one order's claim, wait and completion.  See ord_job.h for the
 * states and the threads they run on.
 */
#include <stdarg.h>

#include <apr_strings.h>

#include "ord_job.h"
#include "ord_store.h"

struct ord_order_job_t {
    const ord_job_env_t *env;
    void *owner;
    apr_pool_t *pool;
    const char *order_id;
    const char *token;
    ord_status_e from;          /* what the claim takes it from */
    ord_job_state_e state;
    ord_job_end_e end;
    int failures;               /* of the current step, in a row */
    apr_interval_time_t wait;   /* the processing time */
    apr_time_t lease_until;
    apr_time_t created_at;      /* from the claim */
    apr_time_t started_at;      /* when the row says it was claimed */
    /* The write under way: its time, and what the store said. */
    apr_time_t write_now;
    apr_time_t write_at;
    apr_status_t store_rv;
};

ord_order_job_t *ord_job_create(apr_pool_t *p, const ord_job_env_t *env,
                                const char *order_id, ord_status_e from,
                                const char *token, void *owner)
{
    ord_order_job_t *job = apr_pcalloc(p, sizeof(*job));

    job->env = env;
    job->owner = owner;
    job->pool = p;
    job->order_id = apr_pstrdup(p, order_id);
    job->token = apr_pstrdup(p, token);
    job->from = from;
    job->state = ORD_JOB_CLAIM;
    return job;
}

ord_job_state_e ord_job_state(const ord_order_job_t *job)
{
    return job->state;
}

ord_job_end_e ord_job_end(const ord_order_job_t *job)
{
    return job->end;
}

void *ord_job_owner(const ord_order_job_t *job)
{
    return job->owner;
}

static void say(ord_order_job_t *job, int level, const char *fmt, ...)
{
    va_list ap;
    char *msg;

    if (!job->env->log) {
        return;
    }
    va_start(ap, fmt);
    msg = apr_pvsprintf(job->pool, fmt, ap);
    va_end(ap);
    job->env->log(job->env->ctx, level, msg);
}

/* The write of the current step, on the writer's connection (gathered for
 * the end of its batch where the store does that).  The store's own
 * outcome (APR_NOTFOUND: the row says it is another's) is the job's to
 * read, in store_rv; only a failure of the database fails the batch. */
static apr_status_t job_write(ord_db_t *c, apr_pool_t *p, void *arg)
{
    ord_order_job_t *job = arg;

    if (job->state == ORD_JOB_CLAIMING) {
        return ord_store_claim_gathered(c, p, job->order_id, job->from,
                                        job->token, job->write_now,
                                        job->lease_until, &job->store_rv,
                                        &job->created_at, &job->write_at);
    }
    return ord_store_complete_gathered(c, p, job->order_id, job->token,
                                       job->write_now, &job->store_rv,
                                       &job->write_at);
}

static apr_interval_time_t finish(ord_order_job_t *job, ord_job_end_e end)
{
    job->state = ORD_JOB_FINISHED;
    job->end = end;
    return ORD_JOB_DONE;
}

/* A step that failed: the same step again after the retry delay, or the
 * order left to the recovery pass (its lease runs out). */
static apr_interval_time_t failed(ord_order_job_t *job, ord_job_state_e retry)
{
    job->state = retry;
    if (++job->failures < ORD_JOB_ATTEMPTS) {
        return job->env->retry_delay;
    }
    /* Debug only: the database's failure itself is logged once per
     * incident (mod_orders_dbd.c), not once per order in flight. */
    say(job, ORD_LOG_DEBUG, "ORD00010: order %s: database unavailable "
        "(%d attempts), leaving it to the recovery pass", job->order_id,
        job->failures);
    return finish(job, ORD_JOB_GAVE_UP);
}

apr_interval_time_t ord_job_step(void *data)
{
    ord_order_job_t *job = data;
    const ord_job_env_t *env = job->env;
    ord_job_state_e retry = job->state;
    apr_status_t rv;

    if (job->state == ORD_JOB_WAIT) {
        job->state = retry = ORD_JOB_COMPLETE;  /* the time is up */
    }
    if (job->state != ORD_JOB_CLAIM && job->state != ORD_JOB_COMPLETE) {
        return ORD_JOB_DONE;    /* nothing to do in the others */
    }
    job->write_now = env->now(env->ctx);
    job->store_rv = APR_EGENERAL;
    if (job->state == ORD_JOB_CLAIM) {
        job->wait = env->processing_time(env->ctx);
        job->lease_until = job->write_now + job->wait + env->lease;
        job->state = ORD_JOB_CLAIMING;
    }
    else {
        job->state = ORD_JOB_COMPLETING;
    }
    env->begin(env->ctx);
    /* Once posted, the job is the writer's: not touched here again. */
    rv = env->post(env->ctx, job, job_write);
    if (rv == APR_SUCCESS) {
        return ORD_JOB_PARKED;
    }
    env->end(env->ctx, NULL);
    return failed(job, retry);
}

apr_interval_time_t ord_job_answer(ord_order_job_t *job, apr_status_t rv)
{
    const ord_job_env_t *env = job->env;
    int won = rv == APR_SUCCESS && job->store_rv == APR_SUCCESS;
    ord_job_event_t event = { 0, job->from, 0, 0, 0 };
    int claiming = job->state == ORD_JOB_CLAIMING;

    if (won && claiming) {
        event.claimed = 1;
        job->started_at = job->write_at;
    }
    else if (won) {
        event.completed = 1;
        event.processing = job->write_at - job->started_at;
        event.from_creation = job->write_at - job->created_at;
    }
    env->end(env->ctx, &event);
    if (rv != APR_SUCCESS) {
        return failed(job, claiming ? ORD_JOB_CLAIM : ORD_JOB_COMPLETE);
    }
    job->failures = 0;
    if (!won) {
        say(job, ORD_LOG_DEBUG, "ORD00016: order %s: %s lost to another "
            "claim", job->order_id, claiming ? "claim" : "completion");
        return finish(job, ORD_JOB_LOST);
    }
    if (claiming) {
        job->state = ORD_JOB_WAIT;
        return job->wait;
    }
    say(job, ORD_LOG_DEBUG, "ORD00012: order %s completed under claim %s",
        job->order_id, job->token);
    return finish(job, ORD_JOB_COMPLETED);
}
