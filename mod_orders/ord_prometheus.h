/*
 * ord_prometheus: GET /metrics in the Prometheus text exposition format
 * (version 0.0.4), and the choice between it and JSON from an Accept header.
 *
 * The text is rendered from one ord_metrics_snapshot_t, so it shows exactly
 * the figures the JSON of the same snapshot shows, and the answers by
 * outcome, which the contract's JSON has no place for; every number is written
 * from integers (seconds from integer microseconds), never through a float.
 * Names follow Prometheus' conventions (base unit seconds, counters end in
 * _total) and the output passes `promtool check metrics` without lint
 * problems.
 *
 * Pure and stateless: any thread may call these at any time; the text lives
 * in the pool passed in.
 */
#ifndef ORD_PROMETHEUS_H
#define ORD_PROMETHEUS_H

#include <apr_pools.h>

#include "ord_metrics.h"

/* The Content-Type of ord_prometheus_text(). */
#define ORD_PROMETHEUS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* The exposition of `s`, in `p`:
 *   mod_orders_orders{status="..."}      gauge, one line per status
 *   mod_orders_orders_created_total       counter, every order stored
 *   mod_orders_orders_completed_total     counter, the Completed ones
 *   mod_orders_processing_seconds         histogram of Completed orders
 *                                         (cumulative buckets at
 *                                         ord_processing_bounds_us, _sum in
 *                                         seconds, _count = the +Inf bucket)
 *   mod_orders_completion_seconds_total   counter, seconds from creation to
 *                                         completion over Completed orders
 *   mod_orders_queue_depth, mod_orders_workers_busy,
 *   mod_orders_uptime_seconds             gauges
 *   mod_orders_answers_total{outcome="..."}
 *                                         counter, one line per outcome
 *   mod_orders_webhooks_delivered_total, _failed_total, _retried_total
 *                                         counters of this server's
 *                                         webhook attempts
 *   mod_orders_webhooks_pending,
 *   mod_orders_webhooks_oldest_pending_seconds
 *                                         gauges of the delivery backlog
 * Each family with its # HELP and # TYPE lines; lines end in "\n". */
const char *ord_prometheus_text(apr_pool_t *p,
                                const ord_metrics_snapshot_t *s);

/* 1 when an Accept header value prefers the text format (text/plain or
 * application/openmetrics-text) to application/json, 0 otherwise: no
 * header (NULL), an empty one, equal preference (e.g. * / *) and a header
 * with an unterminated quoted string answer JSON; an element that does not
 * parse (or has a bad q) is skipped.  Each media type's quality comes from
 * the most specific range that matches it (type/subtype, then type/ *, then
 * * / *), as RFC 9110 section 12.5.1 says; q=0 means "not acceptable".
 * Parameters other than q are ignored: one version of each format is
 * served. */
int ord_prometheus_wanted(const char *accept);

/* Seconds as exact decimal text from integer microseconds: 50000 -> "0.05",
 * 2000000 -> "2", 1500001 -> "1.500001".  Used for the histogram's bounds
 * and sum. */
const char *ord_prometheus_seconds(apr_pool_t *p, apr_uint64_t us);

#endif /* ORD_PROMETHEUS_H */
