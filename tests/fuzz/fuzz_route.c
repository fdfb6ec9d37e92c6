/*
 * libFuzzer target: the router on any method, path and mount (the input is
 * split at its first two NUL bytes).  Beyond not crashing: an Allow header
 * comes exactly with 405, GET and DELETE of one order carry its id, and the
 * path of a routed order routes back to it.
 */
#include <string.h>

#include "fuzz_support.h"
#include "ord_route.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    apr_pool_t *p = fuzz_input_pool();
    char *text = apr_pstrmemdup(p, (const char *)data, size);
    const char *parts[3] = { "GET", "", "/orders" };
    ord_route_t route, back;
    size_t i, start = 0;
    int n = 0;

    for (i = 0; i <= size && n < 3; i++) {
        if (i == size || text[i] == '\0') {
            parts[n++] = text + start;
            start = i + 1;
        }
    }
    ord_route_match(p, parts[0], parts[1], parts[2], &route);
    FUZZ_ASSERT((route.allow != NULL)
                == (route.action == ORD_ROUTE_METHOD_NOT_ALLOWED));
    FUZZ_ASSERT(route.order_id != NULL
                || (route.action != ORD_ROUTE_GET
                    && route.action != ORD_ROUTE_CANCEL));
    if (route.action == ORD_ROUTE_GET) {
        ord_route_match(p, "GET",
                        ord_route_order_path(p, parts[2], route.order_id),
                        parts[2], &back);
        FUZZ_ASSERT(back.action == ORD_ROUTE_GET);
        FUZZ_ASSERT(strcmp(back.order_id, route.order_id) == 0);
    }
    apr_pool_destroy(p);
    return 0;
}
