/*
 * Unit tests of ord_json (mod_orders/ord_json.h): the strict POST /orders
 * body parser of API.md section 2, the order object it renders, the
 * {"error": ...} body, and round trips through both.
 *
 * Rendered JSON is checked by parsing it back with json-c (strict mode, the
 * whole text consumed) and comparing types and values, never by comparing
 * whole strings, so that key order and spacing are free.  Amounts are
 * compared by their JSON text (json-c keeps a parsed number's text), so
 * 149.99 must stay 149.99 and 60.0 must stay 60.0.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "unit_support.h"

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_time.h>

#include <json-c/json.h>

#include "ord_order.h"
#include "ord_json.h"

#define DEFAULT_MAX_ITEMS 1000

/* 2026-11-23T15:00:17Z, the time of the API.md example. */
#define T0 APR_INT64_C(1795446017000000)

/* ------------------------------------------------------------------ */
/* Helpers: parsing request bodies                                     */
/* ------------------------------------------------------------------ */

static apr_pool_t *pool_of(void **state)
{
    return (apr_pool_t *)*state;
}

/* A string of `n` copies of `unit`. */
static char *repeat(apr_pool_t *p, const char *unit, int n)
{
    apr_size_t ulen = strlen(unit);
    char *s = apr_palloc(p, ulen * (apr_size_t)n + 1);
    int i;
    for (i = 0; i < n; i++) {
        memcpy(s + ulen * (apr_size_t)i, unit, ulen);
    }
    s[ulen * (apr_size_t)n] = '\0';
    return s;
}

/* A body from JSON fragments; a NULL fragment leaves the field out. */
static const char *mk(apr_pool_t *p, const char *order_id, const char *user_id,
                      const char *item_ids, const char *total_amount,
                      const char *status)
{
    const char *s = "{";
    const char *sep = "";
    if (order_id) {
        s = apr_pstrcat(p, s, sep, "\"order_id\":", order_id, NULL);
        sep = ",";
    }
    if (user_id) {
        s = apr_pstrcat(p, s, sep, "\"user_id\":", user_id, NULL);
        sep = ",";
    }
    if (item_ids) {
        s = apr_pstrcat(p, s, sep, "\"item_ids\":", item_ids, NULL);
        sep = ",";
    }
    if (total_amount) {
        s = apr_pstrcat(p, s, sep, "\"total_amount\":", total_amount, NULL);
        sep = ",";
    }
    if (status) {
        s = apr_pstrcat(p, s, sep, "\"status\":", status, NULL);
    }
    return apr_pstrcat(p, s, "}", NULL);
}

/* Fragments of a valid body, for the fields a test does not look at. */
#define USER  "1"
#define ITEMS "[101]"
#define AMT   "59.99"

/* The body must be accepted; returns the order. */
#define ACCEPT_MAX(p, body, max) \
    accept_((p), (body), strlen(body), (max), __FILE__, __LINE__)
#define ACCEPT(p, body) ACCEPT_MAX((p), (body), DEFAULT_MAX_ITEMS)
#define ACCEPT_LEN(p, body, len) \
    accept_((p), (body), (len), DEFAULT_MAX_ITEMS, __FILE__, __LINE__)

static ord_order_t *accept_(apr_pool_t *p, const char *body, apr_size_t len,
                            int max_items, const char *file, int line)
{
    ord_parse_limits_t limits = { 0 };
    ord_order_t *order = NULL;
    const char *error = NULL;
    apr_status_t rv;

    limits.max_items = max_items;
    rv = ord_json_parse_order(p, body, len, &limits, &order, &error);
    if (rv != APR_SUCCESS) {
        print_error("body refused: %.*s\n  error: %s\n",
                    (int)(len > 300 ? 300 : len), body,
                    error ? error : "(NULL)");
    }
    _assert_int_equal(rv, APR_SUCCESS, file, line);
    _assert_true(order != NULL, "order != NULL", file, line);
    return order;
}

/* The body must be refused with APR_EINVAL and a non-empty message which,
 * when `field` is given, names it. */
#define REJECT_MAX(p, body, field, max) \
    reject_((p), (body), strlen(body), (max), (field), __FILE__, __LINE__)
#define REJECT(p, body, field) \
    REJECT_MAX((p), (body), (field), DEFAULT_MAX_ITEMS)
#define REJECT_LEN(p, body, len, field) \
    reject_((p), (body), (len), DEFAULT_MAX_ITEMS, (field), __FILE__, __LINE__)

static void reject_(apr_pool_t *p, const char *body, apr_size_t len,
                    int max_items, const char *field, const char *file,
                    int line)
{
    ord_parse_limits_t limits = { 0 };
    ord_order_t *order = NULL;
    const char *error = NULL;
    apr_status_t rv;

    limits.max_items = max_items;
    rv = ord_json_parse_order(p, body, len, &limits, &order, &error);
    if (rv != APR_EINVAL) {
        print_error("body not refused with APR_EINVAL (rv=%d): %.*s\n", rv,
                    (int)(len > 300 ? 300 : len), body);
        _assert_int_equal(rv, APR_EINVAL, file, line);
    }
    _assert_true(error != NULL, "error != NULL", file, line);
    _assert_true(error[0] != '\0', "error is not empty", file, line);
    if (field && !strstr(error, field)) {
        print_error("error \"%s\" does not name the field \"%s\"\n  body: "
                    "%.*s\n", error, field,
                    (int)(len > 300 ? 300 : len), body);
        _fail(file, line);
    }
}

/* ------------------------------------------------------------------ */
/* Helpers: checking rendered JSON                                     */
/* ------------------------------------------------------------------ */

static apr_status_t json_put_cleanup(void *data)
{
    json_object_put((json_object *)data);
    return APR_SUCCESS;
}

/* Parses `text` strictly; the whole text must be one JSON value (trailing
 * whitespace allowed).  The object is released with the pool. */
static json_object *parse_strict(apr_pool_t *p, const char *text)
{
    json_tokener *tok;
    json_object *obj;
    size_t len, end;

    assert_non_null(text);
    len = strlen(text);
    tok = json_tokener_new();
    assert_non_null(tok);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT
                                | JSON_TOKENER_VALIDATE_UTF8);
    obj = json_tokener_parse_ex(tok, text, (int)len);
    if (obj == NULL) {
        print_error("not valid JSON (%s): %s\n",
                    json_tokener_error_desc(json_tokener_get_error(tok)), text);
    }
    end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    assert_non_null(obj);
    while (end < len && strchr(" \t\r\n", text[end])) {
        end++;
    }
    if (end != len) {
        print_error("bytes after the JSON value: %s\n", text + end);
    }
    assert_int_equal(end, len);
    apr_pool_cleanup_register(p, obj, json_put_cleanup,
                              apr_pool_cleanup_null);
    return obj;
}

static json_object *member(json_object *obj, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(obj, key, &v)) {
        print_error("key \"%s\" missing in %s\n", key,
                    json_object_to_json_string(obj));
        fail();
    }
    return v;
}

static void check_string(json_object *obj, const char *key, const char *want)
{
    json_object *v = member(obj, key);
    if (!json_object_is_type(v, json_type_string)) {
        print_error("\"%s\" is %s, want a string\n", key,
                    json_object_to_json_string(v));
    }
    assert_true(json_object_is_type(v, json_type_string));
    assert_int_equal(json_object_get_string_len(v), strlen(want));
    assert_string_equal(json_object_get_string(v), want);
}

static void check_int(json_object *obj, const char *key, apr_int64_t want)
{
    json_object *v = member(obj, key);
    if (!json_object_is_type(v, json_type_int)) {
        print_error("\"%s\" is %s, want an integer\n", key,
                    json_object_to_json_string(v));
    }
    assert_true(json_object_is_type(v, json_type_int));
    assert_int_equal(json_object_get_int64(v), want);
}

static void check_null(json_object *obj, const char *key)
{
    json_object *v = member(obj, key);
    if (v != NULL) {
        print_error("\"%s\" is %s, want null\n", key,
                    json_object_to_json_string(v));
    }
    assert_null(v);
}

/* A JSON number whose text (as sent on the wire) is exactly `want`. */
static void check_number_text(json_object *obj, const char *key,
                               const char *want)
{
    json_object *v = member(obj, key);
    assert_true(json_object_is_type(v, json_type_double)
                || json_object_is_type(v, json_type_int));
    assert_string_equal(json_object_to_json_string(v), want);
}

/* A number of seconds, exact to the microsecond. */
static void check_seconds(json_object *obj, const char *key, double want)
{
    json_object *v = member(obj, key);
    double got, diff;
    if (!(json_object_is_type(v, json_type_double)
          || json_object_is_type(v, json_type_int))) {
        print_error("\"%s\" is %s, want a number\n", key,
                    json_object_to_json_string(v));
        fail();
    }
    got = json_object_get_double(v);
    diff = got > want ? got - want : want - got;
    if (diff > 5e-7) {
        print_error("\"%s\" is %s, want %.6f\n", key,
                    json_object_to_json_string(v), want);
        fail();
    }
}

/* The API.md example: ORD003, user 1, items [101,102,103], 59.99,
 * Completed, pending 2.747467 s, processing 5.011218 s. */
static ord_order_t *completed_order(apr_pool_t *p)
{
    ord_order_t *o = apr_pcalloc(p, sizeof(*o));
    o->order_id.text = "ORD003";
    o->order_id.is_int = 0;
    o->user_id.text = "1";
    o->user_id.is_int = 1;
    o->item_ids_json = "[101,102,103]";
    o->total_amount.cents = 5999;
    o->total_amount.scale = 2;
    o->status = ORD_COMPLETED;
    o->created_at = T0;
    o->processing_started_at = T0 + 2747467;
    o->completed_at = T0 + 2747467 + 5011218;
    o->updated_at = o->completed_at;
    return o;
}

static ord_order_t *pending_order(apr_pool_t *p)
{
    ord_order_t *o = completed_order(p);
    o->status = ORD_PENDING;
    o->processing_started_at = 0;
    o->completed_at = 0;
    o->updated_at = o->created_at;
    return o;
}

static json_object *render(apr_pool_t *p, const ord_order_t *o)
{
    const char *text = ord_json_order(p, o);
    assert_non_null(text);
    return parse_strict(p, text);
}

/* ================================================================== */
/* Parsing: the body as a whole                                        */
/* ================================================================== */

static void test_parse_minimal_body_fills_order(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_order_t *o = ACCEPT(p, "{\"user_id\":1,\"item_ids\":[101,102,103],"
                               "\"total_amount\":59.99}");
    assert_null(o->order_id.text);
    assert_string_equal(o->user_id.text, "1");
    assert_int_equal(o->user_id.is_int, 1);
    assert_string_equal(o->item_ids_json, "[101,102,103]");
    assert_int_equal(o->total_amount.cents, 5999);
    assert_int_equal(o->total_amount.scale, 2);
}

static void test_parse_result_is_pending_with_zero_times(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_order_t *o = ACCEPT(p, mk(p, "\"A1\"", USER, ITEMS, AMT, NULL));
    assert_int_equal(o->status, ORD_PENDING);
    assert_int_equal(o->created_at, 0);
    assert_int_equal(o->updated_at, 0);
    assert_int_equal(o->processing_started_at, 0);
    assert_int_equal(o->completed_at, 0);
}

static void test_parse_accepts_fields_in_any_order_with_whitespace(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_order_t *o = ACCEPT(p, " \r\n\t{ \"total_amount\" : 60 ,\n"
                               "  \"item_ids\" : [ 101 , \"a-2\" ] ,\n"
                               "  \"user_id\" : \"u1\" ,\n"
                               "  \"order_id\" : \"X\" }");
    assert_string_equal(o->order_id.text, "X");
    assert_string_equal(o->user_id.text, "u1");
    assert_int_equal(o->user_id.is_int, 0);
    assert_string_equal(o->item_ids_json, "[101,\"a-2\"]");
    assert_int_equal(o->total_amount.cents, 6000);
    assert_int_equal(o->total_amount.scale, 0);
}

static void test_parse_rejects_empty_body(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT_LEN(p, "", 0, NULL);
}

static void test_parse_rejects_whitespace_only_body(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, " \r\n\t ", NULL);
}

static void test_parse_rejects_empty_object(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, "{}", NULL);
}

static void test_parse_rejects_array_body(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, "[]", NULL);
    REJECT(p, "[{\"user_id\":1,\"item_ids\":[101],\"total_amount\":59.99}]",
           NULL);
}

static void test_parse_rejects_number_body(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, "1", NULL);
    REJECT(p, "59.99", NULL);
}

static void test_parse_rejects_string_body(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, "\"{\\\"user_id\\\":1}\"", NULL);
}

static void test_parse_rejects_null_and_boolean_body(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, "null", NULL);
    REJECT(p, "true", NULL);
}

static void test_parse_rejects_truncated_json(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, "{\"user_id\":1,\"item_ids\":[101],\"total_amount\":59.99", NULL);
    REJECT(p, "{\"user_id\":1,\"item_ids\":[101", NULL);
    REJECT(p, "{\"user_id\":", NULL);
    REJECT(p, "{", NULL);
}

static void test_parse_rejects_non_json_syntax(void **state)
{
    apr_pool_t *p = pool_of(state);
    /* single quotes, trailing commas, a leading zero: not JSON */
    REJECT(p, "{'user_id':1,'item_ids':[101],'total_amount':59.99}", NULL);
    REJECT(p, "{\"user_id\":1,\"item_ids\":[101],\"total_amount\":59.99,}",
           NULL);
    REJECT(p, "{\"user_id\":1,\"item_ids\":[101,],\"total_amount\":59.99}",
           NULL);
    REJECT(p, "{\"user_id\":01,\"item_ids\":[101],\"total_amount\":59.99}",
           NULL);
}

static void test_parse_allows_trailing_whitespace(void **state)
{
    apr_pool_t *p = pool_of(state);
    ACCEPT(p, "{\"user_id\":1,\"item_ids\":[101],\"total_amount\":59.99}\n");
    ACCEPT(p, "{\"user_id\":1,\"item_ids\":[101],\"total_amount\":59.99} \r\n\t");
}

static void test_parse_rejects_trailing_garbage(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, "{\"user_id\":1,\"item_ids\":[101],\"total_amount\":59.99} x",
           NULL);
    REJECT(p, "{\"user_id\":1,\"item_ids\":[101],\"total_amount\":59.99},",
           NULL);
}

static void test_parse_rejects_second_object(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, "{\"user_id\":1,\"item_ids\":[101],\"total_amount\":59.99}{}",
           NULL);
    REJECT(p, "{\"user_id\":1,\"item_ids\":[101],\"total_amount\":59.99}\n"
              "{\"user_id\":2,\"item_ids\":[101],\"total_amount\":59.99}",
           NULL);
}

static void test_parse_rejects_trailing_nul_byte(void **state)
{
    static const char body[] =
        "{\"user_id\":1,\"item_ids\":[101],\"total_amount\":59.99}\0";
    apr_pool_t *p = pool_of(state);
    /* len covers the NUL: a byte after the object that is not whitespace */
    REJECT_LEN(p, body, sizeof(body) - 1, NULL);
}

static void test_parse_reads_only_len_bytes(void **state)
{
    static const char body[] =
        "{\"user_id\":1,\"item_ids\":[101],\"total_amount\":59.99}GARBAGE";
    apr_pool_t *p = pool_of(state);
    /* The request body need not be NUL-terminated: what lies past `len`
     * is not part of it. */
    ord_order_t *o = ACCEPT_LEN(p, body, sizeof(body) - 1 - strlen("GARBAGE"));
    assert_string_equal(o->user_id.text, "1");
}

static void test_parse_rejects_unknown_field(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, "{\"user_id\":1,\"item_ids\":[101],\"total_amount\":59.99,"
              "\"foo\":1}", "foo");
}

static void test_parse_rejects_field_names_case_sensitively(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, "{\"User_id\":1,\"item_ids\":[101],\"total_amount\":59.99}",
           NULL);
}

static void test_parse_rejects_server_owned_fields(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, "{\"user_id\":1,\"item_ids\":[101],\"total_amount\":59.99,"
              "\"created_at\":\"2026-11-23T15:00:17.000000Z\"}", "created_at");
}

static void test_parse_rejects_duplicate_key(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, "{\"user_id\":1,\"user_id\":2,\"item_ids\":[101],"
              "\"total_amount\":59.99}", "user_id");
}

static void test_parse_rejects_duplicate_key_with_same_value(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, "{\"order_id\":\"A\",\"user_id\":1,\"item_ids\":[101],"
              "\"total_amount\":59.99,\"order_id\":\"A\"}", "order_id");
}

static void test_parse_rejects_duplicate_key_spelled_with_escape(void **state)
{
    apr_pool_t *p = pool_of(state);
    /* "user\u005fid" is "user_id" once unescaped */
    REJECT(p, "{\"user_id\":1,\"user\\u005fid\":2,\"item_ids\":[101],"
              "\"total_amount\":59.99}", "user_id");
}

static void test_parse_rejects_deep_nesting(void **state)
{
    apr_pool_t *p = pool_of(state);
    const int depth = 100000;
    const char *body = apr_pstrcat(p, "{\"user_id\":1,\"item_ids\":",
                                   repeat(p, "[", depth), repeat(p, "]", depth),
                                   ",\"total_amount\":59.99}", NULL);
    REJECT(p, body, NULL);
}

static void test_parse_rejects_deep_object_nesting(void **state)
{
    apr_pool_t *p = pool_of(state);
    const int depth = 100000;
    const char *body = apr_pstrcat(p, "{\"user_id\":1,\"item_ids\":[101],"
                                   "\"total_amount\":",
                                   repeat(p, "{\"a\":", depth), "1",
                                   repeat(p, "}", depth), "}", NULL);
    REJECT(p, body, NULL);
}

/* ---------------------------- invalid UTF-8 ------------------------- */

static void test_parse_rejects_invalid_utf8_byte_ff(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, mk(p, NULL, "\"ab\xff\"", ITEMS, AMT, NULL), NULL);
}

static void test_parse_rejects_invalid_utf8_lone_continuation(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, mk(p, NULL, "\"ab\x80\"", ITEMS, AMT, NULL), NULL);
}

static void test_parse_rejects_invalid_utf8_truncated_sequence(void **state)
{
    apr_pool_t *p = pool_of(state);
    /* first two bytes of U+20AC, then the closing quote */
    REJECT(p, mk(p, NULL, "\"ab\xe2\x82\"", ITEMS, AMT, NULL), NULL);
}

static void test_parse_rejects_invalid_utf8_overlong(void **state)
{
    apr_pool_t *p = pool_of(state);
    /* C0 AF: an overlong '/' */
    REJECT(p, mk(p, NULL, "\"ab\xc0\xaf\"", ITEMS, AMT, NULL), NULL);
}

static void test_parse_rejects_escaped_lone_surrogates(void **state)
{
    apr_pool_t *p = pool_of(state);
    /* json-c would store U+FFFD: the text sent would not come back. */
    REJECT(p, "{\"user_id\":\"\\ud800\",\"item_ids\":[1],\"total_amount\":1}",
           NULL);
    REJECT(p, "{\"user_id\":\"a\\udc00\",\"item_ids\":[1],\"total_amount\":1}",
           NULL);
    REJECT(p, "{\"user_id\":1,\"item_ids\":[\"\\ud800x\"],\"total_amount\":1}",
           NULL);
}

static void test_parse_accepts_escaped_surrogate_pair(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_order_t *o = ACCEPT(p, "{\"user_id\":\"\\ud83d\\ude00\",\"item_ids\":[1],"
                               "\"total_amount\":1}");
    assert_string_equal(o->user_id.text, "\xf0\x9f\x98\x80");
}

static void test_parse_rejects_reserved_order_id(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, "{\"order_id\":\"populate\",\"user_id\":1,\"item_ids\":[1],"
              "\"total_amount\":1}", "order_id");
    ACCEPT(p, "{\"order_id\":\"populate2\",\"user_id\":1,\"item_ids\":[1],"
              "\"total_amount\":1}");
}

static void test_parse_rejects_invalid_utf8_surrogate(void **state)
{
    apr_pool_t *p = pool_of(state);
    /* ED A0 80: U+D800 encoded directly, not allowed in UTF-8 */
    REJECT(p, mk(p, NULL, "\"ab\xed\xa0\x80\"", ITEMS, AMT, NULL), NULL);
}

static void test_parse_rejects_invalid_utf8_above_10ffff(void **state)
{
    apr_pool_t *p = pool_of(state);
    /* F4 90 80 80 would be U+110000 */
    REJECT(p, mk(p, NULL, "\"ab\xf4\x90\x80\x80\"", ITEMS, AMT, NULL), NULL);
}

static void test_parse_rejects_invalid_utf8_in_item(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, mk(p, NULL, USER, "[\"ok\",\"b\xff" "d\"]", AMT, NULL), NULL);
}

/* ================================================================== */
/* order_id                                                            */
/* ================================================================== */

static void test_order_id_absent_gives_null_text(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_order_t *o = ACCEPT(p, mk(p, NULL, USER, ITEMS, AMT, NULL));
    assert_null(o->order_id.text);
}

static void test_order_id_string_kept(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_order_t *o = ACCEPT(p, mk(p, "\"ORD003\"", USER, ITEMS, AMT, NULL));
    assert_string_equal(o->order_id.text, "ORD003");
    assert_int_equal(o->order_id.is_int, 0);
}

static void test_order_id_string_all_allowed_chars(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_order_t *o = ACCEPT(p, mk(p, "\"AZaz09._:-\"", USER, ITEMS, AMT, NULL));
    assert_string_equal(o->order_id.text, "AZaz09._:-");
}

static void test_order_id_string_64_chars_accepted(void **state)
{
    apr_pool_t *p = pool_of(state);
    const char *id = repeat(p, "a", 64);
    ord_order_t *o = ACCEPT(p, mk(p, apr_pstrcat(p, "\"", id, "\"", NULL),
                                  USER, ITEMS, AMT, NULL));
    assert_string_equal(o->order_id.text, id);
}

static void test_order_id_string_65_chars_rejected(void **state)
{
    apr_pool_t *p = pool_of(state);
    const char *id = apr_pstrcat(p, "\"", repeat(p, "a", 65), "\"", NULL);
    REJECT(p, mk(p, id, USER, ITEMS, AMT, NULL), "order_id");
}

static void test_order_id_empty_string_rejected(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, mk(p, "\"\"", USER, ITEMS, AMT, NULL), "order_id");
}

static void test_order_id_forbidden_chars_rejected(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, mk(p, "\"a b\"", USER, ITEMS, AMT, NULL), "order_id");
    REJECT(p, mk(p, "\"a/b\"", USER, ITEMS, AMT, NULL), "order_id");
    REJECT(p, mk(p, "\"a?b\"", USER, ITEMS, AMT, NULL), "order_id");
    REJECT(p, mk(p, "\"\xc3\xa9\"", USER, ITEMS, AMT, NULL), "order_id");
    REJECT(p, mk(p, "\"a\\u0000b\"", USER, ITEMS, AMT, NULL), "order_id");
}

static void test_order_id_integer_kept_as_int(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_order_t *o = ACCEPT(p, mk(p, "42", USER, ITEMS, AMT, NULL));
    assert_string_equal(o->order_id.text, "42");
    assert_int_equal(o->order_id.is_int, 1);
}

static void test_order_id_integer_zero_accepted(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_order_t *o = ACCEPT(p, mk(p, "0", USER, ITEMS, AMT, NULL));
    assert_string_equal(o->order_id.text, "0");
    assert_int_equal(o->order_id.is_int, 1);
}

static void test_order_id_integer_max_accepted(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_order_t *o = ACCEPT(p, mk(p, "9007199254740991", USER, ITEMS, AMT,
                                  NULL));
    assert_string_equal(o->order_id.text, "9007199254740991");
    assert_int_equal(o->order_id.is_int, 1);
}

static void test_order_id_integer_above_max_rejected(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, mk(p, "9007199254740992", USER, ITEMS, AMT, NULL), "order_id");
    REJECT(p, mk(p, "99999999999999999999", USER, ITEMS, AMT, NULL),
           "order_id");
}

static void test_order_id_negative_rejected(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, mk(p, "-1", USER, ITEMS, AMT, NULL), "order_id");
}

static void test_order_id_float_rejected(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, mk(p, "1.5", USER, ITEMS, AMT, NULL), "order_id");
}

static void test_order_id_other_types_rejected(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, mk(p, "true", USER, ITEMS, AMT, NULL), "order_id");
    REJECT(p, mk(p, "[\"A\"]", USER, ITEMS, AMT, NULL), "order_id");
    REJECT(p, mk(p, "{\"id\":\"A\"}", USER, ITEMS, AMT, NULL), "order_id");
}

static void test_order_id_null_rejected(void **state)
{
    apr_pool_t *p = pool_of(state);
    /* null is neither a string nor an integer (leaving the key out is how
     * a client asks for a generated id) */
    REJECT(p, mk(p, "null", USER, ITEMS, AMT, NULL), "order_id");
}

/* ================================================================== */
/* user_id                                                             */
/* ================================================================== */

static void test_user_id_missing_rejected(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, mk(p, "\"A\"", NULL, ITEMS, AMT, NULL), "user_id");
}

static void test_user_id_integer_kept_as_int(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_order_t *o = ACCEPT(p, mk(p, NULL, "7", ITEMS, AMT, NULL));
    assert_string_equal(o->user_id.text, "7");
    assert_int_equal(o->user_id.is_int, 1);
}

static void test_user_id_integer_limits(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_order_t *o = ACCEPT(p, mk(p, NULL, "0", ITEMS, AMT, NULL));
    assert_string_equal(o->user_id.text, "0");
    assert_int_equal(o->user_id.is_int, 1);
    o = ACCEPT(p, mk(p, NULL, "9007199254740991", ITEMS, AMT, NULL));
    assert_string_equal(o->user_id.text, "9007199254740991");
    assert_int_equal(o->user_id.is_int, 1);
}

static void test_user_id_integer_out_of_range_rejected(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, mk(p, NULL, "9007199254740992", ITEMS, AMT, NULL), "user_id");
    REJECT(p, mk(p, NULL, "-1", ITEMS, AMT, NULL), "user_id");
    /* json-c saturates this silently to INT64_MAX */
    REJECT(p, mk(p, NULL, "99999999999999999999", ITEMS, AMT, NULL),
           "user_id");
}

static void test_user_id_string_kept_as_string(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_order_t *o = ACCEPT(p, mk(p, NULL, "\"1\"", ITEMS, AMT, NULL));
    assert_string_equal(o->user_id.text, "1");
    assert_int_equal(o->user_id.is_int, 0);
}

static void test_user_id_string_with_spaces_and_unicode(void **state)
{
    apr_pool_t *p = pool_of(state);
    /* "Zoë Smith" with ë escaped, then raw */
    ord_order_t *o = ACCEPT(p, mk(p, NULL, "\"Zo\\u00eb Smith\"", ITEMS, AMT,
                                  NULL));
    assert_string_equal(o->user_id.text, "Zo\xc3\xab Smith");
    o = ACCEPT(p, mk(p, NULL, "\"Zo\xc3\xab Smith\"", ITEMS, AMT, NULL));
    assert_string_equal(o->user_id.text, "Zo\xc3\xab Smith");
}

static void test_user_id_string_64_chars_accepted(void **state)
{
    apr_pool_t *p = pool_of(state);
    const char *u = repeat(p, "u", 64);
    ord_order_t *o = ACCEPT(p, mk(p, NULL, apr_pstrcat(p, "\"", u, "\"", NULL),
                                  ITEMS, AMT, NULL));
    assert_string_equal(o->user_id.text, u);
}

static void test_user_id_string_65_chars_rejected(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, mk(p, NULL, apr_pstrcat(p, "\"", repeat(p, "u", 65), "\"", NULL),
                 ITEMS, AMT, NULL), "user_id");
}

static void test_user_id_counts_code_points_not_bytes(void **state)
{
    apr_pool_t *p = pool_of(state);
    const char *e64 = repeat(p, "\xc3\xa9", 64);             /* 128 bytes */
    ord_order_t *o = ACCEPT(p, mk(p, NULL, apr_pstrcat(p, "\"", e64, "\"",
                                                       NULL),
                                  ITEMS, AMT, NULL));
    assert_string_equal(o->user_id.text, e64);
    REJECT(p, mk(p, NULL, apr_pstrcat(p, "\"", repeat(p, "\xc3\xa9", 65), "\"",
                                      NULL),
                 ITEMS, AMT, NULL), "user_id");
}

static void test_user_id_counts_escaped_astral_chars_once(void **state)
{
    apr_pool_t *p = pool_of(state);
    /* 64 x U+1F44B written as surrogate-pair escapes: 64 chars, 256 bytes */
    const char *u = apr_pstrcat(p, "\"", repeat(p, "\\ud83d\\udc4b", 64), "\"",
                                NULL);
    ord_order_t *o = ACCEPT(p, mk(p, NULL, u, ITEMS, AMT, NULL));
    assert_string_equal(o->user_id.text, repeat(p, "\xf0\x9f\x91\x8b", 64));
}

static void test_user_id_empty_string_rejected(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, mk(p, NULL, "\"\"", ITEMS, AMT, NULL), "user_id");
}

static void test_user_id_c0_control_rejected(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, mk(p, NULL, "\"a\\u0000b\"", ITEMS, AMT, NULL), "user_id");
    REJECT(p, mk(p, NULL, "\"a\\tb\"", ITEMS, AMT, NULL), "user_id");
    REJECT(p, mk(p, NULL, "\"a\\nb\"", ITEMS, AMT, NULL), "user_id");
    REJECT(p, mk(p, NULL, "\"a\\u001fb\"", ITEMS, AMT, NULL), "user_id");
}

static void test_user_id_del_rejected(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, mk(p, NULL, "\"a\\u007fb\"", ITEMS, AMT, NULL), "user_id");
    REJECT(p, mk(p, NULL, "\"a\x7f" "b\"", ITEMS, AMT, NULL), "user_id");
}

static void test_user_id_c1_control_rejected(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, mk(p, NULL, "\"a\\u0080b\"", ITEMS, AMT, NULL), "user_id");
    REJECT(p, mk(p, NULL, "\"a\\u0085b\"", ITEMS, AMT, NULL), "user_id");
    REJECT(p, mk(p, NULL, "\"a\\u009fb\"", ITEMS, AMT, NULL), "user_id");
}

static void test_user_id_printable_boundaries_accepted(void **state)
{
    apr_pool_t *p = pool_of(state);
    /* U+0020, U+007E and U+00A0 sit right next to the excluded ranges */
    ord_order_t *o = ACCEPT(p, mk(p, NULL, "\" ~\\u00a0\"", ITEMS, AMT, NULL));
    assert_string_equal(o->user_id.text, " ~\xc2\xa0");
}

static void test_user_id_float_rejected(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, mk(p, NULL, "1.5", ITEMS, AMT, NULL), "user_id");
}

static void test_user_id_other_types_rejected(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, mk(p, NULL, "null", ITEMS, AMT, NULL), "user_id");
    REJECT(p, mk(p, NULL, "true", ITEMS, AMT, NULL), "user_id");
    REJECT(p, mk(p, NULL, "[1]", ITEMS, AMT, NULL), "user_id");
    REJECT(p, mk(p, NULL, "{\"id\":1}", ITEMS, AMT, NULL), "user_id");
}

/* ================================================================== */
/* item_ids                                                            */
/* ================================================================== */

static void test_item_ids_missing_rejected(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, mk(p, NULL, USER, NULL, AMT, NULL), "item_ids");
}

static void test_item_ids_integers_canonical(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_order_t *o = ACCEPT(p, mk(p, NULL, USER, "[101, 102,\n 103 ]", AMT,
                                  NULL));
    assert_string_equal(o->item_ids_json, "[101,102,103]");
}

static void test_item_ids_mixed_types_canonical(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_order_t *o = ACCEPT(p, mk(p, NULL, USER, "[101, 102, \"a\"]", AMT,
                                  NULL));
    assert_string_equal(o->item_ids_json, "[101,102,\"a\"]");
}

static void test_item_ids_integer_limits(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_order_t *o = ACCEPT(p, mk(p, NULL, USER, "[0,9007199254740991]", AMT,
                                  NULL));
    assert_string_equal(o->item_ids_json, "[0,9007199254740991]");
}

static void test_item_ids_integer_out_of_range_rejected(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, mk(p, NULL, USER, "[9007199254740992]", AMT, NULL), "item_ids");
    REJECT(p, mk(p, NULL, USER, "[-1]", AMT, NULL), "item_ids");
    REJECT(p, mk(p, NULL, USER, "[99999999999999999999]", AMT, NULL),
           "item_ids");
}

static void test_item_ids_empty_array_rejected(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, mk(p, NULL, USER, "[]", AMT, NULL), "item_ids");
}

static void test_item_ids_at_max_items_accepted(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_order_t *o = ACCEPT_MAX(p, mk(p, NULL, USER, "[1,2,3]", AMT, NULL), 3);
    assert_string_equal(o->item_ids_json, "[1,2,3]");
}

static void test_item_ids_over_max_items_rejected(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT_MAX(p, mk(p, NULL, USER, "[1,2,3,4]", AMT, NULL), "item_ids", 3);
}

static void test_item_ids_default_limit_1000(void **state)
{
    apr_pool_t *p = pool_of(state);
    const char *arr = "[0";
    const char *body;
    ord_order_t *o;
    int i;
    for (i = 1; i < 1000; i++) {
        arr = apr_psprintf(p, "%s,%d", arr, i);
    }
    body = mk(p, NULL, USER, apr_pstrcat(p, arr, "]", NULL), AMT, NULL);
    o = ACCEPT(p, body);
    assert_string_equal(o->item_ids_json, apr_pstrcat(p, arr, "]", NULL));
    body = mk(p, NULL, USER, apr_pstrcat(p, arr, ",1000]", NULL), AMT, NULL);
    REJECT(p, body, "item_ids");
}

static void test_item_ids_string_64_chars_accepted(void **state)
{
    apr_pool_t *p = pool_of(state);
    const char *s = repeat(p, "i", 64);
    ord_order_t *o = ACCEPT(p, mk(p, NULL, USER,
                                  apr_pstrcat(p, "[\"", s, "\"]", NULL),
                                  AMT, NULL));
    assert_string_equal(o->item_ids_json, apr_pstrcat(p, "[\"", s, "\"]",
                                                      NULL));
}

static void test_item_ids_string_65_chars_rejected(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, mk(p, NULL, USER,
                 apr_pstrcat(p, "[\"", repeat(p, "i", 65), "\"]", NULL),
                 AMT, NULL), "item_ids");
}

static void test_item_ids_empty_string_item_rejected(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, mk(p, NULL, USER, "[\"a\",\"\"]", AMT, NULL), "item_ids");
}

static void test_item_ids_control_char_in_item_rejected(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, mk(p, NULL, USER, "[\"a\\tb\"]", AMT, NULL), "item_ids");
    REJECT(p, mk(p, NULL, USER, "[\"a\\u0000b\"]", AMT, NULL), "item_ids");
    REJECT(p, mk(p, NULL, USER, "[\"a\\u007fb\"]", AMT, NULL), "item_ids");
}

static void test_item_ids_float_item_rejected(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, mk(p, NULL, USER, "[101,1.5]", AMT, NULL), "item_ids");
}

static void test_item_ids_boolean_item_rejected(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, mk(p, NULL, USER, "[101,true]", AMT, NULL), "item_ids");
}

static void test_item_ids_null_item_rejected(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, mk(p, NULL, USER, "[101,null]", AMT, NULL), "item_ids");
}

static void test_item_ids_object_item_rejected(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, mk(p, NULL, USER, "[101,{\"id\":1}]", AMT, NULL), "item_ids");
}

static void test_item_ids_nested_array_rejected(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, mk(p, NULL, USER, "[[101]]", AMT, NULL), "item_ids");
}

static void test_item_ids_not_array_or_string_rejected(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, mk(p, NULL, USER, "101", AMT, NULL), "item_ids");
    REJECT(p, mk(p, NULL, USER, "null", AMT, NULL), "item_ids");
    REJECT(p, mk(p, NULL, USER, "true", AMT, NULL), "item_ids");
    REJECT(p, mk(p, NULL, USER, "{\"0\":101}", AMT, NULL), "item_ids");
}

static void test_item_ids_escaped_strings_canonical(void **state)
{
    apr_pool_t *p = pool_of(state);
    /* items a"b and c\d */
    ord_order_t *o = ACCEPT(p, mk(p, NULL, USER, "[\"a\\\"b\", \"c\\\\d\"]",
                                  AMT, NULL));
    assert_string_equal(o->item_ids_json, "[\"a\\\"b\",\"c\\\\d\"]");
}

static void test_item_ids_json_is_valid_json_of_the_items(void **state)
{
    apr_pool_t *p = pool_of(state);
    json_object *arr;
    ord_order_t *o = ACCEPT(p, mk(p, NULL, USER,
                                  "[\"a/b\", \"two words\", \"\\u00e9t\\u00e9\","
                                  " 7]", AMT, NULL));
    arr = parse_strict(p, o->item_ids_json);
    assert_true(json_object_is_type(arr, json_type_array));
    assert_int_equal(json_object_array_length(arr), 4);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(arr, 0)),
                        "a/b");
    assert_string_equal(json_object_get_string(json_object_array_get_idx(arr, 1)),
                        "two words");
    assert_string_equal(json_object_get_string(json_object_array_get_idx(arr, 2)),
                        "\xc3\xa9t\xc3\xa9");
    assert_true(json_object_is_type(json_object_array_get_idx(arr, 3),
                                    json_type_int));
    assert_int_equal(json_object_get_int64(json_object_array_get_idx(arr, 3)), 7);
}

/* ------------------------ comma-separated string --------------------- */

static void test_item_ids_comma_string_to_array(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_order_t *o = ACCEPT(p, mk(p, NULL, USER, "\"item_1,item_2\"", AMT,
                                  NULL));
    assert_string_equal(o->item_ids_json, "[\"item_1\",\"item_2\"]");
}

static void test_item_ids_comma_string_trims_spaces(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_order_t *o = ACCEPT(p, mk(p, NULL, USER, "\"item_1, item_2\"", AMT,
                                  NULL));
    assert_string_equal(o->item_ids_json, "[\"item_1\",\"item_2\"]");
    o = ACCEPT(p, mk(p, NULL, USER, "\"  a ,b  ,  c\"", AMT, NULL));
    assert_string_equal(o->item_ids_json, "[\"a\",\"b\",\"c\"]");
}

static void test_item_ids_comma_string_single_item(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_order_t *o = ACCEPT(p, mk(p, NULL, USER, "\"item_1\"", AMT, NULL));
    assert_string_equal(o->item_ids_json, "[\"item_1\"]");
}

static void test_item_ids_comma_string_digits_stay_strings(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_order_t *o = ACCEPT(p, mk(p, NULL, USER, "\"101,102\"", AMT, NULL));
    assert_string_equal(o->item_ids_json, "[\"101\",\"102\"]");
}

static void test_item_ids_comma_string_empty_piece_rejected(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, mk(p, NULL, USER, "\"a,,b\"", AMT, NULL), "item_ids");
    REJECT(p, mk(p, NULL, USER, "\"a,\"", AMT, NULL), "item_ids");
    REJECT(p, mk(p, NULL, USER, "\",a\"", AMT, NULL), "item_ids");
    REJECT(p, mk(p, NULL, USER, "\"a, ,b\"", AMT, NULL), "item_ids");
}

static void test_item_ids_comma_string_empty_rejected(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, mk(p, NULL, USER, "\"\"", AMT, NULL), "item_ids");
    REJECT(p, mk(p, NULL, USER, "\"   \"", AMT, NULL), "item_ids");
}

static void test_item_ids_comma_string_piece_length(void **state)
{
    apr_pool_t *p = pool_of(state);
    const char *s64 = repeat(p, "x", 64);
    ord_order_t *o = ACCEPT(p, mk(p, NULL, USER,
                                  apr_pstrcat(p, "\"a, ", s64, " \"", NULL),
                                  AMT, NULL));
    assert_string_equal(o->item_ids_json,
                        apr_pstrcat(p, "[\"a\",\"", s64, "\"]", NULL));
    REJECT(p, mk(p, NULL, USER,
                 apr_pstrcat(p, "\"a,", repeat(p, "x", 65), "\"", NULL),
                 AMT, NULL), "item_ids");
}

static void test_item_ids_comma_string_over_max_items_rejected(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_order_t *o = ACCEPT_MAX(p, mk(p, NULL, USER, "\"a,b,c\"", AMT, NULL), 3);
    assert_string_equal(o->item_ids_json, "[\"a\",\"b\",\"c\"]");
    REJECT_MAX(p, mk(p, NULL, USER, "\"a,b,c,d\"", AMT, NULL), "item_ids", 3);
}

static void test_item_ids_comma_string_control_char_rejected(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, mk(p, NULL, USER, "\"a\\tb,c\"", AMT, NULL), "item_ids");
}

/* ================================================================== */
/* total_amount                                                        */
/* ================================================================== */

#define AMOUNT_OK(p, json, want_cents, want_scale) do {                     \
        ord_order_t *o_ = ACCEPT((p), mk((p), NULL, USER, ITEMS, (json),   \
                                         NULL));                           \
        assert_int_equal(o_->total_amount.cents, APR_INT64_C(want_cents)); \
        assert_int_equal(o_->total_amount.scale, (want_scale));            \
    } while (0)

#define AMOUNT_BAD(p, json) \
    REJECT((p), mk((p), NULL, USER, ITEMS, (json), NULL), "total_amount")

static void test_amount_missing_rejected(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, mk(p, NULL, USER, ITEMS, NULL, NULL), "total_amount");
}

static void test_amount_two_decimals(void **state)
{
    apr_pool_t *p = pool_of(state);
    AMOUNT_OK(p, "59.99", 5999, 2);
    AMOUNT_OK(p, "149.99", 14999, 2);
}

static void test_amount_integer(void **state)
{
    apr_pool_t *p = pool_of(state);
    AMOUNT_OK(p, "60", 6000, 0);
    AMOUNT_OK(p, "0", 0, 0);
}

static void test_amount_one_decimal_kept(void **state)
{
    apr_pool_t *p = pool_of(state);
    AMOUNT_OK(p, "60.0", 6000, 1);
}

static void test_amount_positive_exponent(void **state)
{
    apr_pool_t *p = pool_of(state);
    AMOUNT_OK(p, "1.5e1", 1500, 0);
    AMOUNT_OK(p, "1E2", 10000, 0);
}

static void test_amount_negative_exponent(void **state)
{
    apr_pool_t *p = pool_of(state);
    AMOUNT_OK(p, "15e-1", 150, 1);
    AMOUNT_OK(p, "5999e-2", 5999, 2);
}

static void test_amount_negative_zero(void **state)
{
    apr_pool_t *p = pool_of(state);
    AMOUNT_OK(p, "-0", 0, 0);
}

static void test_amount_max_accepted(void **state)
{
    apr_pool_t *p = pool_of(state);
    AMOUNT_OK(p, "1000000000000", 100000000000000, 0);
}

static void test_amount_above_max_rejected(void **state)
{
    apr_pool_t *p = pool_of(state);
    AMOUNT_BAD(p, "1000000000000.01");
    AMOUNT_BAD(p, "1e13");
}

static void test_amount_integer_overflow_rejected(void **state)
{
    apr_pool_t *p = pool_of(state);
    /* json-c saturates these to INT64_MAX / INT64_MIN silently */
    AMOUNT_BAD(p, "99999999999999999999");
    AMOUNT_BAD(p, "-99999999999999999999");
}

static void test_amount_huge_exponent_rejected(void **state)
{
    apr_pool_t *p = pool_of(state);
    AMOUNT_BAD(p, "1e400");
}

static void test_amount_three_decimals_rejected(void **state)
{
    apr_pool_t *p = pool_of(state);
    AMOUNT_BAD(p, "0.001");
}

static void test_amount_negative_rejected(void **state)
{
    apr_pool_t *p = pool_of(state);
    AMOUNT_BAD(p, "-1");
    AMOUNT_BAD(p, "-0.01");
}

static void test_amount_string_rejected(void **state)
{
    apr_pool_t *p = pool_of(state);
    AMOUNT_BAD(p, "\"59.99\"");
}

static void test_amount_other_types_rejected(void **state)
{
    apr_pool_t *p = pool_of(state);
    AMOUNT_BAD(p, "null");
    AMOUNT_BAD(p, "true");
    AMOUNT_BAD(p, "[59.99]");
    AMOUNT_BAD(p, "{\"value\":59.99}");
}

/* ================================================================== */
/* status                                                              */
/* ================================================================== */

static void test_status_pending_accepted(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_order_t *o = ACCEPT(p, mk(p, NULL, USER, ITEMS, AMT, "\"Pending\""));
    assert_int_equal(o->status, ORD_PENDING);
}

static void test_status_other_names_rejected(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, mk(p, NULL, USER, ITEMS, AMT, "\"Completed\""), "status");
    REJECT(p, mk(p, NULL, USER, ITEMS, AMT, "\"Processing\""), "status");
    REJECT(p, mk(p, NULL, USER, ITEMS, AMT, "\"Cancelled\""), "status");
    REJECT(p, mk(p, NULL, USER, ITEMS, AMT, "\"pending\""), "status");
    REJECT(p, mk(p, NULL, USER, ITEMS, AMT, "\"\""), "status");
}

static void test_status_non_string_rejected(void **state)
{
    apr_pool_t *p = pool_of(state);
    REJECT(p, mk(p, NULL, USER, ITEMS, AMT, "1"), "status");
    REJECT(p, mk(p, NULL, USER, ITEMS, AMT, "0"), "status");
    REJECT(p, mk(p, NULL, USER, ITEMS, AMT, "null"), "status");
    REJECT(p, mk(p, NULL, USER, ITEMS, AMT, "[\"Pending\"]"), "status");
}

/* ================================================================== */
/* Rendering: ord_json_order                                           */
/* ================================================================== */

static void test_render_has_exactly_the_api_keys(void **state)
{
    static const char *const keys[] = {
        "order_id", "user_id", "item_ids", "total_amount", "status",
        "created_at", "updated_at", "processing_started_at", "completed_at",
        "pending_duration", "processing_duration", "total_duration"
    };
    apr_pool_t *p = pool_of(state);
    json_object *obj = render(p, completed_order(p));
    size_t i;
    assert_true(json_object_is_type(obj, json_type_object));
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        (void)member(obj, keys[i]);
    }
    assert_int_equal(json_object_object_length(obj), 12);
}

static void test_render_completed_order_values(void **state)
{
    apr_pool_t *p = pool_of(state);
    json_object *obj = render(p, completed_order(p));
    json_object *items = member(obj, "item_ids");

    check_string(obj, "order_id", "ORD003");
    check_int(obj, "user_id", 1);
    assert_true(json_object_is_type(items, json_type_array));
    assert_int_equal(json_object_array_length(items), 3);
    assert_int_equal(json_object_get_int64(json_object_array_get_idx(items, 0)),
                     101);
    assert_int_equal(json_object_get_int64(json_object_array_get_idx(items, 2)),
                     103);
    check_number_text(obj, "total_amount", "59.99");
    check_string(obj, "status", "Completed");
}

static void test_render_timestamps_iso8601_utc_micro(void **state)
{
    apr_pool_t *p = pool_of(state);
    json_object *obj = render(p, completed_order(p));
    check_string(obj, "created_at", "2026-11-23T15:00:17.000000Z");
    check_string(obj, "processing_started_at", "2026-11-23T15:00:19.747467Z");
    check_string(obj, "completed_at", "2026-11-23T15:00:24.758685Z");
    check_string(obj, "updated_at", "2026-11-23T15:00:24.758685Z");
}

static void test_render_durations_of_completed_order(void **state)
{
    apr_pool_t *p = pool_of(state);
    json_object *obj = render(p, completed_order(p));
    check_seconds(obj, "pending_duration", 2.747467);
    check_seconds(obj, "processing_duration", 5.011218);
    check_seconds(obj, "total_duration", 7.758685);
}

static void test_render_pending_order_nulls(void **state)
{
    apr_pool_t *p = pool_of(state);
    json_object *obj = render(p, pending_order(p));
    check_string(obj, "status", "Pending");
    check_string(obj, "created_at", "2026-11-23T15:00:17.000000Z");
    check_string(obj, "updated_at", "2026-11-23T15:00:17.000000Z");
    check_null(obj, "processing_started_at");
    check_null(obj, "completed_at");
    check_null(obj, "pending_duration");
    check_null(obj, "processing_duration");
    check_null(obj, "total_duration");
}

static void test_render_processing_order_has_pending_duration_only(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_order_t *o = completed_order(p);
    json_object *obj;
    o->status = ORD_PROCESSING;
    o->completed_at = 0;
    o->updated_at = o->processing_started_at;
    obj = render(p, o);
    check_string(obj, "status", "Processing");
    check_string(obj, "processing_started_at", "2026-11-23T15:00:19.747467Z");
    check_null(obj, "completed_at");
    check_seconds(obj, "pending_duration", 2.747467);
    check_null(obj, "processing_duration");
    check_null(obj, "total_duration");
}

static void test_render_cancelled_order(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_order_t *o = pending_order(p);
    json_object *obj;
    o->status = ORD_CANCELLED;
    o->updated_at = o->created_at + 1500000;
    obj = render(p, o);
    check_string(obj, "status", "Cancelled");
    check_string(obj, "updated_at", "2026-11-23T15:00:18.500000Z");
    check_null(obj, "processing_started_at");
    check_null(obj, "total_duration");
}

static void test_render_whole_second_durations(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_order_t *o = completed_order(p);
    json_object *obj;
    o->processing_started_at = o->created_at + 2000000;
    o->completed_at = o->processing_started_at + 3000000;
    obj = render(p, o);
    check_seconds(obj, "pending_duration", 2.0);
    check_seconds(obj, "processing_duration", 3.0);
    check_seconds(obj, "total_duration", 5.0);
}

static void test_render_int_order_id_and_string_user_id(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_order_t *o = completed_order(p);
    json_object *obj;
    o->order_id.text = "42";
    o->order_id.is_int = 1;
    o->user_id.text = "1";
    o->user_id.is_int = 0;
    obj = render(p, o);
    check_int(obj, "order_id", 42);
    check_string(obj, "user_id", "1");
}

static void test_render_max_int_ids(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_order_t *o = completed_order(p);
    json_object *obj;
    o->order_id.text = "9007199254740991";
    o->order_id.is_int = 1;
    o->user_id.text = "9007199254740991";
    o->user_id.is_int = 1;
    obj = render(p, o);
    check_int(obj, "order_id", APR_INT64_C(9007199254740991));
    check_int(obj, "user_id", APR_INT64_C(9007199254740991));
}

static void test_render_string_ids_escaped(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_order_t *o = completed_order(p);
    json_object *obj;
    o->user_id.text = "he said \"hi\" \\o/ Zo\xc3\xab";
    o->user_id.is_int = 0;
    obj = render(p, o);
    check_string(obj, "user_id", "he said \"hi\" \\o/ Zo\xc3\xab");
}

static void test_render_item_ids_keep_types(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_order_t *o = completed_order(p);
    json_object *obj, *items, *a, *b, *c;
    o->item_ids_json = "[101,\"a-2\",\"q\\\"x\"]";
    obj = render(p, o);
    items = member(obj, "item_ids");
    assert_true(json_object_is_type(items, json_type_array));
    assert_int_equal(json_object_array_length(items), 3);
    a = json_object_array_get_idx(items, 0);
    b = json_object_array_get_idx(items, 1);
    c = json_object_array_get_idx(items, 2);
    assert_true(json_object_is_type(a, json_type_int));
    assert_int_equal(json_object_get_int64(a), 101);
    assert_true(json_object_is_type(b, json_type_string));
    assert_string_equal(json_object_get_string(b), "a-2");
    assert_true(json_object_is_type(c, json_type_string));
    assert_string_equal(json_object_get_string(c), "q\"x");
}

#define RENDER_AMOUNT(p, c, s, want) do {                              \
        ord_order_t *o_ = completed_order(p);                          \
        o_->total_amount.cents = APR_INT64_C(c);                       \
        o_->total_amount.scale = (s);                                  \
        check_number_text(render((p), o_), "total_amount", (want));   \
    } while (0)

static void test_render_amount_keeps_sent_decimals(void **state)
{
    apr_pool_t *p = pool_of(state);
    RENDER_AMOUNT(p, 14999, 2, "149.99");
    RENDER_AMOUNT(p, 6000, 1, "60.0");
    RENDER_AMOUNT(p, 6000, 0, "60");
    RENDER_AMOUNT(p, 5, 2, "0.05");
    RENDER_AMOUNT(p, 0, 0, "0");
}

static void test_render_amount_max(void **state)
{
    apr_pool_t *p = pool_of(state);
    RENDER_AMOUNT(p, 100000000000000, 0, "1000000000000");
    RENDER_AMOUNT(p, 99999999999999, 2, "999999999999.99");
}

/* ================================================================== */
/* Rendering: ord_json_error                                           */
/* ================================================================== */

static void check_error_body(apr_pool_t *p, const char *message)
{
    const char *text = ord_json_error(p, message);
    json_object *obj = parse_strict(p, text);
    assert_true(json_object_is_type(obj, json_type_object));
    assert_int_equal(json_object_object_length(obj), 1);
    check_string(obj, "error", message);
}

static void test_error_body_single_error_key(void **state)
{
    apr_pool_t *p = pool_of(state);
    check_error_body(p, "total_amount must be a number.");
}

static void test_error_body_escapes_quote_backslash_newline(void **state)
{
    apr_pool_t *p = pool_of(state);
    check_error_body(p, "field \"user_id\" is bad: C:\\path\nsecond line");
}

static void test_error_body_escapes_controls_keeps_utf8(void **state)
{
    apr_pool_t *p = pool_of(state);
    check_error_body(p, "tab\there, cr\r, bell\x07, slash /, Zo\xc3\xab");
}

/* ================================================================== */
/* Round trips: body -> order -> JSON -> json-c                        */
/* ================================================================== */

static json_object *round_trip(apr_pool_t *p, const char *body)
{
    ord_order_t *o = ACCEPT(p, body);
    o->created_at = T0;
    o->updated_at = T0;
    return render(p, o);
}

static void test_round_trip_api_example_types(void **state)
{
    apr_pool_t *p = pool_of(state);
    json_object *obj = round_trip(p, "{\"order_id\":\"ORD-1\",\"user_id\":1,"
                                     "\"item_ids\":[101,\"a-2\",103],"
                                     "\"total_amount\":149.99}");
    json_object *items = member(obj, "item_ids");

    check_string(obj, "order_id", "ORD-1");
    check_int(obj, "user_id", 1);
    assert_true(json_object_is_type(items, json_type_array));
    assert_int_equal(json_object_array_length(items), 3);
    assert_true(json_object_is_type(json_object_array_get_idx(items, 0),
                                    json_type_int));
    assert_int_equal(json_object_get_int64(json_object_array_get_idx(items, 0)),
                     101);
    assert_true(json_object_is_type(json_object_array_get_idx(items, 1),
                                    json_type_string));
    assert_string_equal(json_object_get_string(json_object_array_get_idx(items,
                                                                         1)),
                        "a-2");
    assert_true(json_object_is_type(json_object_array_get_idx(items, 2),
                                    json_type_int));
    assert_int_equal(json_object_get_int64(json_object_array_get_idx(items, 2)),
                     103);
    check_number_text(obj, "total_amount", "149.99");
    check_string(obj, "status", "Pending");
    check_string(obj, "created_at", "2026-11-23T15:00:17.000000Z");
    check_null(obj, "processing_started_at");
    check_null(obj, "completed_at");
    check_null(obj, "pending_duration");
}

static void test_round_trip_int_order_id_string_user_comma_items(void **state)
{
    apr_pool_t *p = pool_of(state);
    json_object *obj = round_trip(p, "{\"order_id\":42,\"user_id\":\"alice\","
                                     "\"item_ids\":\"item_1, item_2\","
                                     "\"total_amount\":60.0,"
                                     "\"status\":\"Pending\"}");
    json_object *items = member(obj, "item_ids");

    check_int(obj, "order_id", 42);
    check_string(obj, "user_id", "alice");
    assert_true(json_object_is_type(items, json_type_array));
    assert_int_equal(json_object_array_length(items), 2);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(items,
                                                                         0)),
                        "item_1");
    assert_string_equal(json_object_get_string(json_object_array_get_idx(items,
                                                                         1)),
                        "item_2");
    check_number_text(obj, "total_amount", "60.0");
    check_string(obj, "status", "Pending");
}

static void test_round_trip_amount_texts(void **state)
{
    static const struct { const char *sent, *back; } cases[] = {
        { "149.99", "149.99" }, { "59.99", "59.99" }, { "60", "60" },
        { "60.0", "60.0" }, { "0.05", "0.05" }, { "1.5e1", "15" },
        { "15e-1", "1.5" }, { "-0", "0" }, { "1000000000000", "1000000000000" }
    };
    apr_pool_t *p = pool_of(state);
    size_t i;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_object *obj = round_trip(p, mk(p, "\"A\"", USER, ITEMS,
                                            cases[i].sent, NULL));
        check_number_text(obj, "total_amount", cases[i].back);
    }
}

static void test_round_trip_unicode_and_escaped_user_id(void **state)
{
    apr_pool_t *p = pool_of(state);
    json_object *obj = round_trip(p, mk(p, "\"A\"",
                                        "\"Zo\\u00eb \\\"Z\\\" \\\\ \\ud83d\\udc4b\"",
                                        ITEMS, AMT, NULL));
    check_string(obj, "user_id", "Zo\xc3\xab \"Z\" \\ \xf0\x9f\x91\x8b");
}

static void test_round_trip_generated_id_absent_stays_absent(void **state)
{
    apr_pool_t *p = pool_of(state);
    /* Without order_id the parser leaves it to the caller, who sets a
     * generated one; that id must come back as a string. */
    ord_order_t *o = ACCEPT(p, mk(p, NULL, USER, ITEMS, AMT, NULL));
    json_object *obj;
    const char *id = ord_order_new_id(p);
    assert_null(o->order_id.text);
    o->order_id.text = id;
    o->order_id.is_int = 0;
    o->created_at = o->updated_at = T0;
    obj = render(p, o);
    check_string(obj, "order_id", id);
}

/* ------------------ parse + ord_order_same_content ------------------- */

static int same_content(apr_pool_t *p, const char *a, const char *b)
{
    return ord_order_same_content(ACCEPT(p, a), ACCEPT(p, b));
}

static void test_retry_with_other_spacing_is_same_content(void **state)
{
    apr_pool_t *p = pool_of(state);
    assert_true(same_content(p,
        "{\"order_id\":\"A\",\"user_id\":1,\"item_ids\":[101,102],"
        "\"total_amount\":59.99}",
        "{ \"total_amount\": 59.99, \"item_ids\": [ 101, 102 ],\n"
        "  \"user_id\": 1, \"order_id\": \"A\", \"status\": \"Pending\" }"));
}

static void test_retry_comma_string_equals_string_array(void **state)
{
    apr_pool_t *p = pool_of(state);
    assert_true(same_content(p,
        mk(p, "\"A\"", USER, "\"item_1, item_2\"", AMT, NULL),
        mk(p, "\"A\"", USER, "[\"item_1\",\"item_2\"]", AMT, NULL)));
}

static void test_retry_with_other_types_is_other_content(void **state)
{
    apr_pool_t *p = pool_of(state);
    assert_false(same_content(p, mk(p, "\"A\"", "1", ITEMS, AMT, NULL),
                              mk(p, "\"A\"", "\"1\"", ITEMS, AMT, NULL)));
    assert_false(same_content(p, mk(p, "\"A\"", USER, "[101]", AMT, NULL),
                              mk(p, "\"A\"", USER, "[\"101\"]", AMT, NULL)));
    assert_false(same_content(p, mk(p, "\"A\"", USER, ITEMS, "60", NULL),
                              mk(p, "\"A\"", USER, ITEMS, "60.0", NULL)));
    assert_false(same_content(p, mk(p, "\"A\"", USER, "[101,102]", AMT, NULL),
                              mk(p, "\"A\"", USER, "[102,101]", AMT, NULL)));
}

/* ================================================================== */
/* POST {mount}/populate: ord_json_parse_populate                      */
/* ================================================================== */

#define POP_OK(p, body) pop_ok_((p), (body), __FILE__, __LINE__)

static ord_populate_t pop_ok_(apr_pool_t *p, const char *body,
                              const char *file, int line)
{
    ord_populate_t req = { -1, "(unset)" };
    const char *error = NULL;
    apr_status_t rv = ord_json_parse_populate(p, body, strlen(body), &req,
                                              &error);
    if (rv != APR_SUCCESS) {
        print_error("populate body refused: %s\n  error: %s\n", body,
                    error ? error : "(NULL)");
    }
    _assert_int_equal(rv, APR_SUCCESS, file, line);
    return req;
}

/* Refused with APR_EINVAL and a message naming `field` when given. */
#define POP_BAD(p, body, field) \
    pop_bad_((p), (body), strlen(body), (field), __FILE__, __LINE__)
#define POP_BAD_LEN(p, body, len, field) \
    pop_bad_((p), (body), (len), (field), __FILE__, __LINE__)

static void pop_bad_(apr_pool_t *p, const char *body, apr_size_t len,
                     const char *field, const char *file, int line)
{
    ord_populate_t req = { -1, NULL };
    const char *error = NULL;
    apr_status_t rv = ord_json_parse_populate(p, body, len, &req, &error);

    if (rv != APR_EINVAL) {
        print_error("populate body not refused with APR_EINVAL (rv=%d): "
                    "%.*s\n", rv, (int)len, body);
        _assert_int_equal(rv, APR_EINVAL, file, line);
    }
    _assert_true(error != NULL, "error != NULL", file, line);
    _assert_true(error[0] != '\0', "error is not empty", file, line);
    if (field && !strstr(error, field)) {
        print_error("error \"%s\" does not name the field \"%s\"\n  body: "
                    "%.*s\n", error, field, (int)len, body);
        _fail(file, line);
    }
}

static void test_populate_total_entries_only(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_populate_t req = POP_OK(p, "{\"total_entries\":5}");

    assert_int_equal(req.total_entries, 5);
    assert_null(req.batch_id);
}

static void test_populate_with_batch_id(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_populate_t req;

    req = POP_OK(p, "{\"total_entries\":100000,\"batch_id\":\"b-1\"}");
    assert_int_equal(req.total_entries, 100000);
    assert_string_equal(req.batch_id, "b-1");

    req = POP_OK(p, " { \"batch_id\" : \"Load.Test_2:x-9\" ,\n"
                    "   \"total_entries\" : 1 } \n");
    assert_int_equal(req.total_entries, 1);
    assert_string_equal(req.batch_id, "Load.Test_2:x-9");

    /* The same key spelled with an escape. */
    req = POP_OK(p, "{\"total_entries\":2,\"batch\\u005fid\":\"b2\"}");
    assert_int_equal(req.total_entries, 2);
    assert_string_equal(req.batch_id, "b2");
}

static void test_populate_total_entries_bounds(void **state)
{
    apr_pool_t *p = pool_of(state);

    assert_int_equal(POP_OK(p, "{\"total_entries\":1}").total_entries, 1);
    assert_int_equal(POP_OK(p, "{\"total_entries\":100000}").total_entries,
                     100000);
    assert_int_equal(ORD_POPULATE_MAX, 100000);
    POP_BAD(p, "{\"total_entries\":0}", "total_entries");
    POP_BAD(p, "{\"total_entries\":100001}", "total_entries");
    POP_BAD(p, "{\"total_entries\":-1}", "total_entries");
    POP_BAD(p, "{\"total_entries\":4294967297}", "total_entries");
    POP_BAD(p, "{\"total_entries\":99999999999999999999}", "total_entries");
}

static void test_populate_total_entries_must_be_an_integer(void **state)
{
    apr_pool_t *p = pool_of(state);

    POP_BAD(p, "{\"total_entries\":\"5\"}", "total_entries");
    POP_BAD(p, "{\"total_entries\":1.5}", "total_entries");
    POP_BAD(p, "{\"total_entries\":5.0}", "total_entries");
    POP_BAD(p, "{\"total_entries\":1e3}", "total_entries");
    POP_BAD(p, "{\"total_entries\":null}", "total_entries");
    POP_BAD(p, "{\"total_entries\":true}", "total_entries");
    POP_BAD(p, "{\"total_entries\":[5]}", "total_entries");
    POP_BAD(p, "{\"total_entries\":{}}", "total_entries");
}

static void test_populate_total_entries_missing(void **state)
{
    apr_pool_t *p = pool_of(state);

    POP_BAD(p, "{}", "total_entries");
    POP_BAD(p, "{\"batch_id\":\"b-1\"}", "total_entries");
}

static void test_populate_batch_id_length(void **state)
{
    apr_pool_t *p = pool_of(state);
    const char *b57 = repeat(p, "b", 57);
    ord_populate_t req;

    assert_int_equal(ORD_BATCH_ID_MAX_CHARS, 57);
    req = POP_OK(p, apr_pstrcat(p, "{\"total_entries\":3,\"batch_id\":\"",
                                b57, "\"}", NULL));
    assert_string_equal(req.batch_id, b57);
    assert_int_equal(req.total_entries, 3);
    /* The longest order id it makes is still an order id. */
    assert_true(ord_order_id_text_valid(
        apr_pstrcat(p, b57, "-100000", NULL), 64));

    POP_BAD(p, apr_pstrcat(p, "{\"total_entries\":3,\"batch_id\":\"",
                           repeat(p, "b", 58), "\"}", NULL), "batch_id");
    POP_BAD(p, "{\"total_entries\":3,\"batch_id\":\"\"}", "batch_id");
}

static void test_populate_batch_id_characters(void **state)
{
    apr_pool_t *p = pool_of(state);

    assert_string_equal(
        POP_OK(p, "{\"total_entries\":1,\"batch_id\":\"AZaz09._:-\"}")
            .batch_id, "AZaz09._:-");
    POP_BAD(p, "{\"total_entries\":1,\"batch_id\":\"a b\"}", "batch_id");
    POP_BAD(p, "{\"total_entries\":1,\"batch_id\":\"a/b\"}", "batch_id");
    POP_BAD(p, "{\"total_entries\":1,\"batch_id\":\"a?b\"}", "batch_id");
    POP_BAD(p, "{\"total_entries\":1,\"batch_id\":\"Zo\xc3\xab\"}",
            "batch_id");
    POP_BAD(p, "{\"total_entries\":1,\"batch_id\":\"a\\u0000b\"}",
            "batch_id");
    POP_BAD(p, "{\"total_entries\":1,\"batch_id\":\"a\\nb\"}", "batch_id");
}

static void test_populate_batch_id_must_be_a_string(void **state)
{
    apr_pool_t *p = pool_of(state);

    POP_BAD(p, "{\"total_entries\":1,\"batch_id\":5}", "batch_id");
    POP_BAD(p, "{\"total_entries\":1,\"batch_id\":null}", "batch_id");
    POP_BAD(p, "{\"total_entries\":1,\"batch_id\":true}", "batch_id");
    POP_BAD(p, "{\"total_entries\":1,\"batch_id\":[\"b\"]}", "batch_id");
    POP_BAD(p, "{\"total_entries\":1,\"batch_id\":{}}", "batch_id");
}

static void test_populate_unknown_field(void **state)
{
    apr_pool_t *p = pool_of(state);

    POP_BAD(p, "{\"total_entries\":5,\"extra\":1}", "extra");
    POP_BAD(p, "{\"Total_entries\":5}", "Total_entries");
    POP_BAD(p, "{\"total_entries\":5,\"order_id\":\"x\"}", "order_id");
}

static void test_populate_duplicate_key(void **state)
{
    apr_pool_t *p = pool_of(state);

    POP_BAD(p, "{\"total_entries\":5,\"total_entries\":5}", "total_entries");
    POP_BAD(p, "{\"total_entries\":5,\"total_entries\":0}", "total_entries");
    POP_BAD(p, "{\"batch_id\":\"a\",\"total_entries\":5,\"batch_id\":\"b\"}",
            "batch_id");
    POP_BAD(p, "{\"total_entries\":5,\"total\\u005fentries\":6}",
            "total_entries");
}

static void test_populate_body_must_be_one_object(void **state)
{
    apr_pool_t *p = pool_of(state);

    POP_BAD(p, "", NULL);
    POP_BAD(p, "   ", NULL);
    POP_BAD(p, "[]", NULL);
    POP_BAD(p, "5", NULL);
    POP_BAD(p, "{\"total_entries\":5", NULL);
    POP_BAD(p, "{\"total_entries\":5} x", NULL);
    POP_BAD(p, "{\"total_entries\":5}{}", NULL);
    POP_BAD(p, "{'total_entries':5}", NULL);
    POP_BAD(p, "{\"total_entries\":5,\"batch_id\":\"\xff\"}", NULL);
    POP_BAD_LEN(p, "{\"total_entries\":5}\0", 20, NULL);
}

/* ================================================================== */
/* Rendering: ord_json_populate_result                                 */
/* ================================================================== */

static void test_populate_result_keys_and_values(void **state)
{
    apr_pool_t *p = pool_of(state);
    apr_array_header_t *errors = apr_array_make(p, 0, sizeof(const char *));
    json_object *obj, *list;

    obj = parse_strict(p, ord_json_populate_result(p, "b-1", 250, 248, 2,
                                                   errors));
    assert_true(json_object_is_type(obj, json_type_object));
    assert_int_equal(json_object_object_length(obj), 5);
    check_string(obj, "batch_id", "b-1");
    check_int(obj, "total_entries", 250);
    check_int(obj, "success_count", 248);
    check_int(obj, "failure_count", 2);
    list = member(obj, "errors");
    assert_true(json_object_is_type(list, json_type_array));
    assert_int_equal(json_object_array_length(list), 0);
}

static void test_populate_result_errors_are_strings(void **state)
{
    apr_pool_t *p = pool_of(state);
    apr_array_header_t *errors = apr_array_make(p, 2, sizeof(const char *));
    json_object *obj, *list, *e;

    APR_ARRAY_PUSH(errors, const char *) = "order b-7: \"busy\"";
    APR_ARRAY_PUSH(errors, const char *) = "second\nline \\ Zo\xc3\xab";
    obj = parse_strict(p, ord_json_populate_result(p, "AZaz09._:-", 100000,
                                                   0, 100000, errors));
    check_string(obj, "batch_id", "AZaz09._:-");
    check_int(obj, "total_entries", 100000);
    check_int(obj, "success_count", 0);
    check_int(obj, "failure_count", 100000);
    list = member(obj, "errors");
    assert_true(json_object_is_type(list, json_type_array));
    assert_int_equal(json_object_array_length(list), 2);
    e = json_object_array_get_idx(list, 0);
    assert_true(json_object_is_type(e, json_type_string));
    assert_string_equal(json_object_get_string(e), "order b-7: \"busy\"");
    e = json_object_array_get_idx(list, 1);
    assert_true(json_object_is_type(e, json_type_string));
    assert_string_equal(json_object_get_string(e),
                        "second\nline \\ Zo\xc3\xab");
}

/* ================================================================== */
/* Rendering: ord_json_order_list                                      */
/* ================================================================== */

static void test_order_list_with_next(void **state)
{
    apr_pool_t *p = pool_of(state);
    apr_array_header_t *orders = apr_array_make(p, 2, sizeof(ord_order_t *));
    ord_order_t *second = pending_order(p);
    json_object *obj, *list, *o;

    second->order_id.text = "42";
    second->order_id.is_int = 1;
    second->user_id.text = "alice";
    second->user_id.is_int = 0;
    APR_ARRAY_PUSH(orders, ord_order_t *) = completed_order(p);
    APR_ARRAY_PUSH(orders, ord_order_t *) = second;

    obj = parse_strict(p, ord_json_order_list(
                              p, orders, "/orders?status=Pending&user_id=a"
                                         "%20b&limit=2&after=9"));
    assert_true(json_object_is_type(obj, json_type_object));
    assert_int_equal(json_object_object_length(obj), 2);
    check_string(obj, "next",
                 "/orders?status=Pending&user_id=a%20b&limit=2&after=9");
    list = member(obj, "orders");
    assert_true(json_object_is_type(list, json_type_array));
    assert_int_equal(json_object_array_length(list), 2);

    o = json_object_array_get_idx(list, 0);
    assert_true(json_object_is_type(o, json_type_object));
    assert_int_equal(json_object_object_length(o), 12);
    check_string(o, "order_id", "ORD003");
    check_int(o, "user_id", 1);
    check_number_text(o, "total_amount", "59.99");
    check_string(o, "status", "Completed");
    check_string(o, "created_at", "2026-11-23T15:00:17.000000Z");
    check_seconds(o, "processing_duration", 5.011218);

    o = json_object_array_get_idx(list, 1);
    assert_true(json_object_is_type(o, json_type_object));
    assert_int_equal(json_object_object_length(o), 12);
    check_int(o, "order_id", 42);
    check_string(o, "user_id", "alice");
    check_string(o, "status", "Pending");
    check_null(o, "completed_at");
    check_null(o, "pending_duration");
}

/* Each element is the same object ord_json_order renders. */
static void test_order_list_elements_equal_order_objects(void **state)
{
    apr_pool_t *p = pool_of(state);
    apr_array_header_t *orders = apr_array_make(p, 1, sizeof(ord_order_t *));
    ord_order_t *o = completed_order(p);
    json_object *list;

    APR_ARRAY_PUSH(orders, ord_order_t *) = o;
    list = member(parse_strict(p, ord_json_order_list(p, orders, NULL)),
                  "orders");
    assert_int_equal(json_object_array_length(list), 1);
    assert_true(json_object_equal(json_object_array_get_idx(list, 0),
                                  render(p, o)));
}

static void test_order_list_last_page_has_null_next(void **state)
{
    apr_pool_t *p = pool_of(state);
    apr_array_header_t *orders = apr_array_make(p, 1, sizeof(ord_order_t *));
    json_object *obj, *list;

    APR_ARRAY_PUSH(orders, ord_order_t *) = pending_order(p);
    obj = parse_strict(p, ord_json_order_list(p, orders, NULL));
    assert_int_equal(json_object_object_length(obj), 2);
    check_null(obj, "next");
    list = member(obj, "orders");
    assert_int_equal(json_object_array_length(list), 1);
    check_string(json_object_array_get_idx(list, 0), "order_id", "ORD003");
}

static void test_order_list_empty(void **state)
{
    apr_pool_t *p = pool_of(state);
    apr_array_header_t *orders = apr_array_make(p, 0, sizeof(ord_order_t *));
    json_object *obj, *list;

    obj = parse_strict(p, ord_json_order_list(p, orders, NULL));
    assert_int_equal(json_object_object_length(obj), 2);
    check_null(obj, "next");
    list = member(obj, "orders");
    assert_true(json_object_is_type(list, json_type_array));
    assert_int_equal(json_object_array_length(list), 0);
}

/* ================================================================== */
/* Parsing with limits.user_id_optional (OrdersBindUser)               */
/* ================================================================== */

static apr_status_t parse_opt(apr_pool_t *p, const char *body, int optional,
                              ord_order_t **order, const char **error)
{
    ord_parse_limits_t limits;

    limits.max_items = DEFAULT_MAX_ITEMS;
    limits.user_id_optional = optional;
    *order = NULL;
    *error = NULL;
    return ord_json_parse_order(p, body, strlen(body), &limits, order, error);
}

static void check_opt_rejected(apr_pool_t *p, const char *body, int optional)
{
    ord_order_t *o;
    const char *error;

    if (parse_opt(p, body, optional, &o, &error) != APR_EINVAL) {
        print_error("not refused (user_id_optional=%d): %s\n", optional,
                    body);
        fail();
    }
    assert_non_null(error);
    if (!strstr(error, "user_id")) {
        print_error("error \"%s\" does not name user_id\n", error);
        fail();
    }
}

static void test_user_id_optional_may_be_absent(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_order_t *o;
    const char *error;

    assert_int_equal(parse_opt(p, mk(p, "\"A1\"", NULL, "[101,\"x\"]", "59.99",
                                     NULL), 1, &o, &error), APR_SUCCESS);
    assert_non_null(o);
    assert_null(o->user_id.text);
    assert_int_equal(o->user_id.is_int, 0);
    assert_string_equal(o->order_id.text, "A1");
    assert_string_equal(o->item_ids_json, "[101,\"x\"]");
    assert_int_equal(o->total_amount.cents, 5999);
    assert_int_equal(o->status, ORD_PENDING);
}

static void test_user_id_optional_kept_when_present(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_order_t *o;
    const char *error;

    assert_int_equal(parse_opt(p, mk(p, NULL, "\"alice\"", ITEMS, AMT, NULL),
                               1, &o, &error), APR_SUCCESS);
    assert_string_equal(o->user_id.text, "alice");
    assert_int_equal(o->user_id.is_int, 0);
    assert_int_equal(parse_opt(p, mk(p, NULL, "7", ITEMS, AMT, NULL), 1, &o,
                               &error), APR_SUCCESS);
    assert_string_equal(o->user_id.text, "7");
    assert_int_equal(o->user_id.is_int, 1);
}

static void test_user_id_optional_still_validated(void **state)
{
    apr_pool_t *p = pool_of(state);

    check_opt_rejected(p, mk(p, NULL, "\"\"", ITEMS, AMT, NULL), 1);
    check_opt_rejected(p, mk(p, NULL, apr_pstrcat(p, "\"", repeat(p, "u", 65),
                                                  "\"", NULL),
                             ITEMS, AMT, NULL), 1);
    check_opt_rejected(p, mk(p, NULL, "\"a\\u0001b\"", ITEMS, AMT, NULL), 1);
    check_opt_rejected(p, mk(p, NULL, "-1", ITEMS, AMT, NULL), 1);
    check_opt_rejected(p, mk(p, NULL, "9007199254740992", ITEMS, AMT, NULL),
                       1);
    check_opt_rejected(p, mk(p, NULL, "1.5", ITEMS, AMT, NULL), 1);
    check_opt_rejected(p, mk(p, NULL, "null", ITEMS, AMT, NULL), 1);
    check_opt_rejected(p, mk(p, NULL, "true", ITEMS, AMT, NULL), 1);
    check_opt_rejected(p, mk(p, NULL, "[1]", ITEMS, AMT, NULL), 1);
}

static void test_user_id_required_when_not_optional(void **state)
{
    apr_pool_t *p = pool_of(state);
    ord_order_t *o;
    const char *error;

    check_opt_rejected(p, mk(p, "\"A1\"", NULL, ITEMS, AMT, NULL), 0);
    assert_int_equal(parse_opt(p, mk(p, "\"A1\"", USER, ITEMS, AMT, NULL), 0,
                               &o, &error), APR_SUCCESS);
    assert_string_equal(o->user_id.text, "1");
    assert_int_equal(o->user_id.is_int, 1);
    /* The other fields are required either way. */
    assert_int_equal(parse_opt(p, mk(p, NULL, NULL, NULL, AMT, NULL), 1, &o,
                               &error), APR_EINVAL);
    assert_non_null(strstr(error, "item_ids"));
    assert_int_equal(parse_opt(p, mk(p, NULL, NULL, ITEMS, NULL, NULL), 1, &o,
                               &error), APR_EINVAL);
    assert_non_null(strstr(error, "total_amount"));
}

/* ------------------------------------------------------------------ */

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* the body as a whole */
        cmocka_unit_test(test_parse_minimal_body_fills_order),
        cmocka_unit_test(test_parse_result_is_pending_with_zero_times),
        cmocka_unit_test(test_parse_accepts_fields_in_any_order_with_whitespace),
        cmocka_unit_test(test_parse_rejects_empty_body),
        cmocka_unit_test(test_parse_rejects_whitespace_only_body),
        cmocka_unit_test(test_parse_rejects_empty_object),
        cmocka_unit_test(test_parse_rejects_array_body),
        cmocka_unit_test(test_parse_rejects_number_body),
        cmocka_unit_test(test_parse_rejects_string_body),
        cmocka_unit_test(test_parse_rejects_null_and_boolean_body),
        cmocka_unit_test(test_parse_rejects_truncated_json),
        cmocka_unit_test(test_parse_rejects_non_json_syntax),
        cmocka_unit_test(test_parse_allows_trailing_whitespace),
        cmocka_unit_test(test_parse_rejects_trailing_garbage),
        cmocka_unit_test(test_parse_rejects_second_object),
        cmocka_unit_test(test_parse_rejects_trailing_nul_byte),
        cmocka_unit_test(test_parse_reads_only_len_bytes),
        cmocka_unit_test(test_parse_rejects_unknown_field),
        cmocka_unit_test(test_parse_rejects_field_names_case_sensitively),
        cmocka_unit_test(test_parse_rejects_server_owned_fields),
        cmocka_unit_test(test_parse_rejects_duplicate_key),
        cmocka_unit_test(test_parse_rejects_duplicate_key_with_same_value),
        cmocka_unit_test(test_parse_rejects_duplicate_key_spelled_with_escape),
        cmocka_unit_test(test_parse_rejects_deep_nesting),
        cmocka_unit_test(test_parse_rejects_deep_object_nesting),
        cmocka_unit_test(test_parse_rejects_invalid_utf8_byte_ff),
        cmocka_unit_test(test_parse_rejects_invalid_utf8_lone_continuation),
        cmocka_unit_test(test_parse_rejects_invalid_utf8_truncated_sequence),
        cmocka_unit_test(test_parse_rejects_invalid_utf8_overlong),
        cmocka_unit_test(test_parse_rejects_invalid_utf8_surrogate),
        cmocka_unit_test(test_parse_rejects_escaped_lone_surrogates),
        cmocka_unit_test(test_parse_accepts_escaped_surrogate_pair),
        cmocka_unit_test(test_parse_rejects_reserved_order_id),
        cmocka_unit_test(test_parse_rejects_invalid_utf8_above_10ffff),
        cmocka_unit_test(test_parse_rejects_invalid_utf8_in_item),

        /* order_id */
        cmocka_unit_test(test_order_id_absent_gives_null_text),
        cmocka_unit_test(test_order_id_string_kept),
        cmocka_unit_test(test_order_id_string_all_allowed_chars),
        cmocka_unit_test(test_order_id_string_64_chars_accepted),
        cmocka_unit_test(test_order_id_string_65_chars_rejected),
        cmocka_unit_test(test_order_id_empty_string_rejected),
        cmocka_unit_test(test_order_id_forbidden_chars_rejected),
        cmocka_unit_test(test_order_id_integer_kept_as_int),
        cmocka_unit_test(test_order_id_integer_zero_accepted),
        cmocka_unit_test(test_order_id_integer_max_accepted),
        cmocka_unit_test(test_order_id_integer_above_max_rejected),
        cmocka_unit_test(test_order_id_negative_rejected),
        cmocka_unit_test(test_order_id_float_rejected),
        cmocka_unit_test(test_order_id_other_types_rejected),
        cmocka_unit_test(test_order_id_null_rejected),

        /* user_id */
        cmocka_unit_test(test_user_id_missing_rejected),
        cmocka_unit_test(test_user_id_integer_kept_as_int),
        cmocka_unit_test(test_user_id_integer_limits),
        cmocka_unit_test(test_user_id_integer_out_of_range_rejected),
        cmocka_unit_test(test_user_id_string_kept_as_string),
        cmocka_unit_test(test_user_id_string_with_spaces_and_unicode),
        cmocka_unit_test(test_user_id_string_64_chars_accepted),
        cmocka_unit_test(test_user_id_string_65_chars_rejected),
        cmocka_unit_test(test_user_id_counts_code_points_not_bytes),
        cmocka_unit_test(test_user_id_counts_escaped_astral_chars_once),
        cmocka_unit_test(test_user_id_empty_string_rejected),
        cmocka_unit_test(test_user_id_c0_control_rejected),
        cmocka_unit_test(test_user_id_del_rejected),
        cmocka_unit_test(test_user_id_c1_control_rejected),
        cmocka_unit_test(test_user_id_printable_boundaries_accepted),
        cmocka_unit_test(test_user_id_float_rejected),
        cmocka_unit_test(test_user_id_other_types_rejected),

        /* item_ids */
        cmocka_unit_test(test_item_ids_missing_rejected),
        cmocka_unit_test(test_item_ids_integers_canonical),
        cmocka_unit_test(test_item_ids_mixed_types_canonical),
        cmocka_unit_test(test_item_ids_integer_limits),
        cmocka_unit_test(test_item_ids_integer_out_of_range_rejected),
        cmocka_unit_test(test_item_ids_empty_array_rejected),
        cmocka_unit_test(test_item_ids_at_max_items_accepted),
        cmocka_unit_test(test_item_ids_over_max_items_rejected),
        cmocka_unit_test(test_item_ids_default_limit_1000),
        cmocka_unit_test(test_item_ids_string_64_chars_accepted),
        cmocka_unit_test(test_item_ids_string_65_chars_rejected),
        cmocka_unit_test(test_item_ids_empty_string_item_rejected),
        cmocka_unit_test(test_item_ids_control_char_in_item_rejected),
        cmocka_unit_test(test_item_ids_float_item_rejected),
        cmocka_unit_test(test_item_ids_boolean_item_rejected),
        cmocka_unit_test(test_item_ids_null_item_rejected),
        cmocka_unit_test(test_item_ids_object_item_rejected),
        cmocka_unit_test(test_item_ids_nested_array_rejected),
        cmocka_unit_test(test_item_ids_not_array_or_string_rejected),
        cmocka_unit_test(test_item_ids_escaped_strings_canonical),
        cmocka_unit_test(test_item_ids_json_is_valid_json_of_the_items),
        cmocka_unit_test(test_item_ids_comma_string_to_array),
        cmocka_unit_test(test_item_ids_comma_string_trims_spaces),
        cmocka_unit_test(test_item_ids_comma_string_single_item),
        cmocka_unit_test(test_item_ids_comma_string_digits_stay_strings),
        cmocka_unit_test(test_item_ids_comma_string_empty_piece_rejected),
        cmocka_unit_test(test_item_ids_comma_string_empty_rejected),
        cmocka_unit_test(test_item_ids_comma_string_piece_length),
        cmocka_unit_test(test_item_ids_comma_string_over_max_items_rejected),
        cmocka_unit_test(test_item_ids_comma_string_control_char_rejected),

        /* total_amount */
        cmocka_unit_test(test_amount_missing_rejected),
        cmocka_unit_test(test_amount_two_decimals),
        cmocka_unit_test(test_amount_integer),
        cmocka_unit_test(test_amount_one_decimal_kept),
        cmocka_unit_test(test_amount_positive_exponent),
        cmocka_unit_test(test_amount_negative_exponent),
        cmocka_unit_test(test_amount_negative_zero),
        cmocka_unit_test(test_amount_max_accepted),
        cmocka_unit_test(test_amount_above_max_rejected),
        cmocka_unit_test(test_amount_integer_overflow_rejected),
        cmocka_unit_test(test_amount_huge_exponent_rejected),
        cmocka_unit_test(test_amount_three_decimals_rejected),
        cmocka_unit_test(test_amount_negative_rejected),
        cmocka_unit_test(test_amount_string_rejected),
        cmocka_unit_test(test_amount_other_types_rejected),

        /* status */
        cmocka_unit_test(test_status_pending_accepted),
        cmocka_unit_test(test_status_other_names_rejected),
        cmocka_unit_test(test_status_non_string_rejected),

        /* ord_json_order */
        cmocka_unit_test(test_render_has_exactly_the_api_keys),
        cmocka_unit_test(test_render_completed_order_values),
        cmocka_unit_test(test_render_timestamps_iso8601_utc_micro),
        cmocka_unit_test(test_render_durations_of_completed_order),
        cmocka_unit_test(test_render_pending_order_nulls),
        cmocka_unit_test(test_render_processing_order_has_pending_duration_only),
        cmocka_unit_test(test_render_cancelled_order),
        cmocka_unit_test(test_render_whole_second_durations),
        cmocka_unit_test(test_render_int_order_id_and_string_user_id),
        cmocka_unit_test(test_render_max_int_ids),
        cmocka_unit_test(test_render_string_ids_escaped),
        cmocka_unit_test(test_render_item_ids_keep_types),
        cmocka_unit_test(test_render_amount_keeps_sent_decimals),
        cmocka_unit_test(test_render_amount_max),

        /* ord_json_error */
        cmocka_unit_test(test_error_body_single_error_key),
        cmocka_unit_test(test_error_body_escapes_quote_backslash_newline),
        cmocka_unit_test(test_error_body_escapes_controls_keeps_utf8),

        /* round trips */
        cmocka_unit_test(test_round_trip_api_example_types),
        cmocka_unit_test(test_round_trip_int_order_id_string_user_comma_items),
        cmocka_unit_test(test_round_trip_amount_texts),
        cmocka_unit_test(test_round_trip_unicode_and_escaped_user_id),
        cmocka_unit_test(test_round_trip_generated_id_absent_stays_absent),
        cmocka_unit_test(test_retry_with_other_spacing_is_same_content),
        cmocka_unit_test(test_retry_comma_string_equals_string_array),
        cmocka_unit_test(test_retry_with_other_types_is_other_content),

        /* populate */
        cmocka_unit_test(test_populate_total_entries_only),
        cmocka_unit_test(test_populate_with_batch_id),
        cmocka_unit_test(test_populate_total_entries_bounds),
        cmocka_unit_test(test_populate_total_entries_must_be_an_integer),
        cmocka_unit_test(test_populate_total_entries_missing),
        cmocka_unit_test(test_populate_batch_id_length),
        cmocka_unit_test(test_populate_batch_id_characters),
        cmocka_unit_test(test_populate_batch_id_must_be_a_string),
        cmocka_unit_test(test_populate_unknown_field),
        cmocka_unit_test(test_populate_duplicate_key),
        cmocka_unit_test(test_populate_body_must_be_one_object),
        cmocka_unit_test(test_populate_result_keys_and_values),
        cmocka_unit_test(test_populate_result_errors_are_strings),

        /* the list */
        cmocka_unit_test(test_order_list_with_next),
        cmocka_unit_test(test_order_list_elements_equal_order_objects),
        cmocka_unit_test(test_order_list_last_page_has_null_next),
        cmocka_unit_test(test_order_list_empty),

        /* user_id_optional */
        cmocka_unit_test(test_user_id_optional_may_be_absent),
        cmocka_unit_test(test_user_id_optional_kept_when_present),
        cmocka_unit_test(test_user_id_optional_still_validated),
        cmocka_unit_test(test_user_id_required_when_not_optional),
    };
    return cmocka_run_group_tests(tests, unit_group_setup, unit_group_teardown);
}
