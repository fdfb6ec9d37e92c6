/*
 * libFuzzer target: the list's query string.  Beyond not crashing: a query
 * that parses gives a next link whose query parses back to the same
 * filters, limit and cursor.
 */
#include <string.h>

#include "fuzz_support.h"
#include "ord_query.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    apr_pool_t *p = fuzz_input_pool();
    const char *args = apr_pstrmemdup(p, (const char *)data, size);
    const char *error = NULL, *link;
    ord_list_query_t q, back;

    if (ord_query_parse_list(p, args, &q, &error) == APR_SUCCESS) {
        link = ord_query_next_link(p, "/orders", &q, 42);
        FUZZ_ASSERT(strncmp(link, "/orders?", 8) == 0);
        FUZZ_ASSERT(ord_query_parse_list(p, link + 8, &back, &error)
                    == APR_SUCCESS);
        FUZZ_ASSERT(back.has_status == q.has_status);
        FUZZ_ASSERT(!q.has_status || back.status == q.status);
        FUZZ_ASSERT((back.user_id == NULL) == (q.user_id == NULL));
        FUZZ_ASSERT(!q.user_id || strcmp(back.user_id, q.user_id) == 0);
        FUZZ_ASSERT(back.limit == q.limit && back.after == 42);
    }
    else {
        FUZZ_ASSERT(error != NULL && *error != '\0');
    }
    apr_pool_destroy(p);
    return 0;
}
