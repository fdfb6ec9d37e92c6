/*
 * ord_route: method + path under the mount -> action.  See ord_route.h.
 */
#include <string.h>

#include <apr_strings.h>

#include "ord_order.h"
#include "ord_route.h"

#define ALLOW_COLLECTION "GET, HEAD, POST"
#define ALLOW_ORDER      "GET, HEAD, DELETE"
#define ALLOW_POPULATE   "POST"
#define ALLOW_EVENTS     "GET, HEAD"
#define ALLOW_REDELIVER  "POST"

static int method_is(const char *method, const char *name)
{
    return method && strcmp(method, name) == 0;
}

static void route_to(ord_route_t *route, const char *method,
                     const char *get_or_head, ord_route_action_e on_get,
                     const char *other, ord_route_action_e on_other,
                     const char *allow)
{
    if (get_or_head && (method_is(method, "GET") || method_is(method, "HEAD"))) {
        route->action = on_get;
    }
    else if (other && method_is(method, other)) {
        route->action = on_other;
    }
    else {
        route->action = ORD_ROUTE_METHOD_NOT_ALLOWED;
        route->allow = allow;
    }
}

/* {mount}/events/{id}/redeliver, from what follows "events/". */
static void route_event(apr_pool_t *p, const char *method, const char *rest,
                        ord_route_t *route)
{
    const char *slash = strchr(rest, '/');

    if (!slash || slash == rest || strcmp(slash, "/redeliver") != 0) {
        return;
    }
    route->event_id = apr_pstrmemdup(p, rest, slash - rest);
    route_to(route, method, NULL, ORD_ROUTE_NOT_FOUND, "POST",
             ORD_ROUTE_REDELIVER, ALLOW_REDELIVER);
}

void ord_route_match(apr_pool_t *p, const char *method, const char *uri,
                     const char *mount, ord_route_t *route)
{
    apr_size_t mlen = mount ? strlen(mount) : 0;
    const char *rest, *slash;

    memset(route, 0, sizeof(*route));
    /* "<Location /orders/>" and "<Location /orders>" mount the same. */
    while (mlen > 0 && mount[mlen - 1] == '/') {
        mlen--;
    }
    if (!uri || strncmp(uri, mount ? mount : "", mlen) != 0) {
        return;
    }
    rest = uri + mlen;
    if (*rest == '\0' || strcmp(rest, "/") == 0) {
        route_to(route, method, "GET", ORD_ROUTE_LIST, "POST",
                 ORD_ROUTE_CREATE, ALLOW_COLLECTION);
        return;
    }
    if (*rest != '/') {
        return;     /* /ordersX is not ours */
    }
    rest++;
    slash = strchr(rest, '/');
    if (slash && strncmp(rest, ORD_RESERVED_EVENTS_ID "/",
                         sizeof(ORD_RESERVED_EVENTS_ID)) == 0) {
        route_event(p, method, slash + 1, route);
        return;
    }
    if (slash && slash[1] != '\0') {
        return;     /* nothing lives below an order */
    }
    route->order_id = slash ? apr_pstrmemdup(p, rest, slash - rest) : rest;
    if (!*route->order_id) {
        route->order_id = NULL;
        return;
    }
    if (strcmp(route->order_id, ORD_RESERVED_EVENTS_ID) == 0) {
        route->order_id = NULL;
        route_to(route, method, "GET", ORD_ROUTE_EVENTS, NULL,
                 ORD_ROUTE_NOT_FOUND, ALLOW_EVENTS);
        return;
    }
    if (strcmp(route->order_id, ORD_RESERVED_ORDER_ID) == 0) {
        route->order_id = NULL;
        route_to(route, method, NULL, ORD_ROUTE_NOT_FOUND, "POST",
                 ORD_ROUTE_POPULATE, ALLOW_POPULATE);
        return;
    }
    route_to(route, method, "GET", ORD_ROUTE_GET, "DELETE", ORD_ROUTE_CANCEL,
             ALLOW_ORDER);
}

const char *ord_route_order_path(apr_pool_t *p, const char *mount,
                                 const char *order_id)
{
    apr_size_t mlen = mount ? strlen(mount) : 0;

    while (mlen > 0 && mount[mlen - 1] == '/') {
        mlen--;
    }
    /* Valid order ids are all URL-safe characters: nothing to encode. */
    return apr_pstrcat(p, apr_pstrmemdup(p, mount ? mount : "", mlen), "/",
                       order_id, NULL);
}
