/*
 * ord_db: one database connection as mod_orders uses it, through apr_dbd.
 * The layer below the order SQL (ord_store): statements prepared once per
 * session, reads and writes, transactions, and what a failure means.
 *
 * Failures: every call returns APR_SUCCESS or APR_EGENERAL.  The first
 * failure since ord_db_reset_error() is kept with the driver's own words,
 * copied at the moment it happened (a later ROLLBACK that fails too does
 * not overwrite it), and classified by the driver's dialect (ord_sql.h):
 * ord_db_fault() and ord_db_error() tell the caller what to log.
 *
 * Sessions that end: a statement whose session was lost or whose prepared
 * statement is missing forgets every statement of this connection, so the
 * next use prepares them again on whatever session the connection then has
 * (apr_dbd's connection check opens a new one with libpq's PQreset).
 * Outside a transaction a read, and BEGIN, are run once more after that,
 * so that a session the server ended while idle costs no error at all; a
 * write is never run twice (it may have taken effect), and nothing is
 * retried inside a transaction (the server has aborted it).
 *
 * Nothing here sleeps: results are read in random-access mode, in which the
 * pgsql driver reports errors instead of sleeping 0.1 s and calling them the
 * end of the rows.
 *
 * Thread-safety: a connection is used by one thread at a time (mod_dbd's
 * reslist guarantees it); the statement cache lives in the connection.
 */
#ifndef ORD_DB_H
#define ORD_DB_H

#include <apr_dbd.h>
#include <apr_hash.h>
#include <apr_tables.h>

#include "ord_sql.h"

/* How the layer talks to the driver: apr_dbd itself (ord_db_apr_ops), or a
 * stand-in in the unit tests for what a real server cannot be made to do on
 * demand (reset a session, drop a statement). */
typedef struct ord_db_t ord_db_t;
typedef struct {
    int (*prepare)(ord_db_t *c, apr_pool_t *p, const char *sql,
                   const char *label, apr_dbd_prepared_t **stmt);
    int (*pquery)(ord_db_t *c, apr_pool_t *p, int *nrows,
                  apr_dbd_prepared_t *stmt, int nargs, const char **args);
    int (*pselect)(ord_db_t *c, apr_pool_t *p, apr_dbd_results_t **res,
                   apr_dbd_prepared_t *stmt, int nargs, const char **args);
    /* Row `n` (1 for the first) of a result read in random-access mode,
     * asked for in order. */
    int (*get_row)(ord_db_t *c, apr_pool_t *p, apr_dbd_results_t *res,
                   apr_dbd_row_t **row, int n);
    const char *(*get_entry)(ord_db_t *c, apr_dbd_row_t *row, int col);
    int (*query)(ord_db_t *c, int *nrows, const char *sql);
    int (*select)(ord_db_t *c, apr_pool_t *p, apr_dbd_results_t **res,
                  const char *sql);
    const char *(*error)(ord_db_t *c, int code);
    /* apr_dbd_check_conn: for pgsql a new session when the old one broke. */
    apr_status_t (*check)(ord_db_t *c, apr_pool_t *p);
} ord_db_ops_t;

extern const ord_db_ops_t ord_db_apr_ops;

#define ORD_DB_ERROR_MAX 240

struct ord_db_t {
    const ord_db_ops_t *ops;
    const ord_sql_dialect_t *dialect;
    const apr_dbd_driver_t *driver;
    apr_dbd_t *handle;
    void *ctx;                      /* the ops' own: a stand-in's in
                                     * tests, the statement watch's */
    apr_hash_t *statements;         /* sql text -> apr_dbd_prepared_t */
    apr_pool_t *statement_pool;     /* their memory, per session */
    apr_hash_t *home;               /* where the cache is kept */
    apr_pool_t *pool;               /* the connection's */
    int in_transaction;
    /* The dialect's serialize_writes is still to run in this writer's
     * transaction: before its first event (ord_db_before_events). */
    int serialize_due;
    /* Events written on this connection are queued for webhook delivery
     * (ord_store); the glue sets it. */
    int deliver_events;
    /* The writes gathered for the end of a batch (ord_store_batch_*), NULL
     * outside one. */
    void *deferred;
    /* Set by a watch on the connection's statements (the glue's) when it
     * cut the one that just failed: that failure is ORD_DB_CUT. */
    int cut;
    int error_code;                 /* the first failure's, 0: none */
    ord_db_fault_e fault;
    char error[ORD_DB_ERROR_MAX];
};

/* Sets up `c` for one use of a connection.  `prepared` is a hash that lives
 * as long as the connection (mod_dbd's ap_dbd_t.prepared): the statement
 * cache is kept there between uses.  APR_ENOTIMPL for a driver with no
 * dialect in ord_sql. */
apr_status_t ord_db_init(ord_db_t *c, const apr_dbd_driver_t *driver,
                         apr_dbd_t *handle, apr_hash_t *prepared,
                         apr_pool_t *conn_pool);

/* A write (INSERT, UPDATE) of a prepared statement; *nrows rows changed. */
apr_status_t ord_db_exec(ord_db_t *c, apr_pool_t *p, const char *sql,
                         const char **args, int nargs, int *nrows);

/* A SELECT, or a write with RETURNING, of a prepared statement: every row,
 * as an array of `ncols` column texts each (NULL for SQL NULL), copied
 * into `p`. */
apr_status_t ord_db_select(ord_db_t *c, apr_pool_t *p, const char *sql,
                           const char **args, int nargs, int ncols,
                           apr_array_header_t **rows);

/* A statement without arguments, not prepared (schema, PRAGMA). */
apr_status_t ord_db_run(ord_db_t *c, const char *sql);

/* The value of the first column of the last row of a statement without
 * arguments (a PRAGMA answer), NULL when there is no row. */
apr_status_t ord_db_value(ord_db_t *c, apr_pool_t *p, const char *sql,
                          const char **value);

/* A transaction, with plain BEGIN/COMMIT/ROLLBACK statements: apr_dbd's
 * own transaction calls crash the pgsql driver when BEGIN fails on a lost
 * connection.  ord_db_rollback keeps the first failure. */
apr_status_t ord_db_begin(ord_db_t *c);
/* BEGIN for a transaction of the writer's, which may write events: with
 * the dialect's serialize_writes, those that do commit one after another,
 * each from just before its first event (ord_db_before_events) until its
 * COMMIT. */
apr_status_t ord_db_begin_writes(ord_db_t *c, apr_pool_t *p);
/* Before every INSERT into order_events; runs serialize_writes the first
 * time in a transaction of ord_db_begin_writes, nothing otherwise. */
apr_status_t ord_db_before_events(ord_db_t *c, apr_pool_t *p);
apr_status_t ord_db_commit(ord_db_t *c);
apr_status_t ord_db_rollback(ord_db_t *c);

/* The first failure since the last reset: its meaning (0 when none), and
 * the driver's words ("no detail from the driver" when it gave none). */
ord_db_fault_e ord_db_fault(const ord_db_t *c);
const char *ord_db_error(const ord_db_t *c);
void ord_db_reset_error(ord_db_t *c);

/* How many statements this connection holds prepared now. */
unsigned int ord_db_statement_count(const ord_db_t *c);

#endif /* ORD_DB_H */
