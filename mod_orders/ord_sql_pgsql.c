/*
 * ord_sql_pgsql: PostgreSQL through apr_dbd's pgsql driver.  See ord_sql.h.
 *
 * The driver's code is libpq's PQresultStatus() (PGRES_FATAL_ERROR for
 * nearly everything) and its words are PQerrorMessage(): SQLSTATE is not
 * reachable through apr_dbd, so the words decide.  They are libpq's and the
 * server's English messages (lc_messages=C is PostgreSQL's default for
 * a server that was not given another).
 */
#include <string.h>

#include "ord_schema.h"
#include "ord_sql.h"

/* Words of a session that is gone: the server ended it (a restart, a
 * failover, pg_terminate_backend, an idle timeout) or the network did. */
static const char *const lost_words[] = {
    "server closed the connection",
    "terminating connection",
    "no connection to the server",
    "could not receive data from server",
    "could not send data to server",
    "connection to server",
    "SSL SYSCALL error",
    "SSL connection has been closed",
    "the database system is shutting down",
    "the database system is starting up",
    "the database system is in recovery mode",
    /* A standby after a failover: this session is on the wrong node. */
    "read-only transaction",
    NULL
};

static const char *const full_words[] = {
    "No space left on device",
    "could not extend file",
    "could not write to file",
    NULL
};

static int says(const char *message, const char *const *words)
{
    int i;

    for (i = 0; message && words[i]; i++) {
        if (strstr(message, words[i])) {
            return 1;
        }
    }
    return 0;
}

static ord_db_fault_e classify(int code, const char *message)
{
    (void)code;
    if (says(message, lost_words)) {
        return ORD_DB_LOST;
    }
    /* A session opened anew (libpq's PQreset, which the driver's
     * connection check calls) has none of the old session's statements. */
    if (message && strstr(message, "prepared statement")
        && strstr(message, "does not exist")) {
        return ORD_DB_STALE;
    }
    if (says(message, full_words)) {
        return ORD_DB_FULL;
    }
    if (message && (strstr(message, "could not serialize")
                    || strstr(message, "deadlock detected"))) {
        return ORD_DB_CONFLICT;
    }
    if (message && strstr(message, "lock timeout")) {
        return ORD_DB_BUSY;
    }
    return ORD_DB_FAILED;
}

const ord_sql_dialect_t ord_sql_pgsql = {
    "pgsql",
    ord_schema_pgsql,
    /* A statement is planned on its first runs and then keeps a generic
     * plan, costed against the tables as they were: on a new database, a
     * sequential scan of orders for each event's INSERT ... SELECT, 15-23
     * ms a batch at 6,000 orders, until autovacuum's ANALYZE comes.
     * Every lookup of a transaction has its index; one round trip. */
    "BEGIN; SET LOCAL enable_seqscan = off",
    NULL,                   /* the feed keeps to committed xids instead */
    NULL,
    1,
    ord_sql_on_conflict_skip,
    NULL,
    NULL,
    /* Ordered by the writing transaction's id; only transactions older than
     * every one still running: none of those can commit behind a cursor. */
    "(e.xid, e.seq) > (%lld, %lld)",
    " AND e.xid < pg_snapshot_xmin(pg_current_snapshot())::text::bigint",
    "e.xid, e.seq",
    classify,
    /* Bitmap scans read the whole pending index and sort it, when the
     * statistics say the backlog is small; an index scan walks it in
     * order and stops at the limit. */
    "SET LOCAL enable_bitmapscan = off",
    NULL,
    " FOR UPDATE",
};
