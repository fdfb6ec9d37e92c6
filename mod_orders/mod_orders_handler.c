/*
 * mod_orders handler (SetHandler orders): the collection's routes.
 *
 * Each route parses what the client sent (ord_json, ord_query), asks the
 * engine for an outcome (orders_engine_create, _cancel, _populate) or reads
 * the store on the request's connection, and maps the outcome to an HTTP
 * answer.  How answers are sent, bodies read and database failures
 * answered is mod_orders_http.c's.
 */
#include "httpd.h"
#include "apr_strings.h"
#include "http_config.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_filter.h"

#include "mod_orders.h"
#include "ord_events.h"
#include "ord_json.h"
#include "ord_query.h"
#include "ord_route.h"

APLOG_USE_MODULE(orders);

static const orders_dir_conf_t *dir_conf(request_rec *r)
{
    return ap_get_module_config(r->per_dir_config, &orders_module);
}

static const char *bound_user(request_rec *r)
{
    return orders_bound_user(r);
}

/* Whether the request may see an order of `owner` (its user_id): anyone
 * when orders are not bound, else its owner only. */
static int visible(request_rec *r, const char *owner)
{
    const char *user = bound_user(r);

    return !user || strcmp(owner, user) == 0;
}

static int send_unknown_order(request_rec *r)
{
    return orders_send_error(r, HTTP_NOT_FOUND, "no order has that order_id");
}

static int handle_create(request_rec *r, const char *mount)
{
    orders_server_conf_t conf = orders_server_settings(r->server);
    const char *user = bound_user(r);
    ord_parse_limits_t limits;
    const char *body = NULL, *why = NULL;
    ord_order_t *order, *existing;
    ord_db_t *conn;
    apr_size_t len = 0;
    apr_time_t now;
    int answer = OK, created = 0;
    apr_status_t rv;

    if (user && !*user) {
        return orders_send_error(r, HTTP_FORBIDDEN, "orders here belong to "
                                 "a signed-in user, and there is none");
    }
    if (orders_receive_json_body(r, &body, &len, &answer) != APR_SUCCESS) {
        return answer;
    }
    limits.max_items = conf.max_items;
    limits.user_id_optional = user != NULL;
    if (ord_json_parse_order(r->pool, body, len, &limits, &order, &why)
        != APR_SUCCESS) {
        return orders_send_error(r, HTTP_BAD_REQUEST, why);
    }
    if (user && !order->user_id.text) {
        /* The login name becomes the order's user_id: it must be one. */
        if (!ord_user_id_text_valid(user, strlen(user))) {
            return orders_send_error(r, HTTP_FORBIDDEN, "your user name "
                                     "cannot be an order's user_id (1-64 "
                                     "printable characters)");
        }
        order->user_id.text = user;
    }
    else if (user && strcmp(order->user_id.text, user) != 0) {
        return orders_send_error(r, HTTP_FORBIDDEN, "user_id must be your own "
                                 "user name here (or left out)");
    }
    if (!order->order_id.text) {
        order->order_id.text = ord_order_new_id(r->pool);
        order->order_id.is_int = 0;
    }
    orders_request_note_order(r, order->order_id.text, order->user_id.text);
    now = apr_time_now();
    order->created_at = now;
    order->updated_at = now;

    rv = orders_engine_create(order, &created);
    if (rv != APR_SUCCESS) {
        return orders_send_write_failure(r, "ORD00050", rv);
    }
    if (created) {
        apr_table_setn(r->headers_out, "Location",
                       ord_route_order_path(r->pool, mount,
                                            order->order_id.text));
        return orders_send_json(r, HTTP_ACCEPTED,
                                ord_json_order(r->pool, order));
    }
    conn = orders_request_conn(r);
    if (!conn || ord_store_get(conn, r->pool, order->order_id.text, &existing)
                 != APR_SUCCESS) {
        return orders_send_db_failure(r, "ORD00053", conn);
    }
    if (ord_order_same_content(order, existing)) {
        return orders_send_json(r, HTTP_OK, ord_json_order(r->pool, existing));
    }
    return orders_send_error(r, HTTP_CONFLICT,
                             apr_psprintf(r->pool, "order_id %s exists with "
                                          "other content",
                                          order->order_id.text));
}

/* The order the request names, if it may see it: APR_SUCCESS with *conn
 * and *order set, or an answer already sent (404 or 503), whose handler
 * return value is *answer. */
static apr_status_t fetch_order(request_rec *r, const char *order_id,
                                ord_db_t **conn, ord_order_t **order,
                                int *answer)
{
    ord_db_t *c;
    ord_order_t *o = NULL;
    apr_status_t rv;

    /* No order can have an id that could not be placed (bytes that are not
     * UTF-8 among them, which PostgreSQL refuses to compare): 404 without
     * asking the database, rather than its failure as a 503. */
    if (!ord_order_id_text_valid(order_id, strlen(order_id))) {
        *answer = send_unknown_order(r);
        return APR_NOTFOUND;
    }
    c = orders_request_conn(r);
    if (!c) {
        *answer = orders_send_db_failure(r, "ORD00054", NULL);
        return APR_EGENERAL;
    }
    rv = ord_store_get(c, r->pool, order_id, &o);
    if (rv == APR_NOTFOUND
        || (rv == APR_SUCCESS && !visible(r, o->user_id.text))) {
        *answer = send_unknown_order(r);
        return APR_NOTFOUND;
    }
    if (rv != APR_SUCCESS) {
        *answer = orders_send_db_failure(r, "ORD00054", c);
        return rv;
    }
    orders_request_note_order(r, NULL, o->user_id.text);
    *conn = c;
    *order = o;
    return APR_SUCCESS;
}

/* The order, or 304 when the client has it already (If-None-Match).  With
 * Prefer: wait=N as well, a client that has the current order waits up to N
 * seconds for it to change: woken by this child's commits, and looking at
 * the database at least once a second for other children's and servers'. */
/* The answer kept for a finished order: the same as read from the
 * database, without asking it. */
static int send_finished(request_rec *r, const char *inm,
                         const ord_cache_answer_t *kept)
{
    if (!visible(r, kept->user_id)) {
        return send_unknown_order(r);
    }
    orders_request_note_order(r, NULL, kept->user_id);
    apr_table_setn(r->headers_out, "ETag", kept->etag);
    if (ord_etag_matches(inm, kept->etag)) {
        return orders_send_not_modified(r);
    }
    return orders_send_json(r, HTTP_OK, kept->json);
}

static int handle_get(request_rec *r, const char *order_id)
{
    const char *inm = apr_table_get(r->headers_in, "If-None-Match"), *etag;
    const char *json;
    int wait = inm ? ord_prefer_wait(apr_table_get(r->headers_in, "Prefer"))
                   : 0;
    ord_cache_answer_t kept;
    ord_db_t *conn;
    ord_order_t *order;
    apr_time_t until = 0;
    int answer = OK, waiting = 0;

    /* A finished order never changes: a read of one this child has read
     * before is answered from memory (a wait for its change would last
     * its N seconds either way, and goes the long way). */
    if (!wait && orders_cache_find(r->pool, order_id, &kept)) {
        return send_finished(r, inm, &kept);
    }
    if (fetch_order(r, order_id, &conn, &order, &answer) != APR_SUCCESS) {
        return answer;
    }
    etag = ord_order_etag(r->pool, order);
    if (wait && ord_etag_matches(inm, etag) && orders_engine_wait_begin()) {
        waiting = 1;
        until = apr_time_now() + apr_time_from_sec(wait);
        apr_table_setn(r->headers_out, "Preference-Applied",
                       apr_psprintf(r->pool, "wait=%d", wait));
    }
    while (waiting && ord_etag_matches(inm, etag) && apr_time_now() < until) {
        orders_engine_wait_until(until);
        if (ord_store_get(conn, r->pool, order_id, &order) != APR_SUCCESS) {
            orders_engine_wait_end();
            return orders_send_db_failure(r, "ORD00058", conn);
        }
        etag = ord_order_etag(r->pool, order);
    }
    if (waiting) {
        orders_engine_wait_end();
    }
    json = ord_status_final(order->status) ? ord_json_order(r->pool, order)
                                           : NULL;
    if (json) {
        orders_cache_keep(order, etag, json);
    }
    apr_table_setn(r->headers_out, "ETag", etag);
    if (ord_etag_matches(inm, etag)) {
        return orders_send_not_modified(r);
    }
    return orders_send_json(r, HTTP_OK,
                            json ? json : ord_json_order(r->pool, order));
}

static int handle_list(request_rec *r, const char *mount)
{
    const char *user = bound_user(r), *why = NULL, *next = NULL;
    apr_array_header_t *orders;
    ord_list_query_t query;
    ord_db_t *conn;
    apr_int64_t last = 0;

    if (ord_query_parse_list(r->pool, r->args, &query, &why) != APR_SUCCESS) {
        return orders_send_error(r, HTTP_BAD_REQUEST, why);
    }
    if (user) {
        /* A bound user lists their own orders only. */
        if (query.user_id && strcmp(query.user_id, user) != 0) {
            return orders_send_json(r, HTTP_OK, ord_json_order_list(
                                                    r->pool, apr_array_make(
                                                        r->pool, 0,
                                                        sizeof(void *)),
                                                    NULL));
        }
        query.user_id = user;
    }
    conn = orders_request_conn(r);
    if (!conn || ord_store_list(conn, r->pool, &query, &orders, &last)
                 != APR_SUCCESS) {
        return orders_send_db_failure(r, "ORD00051", conn);
    }
    if (last) {
        next = ord_query_next_link(r->pool, mount, &query, last);
    }
    return orders_send_json(r, HTTP_OK,
                            ord_json_order_list(r->pool, orders, next));
}

static int handle_cancel(request_rec *r, const char *order_id)
{
    ord_db_t *conn;
    ord_order_t *order;
    int answer = OK;
    apr_status_t rv;

    if (fetch_order(r, order_id, &conn, &order, &answer) != APR_SUCCESS) {
        return answer;
    }
    if (order->status == ORD_PENDING) {
        rv = orders_engine_cancel(order_id);
        if (rv != APR_SUCCESS && rv != APR_NOTFOUND) {
            return orders_send_write_failure(r, "ORD00056", rv);
        }
        /* Cancelled now, or claimed a moment ago: read what it is. */
        if (ord_store_get(conn, r->pool, order_id, &order) != APR_SUCCESS) {
            return orders_send_db_failure(r, "ORD00055", conn);
        }
    }
    if (order->status == ORD_CANCELLED) {
        return orders_send_json(r, HTTP_OK, ord_json_order(r->pool, order));
    }
    return orders_send_error(r, HTTP_CONFLICT,
                             apr_psprintf(r->pool, "order %s is %s and can "
                                          "no longer be cancelled", order_id,
                                          ord_status_name(order->status)));
}

static int handle_populate(request_rec *r)
{
    apr_array_header_t *errors = apr_array_make(r->pool, 1, sizeof(char *));
    const char *body = NULL, *why = NULL, *batch_id;
    ord_populate_t req;
    apr_size_t len = 0;
    int answer = OK, stored = 0;
    apr_status_t rv;

    if (dir_conf(r)->populate != 1) {
        return orders_send_error(r, HTTP_NOT_FOUND, "no such resource under "
                                 "the orders collection");
    }
    if (orders_receive_json_body(r, &body, &len, &answer) != APR_SUCCESS) {
        return answer;
    }
    if (ord_json_parse_populate(r->pool, body, len, &req, &why)
        != APR_SUCCESS) {
        return orders_send_error(r, HTTP_BAD_REQUEST, why);
    }
    batch_id = req.batch_id ? req.batch_id
                            : apr_pstrndup(r->pool, ord_order_new_id(r->pool),
                                           ORD_BATCH_ID_MAX_CHARS);
    rv = orders_engine_populate(r->pool, batch_id, req.total_entries, &stored,
                                errors);
    if (rv == APR_EEXIST) {
        return orders_send_error(r, HTTP_CONFLICT,
                                 apr_psprintf(r->pool, "batch_id %s was used "
                                              "before", batch_id));
    }
    if (rv != APR_SUCCESS) {
        return orders_send_write_failure(r, "ORD00057", rv);
    }
    return orders_send_json(r, HTTP_CREATED,
                            ord_json_populate_result(r->pool, batch_id,
                                                     req.total_entries,
                                                     stored,
                                                     req.total_entries
                                                     - stored, errors));
}

/* POST {mount}/events/{id}/redeliver, where OrdersWebhookAdmin On. */
static int handle_redeliver(request_rec *r, const char *event_id)
{
    apr_int64_t seq = 0;
    apr_status_t rv;

    if (dir_conf(r)->webhook_admin != 1) {
        return orders_send_error(r, HTTP_NOT_FOUND, "no such resource under "
                                 "the orders collection");
    }
    if (strncmp(event_id, "evt_", 4) != 0
        || !ord_query_number(event_id + 4, 1, APR_INT64_C(999999999999999999),
                             &seq)) {
        return orders_send_error(r, HTTP_NOT_FOUND, "no event has that id");
    }
    rv = orders_engine_redeliver(seq);
    if (rv == APR_NOTFOUND) {
        return orders_send_error(r, HTTP_NOT_FOUND, "no event with a webhook "
                                 "delivery has that id");
    }
    if (rv != APR_SUCCESS) {
        return orders_send_write_failure(r, "ORD00059", rv);
    }
    /* The event's own spelling of its id (evt_007 names evt_7). */
    return orders_send_json(r, HTTP_ACCEPTED,
                            apr_psprintf(r->pool, "{\"id\":\"%s\",\"delivery\":"
                                         "\"pending\"}",
                                         ord_events_id(r->pool, seq)));
}

/* The answer to the request the route names. */
static int answer_route(request_rec *r, const char *mount,
                        const ord_route_t *route)
{
    switch (route->action) {
    case ORD_ROUTE_CREATE:
        return handle_create(r, mount);
    case ORD_ROUTE_GET:
        return handle_get(r, route->order_id);
    case ORD_ROUTE_LIST:
        return handle_list(r, mount);
    case ORD_ROUTE_CANCEL:
        return handle_cancel(r, route->order_id);
    case ORD_ROUTE_EVENTS:
        return orders_handle_events(r, mount);
    case ORD_ROUTE_REDELIVER:
        return handle_redeliver(r, route->event_id);
    case ORD_ROUTE_POPULATE:
        return handle_populate(r);
    case ORD_ROUTE_METHOD_NOT_ALLOWED:
        orders_discard_body(r);
        apr_table_setn(r->headers_out, "Allow", route->allow);
        return orders_send_error(r, HTTP_METHOD_NOT_ALLOWED,
                                 apr_pstrcat(r->pool, r->method, " is not "
                                             "allowed here; use ",
                                             route->allow, NULL));
    case ORD_ROUTE_NOT_FOUND:
    default:
        return orders_send_error(r, HTTP_NOT_FOUND,
                                 "no such resource under the orders "
                                 "collection");
    }
}

int orders_handler(request_rec *r)
{
    const char *mount;
    ord_route_t route;
    int answer;

    if (!r->handler || strcmp(r->handler, ORDERS_HANDLER) != 0) {
        return DECLINED;
    }
    orders_request_id(r);
    mount = orders_mount_of(r);
    ord_route_match(r->pool, r->method, r->uri, mount, &route);
    orders_request_note_order(r, route.order_id, NULL);
    answer = orders_dbd_configured() ? answer_route(r, mount, &route)
                                     : orders_send_no_database(r);
    return orders_request_end(r, route.action, 0, answer);
}
