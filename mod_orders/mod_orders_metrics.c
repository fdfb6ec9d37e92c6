/*
 * mod_orders metrics handler (SetHandler orders-metrics): the shared
 * counter table as JSON.  It reads shared memory only; its cost does not
 * depend on how many orders are stored.
 */
#include "httpd.h"
#include "http_config.h"
#include "http_protocol.h"

#include "mod_orders.h"

int orders_metrics_handler(request_rec *r)
{
    ord_metrics_snapshot_t snap;

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
    ord_metrics_read(orders_metrics, ord_metrics_pid_alive, apr_time_now(),
                     &snap);
    return orders_send_json(r, HTTP_OK, ord_metrics_json(r->pool, &snap));
}
