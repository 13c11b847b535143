/* The event loop: one epoll instance run by the main thread. Devices add fds
 * (taps, eventfds, the console) with vm_loop_add_fd; callbacks run here, never
 * on a vCPU thread. An eventfd wakes the loop when the VM must stop. */
#include <errno.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "mem.h"
#include "vm.h"

struct loop_entry {
    int fd;
    vm_fd_fn fn;
    void *opaque;
    bool dead;
    struct loop_entry *next;
};

struct vm_loop {
    int epfd;
    int wake_fd;
    pthread_mutex_t lock;
    struct loop_entry *entries;
    struct loop_entry *graveyard; /* deleted during a dispatch round, freed after it */
};

struct vm_loop *
vm_loop_new(struct err *err)
{
    struct vm_loop *loop = xzalloc(sizeof(*loop));
    pthread_mutex_init(&loop->lock, NULL);
    loop->wake_fd = -1;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (loop->epfd < 0) {
        err_set_errno(err, ERR_IO, errno, "epoll_create1");
        goto fail;
    }
    loop->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (loop->wake_fd < 0) {
        err_set_errno(err, ERR_IO, errno, "eventfd");
        goto fail;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->wake_fd, &ev) < 0) {
        err_set_errno(err, ERR_IO, errno, "epoll_ctl");
        goto fail;
    }
    return loop;
fail:
    vm_loop_free(loop);
    return NULL;
}

static void
free_list(struct loop_entry *e)
{
    while (e) {
        struct loop_entry *next = e->next;
        free(e);
        e = next;
    }
}

void
vm_loop_free(struct vm_loop *loop)
{
    if (!loop)
        return;
    if (loop->epfd >= 0)
        close(loop->epfd);
    if (loop->wake_fd >= 0)
        close(loop->wake_fd);
    free_list(loop->entries);
    free_list(loop->graveyard);
    pthread_mutex_destroy(&loop->lock);
    free(loop);
}

int
vm_loop_add_fd(struct vm *vm, int fd, uint32_t epoll_events, vm_fd_fn fn, void *opaque,
               struct err *err)
{
    struct vm_loop *loop = vm->loop;
    struct loop_entry *e = xzalloc(sizeof(*e));
    e->fd = fd;
    e->fn = fn;
    e->opaque = opaque;
    pthread_mutex_lock(&loop->lock);
    struct epoll_event ev = {.events = epoll_events, .data.ptr = e};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        int saved = errno;
        pthread_mutex_unlock(&loop->lock);
        free(e);
        return err_set_errno(err, ERR_IO, saved, "adding fd %d to the event loop", fd);
    }
    e->next = loop->entries;
    loop->entries = e;
    pthread_mutex_unlock(&loop->lock);
    return 0;
}

int
vm_loop_del_fd(struct vm *vm, int fd)
{
    struct vm_loop *loop = vm->loop;
    int rc = -1;
    pthread_mutex_lock(&loop->lock);
    for (struct loop_entry **pp = &loop->entries; *pp; pp = &(*pp)->next) {
        struct loop_entry *e = *pp;
        if (e->fd != fd || e->dead)
            continue;
        epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
        e->dead = true;
        *pp = e->next;
        e->next = loop->graveyard;
        loop->graveyard = e;
        rc = 0;
        break;
    }
    pthread_mutex_unlock(&loop->lock);
    return rc;
}

void
vm_loop_wake(struct vm_loop *loop)
{
    uint64_t one = 1;
    ssize_t r = write(loop->wake_fd, &one, sizeof(one));
    (void)r; /* a full counter already wakes the loop */
}

void
vm_loop_run(struct vm_loop *loop, bool (*stop)(void *), void *opaque)
{
    struct epoll_event evs[16];
    while (!stop(opaque)) {
        int n = epoll_wait(loop->epfd, evs, (int)(sizeof(evs) / sizeof(evs[0])), -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            log_error("epoll_wait: %m");
            return;
        }
        for (int i = 0; i < n; i++) {
            struct loop_entry *e = evs[i].data.ptr;
            if (!e) {
                uint64_t v;
                ssize_t r = read(loop->wake_fd, &v, sizeof(v));
                (void)r;
                continue;
            }
            if (!e->dead)
                e->fn(e->opaque, evs[i].events);
        }
        pthread_mutex_lock(&loop->lock);
        free_list(loop->graveyard);
        loop->graveyard = NULL;
        pthread_mutex_unlock(&loop->lock);
    }
}
