/* The daemon's event loop: one unix socket, many clients, one poll(2) over
 * the listening socket, the clients and the monitors' exit descriptors.
 * Each client sends length-prefixed frames; a complete CALL goes through
 * proc_dispatch() and its reply is queued. Lifecycle events go to the
 * clients that registered a callback for them, as MESSAGE frames. */
#ifndef NUBE_HVD_SERVER_H
#define NUBE_HVD_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain.h"
#include "hvd.h"
#include "xdr.h"

#define SERVER_MAX_CLIENTS 256
#define SERVER_MAX_CALLBACKS 64
/* A client that does not read its replies or events is dropped past this. */
#define SERVER_MAX_QUEUED (32u * 1024 * 1024)

struct hvd_event_cb {
    int32_t id;
    int32_t event_id; /* VIR_DOMAIN_EVENT_ID_* */
    bool has_dom;
    uint8_t uuid[RPC_UUID_LEN];
};

struct hvd_client {
    int fd;
    bool open;     /* REMOTE_PROC_CONNECT_OPEN succeeded */
    bool readonly; /* opened with VIR_CONNECT_RO */
    bool closing;  /* drop once the output is flushed */
    uint8_t *rbuf;
    size_t rlen;  /* bytes in rbuf */
    size_t rneed; /* frame length once known, else 0 */
    struct xdr_enc wbuf;
    size_t woff;
    struct hvd_event_cb cbs[SERVER_MAX_CALLBACKS];
    size_t ncbs;
    struct hvd_client *next;
};

struct hvd_server {
    const struct hvd_config *cfg;
    int listen_fd;
    struct hvd_client *clients;
    size_t nclients;
    struct hvd_registry reg;
    int32_t next_cb_id;
    volatile int stop;
};

int server_init(struct hvd_server *srv, const struct hvd_config *cfg, struct err *err);
/* Run until server_stop() or a signal sets srv->stop. */
int server_run(struct hvd_server *srv);
void server_fini(struct hvd_server *srv);

/* Queue bytes for a client. */
void server_client_send(struct hvd_server *srv, struct hvd_client *c, const uint8_t *data,
                        size_t len);

#endif
