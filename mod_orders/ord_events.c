/*
 * ord_events: the feed's query, cursor and links; ETags and Prefer.  See
 * ord_events.h.
 */
#include <string.h>

#include <apr_lib.h>
#include <apr_strings.h>

#include "ord_events.h"
#include "ord_query.h"

static const char *const event_types[] = {
    "order.created", "order.processing", "order.completed",
    "order.cancelled", NULL
};

static apr_status_t set_param(apr_pool_t *p, void *ctx, const char *name,
                              const char *value, unsigned *seen,
                              const char **error)
{
    static const char *const names[] = { "limit", "after", "order_id",
                                         "type", "wait", "delivery", NULL };
    static const char *const states[] = { "pending", "delivered", "failed",
                                          NULL };
    ord_event_query_t *q = ctx;
    apr_int64_t n;
    int i = ord_query_known(p, names, "the events feed", name, seen, error);

    if (i == 0) {
        return ord_query_limit(value, ORD_EVENTS_MAX_LIMIT, &q->limit, error);
    }
    switch (i) {
    case 1:
        if (ord_events_cursor_parse(value, &q->after) != APR_SUCCESS) {
            *error = "after must be the cursor from a previous page's next "
                     "link";
            return APR_EINVAL;
        }
        q->has_after = 1;
        return APR_SUCCESS;
    case 2:
        if (!ord_order_id_text_valid(value, strlen(value))) {
            *error = "order_id must be 1 to 64 characters of A-Z, a-z, 0-9, "
                     "'.', '_', ':' and '-'";
            return APR_EINVAL;
        }
        q->order_id = value;
        return APR_SUCCESS;
    case 3:
        for (n = 0; event_types[n] && strcmp(event_types[n], value) != 0;
             n++) {
        }
        if (!event_types[n]) {
            *error = "type must be order.created, order.processing, "
                     "order.completed or order.cancelled";
            return APR_EINVAL;
        }
        q->type = event_types[n];
        return APR_SUCCESS;
    case 4:
        if (!ord_query_number(value, 0, ORD_EVENTS_MAX_WAIT, &n)) {
            *error = "wait must be a whole number of seconds from 0 to 30";
            return APR_EINVAL;
        }
        q->wait = (int)n;
        return APR_SUCCESS;
    case 5:
        for (n = 0; states[n] && strcmp(states[n], value) != 0; n++) {
        }
        if (!states[n]) {
            *error = "delivery must be pending, delivered or failed";
            return APR_EINVAL;
        }
        q->delivery = states[n];
        return APR_SUCCESS;
    default:
        return APR_EINVAL;  /* unknown or twice: *error says which */
    }
}

apr_status_t ord_events_parse_query(apr_pool_t *p, const char *args,
                                    ord_event_query_t *q, const char **error)
{
    memset(q, 0, sizeof(*q));
    q->limit = ORD_EVENTS_DEFAULT_LIMIT;
    return ord_query_each(p, args, set_param, q, error);
}

/* "<xid>-<seq>" in decimal: short, URL-safe, and read back strictly. */
const char *ord_events_cursor_text(apr_pool_t *p, ord_event_cursor_t c)
{
    return apr_psprintf(p, "%" APR_INT64_T_FMT "-%" APR_INT64_T_FMT, c.xid,
                        c.seq);
}

apr_status_t ord_events_cursor_parse(const char *text, ord_event_cursor_t *c)
{
    const char *dash = text ? strchr(text, '-') : NULL;
    char xid[20];
    apr_int64_t x, s;

    if (!dash || dash - text >= (int)sizeof(xid) || dash == text) {
        return APR_EINVAL;
    }
    memcpy(xid, text, dash - text);
    xid[dash - text] = '\0';
    if (!ord_query_number(xid, 0, APR_INT64_C(999999999999999999), &x)
        || !ord_query_number(dash + 1, 0, APR_INT64_C(999999999999999999),
                             &s)) {
        return APR_EINVAL;
    }
    c->xid = x;
    c->seq = s;
    return APR_SUCCESS;
}

const char *ord_events_next_link(apr_pool_t *p, const char *mount,
                                 const ord_event_query_t *q,
                                 ord_event_cursor_t last)
{
    apr_size_t mlen = mount ? strlen(mount) : 0;
    const char *link;

    while (mlen > 0 && mount[mlen - 1] == '/') {
        mlen--;
    }
    link = apr_pstrcat(p, apr_pstrmemdup(p, mount ? mount : "", mlen),
                       "/events?", NULL);
    if (q->order_id) {
        link = apr_pstrcat(p, link, "order_id=", q->order_id, "&", NULL);
    }
    if (q->type) {
        link = apr_pstrcat(p, link, "type=", q->type, "&", NULL);
    }
    if (q->delivery) {
        link = apr_pstrcat(p, link, "delivery=", q->delivery, "&", NULL);
    }
    if (q->wait) {
        link = apr_psprintf(p, "%swait=%d&", link, q->wait);
    }
    return apr_psprintf(p, "%slimit=%d&after=%s", link, q->limit,
                        ord_events_cursor_text(p, last));
}

const char *ord_events_id(apr_pool_t *p, apr_int64_t seq)
{
    return apr_psprintf(p, "evt_%" APR_INT64_T_FMT, seq);
}

const char *ord_order_etag(apr_pool_t *p, const ord_order_t *o)
{
    return apr_psprintf(p, "\"%" APR_UINT64_T_HEX_FMT "-%s\"",
                        (apr_uint64_t)o->updated_at,
                        ord_status_name(o->status));
}

/* Skips spaces and tabs. */
static const char *skip_ows(const char *s)
{
    while (*s == ' ' || *s == '\t') {
        s++;
    }
    return s;
}

int ord_etag_matches(const char *if_none_match, const char *etag)
{
    apr_size_t want = strlen(etag);
    const char *s;
    int found = 0;

    if (!if_none_match) {
        return 0;
    }
    s = skip_ows(if_none_match);
    if (*s == '*' && *skip_ows(s + 1) == '\0') {
        return 1;
    }
    /* A value that is not a list of entity tags matches nothing, even if
     * one of its tags is ours. */
    while (*s) {
        const char *end;
        if (s[0] == 'W' && s[1] == '/') {
            s += 2;     /* weak comparison: W/"x" matches "x" */
        }
        if (*s != '"' || !(end = strchr(s + 1, '"'))) {
            return 0;
        }
        if ((apr_size_t)(end + 1 - s) == want && strncmp(s, etag, want) == 0) {
            found = 1;
        }
        s = skip_ows(end + 1);
        if (*s == ',') {
            s = skip_ows(s + 1);
        }
        else if (*s) {
            return 0;
        }
    }
    return found;
}

int ord_prefer_wait(const char *prefer)
{
    const char *s = prefer;

    /* Preferences are comma-separated tokens, each "name[=value]" with
     * parameters after ';'; names are case-insensitive. */
    while (s && *s) {
        s = skip_ows(s);
        if (strncasecmp(s, "wait", 4) == 0) {
            const char *v = skip_ows(s + 4);
            if (*v == '=') {
                apr_int64_t n = 0;
                int digits = 0;
                v = skip_ows(v + 1);
                while (apr_isdigit(*v) && digits < 12) {
                    n = n * 10 + (*v++ - '0');
                    digits++;
                }
                v = skip_ows(v);
                if (digits > 0 && digits < 12
                    && (*v == '\0' || *v == ',' || *v == ';') && n > 0) {
                    return n > ORD_PREFER_MAX_WAIT ? ORD_PREFER_MAX_WAIT
                                                   : (int)n;
                }
            }
        }
        s = strchr(s, ',');
        if (s) {
            s++;
        }
    }
    return 0;
}
