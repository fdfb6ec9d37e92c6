/*
 * ord_store_rows: multi-row statements, as the batch (ord_store_batch*.c)
 * and the deliveries (ord_store_deliver.c) run them: UPDATE ... RETURNING,
 * or, where the dialect has none, the rows read with a lock first and one
 * UPDATE of those it found.
 *
 * A statement holds a power of two rows up to ORD_STORE_ROWS_MAX, the last
 * rows repeating the first (an INSERT skips a key it has just written, an
 * UPDATE meets the same row with the same values, IN () ignores a repeated
 * key), so that each kind has a handful of statement texts to prepare.
 */
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>

#include "ord_store.h"
#include "ord_store_text.h"

int ord_store_rows_for(int left)
{
    int rows = 1;

    while (rows < left && rows < ORD_STORE_ROWS_MAX) {
        rows *= 2;
    }
    return rows;
}

const char *ord_store_repeated(apr_pool_t *p, const char *head,
                               const char *row, int n, const char *tail)
{
    apr_size_t hl = strlen(head), rl = strlen(row), tl = strlen(tail);
    char *sql = apr_palloc(p, hl + (rl + 2) * (apr_size_t)n + tl + 1), *at;
    int i;

    memcpy(sql, head, hl);
    at = sql + hl;
    for (i = 0; i < n; i++) {
        if (i > 0) {
            memcpy(at, ", ", 2);
            at += 2;
        }
        memcpy(at, row, rl);
        at += rl;
    }
    memcpy(at, tail, tl + 1);
    return sql;
}


/* UPDATE ... RETURNING: the rows the database changed come back. */
static apr_status_t update_returning(ord_db_t *c, apr_pool_t *p,
                                     const ord_store_rows_sql_t *sql,
                                     void *rows, apr_size_t size, int n,
                                     ord_store_row_args_fn *row_args,
                                     ord_store_row_returned_fn *returned,
                                     void *baton)
{
    char *at = rows;
    char *named = apr_pcalloc(p, (apr_size_t)n + 1);
    int done, take, i, k;

    for (done = 0; done < n; done += take) {
        int width = sql->cols, count, nargs;
        const char **args;
        apr_array_header_t *answer;
        apr_hash_t *index = apr_hash_make(p);
        apr_status_t rv;

        take = n - done < ORD_STORE_ROWS_MAX ? n - done : ORD_STORE_ROWS_MAX;
        count = ord_store_rows_for(take);
        /* Before the rows, the rows, between, then their keys again. */
        nargs = sql->nbefore + count * width + sql->nbetween + count;
        args = apr_palloc(p, (apr_size_t)nargs * sizeof(*args));
        for (k = 0; k < sql->nbefore; k++) {
            args[k] = sql->before[k];
        }
        for (i = 0; i < count; i++) {
            int row = done + (i < take ? i : 0);
            const char **mine = args + sql->nbefore + i * width;

            row_args(p, at + size * (apr_size_t)row, mine);
            args[nargs - count + i] = mine[0];
            if (i < take) {
                apr_hash_set(index, mine[0], APR_HASH_KEY_STRING,
                             (void *)(apr_uintptr_t)(row + 1));
            }
        }
        for (k = 0; k < sql->nbetween; k++) {
            args[sql->nbefore + count * width + k] = sql->between[k];
        }
        rv = ord_db_select(
            c, p,
            apr_pstrcat(p, ord_store_repeated(p, sql->head, sql->row, count,
                                              sql->tail),
                        ord_store_repeated(p, "", sql->key, count,
                                           sql->returning), NULL),
            args, nargs, sql->returned_cols, &answer);
        for (i = 0; rv == APR_SUCCESS && i < answer->nelts; i++) {
            const char *const *cols = APR_ARRAY_IDX(answer, i, const char **);
            void *v = cols[0] ? apr_hash_get(index, cols[0],
                                             APR_HASH_KEY_STRING) : NULL;
            int row = v ? (int)(apr_uintptr_t)v - 1 : -1;

            if (row >= 0 && !named[row]) {
                named[row] = 1;
                rv = returned(baton, at + size * (apr_size_t)row, cols);
            }
        }
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

/* The rows of one statement of update_locked, their arguments
 * and which of them are the caller's to change. */
typedef struct {
    const ord_store_locked_sql_t *sql;
    const char ***args;         /* each row's row_args */
    const char ***cols;         /* the locked row of each, NULL if not ours */
    int take;
} locked_t;

/* `args` appended at `to`; the position after them. */
static int put_args(const char **to, int at, const char *const *args, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        to[at++] = args[i];
    }
    return at;
}

/* " WHERE <where> AND <key> IN (<count placeholders>)" */
static const char *where_keys(apr_pool_t *p, const ord_store_locked_sql_t *sql,
                              int count)
{
    return apr_pstrcat(p, " WHERE ", sql->where, " AND ",
                       ord_store_repeated(p, apr_pstrcat(p, sql->key, " IN (",
                                                         NULL),
                                          sql->key_ph, count, ")"), NULL);
}

/* SELECT ... FOR UPDATE of the rows' keys under `where`: those found
 * (with the token where the statement names one) are ours. */
static apr_status_t lock_rows(ord_db_t *c, apr_pool_t *p, locked_t *l,
                              int *ours)
{
    const ord_store_locked_sql_t *sql = l->sql;
    int count = ord_store_rows_for(l->take), i, n;
    const char **args = apr_palloc(p, (apr_size_t)(sql->nwhere + count)
                                          * sizeof(*args));
    apr_hash_t *index = apr_hash_make(p);
    apr_array_header_t *answer;
    apr_status_t rv;

    n = put_args(args, 0, sql->where_args, sql->nwhere);
    for (i = 0; i < count; i++) {
        args[n++] = l->args[i < l->take ? i : 0][0];
        if (i < l->take) {
            apr_hash_set(index, l->args[i][0], APR_HASH_KEY_STRING,
                         (void *)(apr_uintptr_t)(i + 1));
        }
    }
    rv = ord_db_select(c, p,
                       apr_pstrcat(p, "SELECT ", sql->key, sql->columns,
                                   " FROM ", sql->table,
                                   where_keys(p, sql, count),
                                   c->dialect->row_lock, NULL),
                       args, n, sql->ncolumns, &answer);
    *ours = 0;
    for (i = 0; rv == APR_SUCCESS && i < answer->nelts; i++) {
        const char **cols = APR_ARRAY_IDX(answer, i, const char **);
        void *v = cols[0] ? apr_hash_get(index, cols[0], APR_HASH_KEY_STRING)
                          : NULL;
        int row = v ? (int)(apr_uintptr_t)v - 1 : -1;
        int tok = sql->token_arg;

        if (row >= 0 && !l->cols[row]
            && (tok < 0 || (cols[sql->token_col]
                            && strcmp(cols[sql->token_col],
                                      l->args[row][tok]) == 0))) {
            l->cols[row] = cols;
            (*ours)++;
        }
    }
    return rv;
}

/* `piece` `n` times, nothing between (the arms of a CASE). */
static const char *times(apr_pool_t *p, const char *piece, int n)
{
    apr_size_t len = strlen(piece);
    char *text = apr_palloc(p, len * (apr_size_t)n + 1), *at = text;
    int i;

    for (i = 0; i < n; i++) {
        memcpy(at, piece, len);
        at += len;
    }
    *at = '\0';
    return text;
}

/* One UPDATE of the rows lock_rows found ours: `also`, then each column
 * of `set` as a CASE over the key. */
static apr_status_t update_ours(ord_db_t *c, apr_pool_t *p, locked_t *l,
                                int ours)
{
    const ord_store_locked_sql_t *sql = l->sql;
    int count = ord_store_rows_for(ours), n = 0, i, k, nargs, changed = 0;
    const char ***mine = apr_palloc(p, (apr_size_t)count * sizeof(*mine));
    const char **args, *text;
    apr_status_t rv;

    for (i = 0; i < l->take; i++) {
        if (l->cols[i]) {
            mine[n++] = l->args[i];
        }
    }
    for (i = n; i < count; i++) {
        mine[i] = mine[0];
    }
    nargs = sql->nalso + count * 2 * sql->nset + sql->nwhere + count;
    args = apr_palloc(p, (apr_size_t)nargs * sizeof(*args));
    text = apr_pstrcat(p, "UPDATE ", sql->table, " SET ", sql->also, NULL);
    n = put_args(args, 0, sql->also_args, sql->nalso);
    for (k = 0; k < sql->nset; k++) {
        const ord_store_set_t *set = &sql->set[k];
        const char *when = apr_pstrcat(p, " WHEN ", sql->key_ph, " THEN ",
                                       set->ph, NULL);

        text = apr_pstrcat(p, text, ", ", set->column, " = CASE ", sql->key,
                           times(p, when, count), " END", NULL);
        for (i = 0; i < count; i++) {
            args[n++] = mine[i][0];
            args[n++] = mine[i][set->arg];
        }
    }
    n = put_args(args, n, sql->where_args, sql->nwhere);
    for (i = 0; i < count; i++) {
        args[n++] = mine[i][0];
    }
    rv = ord_db_exec(c, p, apr_pstrcat(p, text, where_keys(p, sql, count),
                                       NULL), args, nargs, &changed);
    /* The rows are locked since lock_rows read them: each one changes. */
    if (rv == APR_SUCCESS && changed != ours) {
        rv = APR_EGENERAL;
    }
    return rv;
}

/* Rows a statement of update_locked holds at most (orders' claims and
 * completions, events' takes and outcomes).  Each pooled
 * connection the writer is handed keeps every statement text it prepared
 * (ord_db.c), and on MariaDB a statement of 64 rows (576 arguments) kept
 * the child's memory growing past test_leaks.py's bound over 100,000
 * requests (+4.1 to +5.0 MiB against +2.7 one by one); with 16 at most
 * the texts are fewer and smaller. */
#define LOCKED_ROWS_MAX 16

/* Without RETURNING: the rows read with a lock, then one UPDATE of those
 * found. */
static apr_status_t update_locked(ord_db_t *c, apr_pool_t *p,
                                  const ord_store_locked_sql_t *sql,
                                  void *rows, apr_size_t size, int n,
                                  ord_store_row_args_fn *row_args,
                                  ord_store_row_returned_fn *returned,
                                  void *baton)
{
    char *at = rows;
    int done, i;

    for (done = 0; done < n; done += LOCKED_ROWS_MAX) {
        locked_t l;
        int ours = 0;
        apr_status_t rv;

        l.sql = sql;
        l.take = n - done < LOCKED_ROWS_MAX ? n - done : LOCKED_ROWS_MAX;
        l.args = apr_palloc(p, (apr_size_t)l.take * sizeof(*l.args));
        l.cols = apr_pcalloc(p, (apr_size_t)l.take * sizeof(*l.cols));
        for (i = 0; i < l.take; i++) {
            l.args[i] = apr_palloc(p, (apr_size_t)sql->cols * sizeof(char *));
            row_args(p, at + size * (apr_size_t)(done + i), l.args[i]);
        }
        rv = lock_rows(c, p, &l, &ours);
        if (rv == APR_SUCCESS && ours > 0) {
            rv = update_ours(c, p, &l, ours);
        }
        for (i = 0; rv == APR_SUCCESS && i < l.take; i++) {
            if (l.cols[i]) {
                rv = returned(baton, at + size * (apr_size_t)(done + i),
                              l.cols[i]);
            }
        }
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

apr_status_t ord_store_update_rows(ord_db_t *c, apr_pool_t *p,
                                   const ord_store_rows_sql_t *returning,
                                   const ord_store_locked_sql_t *locked,
                                   void *rows, apr_size_t size, int n,
                                   ord_store_row_args_fn *row_args,
                                   ord_store_row_returned_fn *returned,
                                   void *baton)
{
    if (c->dialect->update_returning) {
        return update_returning(c, p, returning, rows, size, n, row_args,
                                returned, baton);
    }
    if (!locked) {
        return APR_ENOTIMPL;
    }
    return update_locked(c, p, locked, rows, size, n, row_args, returned,
                         baton);
}
