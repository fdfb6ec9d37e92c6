/*
 * mod_orders recovery: what brings a server back to what the database
 * says.  At each server generation the first child creates the schema when
 * it is missing and loads the shared counters from the table; and every
 * OrdersRecoveryInterval, on every child's mod_watchdog thread, the holder
 * of the database lease "recovery" takes over the orders whose lease ran
 * out (left behind by a crash, a restart, a full queue, a hung child,
 * another server) through its own queue.
 *
 * The lease, not mod_watchdog's singleton, picks the child: a child holding
 * the singleton's mutex while hung (SIGSTOP) stopped every takeover of the
 * server, while a lease that is not renewed runs out and passes on, to a
 * child of this server or of another sharing the database.
 */
#include <unistd.h>

#include "httpd.h"
#include "apr_atomic.h"
#include "apr_global_mutex.h"
#include "apr_optional.h"
#include "ap_mpm.h"
#include "http_log.h"
#include "mod_watchdog.h"
#include "util_mutex.h"

#include "mod_orders.h"

APLOG_USE_MODULE(orders);

#define ORDERS_LOAD_MUTEX     "orders-load"
#define ORDERS_WATCHDOG       "_orders_recovery_"
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

static apr_global_mutex_t *load_mutex;
/* Whether this child holds the lease (the watchdog thread's only). */
static int recovering;

static APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) *wd_get_instance;
static APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) *wd_register;

/* Makes sure the schema exists and the shared counters hold the database's
 * figures for this server generation: done by the first child of each
 * generation, under a global mutex so that the others wait for it. */
apr_status_t orders_recovery_load(server_rec *s, apr_pool_t *p)
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
        /* Another child creating the schema holds the database for a
         * moment: the caller tries again; anything else is an incident. */
        if (ord_db_fault(&conn) == ORD_DB_BUSY) {
            ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "ORD00023: the "
                         "database is busy loading: %s", ord_db_error(&conn));
        }
        else {
            orders_db_failed(s, NULL, "ORD00023", &conn);
        }
    }
    else {
        apr_atomic_set32(&orders_metrics->loaded_generation,
                         (apr_uint32_t)generation + 1);
    }
leave:
    if (dbd) {
        orders_dbd_close(s, dbd);
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
 * of whichever server asks next.  The lease is read first on `conn`: only
 * its holder, or a child that finds it run out, writes (through the
 * writer, which takes SQLite's write lock), so the children that do not
 * hold it cost the database one read per pass. */
static int holds_recovery_lease(orders_engine_t *e, server_rec *s,
                                ord_db_t *conn, apr_pool_t *p)
{
    const char *holder = NULL;
    apr_time_t until = 0;
    lease_write_t lease;

    lease.holder = orders_engine_holder(e);
    lease.now = apr_time_now();
    lease.until = lease.now + RECOVERY_LEASE_PASSES
                              * orders_server_settings(s).recovery;
    lease.held = 0;
    if (ord_store_lease_holder(conn, p, RECOVERY_LEASE, &holder, &until)
        != APR_SUCCESS) {
        orders_db_failed(s, NULL, "ORD00021", conn);
        return 0;
    }
    if ((!holder || strcmp(holder, lease.holder) != 0) && until >= lease.now) {
        lease.held = 0;     /* another's, and not run out */
    }
    else if (orders_engine_write(e, write_lease, &lease) != APR_SUCCESS) {
        lease.held = 0;     /* the writer logged why */
    }
    if (lease.held != recovering) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, "ORD00025: this child "
                     "(%s) %s the recovery pass", lease.holder,
                     lease.held ? "now runs" : "no longer runs");
        recovering = lease.held;
    }
    return lease.held;
}

typedef struct {
    apr_time_t before;
    int removed;
} expire_write_t;

static apr_status_t write_expire(ord_db_t *c, apr_pool_t *p, void *arg)
{
    expire_write_t *w = arg;

    return ord_store_events_expire(c, p, w->before, &w->removed);
}

/* Events older than OrdersEventRetention go, in the lease holder's pass. */
static void expire_events(orders_engine_t *e, server_rec *s)
{
    expire_write_t w;

    w.before = apr_time_now() - orders_server_settings(s).event_retention;
    w.removed = 0;
    if (orders_engine_write(e, write_expire, &w) == APR_SUCCESS
        && w.removed > 0) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, "ORD00026: %d event(s) "
                     "older than OrdersEventRetention removed", w.removed);
    }
}

/* The recovery pass: orders whose lease ran out are claimed again through
 * this child's queue, as many as it has room for. */
static void recover(orders_engine_t *e, server_rec *s, apr_pool_t *p)
{
    apr_array_header_t *orphans = NULL;
    ord_db_t conn;
    ap_dbd_t *dbd;
    apr_status_t rv;
    int i, room;

    /* Every child of every server: its own server's counters. */
    if (orders_recovery_load(s, p) != APR_SUCCESS) {
        return;     /* logged; the next pass tries again */
    }
    dbd = ap_dbd_open(p, s);
    if (!dbd) {
        orders_db_failed(s, NULL, "ORD00021", NULL);
        return;
    }
    rv = orders_store_conn(dbd, &conn);
    if (rv == APR_SUCCESS && !holds_recovery_lease(e, s, &conn, p)) {
        rv = APR_EAGAIN;    /* not this child's turn */
    }
    if (rv == APR_SUCCESS) {
        expire_events(e, s);
    }
    room = orders_engine_room(e);
    if (rv == APR_SUCCESS && room > 0) {
        rv = ord_store_orphans(&conn, p, apr_time_now(),
                               room < RECOVERY_BATCH ? room : RECOVERY_BATCH,
                               &orphans);
        if (rv != APR_SUCCESS) {
            orders_db_failed(s, NULL, "ORD00021", &conn);
        }
    }
    orders_dbd_close(s, dbd);
    if (rv != APR_SUCCESS || !orphans) {
        return;
    }
    orders_db_ok(s);
    for (i = 0; i < orphans->nelts; i++) {
        ord_store_orphan_t *o = &APR_ARRAY_IDX(orphans, i, ord_store_orphan_t);
        if (orders_engine_take_over(e, o->order_id, o->status)
            != APR_SUCCESS) {
            break;
        }
    }
    if (orphans->nelts > 0) {
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s,
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
    e = orders_engine_acquire();
    if (e) {
        recover(e, data, p);
        orders_engine_release();
    }
    return APR_SUCCESS;
}

void orders_recovery_register_mutex(apr_pool_t *pconf)
{
    ap_mutex_register(pconf, ORDERS_LOAD_MUTEX, NULL, APR_LOCK_DEFAULT, 0);
}

int orders_recovery_post_config(apr_pool_t *pconf, server_rec *s)
{
    ap_watchdog_t *wd;
    apr_status_t rv;

    rv = ap_global_mutex_create(&load_mutex, NULL, ORDERS_LOAD_MUTEX, NULL, s,
                                pconf, 0);
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
    /* Not a singleton: the database lease decides (see the top). */
    rv = wd_get_instance(&wd, ORDERS_WATCHDOG, 0, 0, pconf);
    if (rv == APR_SUCCESS) {
        rv = wd_register(wd, orders_server_settings(s).recovery, s,
                         recovery_pass);
    }
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, "ORD00031: cannot "
                     "register the recovery pass with mod_watchdog");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    return OK;
}

apr_status_t orders_recovery_child_init(apr_pool_t *pchild)
{
    return apr_global_mutex_child_init(&load_mutex,
                                       apr_global_mutex_lockfile(load_mutex),
                                       pchild);
}

void orders_recovery_first_load(apr_pool_t *pchild, server_rec *s)
{
    int tries;

    /* At the first start the other children may hold the database while
     * they switch it to WAL: try for a few seconds before leaving it to the
     * recovery pass, so that the metrics are right from the start. */
    for (tries = 0; tries < LOAD_TRIES; tries++) {
        if (orders_recovery_load(s, pchild) == APR_SUCCESS) {
            break;
        }
        apr_sleep(LOAD_RETRY_DELAY);
    }
    if (tries == LOAD_TRIES) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "ORD00043: cannot load "
                     "the schema and counters from the database yet; the "
                     "recovery pass will try again");
    }
}
