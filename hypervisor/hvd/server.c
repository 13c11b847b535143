/* The event loop: see server.h. */
#include "server.h"

#include <errno.h>
#include <fcntl.h>
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "mem.h"
#include "proc.h"

/* REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE in remote_protocol.x. */
#define REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE 318
/* The keepalive program (src/rpc/virkeepaliveprotocol.x). */
#define KEEPALIVE_PROC_PING 1
#define KEEPALIVE_PROC_PONG 2

static void
client_free(struct hvd_client *c)
{
    if (!c)
        return;
    if (c->fd >= 0)
        close(c->fd);
    free(c->rbuf);
    xdr_enc_free(&c->wbuf);
    free(c);
}

void
server_client_send(struct hvd_server *srv, struct hvd_client *c, const uint8_t *data, size_t len)
{
    (void)srv;
    if (c->closing)
        return;
    /* Compact what was already written before growing. */
    if (c->woff && c->woff == c->wbuf.len) {
        c->wbuf.len = 0;
        c->woff = 0;
    }
    if (c->wbuf.len - c->woff + len > SERVER_MAX_QUEUED) {
        log_warn("client %d: %zu bytes queued and not read, dropping it", c->fd,
                 c->wbuf.len - c->woff);
        c->closing = true;
        c->wbuf.len = c->woff = 0;
        shutdown(c->fd, SHUT_RDWR);
        return;
    }
    xdr_put_fixed(&c->wbuf, data, len); /* frames are 4-byte multiples: no padding */
}

static void
emit_event(void *opaque, const struct hvd_domain *d, int event, int detail)
{
    struct hvd_server *srv = opaque;
    const struct domain_def *def = hvd_domain_current(d);
    log_info("domain %s: event %d detail %d", def->name, event, detail);
    struct xdr_enc x;
    xdr_enc_init(&x);
    for (struct hvd_client *c = srv->clients; c; c = c->next) {
        for (size_t i = 0; i < c->ncbs; i++) {
            const struct hvd_event_cb *cb = &c->cbs[i];
            if (cb->event_id != VIR_DOMAIN_EVENT_ID_LIFECYCLE ||
                (cb->has_dom && memcmp(cb->uuid, def->uuid, RPC_UUID_LEN)))
                continue;
            struct rpc_header h = {
                RPC_PROG_REMOTE, RPC_VERS, REMOTE_PROC_DOMAIN_EVENT_CALLBACK_LIFECYCLE,
                RPC_MESSAGE,     0,        RPC_OK};
            rpc_frame_begin(&x, &h);
            xdr_put_i32(&x, cb->id);
            rpc_domain_ref_encode(&x, def->name, def->uuid, d->id);
            xdr_put_i32(&x, event);
            xdr_put_i32(&x, detail);
            rpc_frame_end(&x);
            server_client_send(srv, c, x.buf, x.len);
        }
    }
    xdr_enc_free(&x);
}

/* mkdir -p of the folders above @path (not @path itself). */
static int
mkdir_parents(const char *path, mode_t mode)
{
    char *p = xstrdup(path);
    int rc = 0;
    for (char *slash = strchr(p + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        if (mkdir(p, mode) < 0 && errno != EEXIST) {
            rc = -1;
            break;
        }
        *slash = '/';
    }
    free(p);
    return rc;
}

int
server_init(struct hvd_server *srv, const struct hvd_config *cfg, struct err *err)
{
    memset(srv, 0, sizeof(*srv));
    srv->cfg = cfg;
    srv->listen_fd = -1;
    srv->next_cb_id = 1;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(cfg->socket_path) >= sizeof(sa.sun_path))
        return err_set(err, ERR_INVALID, "socket path too long: %s", cfg->socket_path);
    strcpy(sa.sun_path, cfg->socket_path);

    if (mkdir_parents(cfg->state_dir, 0755) < 0)
        return err_set_errno(err, ERR_IO, errno, "creating %s", cfg->state_dir);
    if (hvd_registry_open(&srv->reg, cfg, emit_event, srv, err) < 0)
        return -1;

    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return err_set_errno(err, ERR_IO, errno, "socket");
    /* A stale socket from a previous run: refuse only if someone still answers. */
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
        close(fd);
        return err_set(err, ERR_CONFLICT, "another daemon is listening on %s", cfg->socket_path);
    }
    close(fd);
    unlink(cfg->socket_path);
    if (mkdir_parents(cfg->socket_path, 0755) < 0)
        return err_set_errno(err, ERR_IO, errno, "creating the folder of %s", cfg->socket_path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return err_set_errno(err, ERR_IO, errno, "socket");
    mode_t old = umask(0777 & ~cfg->socket_mode);
    int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (rc < 0 || listen(fd, 64) < 0) {
        int saved = errno;
        close(fd);
        return err_set_errno(err, ERR_IO, saved, "listening on %s", cfg->socket_path);
    }
    chmod(cfg->socket_path, cfg->socket_mode);
    srv->listen_fd = fd;
    log_info("listening on %s", cfg->socket_path);
    return 0;
}

static void
accept_clients(struct hvd_server *srv)
{
    for (;;) {
        int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0)
            return;
        if (srv->nclients >= SERVER_MAX_CLIENTS) {
            log_warn("too many clients (%d), refusing one", SERVER_MAX_CLIENTS);
            close(fd);
            continue;
        }
        struct hvd_client *c = xzalloc(sizeof(*c));
        c->fd = fd;
        xdr_enc_init(&c->wbuf);
        c->next = srv->clients;
        srv->clients = c;
        srv->nclients++;
        struct ucred cred;
        socklen_t len = sizeof(cred);
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0)
            log_info("client %d connected: pid %d uid %d", fd, (int)cred.pid, (int)cred.uid);
    }
}

/* One complete frame from @c. */
static void
handle_frame(struct hvd_server *srv, struct hvd_client *c, const uint8_t *frame, size_t len)
{
    struct rpc_header h;
    const uint8_t *body;
    size_t body_len;
    struct err err = ERR_INIT;
    if (rpc_header_decode(frame, len, &h, &body, &body_len, &err) < 0) {
        log_warn("client %d: %s; closing", c->fd, err.msg);
        c->closing = true;
        return;
    }
    struct xdr_enc out;
    xdr_enc_init(&out);
    if (h.prog == RPC_PROG_KEEPALIVE) {
        if (h.type == RPC_MESSAGE && h.proc == KEEPALIVE_PROC_PING) {
            struct rpc_header pong = {RPC_PROG_KEEPALIVE, RPC_VERS, KEEPALIVE_PROC_PONG,
                                      RPC_MESSAGE,        0,        RPC_OK};
            rpc_frame_begin(&out, &pong);
            rpc_frame_end(&out);
            server_client_send(srv, c, out.buf, out.len);
        }
        goto cleanup;
    }
    if (h.type != RPC_CALL && h.type != RPC_CALL_WITH_FDS) {
        /* libvirtd drops unexpected messages and streams we never opened. */
        log_debug("client %d: ignoring message type %u proc %d", c->fd, h.type, h.proc);
        goto cleanup;
    }
    if (h.prog != RPC_PROG_REMOTE || h.vers != RPC_VERS || h.status != RPC_OK ||
        h.type == RPC_CALL_WITH_FDS) {
        struct rpc_error e;
        if (h.type == RPC_CALL_WITH_FDS)
            rpc_error_set(&e, VIR_ERR_RPC, VIR_FROM_RPC,
                          "file descriptor passing is not supported");
        else if (h.status != RPC_OK)
            rpc_error_set(&e, VIR_ERR_RPC, VIR_FROM_RPC, "unexpected message status %u", h.status);
        else
            rpc_error_set(&e, VIR_ERR_RPC, VIR_FROM_RPC, "cannot find program %u version %u",
                          h.prog, h.vers);
        if (h.type == RPC_CALL_WITH_FDS)
            h.type = RPC_CALL;
        rpc_frame_error(&out, &h, &e);
    } else {
        struct proc_ctx ctx = {srv, c};
        proc_dispatch(&ctx, &h, body, body_len, &out);
    }
    server_client_send(srv, c, out.buf, out.len);
cleanup:
    xdr_enc_free(&out);
}

static void
client_read(struct hvd_server *srv, struct hvd_client *c)
{
    for (int rounds = 0; rounds < 16 && !c->closing; rounds++) {
        size_t want = c->rneed ? c->rneed : RPC_LEN_SIZE;
        if (!c->rbuf)
            c->rbuf = xmalloc(RPC_LEN_SIZE);
        ssize_t n = read(c->fd, c->rbuf + c->rlen, want - c->rlen);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            c->closing = true;
            c->wbuf.len = c->woff = 0;
            return;
        }
        c->rlen += (size_t)n;
        if (c->rlen < want)
            continue;
        if (!c->rneed) {
            long len = rpc_frame_length(c->rbuf);
            if (len < 0) {
                log_warn("client %d: bad frame length, closing", c->fd);
                c->closing = true;
                c->wbuf.len = c->woff = 0;
                return;
            }
            c->rneed = (size_t)len;
            c->rbuf = xrealloc(c->rbuf, c->rneed);
            continue;
        }
        handle_frame(srv, c, c->rbuf + RPC_LEN_SIZE, c->rlen - RPC_LEN_SIZE);
        free(c->rbuf);
        c->rbuf = NULL;
        c->rlen = 0;
        c->rneed = 0;
    }
}

static void
client_write(struct hvd_client *c)
{
    while (c->woff < c->wbuf.len) {
        ssize_t n = send(c->fd, c->wbuf.buf + c->woff, c->wbuf.len - c->woff, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            c->closing = true;
            c->wbuf.len = c->woff = 0;
            return;
        }
        c->woff += (size_t)n;
    }
    c->wbuf.len = c->woff = 0;
}

static void
reap_clients(struct hvd_server *srv)
{
    struct hvd_client **pp = &srv->clients;
    while (*pp) {
        struct hvd_client *c = *pp;
        if (c->closing && c->woff >= c->wbuf.len) {
            log_debug("client %d gone", c->fd);
            *pp = c->next;
            srv->nclients--;
            client_free(c);
        } else {
            pp = &c->next;
        }
    }
}

/* Monitors whose exit descriptor is readable. */
static void
check_monitors(struct hvd_server *srv)
{
    for (size_t i = 0; i < srv->reg.n;) {
        struct hvd_domain *d = srv->reg.doms[i];
        if (d->watch_fd >= 0) {
            struct pollfd p = {.fd = d->watch_fd, .events = POLLIN};
            if (poll(&p, 1, 0) > 0) {
                size_t before = srv->reg.n;
                hvd_domain_exited(&srv->reg, d);
                if (srv->reg.n < before)
                    continue; /* a transient domain left the array */
            }
        }
        i++;
    }
}

int
server_run(struct hvd_server *srv)
{
    struct pollfd *pfds = NULL;
    while (!srv->stop) {
        size_t n = 1 + srv->nclients + srv->reg.n, k = 0;
        pfds = xrealloc(pfds, n * sizeof(*pfds));
        pfds[k++] = (struct pollfd){.fd = srv->listen_fd, .events = POLLIN};
        for (struct hvd_client *c = srv->clients; c; c = c->next) {
            short ev = c->closing ? 0 : POLLIN;
            if (c->woff < c->wbuf.len)
                ev |= POLLOUT;
            pfds[k++] = (struct pollfd){.fd = c->fd, .events = ev};
        }
        for (size_t i = 0; i < srv->reg.n; i++) {
            if (srv->reg.doms[i]->watch_fd >= 0)
                pfds[k++] = (struct pollfd){.fd = srv->reg.doms[i]->watch_fd, .events = POLLIN};
        }
        int rc = poll(pfds, k, 1000);
        if (rc < 0 && errno != EINTR) {
            log_error("poll: %s", strerror(errno));
            break;
        }
        check_monitors(srv);
        if (rc > 0 && (pfds[0].revents & POLLIN))
            accept_clients(srv);
        /* Clients: match by fd, since the list may have grown at its head. */
        for (size_t j = 1; rc > 0 && j < k; j++) {
            if (!pfds[j].revents)
                continue;
            for (struct hvd_client *c = srv->clients; c; c = c->next) {
                if (c->fd != pfds[j].fd)
                    continue;
                if (pfds[j].revents & (POLLIN | POLLHUP | POLLERR))
                    client_read(srv, c);
                break;
            }
        }
        for (struct hvd_client *c = srv->clients; c; c = c->next) {
            if (c->woff < c->wbuf.len)
                client_write(c);
        }
        reap_clients(srv);
    }
    free(pfds);
    return 0;
}

void
server_fini(struct hvd_server *srv)
{
    while (srv->clients) {
        struct hvd_client *c = srv->clients;
        srv->clients = c->next;
        client_free(c);
    }
    if (srv->listen_fd >= 0) {
        close(srv->listen_fd);
        unlink(srv->cfg->socket_path);
    }
    hvd_registry_close(&srv->reg);
}
