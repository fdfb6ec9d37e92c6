/*
 * ord_webhook: what one webhook attempt sends and what its answer means
 * (API.md section 6, the Standard Webhooks specification,
 * standardwebhooks.com).
 *
 * Owns, and nothing else: the `OrdersWebhookSecret` format and its decoded
 * key bytes; the `webhook-signature` of a message; the headers of one
 * attempt; the delay before a retry (the doubling, its jitter, its cap and
 * `Retry-After`); the verdict on one attempt (delivered, retry, give up).
 * Sending, leases and delivery state in the database belong to the glue and
 * the store; this unit never does I/O and never reads a clock or a random
 * source: `now` and the random number are parameters, so every answer is a
 * function of its arguments and the tests are deterministic.
 *
 * Pure C, APR, APR-util (apr_base64, apr_date) and OpenSSL's libcrypto
 * (HMAC-SHA256): no httpd header.
 *
 * Thread-safety: every function is reentrant and may run on any thread at
 * once (OpenSSL >= 1.1.0 needs no locking callbacks).  Results are allocated
 * from the pool passed in and live as long as it does; keys parsed into a
 * pool (pconf) may be shared read-only by every thread.  Outputs are set
 * only on APR_SUCCESS.  Messages never quote a secret, only the position
 * and the character that is wrong.
 */
#ifndef ORD_WEBHOOK_H
#define ORD_WEBHOOK_H

#include <apr_pools.h>
#include <apr_time.h>

/* ---- secrets (OrdersWebhookSecret SECRET [SECRET]) ------------------- */

#define ORD_WEBHOOK_SECRET_PREFIX    "whsec_"
/* The specification's floor (192 bits).  The ceiling is only a sanity
 * bound on a config line (the specification suggests 24..64 bytes; HMAC
 * takes any length, so longer secrets from a receiver are accepted). */
#define ORD_WEBHOOK_SECRET_MIN_BYTES 24
#define ORD_WEBHOOK_SECRET_MAX_BYTES 1024
/* One key normally, two during a rotation (old and new, either order). */
#define ORD_WEBHOOK_MAX_KEYS         2

typedef struct {
    const unsigned char *bytes;     /* the decoded secret: the HMAC key */
    apr_size_t len;
} ord_webhook_key_t;

typedef struct {
    int count;                      /* 1 or 2 */
    ord_webhook_key_t key[ORD_WEBHOOK_MAX_KEYS];
} ord_webhook_keys_t;

/* Parses one secret: "whsec_" then standard base64 (A-Z a-z 0-9 + /, with
 * or without its '=' padding; no URL-safe alphabet, no white space) of
 * ORD_WEBHOOK_SECRET_MIN_BYTES..MAX_BYTES bytes.  APR_SUCCESS with *key
 * (bytes in `p`), or APR_EINVAL with *error, a clause that starts "the
 * secret ..." and says what is wrong, for the glue to prefix with the
 * directive's name. */
apr_status_t ord_webhook_secret_parse(apr_pool_t *p, const char *text,
                                      ord_webhook_key_t *key,
                                      const char **error);

/* The directive's one or two arguments (`second` NULL for one).  Messages
 * say "the first secret"/"the second secret" when there are two; two
 * secrets that decode to the same bytes are refused (a rotation needs two
 * different keys; the same one twice is a copy-paste slip).  Signatures
 * come out in argument order. */
apr_status_t ord_webhook_keys_parse(apr_pool_t *p, const char *first,
                                    const char *second,
                                    ord_webhook_keys_t *keys,
                                    const char **error);

/* ---- signature ------------------------------------------------------- */

/* The `webhook-signature` value of one attempt: for each key, in order,
 * "v1," + base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")), separated
 * by one space.  `timestamp` is the attempt's Unix seconds, written in
 * decimal; `body` is `body_len` bytes sent exactly as signed (it may hold
 * any byte).  APR_EINVAL when `id` is empty, holds a '.' (the specification
 * forbids it: the signed content is split on '.') or anything but visible
 * ASCII (it becomes a header), when `timestamp` is negative, or when `keys`
 * holds no key; APR_EGENERAL when OpenSSL fails.  Copies the body once
 * into `p`. */
apr_status_t ord_webhook_sign(apr_pool_t *p, const ord_webhook_keys_t *keys,
                              const char *id, apr_int64_t timestamp,
                              const char *body, apr_size_t body_len,
                              const char **signature);

/* ---- the headers of one attempt -------------------------------------- */

#define ORD_WEBHOOK_CONTENT_TYPE "application/json"
#define ORD_WEBHOOK_PRODUCT      "mod_orders"

typedef enum {
    ORD_WEBHOOK_H_ID = 0,       /* webhook-id: the event's id */
    ORD_WEBHOOK_H_TIMESTAMP,    /* webhook-timestamp: this attempt's secs */
    ORD_WEBHOOK_H_SIGNATURE,    /* webhook-signature */
    ORD_WEBHOOK_H_CONTENT_TYPE, /* Content-Type: application/json */
    ORD_WEBHOOK_H_USER_AGENT,   /* User-Agent: mod_orders/<version> */
    ORD_WEBHOOK_H_COUNT
} ord_webhook_header_e;

typedef struct {
    const char *name;           /* as sent: the specification's lower case
                                 * webhook-* names, then Content-Type and
                                 * User-Agent */
    const char *value;
} ord_webhook_header_t;

typedef struct {
    ord_webhook_header_t field[ORD_WEBHOOK_H_COUNT];  /* in send order */
} ord_webhook_headers_t;

/* The headers of the attempt made at `now` (its whole seconds, truncated,
 * are both the webhook-timestamp and the signed timestamp) of the event
 * `id` whose JSON is `body`.  `version` is the module's (a token: letters,
 * digits and !#$%&'*+-.^_`|~).  APR_SUCCESS with *headers set, APR_EINVAL
 * for a bad id, a `now` before 1970 or a bad version, APR_EGENERAL when
 * OpenSSL fails. */
apr_status_t ord_webhook_headers(apr_pool_t *p, const ord_webhook_keys_t *keys,
                                 const char *id, apr_time_t now,
                                 const char *body, apr_size_t body_len,
                                 const char *version,
                                 ord_webhook_headers_t *headers);

/* ---- retries (OrdersWebhookRetry MIN MAX, OrdersWebhookAttempts N) ---- */

/* API.md section 1's defaults. */
#define ORD_WEBHOOK_DEFAULT_RETRY_MIN  apr_time_from_sec(5)
#define ORD_WEBHOOK_DEFAULT_RETRY_MAX  apr_time_from_sec(3600)
#define ORD_WEBHOOK_DEFAULT_ATTEMPTS   15

typedef struct {
    apr_interval_time_t min;    /* > 0 */
    apr_interval_time_t max;    /* >= min (a smaller one counts as min) */
    int attempts;               /* >= 1 (a smaller one counts as 1) */
} ord_webhook_policy_t;

/* The delay before attempt `attempt` (the first retry is attempt 2; a
 * smaller number counts as 2), from the schedule alone.
 *
 * The choice: "doubling with jitter, capped at MAX", with MIN a floor and
 * MAX a ceiling that no retry ever crosses:
 *
 *     hi    = min(MAX, MIN * 2^(attempt-1))
 *     lo    = max(MIN, hi / 2)
 *     delay = lo + (hi - lo) * random / 0xFFFFFFFF     (integer, exact)
 *
 * so the first retry waits uniformly in [MIN, 2 MIN], the next [2 MIN,
 * 4 MIN], ..., and once capped [max(MIN, MAX/2), MAX].  Half the window is
 * jitter, so events that failed together (a receiver's outage) spread out
 * instead of returning as one wave, even at the cap; none is retried sooner
 * than MIN after a failure.  `random` is uniform over 32 bits (the glue's
 * generator: not for secrets); 0 gives lo, 0xFFFFFFFF gives hi.  Never
 * overflows, whatever `attempt` and MAX are. */
apr_interval_time_t ord_webhook_backoff(const ord_webhook_policy_t *policy,
                                        int attempt, apr_uint32_t random);

/* A `Retry-After` value (RFC 9110 section 10.2.3) as a delay from `now`:
 * delay-seconds (1*DIGIT, huge values saturate at 10^10 seconds) or an
 * HTTP-date (apr_date_parse_http's three forms; a date not after `now`
 * gives 0).  Surrounding spaces and tabs are ignored.  APR_SUCCESS with
 * *delay >= 0, or APR_EINVAL (no *delay) for NULL, "" or anything else:
 * "-5", "+5", "1.5", "5s", a malformed date. */
apr_status_t ord_webhook_retry_after_parse(const char *value, apr_time_t now,
                                           apr_interval_time_t *delay);

/* The delay before attempt `attempt` after the previous one answered
 * `status` (0: no answer) with `retry_after` (the header's value or NULL):
 * ord_webhook_backoff(), raised to the Retry-After delay when the status is
 * 429 or 503 and the header parses, and capped at MAX.  Retry-After only
 * ever lengthens the wait: a receiver asking for "1" does not retry faster
 * than the schedule (that would spend every attempt in a minute against a
 * static maintenance page), and one asking for a day waits MAX. */
apr_interval_time_t ord_webhook_retry_delay(const ord_webhook_policy_t *policy,
                                            int attempt, int status,
                                            const char *retry_after,
                                            apr_time_t now,
                                            apr_uint32_t random);

/* ---- the verdict on one attempt -------------------------------------- */

typedef enum {
    ORD_WEBHOOK_DELIVERED = 0,  /* a 2xx: done */
    ORD_WEBHOOK_RETRY,          /* try again after `delay` */
    ORD_WEBHOOK_GIVE_UP         /* 410 Gone, or the last attempt failed */
} ord_webhook_verdict_e;

typedef struct {
    ord_webhook_verdict_e verdict;
    apr_interval_time_t delay;  /* RETRY: the wait before the next attempt;
                                 * otherwise 0 */
} ord_webhook_outcome_t;

/* The verdict on attempt `attempt` (1 for the first) that answered `status`
 * (0 for no answer: a time-out, a refused connection, a TLS failure; any
 * number outside 100..599 counts as no answer) with `retry_after`:
 * 200..299 is DELIVERED, whatever the attempt; 410 is GIVE_UP at once; any
 * other answer is GIVE_UP when `attempt` >= policy->attempts, else RETRY
 * after ord_webhook_retry_delay(policy, attempt + 1, ...).  3xx is a
 * failure, not followed (the specification: update the URL instead). */
void ord_webhook_judge(const ord_webhook_policy_t *policy, int attempt,
                       int status, const char *retry_after, apr_time_t now,
                       apr_uint32_t random, ord_webhook_outcome_t *outcome);

/* "delivered", "retry", "give up": for logs. */
const char *ord_webhook_verdict_name(ord_webhook_verdict_e verdict);

#endif /* ORD_WEBHOOK_H */
