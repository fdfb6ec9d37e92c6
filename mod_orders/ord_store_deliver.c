/*
 * ord_store_deliver: the webhook deliveries' state in order_events.  See
 * ord_store.h.
 *
 * Every step is a conditional UPDATE whose changed rows decide: an event
 * is taken only when nobody's lease on it is running, and an outcome counts
 * only while the lease that took it holds, so that with several servers
 * each event is sent by one at a time.
 */
#include <string.h>

#include <apr_strings.h>

#include "ord_store.h"
#include "ord_store_text.h"

/* Many at once, where the dialect has UPDATE ... FROM and RETURNING: one
 * statement for a round's events (ord_store_batch.c's row bounds).  The
 * seqs are given again as a list the primary key answers (as integers:
 * PostgreSQL compares no bigint with text), and the state compared
 * UNINDEXED, so that each event is looked up by its seq. */
static const char sql_take_head[] =
    "UPDATE order_events SET lease_holder = %s, lease_until_us = %lld "
    "FROM (VALUES ";
static const char sql_take_tail[] =
    ") AS v WHERE order_events.seq = CAST(v.column1 AS BIGINT) "
    "AND order_events.attempts = CAST(v.column2 AS INTEGER) AND "
    UNINDEXED("order_events.delivery") " = 'pending' "
    "AND (order_events.lease_until_us IS NULL "
    "OR order_events.lease_until_us < %lld) AND order_events.seq IN (";

static const char sql_done_head[] =
    "UPDATE order_events SET delivery = v.column2, attempts = attempts + 1, "
    "last_status = CAST(v.column3 AS INTEGER), "
    "next_attempt_us = CAST(v.column4 AS BIGINT), lease_holder = NULL, "
    "lease_until_us = NULL FROM (VALUES ";
static const char sql_done_tail[] =
    ") AS v WHERE order_events.seq = CAST(v.column1 AS BIGINT) "
    "AND order_events.lease_holder = %s AND order_events.seq IN (";

/* Without RETURNING (MariaDB), a round's events LOCKED_ROWS at a time:
 * the takes as one UPDATE, each row's attempts as read compared through a
 * CASE, then the rows under this round's lease read back (the lease's end
 * is the round's own); the outcomes as the rows still under the holder's
 * lease read with the dialect's row_lock, then one UPDATE of those.  Four
 * statements for a round of 32 rather than 64, each a round trip of the
 * writer's batch.  Fewer rows a statement keep the texts each pooled
 * connection prepares few (ord_store_rows.c's LOCKED_ROWS_MAX). */
#define LOCKED_ROWS 16

static apr_status_t take_locked(ord_db_t *c, apr_pool_t *p,
                                ord_store_take_t *takes, int n,
                                const char *holder, apr_time_t now,
                                apr_time_t lease_until)
{
    const char *until = int64_text(p, lease_until);
    int done, take;

    for (done = 0; done < n; done += take) {
        ord_store_take_t *t = takes + done;
        int rows, i, k = 0, nrows = 0;
        const char **args, *in;
        apr_array_header_t *back;
        apr_status_t rv;

        take = n - done < LOCKED_ROWS ? n - done : LOCKED_ROWS;
        rows = ord_store_rows_for(take);
        in = ord_store_repeated(p, "seq IN (", "%lld", rows, ")");
        args = apr_palloc(p, (apr_size_t)(3 + 3 * rows) * sizeof(*args));
        args[k++] = holder;
        args[k++] = until;
        args[k++] = int64_text(p, now);
        for (i = 0; i < rows; i++) {
            args[k++] = int64_text(p, t[i < take ? i : 0].seq);
            args[k++] = apr_itoa(p, t[i < take ? i : 0].attempts);
        }
        for (i = 0; i < rows; i++) {
            args[k++] = int64_text(p, t[i < take ? i : 0].seq);
        }
        rv = ord_db_exec(
            c, p,
            apr_pstrcat(p, "UPDATE order_events SET lease_holder = %s, "
                        "lease_until_us = %lld WHERE " UNINDEXED("delivery")
                        " = 'pending' AND (lease_until_us IS NULL OR "
                        "lease_until_us < %lld) AND attempts = CASE seq",
                        ord_store_times(p, " WHEN %lld THEN %d", rows), " END AND ",
                        in, NULL),
            args, k, &nrows);
        if (rv == APR_SUCCESS && nrows > 0) {
            const char **again = apr_palloc(p, (apr_size_t)(2 + rows)
                                                * sizeof(*again));

            again[0] = holder;
            again[1] = until;
            memcpy(again + 2, args + 3 + 2 * rows,
                   (apr_size_t)rows * sizeof(*again));
            rv = ord_db_select(
                c, p,
                apr_pstrcat(p, "SELECT seq FROM order_events WHERE "
                            "lease_holder = %s AND lease_until_us = %lld "
                            "AND ", in, NULL),
                again, 2 + rows, 1, &back);
            for (i = 0; rv == APR_SUCCESS && i < back->nelts; i++) {
                apr_int64_t seq = apr_atoi64(
                    APR_ARRAY_IDX(back, i, const char **)[0]);
                int j;

                for (j = 0; j < take; j++) {
                    t[j].taken |= t[j].seq == seq;
                }
            }
        }
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

static apr_status_t done_locked(ord_db_t *c, apr_pool_t *p,
                                ord_store_outcome_t *outcomes, int n,
                                const char *holder)
{
    int done, take;

    for (done = 0; done < n; done += take) {
        ord_store_outcome_t *o = outcomes + done, *mine[LOCKED_ROWS];
        int rows, i, k = 0, ours = 0, nrows = 0;
        const char **args;
        apr_array_header_t *held;
        apr_status_t rv;

        take = n - done < LOCKED_ROWS ? n - done : LOCKED_ROWS;
        rows = ord_store_rows_for(take);
        args = apr_palloc(p, (apr_size_t)(1 + 7 * rows) * sizeof(*args));
        args[k++] = holder;
        for (i = 0; i < rows; i++) {
            args[k++] = int64_text(p, o[i < take ? i : 0].seq);
        }
        /* Those still under the holder's lease, kept so until the COMMIT:
         * each of them changes. */
        rv = ord_db_select(
            c, p,
            ord_store_repeated(p, "SELECT seq FROM order_events WHERE "
                               "lease_holder = %s AND seq IN (", "%lld", rows,
                               apr_pstrcat(p, ")", c->dialect->row_lock,
                                           NULL)),
            args, k, 1, &held);
        for (i = 0; rv == APR_SUCCESS && i < held->nelts; i++) {
            apr_int64_t seq = apr_atoi64(
                APR_ARRAY_IDX(held, i, const char **)[0]);
            int j;

            for (j = 0; j < take; j++) {
                if (o[j].seq == seq && !o[j].changed) {
                    o[j].changed = 1;
                    mine[ours++] = &o[j];
                }
            }
        }
        if (rv != APR_SUCCESS) {
            return rv;
        }
        if (ours == 0) {
            continue;
        }
        rows = ord_store_rows_for(ours);
        k = 0;
        for (i = 0; i < rows; i++) {
            args[k++] = int64_text(p, mine[i < ours ? i : 0]->seq);
            args[k++] = mine[i < ours ? i : 0]->state;
        }
        for (i = 0; i < rows; i++) {
            args[k++] = int64_text(p, mine[i < ours ? i : 0]->seq);
            args[k++] = apr_itoa(p, mine[i < ours ? i : 0]->status);
        }
        for (i = 0; i < rows; i++) {
            args[k++] = int64_text(p, mine[i < ours ? i : 0]->seq);
            args[k++] = int64_text(p, mine[i < ours ? i : 0]->next_attempt);
        }
        args[k++] = holder;
        for (i = 0; i < rows; i++) {
            args[k++] = int64_text(p, mine[i < ours ? i : 0]->seq);
        }
        rv = ord_db_exec(
            c, p,
            apr_pstrcat(p, "UPDATE order_events SET delivery = CASE seq",
                        ord_store_times(p, " WHEN %lld THEN %s", rows),
                        " END, last_status = CASE seq",
                        ord_store_times(p, " WHEN %lld THEN %d", rows),
                        " END, next_attempt_us = CASE seq",
                        ord_store_times(p, " WHEN %lld THEN %lld", rows),
                        " END, attempts = attempts + 1, lease_holder = NULL, "
                        "lease_until_us = NULL WHERE lease_holder = %s AND ",
                        ord_store_repeated(p, "seq IN (", "%lld", rows, ")"),
                        NULL),
            args, k, &nrows);
        if (rv == APR_SUCCESS && nrows != ours) {
            rv = APR_EGENERAL;
        }
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

static void take_args(apr_pool_t *p, const void *row, const char **args)
{
    const ord_store_take_t *t = row;

    args[0] = int64_text(p, t->seq);
    args[1] = apr_itoa(p, t->attempts);
}

static apr_status_t taken(void *baton, void *row, const char *const *cols)
{
    ((ord_store_take_t *)row)->taken = 1;
    return APR_SUCCESS;
}

apr_status_t ord_store_delivery_take_all(ord_db_t *c, apr_pool_t *p,
                                         ord_store_take_t *takes, int n,
                                         const char *holder, apr_time_t now,
                                         apr_time_t lease_until)
{
    const char *before[2], *between[1];
    ord_store_rows_sql_t sql = { sql_take_head, "(%s, %s)", sql_take_tail,
                                 "%lld", ") RETURNING seq", 2, 1,
                                 before, 2, between, 1 };
    int i;

    for (i = 0; i < n; i++) {
        takes[i].taken = 0;
    }
    if (c->dialect->update_returning) {
        before[0] = holder;
        before[1] = int64_text(p, lease_until);
        between[0] = int64_text(p, now);
        return ord_store_update_rows(c, p, &sql, NULL, takes,
                                     sizeof(*takes), n, take_args, taken,
                                     NULL);
    }
    return take_locked(c, p, takes, n, holder, now, lease_until);
}

static void outcome_args(apr_pool_t *p, const void *row, const char **args)
{
    const ord_store_outcome_t *o = row;

    args[0] = int64_text(p, o->seq);
    args[1] = o->state;
    args[2] = apr_itoa(p, o->status);
    args[3] = int64_text(p, o->next_attempt);
}

static apr_status_t recorded(void *baton, void *row, const char *const *cols)
{
    ((ord_store_outcome_t *)row)->changed = 1;
    return APR_SUCCESS;
}

apr_status_t ord_store_delivery_done_all(ord_db_t *c, apr_pool_t *p,
                                         ord_store_outcome_t *outcomes,
                                         int n, const char *holder)
{
    const char *between[1] = { holder };
    ord_store_rows_sql_t sql = { sql_done_head, "(%s, %s, %s, %s)",
                                 sql_done_tail, "%lld", ") RETURNING seq", 4,
                                 1, NULL, 0, between, 1 };
    int i;

    for (i = 0; i < n; i++) {
        outcomes[i].changed = 0;
    }
    if (c->dialect->update_returning) {
        return ord_store_update_rows(c, p, &sql, NULL, outcomes,
                                     sizeof(*outcomes), n, outcome_args,
                                     recorded, NULL);
    }
    return done_locked(c, p, outcomes, n, holder);
}

static const char sql_redeliver[] =
    "UPDATE order_events SET delivery = 'pending', attempts = 0, "
    "next_attempt_us = %lld, lease_holder = NULL, lease_until_us = NULL "
    "WHERE seq = %lld AND delivery IS NOT NULL";

apr_status_t ord_store_redeliver(ord_db_t *c, apr_pool_t *p, apr_int64_t seq,
                                 apr_time_t now)
{
    const char *args[] = { int64_text(p, now), int64_text(p, seq) };
    int nrows = 0;
    apr_status_t rv = ord_db_exec(c, p, sql_redeliver, args, 2, &nrows);

    return rv == APR_SUCCESS && nrows != 1 ? APR_NOTFOUND : rv;
}
