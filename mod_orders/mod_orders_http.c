/*
 * mod_orders HTTP plumbing: how the module answers (JSON bodies, errors,
 * 503s), reads a request's body, keeps input filters' errors JSON, and finds
 * where the collection is mounted.  Every failure of the database that a
 * request sees is answered here, in orders_send_db_failure, and logged
 * there once per incident with its tag and the driver's words.
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
    return orders_send_json(r, status, ord_json_error(r->pool, message,
                                                      orders_request_id(r)));
}

int orders_send_db_failure(request_rec *r, const char *tag,
                           const ord_db_t *conn)
{
    orders_db_failed(r->server, r, tag, conn);
    return orders_send_unavailable(r);
}

int orders_send_write_failure(request_rec *r, const char *tag,
                              apr_status_t rv)
{
    /* The writer logged the database's words (ORD00013) for its batch. */
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, rv, r, "%s: the write failed%s",
                  tag, rv == APR_INCOMPLETE ? " (or its answer was lost)"
                                            : "");
    return orders_send_unavailable(r);
}

int orders_send_not_modified(request_rec *r)
{
    r->status = HTTP_NOT_MODIFIED;
    return OK;
}

const char *orders_bound_user(request_rec *r)
{
    const orders_dir_conf_t *dc = ap_get_module_config(r->per_dir_config,
                                                       &orders_module);

    return dc->bind_user == 1 ? (r->user ? r->user : "") : NULL;
}

int orders_send_unavailable(request_rec *r)
{
    apr_table_setn(r->headers_out, "Retry-After", RETRY_AFTER_SECONDS);
    return orders_send_error(r, HTTP_SERVICE_UNAVAILABLE,
                             "the order database is unavailable; retry "
                             "later");
}

int orders_send_no_database(request_rec *r)
{
    return orders_send_error(r, HTTP_SERVICE_UNAVAILABLE,
                             "mod_orders has no database: the server's "
                             "administrator must set DBDriver and DBDParams");
}

void orders_discard_body(request_rec *r)
{
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    apr_off_t declared;
    char *end;

    if (!cl && !apr_table_get(r->headers_in, "Transfer-Encoding")
        && r->proto_num < HTTP_VERSION(2, 0)) {
        return;     /* no body */
    }
    if (cl && apr_strtoff(&declared, cl, &end, 10) == APR_SUCCESS && !*end
        && declared <= ORDERS_BODY_MAX) {
        ap_discard_request_body(r);
        return;
    }
    /* Too large, or of no stated length: not read, and the connection
     * ends after the answer. */
    r->connection->keepalive = AP_CONN_CLOSE;
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
                r->pool, ord_json_error(r->pool, body_error_message(status),
                                        orders_request_id(r)),
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
apr_status_t orders_receive_json_body(request_rec *r, const char **body,
                                      apr_size_t *len, int *answer)
{
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    const char *te = apr_table_get(r->headers_in, "Transfer-Encoding");
    apr_off_t limit = ORDERS_BODY_MAX, lrb = ap_get_limit_req_body(r);
    const char *why = NULL;
    int status = HTTP_BAD_REQUEST;
    apr_status_t rv;

    if (!body_is_json(r)) {
        orders_discard_body(r);
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

/* Where the collection is mounted: the path of the <Location> whose
 * SetHandler chose this handler.  SetHandler is core's directive, but core's
 * merged section path (core->d) is that of the innermost section that
 * matched, which is not the mount when a nested <Location> sits under it
 * (one that only says `Require local` for /orders/populate, say): populate
 * would then route as the collection itself.  So the mount is the longest
 * plain <Location> of this server that prefixes the URI at a segment
 * boundary and sets the handler "orders"; core->d when none does (a handler
 * set in a <Directory> or a <LocationMatch>). */
static int is_mount_of(request_rec *r, ap_conf_vector_t *config,
                       const core_dir_config *section)
{
    apr_size_t len = strlen(section->d);
    const char *handler;

    if (strncmp(r->uri, section->d, len) != 0
        || (r->uri[len] != '\0' && r->uri[len] != '/'
            && section->d[len - 1] != '/')) {
        return 0;
    }
    handler = orders_handler_set_in(r, config);
    return handler && strcmp(handler, ORDERS_HANDLER) == 0;
}

const char *orders_mount_of(request_rec *r)
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
        if (is_mount_of(r, sections[i], section)) {
            mount = section->d;
            longest = strlen(section->d);
        }
    }
    return mount ? mount : core->d;
}
