/*
 * ord_sql: what differs between the SQL databases, one file per apr_dbd
 * driver (ord_sql_sqlite3.c, ord_sql_pgsql.c, ord_sql_mysql.c).  Everything else speaks the
 * SQL all of them share.  A new database is one more file and one more
 * line in ord_sql_for().
 *
 * A dialect is constant data and pure functions: safe from any thread.
 */
#ifndef ORD_SQL_H
#define ORD_SQL_H

#include <apr_pools.h>

/* What a failure of the database means for whoever sees it. */
typedef enum {
    ORD_DB_FAILED = 1,  /* this statement failed; the session is fine */
    ORD_DB_BUSY,        /* another writer holds the database: try later */
    ORD_DB_FULL,        /* the disk (or a quota) is full */
    ORD_DB_STALE,       /* a prepared statement is gone: prepare it again */
    ORD_DB_LOST,        /* the session is gone: reset or replace it */
    ORD_DB_CUT,         /* the session was cut, its statement having run
                         * past OrdersDatabaseTimeout: gone too, and a
                         * statement run again would likely wait as long */
    ORD_DB_CONFLICT     /* the transaction lost to another one at the same
                         * rows (a deadlock, a serialization failure) and
                         * was rolled back: run it again */
} ord_db_fault_e;

typedef struct {
    const char *driver;     /* apr_dbd's name for it */
    const char *schema;     /* the text of sql/<name>.sql */
    /* Opens the writer's transaction: SQLite's BEGIN IMMEDIATE takes the
     * write lock at once rather than midway. */
    const char *begin;
    /* A SELECT the writer's transaction runs right after BEGIN, so that
     * transactions writing events commit in sequence order (NULL: the
     * database needs none). */
    const char *serialize_writes;
    /* Run before the BEGIN of a writer's transaction (NULL: nothing): the
     * isolation it needs, for that transaction alone. */
    const char *writes_isolation;
    /* Whether UPDATE ... RETURNING works (MariaDB has it for INSERT and
     * DELETE only). */
    int update_returning;
    /* The end of an INSERT that skips a row whose `key` exists already,
     * counting it as no row changed ("ON CONFLICT (key) DO NOTHING"). */
    const char *(*skip_duplicate)(apr_pool_t *p, const char *key);
    /* Before the schema, once per database file (NULL: nothing), and the
     * answer it must give. */
    const char *prologue;
    const char *prologue_answer;
    /* The events feed, after a cursor (xid, seq) in the feed's order, of
     * committed transactions only (see sql/): the condition on the cursor
     * (two arguments: xid, seq), what keeps running transactions out (""
     * where one writer commits in sequence order), and the order. */
    const char *feed_after;
    const char *feed_horizon;
    const char *feed_order;
    /* The meaning of a failure, from the driver's code and words (the
     * words may be NULL). */
    ord_db_fault_e (*classify)(int code, const char *message);
    /* Run in the transaction of the read of the due deliveries, before it
     * (NULL: none): how that walk stays a walk (ord_store_read.c). */
    const char *due_prologue;
    /* Before the prologue, where the schema is made: what only a file not
     * written yet takes (NULL: nothing).  A no-op on a file that exists. */
    const char *new_file;
    /* What ends a SELECT that locks the rows it reads until COMMIT (""
     * where one writer at a time holds the whole database). */
    const char *row_lock;
} ord_sql_dialect_t;

extern const ord_sql_dialect_t ord_sql_sqlite3;
extern const ord_sql_dialect_t ord_sql_pgsql;
extern const ord_sql_dialect_t ord_sql_mysql;

/* ON CONFLICT (key) DO NOTHING: SQLite's and PostgreSQL's skip_duplicate. */
const char *ord_sql_on_conflict_skip(apr_pool_t *p, const char *key);

/* The dialect of an apr_dbd driver by its name, NULL for one we do not
 * speak. */
const ord_sql_dialect_t *ord_sql_for(const char *driver_name);

/* A short name of a fault for the log ("connection lost", ...). */
const char *ord_sql_fault_name(ord_db_fault_e fault);

#endif /* ORD_SQL_H */
