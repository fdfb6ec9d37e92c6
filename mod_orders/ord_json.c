/*
 * ord_json: strict parsing of an order body (and of populate's) with
 * json-c.  Rendering is ord_json_render.c.  See ord_json.h.
 */
#include <stdlib.h>
#include <string.h>

#include <apr_hash.h>
#include <apr_strings.h>
#include <json.h>

#include "ord_json.h"

/* The order's shape is an object holding at most an array of scalars.  One
 * level more is let through so that an object or array in item_ids gets a
 * message naming the field; anything deeper the tokener refuses itself. */
#define ORD_JSON_MAX_DEPTH 4

static const char *const known_fields[] = {
    "order_id", "user_id", "item_ids", "total_amount", "status", NULL
};

static int is_json_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* The text of a JSON string literal (quotes included), unescaped. */
static const char *decoded_string(apr_pool_t *p, const char *literal,
                                  apr_size_t len)
{
    json_tokener *tok;
    json_object *str;
    const char *out = NULL;

    /* Without a backslash the literal is its own text (the body is valid
     * UTF-8 JSON already): no tokener for every key of every order. */
    if (!memchr(literal, '\\', len)) {
        return apr_pstrmemdup(p, literal + 1, len - 2);
    }
    tok = json_tokener_new();
    if (!tok) {
        return NULL;
    }
    str = json_tokener_parse_ex(tok, literal, (int)len);
    if (json_object_is_type(str, json_type_string)) {
        out = apr_pstrdup(p, json_object_get_string(str));
    }
    json_object_put(str);
    json_tokener_free(tok);
    return out;
}

/* json-c keeps the last of duplicate keys without a word, so the keys of the
 * outermost object are read from the text itself; each is decoded by json-c
 * (a key may be spelled with escapes).  The text is valid JSON already, so
 * only strings and nesting need tracking.  json-c also takes 'single
 * quoted' strings even in strict mode, which JSON does not: refused here. */
static apr_status_t check_keys(apr_pool_t *p, const char *s, apr_size_t len,
                               const char **error)
{
    apr_hash_t *seen = apr_hash_make(p);
    apr_size_t i, start = 0;
    int depth = 0, in_string = 0;

    for (i = 0; i < len; i++) {
        char c = s[i];
        if (in_string) {
            if (c == '\\' && i + 1 < len && s[i + 1] == 'u') {
                /* json-c turns a lone surrogate into U+FFFD without a
                 * word: the client's text would change. */
                unsigned long u = strtoul(apr_pstrmemdup(p, s + i + 2, 4),
                                          NULL, 16);
                if (u >= 0xD800 && u <= 0xDBFF && i + 11 < len
                    && s[i + 6] == '\\' && s[i + 7] == 'u') {
                    unsigned long low = strtoul(
                        apr_pstrmemdup(p, s + i + 8, 4), NULL, 16);
                    if (low >= 0xDC00 && low <= 0xDFFF) {
                        i += 11;
                        continue;
                    }
                }
                if (u >= 0xD800 && u <= 0xDFFF) {
                    *error = "the body has a \\u escape of a lone UTF-16 "
                             "surrogate, which is not a character";
                    return APR_EINVAL;
                }
                i += 5;
            }
            else if (c == '\\') {
                i++;
            }
            else if (c == '"') {
                apr_size_t j = i + 1;
                in_string = 0;
                while (j < len && is_json_space(s[j])) {
                    j++;
                }
                if (depth == 1 && j < len && s[j] == ':') {
                    const char *key = decoded_string(p, s + start,
                                                     i + 1 - start);
                    if (key && apr_hash_get(seen, key, APR_HASH_KEY_STRING)) {
                        *error = apr_psprintf(p, "the field \"%s\" appears "
                                              "more than once", key);
                        return APR_EINVAL;
                    }
                    if (key) {
                        apr_hash_set(seen, key, APR_HASH_KEY_STRING, key);
                    }
                }
            }
        }
        else if (c == '"') {
            in_string = 1;
            start = i;
        }
        else if (c == '\'') {
            *error = "the body is not valid JSON: strings take double quotes";
            return APR_EINVAL;
        }
        else if (c == '{' || c == '[') {
            depth++;
        }
        else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return APR_SUCCESS;
}

/* An identifier field: a string checked by `text_ok`, or an integer in
 * 0..2^53-1. */
static apr_status_t parse_id(apr_pool_t *p, json_object *val,
                             const char *field,
                             int (*text_ok)(const char *, apr_size_t),
                             const char *text_rule, ord_id_t *id,
                             const char **error)
{
    if (json_object_is_type(val, json_type_int)) {
        apr_int64_t n = json_object_get_int64(val);
        if (!ord_int_id_valid(n)) {
            *error = apr_psprintf(p, "%s must be an integer from 0 to "
                                  "9007199254740991", field);
            return APR_EINVAL;
        }
        id->text = apr_psprintf(p, "%" APR_INT64_T_FMT, n);
        id->is_int = 1;
        return APR_SUCCESS;
    }
    if (json_object_is_type(val, json_type_string)) {
        const char *s = json_object_get_string(val);
        apr_size_t len = (apr_size_t)json_object_get_string_len(val);
        if (!text_ok(s, len)) {
            *error = apr_psprintf(p, "%s must be %s", field, text_rule);
            return APR_EINVAL;
        }
        id->text = apr_pstrmemdup(p, s, len);
        id->is_int = 0;
        return APR_SUCCESS;
    }
    *error = apr_psprintf(p, "%s must be a string or an integer", field);
    return APR_EINVAL;
}

/* Appends one item (an integer or a string) to the canonical array. */
static apr_status_t add_item(apr_pool_t *p, json_object *items,
                             json_object *val, const char *text,
                             apr_size_t len, apr_size_t index,
                             const char **error)
{
    if (val && json_object_is_type(val, json_type_int)) {
        apr_int64_t n = json_object_get_int64(val);
        if (!ord_int_id_valid(n)) {
            *error = apr_psprintf(p, "item_ids[%" APR_SIZE_T_FMT "] must be "
                                  "an integer from 0 to 9007199254740991",
                                  index);
            return APR_EINVAL;
        }
        json_object_array_add(items, json_object_new_int64(n));
        return APR_SUCCESS;
    }
    if (val) {
        if (!json_object_is_type(val, json_type_string)) {
            *error = apr_psprintf(p, "item_ids[%" APR_SIZE_T_FMT "] must be "
                                  "an integer or a string", index);
            return APR_EINVAL;
        }
        text = json_object_get_string(val);
        len = (apr_size_t)json_object_get_string_len(val);
    }
    if (!ord_item_text_valid(text, len)) {
        *error = apr_psprintf(p, "item_ids[%" APR_SIZE_T_FMT "] must be 1 "
                              "to 64 characters with no control character",
                              index);
        return APR_EINVAL;
    }
    json_object_array_add(items, json_object_new_string_len(text, (int)len));
    return APR_SUCCESS;
}

/* "item_1, item_2": pieces separated by commas, spaces around them
 * ignored. */
static apr_status_t add_items_from_list(apr_pool_t *p, json_object *items,
                                        const char *s, apr_size_t len,
                                        int max_items, const char **error)
{
    apr_size_t start = 0, count = 0;

    while (start <= len) {
        apr_size_t end = start, first, last;
        apr_status_t rv;
        while (end < len && s[end] != ',') {
            end++;
        }
        first = start;
        last = end;
        while (first < last && s[first] == ' ') {
            first++;
        }
        while (last > first && s[last - 1] == ' ') {
            last--;
        }
        if (++count > (apr_size_t)max_items) {
            *error = apr_psprintf(p, "item_ids must have at most %d items",
                                  max_items);
            return APR_EINVAL;
        }
        rv = add_item(p, items, NULL, s + first, last - first, count - 1,
                      error);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        start = end + 1;
    }
    return APR_SUCCESS;
}

static apr_status_t parse_items(apr_pool_t *p, json_object *val,
                                int max_items, const char **items_json,
                                const char **error)
{
    json_object *items = json_object_new_array();
    apr_status_t rv = APR_SUCCESS;

    if (json_object_is_type(val, json_type_string)) {
        rv = add_items_from_list(p, items, json_object_get_string(val),
                                 (apr_size_t)json_object_get_string_len(val),
                                 max_items, error);
    }
    else if (json_object_is_type(val, json_type_array)) {
        apr_size_t i, n = json_object_array_length(val);
        if (n == 0) {
            *error = "item_ids must not be empty";
            rv = APR_EINVAL;
            goto leave;
        }
        if (n > (apr_size_t)max_items) {
            *error = apr_psprintf(p, "item_ids must have at most %d items",
                                  max_items);
            rv = APR_EINVAL;
            goto leave;
        }
        for (i = 0; i < n && rv == APR_SUCCESS; i++) {
            rv = add_item(p, items, json_object_array_get_idx(val, i), NULL,
                          0, i, error);
        }
    }
    else {
        *error = "item_ids must be an array of item ids or a comma-separated "
                 "string";
        rv = APR_EINVAL;
    }
    if (rv == APR_SUCCESS) {
        *items_json = apr_pstrdup(p, json_object_to_json_string_ext(
                                         items, ORD_JSON_OUT_FLAGS));
    }
leave:
    json_object_put(items);
    return rv;
}

static apr_status_t parse_amount(apr_pool_t *p, json_object *val,
                                 ord_money_t *money, const char **error)
{
    const char *why = "must be a JSON number";

    /* Parsed numbers keep their source text in json-c: read the money from
     * it, never from the double. */
    if ((json_object_is_type(val, json_type_int)
         || json_object_is_type(val, json_type_double))
        && ord_money_parse(json_object_to_json_string_ext(val,
                                                          ORD_JSON_OUT_FLAGS),
                           money, &why) == APR_SUCCESS) {
        return APR_SUCCESS;
    }
    *error = apr_pstrcat(p, "total_amount ", why, NULL);
    return APR_EINVAL;
}

static apr_status_t parse_fields(apr_pool_t *p, json_object *obj,
                                 const ord_parse_limits_t *limits,
                                 ord_order_t *order, const char **error)
{
    json_object *val;
    apr_status_t rv;

    json_object_object_foreach(obj, key, unused) {
        int i;
        (void)unused;
        for (i = 0; known_fields[i] && strcmp(key, known_fields[i]); i++) {
        }
        if (!known_fields[i]) {
            *error = apr_psprintf(p, "unknown field \"%s\"; an order has "
                                  "order_id, user_id, item_ids, total_amount "
                                  "and status", key);
            return APR_EINVAL;
        }
    }
    if (json_object_object_get_ex(obj, "order_id", &val)) {
        rv = parse_id(p, val, "order_id", ord_order_id_text_valid,
                      "1 to 64 characters of A-Z a-z 0-9 . _ : -",
                      &order->order_id, error);
        if (rv != APR_SUCCESS) {
            return rv;
        }
        /* {mount}/populate is the load simulation, not an order. */
        if (strcmp(order->order_id.text, ORD_RESERVED_ORDER_ID) == 0
            || strcmp(order->order_id.text, ORD_RESERVED_EVENTS_ID) == 0) {
            *error = apr_psprintf(p, "order_id \"%s\" is reserved",
                                  order->order_id.text);
            return APR_EINVAL;
        }
    }
    if (json_object_object_get_ex(obj, "user_id", &val)) {
        rv = parse_id(p, val, "user_id", ord_user_id_text_valid,
                      "1 to 64 printable characters", &order->user_id,
                      error);
        if (rv != APR_SUCCESS) {
            return rv;
        }
    }
    else if (!limits->user_id_optional) {
        *error = "user_id is required";
        return APR_EINVAL;
    }
    if (!json_object_object_get_ex(obj, "item_ids", &val)) {
        *error = "item_ids is required";
        return APR_EINVAL;
    }
    rv = parse_items(p, val, limits->max_items, &order->item_ids_json, error);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (!json_object_object_get_ex(obj, "total_amount", &val)) {
        *error = "total_amount is required";
        return APR_EINVAL;
    }
    rv = parse_amount(p, val, &order->total_amount, error);
    if (rv != APR_SUCCESS) {
        return rv;
    }
    if (json_object_object_get_ex(obj, "status", &val)
        && !(json_object_is_type(val, json_type_string)
             && strcmp(json_object_get_string(val), "Pending") == 0)) {
        *error = "status may only be \"Pending\" when an order is placed";
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

/* Parses `body` as exactly one JSON object under the strict rules (see
 * ord_json.h); the caller puts the object. */
static apr_status_t parse_object(apr_pool_t *p, const char *body,
                                 apr_size_t len, json_object **out,
                                 const char **error)
{
    json_tokener *tok = json_tokener_new_ex(ORD_JSON_MAX_DEPTH);
    json_object *obj = NULL;
    enum json_tokener_error jerr;
    apr_size_t end;
    apr_status_t rv = APR_EINVAL;

    if (!tok) {
        *error = "the body could not be parsed";
        return APR_ENOMEM;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT
                                | JSON_TOKENER_VALIDATE_UTF8);
    obj = json_tokener_parse_ex(tok, body, (int)len);
    jerr = json_tokener_get_error(tok);
    if (jerr == json_tokener_continue) {
        *error = len ? "the body ends before the JSON object does"
                     : "the body is empty; send one JSON object";
        goto leave;
    }
    if (jerr != json_tokener_success) {
        *error = apr_psprintf(p, "the body is not valid JSON: %s",
                              json_tokener_error_desc(jerr));
        goto leave;
    }
    for (end = json_tokener_get_parse_end(tok); end < len; end++) {
        if (!is_json_space(body[end])) {
            *error = "the body has bytes after the JSON object";
            goto leave;
        }
    }
    if (!json_object_is_type(obj, json_type_object)) {
        *error = "the body must be one JSON object";
        goto leave;
    }
    if (check_keys(p, body, len, error) != APR_SUCCESS) {
        goto leave;
    }
    *out = obj;
    obj = NULL;
    rv = APR_SUCCESS;
leave:
    json_object_put(obj);
    json_tokener_free(tok);
    return rv;
}

apr_status_t ord_json_parse_order(apr_pool_t *p, const char *body,
                                  apr_size_t len,
                                  const ord_parse_limits_t *limits,
                                  ord_order_t **order, const char **error)
{
    json_object *obj = NULL;
    ord_order_t *parsed;
    apr_status_t rv = parse_object(p, body, len, &obj, error);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    parsed = apr_pcalloc(p, sizeof(*parsed));
    parsed->status = ORD_PENDING;
    rv = parse_fields(p, obj, limits, parsed, error);
    if (rv == APR_SUCCESS) {
        *order = parsed;
    }
    json_object_put(obj);
    return rv;
}

static int batch_id_valid(const char *s, apr_size_t len)
{
    return len <= ORD_BATCH_ID_MAX_CHARS && ord_order_id_text_valid(s, len);
}

apr_status_t ord_json_parse_populate(apr_pool_t *p, const char *body,
                                     apr_size_t len, ord_populate_t *req,
                                     const char **error)
{
    json_object *obj = NULL, *val;
    ord_populate_t parsed = { 0, NULL };
    apr_status_t rv = parse_object(p, body, len, &obj, error);

    if (rv != APR_SUCCESS) {
        return rv;
    }
    rv = APR_EINVAL;
    json_object_object_foreach(obj, key, unused) {
        (void)unused;
        if (strcmp(key, "total_entries") != 0 && strcmp(key, "batch_id") != 0) {
            *error = apr_psprintf(p, "unknown field \"%s\"; populate takes "
                                  "total_entries and batch_id", key);
            goto leave;
        }
    }
    if (!json_object_object_get_ex(obj, "total_entries", &val)
        || !json_object_is_type(val, json_type_int)
        || json_object_get_int64(val) < 1
        || json_object_get_int64(val) > ORD_POPULATE_MAX) {
        *error = "total_entries must be an integer from 1 to 100000";
        goto leave;
    }
    parsed.total_entries = (int)json_object_get_int64(val);
    if (json_object_object_get_ex(obj, "batch_id", &val)) {
        if (!json_object_is_type(val, json_type_string)
            || !batch_id_valid(json_object_get_string(val),
                               (apr_size_t)json_object_get_string_len(val))) {
            *error = "batch_id must be 1 to 57 characters of A-Z a-z 0-9 . _ "
                     ": -";
            goto leave;
        }
        parsed.batch_id = apr_pstrdup(p, json_object_get_string(val));
    }
    *req = parsed;
    rv = APR_SUCCESS;
leave:
    json_object_put(obj);
    return rv;
}
