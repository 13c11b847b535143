/* A fixed-size libpq connection pool shared by the API's threads. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "log.h"
#include "mem.h"

#define DB_POOL_WAIT_MS 5000

struct db_pool {
    char *conninfo;
    int size;
    PGconn **conns; /* NULL where not yet opened */
    bool *busy;
    pthread_mutex_t lock;
    pthread_cond_t freed;
};

struct db_pool *
db_pool_new(const char *conninfo, int size, struct err *err)
{
    if (size < 1 || size > 1024) {
        err_set(err, ERR_INVALID, "database pool size %d is out of range 1..1024", size);
        return NULL;
    }
    struct db_pool *pool = xzalloc(sizeof(*pool));
    pool->conninfo = xstrdup(conninfo);
    pool->size = size;
    pool->conns = xcalloc((size_t)size, sizeof(*pool->conns));
    pool->busy = xcalloc((size_t)size, sizeof(*pool->busy));
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->freed, NULL);
    return pool;
}

void
db_pool_free(struct db_pool *pool)
{
    if (!pool)
        return;
    for (int i = 0; i < pool->size; i++)
        if (pool->conns[i])
            PQfinish(pool->conns[i]);
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->freed);
    free(pool->conns);
    free(pool->busy);
    free(pool->conninfo);
    free(pool);
}

/* Server NOTICEs ("relation already exists, skipping") go to the debug log,
 * not to stderr. */
static void
db_notice(void *arg, const char *message)
{
    (void)arg;
    log_debug("database notice: %.*s", (int)strcspn(message, "\n"), message);
}

static int
db_pool_connect(struct db_pool *pool, int slot, struct err *err)
{
    PGconn *c = pool->conns[slot];
    if (c && PQstatus(c) == CONNECTION_OK)
        return 0;
    if (c) {
        log_warn("database connection %d was lost; reconnecting", slot);
        PQreset(c);
    } else {
        c = PQconnectdb(pool->conninfo);
        pool->conns[slot] = c;
    }
    if (PQstatus(c) != CONNECTION_OK) {
        /* libpq's message ends with a newline; keep our one-line convention */
        char msg[ERR_MSG_MAX];
        strlcpy_n(msg, PQerrorMessage(c), sizeof(msg));
        msg[strcspn(msg, "\n")] = '\0';
        PQfinish(c);
        pool->conns[slot] = NULL;
        return err_set(err, ERR_UNAVAILABLE, "cannot connect to the database: %s", msg);
    }
    PQsetNoticeProcessor(c, db_notice, NULL);
    return 0;
}

PGconn *
db_pool_acquire(struct db_pool *pool, struct err *err)
{
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += DB_POOL_WAIT_MS / 1000;

    pthread_mutex_lock(&pool->lock);
    int slot = -1;
    for (;;) {
        /* prefer an open connection, then an unopened slot */
        for (int i = 0; i < pool->size && slot < 0; i++)
            if (!pool->busy[i] && pool->conns[i])
                slot = i;
        for (int i = 0; i < pool->size && slot < 0; i++)
            if (!pool->busy[i])
                slot = i;
        if (slot >= 0)
            break;
        if (pthread_cond_timedwait(&pool->freed, &pool->lock, &deadline) == ETIMEDOUT) {
            pthread_mutex_unlock(&pool->lock);
            err_set(err, ERR_UNAVAILABLE, "no free database connection within %d ms",
                    DB_POOL_WAIT_MS);
            return NULL;
        }
    }
    pool->busy[slot] = true;
    pthread_mutex_unlock(&pool->lock);

    /* connect outside the lock: it can take a while */
    if (db_pool_connect(pool, slot, err) < 0) {
        pthread_mutex_lock(&pool->lock);
        pool->busy[slot] = false;
        pthread_cond_signal(&pool->freed);
        pthread_mutex_unlock(&pool->lock);
        return NULL;
    }
    return pool->conns[slot];
}

void
db_pool_release(struct db_pool *pool, PGconn *conn)
{
    if (!conn)
        return;
    if (PQtransactionStatus(conn) != PQTRANS_IDLE)
        db_rollback(conn);
    pthread_mutex_lock(&pool->lock);
    for (int i = 0; i < pool->size; i++) {
        if (pool->conns[i] == conn) {
            pool->busy[i] = false;
            break;
        }
    }
    pthread_cond_signal(&pool->freed);
    pthread_mutex_unlock(&pool->lock);
}
