/*
 * mod_orders engine: each child's queue and thread pool, the jobs that move
 * an order Pending -> Processing -> Completed, and the recovery pass.
 *
 * The database is the record; the queue only speeds things up.  A job
 * claims its order with a conditional UPDATE under a token and a lease, waits
 * out the simulated processing time without holding a thread
 * (apr_thread_pool_schedule), and completes it with an UPDATE that only
 * succeeds while the token still holds the claim.  Whatever a crash, a full
 * queue or a restart leaves behind keeps its row; once its lease runs out,
 * the recovery pass (one child of all servers at a time, the holder of a
 * lease in the database) claims it again.  So every order completes, and
 * completes once.
 */
#include <unistd.h>

#include "httpd.h"
#include "apr_atomic.h"
#include "apr_global_mutex.h"
#include "apr_optional.h"
#include "apr_strings.h"
#include "ap_mpm.h"
#include "http_log.h"
#include "mod_watchdog.h"
#include "util_mutex.h"

#include "mod_orders.h"
#include "ord_incident.h"
#include "ord_queue.h"

APLOG_USE_MODULE(orders);

#define ORDERS_LOAD_MUTEX     "orders-load"
#define ORDERS_WRITE_MUTEX    "orders-write"
#define ORDERS_WATCHDOG       "_orders_recovery_"
/* A job retries a failed database step this many times, then leaves the
 * order to the recovery pass. */
#define JOB_ATTEMPTS          3
#define JOB_RETRY_DELAY       apr_time_from_msec(500)
/* Most writes one commit of the writer serves. */
#define WRITER_BATCH          256
/* How a child's first load retries while the database is busy. */
#define LOAD_TRIES            50
#define LOAD_RETRY_DELAY      apr_time_from_msec(100)
/* How long a reload waits for transitions under way. */
#define RELOAD_WAIT           apr_time_from_sec(2)
/* At most this many orphans are taken over in one pass. */
#define RECOVERY_BATCH        2000
/* The lease of the recovery pass (a row of order_leases) lasts this many
 * passes: its holder renews it at each, and another child takes it over
 * once it has not for that long. */
#define RECOVERY_LEASE        "recovery"
#define RECOVERY_LEASE_PASSES 3

typedef enum { STEP_CLAIM, STEP_COMPLETE } job_stage_e;

typedef struct orders_engine_t orders_engine_t;
typedef struct orders_job_t orders_job_t;

/* The write of a job's current step, and what the store said. */
typedef struct {
    orders_job_t *job;
    apr_time_t now, lease_until;
    apr_time_t at;              /* when the row says the step happened */
    apr_status_t rv;
} job_write_t;

struct orders_job_t {
    orders_engine_t *engine;
    server_rec *s;
    const char *order_id;
    ord_status_e from;          /* what the claim takes it from */
    job_stage_e stage;
    int failures;
    const char *token;
    apr_time_t created_at;
    apr_time_t started_at;
    apr_interval_time_t wait;   /* its processing time */
    job_write_t write;
    ord_job_t *handle;          /* for ord_queue_resume */
    apr_pool_t *pool;
};

/* This child's engine: set in child_init, read by request and pool
 * threads. */
struct orders_engine_t {
    server_rec *s;              /* the main server: its database and config */
    ord_writer_t *writer;
    ord_queue_t *queue;
    ord_metrics_slot_t *slot;
    orders_server_conf_t conf;
    const char *token_prefix;   /* unique to this child, across servers */
    int recovering;             /* holds the recovery lease (watchdog
                                 * thread only) */
    volatile apr_uint32_t claims;
};

static orders_engine_t *engine;
/* The gate between the engine's users (request threads queueing an order,
 * the watchdog thread's recovery pass) and its stop when the child exits:
 * mod_watchdog does not join its thread before the child's pool goes, so a
 * pass can be under way then.  Kept outside the engine's memory, which the
 * child's pool frees. */
static volatile apr_uint32_t engine_users;
static volatile apr_uint32_t engine_stopping;
#define ENGINE_STOP_WAIT apr_time_from_sec(30)
static apr_global_mutex_t *load_mutex;
/* SQLite has one write lock per database file.  When the writers of two
 * children meet on it, apr_dbd's driver answers SQLITE_BUSY by sleeping
 * 100 ms: most of the POST latency tail.  Taking this mutex around each
 * SQLite batch makes the other child's writer wait exactly as long as the
 * commit takes, with its batch growing meanwhile. */
static apr_global_mutex_t *write_mutex;

static APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) *wd_get_instance;
static APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) *wd_register;

apr_status_t orders_store_conn(ap_dbd_t *dbd, ord_db_t *conn)
{
    return ord_db_init(conn, dbd->driver, dbd->handle, dbd->prepared,
                       dbd->pool);
}

const char *orders_store_error(ord_db_t *conn)
{
    return ord_db_error(conn);
}

/* This child's database incidents: the first failure of each is logged in
 * full, the rest of it at debug level, and its end once. */
static ord_incident_t db_incident;
#define NO_CONNECTION_KIND 100

void orders_db_failed(server_rec *s, request_rec *r, const char *tag,
                      const ord_db_t *conn)
{
    ord_db_fault_e fault = conn ? ord_db_fault(conn) : 0;
    apr_uint32_t kind = fault ? (apr_uint32_t)fault : NO_CONNECTION_KIND;
    int level = ord_incident_failed(&db_incident, kind) ? APLOG_ERR
                                                         : APLOG_DEBUG;
    char cause[ORD_DB_ERROR_MAX + 64];

    if (fault) {
        apr_snprintf(cause, sizeof(cause), "%s: %s", ord_sql_fault_name(fault),
                     ord_db_error(conn));
    }
    else {
        apr_cpystrn(cause, "no database connection (mod_dbd's own line says "
                    "why)", sizeof(cause));
    }
    if (r) {
        ap_log_rerror(APLOG_MARK, level, 0, r, "%s: the database failed: %s",
                      tag, cause);
    }
    else {
        ap_log_error(APLOG_MARK, level, 0, s, "%s: the database failed: %s",
                     tag, cause);
    }
}

void orders_db_ok(server_rec *s)
{
    apr_uint32_t failures = ord_incident_ok(&db_incident);

    if (failures) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "ORD00014: the database "
                     "answers again, after %u failed use(s)", failures);
    }
}

/* The engine, counted as in use until engine_release; NULL when there is
 * none or it is stopping. */
static orders_engine_t *engine_acquire(void)
{
    orders_engine_t *e;

    apr_atomic_inc32(&engine_users);
    e = engine;
    if (!e || apr_atomic_read32(&engine_stopping)) {
        apr_atomic_dec32(&engine_users);
        return NULL;
    }
    return e;
}

static void engine_release(void)
{
    apr_atomic_dec32(&engine_users);
}

ord_metrics_slot_t *orders_engine_slot(void)
{
    orders_engine_t *e = engine;

    return e ? e->slot : NULL;
}

/* The writer's connection for one batch: mod_dbd's, given back after. */
typedef struct {
    ord_db_t conn;      /* first: the writer sees only this */
    ap_dbd_t *dbd;
    server_rec *s;
    int holds_write_mutex;
} writer_conn_t;

static ord_db_t *writer_open(void *ctx, apr_pool_t *p)
{
    server_rec *s = ctx;
    writer_conn_t *wc;
    ap_dbd_t *dbd = ap_dbd_open(p, s);
    apr_status_t rv;

    if (!dbd) {
        orders_db_failed(s, NULL, "ORD00013", NULL);
        return NULL;
    }
    wc = apr_palloc(p, sizeof(*wc));
    if (orders_store_conn(dbd, &wc->conn) != APR_SUCCESS) {
        ap_dbd_close(s, dbd);
        return NULL;
    }
    wc->dbd = dbd;
    wc->s = s;
    wc->holds_write_mutex = 0;
    if (strcmp(apr_dbd_name(dbd->driver), "sqlite3") == 0) {
        rv = apr_global_mutex_lock(write_mutex);
        if (rv != APR_SUCCESS) {
            /* Without it the batch still works; it may wait longer. */
            ap_log_error(APLOG_MARK, APLOG_WARNING, rv, s, "ORD00045: "
                         "cannot take the orders-write mutex");
        }
        wc->holds_write_mutex = (rv == APR_SUCCESS);
    }
    return &wc->conn;
}

static void writer_close(void *ctx, ord_db_t *conn, apr_status_t outcome)
{
    writer_conn_t *wc = (writer_conn_t *)conn;

    if (outcome == APR_SUCCESS) {
        orders_db_ok(wc->s);
    }
    else if (ord_db_fault(&wc->conn)) {
        orders_db_failed(wc->s, NULL, "ORD00013", &wc->conn);
    }
    if (outcome == APR_INCOMPLETE) {
        /* What the lost COMMIT did is in the table, not in the counters: the
         * next pass of this server's recovery loads them again. */
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, wc->s, "ORD00015: the "
                     "answer to a COMMIT was lost; its writes are answered "
                     "503 and the counters are reloaded from the database");
        apr_atomic_set32(&orders_metrics->loaded_generation, 0);
    }
    if (wc->holds_write_mutex) {
        apr_global_mutex_unlock(write_mutex);
    }
    ap_dbd_close(wc->s, wc->dbd);
}

apr_status_t orders_write_insert(ord_db_t *c, apr_pool_t *p,
                                 void *arg)
{
    orders_insert_write_t *w = arg;

    return ord_store_insert(c, p, w->order, w->lease_until, &w->created);
}

apr_status_t orders_engine_write(server_rec *s, ord_write_fn *fn, void *arg)
{
    orders_engine_t *e = engine_acquire();
    apr_status_t rv;

    if (e) {
        rv = ord_writer_submit(e->writer, fn, arg);
        engine_release();
        return rv;
    }
    return APR_EINIT;   /* no engine in this child: nothing can be written */
}

apr_interval_time_t orders_engine_intake_lease(server_rec *s)
{
    return orders_server_settings(s).recovery;
}

/* The simulated processing time: uniformly random in [MIN, MAX]. */
static apr_interval_time_t processing_time(const orders_server_conf_t *c)
{
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

/* A failed database step: try again soon, or leave the order to recovery
 * (its lease runs out and another pass claims it). */
static apr_interval_time_t job_failed(orders_job_t *job, apr_status_t rv)
{
    if (++job->failures < JOB_ATTEMPTS) {
        return JOB_RETRY_DELAY;
    }
    ap_log_error(APLOG_MARK, APLOG_WARNING, rv, job->s,
                 "ORD00010: order %s: database unavailable, leaving it to "
                 "the recovery pass", job->order_id);
    return ORD_JOB_DONE;
}

static apr_status_t write_claim(ord_db_t *c, apr_pool_t *p, void *arg)
{
    job_write_t *w = arg;

    w->rv = ord_store_claim(c, p, w->job->order_id, w->job->from,
                            w->job->token, w->now, w->lease_until,
                            &w->job->created_at, &w->at);
    return w->rv == APR_NOTFOUND ? APR_SUCCESS : w->rv;
}

static apr_status_t write_complete(ord_db_t *c, apr_pool_t *p,
                                   void *arg)
{
    job_write_t *w = arg;

    w->rv = ord_store_complete(c, p, w->job->order_id, w->job->token,
                               w->now, &w->at);
    return w->rv == APR_NOTFOUND ? APR_SUCCESS : w->rv;
}

/* On the writer's thread, once the step's write has committed or failed:
 * counts the transition and sends the job on (the processing wait after a
 * claim, a retry after a failure, the end otherwise). */
static void job_written(apr_status_t rv, void *arg)
{
    job_write_t *w = arg;
    orders_job_t *job = w->job;
    apr_interval_time_t next = ORD_JOB_DONE;
    int won = (rv == APR_SUCCESS && w->rv == APR_SUCCESS);

    if (won && job->stage == STEP_CLAIM) {
        ord_metrics_claimed(orders_metrics, job->from);
    }
    else if (won) {
        ord_metrics_completed(orders_metrics, w->at - job->started_at,
                              w->at - job->created_at);
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, job->s,
                     "ORD00012: order %s completed under claim %s",
                     job->order_id, job->token);
    }
    ord_metrics_leave(job->engine->slot);
    if (rv != APR_SUCCESS) {
        next = job_failed(job, rv);
    }
    else if (won && job->stage == STEP_CLAIM) {
        job->started_at = w->at;
        job->stage = STEP_COMPLETE;
        job->failures = 0;
        next = job->wait;
    }
    ord_queue_resume(job->handle, next);
}

/* One step of an order's processing: its claim, or (after the processing
 * time) its completion.  The write goes to the writer without waiting for
 * it: no pool thread is held while a batch commits, and job_written sends
 * the job on. */
static apr_interval_time_t job_step(void *data)
{
    orders_job_t *job = data;
    orders_engine_t *e = job->engine;
    job_write_t *w = &job->write;
    apr_status_t rv;

    w->job = job;
    w->now = apr_time_now();
    w->rv = APR_EGENERAL;
    ord_metrics_enter(orders_metrics, e->slot, ord_metrics_pid_alive);
    if (job->stage == STEP_CLAIM) {
        job->wait = processing_time(&e->conf);
        w->lease_until = w->now + job->wait + e->conf.recovery;
        rv = ord_writer_post(e->writer, job->pool, write_claim, w,
                             job_written);
    }
    else {
        rv = ord_writer_post(e->writer, job->pool, write_complete, w,
                             job_written);
    }
    if (rv != APR_SUCCESS) {
        ord_metrics_leave(e->slot);
        return job_failed(job, rv);
    }
    return ORD_JOB_PARKED;
}

static apr_status_t enqueue(orders_engine_t *e, const char *order_id,
                            ord_status_e from)
{
    orders_job_t *job;
    apr_pool_t *pool;
    apr_status_t rv;

    rv = ord_queue_job_pool(e->queue, &pool);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    job = apr_pcalloc(pool, sizeof(*job));
    job->engine = e;
    job->s = e->s;
    job->pool = pool;
    job->order_id = apr_pstrdup(pool, order_id);
    job->from = from;
    job->stage = STEP_CLAIM;
    job->token = apr_psprintf(pool, "%s-%u", e->token_prefix,
                              apr_atomic_inc32(&e->claims));
    /* The claim step only hands the claim to the writer: run it here. */
    return ord_queue_start(e->queue, pool, job_step, job, &job->handle);
}

void orders_engine_enqueue(server_rec *s, const char *order_id)
{
    orders_engine_t *e = engine_acquire();
    apr_status_t rv = APR_EINIT;

    if (e) {
        rv = enqueue(e, order_id, ORD_PENDING);
        engine_release();
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_DEBUG, rv, s,
                     "ORD00011: order %s waits for the recovery pass "
                     "(queue full or not running)", order_id);
    }
}

/* Makes sure the schema exists and the shared counters hold the database's
 * figures for this server generation: done by the first child of each
 * generation, under a global mutex so that the others wait for it. */
static apr_status_t load_generation(server_rec *s, apr_pool_t *p)
{
    ord_store_totals_t totals;
    ord_db_t conn;
    ap_dbd_t *dbd = NULL;
    int generation = 0;
    apr_status_t rv;

    ap_mpm_query(AP_MPMQ_GENERATION, &generation);
    if (apr_atomic_read32(&orders_metrics->loaded_generation)
        == (apr_uint32_t)generation + 1) {
        return APR_SUCCESS;
    }
    rv = apr_global_mutex_lock(load_mutex);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (apr_atomic_read32(&orders_metrics->loaded_generation)
        == (apr_uint32_t)generation + 1) {
        goto leave;
    }
    dbd = ap_dbd_open(p, s);
    if (!dbd) {
        orders_db_failed(s, NULL, "ORD00023", NULL);
        rv = APR_EGENERAL;
        goto leave;
    }
    rv = orders_store_conn(dbd, &conn);
    if (rv != APR_SUCCESS) {
        goto leave;
    }
    /* Transitions of live children pause while the table is reloaded, so
     * that none is lost or counted twice around the aggregate query. */
    if (ord_metrics_reload_begin(orders_metrics, (apr_uint32_t)getpid(),
                                 ord_metrics_pid_alive, RELOAD_WAIT)
        == APR_TIMEUP) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "ORD00024: "
                     "transitions still under way after the wait; the "
                     "metrics may be off by them until the next reload");
    }
    rv = ord_store_ensure_schema(&conn, p);
    if (rv == APR_SUCCESS) {
        rv = ord_store_totals(&conn, p, &totals);
    }
    if (rv == APR_SUCCESS) {
        ord_metrics_load(orders_metrics, &totals);
    }
    ord_metrics_reload_end(orders_metrics);
    if (rv != APR_SUCCESS) {
        orders_db_failed(s, NULL, "ORD00023", &conn);
    }
    else {
        apr_atomic_set32(&orders_metrics->loaded_generation,
                         (apr_uint32_t)generation + 1);
    }
leave:
    if (dbd) {
        ap_dbd_close(s, dbd);
    }
    apr_global_mutex_unlock(load_mutex);
    return rv;
}

typedef struct {
    const char *holder;
    apr_time_t now, until;
    int held;
} lease_write_t;

static apr_status_t write_lease(ord_db_t *c, apr_pool_t *p, void *arg)
{
    lease_write_t *w = arg;

    return ord_store_lease(c, p, RECOVERY_LEASE, w->holder, w->now, w->until,
                           &w->held);
}

/* Whether this child runs the recovery pass now: it holds the database
 * lease of the pass, renewed at every pass.  A child that stops renewing
 * (killed, hung, SIGSTOPped) loses it once it runs out, to whichever child
 * of whichever server asks next; a SIGSTOPped child holding mod_watchdog's
 * singleton mutex would have stopped every pass of the server instead. */
static int holds_recovery_lease(orders_engine_t *e)
{
    lease_write_t lease;

    lease.holder = e->token_prefix;
    lease.now = apr_time_now();
    lease.until = lease.now + RECOVERY_LEASE_PASSES * e->conf.recovery;
    lease.held = 0;
    if (ord_writer_submit(e->writer, write_lease, &lease) != APR_SUCCESS) {
        lease.held = 0;     /* the writer logged why */
    }
    if (lease.held != e->recovering) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, e->s, "ORD00025: this child "
                     "(%s) %s the recovery pass", e->token_prefix,
                     lease.held ? "now runs" : "no longer runs");
        e->recovering = lease.held;
    }
    return lease.held;
}

/* The recovery pass: orders whose lease ran out are claimed again through
 * this child's queue, as many as it has room for. */
static void recover(orders_engine_t *e, apr_pool_t *p)
{
    apr_array_header_t *orphans;
    ord_db_t conn;
    ap_dbd_t *dbd;
    apr_status_t rv;
    int i, room;

    /* Every child of every server: its own server's counters. */
    if (load_generation(e->s, p) != APR_SUCCESS) {
        return;     /* logged; the next pass tries again */
    }
    if (!holds_recovery_lease(e)) {
        return;
    }
    room = e->conf.queue_size
           - (int)apr_atomic_read32(&e->slot->gauges.held);
    if (room <= 0) {
        return;
    }
    dbd = ap_dbd_open(p, e->s);
    if (!dbd) {
        orders_db_failed(e->s, NULL, "ORD00021", NULL);
        return;
    }
    rv = orders_store_conn(dbd, &conn);
    if (rv == APR_SUCCESS) {
        rv = ord_store_orphans(&conn, p, apr_time_now(),
                               room < RECOVERY_BATCH ? room : RECOVERY_BATCH,
                               &orphans);
        if (rv != APR_SUCCESS) {
            orders_db_failed(e->s, NULL, "ORD00021", &conn);
        }
    }
    ap_dbd_close(e->s, dbd);
    if (rv != APR_SUCCESS) {
        return;
    }
    orders_db_ok(e->s);
    for (i = 0; i < orphans->nelts; i++) {
        ord_store_orphan_t *o = &APR_ARRAY_IDX(orphans, i, ord_store_orphan_t);
        if (enqueue(e, o->order_id, o->status) != APR_SUCCESS) {
            break;
        }
    }
    if (orphans->nelts > 0) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, e->s,
                     "ORD00022: recovery pass took over %d order(s)", i);
    }
}

/* The recovery pass, every OrdersRecoveryInterval on every child's own
 * watchdog thread; the database lease picks the one that works. */
static apr_status_t recovery_pass(int state, void *data, apr_pool_t *p)
{
    orders_engine_t *e;

    if (state == AP_WATCHDOG_STATE_STOPPING) {
        return APR_SUCCESS;
    }
    e = engine_acquire();
    if (e) {
        recover(e, p);
        engine_release();
    }
    return APR_SUCCESS;
}

int orders_engine_post_config(apr_pool_t *pconf, server_rec *s)
{
    orders_server_conf_t conf = orders_server_settings(s);
    ap_watchdog_t *wd;
    apr_status_t rv;

    rv = ap_global_mutex_create(&load_mutex, NULL, ORDERS_LOAD_MUTEX, NULL, s,
                                pconf, 0);
    if (rv == APR_SUCCESS) {
        rv = ap_global_mutex_create(&write_mutex, NULL, ORDERS_WRITE_MUTEX,
                                    NULL, s, pconf, 0);
    }
    if (rv != APR_SUCCESS) {
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    wd_get_instance = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    wd_register = APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    if (!wd_get_instance || !wd_register) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "ORD00030: mod_watchdog "
                     "is missing; mod_orders needs it for recovery");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    /* Not a singleton: one child holding its mutex while hung would stop
     * the pass of the whole server.  The database lease decides instead. */
    rv = wd_get_instance(&wd, ORDERS_WATCHDOG, 0, 0, pconf);
    if (rv == APR_SUCCESS) {
        rv = wd_register(wd, conf.recovery, s, recovery_pass);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "ORD00031: cannot "
                     "register the recovery pass with mod_watchdog");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

static apr_status_t engine_stop(void *data)
{
    orders_engine_t *e = data;
    apr_time_t until = apr_time_now() + ENGINE_STOP_WAIT;

    apr_atomic_set32(&engine_stopping, 1);
    engine = NULL;
    while (apr_atomic_read32(&engine_users) != 0 && apr_time_now() < until) {
        apr_sleep(apr_time_from_msec(1));
    }
    /* The writer first: it runs what was handed to it, and its callbacks
     * send jobs on through the queue, which must still be there.  Steps
     * that run after it has stopped find it refusing, and leave their
     * orders to the recovery pass (their leases run out). */
    ord_writer_stop(e->writer);
    ord_queue_destroy(e->queue);
    ord_metrics_slot_release(e->slot);
    return APR_SUCCESS;
}

void orders_engine_child_init(apr_pool_t *pchild, server_rec *s)
{
    orders_engine_t *e;
    unsigned char nonce[6];
    apr_status_t rv;
    int tries;

    if (!orders_metrics) {
        return;     /* post_config did not run: nothing to serve */
    }
    rv = apr_global_mutex_child_init(&load_mutex,
                                     apr_global_mutex_lockfile(load_mutex),
                                     pchild);
    if (rv == APR_SUCCESS) {
        rv = apr_global_mutex_child_init(&write_mutex,
                                         apr_global_mutex_lockfile(write_mutex),
                                         pchild);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "ORD00040: cannot "
                     "attach the orders mutexes in this child");
        return;
    }
    e = apr_pcalloc(pchild, sizeof(*e));
    e->s = s;
    e->conf = orders_server_settings(s);
    apr_generate_random_bytes(nonce, sizeof(nonce));
    e->token_prefix = apr_psprintf(pchild, "%" APR_PID_T_FMT "-%02x%02x%02x"
                                   "%02x%02x%02x", getpid(), nonce[0],
                                   nonce[1], nonce[2], nonce[3], nonce[4],
                                   nonce[5]);
    e->slot = ord_metrics_slot_take(orders_metrics, (apr_uint32_t)getpid(),
                                    ord_metrics_pid_alive);
    if (!e->slot) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s, "ORD00041: no free "
                     "metrics slot for this child");
        return;
    }
    rv = ord_writer_create(&e->writer, pchild, WRITER_BATCH, writer_open,
                           writer_close, s);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "ORD00044: cannot start "
                     "the database writer");
        ord_metrics_slot_release(e->slot);
        return;
    }
    rv = ord_queue_create(&e->queue, pchild, (apr_size_t)e->conf.workers,
                          (apr_uint32_t)e->conf.queue_size, &e->slot->gauges);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "ORD00042: cannot start "
                     "the processing thread pool");
        ord_metrics_slot_release(e->slot);
        return;
    }
    /* Before any subpool goes, mod_dbd's connection pool included: the
     * threads must stop while the connections they use still exist. */
    apr_pool_pre_cleanup_register(pchild, e, engine_stop);
    engine = e;

    /* At the first start the other children may hold the database while
     * they switch it to WAL: try for a few seconds before leaving it to the
     * recovery pass, so that the metrics are right from the start. */
    for (tries = 0; tries < LOAD_TRIES; tries++) {
        rv = load_generation(s, pchild);
        if (rv == APR_SUCCESS) {
            break;
        }
        apr_sleep(LOAD_RETRY_DELAY);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, "ORD00043: cannot load "
                     "the schema and counters from the database yet; the "
                     "recovery pass will try again");
    }
}

void orders_engine_register_mutex(apr_pool_t *pconf)
{
    ap_mutex_register(pconf, ORDERS_LOAD_MUTEX, NULL, APR_LOCK_DEFAULT, 0);
    ap_mutex_register(pconf, ORDERS_WRITE_MUTEX, NULL, APR_LOCK_DEFAULT, 0);
}
