/*
 * ord_totals: the processing-time histogram's bounds.  See ord_totals.h.
 */
#include "ord_totals.h"

const apr_int64_t ord_processing_bounds_us[ORD_PROCESSING_BUCKETS - 1] = {
    50000, 100000, 250000, 500000, 1000000, 2000000, 3000000, 5000000,
    10000000, 30000000, 60000000
};

int ord_processing_bucket(apr_interval_time_t processing_us)
{
    int i;

    for (i = 0; i < ORD_PROCESSING_BUCKETS - 1; i++) {
        if (processing_us <= ord_processing_bounds_us[i]) {
            return i;
        }
    }
    return ORD_PROCESSING_BUCKETS - 1;
}
