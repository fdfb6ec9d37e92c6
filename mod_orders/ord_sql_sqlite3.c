/*
 * ord_sql_sqlite3: SQLite through apr_dbd's sqlite3 driver.  See ord_sql.h.
 *
 * The driver returns sqlite's own result codes and sqlite3_errmsg().
 */
#include <string.h>

#include "ord_schema.h"
#include "ord_sql.h"

/* Primary result codes (sqlite3.h), as the driver passes them on. */
#define SQLITE_ERROR_CODE   1
#define SQLITE_BUSY_CODE    5
#define SQLITE_LOCKED_CODE  6
#define SQLITE_IOERR_CODE   10
#define SQLITE_FULL_CODE    13
#define SQLITE_SCHEMA_CODE  17

static ord_db_fault_e classify(int code, const char *message)
{
    switch (code & 0xff) {
    case SQLITE_BUSY_CODE:
    case SQLITE_LOCKED_CODE:
        return ORD_DB_BUSY;
    case SQLITE_FULL_CODE:
        return ORD_DB_FULL;
    case SQLITE_SCHEMA_CODE:
        /* The driver prepares with the legacy sqlite3_prepare(), whose
         * statements do not prepare themselves again after a schema change
         * by another connection: they fail until prepared anew. */
        return ORD_DB_STALE;
    case SQLITE_ERROR_CODE:
        /* The same, reported by sqlite3_step() as a plain error; and a
         * full disk at COMMIT, which the driver passes on as SQLITE_ERROR
         * with SQLITE_FULL's words. */
        if (message && strstr(message, "schema has changed")) {
            return ORD_DB_STALE;
        }
        if (message && strstr(message, "disk is full")) {
            return ORD_DB_FULL;
        }
        /* SQLITE_BUSY after the driver's own retries, as it reports it. */
        if (message && strstr(message, "database is locked")) {
            return ORD_DB_BUSY;
        }
        return ORD_DB_FAILED;
    case SQLITE_IOERR_CODE:
        /* A write that ran out of space mid-way says so only in words. */
        if (message && (strstr(message, "disk is full")
                        || strstr(message, "No space"))) {
            return ORD_DB_FULL;
        }
        return ORD_DB_FAILED;
    default:
        return ORD_DB_FAILED;
    }
}

const ord_sql_dialect_t ord_sql_sqlite3 = {
    "sqlite3",
    ord_schema_sqlite,
    "BEGIN IMMEDIATE",
    NULL,                   /* one writer at a time already */
    NULL,
    1,
    ord_sql_on_conflict_skip,
    /* WAL is a property of the file, set where the schema is made rather
     * than by each connection (DBDInitSQL): a connection switching a file
     * not yet in WAL mode needs the write lock that another child creating
     * the schema holds. */
    "PRAGMA journal_mode=WAL",
    "wal",
    /* One writer at a time: sequence order is commit order, xid is 0. */
    "e.xid = %lld AND e.seq > %lld",
    "",
    "e.seq",
    classify,
    NULL,
    /* 1 KiB pages rather than 4: every order adds an entry at a random
     * place of the (user_id, seq) and (order_id, seq) indexes, and a commit
     * writes each page it touched into the WAL whole.  Measured under
     * make bench's POST load: 24-28 KiB written per order with 4 KiB
     * pages, 9-12 KiB with 1 KiB. */
    "PRAGMA page_size = 1024",
    "",
};
