/* tests/compute: start http_image.py (an image server on 127.0.0.1 that
 * wants X-Auth-Token: secret-token) serving @dir. Returns its pid and sets
 * *port, or returns -1. Stop it with image_server_stop. */
#ifndef NUBE_TESTS_COMPUTE_IMAGE_SERVER_H
#define NUBE_TESTS_COMPUTE_IMAGE_SERVER_H

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

static pid_t
image_server_start(const char *script, const char *dir, int *port)
{
    int pfd[2];
    if (access("/usr/bin/python3", X_OK) < 0 || pipe(pfd) < 0)
        return -1;
    pid_t srv = fork();
    if (srv == 0) {
        dup2(pfd[1], 1);
        close(pfd[0]);
        execl("/usr/bin/python3", "python3", script, dir, (char *)NULL);
        _exit(127);
    }
    close(pfd[1]);
    char buf[16] = "";
    ssize_t n = 0;
    while (srv > 0 && n < (ssize_t)sizeof(buf) - 1 && !strchr(buf, '\n')) {
        ssize_t r = read(pfd[0], buf + n, sizeof(buf) - 1 - (size_t)n);
        if (r <= 0)
            break;
        n += r;
    }
    close(pfd[0]);
    *port = n > 0 ? atoi(buf) : 0;
    if (srv > 0 && *port <= 0) {
        kill(srv, SIGTERM);
        waitpid(srv, NULL, 0);
        return -1;
    }
    return srv;
}

static void
image_server_stop(pid_t srv)
{
    kill(srv, SIGTERM);
    waitpid(srv, NULL, 0);
}

#endif
