/* The message bus over librabbitmq: see bus.h for the model.
 *
 * One connection, one channel (1) in confirm mode, used for publishing and
 * consuming alike. Every incoming frame goes through bus_pump(), which tracks
 * publisher confirms, assembles deliveries (method, header, body frames) and
 * queues them: consumer deliveries on bus->pending for bus_run(), the reply
 * to the call in flight in bus->reply. Frames that librabbitmq's own RPCs
 * (queue.declare, ...) read in passing are queued by librabbitmq and come out
 * of amqp_simple_wait_frame_noblock() in order, so nothing is lost. */
#include "bus.h"

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include "id.h"
#include "json.h"
#include "log.h"
#include "mem.h"

#define BUS_CHANNEL 1
#define BUS_ATTEMPT_HEADER "x-nube-attempt"
#define BUS_DEAD_MAX_LENGTH 10000
#define BUS_IO_TIMEOUT_MS 10000

enum bus_confirm { CONFIRM_NONE, CONFIRM_PENDING, CONFIRM_ACKED, CONFIRM_NACKED };

struct bus_consumer {
    char *topic;
    bus_handler_fn fn;
    void *opaque;
    struct bus_consumer *next;
};

/* A message received (delivered, or returned as unroutable), copied out of
 * librabbitmq's buffers. */
struct bus_delivery {
    bool is_return;
    uint64_t tag;
    bool redelivered;
    char *consumer_tag, *exchange, *routing_key;
    char *message_id, *reply_to, *correlation_id, *expiration;
    int attempt;
    uint64_t body_size, got;
    bool oversized; /* body_size > max_message_bytes: the body is skipped */
    char *body;
    struct bus_delivery *next;
};

struct bus {
    struct bus_options opts;
    char *url_redacted;
    char *host, *user, *password, *vhost;
    int port;

    amqp_connection_state_t conn;
    bool connected;
    uint64_t generation; /* +1 per connection: delivery tags of older ones are void */
    int backoff_ms;
    int64_t next_attempt_ms;
    char last_error[ERR_MSG_MAX];

    uint64_t next_seq; /* publish sequence number of the next publish */
    uint64_t await_seq;
    enum bus_confirm await_state;
    bool await_returned;

    char **declared; /* topics whose queue this connection declared */
    size_t ndeclared;

    struct bus_consumer *consumers;
    char *reply_queue, *reply_tag;
    const char *await_corr;
    struct bus_delivery *reply;

    struct bus_delivery *pending, *pending_tail;
    struct bus_delivery *partial;
    bool stop;
};

static int64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct timeval
ms_to_tv(int64_t ms)
{
    if (ms < 0)
        ms = 0;
    return (struct timeval){.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
}

static void
sleep_ms(int64_t ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static char *
bytes_dup(amqp_bytes_t b)
{
    return xstrndup(b.bytes ? b.bytes : "", b.len);
}

static void
delivery_free(struct bus_delivery *d)
{
    if (!d)
        return;
    free(d->consumer_tag);
    free(d->exchange);
    free(d->routing_key);
    free(d->message_id);
    free(d->reply_to);
    free(d->correlation_id);
    free(d->expiration);
    free(d->body);
    free(d);
}

/* Why an RPC failed, as text. */
static void
rpc_error_text(amqp_rpc_reply_t r, char *buf, size_t size)
{
    switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL:
        snprintf(buf, size, "no error");
        break;
    case AMQP_RESPONSE_NONE:
        snprintf(buf, size, "missing RPC reply");
        break;
    case AMQP_RESPONSE_LIBRARY_EXCEPTION:
        snprintf(buf, size, "%s", amqp_error_string2(r.library_error));
        break;
    case AMQP_RESPONSE_SERVER_EXCEPTION:
        if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
            amqp_connection_close_t *c = r.reply.decoded;
            snprintf(buf, size, "broker closed the connection: %u %.*s", c->reply_code,
                     (int)c->reply_text.len, (const char *)c->reply_text.bytes);
        } else if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
            amqp_channel_close_t *c = r.reply.decoded;
            snprintf(buf, size, "broker closed the channel: %u %.*s", c->reply_code,
                     (int)c->reply_text.len, (const char *)c->reply_text.bytes);
        } else {
            snprintf(buf, size, "unexpected broker method 0x%08x", r.reply.id);
        }
        break;
    }
}

/* Check the last RPC on @bus's connection. */
static int
rpc_check(struct bus *bus, const char *what, struct err *err)
{
    amqp_rpc_reply_t r = amqp_get_rpc_reply(bus->conn);
    if (r.reply_type == AMQP_RESPONSE_NORMAL)
        return 0;
    char text[200];
    rpc_error_text(r, text, sizeof(text));
    return err_set(err, ERR_UNAVAILABLE, "%s: %s", what, text);
}

/* Forget the connection (after a failure): deliveries not yet handled are
 * void, the broker will deliver them again. */
static void
bus_drop(struct bus *bus, const char *why)
{
    if (bus->connected)
        log_warn("bus: connection to %s lost: %s", bus->url_redacted, why);
    snprintf(bus->last_error, sizeof(bus->last_error), "%s", why);
    if (bus->conn)
        amqp_destroy_connection(bus->conn);
    bus->conn = NULL;
    bus->connected = false;
    for (struct bus_delivery *d = bus->pending, *next; d; d = next) {
        next = d->next;
        delivery_free(d);
    }
    bus->pending = bus->pending_tail = NULL;
    delivery_free(bus->partial);
    bus->partial = NULL;
    delivery_free(bus->reply);
    bus->reply = NULL;
    for (size_t i = 0; i < bus->ndeclared; i++)
        free(bus->declared[i]);
    free(bus->declared);
    bus->declared = NULL;
    bus->ndeclared = 0;
    free(bus->reply_queue);
    free(bus->reply_tag);
    bus->reply_queue = bus->reply_tag = NULL;
    if (bus->await_state == CONFIRM_PENDING)
        bus->await_state = CONFIRM_NONE;
}

static int
bus_declare_topic(struct bus *bus, const char *topic, struct err *err)
{
    for (size_t i = 0; i < bus->ndeclared; i++)
        if (strcmp(bus->declared[i], topic) == 0)
            return 0;
    amqp_table_entry_t entry = {.key = amqp_cstring_bytes("x-dead-letter-exchange"),
                                .value = {.kind = AMQP_FIELD_KIND_UTF8,
                                          .value.bytes = amqp_cstring_bytes(BUS_DEAD_EXCHANGE)}};
    amqp_table_t args = {.num_entries = 1, .entries = &entry};
    amqp_queue_declare(bus->conn, BUS_CHANNEL, amqp_cstring_bytes(topic), 0, 1, 0, 0, args);
    if (rpc_check(bus, "declaring queue", err) < 0)
        return err_prefix(err, "topic %s", topic);
    amqp_queue_bind(bus->conn, BUS_CHANNEL, amqp_cstring_bytes(topic),
                    amqp_cstring_bytes(BUS_EXCHANGE), amqp_cstring_bytes(topic), amqp_empty_table);
    if (rpc_check(bus, "binding queue", err) < 0)
        return err_prefix(err, "topic %s", topic);
    bus->declared = xrealloc(bus->declared, (bus->ndeclared + 1) * sizeof(*bus->declared));
    bus->declared[bus->ndeclared++] = xstrdup(topic);
    return 0;
}

static int
bus_start_consumer(struct bus *bus, struct bus_consumer *c, struct err *err)
{
    if (bus_declare_topic(bus, c->topic, err) < 0)
        return -1;
    /* The consumer tag is the topic: deliveries find their handler by it. */
    amqp_basic_consume(bus->conn, BUS_CHANNEL, amqp_cstring_bytes(c->topic),
                       amqp_cstring_bytes(c->topic), 0, 0, 0, amqp_empty_table);
    if (rpc_check(bus, "consuming", err) < 0)
        return err_prefix(err, "topic %s", c->topic);
    return 0;
}

/* One connection attempt: open, log in, set up the channel, declare. */
static int
bus_connect(struct bus *bus, struct err *err)
{
    struct timeval tv = ms_to_tv(BUS_IO_TIMEOUT_MS);
    bus->conn = amqp_new_connection();
    amqp_socket_t *sock = amqp_tcp_socket_new(bus->conn);
    if (!sock) {
        err_set(err, ERR_INTERNAL, "cannot create a socket");
        goto fail;
    }
    int status = amqp_socket_open_noblock(sock, bus->host, bus->port, &tv);
    if (status != AMQP_STATUS_OK) {
        /* librabbitmq keeps no errno for a refused connection. */
        err_set(err, ERR_UNAVAILABLE, "connecting to %s:%d: %s", bus->host, bus->port,
                status == AMQP_STATUS_SOCKET_ERROR
                    ? "connection refused or unreachable (is the broker running?)"
                    : amqp_error_string2(status));
        goto fail;
    }
    /* Dead peers are found by TCP keepalive, which the kernel runs even
     * while a long handler keeps us from reading (AMQP heartbeats would not
     * be answered then, and the broker would drop us mid-handler). */
    int fd = amqp_get_sockfd(bus->conn), on = 1, idle = 30, intvl = 10, cnt = 3;
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
    setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
    amqp_set_handshake_timeout(bus->conn, &tv);
    amqp_set_rpc_timeout(bus->conn, &tv);
    amqp_rpc_reply_t r = amqp_login(bus->conn, bus->vhost, 0, 131072, bus->opts.heartbeat_s,
                                    AMQP_SASL_METHOD_PLAIN, bus->user, bus->password);
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
        char text[200];
        rpc_error_text(r, text, sizeof(text));
        err_set(err, ERR_UNAVAILABLE, "logging in to %s:%d as %s: %s", bus->host, bus->port,
                bus->user, text);
        goto fail;
    }
    amqp_channel_open(bus->conn, BUS_CHANNEL);
    if (rpc_check(bus, "opening channel", err) < 0)
        goto fail;
    amqp_confirm_select(bus->conn, BUS_CHANNEL);
    if (rpc_check(bus, "enabling publisher confirms", err) < 0)
        goto fail;
    amqp_basic_qos(bus->conn, BUS_CHANNEL, 0, (uint16_t)bus->opts.prefetch, 0);
    if (rpc_check(bus, "setting prefetch", err) < 0)
        goto fail;
    amqp_exchange_declare(bus->conn, BUS_CHANNEL, amqp_cstring_bytes(BUS_EXCHANGE),
                          amqp_cstring_bytes("topic"), 0, 1, 0, 0, amqp_empty_table);
    if (rpc_check(bus, "declaring exchange " BUS_EXCHANGE, err) < 0)
        goto fail;
    amqp_exchange_declare(bus->conn, BUS_CHANNEL, amqp_cstring_bytes(BUS_DEAD_EXCHANGE),
                          amqp_cstring_bytes("fanout"), 0, 1, 0, 0, amqp_empty_table);
    if (rpc_check(bus, "declaring exchange " BUS_DEAD_EXCHANGE, err) < 0)
        goto fail;
    amqp_table_entry_t max_len = {
        .key = amqp_cstring_bytes("x-max-length"),
        .value = {.kind = AMQP_FIELD_KIND_I32, .value.i32 = BUS_DEAD_MAX_LENGTH}};
    amqp_queue_declare(bus->conn, BUS_CHANNEL, amqp_cstring_bytes(BUS_DEAD_QUEUE), 0, 1, 0, 0,
                       (amqp_table_t){.num_entries = 1, .entries = &max_len});
    if (rpc_check(bus, "declaring queue " BUS_DEAD_QUEUE, err) < 0)
        goto fail;
    amqp_queue_bind(bus->conn, BUS_CHANNEL, amqp_cstring_bytes(BUS_DEAD_QUEUE),
                    amqp_cstring_bytes(BUS_DEAD_EXCHANGE), amqp_empty_bytes, amqp_empty_table);
    if (rpc_check(bus, "binding queue " BUS_DEAD_QUEUE, err) < 0)
        goto fail;

    bus->connected = true;
    bus->generation++;
    bus->next_seq = 1;
    for (struct bus_consumer *c = bus->consumers; c; c = c->next)
        if (bus_start_consumer(bus, c, err) < 0)
            goto fail;
    return 0;

fail:
    bus->connected = false; /* not "lost": it never fully came up */
    bus_drop(bus, err ? err->msg : "connect failed");
    return -1;
}

/* Connect if needed, retrying with capped exponential backoff until
 * @deadline (monotonic ms; -1: no deadline). */
static int
bus_ensure(struct bus *bus, int64_t deadline, struct err *err)
{
    bool was_lost = bus->generation > 0;
    while (!bus->connected) {
        int64_t now = now_ms();
        if (now < bus->next_attempt_ms) {
            if (deadline >= 0 && bus->next_attempt_ms > deadline) {
                sleep_ms(deadline - now);
                break;
            }
            sleep_ms(bus->next_attempt_ms - now);
            continue;
        }
        struct err e = ERR_INIT;
        if (bus_connect(bus, &e) == 0) {
            bus->backoff_ms = 0;
            bus->next_attempt_ms = 0;
            if (was_lost)
                log_info("bus: reconnected to %s", bus->url_redacted);
            return 0;
        }
        snprintf(bus->last_error, sizeof(bus->last_error), "%s", e.msg);
        log_warn("bus: cannot connect to %s: %s", bus->url_redacted, e.msg);
        bus->backoff_ms = bus->backoff_ms ? bus->backoff_ms * 2 : bus->opts.reconnect_min_ms;
        if (bus->backoff_ms > bus->opts.reconnect_max_ms)
            bus->backoff_ms = bus->opts.reconnect_max_ms;
        bus->next_attempt_ms = now_ms() + bus->backoff_ms;
        if (deadline >= 0 && now_ms() >= deadline)
            break;
    }
    if (bus->connected)
        return 0;
    return err_set(err, ERR_UNAVAILABLE, "message broker %s unreachable: %s", bus->url_redacted,
                   bus->last_error);
}

static void
confirm_update(struct bus *bus, uint64_t tag, bool multiple, bool ack)
{
    if (bus->await_state != CONFIRM_PENDING)
        return;
    if (tag == bus->await_seq || (multiple && tag >= bus->await_seq))
        bus->await_state = ack ? CONFIRM_ACKED : CONFIRM_NACKED;
}

/* A whole message arrived: file it. */
static void
delivery_complete(struct bus *bus, struct bus_delivery *d)
{
    if (d->is_return) {
        /* Only casts and calls are mandatory, and only one awaits at a time. */
        if (bus->await_state == CONFIRM_PENDING)
            bus->await_returned = true;
        delivery_free(d);
    } else if (bus->reply_tag && strcmp(d->consumer_tag, bus->reply_tag) == 0) {
        if (bus->await_corr && d->correlation_id && !bus->reply &&
            strcmp(d->correlation_id, bus->await_corr) == 0) {
            bus->reply = d;
        } else {
            log_debug("bus: dropping a late reply (correlation id %s)",
                      d->correlation_id ? d->correlation_id : "none");
            delivery_free(d);
        }
    } else {
        if (bus->pending_tail)
            bus->pending_tail->next = d;
        else
            bus->pending = d;
        bus->pending_tail = d;
    }
}

static void
delivery_set_properties(struct bus_delivery *d, const amqp_basic_properties_t *p)
{
    if (p->_flags & AMQP_BASIC_MESSAGE_ID_FLAG)
        d->message_id = bytes_dup(p->message_id);
    if (p->_flags & AMQP_BASIC_REPLY_TO_FLAG)
        d->reply_to = bytes_dup(p->reply_to);
    if (p->_flags & AMQP_BASIC_CORRELATION_ID_FLAG)
        d->correlation_id = bytes_dup(p->correlation_id);
    if (p->_flags & AMQP_BASIC_EXPIRATION_FLAG)
        d->expiration = bytes_dup(p->expiration);
    d->attempt = 1;
    if (p->_flags & AMQP_BASIC_HEADERS_FLAG) {
        for (int i = 0; i < p->headers.num_entries; i++) {
            const amqp_table_entry_t *e = &p->headers.entries[i];
            if (e->key.len == strlen(BUS_ATTEMPT_HEADER) &&
                memcmp(e->key.bytes, BUS_ATTEMPT_HEADER, e->key.len) == 0 &&
                e->value.kind == AMQP_FIELD_KIND_I32 && e->value.value.i32 > 0)
                d->attempt = e->value.value.i32;
        }
    }
}

/* Read and handle one frame, waiting until @deadline at most. Returns 1 when
 * a frame was handled, 0 on timeout, -1 when the connection failed (it is
 * dropped; bus->last_error says why). */
static int
bus_pump(struct bus *bus, int64_t deadline)
{
    if (!bus->connected)
        return -1;
    amqp_frame_t frame;
    struct timeval tv = ms_to_tv(deadline - now_ms());
    int status = amqp_simple_wait_frame_noblock(bus->conn, &frame, &tv);
    if (status == AMQP_STATUS_TIMEOUT)
        return now_ms() < deadline ? 1 : 0; /* a wait may end a little early */
    if (status != AMQP_STATUS_OK) {
        bus_drop(bus, amqp_error_string2(status));
        return -1;
    }
    char why[200];
    switch (frame.frame_type) {
    case AMQP_FRAME_METHOD:
        switch (frame.payload.method.id) {
        case AMQP_BASIC_DELIVER_METHOD: {
            amqp_basic_deliver_t *m = frame.payload.method.decoded;
            struct bus_delivery *d = xzalloc(sizeof(*d));
            d->tag = m->delivery_tag;
            d->redelivered = m->redelivered;
            d->consumer_tag = bytes_dup(m->consumer_tag);
            d->exchange = bytes_dup(m->exchange);
            d->routing_key = bytes_dup(m->routing_key);
            delivery_free(bus->partial);
            bus->partial = d;
            break;
        }
        case AMQP_BASIC_RETURN_METHOD: {
            amqp_basic_return_t *m = frame.payload.method.decoded;
            log_warn("bus: broker returned a message to %.*s: %.*s", (int)m->routing_key.len,
                     (const char *)m->routing_key.bytes, (int)m->reply_text.len,
                     (const char *)m->reply_text.bytes);
            struct bus_delivery *d = xzalloc(sizeof(*d));
            d->is_return = true;
            delivery_free(bus->partial);
            bus->partial = d;
            break;
        }
        case AMQP_BASIC_ACK_METHOD: {
            amqp_basic_ack_t *m = frame.payload.method.decoded;
            confirm_update(bus, m->delivery_tag, m->multiple, true);
            break;
        }
        case AMQP_BASIC_NACK_METHOD: {
            amqp_basic_nack_t *m = frame.payload.method.decoded;
            confirm_update(bus, m->delivery_tag, m->multiple, false);
            break;
        }
        case AMQP_CHANNEL_CLOSE_METHOD:
        case AMQP_CONNECTION_CLOSE_METHOD: {
            amqp_rpc_reply_t r = {.reply_type = AMQP_RESPONSE_SERVER_EXCEPTION,
                                  .reply = frame.payload.method};
            rpc_error_text(r, why, sizeof(why));
            bus_drop(bus, why);
            return -1;
        }
        case AMQP_BASIC_CANCEL_METHOD:
            /* The broker cancelled a consumer (its queue was deleted):
             * reconnect, which declares the queues again. */
            bus_drop(bus, "the broker cancelled a consumer");
            return -1;
        default:
            break;
        }
        break;
    case AMQP_FRAME_HEADER: {
        struct bus_delivery *d = bus->partial;
        if (!d)
            break;
        delivery_set_properties(d, frame.payload.properties.decoded);
        d->body_size = frame.payload.properties.body_size;
        if (d->body_size > bus->opts.max_message_bytes)
            d->oversized = true;
        else
            d->body = xmalloc((size_t)d->body_size + 1);
        if (d->body_size == 0) {
            if (d->body)
                d->body[0] = '\0';
            bus->partial = NULL;
            delivery_complete(bus, d);
        }
        break;
    }
    case AMQP_FRAME_BODY: {
        struct bus_delivery *d = bus->partial;
        if (!d)
            break;
        amqp_bytes_t frag = frame.payload.body_fragment;
        if (frag.len > d->body_size - d->got) {
            bus_drop(bus, "a message body is longer than its header said");
            return -1;
        }
        if (!d->oversized)
            memcpy(d->body + d->got, frag.bytes, frag.len);
        d->got += frag.len;
        if (d->got == d->body_size) {
            if (d->body)
                d->body[d->got] = '\0';
            bus->partial = NULL;
            delivery_complete(bus, d);
        }
        break;
    }
    default:
        break;
    }
    if (!bus->partial)
        amqp_maybe_release_buffers(bus->conn);
    return 1;
}

/* ---- opening and closing ---- */

static void
options_default(struct bus_options *o)
{
    *o = (struct bus_options){.max_message_bytes = 1 << 20,
                              .reconnect_min_ms = 100,
                              .reconnect_max_ms = 5000,
                              .publish_timeout_ms = 10000,
                              .heartbeat_s = 0,
                              .prefetch = 16,
                              .max_attempts = 5};
}

struct bus *
bus_open(const char *url, const struct bus_options *opts, struct err *err)
{
    struct bus *bus = xzalloc(sizeof(*bus));
    options_default(&bus->opts);
    if (opts) {
        if (opts->max_message_bytes)
            bus->opts.max_message_bytes = opts->max_message_bytes;
        if (opts->reconnect_min_ms > 0)
            bus->opts.reconnect_min_ms = opts->reconnect_min_ms;
        if (opts->reconnect_max_ms > 0)
            bus->opts.reconnect_max_ms = opts->reconnect_max_ms;
        if (opts->publish_timeout_ms > 0)
            bus->opts.publish_timeout_ms = opts->publish_timeout_ms;
        if (opts->heartbeat_s > 0 && opts->heartbeat_s <= 65535)
            bus->opts.heartbeat_s = opts->heartbeat_s;
        if (opts->prefetch > 0 && opts->prefetch <= 65535)
            bus->opts.prefetch = opts->prefetch;
        if (opts->max_attempts > 0)
            bus->opts.max_attempts = opts->max_attempts;
    }

    char *copy = xstrdup(url ? url : "");
    struct amqp_connection_info info;
    amqp_default_connection_info(&info);
    if (amqp_parse_url(copy, &info) != AMQP_STATUS_OK || info.ssl) {
        free(copy);
        free(bus);
        return err_set(err, ERR_INVALID,
                       "invalid bus URL (expected amqp://user:pass@host:port/vhost)"),
               NULL;
    }
    bus->host = xstrdup(info.host);
    bus->user = xstrdup(info.user);
    bus->password = xstrdup(info.password);
    bus->vhost = xstrdup(info.vhost && *info.vhost ? info.vhost : "/");
    bus->port = info.port;
    bus->url_redacted = xasprintf("amqp://%s@%s:%d/%s", bus->user, bus->host, bus->port,
                                  strcmp(bus->vhost, "/") == 0 ? "" : bus->vhost);
    free(copy);

    if (bus_ensure(bus, now_ms(), err) < 0) {
        bus_close(bus);
        return NULL;
    }
    return bus;
}

struct bus *
bus_open_config(const struct config *cfg, struct err *err)
{
    struct bus_options o;
    options_default(&o);
    long v;
    const char *url = config_get(cfg, "bus", "url", NULL);
    if (!url || !*url)
        return err_set(err, ERR_INVALID,
                       "[bus] url is not set: set it to the cloud's RabbitMQ "
                       "(amqp://user:pass@host:port/vhost)"),
               NULL;
    if (config_get_long(cfg, "bus", "max_message_bytes", (long)o.max_message_bytes, &v, err) < 0)
        return NULL;
    o.max_message_bytes = v > 0 ? (size_t)v : o.max_message_bytes;
#define BUS_CONFIG_INT(name)                                                                       \
    do {                                                                                           \
        if (config_get_long(cfg, "bus", #name, o.name, &v, err) < 0)                               \
            return NULL;                                                                           \
        if (v < 0 || v > 86400000)                                                                 \
            return err_set(err, ERR_INVALID, "bus." #name " is out of range: %ld", v), NULL;       \
        o.name = (int)v;                                                                           \
    } while (0)
    BUS_CONFIG_INT(reconnect_max_ms);
    BUS_CONFIG_INT(publish_timeout_ms);
    BUS_CONFIG_INT(heartbeat_s);
    BUS_CONFIG_INT(prefetch);
    BUS_CONFIG_INT(max_attempts);
#undef BUS_CONFIG_INT
    return bus_open(url, &o, err);
}

void
bus_close(struct bus *bus)
{
    if (!bus)
        return;
    if (bus->connected) {
        amqp_channel_close(bus->conn, BUS_CHANNEL, AMQP_REPLY_SUCCESS);
        amqp_connection_close(bus->conn, AMQP_REPLY_SUCCESS);
    }
    bus->connected = false; /* no "connection lost" warning */
    bus_drop(bus, "closed");
    for (struct bus_consumer *c = bus->consumers, *next; c; c = next) {
        next = c->next;
        free(c->topic);
        free(c);
    }
    free(bus->url_redacted);
    free(bus->host);
    free(bus->user);
    free(bus->password);
    free(bus->vhost);
    free(bus);
}

static pthread_key_t bus_thread_key;
static pthread_once_t bus_thread_once = PTHREAD_ONCE_INIT;

static void
bus_thread_destroy(void *bus)
{
    bus_close(bus);
}

static void
bus_thread_init(void)
{
    if (pthread_key_create(&bus_thread_key, bus_thread_destroy) != 0)
        abort();
}

struct bus *
bus_thread_get(const char *url, const struct bus_options *opts, struct err *err)
{
    pthread_once(&bus_thread_once, bus_thread_init);
    struct bus *bus = pthread_getspecific(bus_thread_key);
    if (bus)
        return bus;
    bus = bus_open(url, opts, err);
    if (bus && pthread_setspecific(bus_thread_key, bus) != 0)
        abort();
    return bus;
}

/* ---- validation ---- */

static bool
token_valid(const char *s, size_t max)
{
    size_t n = 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (n >= max || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
            return false;
    }
    return n > 0;
}

bool
bus_topic_valid(const char *topic)
{
    return topic && token_valid(topic, BUS_TOPIC_MAX) && strcmp(topic, BUS_DEAD_QUEUE) != 0 &&
           strncmp(topic, "amq.", 4) != 0;
}

int
bus_topic_compute(const char *host, char *out, size_t size, struct err *err)
{
    int n = snprintf(out, size, "%s%s", BUS_TOPIC_COMPUTE_PREFIX, host ? host : "");
    if (!host || !*host || n < 0 || (size_t)n >= size || !bus_topic_valid(out))
        return err_set(err, ERR_INVALID, "host name \"%.64s\" makes no valid bus topic",
                       host ? host : "");
    return 0;
}

json_t *
bus_envelope_parse(const char *body, size_t len, size_t max_len, struct err *err)
{
    if (len > max_len)
        return err_set(err, ERR_TOO_LARGE, "message of %zu bytes exceeds %zu", len, max_len), NULL;
    json_t *env = json_parse_buf(body, len, err);
    if (!env)
        return NULL;
    json_int_t v;
    const char *method = json_get_str(env, "method");
    json_t *rid = json_object_get(env, "request_id");
    if (!json_is_object(env))
        err_set(err, ERR_INVALID, "envelope is not an object");
    else if (!json_get_int(env, "v", &v) || v != 1)
        err_set(err, ERR_INVALID, "envelope \"v\" is not 1");
    else if (!method || !token_valid(method, BUS_METHOD_MAX))
        err_set(err, ERR_INVALID, "envelope \"method\" is missing or invalid");
    else if (!json_is_object(json_object_get(env, "args")))
        err_set(err, ERR_INVALID, "envelope \"args\" is not an object");
    else if (rid && !json_is_null(rid) &&
             (!json_is_string(rid) || !token_valid(json_string_value(rid), BUS_REQUEST_ID_MAX)))
        err_set(err, ERR_INVALID, "envelope \"request_id\" is invalid");
    else
        return env;
    json_decref(env);
    return NULL;
}

/* ---- publishing ---- */

struct bus_publish {
    const char *exchange, *routing_key;
    const char *message_id, *correlation_id, *reply_to, *expiration;
    bool persistent, mandatory;
    int attempt; /* > 1: carried in the x-nube-attempt header */
    const char *body;
    size_t len;
};

static int
bus_publish_raw(struct bus *bus, const struct bus_publish *p)
{
    amqp_basic_properties_t props = {0};
    amqp_table_entry_t header;
    props._flags =
        AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_TIMESTAMP_FLAG;
    props.content_type = amqp_cstring_bytes("application/json");
    props.delivery_mode = p->persistent ? AMQP_DELIVERY_PERSISTENT : AMQP_DELIVERY_NONPERSISTENT;
    props.timestamp = (uint64_t)time(NULL);
#define BUS_PROP(field, flag)                                                                      \
    if (p->field) {                                                                                \
        props._flags |= flag;                                                                      \
        props.field = amqp_cstring_bytes(p->field);                                                \
    }
    BUS_PROP(message_id, AMQP_BASIC_MESSAGE_ID_FLAG)
    BUS_PROP(correlation_id, AMQP_BASIC_CORRELATION_ID_FLAG)
    BUS_PROP(reply_to, AMQP_BASIC_REPLY_TO_FLAG)
    BUS_PROP(expiration, AMQP_BASIC_EXPIRATION_FLAG)
#undef BUS_PROP
    if (p->attempt > 1) {
        header =
            (amqp_table_entry_t){.key = amqp_cstring_bytes(BUS_ATTEMPT_HEADER),
                                 .value = {.kind = AMQP_FIELD_KIND_I32, .value.i32 = p->attempt}};
        props._flags |= AMQP_BASIC_HEADERS_FLAG;
        props.headers = (amqp_table_t){.num_entries = 1, .entries = &header};
    }
    int status = amqp_basic_publish(bus->conn, BUS_CHANNEL, amqp_cstring_bytes(p->exchange),
                                    amqp_cstring_bytes(p->routing_key), p->mandatory, 0, &props,
                                    (amqp_bytes_t){.len = p->len, .bytes = (void *)p->body});
    bus->next_seq++;
    if (status != AMQP_STATUS_OK) {
        bus_drop(bus, amqp_error_string2(status));
        return -1;
    }
    return 0;
}

/* Publish and wait for the broker's confirm, reconnecting and publishing again
 * until @deadline. @topic (when not NULL) is declared first. */
static int
bus_publish_confirmed(struct bus *bus, const char *topic, const struct bus_publish *p,
                      int64_t deadline, struct err *err)
{
    for (;;) {
        if (bus_ensure(bus, deadline, err) < 0)
            return -1;
        struct err e = ERR_INIT;
        if (topic && bus_declare_topic(bus, topic, &e) < 0) {
            bus_drop(bus, e.msg); /* and retry until the deadline */
            continue;
        }
        bus->await_seq = bus->next_seq;
        bus->await_state = CONFIRM_PENDING;
        bus->await_returned = false;
        if (bus_publish_raw(bus, p) < 0)
            continue;
        int r = 1;
        while (bus->await_state == CONFIRM_PENDING && r > 0)
            r = bus_pump(bus, deadline);
        enum bus_confirm state = bus->await_state;
        bus->await_state = CONFIRM_NONE;
        if (state == CONFIRM_ACKED && !bus->await_returned) {
            err_clear(err);
            return 0;
        }
        if (state == CONFIRM_ACKED)
            return err_set(err, ERR_UNAVAILABLE, "no queue is bound for %s", p->routing_key);
        if (state == CONFIRM_NACKED)
            return err_set(err, ERR_UNAVAILABLE, "the broker refused the message to %s",
                           p->routing_key);
        if (r == 0)
            return err_set(err, ERR_UNAVAILABLE,
                           "no confirm from the message broker for %s in time", p->routing_key);
        /* r < 0: the connection failed before the confirm: publish again. */
    }
}

static char *
envelope_build(const char *method, json_t *args)
{
    const char *rid = log_get_request_id();
    json_t *env =
        json_pack("{s:i, s:s, s:o, s:s?}", "v", 1, "method", method, "args",
                  args ? json_incref(args) : json_object(), "request_id", rid && *rid ? rid : NULL);
    char *s = json_dump_compact(env);
    json_decref(env);
    return s;
}

static int
check_send(const char *topic, const char *method, json_t *args, struct err *err)
{
    if (!bus_topic_valid(topic))
        return err_set(err, ERR_INVALID, "invalid bus topic \"%.64s\"", topic ? topic : "");
    if (!method || !token_valid(method, BUS_METHOD_MAX))
        return err_set(err, ERR_INVALID, "invalid bus method \"%.64s\"", method ? method : "");
    if (args && !json_is_object(args))
        return err_set(err, ERR_INVALID, "bus arguments of %s must be an object", method);
    return 0;
}

int
bus_cast(struct bus *bus, const char *topic, const char *method, json_t *args, struct err *err)
{
    if (check_send(topic, method, args, err) < 0)
        return -1;
    char id[ID_UUID_LEN + 1];
    id_uuid(id);
    char *body = envelope_build(method, args);
    struct bus_publish p = {.exchange = BUS_EXCHANGE,
                            .routing_key = topic,
                            .message_id = id,
                            .persistent = true,
                            .mandatory = true,
                            .body = body,
                            .len = strlen(body)};
    int rc = 0;
    if (strlen(body) > bus->opts.max_message_bytes)
        rc = err_set(err, ERR_TOO_LARGE, "message of %zu bytes exceeds %zu", strlen(body),
                     bus->opts.max_message_bytes);
    else
        rc = bus_publish_confirmed(bus, topic, &p, now_ms() + bus->opts.publish_timeout_ms, err);
    if (rc < 0)
        err_prefix(err, "cast %s.%s", topic, method);
    else
        log_debug("bus: cast %s.%s (message %s)", topic, method, id);
    free(body);
    return rc;
}

/* ---- calls and replies ---- */

static int
bus_reply_queue(struct bus *bus, struct err *err)
{
    if (bus->reply_queue)
        return 0;
    amqp_queue_declare_ok_t *ok =
        amqp_queue_declare(bus->conn, BUS_CHANNEL, amqp_empty_bytes, 0, 0, 1, 1, amqp_empty_table);
    if (rpc_check(bus, "declaring the reply queue", err) < 0)
        return -1;
    char *name = bytes_dup(ok->queue);
    amqp_basic_consume_ok_t *cok =
        amqp_basic_consume(bus->conn, BUS_CHANNEL, amqp_cstring_bytes(name), amqp_empty_bytes, 0, 1,
                           1, amqp_empty_table);
    if (rpc_check(bus, "consuming the reply queue", err) < 0) {
        free(name);
        return -1;
    }
    bus->reply_tag = bytes_dup(cok->consumer_tag);
    bus->reply_queue = name;
    return 0;
}

static int
reply_decode(struct bus_delivery *d, const char *topic, const char *method, json_t **reply,
             struct err *err)
{
    struct err perr = ERR_INIT;
    json_t *env = json_parse_buf(d->body, d->body_size, &perr);
    json_int_t v;
    json_t *result = json_object_get(env, "result");
    json_t *error = json_object_get(env, "error");
    int rc = -1;
    if (!env || !json_get_int(env, "v", &v) || v != 1) {
        err_set(err, ERR_INTERNAL, "call %s.%s: malformed reply", topic, method);
    } else if (json_is_object(error)) {
        const char *code = json_get_str(error, "code");
        const char *msg = json_get_str(error, "message");
        enum err_code ec = ERR_INTERNAL;
        for (int c = 1; code && c < ERR__LAST; c++)
            if (strcmp(err_code_name((enum err_code)c), code) == 0)
                ec = (enum err_code)c;
        err_set(err, ec, "%s", msg ? msg : "remote error");
    } else if (json_is_object(result)) {
        *reply = json_incref(result);
        rc = 0;
    } else {
        err_set(err, ERR_INTERNAL, "call %s.%s: reply has neither result nor error", topic, method);
    }
    json_decref(env);
    return rc;
}

int
bus_call(struct bus *bus, const char *topic, const char *method, json_t *args, int timeout_ms,
         json_t **reply, struct err *err)
{
    *reply = NULL;
    if (check_send(topic, method, args, err) < 0)
        return -1;
    if (timeout_ms <= 0)
        return err_set(err, ERR_INVALID, "call %s.%s: timeout must be positive", topic, method);
    int64_t deadline = now_ms() + timeout_ms;
    char id[ID_UUID_LEN + 1], expiration[24];
    id_uuid(id);
    snprintf(expiration, sizeof(expiration), "%d", timeout_ms);
    char *body = envelope_build(method, args);
    int rc = -1;
    if (strlen(body) > bus->opts.max_message_bytes) {
        err_set(err, ERR_TOO_LARGE, "call %s.%s: message of %zu bytes exceeds %zu", topic, method,
                strlen(body), bus->opts.max_message_bytes);
        goto cleanup;
    }
    for (;;) {
        if (bus_ensure(bus, deadline, err) < 0)
            goto fail;
        struct err e = ERR_INIT;
        if (bus_reply_queue(bus, &e) < 0) {
            bus_drop(bus, e.msg);
            continue;
        }
        struct bus_publish p = {.exchange = BUS_EXCHANGE,
                                .routing_key = topic,
                                .message_id = id,
                                .correlation_id = id,
                                .reply_to = bus->reply_queue,
                                .expiration = expiration,
                                .persistent = true,
                                .mandatory = true,
                                .body = body,
                                .len = strlen(body)};
        uint64_t gen = bus->generation;
        bus->await_corr = id; /* the reply may overtake the confirm */
        if (bus_publish_confirmed(bus, topic, &p, deadline, err) < 0)
            goto fail;
        if (bus->generation == gen)
            break;
        /* Reconnected while publishing: the reply queue changed; send again. */
    }
    int r = 1;
    while (!bus->reply && r > 0)
        r = bus_pump(bus, deadline);
    bus->await_corr = NULL;
    if (bus->reply) {
        struct bus_delivery *d = bus->reply;
        bus->reply = NULL;
        rc = reply_decode(d, topic, method, reply, err);
        delivery_free(d);
    } else if (r == 0) {
        err_set(err, ERR_TIMEOUT,
                "call %s.%s timed out after %d ms: no reply (is a consumer of \"%s\" running?)",
                topic, method, timeout_ms, topic);
    } else {
        err_set(err, ERR_UNAVAILABLE,
                "call %s.%s: connection to the message broker lost while awaiting the reply: %s",
                topic, method, bus->last_error);
    }
    goto cleanup;
fail:
    err_prefix(err, "call %s.%s", topic, method);
cleanup:
    bus->await_corr = NULL;
    delivery_free(bus->reply);
    bus->reply = NULL;
    free(body);
    return rc;
}

static int
bus_reply_send(struct bus *bus, const struct bus_msg *msg, json_t *env, struct err *err)
{
    if (!msg->reply_to || !msg->correlation_id)
        return err_set(err, ERR_INVALID, "%s.%s was a cast, not a call: nothing to reply to",
                       msg->queue, msg->method);
    char *body = json_dump_compact(env);
    struct bus_publish p = {.exchange = "",
                            .routing_key = msg->reply_to,
                            .correlation_id = msg->correlation_id,
                            .body = body,
                            .len = strlen(body)};
    int rc = bus_ensure(bus, now_ms() + bus->opts.publish_timeout_ms, err);
    if (rc == 0 && bus_publish_raw(bus, &p) < 0)
        rc = err_set(err, ERR_UNAVAILABLE, "%s", bus->last_error);
    if (rc < 0)
        err_prefix(err, "replying to %s.%s", msg->queue, msg->method);
    free(body);
    return rc;
}

int
bus_reply(struct bus *bus, const struct bus_msg *msg, json_t *result, struct err *err)
{
    json_t *env =
        json_pack("{s:i, s:o}", "v", 1, "result", result ? json_incref(result) : json_object());
    int rc = bus_reply_send(bus, msg, env, err);
    json_decref(env);
    return rc;
}

int
bus_reply_error(struct bus *bus, const struct bus_msg *msg, const struct err *e, struct err *err)
{
    json_t *env = json_pack("{s:i, s:{s:s, s:s}}", "v", 1, "error", "code", err_code_name(e->code),
                            "message", e->msg);
    int rc = bus_reply_send(bus, msg, env, err);
    json_decref(env);
    return rc;
}

/* ---- consuming ---- */

int
bus_consume(struct bus *bus, const char *topic, bus_handler_fn fn, void *opaque, struct err *err)
{
    if (!bus_topic_valid(topic))
        return err_set(err, ERR_INVALID, "invalid bus topic \"%.64s\"", topic ? topic : "");
    for (struct bus_consumer *c = bus->consumers; c; c = c->next)
        if (strcmp(c->topic, topic) == 0)
            return err_set(err, ERR_CONFLICT, "already consuming %s", topic);
    struct bus_consumer *c = xzalloc(sizeof(*c));
    c->topic = xstrdup(topic);
    c->fn = fn;
    c->opaque = opaque;
    c->next = bus->consumers;
    bus->consumers = c;
    struct err e = ERR_INIT;
    if (bus->connected && bus_start_consumer(bus, c, &e) < 0) {
        bus_drop(bus, e.msg);
        bus->consumers = c->next;
        free(c->topic);
        free(c);
        return err_set(err, e.code, "consuming %s: %s", topic, e.msg);
    }
    return 0;
}

void
bus_stop(struct bus *bus)
{
    bus->stop = true;
}

static void
bus_settle(struct bus *bus, uint64_t generation, uint64_t tag, bool ack)
{
    if (!bus->connected || bus->generation != generation)
        return; /* the delivery died with its connection: the broker redelivers it */
    int status = ack ? amqp_basic_ack(bus->conn, BUS_CHANNEL, tag, 0)
                     : amqp_basic_reject(bus->conn, BUS_CHANNEL, tag, 0);
    if (status != AMQP_STATUS_OK)
        bus_drop(bus, amqp_error_string2(status));
}

static void
bus_dispatch(struct bus *bus, struct bus_delivery *d)
{
    uint64_t gen = bus->generation;
    const char *mid = d->message_id ? d->message_id : "(no id)";
    struct bus_consumer *c = bus->consumers;
    while (c && strcmp(c->topic, d->consumer_tag) != 0)
        c = c->next;
    if (!c) {
        log_warn("bus: delivery for unknown consumer %s dead-lettered", d->consumer_tag);
        bus_settle(bus, gen, d->tag, false);
        return;
    }
    struct err e = ERR_INIT;
    json_t *env = NULL;
    if (d->oversized)
        err_set(&e, ERR_TOO_LARGE, "message of %" PRIu64 " bytes exceeds %zu", d->body_size,
                bus->opts.max_message_bytes);
    else
        env = bus_envelope_parse(d->body, d->body_size, bus->opts.max_message_bytes, &e);
    if (!env) {
        log_warn("bus: malformed message %s on %s dead-lettered: %s", mid, c->topic, e.msg);
        if (d->reply_to && d->correlation_id) {
            /* A malformed call: tell the caller now rather than let it time out. */
            struct bus_msg bad = {.queue = c->topic,
                                  .method = "(malformed)",
                                  .reply_to = d->reply_to,
                                  .correlation_id = d->correlation_id};
            struct err re = ERR_INIT;
            err_prefix(&e, "malformed request on %s", c->topic);
            bus_reply_error(bus, &bad, &e, &re);
        }
        bus_settle(bus, gen, d->tag, false);
        return;
    }

    struct bus_msg msg = {.queue = c->topic,
                          .method = json_get_str(env, "method"),
                          .args = json_object_get(env, "args"),
                          .request_id = json_get_str(env, "request_id"),
                          .message_id = mid,
                          .reply_to = d->reply_to,
                          .correlation_id = d->correlation_id,
                          .redelivered = d->redelivered,
                          .attempt = d->attempt};
    char saved_rid[BUS_REQUEST_ID_MAX + 1];
    const char *old = log_get_request_id();
    snprintf(saved_rid, sizeof(saved_rid), "%s", old ? old : "");
    log_set_request_id(msg.request_id);
    enum bus_verdict verdict = c->fn(bus, &msg, c->opaque);

    if (verdict == BUS_REQUEUE && d->attempt >= bus->opts.max_attempts) {
        log_warn("bus: %s.%s (message %s) failed %d times: dead-lettered", c->topic, msg.method,
                 mid, d->attempt);
        verdict = BUS_REJECT;
    }
    if (verdict == BUS_REQUEUE && bus->connected && bus->generation == gen) {
        /* Publish a copy with attempt + 1 (confirmed), then ack the original:
         * unlike basic.reject(requeue), this bounds redeliveries. */
        struct bus_publish p = {.exchange = d->exchange,
                                .routing_key = d->routing_key,
                                .message_id = d->message_id,
                                .correlation_id = d->correlation_id,
                                .reply_to = d->reply_to,
                                .expiration = d->expiration,
                                .persistent = true,
                                .attempt = d->attempt + 1,
                                .body = d->body,
                                .len = d->body_size};
        struct err perr = ERR_INIT;
        if (bus_publish_confirmed(bus, NULL, &p, now_ms() + bus->opts.publish_timeout_ms, &perr) ==
            0)
            bus_settle(bus, gen, d->tag, true);
        else
            log_warn("bus: requeueing message %s: %s", mid, perr.msg); /* redelivered anyway */
    } else if (verdict == BUS_REJECT) {
        bus_settle(bus, gen, d->tag, false);
    } else if (verdict == BUS_ACK) {
        bus_settle(bus, gen, d->tag, true);
    }
    log_set_request_id(saved_rid[0] ? saved_rid : NULL);
    json_decref(env);
}

int
bus_run(struct bus *bus, int timeout_ms, struct err *err)
{
    if (!bus->consumers)
        return err_set(err, ERR_INVALID, "bus_run without a consumer");
    int64_t deadline = timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
    bus->stop = false;
    while (!bus->stop) {
        int64_t now = now_ms();
        if (deadline >= 0 && now >= deadline)
            break;
        if (!bus->connected) {
            if (bus_ensure(bus, deadline, NULL) < 0)
                continue;
        }
        if (bus->pending) {
            struct bus_delivery *d = bus->pending;
            bus->pending = d->next;
            if (!bus->pending)
                bus->pending_tail = NULL;
            d->next = NULL;
            bus_dispatch(bus, d);
            delivery_free(d);
            continue;
        }
        int64_t until = now + 1000;
        if (deadline >= 0 && until > deadline)
            until = deadline;
        bus_pump(bus, until);
    }
    return 0;
}
