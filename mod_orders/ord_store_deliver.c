/*
 * ord_store_deliver: the webhook deliveries' state in order_events.  See
 * ord_store.h.
 *
 * Every step is a conditional UPDATE whose row count decides: an event is
 * taken only when nobody's lease on it is running, and an outcome counts
 * only while the lease that took it holds, so that with several servers
 * each event is sent by one at a time.
 */
#include <apr_strings.h>

#include "ord_store.h"
#include "ord_store_text.h"

static const char sql_take[] =
    "UPDATE order_events SET lease_holder = %s, lease_until_us = %lld "
    "WHERE seq = %lld AND delivery = 'pending' AND attempts = %d "
    "AND (lease_until_us IS NULL OR lease_until_us < %lld)";

static const char sql_done[] =
    "UPDATE order_events SET delivery = %s, attempts = attempts + 1, "
    "last_status = %d, next_attempt_us = %lld, lease_holder = NULL, "
    "lease_until_us = NULL WHERE seq = %lld AND lease_holder = %s";

apr_status_t ord_store_delivery_take(ord_db_t *c, apr_pool_t *p,
                                     apr_int64_t seq, int attempts,
                                     const char *holder, apr_time_t now,
                                     apr_time_t lease_until, int *taken)
{
    const char *args[] = { holder, int64_text(p, lease_until),
                           int64_text(p, seq), apr_itoa(p, attempts),
                           int64_text(p, now) };
    int nrows = 0;
    apr_status_t rv = ord_db_exec(c, p, sql_take, args, 5, &nrows);

    if (rv == APR_SUCCESS) {
        *taken = nrows == 1;
    }
    return rv;
}

apr_status_t ord_store_delivery_done(ord_db_t *c, apr_pool_t *p,
                                     apr_int64_t seq, const char *holder,
                                     const char *state, int status,
                                     apr_time_t next_attempt, int *changed)
{
    const char *args[] = { state, apr_itoa(p, status),
                           int64_text(p, next_attempt), int64_text(p, seq),
                           holder };
    int nrows = 0;
    apr_status_t rv = ord_db_exec(c, p, sql_done, args, 5, &nrows);

    if (rv == APR_SUCCESS) {
        *changed = nrows == 1;
    }
    return rv;
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
