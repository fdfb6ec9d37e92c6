/*
 * mod_orders and the statements the database does not answer: every
 * statement on a PostgreSQL or MariaDB connection is entered in the child's
 * ord_watch while it runs, and a mod_watchdog thread of the child's own
 * (not the recovery's, which may be the one waiting) cuts those older than
 * OrdersDatabaseTimeout by shutting down their socket.  See ord_watch.h.
 *
 * The sockets come from the client libraries the drivers brought into the
 * process (PQsocket, mysql_get_socket), looked up there: mod_orders links
 * neither.  SQLite has no socket, and its waits are bounded by the driver.
 */
#include <dlfcn.h>
#include <string.h>
#include <sys/socket.h>

#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "mod_watchdog.h"

#include "mod_orders.h"
#include "ord_watch.h"

APLOG_USE_MODULE(orders);

#define ORDERS_STATEMENT_WATCHDOG "orders-statements"
/* Statements watched at once per child; more run unwatched.  Each thread
 * runs one statement at a time: this is above any ThreadsPerChild +
 * OrdersWorkers + our own threads that mod_dbd's DBDMax allows. */
#define WATCH_SLOTS 1024
/* How often the watchdog looks: a cut comes at most this late.  A look
 * counts at most MAX_STEP of age: after the process was stopped (SIGSTOP),
 * its statements are not cut for time it did not run. */
#define LOOK_EVERY apr_time_from_msec(100)
#define MAX_STEP   apr_time_from_msec(500)

typedef int socket_of_fn(void *native);

/* In the process's pool: mod_watchdog does not join its thread before the
 * child's pool goes. */
static ord_watch_t *watch;
static apr_interval_time_t limit;
/* The client libraries' socket functions, found at the first connection of
 * each (dlsym is thread-safe; a race only looks twice). */
static socket_of_fn *volatile pgsql_socket, *volatile mysql_socket;

/* A watched connection keeps its socket function in its ctx. */
static int socket_of(const ord_db_t *c)
{
    socket_of_fn *fn = (socket_of_fn *)c->ctx;
    void *native = apr_dbd_native_handle(c->driver, c->handle);

    return native ? fn(native) : -1;
}

static int enter(const ord_db_t *c)
{
    return ord_watch_enter(watch, socket_of(c), apr_time_now());
}

/* The statement ended: a failure after a cut is the cut's (ORD_DB_CUT). */
static int leave(ord_db_t *c, int slot, int code)
{
    c->cut = ord_watch_leave(watch, slot) && code != 0;
    return code;
}

static int watched_prepare(ord_db_t *c, apr_pool_t *p, const char *sql,
                           const char *label, apr_dbd_prepared_t **stmt)
{
    int slot = enter(c);

    return leave(c, slot, ord_db_apr_ops.prepare(c, p, sql, label, stmt));
}

static int watched_pquery(ord_db_t *c, apr_pool_t *p, int *nrows,
                          apr_dbd_prepared_t *stmt, int nargs,
                          const char **args)
{
    int slot = enter(c);

    return leave(c, slot, ord_db_apr_ops.pquery(c, p, nrows, stmt, nargs,
                                                args));
}

static int watched_pselect(ord_db_t *c, apr_pool_t *p,
                           apr_dbd_results_t **res, apr_dbd_prepared_t *stmt,
                           int nargs, const char **args)
{
    int slot = enter(c);

    return leave(c, slot, ord_db_apr_ops.pselect(c, p, res, stmt, nargs,
                                                 args));
}

static int watched_query(ord_db_t *c, int *nrows, const char *sql)
{
    int slot = enter(c);

    return leave(c, slot, ord_db_apr_ops.query(c, nrows, sql));
}

static int watched_select(ord_db_t *c, apr_pool_t *p, apr_dbd_results_t **res,
                          const char *sql)
{
    int slot = enter(c);

    return leave(c, slot, ord_db_apr_ops.select(c, p, res, sql));
}

/* Rows are read from results already fetched (random access), the error
 * text is local, and the check's connect is bounded by connect_timeout:
 * those go unwatched.  One table per kind of connection: apr_dbd's plain
 * ops (pgsql), and the mysql glue's (its own check and rows; the five
 * statements wrapped here are apr_dbd's in both). */
static ord_db_ops_t watched_apr_ops, watched_mysql_ops;

static void watch_statements(ord_db_ops_t *ops, const ord_db_ops_t *base)
{
    *ops = *base;
    ops->prepare = watched_prepare;
    ops->pquery = watched_pquery;
    ops->pselect = watched_pselect;
    ops->query = watched_query;
    ops->select = watched_select;
}

void orders_watch_adopt(ord_db_t *c)
{
    const char *name;

    if (!watch) {
        return;
    }
    name = apr_dbd_name(c->driver);
    if (strcmp(name, "pgsql") == 0 && c->ops == &ord_db_apr_ops) {
        if (!pgsql_socket) {
            pgsql_socket = (socket_of_fn *)dlsym(RTLD_DEFAULT, "PQsocket");
        }
        c->ctx = (void *)pgsql_socket;
        c->ops = pgsql_socket ? &watched_apr_ops : c->ops;
    }
    else if (strcmp(name, "mysql") == 0 && c->ops == orders_mysql_ops()) {
        if (!mysql_socket) {
            mysql_socket = (socket_of_fn *)dlsym(RTLD_DEFAULT,
                                                 "mysql_get_socket");
        }
        c->ctx = (void *)mysql_socket;
        c->ops = mysql_socket ? &watched_mysql_ops : c->ops;
    }
}

static void cut_socket(int fd, apr_interval_time_t age, void *baton)
{
    server_rec *s = baton;

    /* shutdown(), not close(): the descriptor stays the driver's; the
     * thread inside the statement reads the end of the stream at once. */
    if (shutdown(fd, SHUT_RDWR) == 0) {
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "ORD00017: a statement "
                     "waited %.1f s on the database, past OrdersDatabaseTimeout"
                     " (%.1f s): its connection was cut, and what it was for "
                     "answers 503", apr_time_as_msec(age) / 1000.0,
                     apr_time_as_msec(limit) / 1000.0);
    }
}

static apr_status_t look(int state, void *data, apr_pool_t *p)
{
    if (state != AP_WATCHDOG_STATE_STOPPING && watch) {
        ord_watch_cut_overdue(watch, apr_time_now(), limit, MAX_STEP,
                              cut_socket, data);
    }
    return APR_SUCCESS;
}

apr_status_t orders_watch_post_config(apr_pool_t *pconf, server_rec *s)
{
    APR_OPTIONAL_FN_TYPE(ap_watchdog_get_instance) *get_instance =
        APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_get_instance);
    APR_OPTIONAL_FN_TYPE(ap_watchdog_register_callback) *register_callback =
        APR_RETRIEVE_OPTIONAL_FN(ap_watchdog_register_callback);
    ap_watchdog_t *wd;
    apr_status_t rv;

    if (!get_instance || !register_callback) {
        return APR_ENOTIMPL;    /* the recovery pass says so (ORD00030) */
    }
    /* Per child, not a singleton: each child watches its own statements. */
    rv = get_instance(&wd, ORDERS_STATEMENT_WATCHDOG, 0, 0, pconf);
    if (rv == APR_SUCCESS) {
        rv = register_callback(wd, LOOK_EVERY, s, look);
    }
    return rv;
}

void orders_watch_child_init(server_rec *s)
{
    limit = orders_server_settings(s).database_timeout;
    /* After orders_mysql_child_init, whose table is copied here. */
    watch_statements(&watched_apr_ops, &ord_db_apr_ops);
    watch_statements(&watched_mysql_ops, orders_mysql_ops());
    if (ord_watch_create(&watch, s->process->pool, WATCH_SLOTS)
        != APR_SUCCESS) {
        watch = NULL;
    }
}
