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

/* Percent-encodes all but RFC 3986's unreserved characters. */
const char *ord_query_encode(apr_pool_t *p, const char *s);

/* One parameter of a query string, decoded; `seen` is the caller's set of
 * parameters met so far (bits), for refusing one given twice. */
typedef apr_status_t ord_query_param_fn(apr_pool_t *p, void *ctx,
                                        const char *name, const char *value,
                                        unsigned *seen, const char **error);

/* Walks the name=value pairs of `args`, decoding each; a pair without '='
 * or with a malformed escape is refused here, with a message naming it. */
apr_status_t ord_query_each(apr_pool_t *p, const char *args,
                           ord_query_param_fn *fn, void *ctx,
                           const char **error);

/* `limit=` from 1 to `max` (1000 for both the list and the feed). */
apr_status_t ord_query_limit(const char *value, int max, int *limit,
                             const char **error);

/* The index of `name` in `names` (NULL-terminated), marked in *seen; -1
 * with *error set when it is unknown ("... `what` takes a, b and c") or
 * was seen before. */
int ord_query_known(apr_pool_t *p, const char *const *names,
                    const char *what, const char *name, unsigned *seen,
                    const char **error);

/* 1 and *out set when `s` is a decimal number (no sign) in [min, max]. */
int ord_query_number(const char *s, apr_int64_t min, apr_int64_t max,
                     apr_int64_t *out);

#endif /* ORD_QUERY_H */
