/*
 * ord_route: which action a method and path ask of the orders collection.
 *
 * The collection is mounted wherever the <Location> says; the path is taken
 * from the request URI relative to that mount, so the module never depends
 * on the file system.  Pure C: no httpd header.
 */
#ifndef ORD_ROUTE_H
#define ORD_ROUTE_H

#include <apr_pools.h>

typedef enum {
    ORD_ROUTE_NOT_FOUND = 0,
    ORD_ROUTE_METHOD_NOT_ALLOWED,  /* `allow` lists what the resource takes */
    ORD_ROUTE_CREATE,              /* POST   {mount}          */
    ORD_ROUTE_LIST,                /* GET    {mount}          */
    ORD_ROUTE_POPULATE,            /* POST   {mount}/populate */
    ORD_ROUTE_GET,                 /* GET    {mount}/{id}     */
    ORD_ROUTE_CANCEL,              /* DELETE {mount}/{id}     */
    ORD_ROUTE_EVENTS,              /* GET    {mount}/events   */
    ORD_ROUTE_REDELIVER            /* POST   {mount}/events/{id}/redeliver */
} ord_route_action_e;

typedef struct {
    ord_route_action_e action;
    const char *order_id;  /* for GET and CANCEL */
    const char *event_id;  /* for REDELIVER */
    const char *allow;     /* the Allow header for METHOD_NOT_ALLOWED */
} ord_route_t;

/* Routes `method` (HEAD counts as GET) on `uri` under `mount` (the
 * <Location> path, "" or NULL for the root).  `uri` is the path as httpd
 * decoded and normalised it (r->uri, no query): the same text the
 * <Location> was matched against, so it is not decoded again here.  Never
 * fails: unknown paths are ORD_ROUTE_NOT_FOUND. */
void ord_route_match(apr_pool_t *p, const char *method, const char *uri,
                     const char *mount, ord_route_t *route);

/* The URL path of one order under `mount`.  Valid order ids contain only
 * URL-safe characters, so nothing needs encoding. */
const char *ord_route_order_path(apr_pool_t *p, const char *mount,
                                 const char *order_id);

#endif /* ORD_ROUTE_H */
