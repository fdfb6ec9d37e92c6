/*
 * mod_orders request identity: the Request-Id of every answer of the
 * module, the request notes for LogFormat (%{orders-order-id}n,
 * %{orders-user-id}n, %{orders-outcome}n), and the count of the answers by
 * outcome in /metrics.  A handler asks for the request id before anything
 * else and ends with orders_request_end once its answer is made.
 */
#include "httpd.h"
#include "apr_strings.h"
#include "http_core.h"

#include "mod_orders.h"

#define NOTE_REQUEST_ID "orders-request-id"
#define NOTE_ORDER_ID   "orders-order-id"
#define NOTE_USER_ID    "orders-user-id"
#define NOTE_OUTCOME    "orders-outcome"

const char *orders_request_id(request_rec *r)
{
    const char *id = apr_table_get(r->notes, NOTE_REQUEST_ID);
    unsigned char bytes[ORD_REQUEST_ID_BYTES];

    if (id) {
        return id;
    }
    /* mod_unique_id's, where it is loaded, so that every log agrees. */
    id = apr_table_get(r->subprocess_env, "UNIQUE_ID");
    if (!id) {
        const char *given = apr_table_get(r->headers_in, "X-Request-ID");
        id = ord_request_id_valid(given) ? given : NULL;
    }
    if (!id) {
        /* An id tells requests apart; it guards nothing, so httpd's
         * insecure generator (which cannot fail) is enough. */
        ap_random_insecure_bytes(bytes, sizeof(bytes));
        id = ord_request_id_make(r->pool, bytes);
    }
    apr_table_setn(r->notes, NOTE_REQUEST_ID, id);
    /* err_headers_out: kept on error answers and internal redirects. */
    apr_table_setn(r->err_headers_out, "Request-Id", id);
    /* The error_log's %L, for our lines about this request.  With
     * mod_unique_id the log id is its UNIQUE_ID already. */
    if (!r->log_id) {
        r->log_id = id;
    }
    return id;
}

void orders_request_note_order(request_rec *r, const char *order_id,
                               const char *user_id)
{
    if (order_id) {
        apr_table_set(r->notes, NOTE_ORDER_ID, order_id);
    }
    if (user_id) {
        apr_table_set(r->notes, NOTE_USER_ID, user_id);
    }
}

int orders_request_end(request_rec *r, ord_route_action_e action,
                       int metrics, int answer)
{
    ord_outcome_e outcome = ord_outcome_of(action, metrics, r->status);

    apr_table_setn(r->notes, NOTE_OUTCOME, ord_outcome_name(outcome));
    if (orders_metrics) {
        ord_metrics_answered(orders_metrics, outcome);
    }
    return answer;
}
