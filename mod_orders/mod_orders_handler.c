/*
 * mod_orders handler (SetHandler orders): request_rec -> ord_* -> HTTP.
 *
 * The only place that maps outcomes to HTTP statuses.  Every answer,
 * errors included, is JSON: a handler that returned HTTP_xxx would have
 * Apache replace the body with its HTML page, so errors are sent like
 * any other body and OK is returned.
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
#include "ord_json.h"
#include "ord_query.h"
#include "ord_route.h"

APLOG_USE_MODULE(orders);

/* The largest order body accepted; LimitRequestBody can only lower it. */
#define ORDERS_BODY_MAX     (64 * 1024)
#define RETRY_AFTER_SECONDS "5"

int orders_send_json(request_rec *r, int status, const char *body)
{
    r->status = status;
    ap_set_content_type(r, "application/json");
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    ap_rputs(body, r);
    ap_rputs("\n", r);
    return OK;
}

int orders_send_error(request_rec *r, int status, const char *message)
{
    return orders_send_json(r, status, ord_json_error(r->pool, message));
}

int orders_send_db_failure(request_rec *r, const char *tag,
                           const ord_db_t *conn)
{
    orders_db_failed(r->server, r, tag, conn);
    return orders_send_unavailable(r);
}

int orders_send_unavailable(request_rec *r)
{
    apr_table_setn(r->headers_out, "Retry-After", RETRY_AFTER_SECONDS);
    return orders_send_error(r, HTTP_SERVICE_UNAVAILABLE,
                             "the order database is unavailable; retry "
                             "later");
}

/* Whether the request says its body is JSON: application/json, any case,
 * parameters such as charset allowed. */
static int body_is_json(request_rec *r)
{
    const char *ct = apr_table_get(r->headers_in, "Content-Type");
    apr_size_t n = sizeof("application/json") - 1;

    if (!ct) {
        return 0;
    }
    while (*ct == ' ' || *ct == '\t') {
        ct++;
    }
    if (ap_cstr_casecmpn(ct, "application/json", n) != 0) {
        return 0;
    }
    ct += n;
    while (*ct == ' ' || *ct == '\t') {
        ct++;
    }
    return *ct == '\0' || *ct == ';';
}

#define ORDERS_ERROR_FILTER  "ORDERS_JSON_ERRORS"
#define BODY_ERROR_NOTE      "orders-body-error"

static const char *body_error_message(int status)
{
    switch (status) {
    case HTTP_REQUEST_ENTITY_TOO_LARGE:
        return "the order body is larger than this server accepts";
    case HTTP_REQUEST_TIME_OUT:
        return "the order body did not arrive in time";
    default:
        return "the request body could not be read (malformed chunked "
               "encoding or length)";
    }
}

/* httpd's input filters report a bad body (over LimitRequestBody, broken
 * chunks) by sending an error bucket down the output chain, which would
 * become Apache's HTML error page.  This filter, added while the body is
 * read, answers with the JSON error instead and notes it for read_body. */
static apr_status_t json_error_filter(ap_filter_t *f, apr_bucket_brigade *bb)
{
    request_rec *r = f->r;
    apr_bucket *b;

    for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb);
         b = APR_BUCKET_NEXT(b)) {
        if (AP_BUCKET_IS_ERROR(b)) {
            int status = ((ap_bucket_error *)b->data)->status;
            const char *body = apr_pstrcat(
                r->pool, ord_json_error(r->pool, body_error_message(status)),
                "\n", NULL);
            apr_size_t len = strlen(body);

            apr_table_setn(r->notes, BODY_ERROR_NOTE, "1");
            apr_brigade_cleanup(bb);
            r->status = status;
            ap_set_content_type(r, "application/json");
            ap_set_content_length(r, (apr_off_t)len);
            APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_pool_create(
                                            body, len, r->pool,
                                            r->connection->bucket_alloc));
            APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(
                                            r->connection->bucket_alloc));
            ap_remove_output_filter(f);
            return ap_pass_brigade(f->next, bb);
        }
    }
    return ap_pass_brigade(f->next, bb);
}

void orders_register_filters(void)
{
    ap_register_output_filter(ORDERS_ERROR_FILTER, json_error_filter, NULL,
                              AP_FTYPE_RESOURCE);
}

/* Reads the whole body, at most `limit` bytes.  On failure *status is the
 * HTTP status to answer with and *why the reason; AP_FILTER_ERROR means an
 * input filter has answered already. */
static apr_status_t read_body(request_rec *r, apr_off_t limit,
                              const char **body, apr_size_t *len,
                              int *status, const char **why)
{
    apr_bucket_brigade *bb = apr_brigade_create(r->pool,
                                                r->connection->bucket_alloc);
    char *buf = apr_palloc(r->pool, (apr_size_t)limit + 1);
    apr_size_t used = 0;
    apr_status_t rv = APR_SUCCESS;
    ap_filter_t *guard;
    int seen_eos = 0;

    guard = ap_add_output_filter(ORDERS_ERROR_FILTER, NULL, r, r->connection);
    while (!seen_eos) {
        apr_bucket *b;
        rv = ap_get_brigade(r->input_filters, bb, AP_MODE_READBYTES,
                            APR_BLOCK_READ, HUGE_STRING_LEN);
        if (apr_table_get(r->notes, BODY_ERROR_NOTE)) {
            rv = AP_FILTER_ERROR;    /* answered by json_error_filter */
            goto leave;
        }
        if (rv != APR_SUCCESS) {
            *status = ap_map_http_request_error(rv, HTTP_BAD_REQUEST);
            *why = *status == HTTP_REQUEST_ENTITY_TOO_LARGE
                   ? "the order body is larger than this server accepts"
                   : "the request body could not be read";
            goto leave;
        }
        for (b = APR_BRIGADE_FIRST(bb); b != APR_BRIGADE_SENTINEL(bb);
             b = APR_BUCKET_NEXT(b)) {
            const char *data;
            apr_size_t n;
            if (APR_BUCKET_IS_EOS(b)) {
                seen_eos = 1;
                break;
            }
            if (APR_BUCKET_IS_METADATA(b)) {
                continue;
            }
            rv = apr_bucket_read(b, &data, &n, APR_BLOCK_READ);
            if (rv != APR_SUCCESS) {
                *status = HTTP_BAD_REQUEST;
                *why = "the request body could not be read";
                goto leave;
            }
            if (used + n > (apr_size_t)limit) {
                *status = HTTP_REQUEST_ENTITY_TOO_LARGE;
                *why = "the order body is larger than this server accepts";
                rv = APR_ENOSPC;
                goto leave;
            }
            memcpy(buf + used, data, n);
            used += n;
        }
        apr_brigade_cleanup(bb);
    }
    buf[used] = '\0';
    *body = buf;
    *len = used;
leave:
    if (rv != AP_FILTER_ERROR) {
        ap_remove_output_filter(guard);  /* it removed itself otherwise */
    }
    apr_brigade_destroy(bb);
    return rv;
}

/* Takes the request's JSON body: APR_SUCCESS with *body set, or an error
 * already answered, whose handler return value is *answer. */
static apr_status_t receive_json_body(request_rec *r, const char **body,
                                      apr_size_t *len, int *answer)
{
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    const char *te = apr_table_get(r->headers_in, "Transfer-Encoding");
    apr_off_t limit = ORDERS_BODY_MAX, lrb = ap_get_limit_req_body(r);
    const char *why = NULL;
    int status = HTTP_BAD_REQUEST;
    apr_status_t rv;

    if (!body_is_json(r)) {
        *answer = orders_send_error(r, HTTP_UNSUPPORTED_MEDIA_TYPE,
                                    "send the body as "
                                    "Content-Type: application/json");
        return APR_EINVAL;
    }
    if (!cl && !te) {
        *answer = orders_send_error(r, HTTP_LENGTH_REQUIRED,
                                    "send the body with a Content-Length or "
                                    "chunked encoding");
        return APR_EINVAL;
    }
    if (lrb > 0 && lrb < limit) {
        limit = lrb;
    }
    /* A declared length over the limit is refused before reading any of
     * it; the connection is closed after the answer. */
    if (cl && !te) {
        apr_off_t declared;
        char *end;
        if (apr_strtoff(&declared, cl, &end, 10) == APR_SUCCESS && !*end
            && declared > limit) {
            r->connection->keepalive = AP_CONN_CLOSE;
            *answer = orders_send_error(r, HTTP_REQUEST_ENTITY_TOO_LARGE,
                                        apr_psprintf(r->pool, "the body must "
                                                     "be at most %"
                                                     APR_OFF_T_FMT " bytes",
                                                     limit));
            return APR_EINVAL;
        }
    }
    rv = read_body(r, limit, body, len, &status, &why);
    if (rv == AP_FILTER_ERROR) {
        *answer = AP_FILTER_ERROR;
        return rv;
    }
    if (rv != APR_SUCCESS) {
        r->connection->keepalive = AP_CONN_CLOSE;
        *answer = orders_send_error(r, status, why);
    }
    return rv;
}

/* The database connection of this request, seen by the store; NULL when
 * mod_dbd has none to give. */
static ord_db_t *request_conn(request_rec *r)
{
    ap_dbd_t *dbd = ap_dbd_acquire(r);
    ord_db_t *conn;

    if (!dbd) {
        return NULL;
    }
    conn = apr_palloc(r->pool, sizeof(*conn));
    if (orders_store_conn(dbd, conn) != APR_SUCCESS) {
        return NULL;
    }
    return conn;
}

static const orders_dir_conf_t *dir_conf(request_rec *r)
{
    return ap_get_module_config(r->per_dir_config, &orders_module);
}

/* Under OrdersBindUser, the authenticated user every order belongs to;
 * NULL when orders are not bound to users. */
static const char *bound_user(request_rec *r)
{
    return dir_conf(r)->bind_user == 1 ? (r->user ? r->user : "") : NULL;
}

/* Whether the request may see `order`: anyone when orders are not bound,
 * else its owner only. */
static int visible(request_rec *r, const ord_order_t *order)
{
    const char *user = bound_user(r);

    return !user || strcmp(order->user_id.text, user) == 0;
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
    orders_insert_write_t insert;
    ord_metrics_slot_t *slot;
    ord_db_t *conn;
    apr_size_t len = 0;
    apr_time_t now;
    int answer = OK;
    apr_status_t rv;

    if (user && !*user) {
        return orders_send_error(r, HTTP_FORBIDDEN, "orders here belong to "
                                 "a signed-in user, and there is none");
    }
    if (receive_json_body(r, &body, &len, &answer) != APR_SUCCESS) {
        return answer;
    }
    limits.max_items = conf.max_items;
    limits.user_id_optional = user != NULL;
    if (ord_json_parse_order(r->pool, body, len, &limits, &order, &why)
        != APR_SUCCESS) {
        return orders_send_error(r, HTTP_BAD_REQUEST, why);
    }
    if (user && !order->user_id.text) {
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
    now = apr_time_now();
    order->created_at = now;
    order->updated_at = now;

    insert.order = order;
    insert.lease_until = now + orders_engine_intake_lease(r->server);
    insert.created = 0;
    slot = orders_engine_slot();
    ord_metrics_enter(orders_metrics, slot, ord_metrics_pid_alive);
    rv = orders_engine_write(r->server, orders_write_insert, &insert);
    if (rv == APR_SUCCESS && insert.created) {
        ord_metrics_created(orders_metrics);
    }
    ord_metrics_leave(slot);
    if (rv != APR_SUCCESS) {
        /* The writer logged the database's words (ORD00013). */
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, rv, r, "ORD00050: storing "
                      "order %s failed", order->order_id.text);
        return orders_send_unavailable(r);
    }
    if (insert.created) {
        /* Counted (above) before it is queued, so that the claim finds it
         * counted. */
        orders_engine_enqueue(r->server, order->order_id.text);
        apr_table_setn(r->headers_out, "Location",
                       ord_route_order_path(r->pool, mount,
                                            order->order_id.text));
        return orders_send_json(r, HTTP_ACCEPTED,
                                ord_json_order(r->pool, order));
    }
    conn = request_conn(r);
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
    c = request_conn(r);
    if (!c) {
        *answer = orders_send_db_failure(r, "ORD00054", NULL);
        return APR_EGENERAL;
    }
    rv = ord_store_get(c, r->pool, order_id, &o);
    if (rv == APR_NOTFOUND || (rv == APR_SUCCESS && !visible(r, o))) {
        *answer = send_unknown_order(r);
        return APR_NOTFOUND;
    }
    if (rv != APR_SUCCESS) {
        *answer = orders_send_db_failure(r, "ORD00054", c);
        return rv;
    }
    *conn = c;
    *order = o;
    return APR_SUCCESS;
}

static int handle_get(request_rec *r, const char *order_id)
{
    ord_db_t *conn;
    ord_order_t *order;
    int answer = OK;

    if (fetch_order(r, order_id, &conn, &order, &answer) != APR_SUCCESS) {
        return answer;
    }
    return orders_send_json(r, HTTP_OK, ord_json_order(r->pool, order));
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
    conn = request_conn(r);
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

typedef struct {
    const char *order_id;
    apr_time_t now;
    apr_status_t rv;            /* APR_NOTFOUND: it was no longer Pending */
} cancel_write_t;

static apr_status_t write_cancel(ord_db_t *c, apr_pool_t *p,
                                 void *arg)
{
    cancel_write_t *w = arg;

    w->rv = ord_store_cancel(c, p, w->order_id, w->now);
    return w->rv == APR_NOTFOUND ? APR_SUCCESS : w->rv;
}

static int handle_cancel(request_rec *r, const char *order_id)
{
    ord_metrics_slot_t *slot = orders_engine_slot();
    ord_db_t *conn;
    ord_order_t *order;
    int answer = OK;
    apr_status_t rv;

    if (fetch_order(r, order_id, &conn, &order, &answer) != APR_SUCCESS) {
        return answer;
    }
    if (order->status == ORD_PENDING) {
        cancel_write_t cancel = { order_id, apr_time_now(), APR_EGENERAL };
        ord_metrics_enter(orders_metrics, slot, ord_metrics_pid_alive);
        rv = orders_engine_write(r->server, write_cancel, &cancel);
        if (rv == APR_SUCCESS && cancel.rv == APR_SUCCESS) {
            ord_metrics_cancelled(orders_metrics);
        }
        ord_metrics_leave(slot);
        if (rv != APR_SUCCESS) {
            return orders_send_unavailable(r);  /* the writer logged why */
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

/* Populate hands its orders to the writer this many at a time. */
#define POPULATE_CHUNK 1000

typedef struct {
    const char *batch_id;
    int total_entries;
    apr_time_t now;
    int created;
} batch_write_t;

static apr_status_t write_batch(ord_db_t *c, apr_pool_t *p, void *arg)
{
    batch_write_t *w = arg;

    return ord_store_batch_create(c, p, w->batch_id, w->total_entries, w->now,
                                  &w->created);
}

typedef struct {
    ord_order_t *const *orders;
    int n;
    apr_time_t lease_until;
    int inserted;
} insert_all_write_t;

static apr_status_t write_insert_all(ord_db_t *c, apr_pool_t *p,
                                     void *arg)
{
    insert_all_write_t *w = arg;

    return ord_store_insert_all(c, p, w->orders, w->n, w->lease_until,
                                &w->inserted);
}

static int handle_populate(request_rec *r)
{
    orders_server_conf_t conf = orders_server_settings(r->server);
    apr_array_header_t *errors = apr_array_make(r->pool, 1, sizeof(char *));
    ord_metrics_slot_t *slot = orders_engine_slot();
    const char *body = NULL, *why = NULL, *batch_id;
    insert_all_write_t insert;
    batch_write_t batch;
    ord_populate_t req;
    apr_uint64_t rng = 0;
    apr_size_t len = 0;
    int answer = OK, stored = 0, failed = 0, first;

    if (dir_conf(r)->populate != 1) {
        return orders_send_error(r, HTTP_NOT_FOUND, "no such resource under "
                                 "the orders collection");
    }
    if (receive_json_body(r, &body, &len, &answer) != APR_SUCCESS) {
        return answer;
    }
    if (ord_json_parse_populate(r->pool, body, len, &req, &why)
        != APR_SUCCESS) {
        return orders_send_error(r, HTTP_BAD_REQUEST, why);
    }
    batch_id = req.batch_id ? req.batch_id
                            : apr_pstrndup(r->pool, ord_order_new_id(r->pool),
                                           ORD_BATCH_ID_MAX_CHARS);
    batch.batch_id = batch_id;
    batch.total_entries = req.total_entries;
    batch.now = apr_time_now();
    batch.created = 0;
    if (orders_engine_write(r->server, write_batch, &batch) != APR_SUCCESS) {
        return orders_send_unavailable(r);  /* the writer logged why */
    }
    if (!batch.created) {
        return orders_send_error(r, HTTP_CONFLICT,
                                 apr_psprintf(r->pool, "batch_id %s was used "
                                              "before", batch_id));
    }
    apr_generate_random_bytes((unsigned char *)&rng, sizeof(rng));
    rng |= 1;   /* xorshift needs a non-zero state */
    for (first = 1; first <= req.total_entries; first += POPULATE_CHUNK) {
        int n = req.total_entries - first + 1, i, inserted = 0;
        ord_order_t **orders;
        apr_time_t now = apr_time_now();
        apr_pool_t *chunk;
        apr_status_t rv;

        n = n < POPULATE_CHUNK ? n : POPULATE_CHUNK;
        apr_pool_create(&chunk, r->pool);
        orders = apr_palloc(chunk, n * sizeof(*orders));
        for (i = 0; i < n; i++) {
            orders[i] = apr_palloc(chunk, sizeof(ord_order_t));
            ord_order_random(chunk, &rng,
                             apr_psprintf(chunk, "%s-%d", batch_id, first + i),
                             orders[i]);
            orders[i]->created_at = orders[i]->updated_at = now;
        }
        insert.orders = orders;
        insert.n = n;
        insert.lease_until = now + conf.recovery;
        insert.inserted = 0;
        ord_metrics_enter(orders_metrics, slot, ord_metrics_pid_alive);
        rv = orders_engine_write(r->server, write_insert_all, &insert);
        /* All or nothing: the writer's transaction rolled back on failure. */
        inserted = rv == APR_SUCCESS ? insert.inserted : 0;
        for (i = 0; i < inserted; i++) {
            ord_metrics_created(orders_metrics);
        }
        ord_metrics_leave(slot);
        stored += inserted;
        failed += n - inserted;
        if (rv == APR_SUCCESS) {
            for (i = 0; i < n; i++) {
                orders_engine_enqueue(r->server, orders[i]->order_id.text);
            }
        }
        else {
            APR_ARRAY_PUSH(errors, const char *) = apr_psprintf(
                r->pool, "%d of orders %d to %d could not be stored",
                n - inserted, first, first + n - 1);
            ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, "ORD00052: populate "
                          "%s: storing orders %d-%d failed", batch_id,
                          first, first + n - 1);
        }
        apr_pool_destroy(chunk);
    }
    return orders_send_json(r, HTTP_CREATED,
                            ord_json_populate_result(r->pool, batch_id,
                                                     req.total_entries,
                                                     stored, failed, errors));
}

/* Where the collection is mounted: the path of the <Location> whose
 * SetHandler chose this handler.  SetHandler is core's directive, but core's
 * merged section path (core->d) is that of the innermost section that
 * matched, which is not the mount when a nested <Location> sits under it
 * (one that only says `Require local` for /orders/populate, say): populate
 * would then route as the collection itself.  So the mount is the longest
 * plain <Location> of this server that prefixes the URI at a segment
 * boundary and sets the handler "orders"; core->d when none does (a handler
 * set in a <Directory> or a <LocationMatch>). */
static int is_mount_of(request_rec *r, const core_dir_config *section)
{
    apr_size_t len = strlen(section->d);
    const char *err = NULL, *handler;

    if (strncmp(r->uri, section->d, len) != 0
        || (r->uri[len] != '\0' && r->uri[len] != '/'
            && section->d[len - 1] != '/')) {
        return 0;
    }
    handler = ap_expr_str_exec(r, section->expr_handler, &err);
    return !err && handler && strcmp(handler, "orders") == 0;
}

static const char *mount_of(request_rec *r)
{
    core_server_config *server_core =
        ap_get_core_module_config(r->server->module_config);
    core_dir_config *core = ap_get_core_module_config(r->per_dir_config);
    ap_conf_vector_t **sections =
        (ap_conf_vector_t **)server_core->sec_url->elts;
    const char *mount = NULL;
    apr_size_t longest = 0;
    int i;

    for (i = 0; i < server_core->sec_url->nelts; i++) {
        core_dir_config *section = ap_get_core_module_config(sections[i]);

        if (section->r || !section->d || !section->d[0]
            || !section->expr_handler || strlen(section->d) <= longest) {
            continue;
        }
        if (is_mount_of(r, section)) {
            mount = section->d;
            longest = strlen(section->d);
        }
    }
    return mount ? mount : core->d;
}

int orders_handler(request_rec *r)
{
    const char *mount;
    ord_route_t route;

    if (!r->handler || strcmp(r->handler, "orders") != 0) {
        return DECLINED;
    }
    mount = mount_of(r);
    ord_route_match(r->pool, r->method, r->uri, mount, &route);
    switch (route.action) {
    case ORD_ROUTE_CREATE:
        return handle_create(r, mount);
    case ORD_ROUTE_GET:
        return handle_get(r, route.order_id);
    case ORD_ROUTE_LIST:
        return handle_list(r, mount);
    case ORD_ROUTE_CANCEL:
        return handle_cancel(r, route.order_id);
    case ORD_ROUTE_POPULATE:
        return handle_populate(r);
    case ORD_ROUTE_METHOD_NOT_ALLOWED:
        apr_table_setn(r->headers_out, "Allow", route.allow);
        return orders_send_error(r, HTTP_METHOD_NOT_ALLOWED,
                                 apr_pstrcat(r->pool, r->method, " is not "
                                             "allowed here; use ",
                                             route.allow, NULL));
    case ORD_ROUTE_NOT_FOUND:
    default:
        return orders_send_error(r, HTTP_NOT_FOUND,
                                 "no such resource under the orders "
                                 "collection");
    }
}
