/*
 * ord_events: the events feed's query string, its cursor and links, and
 * the conditional and waiting reads of one order (ETag, If-None-Match,
 * Prefer: wait).  API.md sections 2 and 5.
 *
 * The cursor is opaque to clients.  It is the position of the last event of
 * a page in the feed's order: the id of the transaction that wrote it, then
 * its sequence number (ord_store reads events in that order, and only those
 * of transactions older than any still running, so that no event commits
 * behind a cursor handed out).  Pure C and APR: no httpd header.
 */
#ifndef ORD_EVENTS_H
#define ORD_EVENTS_H

#include <apr_pools.h>

#include "ord_order.h"

#define ORD_EVENTS_DEFAULT_LIMIT 100
#define ORD_EVENTS_MAX_LIMIT     1000
#define ORD_EVENTS_MAX_WAIT      30     /* seconds, for wait= */
#define ORD_PREFER_MAX_WAIT      30     /* seconds, for Prefer: wait= */

typedef struct {
    apr_int64_t xid;
    apr_int64_t seq;
} ord_event_cursor_t;

typedef struct {
    int has_after;
    ord_event_cursor_t after;
    int limit;
    const char *order_id;       /* NULL: every order's */
    const char *type;           /* NULL: every type */
    int wait;                   /* seconds, 0: answer at once */
    const char *delivery;       /* NULL, or "pending", "delivered", "failed" */
} ord_event_query_t;

/* One event as the feed shows it: the order as it stood right after. */
typedef struct {
    ord_event_cursor_t cursor;
    const char *type;
    apr_time_t created_at;
    ord_order_t order;
    /* Its webhook delivery (delivery NULL: none, no OrdersWebhookURL when
     * it was written): "pending", "delivered" or "failed", the attempts so
     * far, the last answer (0: none yet, or no answer), the next attempt's
     * time (0: none). */
    const char *delivery;
    int attempts;
    int last_status;
    apr_time_t next_attempt_at;
} ord_event_t;

/* Parses the query string of GET {mount}/events.  APR_SUCCESS with *q set,
 * or APR_EINVAL with *error naming the parameter. */
apr_status_t ord_events_parse_query(apr_pool_t *p, const char *args,
                                    ord_event_query_t *q, const char **error);

/* The cursor as text, and back (APR_EINVAL for anything not made here). */
const char *ord_events_cursor_text(apr_pool_t *p, ord_event_cursor_t c);
apr_status_t ord_events_cursor_parse(const char *text, ord_event_cursor_t *c);

/* "{mount}/events?order_id=..&type=..&limit=..&wait=..&after=<cursor>": the
 * page after `last`, with the same filters (and wait, so that a reader
 * following `next` keeps waiting). */
const char *ord_events_next_link(apr_pool_t *p, const char *mount,
                                 const ord_event_query_t *q,
                                 ord_event_cursor_t last);

/* The event's id: "evt_" and its sequence number, unique in the database
 * (and so across every server sharing it), never reused. */
const char *ord_events_id(apr_pool_t *p, apr_int64_t seq);

/* A strong ETag of the order as it stands: it changes with every change of
 * the order (status and updated_at change together). */
const char *ord_order_etag(apr_pool_t *p, const ord_order_t *o);

/* Whether an If-None-Match value matches `etag` (RFC 9110 13.1.2: "*", or a
 * list of entity tags compared weakly).  0 for NULL or junk. */
int ord_etag_matches(const char *if_none_match, const char *etag);

/* The wait a Prefer header asks for (RFC 7240 "wait=N"), in seconds, 1 to
 * ORD_PREFER_MAX_WAIT (a larger one is cut to it); 0 when none is asked. */
int ord_prefer_wait(const char *prefer);

#endif /* ORD_EVENTS_H */
