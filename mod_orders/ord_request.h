/*
 * ord_request: what the module tells about each request it answers: its
 * request id (API.md section 1, "Logging and request ids") and its outcome,
 * one word per kind of answer, for the orders-outcome request note and the
 * answers counter of /metrics.
 *
 * Pure and stateless: no httpd header; any thread may call these.
 */
#ifndef ORD_REQUEST_H
#define ORD_REQUEST_H

#include <apr_pools.h>

#include "ord_route.h"

/* The most characters of a request id taken from a client. */
#define ORD_REQUEST_ID_MAX 200
/* Random bytes in a generated request id. */
#define ORD_REQUEST_ID_BYTES 16

/* Whether a client's X-Request-ID may be used as the request id: 1 to
 * ORD_REQUEST_ID_MAX characters of [A-Za-z0-9._:-] (so it can go into
 * headers, JSON and log lines as it is).  NULL is not. */
int ord_request_id_valid(const char *id);

/* A request id made of ORD_REQUEST_ID_BYTES random bytes: lowercase hex,
 * twice as many characters. */
const char *ord_request_id_make(apr_pool_t *p,
                                const unsigned char bytes[ORD_REQUEST_ID_BYTES]);

typedef enum {
    ORD_OUTCOME_CREATED = 0,    /* POST: the order is new (202) */
    ORD_OUTCOME_RETRY,          /* POST: the same order again (200) */
    ORD_OUTCOME_CONFLICT,       /* 409: other content, or not cancellable */
    ORD_OUTCOME_INVALID,        /* 400, 411, 413, 415: what was sent */
    ORD_OUTCOME_FORBIDDEN,      /* 403: another user's (OrdersBindUser) */
    ORD_OUTCOME_FOUND,          /* GET of one order (200) */
    ORD_OUTCOME_NOT_MODIFIED,   /* 304 */
    ORD_OUTCOME_NOT_FOUND,      /* 404 */
    ORD_OUTCOME_CANCELLED,      /* DELETE (200) */
    ORD_OUTCOME_LISTED,         /* a list or events page (200) */
    ORD_OUTCOME_POPULATED,      /* populate (201) */
    ORD_OUTCOME_REDELIVERED,    /* redeliver (202) */
    ORD_OUTCOME_GONE,           /* 410: an events cursor past retention */
    ORD_OUTCOME_NOT_ALLOWED,    /* 405 */
    ORD_OUTCOME_UNAVAILABLE,    /* 503: the database, or none configured */
    ORD_OUTCOME_METRICS,        /* GET /metrics (200) */
    ORD_OUTCOME_OTHER,          /* any other status */
    ORD_OUTCOME_COUNT
} ord_outcome_e;

/* The outcome of an answer with `status` to a request routed as `action`
 * (ORD_ROUTE_* of ord_route.h; `metrics` 1 for the metrics handler, whose
 * requests are not routed). */
ord_outcome_e ord_outcome_of(ord_route_action_e action, int metrics,
                             int status);

/* "created", "retry", "not-found", ...: the note's and the label's word. */
const char *ord_outcome_name(ord_outcome_e outcome);

#endif /* ORD_REQUEST_H */
