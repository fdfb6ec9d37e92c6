/*
 * ord_query: the query string of GET {mount} (the list) and the link to its
 * next page.
 *
 * Strict, like the body: every parameter known, none twice, each value
 * checked; the message of a failure names the parameter.  The cursor is
 * opaque to clients: it is the position of the last order of the previous
 * page, so a page is a keyset range and stays right while orders are added.
 * Pure C and APR: no httpd header.
 */
#ifndef ORD_QUERY_H
#define ORD_QUERY_H

#include <apr_pools.h>

#include "ord_order.h"

#define ORD_LIST_DEFAULT_LIMIT 50
#define ORD_LIST_MAX_LIMIT     1000

typedef struct {
    int has_status;
    ord_status_e status;
    const char *user_id;    /* NULL: every user's */
    apr_int64_t after;      /* cursor: 0 for the first page */
    int limit;
} ord_list_query_t;

/* Parses `args` (the raw query string after '?', NULL or "" for none).
 * APR_SUCCESS with *q set, or APR_EINVAL with *error naming the
 * parameter. */
apr_status_t ord_query_parse_list(apr_pool_t *p, const char *args,
                                  ord_list_query_t *q, const char **error);

/* "{mount}?status=..&user_id=..&limit=..&after=<cursor>": the link to the
 * page after the one that ended at `last`, with the same filters. */
const char *ord_query_next_link(apr_pool_t *p, const char *mount,
                                const ord_list_query_t *q, apr_int64_t last);

/* Percent-decodes a query component ('+' is a space).  NULL when an escape
 * is malformed or decodes to NUL. */
const char *ord_query_decode(apr_pool_t *p, const char *s, apr_size_t len);

#endif /* ORD_QUERY_H */
