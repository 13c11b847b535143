/* Monitor processes, common to every backend: spawning with a waiter that
 * records the exit status (so a restarted cloud-hvd still learns why a guest
 * stopped), killing, /proc accounting, and a JSON-lines client for control
 * sockets (QMP and cloud-vmm both speak one JSON object per line). */
#ifndef NUBE_HVD_MONITOR_H
#define NUBE_HVD_MONITOR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "backend.h"

/* Fork a waiter in its own session which forks and execs @argv with stdout
 * and stderr to vm->log_path and no other descriptors, waits for it and
 * writes its wait status to <run_dir>/exit-status. Fills vm->pid, vm->waiter. */
int monitor_spawn(struct hvd_vm *vm, char *const *argv, struct rpc_error *e);
/* The monitor's wait status as the waiter recorded it; -1 when unknown. */
int monitor_exit_status(const struct hvd_vm *vm, int *wstatus);
/* SIGTERM, then SIGKILL after @grace_ms; returns once the monitor and its
 * waiter are gone (or after a hard limit). */
int monitor_kill(struct hvd_vm *vm, unsigned grace_ms);
/* Wait up to @timeout_ms for @pid to exit; true if it did. */
bool monitor_wait_exit(pid_t pid, unsigned timeout_ms);
/* Field 22 of /proc/<pid>/stat (start time), 0 when the process is gone. */
uint64_t monitor_starttime(pid_t pid);
/* utime + stime of @pid in nanoseconds. */
uint64_t monitor_cpu_time_ns(pid_t pid);
struct monitor_vcpu {
    bool found;
    uint64_t cpu_time_ns;
    int cpu; /* the host CPU it last ran on */
};

/* The monitor's vCPU threads, by name: QEMU's "CPU N/TCG" or "CPU N/KVM",
 * cloud-vmm's "vcpuN". Fills out[0..n); returns how many were found. */
size_t monitor_vcpus(pid_t pid, struct monitor_vcpu *out, size_t n);
/* Resident set size of @pid in KiB (VmRSS), 0 when unknown. */
uint64_t monitor_rss_kib(pid_t pid);
/* The last @max bytes of a log file, one line, for error messages. */
char *monitor_log_tail(const char *path, size_t max);
void monitor_argv_free(char **argv);

struct monitor_conn {
    int fd;
    size_t len;
    char buf[65536];
};

/* Connect to a unix socket, retrying until @timeout_ms passes. */
int monitor_connect(struct monitor_conn *c, const char *path, unsigned timeout_ms,
                    struct rpc_error *e);
int monitor_send(struct monitor_conn *c, json_t *msg, struct rpc_error *e);
/* The same, passing @fd along (SCM_RIGHTS), as QMP's getfd expects. */
int monitor_send_fd(struct monitor_conn *c, json_t *msg, int fd, struct rpc_error *e);
/* The next line, parsed; NULL on timeout, EOF or a malformed line. */
json_t *monitor_recv(struct monitor_conn *c, unsigned timeout_ms, struct rpc_error *e);
void monitor_close(struct monitor_conn *c);

#endif
