/*
 * ord_totals: what the counters hold, as the database's aggregates give it:
 * the figures the shared counters (ord_metrics) load at each start and the
 * store (ord_store_totals) reads, and the processing-time histogram's
 * buckets that both use.  Constant data and a pure function.
 */
#ifndef ORD_TOTALS_H
#define ORD_TOTALS_H

#include <apr.h>
#include <apr_time.h>

#include "ord_order.h"

/* The processing-time histogram: bucket i holds the Completed orders whose
 * processing took at most ord_processing_bounds_us[i] and more than the
 * bound before; the last bucket holds those above the last bound. */
#define ORD_PROCESSING_BUCKETS 12
extern const apr_int64_t ord_processing_bounds_us[ORD_PROCESSING_BUCKETS - 1];
/* The bucket of one processing time. */
int ord_processing_bucket(apr_interval_time_t processing_us);

/* What the metrics load at start-up: aggregates over the table. */
typedef struct {
    apr_uint64_t count[ORD_STATUS_COUNT];
    apr_uint64_t processing_us_sum;     /* over Completed orders */
    apr_uint64_t from_creation_us_sum;  /* over Completed orders */
    apr_uint64_t processing_buckets[ORD_PROCESSING_BUCKETS];
} ord_store_totals_t;

#endif /* ORD_TOTALS_H */
