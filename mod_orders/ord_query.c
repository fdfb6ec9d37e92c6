/*
 * ord_query: the list's query string.  See ord_query.h.
 */
#include <stdlib.h>
#include <string.h>

#include <apr_strings.h>

#include "ord_query.h"

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

const char *ord_query_decode(apr_pool_t *p, const char *s, apr_size_t len)
{
    char *out = apr_palloc(p, len + 1), *o = out;
    apr_size_t i;

    for (i = 0; i < len; i++) {
        if (s[i] == '+') {
            *o++ = ' ';
        }
        else if (s[i] == '%') {
            int hi, lo;
            if (i + 2 >= len) {
                return NULL;
            }
            hi = hex_value(s[i + 1]);
            lo = hex_value(s[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                return NULL;
            }
            *o++ = (char)(hi * 16 + lo);
            i += 2;
        }
        else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

/* A whole number in [min, max] written in plain decimal digits. */
int ord_query_number(const char *s, apr_int64_t min, apr_int64_t max,
                         apr_int64_t *out)
{
    apr_int64_t v = 0;
    const char *c;

    if (!*s || strlen(s) > 18) {
        return 0;
    }
    for (c = s; *c; c++) {
        if (*c < '0' || *c > '9') {
            return 0;
        }
        v = v * 10 + (*c - '0');
    }
    if (v < min || v > max) {
        return 0;
    }
    *out = v;
    return 1;
}

static apr_status_t set_param(apr_pool_t *p, ord_list_query_t *q,
                              const char *name, const char *value,
                              unsigned *seen, const char **error)
{
    static const char *const names[] = { "status", "user_id", "limit",
                                         "after", NULL };
    apr_int64_t n;
    int i = ord_query_known(p, names, "the list", name, seen, error);

    switch (i) {
    case -1:
        return APR_EINVAL;
    case 0:
        if (ord_status_parse(value, &q->status) != APR_SUCCESS) {
            *error = "status must be Pending, Processing, Completed or "
                     "Cancelled";
            return APR_EINVAL;
        }
        q->has_status = 1;
        return APR_SUCCESS;
    case 1:
        if (!ord_user_id_text_valid(value, strlen(value))) {
            *error = "user_id must be 1 to 64 printable characters";
            return APR_EINVAL;
        }
        q->user_id = value;
        return APR_SUCCESS;
    case 2:
        return ord_query_limit(value, ORD_LIST_MAX_LIMIT, &q->limit, error);
    default:
        if (!ord_query_number(value, 1, APR_INT64_C(999999999999999999), &n)) {
            *error = "after must be the cursor from a previous page's next "
                     "link";
            return APR_EINVAL;
        }
        q->after = n;
        return APR_SUCCESS;
    }
}

apr_status_t ord_query_limit(const char *value, int max, int *limit,
                             const char **error)
{
    apr_int64_t n;

    if (!ord_query_number(value, 1, max, &n)) {
        *error = max == 1000 ? "limit must be a whole number from 1 to 1000"
                             : "limit is out of range";
        return APR_EINVAL;
    }
    *limit = (int)n;
    return APR_SUCCESS;
}

int ord_query_known(apr_pool_t *p, const char *const *names,
                    const char *what, const char *name, unsigned *seen,
                    const char **error)
{
    const char *all = names[0];
    int i, k;

    for (i = 0; names[i] && strcmp(names[i], name) != 0; i++) {
    }
    if (!names[i]) {
        for (k = 1; names[k]; k++) {
            all = apr_pstrcat(p, all, names[k + 1] ? ", " : " and ", names[k],
                              NULL);
        }
        *error = apr_psprintf(p, "unknown query parameter \"%s\"; %s takes "
                              "%s", name, what, all);
        return -1;
    }
    if (*seen & (1u << i)) {
        *error = apr_psprintf(p, "query parameter %s given twice", name);
        return -1;
    }
    *seen |= 1u << i;
    return i;
}

apr_status_t ord_query_each(apr_pool_t *p, const char *args,
                           ord_query_param_fn *fn, void *ctx,
                           const char **error)
{
    const char *s = args ? args : "";
    unsigned seen = 0;

    while (*s) {
        const char *end = strchr(s, '&'), *eq, *name, *value;
        apr_size_t len = end ? (apr_size_t)(end - s) : strlen(s);
        apr_status_t rv;

        if (len > 0) {
            eq = memchr(s, '=', len);
            name = ord_query_decode(p, s, eq ? (apr_size_t)(eq - s) : len);
            if (!name) {
                *error = "a query parameter's name has a malformed %-escape";
                return APR_EINVAL;
            }
            if (!eq) {
                *error = apr_psprintf(p, "query parameter %s needs a value "
                                      "(%s=...)", name, name);
                return APR_EINVAL;
            }
            value = ord_query_decode(p, eq + 1, len - (apr_size_t)(eq - s) - 1);
            if (!value) {
                *error = apr_psprintf(p, "query parameter %s has a malformed "
                                      "%%-escape", name);
                return APR_EINVAL;
            }
            rv = fn(p, ctx, name, value, &seen, error);
            if (rv != APR_SUCCESS) {
                return rv;
            }
        }
        s += len;
        if (*s == '&') {
            s++;
        }
    }
    return APR_SUCCESS;
}

static apr_status_t set_list_param(apr_pool_t *p, void *q, const char *name,
                                   const char *value, unsigned *seen,
                                   const char **error)
{
    return set_param(p, q, name, value, seen, error);
}

apr_status_t ord_query_parse_list(apr_pool_t *p, const char *args,
                                  ord_list_query_t *q, const char **error)
{
    memset(q, 0, sizeof(*q));
    q->limit = ORD_LIST_DEFAULT_LIMIT;
    return ord_query_each(p, args, set_list_param, q, error);
}

/* Percent-encodes everything but unreserved characters (RFC 3986). */
const char *ord_query_encode(apr_pool_t *p, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = apr_palloc(p, strlen(s) * 3 + 1), *o = out;

    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
            || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
            || c == '~') {
            *o++ = (char)c;
        }
        else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    return out;
}

const char *ord_query_next_link(apr_pool_t *p, const char *mount,
                                const ord_list_query_t *q, apr_int64_t last)
{
    apr_size_t mlen = mount ? strlen(mount) : 0;
    const char *link;

    while (mlen > 1 && mount[mlen - 1] == '/') {
        mlen--;
    }
    link = apr_pstrcat(p, mlen ? apr_pstrmemdup(p, mount, mlen) : "/", "?",
                       NULL);
    if (q->has_status) {
        link = apr_pstrcat(p, link, "status=", ord_status_name(q->status),
                           "&", NULL);
    }
    if (q->user_id) {
        link = apr_pstrcat(p, link, "user_id=", ord_query_encode(p, q->user_id), "&",
                           NULL);
    }
    return apr_psprintf(p, "%slimit=%d&after=%" APR_INT64_T_FMT, link,
                        q->limit, last);
}
