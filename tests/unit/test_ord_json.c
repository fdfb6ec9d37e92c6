/*
 * Unit tests of ord_json (mod_orders/ord_json.h): the strict POST /orders
 * body parser of API.md section 2, the order object it renders, the
 * {"error": ...} body, and round trips through both.
 *
 * The accepted and refused bodies are one table (order_cases, one row a
 * body, walked by check_order_cases); so are the rendered orders, error
 * bodies, retries and populate bodies.  What a row cannot say is a test of
 * its own.
 *
 * Money is tested in test_ord_order.c (ord_money_parse, ord_money_format).
 * Here only what is JSON's: that an amount field reaches the money code as
 * the text the client sent (an integer and a double, decimals kept), that
 * json-c's saturated integers are still refused, and that every refusal
 * names total_amount.
 *
 * Rendered JSON is checked by parsing it back with json-c (strict mode, the
 * whole text consumed) and comparing types and values, never by comparing
 * whole strings, so that key order and spacing are free.  Amounts are
 * compared by their JSON text (json-c keeps a parsed number's text), so
 * 60.0 must stay 60.0.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "unit_support.h"
#include "unit_json.h"

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <apr_time.h>

#include "ord_order.h"
#include "ord_json.h"

#define DEFAULT_MAX_ITEMS 1000

/* 2026-11-23T15:00:17Z, the time of the API.md example. */
#define T0 APR_INT64_C(1795446017000000)

/* ------------------------------------------------------------------ */
/* Bodies                                                              */
/* ------------------------------------------------------------------ */

/* Fragments of a valid body, for the fields a case does not look at. */
#define USER  "1"
#define ITEMS "[101]"
#define AMT   "59.99"

/* A body from JSON fragments; a NULL fragment leaves the field out. */
static const char *mk(apr_pool_t *p, const char *order_id, const char *user_id,
                      const char *item_ids, const char *total_amount,
                      const char *status)
{
    static const char *const keys[] = {
        "order_id", "user_id", "item_ids", "total_amount", "status"
    };
    const char *values[5];
    const char *s = "{";
    const char *sep = "";
    int i;

    values[0] = order_id;
    values[1] = user_id;
    values[2] = item_ids;
    values[3] = total_amount;
    values[4] = status;
    for (i = 0; i < 5; i++) {
        if (values[i]) {
            s = apr_pstrcat(p, s, sep, "\"", keys[i], "\":", values[i], NULL);
            sep = ",";
        }
    }
    return apr_pstrcat(p, s, "}", NULL);
}

/* The valid body (user 1, items [101], 59.99) with `key` set to `value`
 * (NULL: left out). */
static const char *body_with(apr_pool_t *p, const char *key,
                             const char *value)
{
    const char *f[5] = { NULL, USER, ITEMS, AMT, NULL };
    static const char *const keys[] = {
        "order_id", "user_id", "item_ids", "total_amount", "status"
    };
    int i;

    for (i = 0; i < 5; i++) {
        if (strcmp(keys[i], key) == 0) {
            f[i] = value;
        }
    }
    return mk(p, f[0], f[1], f[2], f[3], f[4]);
}

/* Parses `body` with the default limits; the order, which must come. */
static ord_order_t *accept_body(apr_pool_t *p, const char *body)
{
    ord_parse_limits_t limits = { DEFAULT_MAX_ITEMS, 0 };
    ord_order_t *order = NULL;
    const char *error = NULL;

    if (ord_json_parse_order(p, body, strlen(body), &limits, &order, &error)
        != APR_SUCCESS || !order) {
        fail_msg("body refused: %.300s\n  error: %s", body,
                 unit_show(error));
    }
    return order;
}

/* ------------------------------------------------------------------ */
/* The tables of bodies                                                */
/* ------------------------------------------------------------------ */

/* One body, and what the parser must make of it. */
typedef struct {
    const char *name;
    /* The field the row sets; "body": the row is the body; "order": the
     * body, and the whole order is checked (spelled()).  ", max 3" or
     * ", optional" after it: other limits (check_order_cases). */
    const char *key;
    /* The field's JSON text in the valid body ("" leaves the field out), or
     * the whole body; "<<u*N>>" is N copies of u (unit_spell). */
    const char *value;
    /* "refused": APR_EINVAL and a message; "refused: X": one that names X;
     * "kept": accepted; "kept: T": accepted, and the field holds T
     * (order_id or user_id text sent as a string, item_ids_json,
     * "cents/scale", the status name; spelled as `value`); "kept int: T":
     * an id that holds T, sent as an integer. */
    const char *outcome;
} order_case_t;

/* The whole of a parsed order: "order_id=T[ int] user_id=T[ int]
 * item_ids=J amount=C/S status=N times=C,U,S,E" (T "none" for NULL). */
static const char *spelled(apr_pool_t *p, const ord_order_t *o)
{
    return apr_psprintf(p, "order_id=%s%s user_id=%s%s item_ids=%s "
                        "amount=%" APR_INT64_T_FMT "/%d status=%s times=%"
                        APR_INT64_T_FMT ",%" APR_INT64_T_FMT ",%"
                        APR_INT64_T_FMT ",%" APR_INT64_T_FMT,
                        o->order_id.text ? o->order_id.text : "none",
                        o->order_id.is_int ? " int" : "",
                        o->user_id.text ? o->user_id.text : "none",
                        o->user_id.is_int ? " int" : "",
                        unit_show(o->item_ids_json), o->total_amount.cents,
                        o->total_amount.scale, ord_status_name(o->status),
                        (apr_int64_t)o->created_at, (apr_int64_t)o->updated_at,
                        (apr_int64_t)o->processing_started_at,
                        (apr_int64_t)o->completed_at);
}

/* What `key` of `o` holds, and in *is_int its is_int (-1: no such). */
static const char *stored(apr_pool_t *p, const ord_order_t *o,
                          const char *key, int *is_int)
{
    *is_int = -1;
    if (strcmp(key, "order") == 0) {
        return spelled(p, o);
    }
    if (strcmp(key, "order_id") == 0) {
        *is_int = o->order_id.is_int;
        return o->order_id.text;
    }
    if (strcmp(key, "user_id") == 0) {
        *is_int = o->user_id.is_int;
        return o->user_id.text;
    }
    if (strcmp(key, "item_ids") == 0) {
        return o->item_ids_json;
    }
    if (strcmp(key, "total_amount") == 0) {
        return apr_psprintf(p, "%" APR_INT64_T_FMT "/%d",
                            o->total_amount.cents, o->total_amount.scale);
    }
    return ord_status_name(o->status);
}

/* "refused[: X]": NULL when rv and error are such, else what differed. */
static const char *check_refused(apr_pool_t *p, const char *outcome,
                                 apr_status_t rv, const char *error)
{
    const char *names = outcome[7] == ':' ? outcome + 9 : "";

    if (rv != APR_EINVAL) {
        return apr_psprintf(p, "rv %d, want APR_EINVAL", rv);
    }
    if (!error || !*error) {
        return "refused without a message";
    }
    return strstr(error, names) ? NULL
           : apr_psprintf(p, "error \"%s\" does not name \"%s\"", error,
                          names);
}

/* A row parsed with `limits`. */
static const char *check_parse(apr_pool_t *p, const order_case_t *row,
                               const ord_parse_limits_t *limits)
{
    int whole = strcmp(row->key, "body") == 0
                || strcmp(row->key, "order") == 0;
    const char *value = unit_spell(p, row->value);
    const char *body = whole ? value
                       : body_with(p, row->key, *value ? value : NULL);
    const char *error = NULL, *want, *got;
    ord_order_t *o = NULL;
    apr_status_t rv;
    int is_int, want_int;

    rv = ord_json_parse_order(p, body, strlen(body), limits, &o, &error);
    if (strncmp(row->outcome, "refused", 7) == 0) {
        return check_refused(p, row->outcome, rv, error);
    }
    if (rv != APR_SUCCESS || !o) {
        return apr_psprintf(p, "refused (rv %d): %s; body %.300s", rv,
                            unit_show(error), body);
    }
    want_int = strncmp(row->outcome, "kept int: ", 10) == 0;
    if (!want_int && strncmp(row->outcome, "kept: ", 6) != 0) {
        return NULL;                                    /* "kept" */
    }
    want = unit_spell(p, row->outcome + (want_int ? 10 : 6));
    got = stored(p, o, row->key, &is_int);
    if (!unit_same(got, want)) {
        return apr_psprintf(p, "%s is %.300s, want %.300s", row->key,
                            unit_show(got), want);
    }
    if (is_int >= 0 && is_int != want_int) {
        return apr_psprintf(p, "%s.is_int is %d, want %d", row->key, is_int,
                            want_int);
    }
    return NULL;
}

/* The row parsed with the limits its key names: "K, max 3" for
 * OrdersMaxItems 3, "K, optional" for limits.user_id_optional
 * (OrdersBindUser), the defaults otherwise. */
static const char *check_order_cases(const unit_ctx_t *c, const void *r)
{
    const order_case_t *row = r;
    ord_parse_limits_t limits = { DEFAULT_MAX_ITEMS, 0 };
    const char *comma = strchr(row->key, ',');
    order_case_t plain = *row;

    if (comma) {
        plain.key = apr_pstrndup(c->pool, row->key,
                                 (apr_size_t)(comma - row->key));
        limits.max_items = strcmp(comma, ", max 3") == 0 ? 3
                                                         : DEFAULT_MAX_ITEMS;
        limits.user_id_optional = strcmp(comma, ", optional") == 0;
    }
    return check_parse(c->pool, &plain, &limits);
}

/* Parsing with the default limits: the body as a whole, then each field. */
static const order_case_t order_cases[] = {
    /* ---- the whole order ------------------------------------------- */
    { "minimal body", "order", "{\"user_id\":1,\"item_ids\":[101,102,103],\"total_amount\":59.99}", "kept: order_id=none user_id=1 int item_ids=[101,102,103] amount=5999/2 status=Pending times=0,0,0,0" },
    /* Pending, every time 0 (the caller sets them) */
    { "with an order_id", "order", "{\"order_id\":\"A1\",\"user_id\":1,\"item_ids\":[101],\"total_amount\":59.99}", "kept: order_id=A1 user_id=1 int item_ids=[101] amount=5999/2 status=Pending times=0,0,0,0" },
    { "fields in any order, white space around", "order", " \r\n\t{ \"total_amount\" : 60 ,\n  \"item_ids\" : [ 101 , \"a-2\" ] ,\n  \"user_id\" : \"u1\" ,\n  \"order_id\" : \"X\" }", "kept: order_id=X user_id=u1 item_ids=[101,\"a-2\"] amount=6000/0 status=Pending times=0,0,0,0" },
    /* no order_id: NULL text, for the caller to generate one */
    { "without an order_id", "order", "{\"user_id\":1,\"item_ids\":[101],\"total_amount\":59.99}", "kept: order_id=none user_id=1 int item_ids=[101] amount=5999/2 status=Pending times=0,0,0,0" },
    { "escaped surrogate pair", "order", "{\"user_id\":\"\\ud83d\\ude00\",\"item_ids\":[1],\"total_amount\":1}", "kept: order_id=none user_id=\xf0\x9f\x98\x80 item_ids=[1] amount=100/0 status=Pending times=0,0,0,0" },

    /* ---- the body as a whole --------------------------------------- */
    { "empty body", "body", "", "refused" },
    { "white space only", "body", " \r\n\t ", "refused" },
    { "empty object", "body", "{}", "refused" },
    { "empty array", "body", "[]", "refused" },
    { "array of an order", "body", "[{\"user_id\":1,\"item_ids\":[101],\"total_amount\":59.99}]", "refused" },
    { "number body", "body", "1", "refused" },
    { "decimal body", "body", "59.99", "refused" },
    { "string body", "body", "\"{\\\"user_id\\\":1}\"", "refused" },
    { "null body", "body", "null", "refused" },
    { "true body", "body", "true", "refused" },
    { "truncated after the last value", "body", "{\"user_id\":1,\"item_ids\":[101],\"total_amount\":59.99", "refused" },
    { "truncated in an array", "body", "{\"user_id\":1,\"item_ids\":[101", "refused" },
    { "truncated after a key", "body", "{\"user_id\":", "refused" },
    { "a lone brace", "body", "{", "refused" },
    /* single quotes, trailing commas, a leading zero: not JSON */
    { "single quotes", "body", "{'user_id':1,'item_ids':[101],'total_amount':59.99}", "refused" },
    { "trailing comma in the object", "body", "{\"user_id\":1,\"item_ids\":[101],\"total_amount\":59.99,}", "refused" },
    { "trailing comma in the array", "body", "{\"user_id\":1,\"item_ids\":[101,],\"total_amount\":59.99}", "refused" },
    { "leading zero", "body", "{\"user_id\":01,\"item_ids\":[101],\"total_amount\":59.99}", "refused" },
    { "trailing newline", "body", "{\"user_id\":1,\"item_ids\":[101],\"total_amount\":59.99}\n", "kept" },
    { "trailing white space", "body", "{\"user_id\":1,\"item_ids\":[101],\"total_amount\":59.99} \r\n\t", "kept" },
    { "trailing garbage", "body", "{\"user_id\":1,\"item_ids\":[101],\"total_amount\":59.99} x", "refused" },
    { "trailing comma", "body", "{\"user_id\":1,\"item_ids\":[101],\"total_amount\":59.99},", "refused" },
    { "second empty object", "body", "{\"user_id\":1,\"item_ids\":[101],\"total_amount\":59.99}{}", "refused" },
    { "second order", "body", "{\"user_id\":1,\"item_ids\":[101],\"total_amount\":59.99}\n{\"user_id\":2,\"item_ids\":[101],\"total_amount\":59.99}", "refused" },
    { "unknown field", "body", "{\"user_id\":1,\"item_ids\":[101],\"total_amount\":59.99,\"foo\":1}", "refused: foo" },
    { "field names are case-sensitive", "body", "{\"User_id\":1,\"item_ids\":[101],\"total_amount\":59.99}", "refused" },
    { "server-owned field", "body", "{\"user_id\":1,\"item_ids\":[101],\"total_amount\":59.99,\"created_at\":\"2026-11-23T15:00:17.000000Z\"}", "refused: created_at" },
    { "duplicate key", "body", "{\"user_id\":1,\"user_id\":2,\"item_ids\":[101],\"total_amount\":59.99}", "refused: user_id" },
    { "duplicate key with the same value", "body", "{\"order_id\":\"A\",\"user_id\":1,\"item_ids\":[101],\"total_amount\":59.99,\"order_id\":\"A\"}", "refused: order_id" },
    /* "user\u005fid" is "user_id" once unescaped */
    { "duplicate key spelled with an escape", "body", "{\"user_id\":1,\"user\\u005fid\":2,\"item_ids\":[101],\"total_amount\":59.99}", "refused: user_id" },
    { "reserved order_id populate", "body", "{\"order_id\":\"populate\",\"user_id\":1,\"item_ids\":[1],\"total_amount\":1}", "refused: order_id" },
    { "order_id populate2 is not reserved", "body", "{\"order_id\":\"populate2\",\"user_id\":1,\"item_ids\":[1],\"total_amount\":1}", "kept" },
    /* escapes json-c would turn into U+FFFD: the text sent would not come back */
    { "escaped lone high surrogate", "body", "{\"user_id\":\"\\ud800\",\"item_ids\":[1],\"total_amount\":1}", "refused" },
    { "escaped lone low surrogate", "body", "{\"user_id\":\"a\\udc00\",\"item_ids\":[1],\"total_amount\":1}", "refused" },
    { "escaped lone surrogate in an item", "body", "{\"user_id\":1,\"item_ids\":[\"\\ud800x\"],\"total_amount\":1}", "refused" },
    /* user_id is required unless limits.user_id_optional */
    { "user_id missing", "body", "{\"order_id\":\"A\",\"item_ids\":[101],\"total_amount\":59.99}", "refused: user_id" },
    { "user_id missing, other order_id", "body", "{\"order_id\":\"A1\",\"item_ids\":[101],\"total_amount\":59.99}", "refused: user_id" },
    /* JSON nested 100,000 deep, in an array or in objects: refused,
     * without exhausting the stack. */
    { "arrays nested 100,000 deep", "body", "{\"user_id\":1,\"item_ids\":<<[*100000>><<]*100000>>,\"total_amount\":59.99}", "refused" },
    { "objects nested 100,000 deep", "body", "{\"user_id\":1,\"item_ids\":[101],\"total_amount\":<<{\"a\":*100000>>1<<}*100000>>}", "refused" },

    /* ---- order_id ------------------------------------------------------ */
    { "string kept", "order_id", "\"ORD003\"", "kept: ORD003" },
    { "every allowed character", "order_id", "\"AZaz09._:-\"", "kept: AZaz09._:-" },
    { "64 characters", "order_id", "\"<<a*64>>\"", "kept: <<a*64>>" },
    { "65 characters", "order_id", "\"<<a*65>>\"", "refused: order_id" },
    { "empty string", "order_id", "\"\"", "refused: order_id" },
    { "a space", "order_id", "\"a b\"", "refused: order_id" },
    { "a slash", "order_id", "\"a/b\"", "refused: order_id" },
    { "a question mark", "order_id", "\"a?b\"", "refused: order_id" },
    { "a non-ASCII letter", "order_id", "\"\xc3\xa9\"", "refused: order_id" },
    { "an escaped NUL", "order_id", "\"a\\u0000b\"", "refused: order_id" },
    { "integer kept as an integer", "order_id", "42", "kept int: 42" },
    { "integer 0", "order_id", "0", "kept int: 0" },
    { "integer 2^53-1", "order_id", "9007199254740991", "kept int: 9007199254740991" },
    { "integer 2^53", "order_id", "9007199254740992", "refused: order_id" },
    { "integer of 20 digits", "order_id", "99999999999999999999", "refused: order_id" },
    { "negative integer", "order_id", "-1", "refused: order_id" },
    { "not an integer", "order_id", "1.5", "refused: order_id" },
    { "boolean", "order_id", "true", "refused: order_id" },
    { "array", "order_id", "[\"A\"]", "refused: order_id" },
    { "object", "order_id", "{\"id\":\"A\"}", "refused: order_id" },
    /* null is neither a string nor an integer (leaving the key out is how
     * a client asks for a generated id) */
    { "null", "order_id", "null", "refused: order_id" },

    /* ---- user_id ------------------------------------------------------- */
    /* invalid UTF-8 (the message need not name the field) */
    { "byte FF", "user_id", "\"ab\xff\"", "refused" },
    { "lone continuation byte", "user_id", "\"ab\x80\"", "refused" },
    /* first two bytes of U+20AC, then the closing quote */
    { "truncated sequence", "user_id", "\"ab\xe2\x82\"", "refused" },
    /* C0 AF: an overlong '/' */
    { "overlong encoding", "user_id", "\"ab\xc0\xaf\"", "refused" },
    /* ED A0 80: U+D800 encoded directly, not allowed in UTF-8 */
    { "encoded surrogate", "user_id", "\"ab\xed\xa0\x80\"", "refused" },
    /* F4 90 80 80 would be U+110000 */
    { "above U+10FFFF", "user_id", "\"ab\xf4\x90\x80\x80\"", "refused" },
    { "integer kept as an integer", "user_id", "7", "kept int: 7" },
    { "integer 0", "user_id", "0", "kept int: 0" },
    { "integer 2^53-1", "user_id", "9007199254740991", "kept int: 9007199254740991" },
    { "integer 2^53", "user_id", "9007199254740992", "refused: user_id" },
    { "negative integer", "user_id", "-1", "refused: user_id" },
    /* json-c saturates this silently to INT64_MAX */
    { "integer of 20 digits", "user_id", "99999999999999999999", "refused: user_id" },
    { "string kept as a string", "user_id", "\"1\"", "kept: 1" },
    /* "Zoë Smith" with ë escaped, then raw */
    { "escaped letter and a space", "user_id", "\"Zo\\u00eb Smith\"", "kept: Zo\xc3\xab Smith" },
    { "raw letter and a space", "user_id", "\"Zo\xc3\xab Smith\"", "kept: Zo\xc3\xab Smith" },
    { "64 characters", "user_id", "\"<<u*64>>\"", "kept: <<u*64>>" },
    { "65 characters", "user_id", "\"<<u*65>>\"", "refused: user_id" },
    /* characters count, not bytes: 64 x é is 128 bytes */
    { "64 two-byte characters", "user_id", "\"<<\xc3\xa9*64>>\"", "kept: <<\xc3\xa9*64>>" },
    { "65 two-byte characters", "user_id", "\"<<\xc3\xa9*65>>\"", "refused: user_id" },
    /* 64 x U+1F44B written as surrogate-pair escapes: 64 chars, 256 bytes */
    { "64 escaped astral characters", "user_id", "\"<<\\ud83d\\udc4b*64>>\"", "kept: <<\xf0\x9f\x91\x8b*64>>" },
    { "empty string", "user_id", "\"\"", "refused: user_id" },
    { "escaped NUL", "user_id", "\"a\\u0000b\"", "refused: user_id" },
    { "escaped tab", "user_id", "\"a\\tb\"", "refused: user_id" },
    { "escaped newline", "user_id", "\"a\\nb\"", "refused: user_id" },
    { "escaped U+001F", "user_id", "\"a\\u001fb\"", "refused: user_id" },
    { "escaped DEL", "user_id", "\"a\\u007fb\"", "refused: user_id" },
    { "raw DEL", "user_id", "\"a\177b\"", "refused: user_id" },
    { "escaped U+0080", "user_id", "\"a\\u0080b\"", "refused: user_id" },
    { "escaped U+0085", "user_id", "\"a\\u0085b\"", "refused: user_id" },
    { "escaped U+009F", "user_id", "\"a\\u009fb\"", "refused: user_id" },
    /* U+0020, U+007E and U+00A0 sit right next to the excluded ranges */
    { "printable boundaries", "user_id", "\" ~\\u00a0\"", "kept:  ~\xc2\xa0" },
    { "not an integer", "user_id", "1.5", "refused: user_id" },
    { "null", "user_id", "null", "refused: user_id" },
    { "boolean", "user_id", "true", "refused: user_id" },
    { "array", "user_id", "[1]", "refused: user_id" },
    { "object", "user_id", "{\"id\":1}", "refused: user_id" },

    /* ---- item_ids ------------------------------------------------------ */
    /* invalid UTF-8 (the message need not name the field) */
    { "invalid byte in an item", "item_ids", "[\"ok\",\"b\377d\"]", "refused" },
    { "missing", "item_ids", "", "refused: item_ids" },
    { "integers made canonical", "item_ids", "[101, 102,\n 103 ]", "kept: [101,102,103]" },
    { "integers and strings", "item_ids", "[101, 102, \"a\"]", "kept: [101,102,\"a\"]" },
    { "integers 0 and 2^53-1", "item_ids", "[0,9007199254740991]", "kept: [0,9007199254740991]" },
    { "integer 2^53", "item_ids", "[9007199254740992]", "refused: item_ids" },
    { "negative integer", "item_ids", "[-1]", "refused: item_ids" },
    { "integer of 20 digits", "item_ids", "[99999999999999999999]", "refused: item_ids" },
    { "empty array", "item_ids", "[]", "refused: item_ids" },
    { "item of 64 characters", "item_ids", "[\"<<i*64>>\"]", "kept: [\"<<i*64>>\"]" },
    { "item of 65 characters", "item_ids", "[\"<<i*65>>\"]", "refused: item_ids" },
    { "empty string item", "item_ids", "[\"a\",\"\"]", "refused: item_ids" },
    { "escaped tab in an item", "item_ids", "[\"a\\tb\"]", "refused: item_ids" },
    { "escaped NUL in an item", "item_ids", "[\"a\\u0000b\"]", "refused: item_ids" },
    { "escaped DEL in an item", "item_ids", "[\"a\\u007fb\"]", "refused: item_ids" },
    { "float item", "item_ids", "[101,1.5]", "refused: item_ids" },
    { "boolean item", "item_ids", "[101,true]", "refused: item_ids" },
    { "null item", "item_ids", "[101,null]", "refused: item_ids" },
    { "object item", "item_ids", "[101,{\"id\":1}]", "refused: item_ids" },
    { "nested array", "item_ids", "[[101]]", "refused: item_ids" },
    { "a number", "item_ids", "101", "refused: item_ids" },
    { "null", "item_ids", "null", "refused: item_ids" },
    { "boolean", "item_ids", "true", "refused: item_ids" },
    { "object", "item_ids", "{\"0\":101}", "refused: item_ids" },
    /* items a"b and c\d */
    { "escaped strings made canonical", "item_ids", "[\"a\\\"b\", \"c\\\\d\"]", "kept: [\"a\\\"b\",\"c\\\\d\"]" },
    /* a comma-separated string */
    { "comma string", "item_ids", "\"item_1,item_2\"", "kept: [\"item_1\",\"item_2\"]" },
    { "comma string with a space", "item_ids", "\"item_1, item_2\"", "kept: [\"item_1\",\"item_2\"]" },
    { "comma string with spaces around", "item_ids", "\"  a ,b  ,  c\"", "kept: [\"a\",\"b\",\"c\"]" },
    { "comma string of one item", "item_ids", "\"item_1\"", "kept: [\"item_1\"]" },
    { "comma string digits stay strings", "item_ids", "\"101,102\"", "kept: [\"101\",\"102\"]" },
    { "comma string with an empty piece", "item_ids", "\"a,,b\"", "refused: item_ids" },
    { "comma string ending in a comma", "item_ids", "\"a,\"", "refused: item_ids" },
    { "comma string starting with a comma", "item_ids", "\",a\"", "refused: item_ids" },
    { "comma string with a blank piece", "item_ids", "\"a, ,b\"", "refused: item_ids" },
    { "empty comma string", "item_ids", "\"\"", "refused: item_ids" },
    { "blank comma string", "item_ids", "\"   \"", "refused: item_ids" },
    { "comma string piece of 64 characters", "item_ids", "\"a, <<x*64>> \"", "kept: [\"a\",\"<<x*64>>\"]" },
    { "comma string piece of 65 characters", "item_ids", "\"a,<<x*65>>\"", "refused: item_ids" },
    { "comma string with an escaped tab", "item_ids", "\"a\\tb,c\"", "refused: item_ids" },

    /* ---- total_amount -------------------------------------------------- */
    /* The JSON part of amounts (the money cases are test_ord_order.c's). */
    { "missing", "total_amount", "", "refused: total_amount" },
    { "a double reaches the money code", "total_amount", "59.99", "kept: 5999/2" },
    { "an integer reaches the money code", "total_amount", "60", "kept: 6000/0" },
    /* the text is read, not the double: 60.0 is not 60 */
    { "a double keeps its decimals", "total_amount", "60.0", "kept: 6000/1" },
    { "the money code's refusal names the field", "total_amount", "0.001", "refused: total_amount" },
    /* json-c saturates these to UINT64_MAX / INT64_MIN silently */
    { "integer of 20 digits", "total_amount", "99999999999999999999", "refused: total_amount" },
    { "negative integer of 20 digits", "total_amount", "-99999999999999999999", "refused: total_amount" },
    { "a string", "total_amount", "\"59.99\"", "refused: total_amount" },
    { "null", "total_amount", "null", "refused: total_amount" },
    { "boolean", "total_amount", "true", "refused: total_amount" },
    { "array", "total_amount", "[59.99]", "refused: total_amount" },
    { "object", "total_amount", "{\"value\":59.99}", "refused: total_amount" },

    /* ---- status -------------------------------------------------------- */
    { "Pending", "status", "\"Pending\"", "kept: Pending" },
    { "Completed", "status", "\"Completed\"", "refused: status" },
    { "Processing", "status", "\"Processing\"", "refused: status" },
    { "Cancelled", "status", "\"Cancelled\"", "refused: status" },
    { "lower case", "status", "\"pending\"", "refused: status" },
    { "empty string", "status", "\"\"", "refused: status" },
    { "integer 1", "status", "1", "refused: status" },
    { "integer 0", "status", "0", "refused: status" },
    { "null", "status", "null", "refused: status" },
    { "array", "status", "[\"Pending\"]", "refused: status" },

    /* ---- OrdersMaxItems 3 ------------------------------------------ */
    { "as many as the limit", "item_ids, max 3", "[1,2,3]", "kept: [1,2,3]" },
    { "one more than the limit", "item_ids, max 3", "[1,2,3,4]", "refused: item_ids" },
    { "comma string as many as the limit", "item_ids, max 3", "\"a,b,c\"", "kept: [\"a\",\"b\",\"c\"]" },
    { "comma string one more than the limit", "item_ids, max 3", "\"a,b,c,d\"", "refused: item_ids" },

    /* ---- limits.user_id_optional (OrdersBindUser): user_id may be left out,
     * is kept and checked when sent ---------------------------------- */
    { "may be left out", "order, optional", "{\"order_id\":\"A1\",\"item_ids\":[101,\"x\"],\"total_amount\":59.99}", "kept: order_id=A1 user_id=none item_ids=[101,\"x\"] amount=5999/2 status=Pending times=0,0,0,0" },
    { "kept when sent as a string", "user_id, optional", "\"alice\"", "kept: alice" },
    { "kept when sent as an integer", "user_id, optional", "7", "kept int: 7" },
    { "still refused empty", "user_id, optional", "\"\"", "refused: user_id" },
    { "still refused at 65 characters", "user_id, optional", "\"<<u*65>>\"", "refused: user_id" },
    { "still refused with a control", "user_id, optional", "\"a\\u0001b\"", "refused: user_id" },
    { "still refused negative", "user_id, optional", "-1", "refused: user_id" },
    { "still refused at 2^53", "user_id, optional", "9007199254740992", "refused: user_id" },
    { "still refused not an integer", "user_id, optional", "1.5", "refused: user_id" },
    { "still refused null", "user_id, optional", "null", "refused: user_id" },
    { "still refused boolean", "user_id, optional", "true", "refused: user_id" },
    { "still refused array", "user_id, optional", "[1]", "refused: user_id" },
    /* The other fields are required either way. */
    { "item_ids still required", "body, optional", "{\"total_amount\":59.99}", "refused: item_ids" },
    { "total_amount still required", "body, optional", "{\"item_ids\":[101]}", "refused: total_amount" },
};

/* ================================================================== */
/* Parsing: what a table cannot say                                    */
/* ================================================================== */

#define VALID "{\"user_id\":1,\"item_ids\":[101],\"total_amount\":59.99}"

/* The body is `len` bytes: a NUL within them is a byte after the object
 * that is not white space, and what lies past them is not part of it (a
 * request body need not be NUL-terminated). */
static void test_parse_reads_exactly_len_bytes(void **state)
{
    static const char nul[] = VALID "\0", garbage[] = VALID "GARBAGE";
    apr_pool_t *p = unit_pool(state);
    ord_parse_limits_t limits = { DEFAULT_MAX_ITEMS, 0 };
    ord_order_t *o = NULL;
    const char *error = NULL;

    assert_int_equal(ord_json_parse_order(p, nul, sizeof(nul) - 1, &limits,
                                          &o, &error), APR_EINVAL);
    assert_non_null(error);
    assert_true(*error != '\0');
    assert_int_equal(ord_json_parse_order(p, garbage, sizeof(garbage) - 1
                                                      - strlen("GARBAGE"),
                                          &limits, &o, &error), APR_SUCCESS);
    assert_string_equal(o->user_id.text, "1");
}

static void test_item_ids_default_limit_1000(void **state)
{
    apr_pool_t *p = unit_pool(state);
    ord_parse_limits_t limits = { DEFAULT_MAX_ITEMS, 0 };
    const char *arr = "[0";
    const char *body, *error = NULL;
    ord_order_t *o;
    int i;

    for (i = 1; i < 1000; i++) {
        arr = apr_psprintf(p, "%s,%d", arr, i);
    }
    body = mk(p, NULL, USER, apr_pstrcat(p, arr, "]", NULL), AMT, NULL);
    o = accept_body(p, body);
    assert_string_equal(o->item_ids_json, apr_pstrcat(p, arr, "]", NULL));
    body = mk(p, NULL, USER, apr_pstrcat(p, arr, ",1000]", NULL), AMT, NULL);
    assert_int_equal(ord_json_parse_order(p, body, strlen(body), &limits, &o,
                                          &error), APR_EINVAL);
    assert_non_null(strstr(error, "item_ids"));
}

static void test_item_ids_json_is_valid_json_of_the_items(void **state)
{
    apr_pool_t *p = unit_pool(state);
    json_object *arr;
    ord_order_t *o = accept_body(p, mk(p, NULL, USER,
                                       "[\"a/b\", \"two words\", "
                                       "\"\\u00e9t\\u00e9\", 7]", AMT, NULL));

    arr = unit_json_parse(p, o->item_ids_json);
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

/* ================================================================== */
/* Rendering: ord_json_order                                           */
/* ================================================================== */

/* A string member of exactly `want` (its length too: no hidden NUL). */
static void check_string(json_object *obj, const char *key, const char *want)
{
    json_object *v = unit_json_member(obj, key);

    assert_string_equal(unit_json_string(obj, key), want);
    assert_int_equal(json_object_get_string_len(v), strlen(want));
}

static void check_null(json_object *obj, const char *key)
{
    json_object *v = unit_json_member(obj, key);

    if (v != NULL) {
        fail_msg("\"%s\" is %s, want null", key,
                 json_object_to_json_string(v));
    }
}

/* A JSON number whose text (as sent on the wire) is exactly `want`. */
static void check_number_text(json_object *obj, const char *key,
                              const char *want)
{
    (void)unit_json_number(obj, key);
    assert_string_equal(unit_json_text(unit_json_member(obj, key)), want);
}

/* A number of seconds, exact to the microsecond. */
static void check_seconds(json_object *obj, const char *key, double want)
{
    double got = unit_json_number(obj, key);
    double diff = got > want ? got - want : want - got;

    if (diff > 5e-7) {
        fail_msg("\"%s\" is %.6f, want %.6f", key, got, want);
    }
}

/* The items of an array member, rendered plainly: "[101,\"a-2\"]". */
static const char *items_text(json_object *obj)
{
    return unit_json_text(unit_json_array(obj, "item_ids"));
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
    return unit_json_parse(p, ord_json_order(p, o));
}

static void test_render_has_exactly_the_api_keys(void **state)
{
    static const char *const keys[] = {
        "order_id", "user_id", "item_ids", "total_amount", "status",
        "created_at", "updated_at", "processing_started_at", "completed_at",
        "pending_duration", "processing_duration", "total_duration"
    };
    apr_pool_t *p = unit_pool(state);
    json_object *obj = render(p, completed_order(p));
    size_t i;
    assert_true(json_object_is_type(obj, json_type_object));
    for (i = 0; i < UNIT_ROWS(keys); i++) {
        (void)unit_json_member(obj, keys[i]);
    }
    assert_int_equal(json_object_object_length(obj), 12);
}

static void test_render_completed_order_values(void **state)
{
    apr_pool_t *p = unit_pool(state);
    json_object *obj = render(p, completed_order(p));

    check_string(obj, "order_id", "ORD003");
    assert_int_equal(unit_json_int(obj, "user_id"), 1);
    assert_string_equal(items_text(obj), "[101,102,103]");
    check_number_text(obj, "total_amount", "59.99");
    check_string(obj, "status", "Completed");
}

/* The times of the API.md example order in each status: timestamps in
 * ISO 8601 UTC to the microsecond, durations derived from them (null
 * where a time is not reached). */
typedef struct {
    const char *name;
    ord_status_e status;
    /* After T0 (created), in us; -1: not reached (0 in the order). */
    apr_int64_t started, completed, updated;
    /* status, then created_at updated_at processing_started_at completed_at
     * pending_duration processing_duration total_duration (seconds as
     * %.6f) */
    const char *want;
} render_times_case_t;

/* A member spelled: null, a string's text, or a number as %.6f. */
static const char *time_member(apr_pool_t *p, json_object *obj,
                               const char *key)
{
    json_object *v = unit_json_member(obj, key);
    char buf[64];

    if (!v) {
        return "null";
    }
    if (json_object_is_type(v, json_type_string)) {
        return json_object_get_string(v);
    }
    snprintf(buf, sizeof(buf), "%.6f", unit_json_number(obj, key));
    return apr_pstrdup(p, buf);
}

static const char *check_render_times_cases(const unit_ctx_t *c,
                                            const void *r)
{
    static const char *const keys[] = {
        "created_at", "updated_at", "processing_started_at", "completed_at",
        "pending_duration", "processing_duration", "total_duration"
    };
    const render_times_case_t *row = r;
    ord_order_t *o = completed_order(c->pool);
    const char *got;
    json_object *obj;
    size_t i;

    o->status = row->status;
    o->processing_started_at = row->started < 0 ? 0 : T0 + row->started;
    o->completed_at = row->completed < 0 ? 0 : T0 + row->completed;
    o->updated_at = T0 + row->updated;
    obj = render(c->pool, o);
    got = unit_json_string(obj, "status");
    for (i = 0; i < UNIT_ROWS(keys); i++) {
        got = apr_pstrcat(c->pool, got, " ", time_member(c->pool, obj, keys[i]),
                          NULL);
    }
    return strcmp(got, row->want) ? apr_psprintf(c->pool, "%s, want %s", got,
                                                 row->want)
                                  : NULL;
}

static const render_times_case_t render_times_cases[] = {
    { "Completed", ORD_COMPLETED, 2747467, 7758685, 7758685, "Completed 2026-11-23T15:00:17.000000Z 2026-11-23T15:00:24.758685Z 2026-11-23T15:00:19.747467Z 2026-11-23T15:00:24.758685Z 2.747467 5.011218 7.758685" },
    { "Pending", ORD_PENDING, -1, -1, 0, "Pending 2026-11-23T15:00:17.000000Z 2026-11-23T15:00:17.000000Z null null null null null" },
    { "Processing: the pending duration only", ORD_PROCESSING, 2747467, -1, 2747467, "Processing 2026-11-23T15:00:17.000000Z 2026-11-23T15:00:19.747467Z 2026-11-23T15:00:19.747467Z null 2.747467 null null" },
    { "Cancelled", ORD_CANCELLED, -1, -1, 1500000, "Cancelled 2026-11-23T15:00:17.000000Z 2026-11-23T15:00:18.500000Z null null null null null" },
    { "whole seconds", ORD_COMPLETED, 2000000, 5000000, 7758685, "Completed 2026-11-23T15:00:17.000000Z 2026-11-23T15:00:24.758685Z 2026-11-23T15:00:19.000000Z 2026-11-23T15:00:22.000000Z 2.000000 3.000000 5.000000" },
};

/* How the ids, items and amount of an order come out: ids integer or
 * string as they were sent, strings escaped, items keeping their types,
 * the amount as the money's own text (decimals kept, no exponent; the
 * formats themselves are test_ord_order.c's). */
typedef struct {
    const char *name;
    const char *order_id;
    int order_is_int;
    const char *user_id;
    int user_is_int;
    const char *item_ids_json;
    apr_int64_t cents;
    int scale;
    const char *want;       /* the four members, rendered plainly */
} render_case_t;

static const char *check_render_cases(const unit_ctx_t *c, const void *r)
{
    const render_case_t *row = r;
    apr_pool_t *p = c->pool;
    ord_order_t *o = completed_order(p);
    json_object *obj;
    const char *got;

    o->order_id.text = row->order_id;
    o->order_id.is_int = row->order_is_int;
    o->user_id.text = row->user_id;
    o->user_id.is_int = row->user_is_int;
    o->item_ids_json = row->item_ids_json;
    o->total_amount.cents = row->cents;
    o->total_amount.scale = row->scale;
    obj = render(p, o);
    got = apr_pstrcat(p, unit_json_text(unit_json_member(obj, "order_id")),
                      " ", unit_json_text(unit_json_member(obj, "user_id")),
                      " ", items_text(obj), " ",
                      unit_json_text(unit_json_member(obj, "total_amount")),
                      NULL);
    return strcmp(got, row->want) ? apr_psprintf(p, "rendered %s, want %s",
                                                 got, row->want)
                                  : NULL;
}

static const render_case_t render_cases[] = {
    { "integer order_id, string user_id", "42", 1, "1", 0, "[101,102,103]", 5999, 2, "42 \"1\" [101,102,103] 59.99" },
    { "largest integer ids", "9007199254740991", 1, "9007199254740991", 1, "[101,102,103]", 5999, 2, "9007199254740991 9007199254740991 [101,102,103] 59.99" },
    { "string user_id escaped", "ORD003", 0, "he said \"hi\" \\o/ Zo\xc3\xab", 0, "[101,102,103]", 5999, 2, "\"ORD003\" \"he said \\\"hi\\\" \\\\o/ Zo\xc3\xab\" [101,102,103] 59.99" },
    { "items keep their types", "ORD003", 0, "1", 1, "[101,\"a-2\",\"q\\\"x\"]", 5999, 2, "\"ORD003\" 1 [101,\"a-2\",\"q\\\"x\"] 59.99" },
    { "one decimal kept", "ORD003", 0, "1", 1, "[101,102,103]", 6000, 1, "\"ORD003\" 1 [101,102,103] 60.0" },
    { "largest amount without an exponent", "ORD003", 0, "1", 1, "[101,102,103]", 100000000000000, 0, "\"ORD003\" 1 [101,102,103] 1000000000000" },
};

/* ord_json_order writes its text by hand; json-c's tree is the reference
 * for what that text must be, byte for byte (the writer before it built
 * this tree itself).  Each row changes one thing of completed_order. */
static json_object *reference_duration(apr_pool_t *p, apr_time_t from,
                                       apr_time_t to)
{
    apr_int64_t us = to - from;

    if (!from || !to) {
        return NULL;
    }
    return json_object_new_double_s(
        (double)us / APR_USEC_PER_SEC,
        apr_psprintf(p, "%s%" APR_INT64_T_FMT ".%06" APR_INT64_T_FMT,
                     us < 0 ? "-" : "", (us < 0 ? -us : us) / APR_USEC_PER_SEC,
                     (us < 0 ? -us : us) % APR_USEC_PER_SEC));
}

static json_object *reference_id(ord_id_t id)
{
    if (!id.text) {
        return NULL;
    }
    return id.is_int ? json_object_new_int64(apr_atoi64(id.text))
                     : json_object_new_string(id.text);
}

static json_object *reference_time(apr_pool_t *p, apr_time_t t)
{
    return t ? json_object_new_string(ord_time_format(p, t)) : NULL;
}

static const char *reference_order(apr_pool_t *p, const ord_order_t *o)
{
    json_object *obj = json_object_new_object();
    const char *out;

    json_object_object_add(obj, "order_id", reference_id(o->order_id));
    json_object_object_add(obj, "user_id", reference_id(o->user_id));
    json_object_object_add(obj, "item_ids",
                           json_tokener_parse(o->item_ids_json));
    json_object_object_add(
        obj, "total_amount",
        json_object_new_double_s((double)o->total_amount.cents / 100,
                                 ord_money_format(p, o->total_amount)));
    json_object_object_add(obj, "status",
                           json_object_new_string(ord_status_name(o->status)));
    json_object_object_add(obj, "created_at", reference_time(p, o->created_at));
    json_object_object_add(obj, "updated_at", reference_time(p, o->updated_at));
    json_object_object_add(obj, "processing_started_at",
                           reference_time(p, o->processing_started_at));
    json_object_object_add(obj, "completed_at",
                           reference_time(p, o->completed_at));
    json_object_object_add(obj, "pending_duration",
                           reference_duration(p, o->created_at,
                                              o->processing_started_at));
    json_object_object_add(obj, "processing_duration",
                           reference_duration(p, o->processing_started_at,
                                              o->completed_at));
    json_object_object_add(obj, "total_duration",
                           reference_duration(p, o->created_at,
                                              o->completed_at));
    out = apr_pstrdup(p, json_object_to_json_string_ext(obj,
                                                        ORD_JSON_OUT_FLAGS));
    json_object_put(obj);
    return out;
}

typedef struct {
    const char *name;
    const char *order_id;       /* NULL: the order has none */
    int order_is_int;
    const char *user_id;
    int user_is_int;
    const char *item_ids_json;
    ord_status_e status;
    /* After T0 (created), in us; -1: not reached (0 in the order). */
    apr_int64_t started, completed;
} render_like_json_c_case_t;

static const char *check_render_like_json_c_cases(const unit_ctx_t *c,
                                                  const void *r)
{
    const render_like_json_c_case_t *row = r;
    ord_order_t *o = completed_order(c->pool);
    const char *got, *want;

    o->order_id.text = row->order_id;
    o->order_id.is_int = row->order_is_int;
    o->user_id.text = row->user_id;
    o->user_id.is_int = row->user_is_int;
    o->item_ids_json = row->item_ids_json;
    o->status = row->status;
    o->processing_started_at = row->started < 0 ? 0 : T0 + row->started;
    o->completed_at = row->completed < 0 ? 0 : T0 + row->completed;
    got = ord_json_order(c->pool, o);
    want = reference_order(c->pool, o);
    return strcmp(got, want) ? apr_psprintf(c->pool, "wrote %s, json-c "
                                            "writes %s", got, want)
                             : NULL;
}

static const render_like_json_c_case_t render_like_json_c_cases[] = {
    { "the API.md example", "ORD003", 0, "1", 1, "[101,102,103]", ORD_COMPLETED, 2747467, 7758685 },
    { "integer ids", "42", 1, "9007199254740991", 1, "[1]", ORD_COMPLETED, 2747467, 7758685 },
    { "no order_id", NULL, 0, "1", 1, "[1]", ORD_COMPLETED, 2747467, 7758685 },
    { "Pending: times and durations null", "A", 0, "u", 0, "[1]", ORD_PENDING, -1, -1 },
    { "Processing", "A", 0, "u", 0, "[1]", ORD_PROCESSING, 2747467, -1 },
    { "Cancelled", "A", 0, "u", 0, "[1]", ORD_CANCELLED, -1, -1 },
    { "a clock that went back: negative durations", "A", 0, "u", 0, "[1]", ORD_COMPLETED, 2500000, 1250000 },
    { "quote, backslash and slash", "A", 0, "a\"b\\c/d", 0, "[1]", ORD_COMPLETED, 1, 2 },
    { "the short escapes", "A", 0, "\b\f\n\r\t", 0, "[1]", ORD_COMPLETED, 1, 2 },
    { "other control characters", "A", 0, "\x01\x1f" "x\x7f", 0, "[1]", ORD_COMPLETED, 1, 2 },
    { "UTF-8 kept as it is", "A", 0, "Zo\xc3\xab \xf0\x9f\x98\x80", 0, "[1]", ORD_COMPLETED, 1, 2 },
    { "items of both kinds, escaped", "A", 0, "u", 0, "[101,\"a-2\",\"q\\\"x\",\"\\\\\"]", ORD_COMPLETED, 1, 2 },
    { "the id characters", "Az09._:-", 0, "u", 0, "[1]", ORD_COMPLETED, 1, 2 },
};

/* ================================================================== */
/* Rendering: ord_json_error                                           */
/* ================================================================== */

typedef struct {
    const char *name;
    const char *message;
    const char *request_id;     /* NULL: none */
} error_case_t;

static const char *check_error_cases(const unit_ctx_t *c, const void *r)
{
    const error_case_t *row = r;
    apr_pool_t *p = c->pool;
    json_object *obj = unit_json_parse(p, ord_json_error(p, row->message,
                                                         row->request_id));
    json_object *id = NULL;

    if (!json_object_is_type(obj, json_type_object)
        || json_object_object_length(obj) != (row->request_id ? 2 : 1)) {
        return apr_psprintf(p, "not an object of %d keys: %s",
                            row->request_id ? 2 : 1,
                            json_object_to_json_string(obj));
    }
    if (strcmp(unit_json_string(obj, "error"), row->message) != 0) {
        return apr_psprintf(p, "error is \"%s\"",
                            unit_json_string(obj, "error"));
    }
    if (row->request_id
        && (!json_object_object_get_ex(obj, "request_id", &id)
            || strcmp(json_object_get_string(id), row->request_id) != 0)) {
        return apr_psprintf(p, "request_id is %s",
                            json_object_to_json_string(id));
    }
    return NULL;
}

static const error_case_t error_cases[] = {
    { "a plain sentence", "total_amount must be a number.", NULL },
    { "quote, backslash and newline", "field \"user_id\" is bad: C:\\path\nsecond line", NULL },
    { "controls escaped, UTF-8 kept", "tab\there, cr\r, bell\x07, slash /, Zo\xc3\xab", NULL },
    { "with the request's id", "no order has that order_id", "Zx3-4f:9.a_b" },
};

/* ================================================================== */
/* Round trips: body -> order -> JSON -> json-c                        */
/* ================================================================== */

static json_object *round_trip(apr_pool_t *p, const char *body)
{
    ord_order_t *o = accept_body(p, body);
    o->created_at = T0;
    o->updated_at = T0;
    return render(p, o);
}

static void test_round_trip_api_example_types(void **state)
{
    apr_pool_t *p = unit_pool(state);
    json_object *obj = round_trip(p, "{\"order_id\":\"ORD-1\",\"user_id\":1,"
                                     "\"item_ids\":[101,\"a-2\",103],"
                                     "\"total_amount\":149.99}");

    check_string(obj, "order_id", "ORD-1");
    assert_int_equal(unit_json_int(obj, "user_id"), 1);
    assert_string_equal(items_text(obj), "[101,\"a-2\",103]");
    check_number_text(obj, "total_amount", "149.99");
    check_string(obj, "status", "Pending");
    check_string(obj, "created_at", "2026-11-23T15:00:17.000000Z");
    check_null(obj, "processing_started_at");
    check_null(obj, "completed_at");
    check_null(obj, "pending_duration");
}

static void test_round_trip_int_order_id_string_user_comma_items(void **state)
{
    apr_pool_t *p = unit_pool(state);
    json_object *obj = round_trip(p, "{\"order_id\":42,\"user_id\":\"alice\","
                                     "\"item_ids\":\"item_1, item_2\","
                                     "\"total_amount\":60.0,"
                                     "\"status\":\"Pending\"}");

    assert_int_equal(unit_json_int(obj, "order_id"), 42);
    check_string(obj, "user_id", "alice");
    assert_string_equal(items_text(obj), "[\"item_1\",\"item_2\"]");
    check_number_text(obj, "total_amount", "60.0");
    check_string(obj, "status", "Pending");
}

/* What is JSON's in an amount's round trip: a double keeps its decimals
 * both ways, and json-c's integer -0 comes back 0 (money's own parse and
 * format are test_ord_order.c's). */
static void test_round_trip_amount_texts(void **state)
{
    apr_pool_t *p = unit_pool(state);

    check_number_text(round_trip(p, mk(p, "\"A\"", USER, ITEMS, "60.0", NULL)),
                      "total_amount", "60.0");
    check_number_text(round_trip(p, mk(p, "\"A\"", USER, ITEMS, "-0", NULL)),
                      "total_amount", "0");
}

static void test_round_trip_unicode_and_escaped_user_id(void **state)
{
    apr_pool_t *p = unit_pool(state);
    json_object *obj = round_trip(p, mk(p, "\"A\"",
                                        "\"Zo\\u00eb \\\"Z\\\" \\\\ \\ud83d\\udc4b\"",
                                        ITEMS, AMT, NULL));
    check_string(obj, "user_id", "Zo\xc3\xab \"Z\" \\ \xf0\x9f\x91\x8b");
}

static void test_round_trip_generated_id_absent_stays_absent(void **state)
{
    apr_pool_t *p = unit_pool(state);
    /* Without order_id the parser leaves it to the caller, who sets a
     * generated one; that id must come back as a string. */
    ord_order_t *o = accept_body(p, mk(p, NULL, USER, ITEMS, AMT, NULL));
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

/* Two bodies of one order id: a retry when they have the same content. */
typedef struct {
    const char *name;
    const char *a, *b;
    int same;
} retry_case_t;

static const char *check_retry_cases(const unit_ctx_t *c, const void *r)
{
    const retry_case_t *row = r;
    apr_pool_t *p = c->pool;
    int same = ord_order_same_content(accept_body(p, row->a),
                                      accept_body(p, row->b));

    return same != row->same ? apr_psprintf(p, "same_content %d, want %d",
                                            same, row->same)
                             : NULL;
}

static const retry_case_t retry_cases[] = {
    { "other spacing, order and a status", "{\"order_id\":\"A\",\"user_id\":1,\"item_ids\":[101,102],\"total_amount\":59.99}", "{ \"total_amount\": 59.99, \"item_ids\": [ 101, 102 ],\n  \"user_id\": 1, \"order_id\": \"A\", \"status\": \"Pending\" }", 1 },
    { "comma string and string array", "{\"order_id\":\"A\",\"user_id\":1,\"item_ids\":\"item_1, item_2\",\"total_amount\":59.99}", "{\"order_id\":\"A\",\"user_id\":1,\"item_ids\":[\"item_1\",\"item_2\"],\"total_amount\":59.99}", 1 },
    { "integer and string user_id", "{\"order_id\":\"A\",\"user_id\":1,\"item_ids\":[101],\"total_amount\":59.99}", "{\"order_id\":\"A\",\"user_id\":\"1\",\"item_ids\":[101],\"total_amount\":59.99}", 0 },
    { "integer and string item", "{\"order_id\":\"A\",\"user_id\":1,\"item_ids\":[101],\"total_amount\":59.99}", "{\"order_id\":\"A\",\"user_id\":1,\"item_ids\":[\"101\"],\"total_amount\":59.99}", 0 },
    { "60 and 60.0", "{\"order_id\":\"A\",\"user_id\":1,\"item_ids\":[101],\"total_amount\":60}", "{\"order_id\":\"A\",\"user_id\":1,\"item_ids\":[101],\"total_amount\":60.0}", 0 },
    { "items in another order", "{\"order_id\":\"A\",\"user_id\":1,\"item_ids\":[101,102],\"total_amount\":59.99}", "{\"order_id\":\"A\",\"user_id\":1,\"item_ids\":[102,101],\"total_amount\":59.99}", 0 },
};

/* ================================================================== */
/* POST {mount}/populate: ord_json_parse_populate                      */
/* ================================================================== */

typedef struct {
    const char *name;
    const char *body;       /* "<<u*N>>": N copies of u (unit_spell) */
    /* "refused[: X]" as in order_case_t; "kept: N": total_entries N and no
     * batch_id; "kept: N B": with batch_id B. */
    const char *outcome;
} populate_case_t;

static const char *check_populate_cases(const unit_ctx_t *c, const void *r)
{
    const populate_case_t *row = r;
    apr_pool_t *p = c->pool;
    const char *body = unit_spell(p, row->body);
    ord_populate_t req = { -1, "(unset)" };
    const char *error = NULL, *want_batch, *space;
    apr_status_t rv = ord_json_parse_populate(p, body, strlen(body), &req,
                                              &error);
    int want_total;

    if (strncmp(row->outcome, "refused", 7) == 0) {
        return check_refused(p, row->outcome, rv, error);
    }
    if (rv != APR_SUCCESS) {
        return apr_psprintf(p, "refused (rv %d): %s", rv, unit_show(error));
    }
    want_total = atoi(row->outcome + 6);
    space = strchr(row->outcome + 6, ' ');
    want_batch = space ? unit_spell(p, space + 1) : NULL;
    if (req.total_entries != want_total
        || !unit_same(req.batch_id, want_batch)) {
        return apr_psprintf(p, "total_entries %d batch_id %s, want %d %s",
                            req.total_entries, unit_show(req.batch_id),
                            want_total, unit_show(want_batch));
    }
    return NULL;
}

static const populate_case_t populate_cases[] = {
    { "total_entries only", "{\"total_entries\":5}", "kept: 5" },
    { "with a batch_id", "{\"total_entries\":100000,\"batch_id\":\"b-1\"}", "kept: 100000 b-1" },
    { "white space and the other order", " { \"batch_id\" : \"Load.Test_2:x-9\" ,\n   \"total_entries\" : 1 } \n", "kept: 1 Load.Test_2:x-9" },
    { "batch_id spelled with an escape", "{\"total_entries\":2,\"batch\\u005fid\":\"b2\"}", "kept: 2 b2" },
    { "total_entries 1", "{\"total_entries\":1}", "kept: 1" },
    { "total_entries 100000", "{\"total_entries\":100000}", "kept: 100000" },
    { "total_entries 0", "{\"total_entries\":0}", "refused: total_entries" },
    { "total_entries 100001", "{\"total_entries\":100001}", "refused: total_entries" },
    { "total_entries -1", "{\"total_entries\":-1}", "refused: total_entries" },
    { "total_entries beyond 32 bits", "{\"total_entries\":4294967297}", "refused: total_entries" },
    { "total_entries of 20 digits", "{\"total_entries\":99999999999999999999}", "refused: total_entries" },
    { "total_entries a string", "{\"total_entries\":\"5\"}", "refused: total_entries" },
    { "total_entries 1.5", "{\"total_entries\":1.5}", "refused: total_entries" },
    { "total_entries 5.0", "{\"total_entries\":5.0}", "refused: total_entries" },
    { "total_entries 1e3", "{\"total_entries\":1e3}", "refused: total_entries" },
    { "total_entries null", "{\"total_entries\":null}", "refused: total_entries" },
    { "total_entries boolean", "{\"total_entries\":true}", "refused: total_entries" },
    { "total_entries array", "{\"total_entries\":[5]}", "refused: total_entries" },
    { "total_entries object", "{\"total_entries\":{}}", "refused: total_entries" },
    { "total_entries missing", "{}", "refused: total_entries" },
    { "total_entries missing beside a batch_id", "{\"batch_id\":\"b-1\"}", "refused: total_entries" },
    { "batch_id of 57 characters", "{\"total_entries\":3,\"batch_id\":\"<<b*57>>\"}", "kept: 3 <<b*57>>" },
    { "batch_id of 58 characters", "{\"total_entries\":3,\"batch_id\":\"<<b*58>>\"}", "refused: batch_id" },
    { "batch_id empty", "{\"total_entries\":3,\"batch_id\":\"\"}", "refused: batch_id" },
    { "batch_id of every allowed character", "{\"total_entries\":1,\"batch_id\":\"AZaz09._:-\"}", "kept: 1 AZaz09._:-" },
    { "batch_id with a space", "{\"total_entries\":1,\"batch_id\":\"a b\"}", "refused: batch_id" },
    { "batch_id with a slash", "{\"total_entries\":1,\"batch_id\":\"a/b\"}", "refused: batch_id" },
    { "batch_id with a question mark", "{\"total_entries\":1,\"batch_id\":\"a?b\"}", "refused: batch_id" },
    { "batch_id with a non-ASCII letter", "{\"total_entries\":1,\"batch_id\":\"Zo\xc3\xab\"}", "refused: batch_id" },
    { "batch_id with an escaped NUL", "{\"total_entries\":1,\"batch_id\":\"a\\u0000b\"}", "refused: batch_id" },
    { "batch_id with an escaped newline", "{\"total_entries\":1,\"batch_id\":\"a\\nb\"}", "refused: batch_id" },
    { "batch_id a number", "{\"total_entries\":1,\"batch_id\":5}", "refused: batch_id" },
    { "batch_id null", "{\"total_entries\":1,\"batch_id\":null}", "refused: batch_id" },
    { "batch_id boolean", "{\"total_entries\":1,\"batch_id\":true}", "refused: batch_id" },
    { "batch_id array", "{\"total_entries\":1,\"batch_id\":[\"b\"]}", "refused: batch_id" },
    { "batch_id object", "{\"total_entries\":1,\"batch_id\":{}}", "refused: batch_id" },
    { "unknown field", "{\"total_entries\":5,\"extra\":1}", "refused: extra" },
    { "field names are case-sensitive", "{\"Total_entries\":5}", "refused: Total_entries" },
    { "an order's field", "{\"total_entries\":5,\"order_id\":\"x\"}", "refused: order_id" },
    { "duplicate total_entries", "{\"total_entries\":5,\"total_entries\":5}", "refused: total_entries" },
    { "duplicate total_entries with another value", "{\"total_entries\":5,\"total_entries\":0}", "refused: total_entries" },
    { "duplicate batch_id", "{\"batch_id\":\"a\",\"total_entries\":5,\"batch_id\":\"b\"}", "refused: batch_id" },
    { "duplicate spelled with an escape", "{\"total_entries\":5,\"total\\u005fentries\":6}", "refused: total_entries" },
    { "empty body", "", "refused" },
    { "white space only", "   ", "refused" },
    { "an array", "[]", "refused" },
    { "a number", "5", "refused" },
    { "truncated", "{\"total_entries\":5", "refused" },
    { "trailing garbage", "{\"total_entries\":5} x", "refused" },
    { "second object", "{\"total_entries\":5}{}", "refused" },
    { "single quotes", "{'total_entries':5}", "refused" },
    { "invalid UTF-8", "{\"total_entries\":5,\"batch_id\":\"\xff\"}", "refused" },
};

static void test_populate_rejects_trailing_nul_byte(void **state)
{
    static const char body[] = "{\"total_entries\":5}\0";
    ord_populate_t req = { -1, NULL };
    const char *error = NULL;

    assert_int_equal(ord_json_parse_populate(unit_pool(state), body,
                                             sizeof(body) - 1, &req, &error),
                     APR_EINVAL);
    assert_non_null(error);
    assert_true(*error != '\0');
}

/* The bounds the table's rows sit at; the longest order id populate makes
 * is still an order id. */
static void test_populate_longest_batch_id_makes_valid_order_ids(void **state)
{
    apr_pool_t *p = unit_pool(state);

    assert_int_equal(ORD_POPULATE_MAX, 100000);
    assert_int_equal(ORD_BATCH_ID_MAX_CHARS, 57);
    assert_true(ord_order_id_text_valid(
        apr_pstrcat(p, unit_repeat(p, "b", ORD_BATCH_ID_MAX_CHARS), "-100000",
                    NULL), 64));
}

/* ================================================================== */
/* Rendering: ord_json_populate_result                                 */
/* ================================================================== */

static void test_populate_result_keys_and_values(void **state)
{
    apr_pool_t *p = unit_pool(state);
    apr_array_header_t *errors = apr_array_make(p, 0, sizeof(const char *));
    json_object *obj;

    obj = unit_json_parse(p, ord_json_populate_result(p, "b-1", 250, 248, 2,
                                                      errors));
    assert_true(json_object_is_type(obj, json_type_object));
    assert_int_equal(json_object_object_length(obj), 5);
    check_string(obj, "batch_id", "b-1");
    assert_int_equal(unit_json_int(obj, "total_entries"), 250);
    assert_int_equal(unit_json_int(obj, "success_count"), 248);
    assert_int_equal(unit_json_int(obj, "failure_count"), 2);
    assert_int_equal(json_object_array_length(unit_json_array(obj, "errors")),
                     0);
}

static void test_populate_result_errors_are_strings(void **state)
{
    apr_pool_t *p = unit_pool(state);
    apr_array_header_t *errors = apr_array_make(p, 2, sizeof(const char *));
    json_object *obj, *list, *e;

    APR_ARRAY_PUSH(errors, const char *) = "order b-7: \"busy\"";
    APR_ARRAY_PUSH(errors, const char *) = "second\nline \\ Zo\xc3\xab";
    obj = unit_json_parse(p, ord_json_populate_result(p, "AZaz09._:-", 100000,
                                                      0, 100000, errors));
    check_string(obj, "batch_id", "AZaz09._:-");
    assert_int_equal(unit_json_int(obj, "total_entries"), 100000);
    assert_int_equal(unit_json_int(obj, "success_count"), 0);
    assert_int_equal(unit_json_int(obj, "failure_count"), 100000);
    list = unit_json_array(obj, "errors");
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
    apr_pool_t *p = unit_pool(state);
    apr_array_header_t *orders = apr_array_make(p, 2, sizeof(ord_order_t *));
    ord_order_t *second = pending_order(p);
    json_object *obj, *list, *o;

    second->order_id.text = "42";
    second->order_id.is_int = 1;
    second->user_id.text = "alice";
    second->user_id.is_int = 0;
    APR_ARRAY_PUSH(orders, ord_order_t *) = completed_order(p);
    APR_ARRAY_PUSH(orders, ord_order_t *) = second;

    obj = unit_json_parse(p, ord_json_order_list(
                                 p, orders, "/orders?status=Pending&user_id=a"
                                            "%20b&limit=2&after=9"));
    assert_true(json_object_is_type(obj, json_type_object));
    assert_int_equal(json_object_object_length(obj), 2);
    check_string(obj, "next",
                 "/orders?status=Pending&user_id=a%20b&limit=2&after=9");
    list = unit_json_array(obj, "orders");
    assert_int_equal(json_object_array_length(list), 2);

    o = json_object_array_get_idx(list, 0);
    assert_true(json_object_is_type(o, json_type_object));
    assert_int_equal(json_object_object_length(o), 12);
    check_string(o, "order_id", "ORD003");
    assert_int_equal(unit_json_int(o, "user_id"), 1);
    check_number_text(o, "total_amount", "59.99");
    check_string(o, "status", "Completed");
    check_string(o, "created_at", "2026-11-23T15:00:17.000000Z");
    check_seconds(o, "processing_duration", 5.011218);

    o = json_object_array_get_idx(list, 1);
    assert_true(json_object_is_type(o, json_type_object));
    assert_int_equal(json_object_object_length(o), 12);
    assert_int_equal(unit_json_int(o, "order_id"), 42);
    check_string(o, "user_id", "alice");
    check_string(o, "status", "Pending");
    check_null(o, "completed_at");
    check_null(o, "pending_duration");
}

/* Each element is the same object ord_json_order renders. */
static void test_order_list_elements_equal_order_objects(void **state)
{
    apr_pool_t *p = unit_pool(state);
    apr_array_header_t *orders = apr_array_make(p, 1, sizeof(ord_order_t *));
    ord_order_t *o = completed_order(p);
    json_object *list;

    APR_ARRAY_PUSH(orders, ord_order_t *) = o;
    list = unit_json_array(unit_json_parse(p, ord_json_order_list(p, orders,
                                                                  NULL)),
                           "orders");
    assert_int_equal(json_object_array_length(list), 1);
    assert_true(json_object_equal(json_object_array_get_idx(list, 0),
                                  render(p, o)));
}

/* The last page, of one order or of none: "next" is null. */
static void test_order_list_last_page_has_null_next(void **state)
{
    apr_pool_t *p = unit_pool(state);
    int n;

    for (n = 1; n >= 0; n--) {
        apr_array_header_t *orders = apr_array_make(p, 1,
                                                    sizeof(ord_order_t *));
        json_object *obj, *list;

        if (n) {
            APR_ARRAY_PUSH(orders, ord_order_t *) = pending_order(p);
        }
        obj = unit_json_parse(p, ord_json_order_list(p, orders, NULL));
        assert_int_equal(json_object_object_length(obj), 2);
        check_null(obj, "next");
        list = unit_json_array(obj, "orders");
        assert_int_equal(json_object_array_length(list), n);
        if (n) {
            check_string(json_object_array_get_idx(list, 0), "order_id",
                         "ORD003");
        }
    }
}

/* ------------------------------------------------------------------ */

int main(void)
{
    const struct CMUnitTest tests[] = {
        /* the body as a whole */
        UNIT_TABLE(order_cases),
        cmocka_unit_test(test_parse_reads_exactly_len_bytes),

        /* each field */
        cmocka_unit_test(test_item_ids_default_limit_1000),
        cmocka_unit_test(test_item_ids_json_is_valid_json_of_the_items),

        /* ord_json_order */
        cmocka_unit_test(test_render_has_exactly_the_api_keys),
        cmocka_unit_test(test_render_completed_order_values),
        UNIT_TABLE(render_times_cases),
        UNIT_TABLE(render_cases),
        UNIT_TABLE(render_like_json_c_cases),

        /* ord_json_error */
        UNIT_TABLE(error_cases),

        /* round trips */
        cmocka_unit_test(test_round_trip_api_example_types),
        cmocka_unit_test(test_round_trip_int_order_id_string_user_comma_items),
        cmocka_unit_test(test_round_trip_amount_texts),
        cmocka_unit_test(test_round_trip_unicode_and_escaped_user_id),
        cmocka_unit_test(test_round_trip_generated_id_absent_stays_absent),
        UNIT_TABLE(retry_cases),

        /* populate */
        UNIT_TABLE(populate_cases),
        cmocka_unit_test(test_populate_rejects_trailing_nul_byte),
        cmocka_unit_test(test_populate_longest_batch_id_makes_valid_order_ids),
        cmocka_unit_test(test_populate_result_keys_and_values),
        cmocka_unit_test(test_populate_result_errors_are_strings),

        /* the list */
        cmocka_unit_test(test_order_list_with_next),
        cmocka_unit_test(test_order_list_elements_equal_order_objects),
        cmocka_unit_test(test_order_list_last_page_has_null_next),
    };
    return cmocka_run_group_tests(tests, unit_group_setup, unit_group_teardown);
}
