/*
 * mod_orders events feed (GET {mount}/events): the changes of orders, as
 * the outbox of ord_store wrote them, oldest first, a page after a cursor;
 * with wait=N, an empty page waits up to N seconds for the first event.
 *
 * A waiting page holds a worker thread (the event MPM's), so a child holds
 * at most OrdersMaxWaiters of them; past that the page is answered at once
 * with Retry-After: 1.
 */
#include "httpd.h"
#include "apr_strings.h"
#include "http_log.h"
#include "http_protocol.h"

#include "mod_orders.h"
#include "ord_events.h"
#include "ord_json.h"

APLOG_USE_MODULE(orders);

/* Whether `a` comes before `b` in the feed's order. */
static int before(ord_event_cursor_t a, ord_event_cursor_t b)
{
    return a.xid < b.xid || (a.xid == b.xid && a.seq < b.seq);
}

int orders_handle_events(request_rec *r, const char *mount)
{
    const char *user = orders_bound_user(r), *why = NULL;
    apr_array_header_t *events = NULL;
    ord_event_cursor_t last, removed;
    ord_event_query_t q;
    apr_time_t until = 0;
    ord_db_t *conn;
    int waiting = 0, answer;

    if (ord_events_parse_query(r->pool, r->args, &q, &why) != APR_SUCCESS) {
        return orders_send_error(r, HTTP_BAD_REQUEST, why);
    }
    conn = orders_request_conn(r);
    if (!conn) {
        return orders_send_db_failure(r, "ORD00070", NULL);
    }
    if (q.has_after) {
        if (ord_store_events_removed(conn, r->pool, &removed) != APR_SUCCESS) {
            return orders_send_db_failure(r, "ORD00070", conn);
        }
        if (before(q.after, removed)) {
            return orders_send_error(r, HTTP_GONE, "that cursor is older than "
                                     "the oldest event kept "
                                     "(OrdersEventRetention); read the feed "
                                     "again without after");
        }
    }
    for (;;) {
        if (ord_store_events(conn, r->pool, &q, user, &events)
            != APR_SUCCESS) {
            answer = orders_send_db_failure(r, "ORD00071", conn);
            goto leave;
        }
        if (events->nelts > 0 || q.wait == 0) {
            break;
        }
        if (!waiting) {
            if (!orders_engine_wait_begin()) {
                apr_table_setn(r->headers_out, "Retry-After", "1");
                break;      /* every place taken: the empty page, now */
            }
            waiting = 1;
            until = apr_time_now() + apr_time_from_sec(q.wait);
        }
        if (apr_time_now() >= until) {
            break;
        }
        orders_engine_wait_until(until);
    }
    last = q.after;
    if (events->nelts > 0) {
        last = APR_ARRAY_IDX(events, events->nelts - 1, ord_event_t *)->cursor;
    }
    answer = orders_send_json(r, HTTP_OK,
                              ord_json_event_page(r->pool, events,
                                                  ord_events_next_link(
                                                      r->pool, mount, &q,
                                                      last)));
leave:
    if (waiting) {
        orders_engine_wait_end();
    }
    return answer;
}
