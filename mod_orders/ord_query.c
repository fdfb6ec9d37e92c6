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
static int parse_bounded(const char *s, apr_int64_t min, apr_int64_t max,
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
    int i;

    for (i = 0; names[i] && strcmp(names[i], name) != 0; i++) {
    }
    if (!names[i]) {
        *error = apr_psprintf(p, "unknown query parameter \"%s\"; the list "
                              "takes status, user_id, limit and after", name);
        return APR_EINVAL;
    }
    if (*seen & (1u << i)) {
        *error = apr_psprintf(p, "query parameter %s given twice", name);
        return APR_EINVAL;
    }
    *seen |= 1u << i;
    switch (i) {
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
        if (!parse_bounded(value, 1, ORD_LIST_MAX_LIMIT, &n)) {
            *error = "limit must be a whole number from 1 to 1000";
            return APR_EINVAL;
        }
        q->limit = (int)n;
        return APR_SUCCESS;
    default:
        if (!parse_bounded(value, 1, APR_INT64_C(999999999999999999), &n)) {
            *error = "after must be the cursor from a previous page's next "
                     "link";
            return APR_EINVAL;
        }
        q->after = n;
        return APR_SUCCESS;
    }
}

apr_status_t ord_query_parse_list(apr_pool_t *p, const char *args,
                                  ord_list_query_t *q, const char **error)
{
    const char *s = args ? args : "";
    unsigned seen = 0;

    memset(q, 0, sizeof(*q));
    q->limit = ORD_LIST_DEFAULT_LIMIT;
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
            rv = set_param(p, q, name, value, &seen, error);
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

/* Percent-encodes everything but unreserved characters (RFC 3986). */
static const char *encode(apr_pool_t *p, const char *s)
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
        link = apr_pstrcat(p, link, "user_id=", encode(p, q->user_id), "&",
                           NULL);
    }
    return apr_psprintf(p, "%slimit=%d&after=%" APR_INT64_T_FMT, link,
                        q->limit, last);
}
