/*
 * libFuzzer target: the order and populate parsers on any bytes.  Beyond
 * not crashing: an accepted order renders to valid JSON whose total_amount
 * is exactly what ord_money_format writes, and parsing twice gives the same
 * canonical content.
 */
#include <string.h>

#include <json.h>

#include "fuzz_support.h"
#include "ord_json.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    apr_pool_t *p = fuzz_input_pool();
    ord_parse_limits_t limits = { 1000, size % 2 };
    ord_order_t *order = NULL, *again = NULL;
    ord_populate_t populate;
    const char *error = NULL;

    if (ord_json_parse_order(p, (const char *)data, size, &limits, &order,
                             &error) == APR_SUCCESS) {
        const char *text;
        json_object *obj, *amount;

        FUZZ_ASSERT(ord_json_parse_order(p, (const char *)data, size, &limits,
                                         &again, &error) == APR_SUCCESS);
        if (!order->order_id.text) {
            order->order_id.text = again->order_id.text = "fuzz";
        }
        if (!order->user_id.text) {
            order->user_id.text = again->user_id.text = "fuzz";
        }
        FUZZ_ASSERT(ord_order_same_content(order, again));
        text = ord_json_order(p, order);
        obj = json_tokener_parse(text);
        FUZZ_ASSERT(obj != NULL);
        FUZZ_ASSERT(json_object_object_get_ex(obj, "total_amount", &amount));
        FUZZ_ASSERT(strcmp(json_object_to_json_string_ext(
                               amount, JSON_C_TO_STRING_PLAIN),
                           ord_money_format(p, order->total_amount)) == 0);
        json_object_put(obj);
    }
    else {
        FUZZ_ASSERT(error != NULL && *error != '\0');
    }
    error = NULL;
    if (ord_json_parse_populate(p, (const char *)data, size, &populate,
                                &error) == APR_SUCCESS) {
        FUZZ_ASSERT(populate.total_entries >= 1
                    && populate.total_entries <= ORD_POPULATE_MAX);
    }
    else {
        FUZZ_ASSERT(error != NULL && *error != '\0');
    }
    apr_pool_destroy(p);
    return 0;
}
