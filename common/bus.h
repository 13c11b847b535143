/* The message bus (ARCHITECTURE.md "The bus"): AMQP 0-9-1 on RabbitMQ through
 * librabbitmq. One durable topic exchange, `nube`; one durable queue per topic
 * (`scheduler`, `compute.<host>`, `events`), bound to the exchange with the
 * topic as its key and dead-lettering into the queue `nube.dead`.
 *
 * Every message is a JSON envelope {"v": 1, "method": M, "args": {...},
 * "request_id": R}. The request id of the sending thread (log_get_request_id)
 * travels with it and is set (log_set_request_id) while its handler runs.
 * Replies are {"v": 1, "result": {...}} or {"v": 1, "error": {"code": NAME,
 * "message": TEXT}}.
 *
 * Delivery: casts and calls are persistent messages on durable queues, and
 * return only after the broker's publisher confirm, so a cast accepted is not
 * lost to a broker restart. The sender declares the topic's queue before it
 * publishes (a cast to a host whose agent never ran waits in its queue).
 * Delivery is at least once: a consumer that dies before its ack gets the
 * message again with `redelivered` set; handlers must be idempotent.
 *
 * Threading: a struct bus is one AMQP connection and is NOT thread-safe. It
 * belongs to one thread at a time; every call on it (cast, call, reply,
 * consume, run) must come from that thread. A multi-threaded daemon opens one
 * bus per thread that talks to the broker (the API server: bus_thread_get()
 * in each worker thread). Handlers run on the thread inside bus_run() and may
 * themselves cast, call and reply on the same bus: deliveries that arrive in
 * the meantime are queued and dispatched after the handler returns.
 *
 * Reconnection: when the connection fails (broker restart, network), the next
 * operation reconnects with exponential backoff (capped at reconnect_max_ms),
 * re-declaring the exchanges, the queues and the consumers. bus_run() keeps
 * reconnecting until its own time is up; bus_cast() and bus_call() give up
 * with ERR_UNAVAILABLE when their timeout passes. A cast whose confirm was
 * lost with the connection is published again (at least once).
 *
 * Liveness: the socket has TCP keepalive (30 s idle, 3 probes 10 s apart).
 * AMQP heartbeats are off by default because librabbitmq answers them only
 * while the bus is inside a bus_* call: a handler that runs longer than two
 * heartbeats would lose its connection and have its message redelivered. An
 * idle connection the broker has closed is noticed, and replaced, by the next
 * operation. */
#ifndef NUBE_COMMON_BUS_H
#define NUBE_COMMON_BUS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "error.h"

#define BUS_EXCHANGE "nube"
#define BUS_DEAD_EXCHANGE "nube.dead"
#define BUS_DEAD_QUEUE "nube.dead"
#define BUS_TOPIC_SCHEDULER "scheduler"
#define BUS_TOPIC_EVENTS "events"
#define BUS_TOPIC_COMPUTE_PREFIX "compute." /* + host */

#define BUS_TOPIC_MAX 200 /* [A-Za-z0-9_.-], at most this long */
#define BUS_METHOD_MAX 128
#define BUS_REQUEST_ID_MAX 63

struct bus;

struct bus_options {
    size_t max_message_bytes; /* larger messages are dead-lettered unread (default 1 MiB) */
    int reconnect_min_ms;     /* first backoff step (default 100) */
    int reconnect_max_ms;     /* backoff cap (default 5000) */
    int publish_timeout_ms;   /* how long bus_cast waits for broker and confirm (default 10000) */
    int heartbeat_s;          /* AMQP heartbeat, default 0 = off (TCP keepalive is on): see above */
    int prefetch;             /* unacked deliveries in flight per connection (default 16) */
    int max_attempts; /* BUS_REQUEUE at most this many times, then dead-letter (default 5) */
};

/* What a handler decides about a message. */
enum bus_verdict {
    BUS_ACK,     /* done (or harmlessly ignored): remove it */
    BUS_REQUEUE, /* transient failure: deliver again later (up to max_attempts) */
    BUS_REJECT,  /* permanent failure: move it to the dead-letter queue */
};

/* A delivered message; valid only during the handler (everything is freed after). */
struct bus_msg {
    const char *queue;          /* the queue it came from */
    const char *method;         /* envelope "method" */
    json_t *args;               /* envelope "args" (borrowed; an object) */
    const char *request_id;     /* envelope "request_id", or NULL */
    const char *message_id;     /* unique per message, for idempotency / logs */
    const char *reply_to;       /* set for a call: answer with bus_reply() */
    const char *correlation_id; /* set for a call */
    bool redelivered;           /* the broker delivered it before (unacked) */
    int attempt;                /* 1 on first delivery, +1 per BUS_REQUEUE */
};

typedef enum bus_verdict (*bus_handler_fn)(struct bus *bus, const struct bus_msg *msg,
                                           void *opaque);

/* Connect to @url, "amqp://user:pass@host:port/vhost" (vhost "/" is written
 * as "%2f" or left empty), and declare the exchanges and the dead-letter
 * queue. @opts may be NULL for the defaults. Fails with ERR_INVALID on a bad
 * URL, ERR_UNAVAILABLE when the broker cannot be reached or refuses login. */
struct bus *bus_open(const char *url, const struct bus_options *opts, struct err *err);
/* The same from the [bus] section of a config: url (required: a daemon never
 * guesses its broker), max_message_bytes, reconnect_max_ms,
 * publish_timeout_ms, heartbeat_s, prefetch, max_attempts. */
struct bus *bus_open_config(const struct config *cfg, struct err *err);
/* Close the connection and free everything; NULL is fine. */
void bus_close(struct bus *bus);
/* The calling thread's own bus, opened on first use (bus_open(@url, @opts))
 * and closed when the thread exits: for multi-threaded senders such as the
 * API server. After a failed open the next call tries again. */
struct bus *bus_thread_get(const char *url, const struct bus_options *opts, struct err *err);

/* Consume @topic's queue (declared durable, bound to the exchange): bus_run()
 * dispatches its messages to @fn, with manual acks. Messages that are not a
 * valid envelope (not JSON, wrong schema, over max_message_bytes) are
 * dead-lettered and never reach @fn. Consumers are re-registered after a
 * reconnect. */
int bus_consume(struct bus *bus, const char *topic, bus_handler_fn fn, void *opaque,
                struct err *err);

/* Dispatch deliveries for up to @timeout_ms (-1: until bus_stop()),
 * reconnecting as needed. Returns 0 when the time is up or bus_stop() was
 * called; -1 only on misuse (no consumer). */
int bus_run(struct bus *bus, int timeout_ms, struct err *err);
/* Make bus_run() return after the current handler (call it from a handler). */
void bus_stop(struct bus *bus);

/* Publish {"v":1,"method":@method,"args":@args,"request_id":...} to @topic,
 * persistent, and wait for the broker's confirm. @args (may be NULL for {})
 * is borrowed. Returns 0 once the broker has taken responsibility for it. */
int bus_cast(struct bus *bus, const char *topic, const char *method, json_t *args, struct err *err);

/* Send a request and wait up to @timeout_ms for its reply; on success *reply
 * is the "result" object (caller decrefs). A remote error comes back as -1
 * with the remote code and message. No answer in time: ERR_TIMEOUT naming the
 * topic and method. The request expires in the queue after @timeout_ms, so a
 * consumer that comes back late does not execute a call nobody awaits. */
int bus_call(struct bus *bus, const char *topic, const char *method, json_t *args, int timeout_ms,
             json_t **reply, struct err *err);

/* Answer a call (from its handler): @result (borrowed; NULL for {}). */
int bus_reply(struct bus *bus, const struct bus_msg *msg, json_t *result, struct err *err);
/* Answer a call with an error; the caller's bus_call() fails with @e's code and message. */
int bus_reply_error(struct bus *bus, const struct bus_msg *msg, const struct err *e,
                    struct err *err);

/* A topic is 1..BUS_TOPIC_MAX of [A-Za-z0-9_.-] (no AMQP wildcards). */
bool bus_topic_valid(const char *topic);
/* "compute.<host>" into @out; -1 (ERR_INVALID) when @host makes no valid topic. */
int bus_topic_compute(const char *host, char *out, size_t size, struct err *err);

/* Validate a raw message body as an envelope; on success returns the parsed
 * object (caller decrefs). Used by the consumer, exposed for tests and fuzzing. */
json_t *bus_envelope_parse(const char *body, size_t len, size_t max_len, struct err *err);

#endif
