/*
 * Unit tests of ord_route (mod_orders/ord_route.h): which action a method
 * and a path (httpd's r->uri) ask of the orders collection, under every
 * shape of mount (nested, trailing slash, the root), the Allow header of a
 * 405, the order id taken from the already decoded r->uri (never decoded a
 * second time) and the order URL built back from a mount and a valid id.
 *
 * A route is compared as one text: the action, then the order id (GET,
 * CANCEL) or the Allow header (405) after a colon, e.g. "GET: ORD1" or
 * "METHOD_NOT_ALLOWED: GET, HEAD, POST".
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <apr_strings.h>

#include "unit_support.h"
#include "ord_route.h"

/* A mount and the URI of its collection (what a client requests). */
typedef struct {
    const char *mount;
    const char *base;   /* the collection's path, no trailing slash */
} mount_case_t;

/* "<Location /orders>", nested, with a trailing slash, and the root ("" and
 * NULL both mean the root). */
static const mount_case_t mounts[] = {
    { "/orders", "/orders" },
    { "/api/v1/orders", "/api/v1/orders" },
    { "/orders/", "/orders" },
    { "", "" },
    { NULL, "" },
};

/* `method uri` under `mount`, spelled as the file's comment says. */
static const char *route_of(apr_pool_t *p, const char *mount,
                            const char *method, const char *uri)
{
    static const char *const names[] = {
        "NOT_FOUND", "METHOD_NOT_ALLOWED", "CREATE", "LIST", "POPULATE",
        "GET", "CANCEL", "EVENTS", "REDELIVER"
    };
    ord_route_t r;
    const char *name;

    memset(&r, 0x5a, sizeof(r));    /* garbage: the call must set it all */
    r.order_id = "(garbage)";
    r.allow = "(garbage)";
    ord_route_match(p, method, uri, mount, &r);
    name = (unsigned)r.action < UNIT_ROWS(names)
           ? names[r.action] : apr_psprintf(p, "(action %d)", (int)r.action);
    if (r.action == ORD_ROUTE_GET || r.action == ORD_ROUTE_CANCEL) {
        return apr_pstrcat(p, name, ": ", unit_show(r.order_id), NULL);
    }
    if (r.action == ORD_ROUTE_REDELIVER) {
        return apr_pstrcat(p, name, ": ", unit_show(r.event_id), NULL);
    }
    if (r.action == ORD_ROUTE_METHOD_NOT_ALLOWED) {
        return apr_pstrcat(p, name, ": ", unit_show(r.allow), NULL);
    }
    return name;
}

/* ------------------------------------------------------------------ */
/* Routes                                                              */
/* ------------------------------------------------------------------ */

/* A request and its route.  `mount` "*": under every mount, `path` after
 * the collection's path ("" is that path itself, which the root has not:
 * its collection is "/"); else under that mount, `path` the whole r->uri. */
typedef struct {
    const char *name, *mount, *method, *path, *want;
} route_case_t;

/* `row` under one mount, at `uri`: NULL when it routes as it should. */
static const char *route_differs(apr_pool_t *p, const route_case_t *row,
                                 const char *mount, const char *uri)
{
    const char *got = route_of(p, mount, row->method, uri);

    return strcmp(got, row->want) == 0 ? NULL
           : apr_psprintf(p, "mount %s: %s %s is %s, want %s",
                          unit_show(mount), row->method, uri, got, row->want);
}

static const char *check_route_cases(const unit_ctx_t *c, const void *r)
{
    const route_case_t *row = r;
    const char *why = NULL;
    size_t i;

    if (strcmp(row->mount, "*") != 0) {
        return route_differs(c->pool, row, row->mount, row->path);
    }
    for (i = 0; i < UNIT_ROWS(mounts) && !why; i++) {
        const char *uri = apr_pstrcat(c->pool, mounts[i].base, row->path,
                                      NULL);

        why = *uri ? route_differs(c->pool, row, mounts[i].mount, uri) : NULL;
    }
    return why;
}

static const route_case_t route_cases[] = {
    /* the collection: "{mount}" and "{mount}/" */
    { "POST on the collection", "*", "POST", "", "CREATE" },
    { "POST on the collection with a slash", "*", "POST", "/", "CREATE" },
    { "GET on the collection", "*", "GET", "", "LIST" },
    { "GET on the collection with a slash", "*", "GET", "/", "LIST" },
    { "HEAD on the collection", "*", "HEAD", "", "LIST" },
    { "HEAD on the collection with a slash", "*", "HEAD", "/", "LIST" },
    { "PUT on the collection", "*", "PUT", "", "METHOD_NOT_ALLOWED: GET, HEAD, POST" },
    { "PUT on the collection with a slash", "*", "PUT", "/", "METHOD_NOT_ALLOWED: GET, HEAD, POST" },
    { "DELETE on the collection", "*", "DELETE", "", "METHOD_NOT_ALLOWED: GET, HEAD, POST" },
    { "DELETE on the collection with a slash", "*", "DELETE", "/", "METHOD_NOT_ALLOWED: GET, HEAD, POST" },
    { "PATCH on the collection", "*", "PATCH", "", "METHOD_NOT_ALLOWED: GET, HEAD, POST" },
    { "PATCH on the collection with a slash", "*", "PATCH", "/", "METHOD_NOT_ALLOWED: GET, HEAD, POST" },
    /* one order: "{mount}/{id}" */
    { "GET an order", "*", "GET", "/ORD1", "GET: ORD1" },
    { "GET an order of every id character", "*", "GET", "/a.b_c:d-9", "GET: a.b_c:d-9" },
    { "HEAD an order", "*", "HEAD", "/ORD1", "GET: ORD1" },
    { "DELETE an order", "*", "DELETE", "/ORD1", "CANCEL: ORD1" },
    { "PUT on an order", "*", "PUT", "/ORD1", "METHOD_NOT_ALLOWED: GET, HEAD, DELETE" },
    { "POST on an order", "*", "POST", "/ORD1", "METHOD_NOT_ALLOWED: GET, HEAD, DELETE" },
    { "PATCH on an order", "*", "PATCH", "/ORD1", "METHOD_NOT_ALLOWED: GET, HEAD, DELETE" },
    /* "{mount}/events" and "{mount}/events/{id}/redeliver" */
    { "GET events", "*", "GET", "/events", "EVENTS" },
    { "HEAD events", "*", "HEAD", "/events", "EVENTS" },
    { "POST events", "*", "POST", "/events", "METHOD_NOT_ALLOWED: GET, HEAD" },
    { "DELETE events", "*", "DELETE", "/events", "METHOD_NOT_ALLOWED: GET, HEAD" },
    { "POST redeliver", "*", "POST", "/events/evt_12/redeliver", "REDELIVER: evt_12" },
    { "GET redeliver", "*", "GET", "/events/evt_12/redeliver", "METHOD_NOT_ALLOWED: POST" },
    { "redeliver without an id", "*", "POST", "/events//redeliver", "NOT_FOUND" },
    { "below an event", "*", "POST", "/events/evt_12/other", "NOT_FOUND" },
    { "below redeliver", "*", "POST", "/events/evt_12/redeliver/x", "NOT_FOUND" },
    /* "{mount}/populate" */
    { "POST populate", "*", "POST", "/populate", "POPULATE" },
    { "GET populate", "*", "GET", "/populate", "METHOD_NOT_ALLOWED: POST" },
    { "HEAD populate", "*", "HEAD", "/populate", "METHOD_NOT_ALLOWED: POST" },
    { "DELETE populate", "*", "DELETE", "/populate", "METHOD_NOT_ALLOWED: POST" },
    { "PUT populate", "*", "PUT", "/populate", "METHOD_NOT_ALLOWED: POST" },
    /* below an order */
    { "GET below an id", "*", "GET", "/a/b", "NOT_FOUND" },
    { "DELETE below an id", "*", "DELETE", "/a/b", "NOT_FOUND" },
    { "POST below populate", "*", "POST", "/populate/x", "NOT_FOUND" },
    { "GET two levels below an order", "*", "GET", "/ORD1/items/2", "NOT_FOUND" },
    /* The uri is r->uri: httpd has decoded and normalised it already, and
     * the <Location> was matched against that text.  A '%' left in it was
     * sent as "%25" by the client, so decoding it again would change the id
     * (and would let "%252F" smuggle a '/' into an id). */
    { "an escaped colon stays", "*", "GET", "/A%3AB", "GET: A%3AB" },
    { "escaped letters stay", "*", "DELETE", "/%41%42", "CANCEL: %41%42" },
    { "an escaped slash stays", "*", "GET", "/a%2Fb", "GET: a%2Fb" },
    { "a bad escape stays", "*", "GET", "/%G1", "GET: %G1" },
    /* what is not ours */
    { "a longer name", "/orders", "GET", "/ordersX", "NOT_FOUND" },
    { "a longer name, POST", "/orders", "POST", "/ordersX", "NOT_FOUND" },
    { "two letters more", "/orders", "GET", "/ordersXY", "NOT_FOUND" },
    { "a dash and more", "/orders", "DELETE", "/orders-old", "NOT_FOUND" },
    { "a suffix", "/orders", "GET", "/orders.json", "NOT_FOUND" },
    { "populate glued on", "/orders", "POST", "/orderspopulate", "NOT_FOUND" },
    { "an order of another collection", "/orders", "GET", "/orders-old/ORD1", "NOT_FOUND" },
    { "a shorter name", "/orders", "GET", "/order", "NOT_FOUND" },
    { "another case", "/orders", "GET", "/Orders", "NOT_FOUND" },
    { "another path", "/orders", "GET", "/other", "NOT_FOUND" },
    { "the root", "/orders", "GET", "/", "NOT_FOUND" },
    { "a longer name under a slashed mount", "/orders/", "GET", "/ordersX", "NOT_FOUND" },
    { "a longer nested name", "/api/v1/orders", "GET", "/api/v1/ordersX", "NOT_FOUND" },
    { "an order of another nested collection", "/api/v1/orders", "GET", "/api/v1/orders2/ORD1", "NOT_FOUND" },
    { "two letters more under a slashed mount", "/orders/", "GET", "/ordersXY", "NOT_FOUND" },
    { "the mount's parent", "/api/v1/orders", "GET", "/api/v1", "NOT_FOUND" },
    { "the un-nested path", "/api/v1/orders", "GET", "/orders/ORD1", "NOT_FOUND" },
    { "another path under a nested mount", "/api/v1/orders", "GET", "/other", "NOT_FOUND" },
    /* r->uri "/orders/%70opulate" came from a client's "%2570opulate" */
    { "encoded populate is an order id", "/orders", "GET", "/orders/%70opulate", "GET: %70opulate" },
    { "POST on encoded populate is POST on an order", "/orders", "POST", "/orders/%70opulate", "METHOD_NOT_ALLOWED: GET, HEAD, DELETE" },
};

/* ------------------------------------------------------------------ */
/* ord_route_order_path                                                */
/* ------------------------------------------------------------------ */

typedef struct {
    const char *name, *mount, *id, *want;
} path_case_t;

static const char *check_path_cases(const unit_ctx_t *c, const void *r)
{
    const path_case_t *row = r;
    const char *got = ord_route_order_path(c->pool, row->mount, row->id);

    return unit_same(got, row->want) ? NULL
           : apr_psprintf(c->pool, "%s, want %s", unit_show(got), row->want);
}

static const path_case_t path_cases[] = {
    { "the root as NULL", NULL, "X1", "/X1" },
    { "mount and id joined", "/orders", "ORD1", "/orders/ORD1" },
    { "nested mount and id joined", "/api/v1/orders", "X1", "/api/v1/orders/X1" },
    { "a nested mount's trailing slash dropped", "/api/v1/orders/", "X1", "/api/v1/orders/X1" },
    { "a mount's trailing slash dropped", "/orders/", "ORD1", "/orders/ORD1" },
    { "the root as empty", "", "X1", "/X1" },
    { "the root as a slash", "/", "X1", "/X1" },
};

/* Every valid order id character ([A-Za-z0-9._:-]) is URL-safe: the path
 * carries it as is, and (httpd decoding nothing in it) routes back to the
 * same id. */
static void test_order_path_of_valid_id_routes_back_to_it(void **state)
{
    static const char *const ids[] = {
        "ORD1", "a.b_c:d-9", "123", "0", "x:y",
        "e5c0b7a2-3f4d-4c8e-9a1b-0d2e3f4a5b6c",
    };
    apr_pool_t *p = unit_pool(state);
    size_t i, k;

    for (i = 0; i < UNIT_ROWS(mounts); i++) {
        for (k = 0; k < UNIT_ROWS(ids); k++) {
            const char *path = ord_route_order_path(p, mounts[i].mount,
                                                    ids[k]);

            assert_string_equal(path, apr_pstrcat(p, mounts[i].base, "/",
                                                  ids[k], NULL));
            assert_string_equal(route_of(p, mounts[i].mount, "GET", path),
                                apr_pstrcat(p, "GET: ", ids[k], NULL));
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        UNIT_TABLE(route_cases),
        UNIT_TABLE(path_cases),
        cmocka_unit_test(test_order_path_of_valid_id_routes_back_to_it),
    };

    return cmocka_run_group_tests(tests, unit_group_setup, unit_group_teardown);
}
