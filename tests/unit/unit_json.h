/*
 * Reading back the JSON the module renders, for the unit tests: a strict
 * parse of the whole text (json-c, UTF-8 validated) whose object lives as
 * long as the pool, and members read by type, each failing the test with
 * the member's name and the JSON it found when it is not there or not of
 * that type.
 *
 * Include after <cmocka.h> and unit_support.h.  Everything is static
 * inline, as in unit_support.h.
 */
#ifndef UNIT_JSON_H
#define UNIT_JSON_H

#include <json-c/json.h>

static inline apr_status_t unit_json_put(void *obj)
{
    json_object_put((json_object *)obj);
    return APR_SUCCESS;
}

/* Parses `text` strictly; the whole text must be one JSON value (trailing
 * white space allowed).  The object is released with `p`. */
static inline json_object *unit_json_parse(apr_pool_t *p, const char *text)
{
    json_tokener *tok;
    json_object *obj;
    size_t len, end;

    if (!text) {
        fail_msg("no JSON text (NULL)");
    }
    len = strlen(text);
    tok = json_tokener_new();
    assert_non_null(tok);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT
                                | JSON_TOKENER_VALIDATE_UTF8);
    obj = json_tokener_parse_ex(tok, text, (int)len);
    end = json_tokener_get_parse_end(tok);
    if (!obj) {
        print_error("not valid JSON (%s): %s\n",
                    json_tokener_error_desc(json_tokener_get_error(tok)),
                    text);
        json_tokener_free(tok);
        fail();
    }
    json_tokener_free(tok);
    apr_pool_cleanup_register(p, obj, unit_json_put, apr_pool_cleanup_null);
    while (end < len && strchr(" \t\r\n", text[end])) {
        end++;
    }
    if (end != len) {
        fail_msg("bytes after the JSON value: %s", text + end);
    }
    return obj;
}

/* The member `key` of `obj`, which must be there (its value may be null). */
static inline json_object *unit_json_member(json_object *obj, const char *key)
{
    json_object *v = NULL;

    if (!json_object_object_get_ex(obj, key, &v)) {
        fail_msg("key \"%s\" missing in %s", key,
                 json_object_to_json_string(obj));
    }
    return v;
}

/* A member that must be a JSON integer. */
static inline apr_int64_t unit_json_int(json_object *obj, const char *key)
{
    json_object *v = unit_json_member(obj, key);

    if (!json_object_is_type(v, json_type_int)) {
        fail_msg("\"%s\" is %s, want an integer", key,
                 json_object_to_json_string(v));
    }
    return json_object_get_int64(v);
}

/* A member that must be a JSON number, integer or not. */
static inline double unit_json_number(json_object *obj, const char *key)
{
    json_object *v = unit_json_member(obj, key);

    if (!json_object_is_type(v, json_type_double)
        && !json_object_is_type(v, json_type_int)) {
        fail_msg("\"%s\" is %s, want a number", key,
                 json_object_to_json_string(v));
    }
    return json_object_get_double(v);
}

/* A member that must be a JSON string; its text. */
static inline const char *unit_json_string(json_object *obj, const char *key)
{
    json_object *v = unit_json_member(obj, key);

    if (!json_object_is_type(v, json_type_string)) {
        fail_msg("\"%s\" is %s, want a string", key,
                 json_object_to_json_string(v));
    }
    return json_object_get_string(v);
}

/* A member that must be a JSON array. */
static inline json_object *unit_json_array(json_object *obj, const char *key)
{
    json_object *v = unit_json_member(obj, key);

    if (!json_object_is_type(v, json_type_array)) {
        fail_msg("\"%s\" is %s, want an array", key,
                 json_object_to_json_string(v));
    }
    return v;
}

/* `v` rendered plainly: the text of a number as json-c keeps it, an array
 * or object without spaces, "/" not escaped (as the module writes). */
static inline const char *unit_json_text(json_object *v)
{
    return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN
                                             | JSON_C_TO_STRING_NOSLASHESCAPE);
}

#endif /* UNIT_JSON_H */
