/*
 * A fast webhook receiver for the benchmark: answers every POST 204 at
 * once, counts what it got, and checks nothing (the integration tests
 * verify the signatures).  It shares the two cores with Apache, the
 * database and wrk, so it must cost as little as it can: one thread, epoll,
 * keep-alive, no allocation per request.  Prints the count to stdout when
 * it gets SIGTERM.
 *
 *     receiver PORT
 */
#define _GNU_SOURCE     /* memmem, accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#define CONNECTIONS_MAX 4096
#define BUFFER_SIZE     65536

/* One connection's unanswered bytes: a request's head, then its body;
 * `skip` bytes of a body too long for the buffer are still to come (its
 * request is answered already). */
typedef struct {
    char buf[BUFFER_SIZE];
    size_t used, skip;
} conn_t;

static conn_t *conns[CONNECTIONS_MAX];
static unsigned long long received;

static const char answer[] = "HTTP/1.1 204 No Content\r\n\r\n";

/* The Content-Length of the head `head` (ending in the blank line), or 0. */
static size_t content_length(const char *head, const char *end)
{
    static const char name[] = "\r\ncontent-length:";
    const char *at;

    for (at = head; at + sizeof(name) - 1 < end; at++) {
        if (strncasecmp(at, name, sizeof(name) - 1) == 0) {
            return strtoul(at + sizeof(name) - 1, NULL, 10);
        }
    }
    return 0;
}

/* Answers every whole request in `c`; -1 when the connection is to go. */
static int answer_requests(int fd, conn_t *c)
{
    for (;;) {
        size_t gone = c->skip < c->used ? c->skip : c->used, head, whole;
        char *end;

        memmove(c->buf, c->buf + gone, c->used - gone);
        c->used -= gone;
        c->skip -= gone;
        end = memmem(c->buf, c->used, "\r\n\r\n", 4);
        if (!end) {
            return c->used == BUFFER_SIZE ? -1 : 0;
        }
        head = (size_t)(end + 4 - c->buf);
        whole = head + content_length(c->buf, end + 2);
        if (whole > c->used && whole <= BUFFER_SIZE) {
            return 0;
        }
        /* 27 bytes into an empty socket buffer: it fits. */
        if (write(fd, answer, sizeof(answer) - 1) != sizeof(answer) - 1) {
            return -1;
        }
        received++;
        c->skip = whole;
    }
}

static void drop(int ep, int fd)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
    close(fd);
    free(conns[fd]);
    conns[fd] = NULL;
}

int main(int argc, char **argv)
{
    struct sockaddr_in addr = { 0 };
    struct epoll_event ev = { 0 }, events[64];
    sigset_t term;
    int one = 1, lfd, sfd, ep, i, n;

    if (argc != 2) {
        fprintf(stderr, "usage: %s PORT\n", argv[0]);
        return 2;
    }
    addr.sin_family = AF_INET;
    addr.sin_port = htons((unsigned short)atoi(argv[1]));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&addr, sizeof(addr)) != 0
        || listen(lfd, 1024) != 0) {
        perror("receiver: listen");
        return 1;
    }
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    sigprocmask(SIG_BLOCK, &term, NULL);
    sfd = signalfd(-1, &term, SFD_NONBLOCK);
    ep = epoll_create1(0);
    ev.events = EPOLLIN;
    ev.data.fd = lfd;
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    ev.data.fd = sfd;
    epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
    for (;;) {
        n = epoll_wait(ep, events, 64, -1);
        if (n < 0 && errno != EINTR) {
            perror("receiver: epoll_wait");
            return 1;
        }
        for (i = 0; i < n; i++) {
            int fd = events[i].data.fd;

            if (fd == sfd) {
                printf("%llu\n", received);
                return 0;
            }
            if (fd == lfd) {
                int cfd;

                while ((cfd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    if (cfd >= CONNECTIONS_MAX
                        || !(conns[cfd] = calloc(1, sizeof(conn_t)))) {
                        close(cfd);
                        continue;
                    }
                    ev.data.fd = cfd;
                    epoll_ctl(ep, EPOLL_CTL_ADD, cfd, &ev);
                }
                continue;
            }
            for (;;) {
                conn_t *c = conns[fd];
                ssize_t got = read(fd, c->buf + c->used,
                                   BUFFER_SIZE - c->used);

                if (got > 0) {
                    c->used += (size_t)got;
                    if (answer_requests(fd, c) < 0) {
                        drop(ep, fd);
                        break;
                    }
                    continue;
                }
                if (got < 0 && (errno == EAGAIN || errno == EINTR)) {
                    break;
                }
                drop(ep, fd);
                break;
            }
        }
    }
}
