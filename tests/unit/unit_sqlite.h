/*
 * The SQLite fixture of the unit tests: a fresh database file in a
 * temporary directory of its own (mkdtemp under /tmp), opened through
 * apr_dbd's sqlite3 driver as an ord_db_t, with or without the schema, and
 * removed with every file SQLite left beside it (journal, WAL) afterwards.
 * No mocks: the store, the writer and the driver layer run real SQL.
 *
 * A test's fixture starts with a unit_sqlite_t, so that unit_sqlite_setup
 * and unit_sqlite_teardown serve as its cmocka setup and teardown and the
 * test finds the connection at ((unit_sqlite_t *)*state)->conn.
 *
 * Include after <cmocka.h> and unit_support.h.  Everything is static
 * inline, as in unit_support.h.
 */
#ifndef UNIT_SQLITE_H
#define UNIT_SQLITE_H

#include <stdlib.h>

#include <apr_dbd.h>
#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_hash.h>
#include <apr_strings.h>

#include "ord_db.h"
#include "ord_store.h"

typedef struct {
    apr_pool_t *pool;       /* the test's; the connection lives here */
    char dir[64];
    const char *path;       /* dir/orders.db */
    apr_hash_t *prepared;   /* the statement cache's home (mod_dbd's) */
    ord_db_t conn;
    int open;
} unit_sqlite_t;

/* Opens a new database into `db`; 0, or -1 after saying why. */
static inline int unit_sqlite_open(unit_sqlite_t *db, int with_schema)
{
    apr_status_t rv;

    memset(db, 0, sizeof(*db));
    if (apr_pool_create(&db->pool, NULL) != APR_SUCCESS) {
        return -1;
    }
    apr_dbd_init(db->pool);
    strcpy(db->dir, "/tmp/ord_unit_sqlite.XXXXXX");
    if (!mkdtemp(db->dir)) {
        print_error("mkdtemp(%s) failed\n", db->dir);
        return -1;
    }
    db->path = apr_pstrcat(db->pool, db->dir, "/orders.db", NULL);
    rv = apr_dbd_get_driver(db->pool, "sqlite3", &db->conn.driver);
    if (rv != APR_SUCCESS) {
        print_error("apr_dbd_get_driver(sqlite3): %d\n", rv);
        return -1;
    }
    rv = apr_dbd_open(db->conn.driver, db->pool, db->path, &db->conn.handle);
    if (rv != APR_SUCCESS) {
        print_error("apr_dbd_open(%s): %d\n", db->path, rv);
        return -1;
    }
    db->open = 1;
    db->prepared = apr_hash_make(db->pool);
    if (ord_db_init(&db->conn, db->conn.driver, db->conn.handle,
                    db->prepared, db->pool) != APR_SUCCESS) {
        print_error("ord_db_init failed\n");
        return -1;
    }
    if (with_schema
        && ord_store_ensure_schema(&db->conn, db->pool) != APR_SUCCESS) {
        print_error("ord_store_ensure_schema failed: %s\n",
                    ord_db_error(&db->conn));
        return -1;
    }
    return 0;
}

/* Closes the connection, removes the directory with its files, and frees
 * the pool.  Safe on a half-opened `db`. */
static inline void unit_sqlite_close(unit_sqlite_t *db)
{
    apr_dir_t *dir;
    apr_finfo_t fi;

    if (!db->pool) {
        return;
    }
    if (db->open) {
        apr_dbd_close(db->conn.driver, db->conn.handle);
        db->open = 0;
    }
    if (db->dir[0] && !strstr(db->dir, "XXXXXX")
        && apr_dir_open(&dir, db->dir, db->pool) == APR_SUCCESS) {
        while (apr_dir_read(&fi, APR_FINFO_NAME | APR_FINFO_TYPE, dir)
               == APR_SUCCESS) {
            if (fi.filetype == APR_REG) {
                apr_file_remove(apr_pstrcat(db->pool, db->dir, "/", fi.name,
                                            NULL), db->pool);
            }
        }
        apr_dir_close(dir);
        apr_dir_remove(db->dir, db->pool);
    }
    apr_pool_destroy(db->pool);
    db->pool = NULL;
}

/* cmocka setup of a fixture of `size` bytes that starts with a
 * unit_sqlite_t, the rest zeroed. */
static inline int unit_sqlite_setup(void **state, size_t size,
                                    int with_schema)
{
    unit_sqlite_t *db = calloc(1, size);

    if (!db) {
        return -1;
    }
    if (unit_sqlite_open(db, with_schema) != 0) {
        unit_sqlite_close(db);
        free(db);
        return -1;
    }
    *state = db;
    return 0;
}

static inline int unit_sqlite_teardown(void **state)
{
    unit_sqlite_close(*state);
    free(*state);
    return 0;
}

/* The first column of the first row of `sql`, read straight from the file
 * with apr_dbd (not through ord_db), in `p`.  NULL for SQL NULL, for no
 * row, and for a failure, which is printed: it never fails the test
 * itself, so another thread may call it. */
static inline const char *unit_sqlite_value(const unit_sqlite_t *db,
                                            apr_pool_t *p, const char *sql)
{
    apr_dbd_results_t *res = NULL;
    apr_dbd_row_t *row = NULL;
    const char *value = NULL;
    int rows = 0;

    if (apr_dbd_select(db->conn.driver, p, db->conn.handle, &res, sql, 0)
        != 0) {
        print_error("query failed: %s: %s\n", sql,
                    apr_dbd_error(db->conn.driver, db->conn.handle, -1));
        return NULL;
    }
    while (apr_dbd_get_row(db->conn.driver, p, res, &row, -1) == 0) {
        const char *v = apr_dbd_get_entry(db->conn.driver, row, 0);

        if (rows++ == 0 && v) {
            value = apr_pstrdup(p, v);
        }
    }
    return value;
}

/* The rows of the orders table; -1 when they cannot be counted. */
static inline int unit_sqlite_orders(const unit_sqlite_t *db, apr_pool_t *p)
{
    const char *v = unit_sqlite_value(db, p, "SELECT COUNT(*) FROM orders");

    return v ? atoi(v) : -1;
}

#endif /* UNIT_SQLITE_H */
