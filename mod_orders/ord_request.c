/*
 * ord_request: request ids and outcomes.  See ord_request.h.
 */
#include <string.h>

#include <apr_strings.h>

#include "ord_request.h"

int ord_request_id_valid(const char *id)
{
    apr_size_t n;

    if (!id) {
        return 0;
    }
    n = strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                   "0123456789._:-");
    return n > 0 && n <= ORD_REQUEST_ID_MAX && id[n] == '\0';
}

const char *ord_request_id_make(apr_pool_t *p,
                                const unsigned char bytes[ORD_REQUEST_ID_BYTES])
{
    static const char hex[] = "0123456789abcdef";
    char *id = apr_palloc(p, 2 * ORD_REQUEST_ID_BYTES + 1);
    int i;

    for (i = 0; i < ORD_REQUEST_ID_BYTES; i++) {
        id[2 * i] = hex[bytes[i] >> 4];
        id[2 * i + 1] = hex[bytes[i] & 0x0f];
    }
    id[2 * ORD_REQUEST_ID_BYTES] = '\0';
    return id;
}

static const char *const names[ORD_OUTCOME_COUNT] = {
    "created", "retry", "conflict", "invalid", "forbidden", "found",
    "not-modified", "not-found", "cancelled", "listed", "populated",
    "redelivered", "gone", "not-allowed", "unavailable", "metrics", "other",
};

const char *ord_outcome_name(ord_outcome_e outcome)
{
    return outcome >= 0 && outcome < ORD_OUTCOME_COUNT ? names[outcome]
                                                       : names[ORD_OUTCOME_OTHER];
}

/* A success: what it means depends on the route. */
static ord_outcome_e success_of(ord_route_action_e action, int metrics,
                                int status)
{
    if (metrics) {
        return ORD_OUTCOME_METRICS;
    }
    switch (action) {
    case ORD_ROUTE_CREATE:
        return status == 202 ? ORD_OUTCOME_CREATED : ORD_OUTCOME_RETRY;
    case ORD_ROUTE_GET:
        return ORD_OUTCOME_FOUND;
    case ORD_ROUTE_CANCEL:
        return ORD_OUTCOME_CANCELLED;
    case ORD_ROUTE_LIST:
    case ORD_ROUTE_EVENTS:
        return ORD_OUTCOME_LISTED;
    case ORD_ROUTE_POPULATE:
        return ORD_OUTCOME_POPULATED;
    case ORD_ROUTE_REDELIVER:
        return ORD_OUTCOME_REDELIVERED;
    default:
        return ORD_OUTCOME_OTHER;
    }
}

ord_outcome_e ord_outcome_of(ord_route_action_e action, int metrics,
                             int status)
{
    switch (status) {
    case 200: case 201: case 202:
        return success_of(action, metrics, status);
    case 304:
        return ORD_OUTCOME_NOT_MODIFIED;
    case 400: case 408: case 411: case 413: case 415:
        return ORD_OUTCOME_INVALID;
    case 403:
        return ORD_OUTCOME_FORBIDDEN;
    case 404:
        return ORD_OUTCOME_NOT_FOUND;
    case 405:
        return ORD_OUTCOME_NOT_ALLOWED;
    case 409:
        return ORD_OUTCOME_CONFLICT;
    case 410:
        return ORD_OUTCOME_GONE;
    case 503:
        return ORD_OUTCOME_UNAVAILABLE;
    default:
        return ORD_OUTCOME_OTHER;
    }
}
