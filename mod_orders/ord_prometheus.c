/*
 * ord_prometheus: the Prometheus text format of the metrics and the Accept
 * negotiation.  See ord_prometheus.h.
 */
#include <string.h>
#include <strings.h>

#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_tables.h>

#include "ord_order.h"
#include "ord_prometheus.h"
#include "ord_totals.h"

const char *ord_prometheus_seconds(apr_pool_t *p, apr_uint64_t us)
{
    apr_uint64_t whole = us / APR_USEC_PER_SEC;
    apr_uint64_t frac = us % APR_USEC_PER_SEC;
    char digits[8];
    int n;

    if (frac == 0) {
        return apr_psprintf(p, "%" APR_UINT64_T_FMT, whole);
    }
    /* Six digits, then without the zeros at the end: 0.050000 -> 0.05. */
    apr_snprintf(digits, sizeof(digits), "%06" APR_UINT64_T_FMT, frac);
    for (n = 6; digits[n - 1] == '0'; n--) {
    }
    digits[n] = '\0';
    return apr_psprintf(p, "%" APR_UINT64_T_FMT ".%s", whole, digits);
}

/* Appends one family's # HELP and # TYPE lines. */
static void family(apr_array_header_t *out, const char *name,
                   const char *type, const char *help)
{
    APR_ARRAY_PUSH(out, const char *) =
        apr_pstrcat(out->pool, "# HELP ", name, " ", help, "\n# TYPE ", name,
                    " ", type, "\n", NULL);
}

/* Appends one sample line: name{labels} value. */
static void sample(apr_array_header_t *out, const char *name,
                   const char *labels, const char *value)
{
    APR_ARRAY_PUSH(out, const char *) =
        apr_pstrcat(out->pool, name, labels ? labels : "", " ", value, "\n",
                    NULL);
}

static const char *u64(apr_pool_t *p, apr_uint64_t v)
{
    return apr_psprintf(p, "%" APR_UINT64_T_FMT, v);
}

const char *ord_prometheus_text(apr_pool_t *p, const ord_metrics_snapshot_t *s)
{
    apr_array_header_t *out = apr_array_make(p, 48, sizeof(const char *));
    apr_uint64_t total = 0, cumulative = 0;
    const struct {
        const char *name, *type, *help, *value;
    } hooks[] = {
        { "mod_orders_webhooks_delivered_total", "counter",
          "Webhook events this server delivered (answered 2xx).",
          u64(p, s->webhooks.delivered) },
        { "mod_orders_webhooks_failed_total", "counter",
          "Webhook events this server gave up (410, or the last attempt "
          "failed).", u64(p, s->webhooks.failed) },
        { "mod_orders_webhooks_retried_total", "counter",
          "Webhook attempts of this server that failed and are tried again.",
          u64(p, s->webhooks.retried) },
        { "mod_orders_webhooks_pending", "gauge",
          "Webhook events not yet delivered nor given up, in the database.",
          u64(p, s->webhooks.pending) },
        { "mod_orders_webhooks_oldest_pending_seconds", "gauge",
          "Age of the oldest webhook event not yet delivered nor given up; "
          "0 when there is none.",
          ord_prometheus_seconds(p, s->webhooks.oldest_pending_us) },
    };
    int i;

    family(out, "mod_orders_orders", "gauge",
           "Orders stored, by status.");
    for (i = 0; i < ORD_STATUS_COUNT; i++) {
        total += s->count[i];
        sample(out, "mod_orders_orders",
               apr_psprintf(p, "{status=\"%s\"}",
                            ord_status_name((ord_status_e)i)),
               u64(p, s->count[i]));
    }
    family(out, "mod_orders_orders_created_total", "counter",
           "Orders created (stored), whatever their status now.");
    sample(out, "mod_orders_orders_created_total", NULL, u64(p, total));
    family(out, "mod_orders_orders_completed_total", "counter",
           "Orders that completed processing.");
    sample(out, "mod_orders_orders_completed_total", NULL,
           u64(p, s->count[ORD_COMPLETED]));

    /* _count is the +Inf bucket, not count[ORD_COMPLETED]: the two are
     * read at different instants, and a histogram must agree with
     * itself. */
    family(out, "mod_orders_processing_seconds", "histogram",
           "Time from the start of processing to completion of the "
           "completed orders.");
    for (i = 0; i < ORD_PROCESSING_BUCKETS; i++) {
        const char *le = i < ORD_PROCESSING_BUCKETS - 1
            ? ord_prometheus_seconds(
                  p, (apr_uint64_t)ord_processing_bounds_us[i])
            : "+Inf";
        cumulative += s->processing_buckets[i];
        sample(out, "mod_orders_processing_seconds_bucket",
               apr_pstrcat(p, "{le=\"", le, "\"}", NULL),
               u64(p, cumulative));
    }
    sample(out, "mod_orders_processing_seconds_sum", NULL,
           ord_prometheus_seconds(p, s->processing_us_sum));
    sample(out, "mod_orders_processing_seconds_count", NULL,
           u64(p, cumulative));
    /* With the histogram's sum, the time orders waited before their
     * processing began: what "orders waiting too long" is measured by. */
    family(out, "mod_orders_completion_seconds_total", "counter",
           "Seconds from creation to completion, summed over the completed "
           "orders.");
    sample(out, "mod_orders_completion_seconds_total", NULL,
           ord_prometheus_seconds(p, s->from_creation_us_sum));

    family(out, "mod_orders_queue_depth", "gauge",
           "Orders the children hold in memory, waiting for a thread or "
           "out their processing time.");
    sample(out, "mod_orders_queue_depth", NULL, u64(p, s->queue_depth));
    family(out, "mod_orders_workers_busy", "gauge",
           "Processing threads running a step right now.");
    sample(out, "mod_orders_workers_busy", NULL, u64(p, s->workers_busy));
    family(out, "mod_orders_uptime_seconds", "gauge",
           "Seconds since the server's metrics were set up.");
    sample(out, "mod_orders_uptime_seconds", NULL,
           apr_psprintf(p, "%" APR_INT64_T_FMT,
                        s->uptime_seconds > 0 ? s->uptime_seconds : 0));

    family(out, "mod_orders_answers_total", "counter",
           "Answers of the module since the server started, by outcome "
           "(the orders-outcome request note).");
    for (i = 0; i < ORD_OUTCOME_COUNT; i++) {
        sample(out, "mod_orders_answers_total",
               apr_psprintf(p, "{outcome=\"%s\"}",
                            ord_outcome_name((ord_outcome_e)i)),
               u64(p, s->answers[i]));
    }
    for (i = 0; i < (int)(sizeof(hooks) / sizeof(hooks[0])); i++) {
        family(out, hooks[i].name, hooks[i].type, hooks[i].help);
        sample(out, hooks[i].name, NULL, hooks[i].value);
    }
    return apr_array_pstrcat(p, out, '\0');
}

/* ------------------------------------------------------------------ */
/* Accept                                                              */
/* ------------------------------------------------------------------ */

/* The media types we can answer with, and what the Accept header gives
 * each: the specificity of the best range that matched (-1: none) and that
 * range's quality in thousandths. */
enum { OFFER_JSON, OFFER_TEXT, OFFER_OPENMETRICS, OFFER_COUNT };

static const struct {
    const char *type;
    const char *subtype;
} offers[OFFER_COUNT] = {
    { "application", "json" },
    { "text", "plain" },
    { "application", "openmetrics-text" },
};

typedef struct {
    int specificity;
    int q;
} offer_match_t;

#define IS_OWS(c) ((c) == ' ' || (c) == '\t')

/* tchar of RFC 9110 section 5.6.2. */
static int is_tchar(char c)
{
    return apr_isalnum(c) || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c));
}

static const char *skip_ows(const char *c)
{
    while (IS_OWS(*c)) {
        c++;
    }
    return c;
}

/* A token at *c: its length (0: none); *c moves past it. */
static apr_size_t token(const char **c)
{
    const char *start = *c;

    while (is_tchar(**c)) {
        (*c)++;
    }
    return (apr_size_t)(*c - start);
}

/* A quoted-string at *c (which is at the opening quote); 0 when it does
 * not end. */
static int quoted(const char **c)
{
    const char *t = *c + 1;

    while (*t && *t != '"') {
        if (*t == '\\' && t[1]) {
            t++;
        }
        t++;
    }
    if (*t != '"') {
        return 0;
    }
    *c = t + 1;
    return 1;
}

/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ), in
 * thousandths; -1 when the text is not one. */
static int qvalue(const char *v, apr_size_t len)
{
    int q, scale = 100;
    apr_size_t i;

    if (len == 0 || (v[0] != '0' && v[0] != '1')) {
        return -1;
    }
    q = (v[0] - '0') * 1000;
    if (len == 1) {
        return q;
    }
    if (v[1] != '.' || len > 5) {
        return -1;
    }
    for (i = 2; i < len; i++, scale /= 10) {
        if (!apr_isdigit(v[i])) {
            return -1;
        }
        q += (v[i] - '0') * scale;
    }
    return q > 1000 ? -1 : q;
}

static int range_matches(const char *type, apr_size_t tlen,
                         const char *sub, apr_size_t slen, int offer,
                         int *specificity)
{
    const char *ot = offers[offer].type, *os = offers[offer].subtype;

    if (tlen == 1 && type[0] == '*') {
        *specificity = 0;
        return slen == 1 && sub[0] == '*';
    }
    if (tlen != strlen(ot) || strncasecmp(type, ot, tlen) != 0) {
        return 0;
    }
    if (slen == 1 && sub[0] == '*') {
        *specificity = 1;
        return 1;
    }
    *specificity = 2;
    return slen == strlen(os) && strncasecmp(sub, os, slen) == 0;
}

/* Parses one element of the list at *c (up to its ',' or the end) and
 * records it in `m`; an element that does not parse is skipped.  Returns 0
 * when a quoted string never ends: then nothing in the header can be
 * trusted to be where it seems. */
static int accept_element(const char **c, offer_match_t m[OFFER_COUNT])
{
    const char *type, *sub;
    apr_size_t tlen, slen;
    int q = 1000, valid = 1, i;

    type = *c;
    tlen = token(c);
    if (tlen > 0 && **c == '/') {
        (*c)++;
        sub = *c;
        slen = token(c);
    }
    else {
        sub = NULL;
        slen = 0;
    }
    if (tlen == 0 || slen == 0
        || (tlen == 1 && type[0] == '*' && !(slen == 1 && sub[0] == '*'))) {
        valid = 0;
    }
    /* Parameters: the q one matters, the others are accepted and ignored
     * (we serve one version of each format). */
    for (;;) {
        const char *name, *value;
        apr_size_t nlen, vlen;

        *c = skip_ows(*c);
        if (**c != ';') {
            break;
        }
        *c = skip_ows(*c + 1);
        name = *c;
        nlen = token(c);
        if (nlen == 0 || **c != '=') {
            valid = 0;
            break;
        }
        (*c)++;
        value = *c;
        if (**c == '"') {
            if (!quoted(c)) {
                return 0;
            }
            vlen = 0;
        }
        else {
            vlen = token(c);
        }
        if (nlen == 1 && apr_tolower(name[0]) == 'q') {
            q = qvalue(value, vlen);
            if (q < 0) {
                valid = 0;
            }
        }
    }
    /* Anything else before the next ',' makes this element void. */
    while (**c && **c != ',') {
        if (**c == '"') {
            if (!quoted(c)) {
                return 0;
            }
            valid = 0;
            continue;
        }
        if (!IS_OWS(**c)) {
            valid = 0;
        }
        (*c)++;
    }
    if (!valid) {
        return 1;
    }
    for (i = 0; i < OFFER_COUNT; i++) {
        int specificity;
        if (!range_matches(type, tlen, sub, slen, i, &specificity)) {
            continue;
        }
        if (specificity > m[i].specificity) {
            m[i].specificity = specificity;
            m[i].q = q;
        }
        else if (specificity == m[i].specificity && q > m[i].q) {
            m[i].q = q;
        }
    }
    return 1;
}

int ord_prometheus_wanted(const char *accept)
{
    offer_match_t m[OFFER_COUNT];
    const char *c = accept;
    int i, text_q;

    if (!accept) {
        return 0;
    }
    for (i = 0; i < OFFER_COUNT; i++) {
        m[i].specificity = -1;
        m[i].q = 0;
    }
    while (*c) {
        c = skip_ows(c);
        if (*c == ',') {
            c++;
            continue;
        }
        if (!*c) {
            break;
        }
        if (!accept_element(&c, m)) {
            return 0;
        }
    }
    text_q = m[OFFER_TEXT].q > m[OFFER_OPENMETRICS].q ? m[OFFER_TEXT].q
                                                      : m[OFFER_OPENMETRICS].q;
    return text_q > m[OFFER_JSON].q;
}
