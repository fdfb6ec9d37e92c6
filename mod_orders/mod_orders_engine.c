/*
 * mod_orders engine: each child's processing of orders, and the domain
 * calls the handlers make (create, cancel, populate).
 *
 * The database is the record; the queue only speeds things up.  A new
 * order is stored by this child's writer (group commit) and its job started
 * on this child's queue; the job (ord_job, a pure state machine) claims it,
 * waits out the processing time without holding a thread, and completes
 * it, each write through the writer.  Whatever a crash, a full queue or a
 * restart leaves behind keeps its row, and the recovery pass
 * (mod_orders_recovery.c) claims it again once its lease runs out.  The
 * counters are the engine's too: every transition is bracketed and
 * counted here, so that no handler knows of the writer or the metrics.
 *
 * Lifetime: made in child_init, stopped by a pre-cleanup of the child's
 * pool (before mod_dbd's connection pool goes).  Request threads and the
 * watchdog thread use it between orders_engine_acquire and _release; the
 * stop waits for them on a condition, for at most ENGINE_STOP_WAIT.
 */
#include <unistd.h>

#include "httpd.h"
#include "apr_atomic.h"
#include "apr_strings.h"
#include "apr_thread_cond.h"
#include "apr_thread_mutex.h"
#include "http_log.h"

#include "mod_orders.h"
#include "ord_job.h"
#include "ord_queue.h"

APLOG_USE_MODULE(orders);

/* Most writes one commit of the writer serves. */
#define WRITER_BATCH          256
/* A job's failed step is tried again after this. */
#define JOB_RETRY_DELAY       apr_time_from_msec(500)
#define ENGINE_STOP_WAIT      apr_time_from_sec(30)

struct orders_engine_t {
    server_rec *s;              /* the main server: its database and config */
    ord_writer_t *writer;
    ord_queue_t *queue;
    ord_metrics_slot_t *slot;
    orders_server_conf_t conf;
    ord_job_env_t job_env;
    orders_webhook_t *webhook;  /* NULL without OrdersWebhookURL */
    const char *token_prefix;   /* unique to this child, across servers */
    volatile apr_uint32_t claims;
};

/* A job as the queue and the writer see it. */
typedef struct {
    orders_engine_t *engine;
    ord_order_job_t *job;
    ord_job_t *handle;          /* for ord_queue_resume */
    apr_pool_t *pool;
} engine_job_t;

static orders_engine_t *engine;
/* The gate between the engine's users and its stop.  Kept outside the
 * engine's memory (the child's pool frees that) in the process's pool:
 * mod_watchdog does not join its thread before the child's pool goes, so a
 * pass can still be under way then. */
static volatile apr_uint32_t engine_users;
static volatile apr_uint32_t engine_stopping;
static apr_thread_mutex_t *gate_lock;
static apr_thread_cond_t *gate_idle;
/* Waiting reads: woken after every batch this child's writer commits (in
 * the process's pool too, since a waiter may outlive the engine's stop by
 * its last wait). */
static apr_thread_mutex_t *change_lock;
static apr_thread_cond_t *changed;
static volatile apr_uint32_t waiters;
static int max_waiters;

orders_engine_t *orders_engine_acquire(void)
{
    orders_engine_t *e;

    apr_atomic_inc32(&engine_users);
    e = engine;
    if (!e || apr_atomic_read32(&engine_stopping)) {
        orders_engine_release();
        return NULL;
    }
    return e;
}

void orders_engine_release(void)
{
    if (apr_atomic_dec32(&engine_users) == 0
        && apr_atomic_read32(&engine_stopping)) {
        apr_thread_mutex_lock(gate_lock);
        apr_thread_cond_broadcast(gate_idle);
        apr_thread_mutex_unlock(gate_lock);
    }
}

ord_metrics_slot_t *orders_engine_slot(void)
{
    orders_engine_t *e = engine;

    return e ? e->slot : NULL;
}

server_rec *orders_engine_server(orders_engine_t *e)
{
    return e->s;
}

const char *orders_engine_holder(orders_engine_t *e)
{
    return e->token_prefix;
}

int orders_engine_room(orders_engine_t *e)
{
    return e->conf.queue_size
           - (int)apr_atomic_read32(&e->slot->gauges.held);
}

apr_status_t orders_engine_write(orders_engine_t *e, ord_write_fn *fn,
                                 void *arg)
{
    return ord_writer_submit(e->writer, fn, arg);
}

/* ---- waiting reads --------------------------------------------------- */

int orders_engine_wait_begin(void)
{
    if (!changed) {
        return 0;
    }
    if (apr_atomic_inc32(&waiters) >= (apr_uint32_t)max_waiters) {
        apr_atomic_dec32(&waiters);
        return 0;
    }
    return 1;
}

void orders_engine_wait_end(void)
{
    apr_atomic_dec32(&waiters);
}

void orders_engine_wait_change(apr_interval_time_t at_most)
{
    apr_thread_mutex_lock(change_lock);
    apr_thread_cond_timedwait(changed, change_lock, at_most);
    apr_thread_mutex_unlock(change_lock);
}

/* A waiting read looks at the database again at least this often, for the
 * changes other children and servers make. */
#define WAIT_LOOK_AGAIN apr_time_from_sec(1)

void orders_engine_wait_until(apr_time_t until)
{
    apr_interval_time_t left = until - apr_time_now();

    if (left > 0) {
        orders_engine_wait_change(left < WAIT_LOOK_AGAIN ? left
                                                         : WAIT_LOOK_AGAIN);
    }
}

/* The writer's connection is mod_dbd's (mod_orders_dbd.c); after a batch
 * committed, the waiting reads of this child look again. */
static void writer_close(void *ctx, ord_db_t *conn, apr_status_t outcome)
{
    orders_dbd_writer_close(ctx, conn, outcome);
    if (outcome == APR_SUCCESS) {
        apr_thread_mutex_lock(change_lock);
        apr_thread_cond_broadcast(changed);
        apr_thread_mutex_unlock(change_lock);
    }
}

/* ---- jobs: ord_job's environment --------------------------------- */

static void job_written(apr_status_t rv, void *arg)
{
    engine_job_t *ej = ord_job_owner(arg);

    ord_queue_resume(ej->handle, ord_job_answer(ej->job, rv));
}

static apr_status_t job_post(void *ctx, ord_order_job_t *job,
                             ord_write_fn *write)
{
    orders_engine_t *e = ctx;
    engine_job_t *ej = ord_job_owner(job);

    return ord_writer_post(e->writer, ej->pool, write, job, job_written);
}

static apr_time_t job_now(void *ctx)
{
    return apr_time_now();
}

/* The simulated processing time: uniformly random in [MIN, MAX]. */
static apr_interval_time_t job_processing_time(void *ctx)
{
    const orders_server_conf_t *c = &((orders_engine_t *)ctx)->conf;
    apr_uint32_t r = 0;

    if (c->processing_max <= c->processing_min) {
        return c->processing_min;
    }
    apr_generate_random_bytes((unsigned char *)&r, sizeof(r));
    return c->processing_min
           + (apr_interval_time_t)((double)r / 4294967296.0
                                   * (double)(c->processing_max
                                              - c->processing_min));
}

static void job_begin(void *ctx)
{
    ord_metrics_enter(orders_metrics, ((orders_engine_t *)ctx)->slot,
                      ord_metrics_pid_alive);
}

static void job_end(void *ctx, const ord_job_event_t *ev)
{
    if (ev && ev->claimed) {
        ord_metrics_claimed(orders_metrics, ev->from);
    }
    if (ev && ev->completed) {
        ord_metrics_completed(orders_metrics, ev->processing,
                              ev->from_creation);
    }
    ord_metrics_leave(((orders_engine_t *)ctx)->slot);
}

static void job_log(void *ctx, int level, const char *message)
{
    ap_log_error(APLOG_MARK, level, 0, ((orders_engine_t *)ctx)->s, "%s",
                 message);
}

/* Starts the job of one stored order on this child's queue: its claim is
 * handed to the writer on this thread. */
static apr_status_t start_job(orders_engine_t *e, const char *order_id,
                              ord_status_e from)
{
    engine_job_t *ej;
    apr_pool_t *pool;
    apr_status_t rv;

    rv = ord_queue_job_pool(e->queue, &pool);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    ej = apr_pcalloc(pool, sizeof(*ej));
    ej->engine = e;
    ej->pool = pool;
    ej->job = ord_job_create(pool, &e->job_env, order_id, from,
                             apr_psprintf(pool, "%s-%u", e->token_prefix,
                                          apr_atomic_inc32(&e->claims)),
                             ej);
    return ord_queue_start(e->queue, pool, ord_job_step, ej->job,
                           &ej->handle);
}

apr_status_t orders_engine_take_over(orders_engine_t *e, const char *order_id,
                                     ord_status_e from)
{
    return start_job(e, order_id, from);
}

void orders_engine_enqueue(orders_engine_t *e, const char *order_id)
{
    apr_status_t rv = start_job(e, order_id, ORD_PENDING);

    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, rv, e->s,
                     "ORD00011: order %s waits for the recovery pass "
                     "(queue full or not running)", order_id);
    }
}

/* ---- the domain calls ------------------------------------------------ */

typedef struct {
    const ord_order_t *order;
    apr_time_t lease_until;
    int created;
} insert_write_t;

static apr_status_t write_insert(ord_db_t *c, apr_pool_t *p, void *arg)
{
    insert_write_t *w = arg;

    return ord_store_insert(c, p, w->order, w->lease_until, &w->created);
}

apr_status_t orders_engine_create(const ord_order_t *order, int *created)
{
    orders_engine_t *e = orders_engine_acquire();
    insert_write_t w = { order, 0, 0 };
    apr_status_t rv;

    if (!e) {
        return APR_EINIT;   /* no engine in this child: nothing stored */
    }
    w.lease_until = order->created_at + e->conf.recovery;
    ord_metrics_enter(orders_metrics, e->slot, ord_metrics_pid_alive);
    rv = ord_writer_submit(e->writer, write_insert, &w);
    if (rv == APR_SUCCESS && w.created) {
        /* Counted before it is queued, so that the claim finds it
         * counted. */
        ord_metrics_created(orders_metrics);
    }
    ord_metrics_leave(e->slot);
    if (rv == APR_SUCCESS && w.created) {
        orders_engine_enqueue(e, order->order_id.text);
    }
    orders_engine_release();
    if (rv == APR_SUCCESS) {
        *created = w.created;
    }
    return rv;
}

typedef struct {
    const char *order_id;
    apr_time_t now;
    apr_status_t rv;            /* APR_NOTFOUND: it was no longer Pending */
} cancel_write_t;

static apr_status_t write_cancel(ord_db_t *c, apr_pool_t *p, void *arg)
{
    cancel_write_t *w = arg;

    w->rv = ord_store_cancel(c, p, w->order_id, w->now);
    return w->rv == APR_NOTFOUND ? APR_SUCCESS : w->rv;
}

apr_status_t orders_engine_cancel(const char *order_id)
{
    orders_engine_t *e = orders_engine_acquire();
    cancel_write_t w = { order_id, apr_time_now(), APR_EGENERAL };
    apr_status_t rv;

    if (!e) {
        return APR_EINIT;
    }
    ord_metrics_enter(orders_metrics, e->slot, ord_metrics_pid_alive);
    rv = ord_writer_submit(e->writer, write_cancel, &w);
    if (rv == APR_SUCCESS && w.rv == APR_SUCCESS) {
        ord_metrics_cancelled(orders_metrics);
    }
    ord_metrics_leave(e->slot);
    orders_engine_release();
    return rv == APR_SUCCESS ? w.rv : rv;
}

/* ---- life cycle ------------------------------------------------------ */

static apr_status_t engine_stop(void *data)
{
    orders_engine_t *e = data;
    apr_time_t until = apr_time_now() + ENGINE_STOP_WAIT;
    apr_status_t rv;

    apr_atomic_set32(&engine_stopping, 1);
    engine = NULL;
    apr_thread_mutex_lock(gate_lock);
    while (apr_atomic_read32(&engine_users) != 0 && apr_time_now() < until) {
        apr_thread_cond_timedwait(gate_idle, gate_lock,
                                  until - apr_time_now());
    }
    apr_thread_mutex_unlock(gate_lock);
    if (apr_atomic_read32(&engine_users) != 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, e->s, "ORD00046: %u user(s) "
                     "of the engine still at work after %d s; stopping it "
                     "under them", apr_atomic_read32(&engine_users),
                     (int)apr_time_sec(ENGINE_STOP_WAIT));
    }
    /* The deliveries first: they write through the writer. */
    if (e->webhook) {
        orders_webhook_stop(e->webhook);
    }
    /* The writer next: it runs what was handed to it, and its callbacks
     * send jobs on through the queue, which must still be there.  Steps
     * that run after it has stopped find it refusing, and leave their
     * orders to the recovery pass (their leases run out). */
    rv = ord_writer_stop(e->writer);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, rv, e->s, "ORD00047: the "
                     "database writer did not stop cleanly");
    }
    ord_queue_destroy(e->queue);
    ord_metrics_slot_release(e->slot);
    return APR_SUCCESS;
}

static void init_job_env(orders_engine_t *e)
{
    const ord_job_env_t env = {
        job_post, job_now, job_processing_time, job_begin, job_end, job_log,
        e, e->conf.recovery, JOB_RETRY_DELAY
    };

    e->job_env = env;
}

void orders_engine_child_init(apr_pool_t *pchild, server_rec *s)
{
    orders_engine_t *e = NULL;
    const char *failed = NULL;
    unsigned char nonce[6];
    apr_status_t rv = APR_SUCCESS;

    if (!gate_lock) {
        rv = apr_thread_mutex_create(&gate_lock, APR_THREAD_MUTEX_DEFAULT,
                                     s->process->pool);
        if (rv == APR_SUCCESS) {
            rv = apr_thread_cond_create(&gate_idle, s->process->pool);
        }
        if (rv == APR_SUCCESS) {
            rv = apr_thread_mutex_create(&change_lock,
                                         APR_THREAD_MUTEX_DEFAULT,
                                         s->process->pool);
        }
        if (rv == APR_SUCCESS) {
            rv = apr_thread_cond_create(&changed, s->process->pool);
        }
    }
    if (rv != APR_SUCCESS) {
        failed = "ORD00048: cannot make the engine's stop condition";
        goto leave;
    }
    e = apr_pcalloc(pchild, sizeof(*e));
    e->s = s;
    e->conf = orders_server_settings(s);
    max_waiters = e->conf.max_waiters;
    init_job_env(e);
    apr_generate_random_bytes(nonce, sizeof(nonce));
    e->token_prefix = apr_psprintf(pchild, "%" APR_PID_T_FMT "-%02x%02x%02x"
                                   "%02x%02x%02x", getpid(), nonce[0],
                                   nonce[1], nonce[2], nonce[3], nonce[4],
                                   nonce[5]);
    e->slot = ord_metrics_slot_take(orders_metrics, (apr_uint32_t)getpid(),
                                    ord_metrics_pid_alive);
    if (!e->slot) {
        rv = APR_ENOSPC;
        failed = "ORD00041: no free metrics slot for this child";
        goto leave;
    }
    rv = ord_writer_create(&e->writer, pchild, WRITER_BATCH,
                           orders_dbd_writer_open, writer_close, s);
    if (rv != APR_SUCCESS) {
        failed = "ORD00044: cannot start the database writer";
        goto leave;
    }
    rv = ord_queue_create(&e->queue, pchild, (apr_size_t)e->conf.workers,
                          (apr_uint32_t)e->conf.queue_size, &e->slot->gauges);
    if (rv != APR_SUCCESS) {
        failed = "ORD00042: cannot start the processing thread pool";
        goto leave;
    }
    if (e->conf.webhook_url) {
        rv = orders_webhook_start(&e->webhook, e, s, pchild);
        if (rv != APR_SUCCESS) {
            failed = "ORD00049: cannot start the webhook delivery thread";
            goto leave;
        }
    }
    /* Before any subpool goes, mod_dbd's connection pool included: the
     * threads must stop while the connections they use still exist. */
    apr_pool_pre_cleanup_register(pchild, e, engine_stop);
    engine = e;

leave:
    if (failed) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "%s", failed);
        if (e && e->writer) {
            ord_writer_stop(e->writer);
        }
        if (e && e->slot) {
            ord_metrics_slot_release(e->slot);
        }
    }
}
