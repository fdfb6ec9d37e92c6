/*
 * Unit tests of ord_route (mod_orders/ord_route.h): which action a method
 * and a path (httpd's r->uri) ask of the orders collection, under every
 * shape of mount (nested, trailing slash, the root), the Allow header of a
 * 405, the order id taken from the already decoded r->uri (never decoded a
 * second time) and the order URL built back from a mount and a valid id.
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

#define ALLOW_COLLECTION "GET, HEAD, POST"
#define ALLOW_ORDER      "GET, HEAD, DELETE"
#define ALLOW_POPULATE   "POST"

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
#define NMOUNTS (sizeof(mounts) / sizeof(mounts[0]))

static const char *action_name(ord_route_action_e a)
{
    switch (a) {
    case ORD_ROUTE_NOT_FOUND:          return "NOT_FOUND";
    case ORD_ROUTE_METHOD_NOT_ALLOWED: return "METHOD_NOT_ALLOWED";
    case ORD_ROUTE_CREATE:             return "CREATE";
    case ORD_ROUTE_LIST:               return "LIST";
    case ORD_ROUTE_POPULATE:           return "POPULATE";
    case ORD_ROUTE_GET:                return "GET";
    case ORD_ROUTE_CANCEL:             return "CANCEL";
    }
    return "(unknown action)";
}

static int same_text(const char *a, const char *b)
{
    if (a == NULL || b == NULL) {
        return a == b;
    }
    return strcmp(a, b) == 0;
}

/* Routes `method uri` under `mount` and checks the action, the order id (NULL: none expected) and the Allow header (NULL: none expected,
 * only checked for METHOD_NOT_ALLOWED).  A mismatch names the request. */
#define ROUTE(p, mount, method, uri, action, id, allow) \
    route_check_((p), (mount), (method), (uri), (action), (id), (allow), \
                 __FILE__, __LINE__)

static void route_check_(apr_pool_t *p, const char *mount, const char *method,
                         const char *uri, ord_route_action_e want_action,
                         const char *want_id, const char *want_allow,
                         const char *file, int line)
{
    ord_route_t r;
    int ok;

    memset(&r, 0x5a, sizeof(r));    /* garbage: the call must set it all */
    r.order_id = "(garbage)";
    r.allow = "(garbage)";
    ord_route_match(p, method, uri, mount, &r);

    ok = r.action == want_action;
    if (ok && (want_action == ORD_ROUTE_GET
               || want_action == ORD_ROUTE_CANCEL)) {
        ok = same_text(r.order_id, want_id);
    }
    if (ok && want_action == ORD_ROUTE_METHOD_NOT_ALLOWED) {
        ok = same_text(r.allow, want_allow);
    }
    if (!ok) {
        print_error("%s:%d: mount %s%s%s, %s %s\n"
                    "  expected %s id=%s allow=%s\n"
                    "  got      %s id=%s allow=%s\n",
                    file, line, mount ? "\"" : "",
                    mount ? mount : "NULL", mount ? "\"" : "", method, uri,
                    action_name(want_action), want_id ? want_id : "NULL",
                    want_allow ? want_allow : "NULL",
                    action_name(r.action),
                    (r.action == ORD_ROUTE_GET || r.action == ORD_ROUTE_CANCEL)
                        && r.order_id ? r.order_id : "-",
                    r.action == ORD_ROUTE_METHOD_NOT_ALLOWED && r.allow
                        ? r.allow : "-");
        fail();
    }
}

static const char *under(apr_pool_t *p, const mount_case_t *m,
                         const char *rest)
{
    return apr_pstrcat(p, m->base, rest, NULL);
}

/* The collection: "{mount}" and "{mount}/" (for the root only "/"). */

static void test_post_collection_is_create(void **state)
{
    apr_pool_t *p = unit_pool(state);
    apr_size_t i;

    for (i = 0; i < NMOUNTS; i++) {
        const mount_case_t *m = &mounts[i];
        if (*m->base) {
            ROUTE(p, m->mount, "POST", m->base, ORD_ROUTE_CREATE, NULL, NULL);
        }
        ROUTE(p, m->mount, "POST", under(p, m, "/"), ORD_ROUTE_CREATE, NULL,
              NULL);
    }
}

static void test_get_collection_with_and_without_slash_is_list(void **state)
{
    apr_pool_t *p = unit_pool(state);
    apr_size_t i;

    for (i = 0; i < NMOUNTS; i++) {
        const mount_case_t *m = &mounts[i];
        if (*m->base) {
            ROUTE(p, m->mount, "GET", m->base, ORD_ROUTE_LIST, NULL, NULL);
        }
        ROUTE(p, m->mount, "GET", under(p, m, "/"), ORD_ROUTE_LIST, NULL,
              NULL);
    }
}

static void test_head_collection_is_list(void **state)
{
    apr_pool_t *p = unit_pool(state);
    apr_size_t i;

    for (i = 0; i < NMOUNTS; i++) {
        const mount_case_t *m = &mounts[i];
        ROUTE(p, m->mount, "HEAD", under(p, m, "/"), ORD_ROUTE_LIST, NULL,
              NULL);
    }
    ROUTE(p, "/orders", "HEAD", "/orders", ORD_ROUTE_LIST, NULL, NULL);
}

static void test_other_methods_on_collection_are_405_get_head_post(
    void **state)
{
    apr_pool_t *p = unit_pool(state);
    static const char *methods[] = { "PUT", "DELETE", "PATCH" };
    apr_size_t i, k;

    for (i = 0; i < NMOUNTS; i++) {
        const mount_case_t *m = &mounts[i];
        for (k = 0; k < sizeof(methods) / sizeof(methods[0]); k++) {
            if (*m->base) {
                ROUTE(p, m->mount, methods[k], m->base,
                      ORD_ROUTE_METHOD_NOT_ALLOWED, NULL, ALLOW_COLLECTION);
            }
            ROUTE(p, m->mount, methods[k], under(p, m, "/"),
                  ORD_ROUTE_METHOD_NOT_ALLOWED, NULL, ALLOW_COLLECTION);
        }
    }
}

/* One order: "{mount}/{id}". */

static void test_get_order_is_get_with_its_id(void **state)
{
    apr_pool_t *p = unit_pool(state);
    apr_size_t i;

    for (i = 0; i < NMOUNTS; i++) {
        const mount_case_t *m = &mounts[i];
        ROUTE(p, m->mount, "GET", under(p, m, "/ORD1"), ORD_ROUTE_GET,
              "ORD1", NULL);
        ROUTE(p, m->mount, "GET", under(p, m, "/a.b_c:d-9"), ORD_ROUTE_GET,
              "a.b_c:d-9", NULL);
    }
}

static void test_head_order_is_get(void **state)
{
    apr_pool_t *p = unit_pool(state);
    apr_size_t i;

    for (i = 0; i < NMOUNTS; i++) {
        const mount_case_t *m = &mounts[i];
        ROUTE(p, m->mount, "HEAD", under(p, m, "/ORD1"), ORD_ROUTE_GET,
              "ORD1", NULL);
    }
}

static void test_delete_order_is_cancel_with_its_id(void **state)
{
    apr_pool_t *p = unit_pool(state);
    apr_size_t i;

    for (i = 0; i < NMOUNTS; i++) {
        const mount_case_t *m = &mounts[i];
        ROUTE(p, m->mount, "DELETE", under(p, m, "/ORD1"), ORD_ROUTE_CANCEL,
              "ORD1", NULL);
    }
}

static void test_other_methods_on_order_are_405_get_head_delete(void **state)
{
    apr_pool_t *p = unit_pool(state);
    static const char *methods[] = { "PUT", "POST", "PATCH" };
    apr_size_t i, k;

    for (i = 0; i < NMOUNTS; i++) {
        const mount_case_t *m = &mounts[i];
        for (k = 0; k < sizeof(methods) / sizeof(methods[0]); k++) {
            ROUTE(p, m->mount, methods[k], under(p, m, "/ORD1"),
                  ORD_ROUTE_METHOD_NOT_ALLOWED, NULL, ALLOW_ORDER);
        }
    }
}

/* "{mount}/populate". */

static void test_post_populate_is_populate(void **state)
{
    apr_pool_t *p = unit_pool(state);
    apr_size_t i;

    for (i = 0; i < NMOUNTS; i++) {
        const mount_case_t *m = &mounts[i];
        ROUTE(p, m->mount, "POST", under(p, m, "/populate"),
              ORD_ROUTE_POPULATE, NULL, NULL);
    }
}

static void test_other_methods_on_populate_are_405_post_only(void **state)
{
    apr_pool_t *p = unit_pool(state);
    static const char *methods[] = { "GET", "HEAD", "DELETE", "PUT" };
    apr_size_t i, k;

    for (i = 0; i < NMOUNTS; i++) {
        const mount_case_t *m = &mounts[i];
        for (k = 0; k < sizeof(methods) / sizeof(methods[0]); k++) {
            ROUTE(p, m->mount, methods[k], under(p, m, "/populate"),
                  ORD_ROUTE_METHOD_NOT_ALLOWED, NULL, ALLOW_POPULATE);
        }
    }
}

/* What is not ours. */

static void test_paths_outside_the_mount_are_not_found(void **state)
{
    apr_pool_t *p = unit_pool(state);

    ROUTE(p, "/orders", "GET", "/ordersX", ORD_ROUTE_NOT_FOUND, NULL, NULL);
    ROUTE(p, "/orders", "POST", "/ordersX", ORD_ROUTE_NOT_FOUND, NULL, NULL);
    ROUTE(p, "/orders", "GET", "/ordersXY", ORD_ROUTE_NOT_FOUND, NULL, NULL);
    ROUTE(p, "/orders", "DELETE", "/orders-old", ORD_ROUTE_NOT_FOUND, NULL,
          NULL);
    ROUTE(p, "/orders", "GET", "/orders.json", ORD_ROUTE_NOT_FOUND, NULL,
          NULL);
    ROUTE(p, "/orders", "POST", "/orderspopulate", ORD_ROUTE_NOT_FOUND, NULL,
          NULL);
    ROUTE(p, "/orders", "GET", "/orders-old/ORD1", ORD_ROUTE_NOT_FOUND, NULL,
          NULL);
    ROUTE(p, "/orders", "GET", "/order", ORD_ROUTE_NOT_FOUND, NULL, NULL);
    ROUTE(p, "/orders", "GET", "/Orders", ORD_ROUTE_NOT_FOUND, NULL, NULL);
    ROUTE(p, "/orders", "GET", "/other", ORD_ROUTE_NOT_FOUND, NULL, NULL);
    ROUTE(p, "/orders", "GET", "/", ORD_ROUTE_NOT_FOUND, NULL, NULL);
    ROUTE(p, "/orders/", "GET", "/ordersX", ORD_ROUTE_NOT_FOUND, NULL, NULL);
    ROUTE(p, "/api/v1/orders", "GET", "/api/v1/ordersX", ORD_ROUTE_NOT_FOUND,
          NULL, NULL);
    ROUTE(p, "/api/v1/orders", "GET", "/api/v1/orders2/ORD1",
          ORD_ROUTE_NOT_FOUND, NULL, NULL);
    ROUTE(p, "/orders/", "GET", "/ordersXY", ORD_ROUTE_NOT_FOUND, NULL, NULL);
    ROUTE(p, "/api/v1/orders", "GET", "/api/v1", ORD_ROUTE_NOT_FOUND, NULL,
          NULL);
    ROUTE(p, "/api/v1/orders", "GET", "/orders/ORD1", ORD_ROUTE_NOT_FOUND,
          NULL, NULL);
    ROUTE(p, "/api/v1/orders", "GET", "/other", ORD_ROUTE_NOT_FOUND, NULL,
          NULL);
}

static void test_paths_below_an_order_are_not_found(void **state)
{
    apr_pool_t *p = unit_pool(state);
    apr_size_t i;

    for (i = 0; i < NMOUNTS; i++) {
        const mount_case_t *m = &mounts[i];
        ROUTE(p, m->mount, "GET", under(p, m, "/a/b"), ORD_ROUTE_NOT_FOUND,
              NULL, NULL);
        ROUTE(p, m->mount, "DELETE", under(p, m, "/a/b"),
              ORD_ROUTE_NOT_FOUND, NULL, NULL);
        ROUTE(p, m->mount, "POST", under(p, m, "/populate/x"),
              ORD_ROUTE_NOT_FOUND, NULL, NULL);
        ROUTE(p, m->mount, "GET", under(p, m, "/ORD1/items/2"),
              ORD_ROUTE_NOT_FOUND, NULL, NULL);
    }
}

/* The uri is r->uri: httpd has decoded and normalised it already, and the
 * <Location> was matched against that text.  A '%' left in it was sent as
 * "%25" by the client, so decoding it again would change the id (and would
 * let "%252F" smuggle a '/' into an id). */

static void test_order_id_is_taken_verbatim_not_decoded_again(void **state)
{
    apr_pool_t *p = unit_pool(state);
    apr_size_t i;

    for (i = 0; i < NMOUNTS; i++) {
        const mount_case_t *m = &mounts[i];
        ROUTE(p, m->mount, "GET", under(p, m, "/A%3AB"), ORD_ROUTE_GET,
              "A%3AB", NULL);
        ROUTE(p, m->mount, "DELETE", under(p, m, "/%41%42"), ORD_ROUTE_CANCEL,
              "%41%42", NULL);
        ROUTE(p, m->mount, "GET", under(p, m, "/a%2Fb"), ORD_ROUTE_GET,
              "a%2Fb", NULL);
        ROUTE(p, m->mount, "GET", under(p, m, "/%G1"), ORD_ROUTE_GET,
              "%G1", NULL);
    }
}

static void test_encoded_populate_is_an_order_id_not_populate(void **state)
{
    apr_pool_t *p = unit_pool(state);

    /* r->uri "/orders/%70opulate" came from a client's "%2570opulate". */
    ROUTE(p, "/orders", "GET", "/orders/%70opulate", ORD_ROUTE_GET,
          "%70opulate", NULL);
    ROUTE(p, "/orders", "POST", "/orders/%70opulate",
          ORD_ROUTE_METHOD_NOT_ALLOWED, NULL, ALLOW_ORDER);
}

/* ord_route_order_path */

static void test_order_path_joins_mount_and_id(void **state)
{
    apr_pool_t *p = unit_pool(state);

    assert_string_equal(ord_route_order_path(p, "/orders", "ORD1"),
                        "/orders/ORD1");
    assert_string_equal(ord_route_order_path(p, "/api/v1/orders", "X1"),
                        "/api/v1/orders/X1");
}

static void test_order_path_drops_the_mounts_trailing_slash(void **state)
{
    apr_pool_t *p = unit_pool(state);

    assert_string_equal(ord_route_order_path(p, "/api/v1/orders/", "X1"),
                        "/api/v1/orders/X1");
    assert_string_equal(ord_route_order_path(p, "/orders/", "ORD1"),
                        "/orders/ORD1");
}

static void test_order_path_under_the_root(void **state)
{
    apr_pool_t *p = unit_pool(state);

    assert_string_equal(ord_route_order_path(p, "", "X1"), "/X1");
    assert_string_equal(ord_route_order_path(p, NULL, "X1"), "/X1");
    assert_string_equal(ord_route_order_path(p, "/", "X1"), "/X1");
}

/* Every valid order id character ([A-Za-z0-9._:-]) is URL-safe: the path
 * carries it as is, and (httpd decoding nothing in it) routes back to the
 * same id. */
static void test_order_path_of_valid_id_routes_back_to_it(void **state)
{
    apr_pool_t *p = unit_pool(state);
    static const char *ids[] = {
        "ORD1", "a.b_c:d-9", "123", "0", "x:y",
        "e5c0b7a2-3f4d-4c8e-9a1b-0d2e3f4a5b6c",
    };
    apr_size_t i, k;

    for (i = 0; i < NMOUNTS; i++) {
        for (k = 0; k < sizeof(ids) / sizeof(ids[0]); k++) {
            const char *path = ord_route_order_path(p, mounts[i].mount,
                                                    ids[k]);
            assert_string_equal(path, apr_pstrcat(p, mounts[i].base, "/",
                                                  ids[k], NULL));
            ROUTE(p, mounts[i].mount, "GET", path, ORD_ROUTE_GET, ids[k],
                  NULL);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_post_collection_is_create),
        cmocka_unit_test(test_get_collection_with_and_without_slash_is_list),
        cmocka_unit_test(test_head_collection_is_list),
        cmocka_unit_test(
            test_other_methods_on_collection_are_405_get_head_post),
        cmocka_unit_test(test_get_order_is_get_with_its_id),
        cmocka_unit_test(test_head_order_is_get),
        cmocka_unit_test(test_delete_order_is_cancel_with_its_id),
        cmocka_unit_test(test_other_methods_on_order_are_405_get_head_delete),
        cmocka_unit_test(test_post_populate_is_populate),
        cmocka_unit_test(test_other_methods_on_populate_are_405_post_only),
        cmocka_unit_test(test_paths_outside_the_mount_are_not_found),
        cmocka_unit_test(test_paths_below_an_order_are_not_found),
        cmocka_unit_test(test_order_id_is_taken_verbatim_not_decoded_again),
        cmocka_unit_test(test_encoded_populate_is_an_order_id_not_populate),
        cmocka_unit_test(test_order_path_joins_mount_and_id),
        cmocka_unit_test(test_order_path_drops_the_mounts_trailing_slash),
        cmocka_unit_test(test_order_path_under_the_root),
        cmocka_unit_test(test_order_path_of_valid_id_routes_back_to_it),
    };

    return cmocka_run_group_tests(tests, unit_group_setup,
                                  unit_group_teardown);
}
