/*
 * ord_store_text: what the parts of ord_store share: the columns of an
 * order, the INSERTs of orders and events, integers as the text apr_dbd
 * passes, and the batch's calls (ord_store_batch.c).  Private to
 * ord_store*.c.
 */
#ifndef ORD_STORE_TEXT_H
#define ORD_STORE_TEXT_H

#include <apr_strings.h>

#include "ord_store.h"

#define ORDER_COLUMNS \
    "order_id, order_id_int, user_id, user_id_int, item_ids, "            \
    "amount_cents, amount_scale, status, created_us, updated_us, "         \
    "started_us, completed_us"

#define INSERT_HEAD \
    "INSERT INTO orders (order_id, order_id_int, user_id, user_id_int, " \
    "item_ids, amount_cents, amount_scale, status, created_us, updated_us, " \
    "lease_until_us) VALUES "
#define INSERT_ROW "(%s, %d, %s, %d, %s, %lld, %d, 'Pending', %lld, %lld, %lld)"
#define INSERT_ARGS 10

/* The event of a transition, in its transaction (the outbox): what the row
 * says right after the change.  The order's fixed fields stay in orders. */
#define EVENT_HEAD(delivery) \
    "INSERT INTO order_events (type, order_id, status, updated_us, "      \
    "started_us, completed_us, created_us, delivery, next_attempt_us) "    \
    "SELECT %s, order_id, status, updated_us, started_us, completed_us, "  \
    "updated_us, " delivery ", updated_us FROM orders "

/* `col` as no index holds it (ord_store_batch_jobs.c, the due
 * deliveries).  Where a statement must reach its rows by another index (an
 * order_id, say), a condition on a column that an index
 * of low selectivity covers can make PostgreSQL's planner read that index
 * whole instead, into a hash or a BitmapAnd: the status indexes for the
 * batch's UPDATEs, the partial index of pending events for the due
 * deliveries' NOT EXISTS (seconds a statement with a backlog of 50,000).
 * A function of the column is no indexed expression, and proves no
 * partial index's predicate. */
#define UNINDEXED(col) "COALESCE(" col ", '')"

/* Multi-row statements hold a power of two rows up to this, the last rows
 * repeating the first (see ord_store_rows.c): few texts to prepare. */
#define ORD_STORE_ROWS_MAX 64

/* The statement's row count for `left` rows: the power of two that holds
 * them, ORD_STORE_ROWS_MAX at most. */
int ord_store_rows_for(int left);

/* `head`, `row` `n` times with ", " between, `tail`. */
const char *ord_store_repeated(apr_pool_t *p, const char *head,
                               const char *row, int n, const char *tail);

/* Runs `sql`, an INSERT into order_events, in the writer's transaction:
 * first what the dialect needs for events to commit in sequence order
 * (ord_db_before_events). */
apr_status_t ord_store_write_events(ord_db_t *c, apr_pool_t *p,
                                    const char *sql, const char **args,
                                    int nargs);

/* A multi-row UPDATE ... FROM (VALUES ...) ... RETURNING (ord_store_rows.c):
 * `head` up to "(VALUES ", one `row` of `cols` placeholders per row,
 * `tail` up to "... IN (", where each row's key (its first argument,
 * placeholder `key`) is given again as a list the key's index answers,
 * then `returning`, whose first column is the key.  `before` are the
 * arguments of `head`, `between` those of `tail`. */
typedef struct {
    const char *head, *row, *tail, *key, *returning;
    int cols, returned_cols;
    const char *const *before;
    int nbefore;
    const char *const *between;
    int nbetween;
} ord_store_rows_sql_t;

/* A row's arguments, its key first. */
typedef void ord_store_row_args_fn(apr_pool_t *p, const void *row,
                                   const char **args);
/* A row that RETURNING named (once each), with the columns it gave. */
typedef apr_status_t ord_store_row_returned_fn(void *baton, void *row,
                                               const char *const *cols);

/* The same for a dialect without UPDATE ... RETURNING (MariaDB), on the
 * rows of `table` whose `key` (placeholder `key_ph`) is a row's first
 * argument.  Those that meet `where` are read with the dialect's row_lock
 * (FOR UPDATE), which keeps anyone else from changing them: the key, then
 * `columns` (`ncolumns` in all).  They are ours where the column
 * `token_col` read is the row's argument `token_arg` (all of them where
 * token_arg is -1).  Then one UPDATE of ours under the same `where` sets
 * `also` (assignments common to every row) and each of `set` to the row's
 * argument `arg` (placeholder `ph`).  `where_args` are the arguments of
 * `where`, `also_args` those of `also`.  `returned` is called for each row
 * of ours with the columns read. */
typedef struct {
    const char *column, *ph;
    int arg;
} ord_store_set_t;

typedef struct {
    const char *table, *key, *key_ph, *columns;
    int ncolumns;
    const char *where, *also;
    int token_col, token_arg, cols;
    const ord_store_set_t *set;
    int nset;
    const char *const *where_args;
    int nwhere;
    const char *const *also_args;
    int nalso;
} ord_store_locked_sql_t;

/* Runs the `n` rows of `size` bytes at `rows` as many statements as the
 * row bounds take: `returning` where the dialect has UPDATE ... RETURNING,
 * else `locked` (APR_ENOTIMPL where it is NULL).  `returned` is called for
 * each row the database changed; the others are the caller's to read. */
apr_status_t ord_store_update_rows(ord_db_t *c, apr_pool_t *p,
                                   const ord_store_rows_sql_t *returning,
                                   const ord_store_locked_sql_t *locked,
                                   void *rows, apr_size_t size, int n,
                                   ord_store_row_args_fn *row_args,
                                   ord_store_row_returned_fn *returned,
                                   void *baton);

/* The INSERT_ARGS arguments of one row of INSERT_ROW. */
void ord_store_insert_args(apr_pool_t *p, const ord_order_t *o,
                           apr_time_t lease_until, const char **args);

/* After a claim or a completion that changed no row: APR_SUCCESS, with the
 * row's columns (status, claim_token, created_us, started_us,
 * completed_us), when the row is in `status` under `token` (an earlier
 * attempt of this claim committed), APR_NOTFOUND when another claim has
 * it or it is finished or cancelled. */
apr_status_t ord_store_row_says_ours(ord_db_t *c, apr_pool_t *p,
                                     const char *order_id, const char *status,
                                     const char *token, const char ***cols);

/* Within a batch (ord_store_batch_begin): whether INSERTs of new orders
 * wait for the flush (where the dialect has RETURNING for them; claims
 * from Pending and completions always do, ord_store_batch_jobs.c). */
int ord_store_batch_defers_rows(const ord_db_t *c);
/* Gathers the INSERT of `o` for the flush, which sets *created. */
void ord_store_batch_insert(ord_db_t *c, apr_pool_t *p, const ord_order_t *o,
                            apr_time_t lease_until, int *created);
/* Gathers the event `type` of `order_id` for the flush: APR_ENOTIMPL for
 * a type it does not gather (the caller writes it at once), or the failure
 * of writing the events gathered so far, which it does first when the
 * order has one among them already. */
apr_status_t ord_store_batch_event(ord_db_t *c, apr_pool_t *p,
                                   const char *type, const char *order_id);
/* Before a statement that changes the row of `order_id`: writes the
 * events gathered so far if one of them is that order's, so that each
 * event says what the row said right after its own transition. */
apr_status_t ord_store_batch_settle(ord_db_t *c, apr_pool_t *p,
                                    const char *order_id);

static inline const char *int64_text(apr_pool_t *p, apr_int64_t v)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT, v);
}

static inline apr_int64_t text_int64(const char *s)
{
    return s ? apr_atoi64(s) : 0;
}

#endif /* ORD_STORE_TEXT_H */
