/*
 * The C floor of a CRNP delivery (issue 17): what one delivery is, with nothing around it. One thread
 * per receiver port, each doing COUNT cycles of: socket, TCP_NODELAY, connect to 127.0.0.1:PORT, write
 * the whole document, shutdown(SHUT_WR), wait for the receiver's close, close -- the delivery cycle.
 * The wait paces each thread to its receiver: without it a C sender outruns a receiver that accepts
 * one connection at a time, fills its accept queue, and then measures the kernel's 1 s SYN
 * retransmission instead of a delivery (seen: 3,695 cycles/s at concurrency 1 against 14,850 for the
 * in-process .NET sender). Compiled with gcc when the benchmark starts (E2eBenchmark.CFloor).
 *
 * usage: crnp-floor DOCUMENT_FILE COUNT PORT...   exit 0 when every cycle completed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct job {
    int port;
    long count;
    const char *doc;
    size_t len;
    int failed;
};

static void *run(void *arg)
{
    struct job *job = arg;
    struct sockaddr_in to;
    memset(&to, 0, sizeof to);
    to.sin_family = AF_INET;
    to.sin_port = htons((unsigned short)job->port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (long i = 0; i < job->count; i++) {
        int s = socket(AF_INET, SOCK_STREAM, 0);
        int one = 1;
        if (s < 0 || setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
            connect(s, (struct sockaddr *)&to, sizeof to) != 0) {
            job->failed = errno;
            if (s >= 0) close(s);
            return NULL;
        }
        size_t sent = 0;
        while (sent < job->len) {
            ssize_t n = write(s, job->doc + sent, job->len - sent);
            if (n < 0) {
                if (errno == EINTR) continue;
                job->failed = errno;
                close(s);
                return NULL;
            }
            sent += (size_t)n;
        }
        shutdown(s, SHUT_WR);
        char sink[256];
        while (read(s, sink, sizeof sink) > 0) {
        }
        close(s);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s DOCUMENT_FILE COUNT PORT...\n", argv[0]);
        return 2;
    }
    FILE *f = fopen(argv[1], "rb");
    if (!f) { perror(argv[1]); return 2; }
    static char doc[1 << 20];
    size_t len = fread(doc, 1, sizeof doc, f);
    fclose(f);
    long count = atol(argv[2]);
    int threads = argc - 3;
    struct job *jobs = calloc((size_t)threads, sizeof *jobs);
    pthread_t *ids = calloc((size_t)threads, sizeof *ids);
    for (int t = 0; t < threads; t++) {
        jobs[t] = (struct job){ .port = atoi(argv[3 + t]), .count = count, .doc = doc, .len = len };
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setstacksize(&attr, 64 * 1024);
        if (pthread_create(&ids[t], &attr, run, &jobs[t]) != 0) { perror("pthread_create"); return 2; }
        pthread_attr_destroy(&attr);
    }
    int failed = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(ids[t], NULL);
        if (jobs[t].failed) {
            fprintf(stderr, "port %d: %s\n", jobs[t].port, strerror(jobs[t].failed));
            failed = 1;
        }
    }
    return failed;
}
