/*
 * ord_incident: when the database fails, say so once per incident, not once
 * per request.  An incident starts with the first failure after a success
 * and ends with the next success; a failure of another kind within it (a
 * lost connection turning into a full disk) is news again.
 *
 * Thread-safety: every call may come from any thread at once (atomics
 * only); one tracker per child is enough.
 */
#ifndef ORD_INCIDENT_H
#define ORD_INCIDENT_H

#include <apr.h>

typedef struct {
    volatile apr_uint32_t kinds;    /* one bit per kind seen; 0: healthy */
    volatile apr_uint32_t failures; /* in the incident under way */
} ord_incident_t;

/* Counts a failure of `kind` (1 to 31); 1 when the caller should log it in
 * full (the first of its kind in this incident), 0 when it was said. */
int ord_incident_failed(ord_incident_t *in, apr_uint32_t kind);

/* A success: the number of failures of the incident that it ends (log that
 * the database answers again), 0 when there was none. */
apr_uint32_t ord_incident_ok(ord_incident_t *in);

#endif /* ORD_INCIDENT_H */
