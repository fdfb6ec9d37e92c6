/*
 * mod_orders and mod_dbd: the connections mod_orders borrows from mod_dbd's
 * pool (a request's, the writer's for one batch, the recovery pass's) as
 * ord_db connections, the mutex between the children's SQLite writers, and
 * the log of the database's incidents.
 *
 * Every connection is mod_dbd's: mod_dbd checks it when it is acquired
 * (apr_dbd_check_conn, which for PostgreSQL opens a new session when the
 * old one broke) and drops one whose check fails.  ord_db does the rest
 * (see ord_db.h).
 */
#include <errno.h>

#include "httpd.h"
#include "apr_atomic.h"
#include "apr_global_mutex.h"
#include "apr_strings.h"
#include "http_config.h"
#include "http_log.h"
#include "http_main.h"
#include "util_cfgtree.h"
#include "util_mutex.h"

#include "mod_orders.h"
#include "ord_incident.h"

APLOG_USE_MODULE(orders);

#define ORDERS_WRITE_MUTEX "orders-write"
/* SQLite has one write lock per database file.  When the writers of two
 * children meet on it, apr_dbd's driver answers SQLITE_BUSY by sleeping
 * 100 ms: most of the POST latency tail.  Taking this mutex around each
 * SQLite batch makes the other child's writer wait exactly as long as the
 * commit takes, with its batch growing meanwhile. */
static apr_global_mutex_t *write_mutex;

/* This child's database incidents: the first failure of each is logged in
 * full, the rest of it at debug level, and its end once. */
static ord_incident_t db_incident;
/* The kind of "no connection to be had", beside ord_db_fault_e's. */
#define NO_CONNECTION_KIND 16

void orders_dbd_register_mutex(apr_pool_t *pconf)
{
    ap_mutex_register(pconf, ORDERS_WRITE_MUTEX, NULL, APR_LOCK_DEFAULT, 0);
}

/* Whether a DBDriver is set anywhere (the main server or a virtual host):
 * without one mod_dbd has nothing to open, and the module serves 503s
 * saying so instead of trying.  Set in post_config, before the fork. */
static int database_configured = 1;

/* Whether `name` is among the directives of `d`, its siblings and their
 * sections (mod_dbd keeps its configuration to itself: the parsed tree is
 * where to look). */
static int tree_has(const ap_directive_t *d, const char *name)
{
    for (; d; d = d->next) {
        if (ap_cstr_casecmp(d->directive, name) == 0
            || tree_has(d->first_child, name)) {
            return 1;
        }
    }
    return 0;
}

int orders_dbd_configured(void)
{
    return database_configured;
}

apr_status_t orders_dbd_post_config(apr_pool_t *pconf, server_rec *s)
{
    database_configured = tree_has(ap_conftree, "DBDriver");
    if (!database_configured) {
        /* Once, from the parent: the children do not try at all. */
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "ORD00003: mod_orders has "
                     "no database: set DBDriver (sqlite3, pgsql or mysql) and "
                     "DBDParams (mod_dbd); until then every request to it "
                     "answers 503");
    }
    return ap_global_mutex_create(&write_mutex, NULL, ORDERS_WRITE_MUTEX,
                                  NULL, s, pconf, 0);
}

apr_status_t orders_dbd_child_init(apr_pool_t *pchild)
{
    return apr_global_mutex_child_init(&write_mutex,
                                       apr_global_mutex_lockfile(write_mutex),
                                       pchild);
}

apr_status_t orders_store_conn(ap_dbd_t *dbd, ord_db_t *conn)
{
    apr_status_t rv = ord_db_init(conn, dbd->driver, dbd->handle,
                                  dbd->prepared, dbd->pool);

    if (rv == APR_SUCCESS) {
        rv = orders_mysql_adopt(conn, ap_server_conf);
    }
    if (rv == APR_SUCCESS) {
        orders_watch_adopt(conn);
    }
    return rv;
}

/* A connection goes back to mod_dbd with the mysql driver's reconnect on
 * again, so that mod_dbd's check renews a broken session when it hands
 * the connection out next (between transactions), as the pgsql driver's
 * check does; while mod_orders holds it, reconnect is off. */
static apr_status_t release_at_end(void *dbd)
{
    orders_mysql_release(dbd);
    return APR_SUCCESS;
}

ap_dbd_t *orders_dbd_acquire(request_rec *r)
{
    ap_dbd_t *dbd = ap_dbd_acquire(r);

    /* ap_dbd_acquire gives a request one connection however often it is
     * asked: its release is registered the first time, after
     * ap_dbd_acquire's own cleanup, so that it runs before it. */
    if (dbd && ap_get_module_config(r->request_config, &orders_module)
               != dbd) {
        ap_set_module_config(r->request_config, &orders_module, dbd);
        apr_pool_cleanup_register(r->pool, dbd, release_at_end,
                                  apr_pool_cleanup_null);
    }
    return dbd;
}

void orders_dbd_close(server_rec *s, ap_dbd_t *dbd)
{
    orders_mysql_release(dbd);
    ap_dbd_close(s, dbd);
}

ord_db_t *orders_request_conn(request_rec *r)
{
    ap_dbd_t *dbd = orders_dbd_acquire(r);
    ord_db_t *conn;

    if (!dbd) {
        return NULL;
    }
    conn = apr_palloc(r->pool, sizeof(*conn));
    if (orders_store_conn(dbd, conn) != APR_SUCCESS) {
        return NULL;
    }
    return conn;
}

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

/* The writer's connection for one batch: mod_dbd's, given back after. */
typedef struct {
    ord_db_t conn;      /* first: the writer sees only this */
    ap_dbd_t *dbd;
    server_rec *s;
    int holds_write_mutex;
} writer_conn_t;

ord_db_t *orders_dbd_writer_open(void *ctx, apr_pool_t *p)
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
        orders_dbd_close(s, dbd);
        return NULL;
    }
    wc->dbd = dbd;
    wc->s = s;
    wc->holds_write_mutex = 0;
    wc->conn.deliver_events = orders_server_settings(s).webhook_url != NULL;
    if (strcmp(apr_dbd_name(dbd->driver), "sqlite3") == 0) {
        rv = apr_global_mutex_lock(write_mutex);
        if (rv != APR_SUCCESS) {
            /* Without it the batch still works; it may wait longer.  With
             * fcntl locks (Mutex file:) the kernel's deadlock detection
             * works per process, not per thread: while another thread of
             * this child waits for the orders-load mutex held by a child
             * that waits for this one, the lock is refused with EDEADLK
             * although nothing is deadlocked.  That happens around a
             * child's first load only, and is no fault. */
            ap_log_error(APLOG_MARK, rv == APR_FROM_OS_ERROR(EDEADLK)
                                     ? APLOG_DEBUG : APLOG_WARNING, rv, s,
                         "ORD00045: cannot take the orders-write mutex");
        }
        wc->holds_write_mutex = (rv == APR_SUCCESS);
    }
    return &wc->conn;
}

void orders_dbd_writer_close(void *ctx, ord_db_t *conn, apr_status_t outcome)
{
    writer_conn_t *wc = (writer_conn_t *)conn;

    if (outcome == APR_SUCCESS) {
        orders_db_ok(wc->s);
    }
    else if (outcome == APR_EAGAIN) {
        /* A deadlock's loser: PostgreSQL or MariaDB chose this batch to
         * roll back, and the writer runs it again at once. */
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, wc->s, "ORD00018: a batch "
                     "lost to another transaction at the same rows and runs "
                     "again: %s", ord_db_error(&wc->conn));
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
    orders_dbd_close(wc->s, wc->dbd);
}
