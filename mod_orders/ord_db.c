/*
 * ord_db: a connection's statements, reads, writes and failures.  See
 * ord_db.h for the contract.
 */
#include <string.h>

#include <apr_atomic.h>
#include <apr_strings.h>

#include "ord_db.h"

/* Where a connection's statement cache is kept in its `prepared` hash,
 * beside mod_dbd's own DBDPrepareSQL labels (which never start so). */
#define CACHE_KEY "\001mod_orders statements"

typedef struct {
    apr_hash_t *statements;
    apr_pool_t *pool;
} cache_t;

/* Statement names, unique in the process: one prepared again on a session
 * that still has the old one (a missing statement among others) never
 * collides with it. */
static volatile apr_uint32_t labels;

/* ---- apr_dbd itself ---------------------------------------------- */

static int apr_prepare(ord_db_t *c, apr_pool_t *p, const char *sql,
                       const char *label, apr_dbd_prepared_t **stmt)
{
    return apr_dbd_prepare(c->driver, p, c->handle, sql, label, stmt);
}

static int apr_pquery(ord_db_t *c, apr_pool_t *p, int *nrows,
                      apr_dbd_prepared_t *stmt, int nargs, const char **args)
{
    return apr_dbd_pquery(c->driver, p, c->handle, nrows, stmt, nargs, args);
}

/* Random access (seek 1): the whole result arrives at once and a failure
 * is the call's own.  In sequential mode the pgsql driver turns an error
 * into "no more rows" after sleeping 0.1 s. */
static int apr_pselect(ord_db_t *c, apr_pool_t *p, apr_dbd_results_t **res,
                       apr_dbd_prepared_t *stmt, int nargs, const char **args)
{
    return apr_dbd_pselect(c->driver, p, c->handle, res, stmt, 1, nargs,
                           args);
}

/* The next row: what the sqlite3 and pgsql drivers take -1 for (sqlite3
 * walks its list from the start for a row given by number). */
static int apr_get_row(ord_db_t *c, apr_pool_t *p, apr_dbd_results_t *res,
                       apr_dbd_row_t **row, int n)
{
    (void)n;
    return apr_dbd_get_row(c->driver, p, res, row, -1);
}

static const char *apr_get_entry(ord_db_t *c, apr_dbd_row_t *row, int col)
{
    return apr_dbd_get_entry(c->driver, row, col);
}

static int apr_query(ord_db_t *c, int *nrows, const char *sql)
{
    return apr_dbd_query(c->driver, c->handle, nrows, sql);
}

static int apr_select(ord_db_t *c, apr_pool_t *p, apr_dbd_results_t **res,
                      const char *sql)
{
    return apr_dbd_select(c->driver, p, c->handle, res, sql, 1);
}

static const char *apr_error(ord_db_t *c, int code)
{
    return apr_dbd_error(c->driver, c->handle, code);
}

static apr_status_t apr_check(ord_db_t *c, apr_pool_t *p)
{
    return apr_dbd_check_conn(c->driver, p, c->handle);
}

const ord_db_ops_t ord_db_apr_ops = {
    apr_prepare, apr_pquery, apr_pselect, apr_get_row, apr_get_entry,
    apr_query, apr_select, apr_error, apr_check
};

/* ---- the statement cache ----------------------------------------- */

static apr_status_t cache_attach(ord_db_t *c)
{
    cache_t *cache = apr_hash_get(c->home, CACHE_KEY, APR_HASH_KEY_STRING);
    apr_status_t rv;

    if (!cache) {
        cache = apr_pcalloc(c->pool, sizeof(*cache));
        rv = apr_pool_create(&cache->pool, c->pool);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        cache->statements = apr_hash_make(cache->pool);
        apr_hash_set(c->home, CACHE_KEY, APR_HASH_KEY_STRING, cache);
    }
    c->statements = cache->statements;
    c->statement_pool = cache->pool;
    return APR_SUCCESS;
}

/* Every statement goes, with its memory (for SQLite, the sqlite3_stmt);
 * the next use prepares each again on the session the connection has
 * then. */
static void forget_statements(ord_db_t *c)
{
    cache_t *cache = apr_hash_get(c->home, CACHE_KEY, APR_HASH_KEY_STRING);

    if (!cache) {
        return;
    }
    apr_pool_clear(cache->pool);
    cache->statements = apr_hash_make(cache->pool);
    c->statements = cache->statements;
}

apr_status_t ord_db_init(ord_db_t *c, const apr_dbd_driver_t *driver,
                         apr_dbd_t *handle, apr_hash_t *prepared,
                         apr_pool_t *conn_pool)
{
    const ord_sql_dialect_t *dialect = ord_sql_for(apr_dbd_name(driver));

    memset(c, 0, sizeof(*c));
    if (!dialect) {
        return APR_ENOTIMPL;
    }
    c->ops = &ord_db_apr_ops;
    c->dialect = dialect;
    c->driver = driver;
    c->handle = handle;
    c->home = prepared;
    c->pool = conn_pool;
    return cache_attach(c);
}

unsigned int ord_db_statement_count(const ord_db_t *c)
{
    return apr_hash_count(c->statements);
}

/* ---- failures ---------------------------------------------------- */

/* Records a failure (the first one only), and forgets the statements when
 * the session they were prepared on is gone. */
static ord_db_fault_e failed(ord_db_t *c, int code)
{
    const char *msg = c->ops->error(c, code);
    ord_db_fault_e fault = c->cut ? ORD_DB_CUT
                                  : c->dialect->classify(code, msg);

    if (c->error_code == 0) {
        apr_size_t n;

        c->error_code = code ? code : -1;
        c->fault = fault;
        apr_cpystrn(c->error, msg && *msg ? msg : "no detail from the driver",
                    sizeof(c->error));
        /* libpq ends its messages with a newline: one log line each. */
        for (n = strlen(c->error); n > 0 && (c->error[n - 1] == '\n'
                                             || c->error[n - 1] == ' ');) {
            c->error[--n] = '\0';
        }
    }
    c->cut = 0;
    if (fault == ORD_DB_STALE || fault == ORD_DB_LOST || fault == ORD_DB_CUT) {
        forget_statements(c);
    }
    return fault;
}

ord_db_fault_e ord_db_fault(const ord_db_t *c)
{
    return c->error_code ? c->fault : 0;
}

const char *ord_db_error(const ord_db_t *c)
{
    return c->error_code ? c->error : "no detail from the driver";
}

void ord_db_reset_error(ord_db_t *c)
{
    c->error_code = 0;
    c->fault = 0;
    c->error[0] = '\0';
}

/* Whether a statement that failed with `fault` runs once more: never in a
 * transaction (the server aborted it) nor twice; a missing statement never
 * ran; a read (or BEGIN) on a lost session runs again on a new one. */
static int run_again(ord_db_t *c, apr_pool_t *p, ord_db_fault_e fault,
                     int is_read, int attempt)
{
    if (attempt > 0 || c->in_transaction) {
        return 0;
    }
    if (fault == ORD_DB_STALE) {
        return 1;
    }
    if (fault == ORD_DB_LOST && is_read) {
        return c->ops->check(c, p) == APR_SUCCESS;
    }
    return 0;
}

/* A failure that a second attempt made good is not the caller's. */
static void recovered(ord_db_t *c, int had_error)
{
    if (!had_error) {
        ord_db_reset_error(c);
    }
}

/* ---- statements -------------------------------------------------- */

/* The statement for `sql`, prepared on this connection the first time it is
 * asked for and kept in the connection's cache, keyed by its text. */
static int statement(ord_db_t *c, const char *sql, apr_dbd_prepared_t **stmt)
{
    apr_dbd_prepared_t *found = apr_hash_get(c->statements, sql,
                                             APR_HASH_KEY_STRING);
    const char *label;
    int code;

    if (found) {
        *stmt = found;
        return 0;
    }
    label = apr_psprintf(c->statement_pool, "ord_%u",
                         apr_atomic_inc32(&labels));
    code = c->ops->prepare(c, c->statement_pool, sql, label, &found);
    if (code != 0) {
        return code;
    }
    apr_hash_set(c->statements, apr_pstrdup(c->statement_pool, sql),
                 APR_HASH_KEY_STRING, found);
    *stmt = found;
    return 0;
}

apr_status_t ord_db_exec(ord_db_t *c, apr_pool_t *p, const char *sql,
                         const char **args, int nargs, int *nrows)
{
    int had_error = c->error_code != 0, attempt, code = 0;

    for (attempt = 0;; attempt++) {
        apr_dbd_prepared_t *stmt = NULL;

        code = statement(c, sql, &stmt);
        if (code == 0) {
            *nrows = 0;
            code = c->ops->pquery(c, p, nrows, stmt, nargs, args);
        }
        if (code == 0) {
            break;
        }
        if (!run_again(c, p, failed(c, code), 0, attempt)) {
            return APR_EGENERAL;
        }
    }
    if (attempt > 0) {
        recovered(c, had_error);
    }
    return APR_SUCCESS;
}

/* Reads every row of `res` into `out` (copied into p); 0 or the failure. */
static int read_rows(ord_db_t *c, apr_pool_t *p, apr_dbd_results_t *res,
                     int ncols, apr_array_header_t *out)
{
    apr_dbd_row_t *row = NULL;
    int got, i, n = 0;

    while ((got = c->ops->get_row(c, p, res, &row, ++n)) == 0) {
        const char **cols = apr_palloc(p, ncols * sizeof(*cols));
        for (i = 0; i < ncols; i++) {
            const char *v = c->ops->get_entry(c, row, i);
            cols[i] = v ? apr_pstrdup(p, v) : NULL;
        }
        APR_ARRAY_PUSH(out, const char **) = cols;
    }
    /* -1 is the end of the rows; anything else a failure. */
    return got == -1 ? 0 : got;
}

apr_status_t ord_db_select(ord_db_t *c, apr_pool_t *p, const char *sql,
                           const char **args, int nargs, int ncols,
                           apr_array_header_t **rows)
{
    int had_error = c->error_code != 0, attempt, code = 0;
    int is_read = strncmp(sql, "SELECT", 6) == 0;
    apr_array_header_t *out = NULL;

    for (attempt = 0;; attempt++) {
        apr_dbd_prepared_t *stmt = NULL;
        apr_dbd_results_t *res = NULL;

        out = apr_array_make(p, 4, sizeof(const char **));
        code = statement(c, sql, &stmt);
        if (code == 0) {
            code = c->ops->pselect(c, p, &res, stmt, nargs, args);
        }
        if (code == 0) {
            code = read_rows(c, p, res, ncols, out);
        }
        if (code == 0) {
            break;
        }
        if (!run_again(c, p, failed(c, code), is_read, attempt)) {
            return APR_EGENERAL;
        }
    }
    if (attempt > 0) {
        recovered(c, had_error);
    }
    *rows = out;
    return APR_SUCCESS;
}

apr_status_t ord_db_run(ord_db_t *c, const char *sql)
{
    int nrows = 0, code = c->ops->query(c, &nrows, sql);

    if (code != 0) {
        failed(c, code);
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}

apr_status_t ord_db_value(ord_db_t *c, apr_pool_t *p, const char *sql,
                          const char **value)
{
    apr_array_header_t *out = apr_array_make(p, 1, sizeof(const char **));
    apr_dbd_results_t *res = NULL;
    int code = c->ops->select(c, p, &res, sql);

    if (code == 0) {
        code = read_rows(c, p, res, 1, out);
    }
    if (code != 0) {
        failed(c, code);
        return APR_EGENERAL;
    }
    *value = out->nelts
             ? APR_ARRAY_IDX(out, out->nelts - 1, const char **)[0] : NULL;
    return APR_SUCCESS;
}

/* ---- transactions ------------------------------------------------ */

apr_status_t ord_db_begin(ord_db_t *c)
{
    int had_error = c->error_code != 0, attempt, nrows = 0, code;

    for (attempt = 0;; attempt++) {
        code = c->ops->query(c, &nrows, c->dialect->begin);
        if (code == 0) {
            break;
        }
        /* A session the server ended while the connection was idle: BEGIN
         * on a new one has lost nothing. */
        if (!run_again(c, c->pool, failed(c, code), 1, attempt)) {
            return APR_EGENERAL;
        }
    }
    if (attempt > 0) {
        recovered(c, had_error);
    }
    c->in_transaction = 1;
    return APR_SUCCESS;
}

apr_status_t ord_db_begin_writes(ord_db_t *c, apr_pool_t *p)
{
    apr_status_t rv;

    /* A session that ended while idle fails this first: BEGIN then finds
     * that out again and begins on a new session, whose transaction has
     * the session's default isolation, which costs only waits. */
    if (c->dialect->writes_isolation
        && ord_db_run(c, c->dialect->writes_isolation) != APR_SUCCESS) {
        ord_db_reset_error(c);
    }
    rv = ord_db_begin(c);

    c->serialize_due = rv == APR_SUCCESS && c->dialect->serialize_writes;
    return rv;
}

/* Only the events need the order: the rest of a batch (its inserts,
 * claims, completions, deliveries' leases) runs beside the other writers'
 * batches, and one that writes no event waits for none.  On MariaDB the
 * two children's writers waited 7 ms a batch for each other's whole batch. */
apr_status_t ord_db_before_events(ord_db_t *c, apr_pool_t *p)
{
    const char *ignored = NULL;

    if (!c->serialize_due) {
        return APR_SUCCESS;
    }
    c->serialize_due = 0;
    return ord_db_value(c, p, c->dialect->serialize_writes, &ignored);
}

apr_status_t ord_db_commit(ord_db_t *c)
{
    apr_status_t rv = ord_db_run(c, "COMMIT");

    c->in_transaction = 0;
    c->serialize_due = 0;
    return rv;
}

apr_status_t ord_db_rollback(ord_db_t *c)
{
    apr_status_t rv = ord_db_run(c, "ROLLBACK");

    c->in_transaction = 0;
    c->serialize_due = 0;
    return rv;
}
