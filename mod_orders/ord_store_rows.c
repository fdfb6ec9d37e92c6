/*
 * ord_store_rows: multi-row statements, as the batch (ord_store_batch*.c)
 * and the deliveries (ord_store_deliver.c) run them.
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


apr_status_t ord_store_update_rows(ord_db_t *c, apr_pool_t *p,
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
