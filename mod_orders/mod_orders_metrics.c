/*
 * mod_orders metrics handler (SetHandler orders-metrics): the shared
 * counter table as JSON.  Plain requests read shared memory only, so their
 * cost does not depend on how many orders are stored; ?scope=cluster asks
 * the database instead, for the figures of every server sharing it.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "util_script.h"

#include "mod_orders.h"

typedef struct {
    int cluster;    /* scope=cluster */
} metrics_query_t;

/* Reads the query; NULL, or the message of a 400. */
static const char *parse_query(request_rec *r, metrics_query_t *q)
{
    apr_table_t *args = NULL;
    const char *scope;

    q->cluster = 0;
    ap_args_to_table(r, &args);
    scope = apr_table_get(args, "scope");
    if (scope && strcmp(scope, "cluster") == 0) {
        q->cluster = 1;
    }
    else if (scope && strcmp(scope, "server") != 0) {
        return "scope must be \"server\" (the default) or \"cluster\"";
    }
    return NULL;
}

int orders_metrics_handler(request_rec *r)
{
    ord_metrics_snapshot_t snap;
    metrics_query_t query;
    const char *bad;

    if (!r->handler || strcmp(r->handler, "orders-metrics") != 0) {
        return DECLINED;
    }
    if (r->method_number != M_GET) {
        apr_table_setn(r->headers_out, "Allow", "GET, HEAD");
        return orders_send_error(r, HTTP_METHOD_NOT_ALLOWED,
                                 "the metrics are read with GET");
    }
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
    if (query.cluster) {
        ord_store_totals_t totals;
        ord_store_conn_t conn;
        ap_dbd_t *dbd = ap_dbd_acquire(r);
        if (!dbd) {
            return orders_send_unavailable(r);
        }
        orders_store_conn(dbd, &conn);
        if (ord_store_totals(&conn, r->pool, &totals) != APR_SUCCESS) {
            ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "ORD00060: cluster "
                          "metrics query failed: %s",
                          orders_store_error(&conn));
            return orders_send_unavailable(r);
        }
        ord_metrics_use_totals(&snap, &totals);
    }
    return orders_send_json(r, HTTP_OK, ord_metrics_json(r->pool, &snap));
}
