/* The least work a no-op can do: what `strata up` must do when nothing is
 * pending, and nothing else.
 *
 *   floor THREADS DIR CONNINFO
 *
 * THREADS threads open, read and SHA-256 every file of DIR (a drifted
 * migration must be caught, so every file is read), while the main thread
 * connects with libpq, takes an advisory lock and reads the whole
 * strata_history table with the same columns strata selects. No parsing,
 * no planning, no allocation per file. compare.py builds it with
 * `cc -O2 floor.c -lpq -lcrypto -lpthread` when libpq's and OpenSSL's
 * headers are there, and reports it beside the tools' no-ops. */
#include <dirent.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { MAX_FILES = 100000, NAME = 256, BATCH = 64 };

static char (*names)[NAME];
static int count, next;
static pthread_mutex_t taking = PTHREAD_MUTEX_INITIALIZER;

static void *hash_files(void *unused) {
    static __thread char buf[1 << 16];
    unsigned char digest[SHA256_DIGEST_LENGTH];
    (void)unused;
    for (;;) {
        pthread_mutex_lock(&taking);
        int from = next;
        next += BATCH;
        pthread_mutex_unlock(&taking);
        if (from >= count)
            return NULL;
        for (int i = from; i < from + BATCH && i < count; i++) {
            int fd = open(names[i], O_RDONLY | O_CLOEXEC);
            if (fd < 0) {
                perror(names[i]);
                exit(2);
            }
            ssize_t n, len = 0;
            while ((n = read(fd, buf + len, sizeof buf - len)) > 0)
                len += n;
            close(fd);
            SHA256((unsigned char *)buf, (size_t)len, digest);
        }
    }
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: floor THREADS DIR CONNINFO\n");
        return 2;
    }
    int threads = atoi(argv[1]);
    if (threads < 1 || threads > 64 || chdir(argv[2]) != 0) {
        fprintf(stderr, "floor: bad thread count or directory\n");
        return 2;
    }
    names = malloc(sizeof *names * MAX_FILES);
    DIR *dir = opendir(".");
    for (struct dirent *e; dir && (e = readdir(dir)) && count < MAX_FILES;)
        if (e->d_name[0] != '.' && strlen(e->d_name) < NAME)
            strcpy(names[count++], e->d_name);
    pthread_t workers[64];
    for (int i = 0; i < threads; i++)
        pthread_create(&workers[i], NULL, hash_files, NULL);

    PGconn *conn = PQconnectdb(argv[3]);
    if (PQstatus(conn) != CONNECTION_OK) {
        fprintf(stderr, "floor: %s", PQerrorMessage(conn));
        return 2;
    }
    PQclear(PQexec(conn, "SELECT pg_try_advisory_lock(7201)"));
    PGresult *rows = PQexec(conn,
        "SELECT source, version, name, kind, checksum, checksum_algorithm, status, batch, "
        "round(date_part('epoch', started_at) * 1000)::int8, "
        "round(date_part('epoch', finished_at) * 1000)::int8, duration_ms, applied_by, "
        "strata_version, environment, error, down_sql, out_of_order, statements_done, "
        "statements_hash FROM strata_history");
    if (PQresultStatus(rows) != PGRES_TUPLES_OK) {
        fprintf(stderr, "floor: %s", PQerrorMessage(conn));
        return 2;
    }
    for (int i = 0; i < threads; i++)
        pthread_join(workers[i], NULL);
    printf("%d files hashed, %d history rows read\n", count, PQntuples(rows));
    PQclear(rows);
    PQfinish(conn);
    return 0;
}
