/*
 * Unit tests of ord_prometheus (mod_orders/ord_prometheus.h): the Prometheus
 * text of a known snapshot, byte for byte; cumulative histogram buckets;
 * exact seconds from microseconds; the Accept negotiation, q-values and
 * specificity included.  When promtool is installed, the text of a snapshot
 * with extreme values also passes `promtool check metrics` with no lint
 * problem.  Also here: ord_metrics_json_with_ids (ord_metrics.h), the JSON of
 * ?order_ids=true, parsed back with json-c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <apr_strings.h>
#include <apr_tables.h>

#include "unit_support.h"
#include "unit_json.h"
#include "ord_metrics.h"
#include "ord_prometheus.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

/* A snapshot with a little of everything: Completed orders in the first,
 * a middle and the last (+Inf) bucket. */
static const ord_metrics_snapshot_t known = {
    .count = { [ORD_PENDING] = 5, [ORD_PROCESSING] = 15,
               [ORD_COMPLETED] = 980, [ORD_CANCELLED] = 2 },
    .processing_us_sum = APR_UINT64_C(1970123456),      /* 1970.123456 s */
    .from_creation_us_sum = APR_UINT64_C(2303000000),
    .processing_buckets = { [0] = 10,                   /* <= 0.05 s */
                            [5] = 960,                  /* (1, 2] s */
                            [ORD_PROCESSING_BUCKETS - 1] = 10 }, /* > 60 s */
    .queue_depth = 5,
    .workers_busy = 3,
    .uptime_seconds = 3600,
    .webhooks = { .delivered = 2940, .failed = 3, .retried = 17,
                  .pending = 12, .oldest_pending_us = 4250000 },
    .answers = { [ORD_OUTCOME_CREATED] = 1002, [ORD_OUTCOME_FOUND] = 40,
                 [ORD_OUTCOME_UNAVAILABLE] = 2 },
};

static ord_metrics_snapshot_t known_snapshot(void)
{
    return known;
}

static const char known_text[] =
    "# HELP mod_orders_orders Orders stored, by status.\n"
    "# TYPE mod_orders_orders gauge\n"
    "mod_orders_orders{status=\"Pending\"} 5\n"
    "mod_orders_orders{status=\"Processing\"} 15\n"
    "mod_orders_orders{status=\"Completed\"} 980\n"
    "mod_orders_orders{status=\"Cancelled\"} 2\n"
    "# HELP mod_orders_orders_created_total Orders created (stored), "
    "whatever their status now.\n"
    "# TYPE mod_orders_orders_created_total counter\n"
    "mod_orders_orders_created_total 1002\n"
    "# HELP mod_orders_orders_completed_total Orders that completed "
    "processing.\n"
    "# TYPE mod_orders_orders_completed_total counter\n"
    "mod_orders_orders_completed_total 980\n"
    "# HELP mod_orders_processing_seconds Time from the start of processing "
    "to completion of the completed orders.\n"
    "# TYPE mod_orders_processing_seconds histogram\n"
    "mod_orders_processing_seconds_bucket{le=\"0.05\"} 10\n"
    "mod_orders_processing_seconds_bucket{le=\"0.1\"} 10\n"
    "mod_orders_processing_seconds_bucket{le=\"0.25\"} 10\n"
    "mod_orders_processing_seconds_bucket{le=\"0.5\"} 10\n"
    "mod_orders_processing_seconds_bucket{le=\"1\"} 10\n"
    "mod_orders_processing_seconds_bucket{le=\"2\"} 970\n"
    "mod_orders_processing_seconds_bucket{le=\"3\"} 970\n"
    "mod_orders_processing_seconds_bucket{le=\"5\"} 970\n"
    "mod_orders_processing_seconds_bucket{le=\"10\"} 970\n"
    "mod_orders_processing_seconds_bucket{le=\"30\"} 970\n"
    "mod_orders_processing_seconds_bucket{le=\"60\"} 970\n"
    "mod_orders_processing_seconds_bucket{le=\"+Inf\"} 980\n"
    "mod_orders_processing_seconds_sum 1970.123456\n"
    "mod_orders_processing_seconds_count 980\n"
    "# HELP mod_orders_completion_seconds_total Seconds from creation to "
    "completion, summed over the completed orders.\n"
    "# TYPE mod_orders_completion_seconds_total counter\n"
    "mod_orders_completion_seconds_total 2303\n"
    "# HELP mod_orders_queue_depth Orders the children hold in memory, "
    "waiting for a thread or out their processing time.\n"
    "# TYPE mod_orders_queue_depth gauge\n"
    "mod_orders_queue_depth 5\n"
    "# HELP mod_orders_workers_busy Processing threads running a step right "
    "now.\n"
    "# TYPE mod_orders_workers_busy gauge\n"
    "mod_orders_workers_busy 3\n"
    "# HELP mod_orders_uptime_seconds Seconds since the server's metrics "
    "were set up.\n"
    "# TYPE mod_orders_uptime_seconds gauge\n"
    "mod_orders_uptime_seconds 3600\n"
    "# HELP mod_orders_answers_total Answers of the module since the server "
    "started, by outcome (the orders-outcome request note).\n"
    "# TYPE mod_orders_answers_total counter\n"
    "mod_orders_answers_total{outcome=\"created\"} 1002\n"
    "mod_orders_answers_total{outcome=\"retry\"} 0\n"
    "mod_orders_answers_total{outcome=\"conflict\"} 0\n"
    "mod_orders_answers_total{outcome=\"invalid\"} 0\n"
    "mod_orders_answers_total{outcome=\"forbidden\"} 0\n"
    "mod_orders_answers_total{outcome=\"found\"} 40\n"
    "mod_orders_answers_total{outcome=\"not-modified\"} 0\n"
    "mod_orders_answers_total{outcome=\"not-found\"} 0\n"
    "mod_orders_answers_total{outcome=\"cancelled\"} 0\n"
    "mod_orders_answers_total{outcome=\"listed\"} 0\n"
    "mod_orders_answers_total{outcome=\"populated\"} 0\n"
    "mod_orders_answers_total{outcome=\"redelivered\"} 0\n"
    "mod_orders_answers_total{outcome=\"gone\"} 0\n"
    "mod_orders_answers_total{outcome=\"not-allowed\"} 0\n"
    "mod_orders_answers_total{outcome=\"unavailable\"} 2\n"
    "mod_orders_answers_total{outcome=\"metrics\"} 0\n"
    "mod_orders_answers_total{outcome=\"other\"} 0\n"
    "# HELP mod_orders_webhooks_delivered_total Webhook events this server "
    "delivered (answered 2xx).\n"
    "# TYPE mod_orders_webhooks_delivered_total counter\n"
    "mod_orders_webhooks_delivered_total 2940\n"
    "# HELP mod_orders_webhooks_failed_total Webhook events this server gave "
    "up (410, or the last attempt failed).\n"
    "# TYPE mod_orders_webhooks_failed_total counter\n"
    "mod_orders_webhooks_failed_total 3\n"
    "# HELP mod_orders_webhooks_retried_total Webhook attempts of this server "
    "that failed and are tried again.\n"
    "# TYPE mod_orders_webhooks_retried_total counter\n"
    "mod_orders_webhooks_retried_total 17\n"
    "# HELP mod_orders_webhooks_pending Webhook events not yet delivered nor "
    "given up, in the database.\n"
    "# TYPE mod_orders_webhooks_pending gauge\n"
    "mod_orders_webhooks_pending 12\n"
    "# HELP mod_orders_webhooks_oldest_pending_seconds Age of the oldest "
    "webhook event not yet delivered nor given up; 0 when there is none.\n"
    "# TYPE mod_orders_webhooks_oldest_pending_seconds gauge\n"
    "mod_orders_webhooks_oldest_pending_seconds 4.25\n";

/* The value of the sample line that starts with `prefix` + " ", as text;
 * fails when there is none. */
static const char *sample_value(apr_pool_t *p, const char *text,
                                const char *prefix)
{
    const char *line = text;
    apr_size_t n = strlen(prefix);

    while (line && *line) {
        const char *end = strchr(line, '\n');
        if (strncmp(line, prefix, n) == 0 && line[n] == ' ') {
            return apr_pstrndup(p, line + n + 1,
                                (apr_size_t)(end - line - (apr_ssize_t)n - 1));
        }
        line = end ? end + 1 : NULL;
    }
    fail_msg("no sample %s in:\n%s", prefix, text);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* The text                                                            */
/* ------------------------------------------------------------------ */

static void test_text_of_a_known_snapshot_exactly(void **state)
{
    ord_metrics_snapshot_t s = known_snapshot();

    assert_string_equal(ord_prometheus_text(unit_pool(state), &s),
                        known_text);
}

static void test_text_of_an_empty_snapshot_is_all_zero(void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_metrics_snapshot_t s;
    const char *text;
    const char *line;
    int samples = 0;

    memset(&s, 0, sizeof(s));
    text = ord_prometheus_text(p, &s);
    for (line = text; *line; line = strchr(line, '\n') + 1) {
        const char *end = strchr(line, '\n');
        assert_non_null(end);
        if (line[0] != '#') {
            samples++;
            assert_memory_equal(end - 2, " 0", 2);
        }
    }
    /* 4 statuses, 2 counters, 12 buckets + sum + count, the completion
     * seconds, 3 gauges, one
     * answers line per outcome, the webhooks' 3 counters and 2 gauges. */
    assert_int_equal(samples, 4 + 2 + ORD_PROCESSING_BUCKETS + 2 + 1 + 3
                                  + ORD_OUTCOME_COUNT + 5);
    assert_string_equal(sample_value(p, text,
                                     "mod_orders_processing_seconds_sum"),
                        "0");
}

static void test_buckets_are_cumulative_and_inf_equals_count(void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_metrics_snapshot_t s;
    const char *text;
    apr_uint64_t running = 0;
    int i;

    memset(&s, 0, sizeof(s));
    for (i = 0; i < ORD_PROCESSING_BUCKETS; i++) {
        s.processing_buckets[i] = (apr_uint64_t)(i + 1);   /* 1, 2, ... */
    }
    /* Completed read at another instant than the buckets: the histogram
     * still agrees with itself. */
    s.count[ORD_COMPLETED] = 1;
    text = ord_prometheus_text(p, &s);
    for (i = 0; i < ORD_PROCESSING_BUCKETS; i++) {
        const char *le = i < ORD_PROCESSING_BUCKETS - 1
            ? ord_prometheus_seconds(p, (apr_uint64_t)
                                     ord_processing_bounds_us[i])
            : "+Inf";
        running += (apr_uint64_t)(i + 1);
        assert_string_equal(
            sample_value(p, text, apr_psprintf(
                p, "mod_orders_processing_seconds_bucket{le=\"%s\"}", le)),
            apr_psprintf(p, "%" APR_UINT64_T_FMT, running));
    }
    assert_int_equal(running, 78);
    assert_string_equal(
        sample_value(p, text, "mod_orders_processing_seconds_count"), "78");
    assert_string_equal(
        sample_value(p, text, "mod_orders_orders_completed_total"), "1");
}

static void test_large_values_are_exact(void **state)
{
    /* Past 2^53: a double would round these.  Sample, value, ... */
    static const char *const want[] = {
        "mod_orders_orders{status=\"Pending\"}", "9007199254740993",
        "mod_orders_orders_created_total", "9007199254740994",
        "mod_orders_processing_seconds_sum", "9007199254.740993",
        "mod_orders_processing_seconds_count", "9007199254740993",
    };
    apr_pool_t *p = unit_pool(state);
    ord_metrics_snapshot_t s;
    const char *text;
    size_t i;

    memset(&s, 0, sizeof(s));
    s.count[ORD_PENDING] = APR_UINT64_C(9007199254740993);
    s.count[ORD_COMPLETED] = APR_UINT64_C(1);
    s.processing_us_sum = APR_UINT64_C(9007199254740993);
    s.processing_buckets[3] = APR_UINT64_C(9007199254740993);
    text = ord_prometheus_text(p, &s);
    for (i = 0; i < UNIT_ROWS(want); i += 2) {
        assert_string_equal(sample_value(p, text, want[i]), want[i + 1]);
    }
}

static void test_negative_uptime_is_zero(void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_metrics_snapshot_t s;

    memset(&s, 0, sizeof(s));
    s.uptime_seconds = -5;      /* a clock stepped back */
    assert_string_equal(
        sample_value(p, ord_prometheus_text(p, &s),
                     "mod_orders_uptime_seconds"), "0");
}

/* Seconds from microseconds, exactly (the row's name is the text). */
typedef struct { const char *text; apr_uint64_t us; } seconds_case_t;

static const char *check_seconds_cases(const unit_ctx_t *c, const void *r)
{
    const seconds_case_t *row = r;
    const char *got = ord_prometheus_seconds(c->pool, row->us);

    return unit_same(got, row->text) ? NULL
           : apr_psprintf(c->pool, "%" APR_UINT64_T_FMT " us is %s", row->us,
                          unit_show(got));
}

static const seconds_case_t seconds_cases[] = {
    { "0", 0 },
    { "0.000001", 1 },
    { "0.00001", 10 },
    { "0.05", 50000 },
    { "0.1", 100000 },
    { "0.25", 250000 },
    { "0.999999", 999999 },
    { "1", 1000000 },
    { "1.500001", 1500001 },
    { "60", 60000000 },
    { "18446744073709.551615", APR_UINT64_C(18446744073709551615) },
};

/* promtool, where installed, parses and lints the text. */
static void test_promtool_accepts_the_text(void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_metrics_snapshot_t s = known_snapshot();
    const char *path = "/usr/bin/promtool";
    char out[4096];
    apr_size_t got;
    FILE *f;
    int rc;
    char tmpl[] = "/tmp/test_ord_prometheus-XXXXXX";
    int fd;

    if (access(path, X_OK) != 0) {
        skip();
    }
    s.count[ORD_PENDING] = APR_UINT64_C(9223372036854775807);
    s.processing_us_sum = APR_UINT64_C(18446744073709551615);
    fd = mkstemp(tmpl);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    assert_non_null(f);
    fputs(ord_prometheus_text(p, &s), f);
    fclose(f);
    f = popen(apr_psprintf(p, "%s check metrics < %s 2>&1", path, tmpl),
              "r");
    assert_non_null(f);
    got = fread(out, 1, sizeof(out) - 1, f);
    out[got] = '\0';
    rc = pclose(f);
    unlink(tmpl);
    if (rc != 0 || got != 0) {
        fail_msg("promtool check metrics: status %d, output:\n%s", rc, out);
    }
}

/* ------------------------------------------------------------------ */
/* Accept                                                              */
/* ------------------------------------------------------------------ */

/* An Accept header (the row's name is the header itself) and whether it
 * asks for the Prometheus text (1) or JSON (0). */
typedef struct { const char *accept; int prometheus; } accept_case_t;

static const char *check_accept_cases(const unit_ctx_t *c, const void *r)
{
    const accept_case_t *row = r;
    int got = ord_prometheus_wanted(row->accept) ? 1 : 0;

    return got == row->prometheus ? NULL
           : apr_psprintf(c->pool, "%s, want %s", got ? "Prometheus" : "JSON",
                          row->prometheus ? "Prometheus" : "JSON");
}

static const accept_case_t accept_cases[] = {
    /* no preference: JSON */
    { "", 0 },
    { "   ", 0 },
    { " , ,", 0 },
    { "*/*", 0 },
    { "application/json", 0 },
    /* application/ * covers JSON and OpenMetrics alike: a tie, JSON */
    { "application/*", 0 },
    /* Nothing we have: JSON, the default (never a 406 here). */
    { "text/html", 0 },
    { "image/png, text/html;q=0.5", 0 },
    /* A browser's: equal via * / *. */
    { "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8", 0 },
    /* the text or OpenMetrics alone: Prometheus */
    { "text/plain", 1 },
    { "TEXT/Plain", 1 },
    { "text/*", 1 },
    { "application/openmetrics-text", 1 },
    { "application/openmetrics-text; version=1.0.0; charset=utf-8", 1 },
    { "text/plain; version=0.0.4", 1 },
    { "text/plain;q=0.001", 1 },
    /* q-values decide */
    { "text/plain;q=0.5, application/json", 0 },
    { "application/json, text/plain;q=0.5", 0 },
    { "application/json;q=0.5, text/plain", 1 },
    { "application/json;q=0.499,text/plain;q=0.5", 1 },
    { "text/plain, */*;q=0.1", 1 },
    { "text/plain;q=0.1, */*", 0 },
    /* Ties go to JSON. */
    { "text/plain, application/json", 0 },
    { "text/plain;q=0.7, application/json;q=0.700", 0 },
    /* q=0: not acceptable at all. */
    { "text/plain;q=0", 0 },
    { "text/plain;q=0.000, */*;q=0.1", 0 },
    { "application/json;q=0, */*", 1 },
    /* Case and white space around parameters. */
    { "application/json ; Q=0.2 ,\ttext/plain ;\tq=0.3", 1 },
    { "text/plain;q=1.000, application/json;q=0.999", 1 },
    /* What Prometheus 2.x sends when it scrapes. */
    { "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1", 1 },
    { "text/plain;version=0.0.4;q=1,*/*;q=0.1", 1 },
    /* the most specific range wins */
    /* text/plain's own range says 0.1, whatever the text/ * range says. */
    { "text/*;q=0.9, text/plain;q=0.1, application/json;q=0.5", 0 },
    { "text/plain;q=0.1, text/*;q=0.9, application/json;q=0.5", 0 },
    /* application/json's own range beats * / *. */
    { "*/*, application/json;q=0.2, text/plain;q=0.3", 1 },
    /* application/ * for JSON, OpenMetrics preferred */
    { "application/*;q=0.5, application/openmetrics-text", 1 },
    /* Malformed parts are skipped.  Bad q: the element is skipped, the
     * others count. */
    { "text/plain;q=2", 0 },
    { "text/plain;q=1.5", 0 },
    { "text/plain;q=0.1234", 0 },
    { "text/plain;q=-1", 0 },
    { "text/plain;q=", 0 },
    { "text/plain;q=abc", 0 },
    { "text/plain;q=2, text/plain;q=0.3", 1 },
    /* Not a media range. */
    { "text", 0 },
    { "text/", 0 },
    { "/plain", 0 },
    { "*/plain", 0 },
    { "text/plain junk", 0 },
    { "text/plain;", 0 },
    { "text/plain;=1", 0 },
    { "garbage, text/plain", 1 },
    { "text/plain;;q=1", 0 },
    { "text/plain;q=1;x", 0 },
    /* Quoted parameter values, commas inside them included. */
    { "text/plain;x=\"a,b;q=0\", application/json;q=0.5", 1 },
    { "text/plain;x=\"a\\\"b\", application/json;q=0.5", 1 },
    /* An unterminated quote: nothing can be trusted, JSON. */
    { "text/plain;x=\"abc", 0 },
    { "text/plain, application/json;q=0.1;x=\"abc, text/plain", 0 },
};

static void test_accept_without_a_header_is_json(void **state)
{
    (void)state;
    assert_false(ord_prometheus_wanted(NULL));
}

/* ------------------------------------------------------------------ */
/* ord_metrics_json_with_ids                                           */
/* ------------------------------------------------------------------ */

static apr_array_header_t *ids_of(apr_pool_t *p, const char *prefix, int n)
{
    apr_array_header_t *a = apr_array_make(p, n, sizeof(const char *));
    int i;

    for (i = 0; i < n; i++) {
        APR_ARRAY_PUSH(a, const char *) = apr_psprintf(p, "%s%d", prefix, i);
    }
    return a;
}

static void test_json_with_ids_adds_lists_and_keeps_figures(void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_metrics_snapshot_t s = known_snapshot();
    apr_array_header_t *ids[ORD_STATUS_COUNT];
    json_object *got, *plain, *lists, *v;
    const char *text;
    int st;

    ids[ORD_PENDING] = ids_of(p, "p", 2);
    ids[ORD_PROCESSING] = ids_of(p, "r", 0);
    ids[ORD_COMPLETED] = ids_of(p, "c", 3);
    ids[ORD_CANCELLED] = NULL;
    text = ord_metrics_json_with_ids(p, &s, ids, 1000);
    got = unit_json_parse(p, text);
    plain = unit_json_parse(p, ord_metrics_json(p, &s));
    /* Every member of the plain JSON, the same. */
    json_object_object_foreach(plain, key, val) {
        assert_true(json_object_object_get_ex(got, key, &v));
        assert_string_equal(json_object_to_json_string(v),
                            json_object_to_json_string(val));
    }
    assert_int_equal(json_object_object_length(got),
                     json_object_object_length(plain) + 2);
    assert_true(json_object_object_get_ex(got, "order_ids_truncated", &v));
    assert_true(json_object_is_type(v, json_type_boolean));
    assert_false(json_object_get_boolean(v));
    assert_true(json_object_object_get_ex(got, "order_ids", &lists));
    assert_int_equal(json_object_object_length(lists), ORD_STATUS_COUNT);
    for (st = 0; st < ORD_STATUS_COUNT; st++) {
        assert_true(json_object_object_get_ex(
            lists, ord_status_name((ord_status_e)st), &v));
        assert_true(json_object_is_type(v, json_type_array));
    }
    json_object_object_get_ex(lists, "Pending", &v);
    assert_string_equal(json_object_to_json_string_ext(
                            v, JSON_C_TO_STRING_PLAIN), "[\"p0\",\"p1\"]");
    json_object_object_get_ex(lists, "Completed", &v);
    assert_string_equal(json_object_to_json_string_ext(
                            v, JSON_C_TO_STRING_PLAIN),
                        "[\"c0\",\"c1\",\"c2\"]");
    json_object_object_get_ex(lists, "Cancelled", &v);
    assert_int_equal(json_object_array_length(v), 0);
}

static void test_json_with_ids_cuts_at_max_and_says_so(void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_metrics_snapshot_t s = known_snapshot();
    apr_array_header_t *ids[ORD_STATUS_COUNT];
    json_object *got, *lists, *v;

    ids[ORD_PENDING] = ids_of(p, "p", 1001);
    ids[ORD_PROCESSING] = ids_of(p, "r", 1000);
    ids[ORD_COMPLETED] = ids_of(p, "c", 5);
    ids[ORD_CANCELLED] = ids_of(p, "x", 0);
    got = unit_json_parse(p, ord_metrics_json_with_ids(p, &s, ids, 1000));
    assert_true(json_object_object_get_ex(got, "order_ids_truncated", &v));
    assert_true(json_object_get_boolean(v));
    json_object_object_get_ex(got, "order_ids", &lists);
    json_object_object_get_ex(lists, "Pending", &v);
    assert_int_equal(json_object_array_length(v), 1000);
    /* The first ones (oldest first), not any 1000. */
    assert_string_equal(
        json_object_get_string(json_object_array_get_idx(v, 0)), "p0");
    assert_string_equal(json_object_get_string(
                            json_object_array_get_idx(v, 999)), "p999");
    json_object_object_get_ex(lists, "Processing", &v);
    assert_int_equal(json_object_array_length(v), 1000);

    /* Exactly max everywhere is not a cut. */
    ids[ORD_PENDING] = ids_of(p, "p", 1000);
    got = unit_json_parse(p, ord_metrics_json_with_ids(p, &s, ids, 1000));
    json_object_object_get_ex(got, "order_ids_truncated", &v);
    assert_false(json_object_get_boolean(v));
}

static void test_json_with_ids_escapes_strings(void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_metrics_snapshot_t s;
    apr_array_header_t *ids[ORD_STATUS_COUNT] = { NULL };
    json_object *got, *lists, *v;

    memset(&s, 0, sizeof(s));
    ids[ORD_PENDING] = apr_array_make(p, 1, sizeof(const char *));
    APR_ARRAY_PUSH(ids[ORD_PENDING], const char *) = "a\"b\\c";
    got = unit_json_parse(p, ord_metrics_json_with_ids(p, &s, ids, 1000));
    json_object_object_get_ex(got, "order_ids", &lists);
    json_object_object_get_ex(lists, "Pending", &v);
    assert_string_equal(
        json_object_get_string(json_object_array_get_idx(v, 0)), "a\"b\\c");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_of_a_known_snapshot_exactly),
        cmocka_unit_test(test_text_of_an_empty_snapshot_is_all_zero),
        cmocka_unit_test(test_buckets_are_cumulative_and_inf_equals_count),
        cmocka_unit_test(test_large_values_are_exact),
        cmocka_unit_test(test_negative_uptime_is_zero),
        UNIT_TABLE(seconds_cases),
        cmocka_unit_test(test_promtool_accepts_the_text),
        cmocka_unit_test(test_accept_without_a_header_is_json),
        UNIT_TABLE(accept_cases),
        cmocka_unit_test(test_json_with_ids_adds_lists_and_keeps_figures),
        cmocka_unit_test(test_json_with_ids_cuts_at_max_and_says_so),
        cmocka_unit_test(test_json_with_ids_escapes_strings),
    };

    return cmocka_run_group_tests(tests, unit_group_setup,
                                  unit_group_teardown);
}
