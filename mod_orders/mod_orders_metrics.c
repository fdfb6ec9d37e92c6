/*
 * mod_orders metrics handler (SetHandler orders-metrics): the shared
 * counter table as JSON or in the Prometheus text format, and mod_orders'
 * section of mod_status.  Plain requests read shared memory only, so their
 * cost does not depend on how many orders are stored; ?scope=cluster and
 * ?order_ids=true ask the database too.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "util_script.h"
#include "mod_status.h"

#include "mod_orders.h"
#include "ord_prometheus.h"

/* Most ids listed per status with ?order_ids=true; one more is asked for,
 * to know whether the list was cut. */
#define ORDER_IDS_MAX 1000

typedef struct {
    int cluster;        /* scope=cluster */
    int order_ids;      /* order_ids=true */
    int prometheus;     /* format=prometheus, or Accept prefers it */
} metrics_query_t;

/* Reads the query and the Accept header; NULL, or the message of a 400.
 * Parameters other than these are ignored. */
static const char *parse_query(request_rec *r, metrics_query_t *q)
{
    apr_table_t *args = NULL;
    const char *scope, *ids, *format;

    q->cluster = 0;
    q->order_ids = 0;
    q->prometheus = 0;
    ap_args_to_table(r, &args);
    scope = apr_table_get(args, "scope");
    if (scope && strcmp(scope, "cluster") == 0) {
        q->cluster = 1;
    }
    else if (scope && strcmp(scope, "server") != 0) {
        return "scope must be \"server\" (the default) or \"cluster\"";
    }
    ids = apr_table_get(args, "order_ids");
    if (ids && strcmp(ids, "true") == 0) {
        q->order_ids = 1;
    }
    else if (ids && strcmp(ids, "false") != 0) {
        return "order_ids must be \"true\" or \"false\" (the default)";
    }
    format = apr_table_get(args, "format");
    if (format && strcmp(format, "prometheus") == 0) {
        q->prometheus = 1;
    }
    else if (format && strcmp(format, "json") != 0) {
        return "format must be \"json\" or \"prometheus\"";
    }
    else if (!format) {
        q->prometheus = ord_prometheus_wanted(
            apr_table_get(r->headers_in, "Accept"));
    }
    return NULL;
}

/* The first ORDER_IDS_MAX + 1 ids of each status, oldest first. */
static apr_status_t read_order_ids(request_rec *r, ord_db_t *conn,
                                   apr_array_header_t **ids)
{
    int st;

    for (st = 0; st < ORD_STATUS_COUNT; st++) {
        apr_status_t rv = ord_store_order_ids(conn, r->pool, (ord_status_e)st,
                                              ORDER_IDS_MAX + 1, &ids[st]);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

/* GET /metrics: the figures of the query's scope and format. */
static int answer_metrics(request_rec *r)
{
    ord_metrics_snapshot_t snap;
    metrics_query_t query;
    apr_array_header_t *ids[ORD_STATUS_COUNT] = { NULL };
    const char *bad;

    if (r->method_number != M_GET) {
        apr_table_setn(r->headers_out, "Allow", "GET, HEAD");
        return orders_send_error(r, HTTP_METHOD_NOT_ALLOWED,
                                 "the metrics are read with GET");
    }
    /* The answer depends on Accept unless ?format says which. */
    apr_table_mergen(r->headers_out, "Vary", "Accept");
    if (!orders_metrics) {
        return orders_send_error(r, HTTP_SERVICE_UNAVAILABLE,
                                 "the metrics are not set up");
    }
    bad = parse_query(r, &query);
    if (bad) {
        return orders_send_error(r, HTTP_BAD_REQUEST, bad);
    }
    ord_metrics_read(orders_metrics, ord_metrics_pid_alive, apr_time_now(),
                     &snap);
    /* The text format has no place for ids: order_ids only adds to JSON. */
    if (query.cluster || (query.order_ids && !query.prometheus)) {
        ord_db_t conn;
        ap_dbd_t *dbd = orders_dbd_acquire(r);
        if (!dbd || orders_store_conn(dbd, &conn) != APR_SUCCESS) {
            return orders_send_db_failure(r, "ORD00060", NULL);
        }
        if (query.cluster) {
            ord_store_totals_t totals;
            if (ord_store_totals(&conn, r->pool, &totals) != APR_SUCCESS) {
                return orders_send_db_failure(r, "ORD00060", &conn);
            }
            ord_metrics_use_totals(&snap, &totals);
        }
        if (query.order_ids && !query.prometheus
            && read_order_ids(r, &conn, ids) != APR_SUCCESS) {
            return orders_send_db_failure(r, "ORD00061", &conn);
        }
    }
    if (query.prometheus) {
        r->status = HTTP_OK;
        ap_set_content_type(r, ORD_PROMETHEUS_CONTENT_TYPE);
        apr_table_setn(r->headers_out, "Cache-Control", "no-store");
        ap_rputs(ord_prometheus_text(r->pool, &snap), r);
        return OK;
    }
    if (query.order_ids) {
        return orders_send_json(r, HTTP_OK,
                                ord_metrics_json_with_ids(r->pool, &snap, ids,
                                                          ORDER_IDS_MAX));
    }
    return orders_send_json(r, HTTP_OK, ord_metrics_json(r->pool, &snap));
}

int orders_metrics_handler(request_rec *r)
{
    if (!r->handler || strcmp(r->handler, ORDERS_METRICS_HANDLER) != 0) {
        return DECLINED;
    }
    orders_request_id(r);
    return orders_request_end(r, ORD_ROUTE_NOT_FOUND, 1,
                              orders_dbd_configured()
                              ? answer_metrics(r)
                              : orders_send_no_database(r));
}

/* mod_status: the figures of /metrics (this server's, from shared memory;
 * never the database, so that /server-status stays cheap).  Only numbers
 * are printed: nothing needs escaping. */
static int orders_status_hook(request_rec *r, int flags)
{
    ord_metrics_snapshot_t s;
    apr_uint64_t total = 0;
    int st;

    if (!orders_metrics) {
        return OK;
    }
    ord_metrics_read(orders_metrics, ord_metrics_pid_alive, apr_time_now(),
                     &s);
    for (st = 0; st < ORD_STATUS_COUNT; st++) {
        total += s.count[st];
    }
    if (flags & AP_STATUS_SHORT) {
        ap_rprintf(r, "OrdersTotal: %" APR_UINT64_T_FMT "\n", total);
        for (st = 0; st < ORD_STATUS_COUNT; st++) {
            ap_rprintf(r, "Orders%s: %" APR_UINT64_T_FMT "\n",
                       ord_status_name((ord_status_e)st), s.count[st]);
        }
        ap_rprintf(r, "OrdersQueueDepth: %" APR_UINT64_T_FMT "\n"
                   "OrdersWorkersBusy: %" APR_UINT64_T_FMT "\n",
                   s.queue_depth, s.workers_busy);
        return OK;
    }
    ap_rputs("<hr />\n<h2>mod_orders</h2>\n", r);
    if (flags & AP_STATUS_NOTABLE) {
        ap_rprintf(r, "<dl>\n<dt>orders</dt><dd>%" APR_UINT64_T_FMT
                   "</dd>\n", total);
        for (st = 0; st < ORD_STATUS_COUNT; st++) {
            ap_rprintf(r, "<dt>%s</dt><dd>%" APR_UINT64_T_FMT "</dd>\n",
                       ord_status_name((ord_status_e)st), s.count[st]);
        }
        ap_rprintf(r, "<dt>queue depth</dt><dd>%" APR_UINT64_T_FMT "</dd>\n"
                   "<dt>workers busy</dt><dd>%" APR_UINT64_T_FMT "</dd>\n"
                   "</dl>\n", s.queue_depth, s.workers_busy);
        return OK;
    }
    ap_rputs("<table border=\"0\">\n<tr><th>orders</th>", r);
    for (st = 0; st < ORD_STATUS_COUNT; st++) {
        ap_rprintf(r, "<th>%s</th>", ord_status_name((ord_status_e)st));
    }
    ap_rputs("<th>queue depth</th><th>workers busy</th></tr>\n<tr>", r);
    ap_rprintf(r, "<td>%" APR_UINT64_T_FMT "</td>", total);
    for (st = 0; st < ORD_STATUS_COUNT; st++) {
        ap_rprintf(r, "<td>%" APR_UINT64_T_FMT "</td>", s.count[st]);
    }
    ap_rprintf(r, "<td>%" APR_UINT64_T_FMT "</td><td>%" APR_UINT64_T_FMT
               "</td></tr>\n</table>\n", s.queue_depth, s.workers_busy);
    return OK;
}

void orders_metrics_register_hooks(void)
{
    /* Optional: without mod_status loaded this registers nothing. */
    APR_OPTIONAL_HOOK(ap, status_hook, orders_status_hook, NULL, NULL,
                      APR_HOOK_MIDDLE);
}
