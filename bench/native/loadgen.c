/*
 * Open-loop HTTP/1.1 load generator for `tessera bench --scenario serve` (bench/native-load.ts
 * builds and runs it). Why C: the benchmark's client shares two cores with the server it
 * measures, and a Node client costs ~0.3 ms of CPU per request at 500 requests/s (two
 * threads woken per send, a JavaScript response parse), so its own scheduling delays were
 * part of every p99 it reported, the floor's included. This one sleeps on an absolute
 * timerfd, sends pre-built bytes on keep-alive connections and frames replies by
 * Content-Length, like wrk2: latency counts from the SCHEDULED send time (no coordinated
 * omission), and a late send still shows as issue lag.
 *
 * usage: loadgen HOST PORT RATE SECONDS REQUEST_FILE OUT_FILE
 *   REQUEST_FILE: repeated (u32 little-endian length, request bytes); sends cycle through them
 *   OUT_FILE: line 1 "issued completed dropped unfinished seconds cpu_seconds", then one line per
 *   answered request "latency_ms service_ms lag_ms code scheduled_ms" (scheduled_ms: the
 *   send's scheduled time from the run's start, for timelines; code 0: HTTP 200 without
 *   "errors" in the body; else the HTTP status, 1 for a 200 carrying GraphQL errors, 2 for
 *   a connection the server closed with the request in flight),
 *   then one line per unanswered request "latency_so_far_ms -1 lag_ms -1 scheduled_ms".
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 128
#define DRAIN_NS 3000000000LL
#define BUF_CAP (4 << 20)

typedef struct {
  int fd;
  int busy;
  long long scheduled, sent;
  char *buf;
  size_t len;
} conn_t;

typedef struct { double latency, service, lag; int code; double at; } sample_t;

static long long now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void die(const char *what) { perror(what); exit(2); }

static conn_t conns[MAX_CONNS];
static int nconns = 0;
static struct sockaddr_in addr;
static int ep;

/* Connects slot c (new, or one whose connection the server closed). */
static void connect_slot(conn_t *c, uint32_t id) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) die("socket");
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) die("connect");
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  c->fd = fd; c->busy = 0; c->len = 0;
  struct epoll_event ev = { .events = EPOLLIN, .data.u32 = id };
  if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
}

static conn_t *open_conn(void) {
  if (nconns >= MAX_CONNS) return NULL;
  conn_t *c = &conns[nconns];
  c->buf = malloc(BUF_CAP);
  if (!c->buf) die("malloc");
  connect_slot(c, (uint32_t)nconns + 1);
  nconns++;
  return c;
}

static void write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) { if (errno == EINTR) continue; die("write"); }
    p += w; n -= (size_t)w;
  }
}

/* A complete reply in c->buf: its total length, or 0 if more bytes are needed. */
static size_t reply_length(conn_t *c, int *code) {
  char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
  if (!end) return 0;
  size_t head = (size_t)(end - c->buf) + 4;
  long body = -1;
  for (char *p = c->buf; p < end; p++) {
    if (p[0] == '\n' && strncasecmp(p + 1, "content-length:", 15) == 0) { body = strtol(p + 16, NULL, 10); break; }
  }
  if (body < 0) { fprintf(stderr, "loadgen: a reply without Content-Length\n"); exit(2); }
  if (c->len < head + (size_t)body) return 0;
  int status = atoi(c->buf + 9);
  *code = status != 200 ? status : (memmem(c->buf + head, (size_t)body, "\"errors\"", 8) ? 1 : 0);
  return head + (size_t)body;
}

int main(int argc, char **argv) {
  if (argc != 7) { fprintf(stderr, "usage: loadgen HOST PORT RATE SECONDS REQUEST_FILE OUT_FILE\n"); return 2; }
  double rate = atof(argv[3]), seconds = atof(argv[4]);
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)atoi(argv[2]));
  if (inet_pton(AF_INET, argv[1], &addr.sin_addr) != 1) { fprintf(stderr, "loadgen: bad host %s\n", argv[1]); return 2; }

  FILE *rf = fopen(argv[5], "rb");
  if (!rf) die("request file");
  fseek(rf, 0, SEEK_END);
  long fsize = ftell(rf);
  fseek(rf, 0, SEEK_SET);
  char *reqdata = malloc((size_t)fsize);
  if (fread(reqdata, 1, (size_t)fsize, rf) != (size_t)fsize) die("read requests");
  fclose(rf);
  size_t nreqs = 0, cap = 1024;
  char **reqp = malloc(cap * sizeof *reqp);
  uint32_t *reql = malloc(cap * sizeof *reql);
  for (long off = 0; off + 4 <= fsize;) {
    uint32_t n;
    memcpy(&n, reqdata + off, 4);
    if (nreqs == cap) { cap *= 2; reqp = realloc(reqp, cap * sizeof *reqp); reql = realloc(reql, cap * sizeof *reql); }
    reqp[nreqs] = reqdata + off + 4; reql[nreqs] = n; nreqs++;
    off += 4 + (long)n;
  }
  if (nreqs == 0) { fprintf(stderr, "loadgen: no requests\n"); return 2; }

  ep = epoll_create1(0);
  if (ep < 0) die("epoll_create1");
  int tfd = timerfd_create(CLOCK_MONOTONIC, 0);
  if (tfd < 0) die("timerfd_create");
  struct epoll_event tev = { .events = EPOLLIN, .data.u32 = 0 };
  epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &tev);
  for (int i = 0; i < 4; i++) open_conn();

  long long total = (long long)(rate * seconds + 0.5);
  long long interval = (long long)(1e9 / rate);
  sample_t *samples = malloc((size_t)total * sizeof *samples);
  long long issued = 0, completed = 0, dropped = 0, k = 0;
  long long t0 = now_ns() + 5000000LL;
  long long end = t0 + total * interval + DRAIN_NS;
  struct epoll_event events[MAX_CONNS + 1];
  int armed = 0;
  for (;;) {
    long long now = now_ns();
    while (k < total && t0 + k * interval <= now) {
      long long scheduled = t0 + k * interval;
      size_t r = (size_t)(k % (long long)nreqs);
      k++;
      conn_t *c = NULL;
      for (int i = 0; i < nconns; i++) if (!conns[i].busy) { c = &conns[i]; break; }
      if (!c) c = open_conn();
      else if (c->fd < 0) connect_slot(c, (uint32_t)(c - conns) + 1);
      if (!c) { dropped++; continue; }
      c->busy = 1; c->scheduled = scheduled; c->sent = now_ns(); c->len = 0;
      write_all(c->fd, reqp[r], reql[r]);
      issued++;
    }
    int inflight = 0;
    for (int i = 0; i < nconns; i++) inflight += conns[i].busy;
    if (k >= total && (inflight == 0 || now >= end)) break;
    if (k < total && !armed) {
      long long due = t0 + k * interval;
      struct itimerspec its = { .it_value = { .tv_sec = due / 1000000000LL, .tv_nsec = due % 1000000000LL } };
      timerfd_settime(tfd, TFD_TIMER_ABSTIME, &its, NULL);
      armed = 1;
    }
    int timeout = k < total ? -1 : (int)((end - now) / 1000000LL) + 1;
    int n = epoll_wait(ep, events, MAX_CONNS + 1, timeout);
    if (n < 0) { if (errno == EINTR) continue; die("epoll_wait"); }
    for (int e = 0; e < n; e++) {
      uint32_t id = events[e].data.u32;
      if (id == 0) {
        uint64_t expirations;
        if (read(tfd, &expirations, sizeof expirations) < 0 && errno != EAGAIN) die("timerfd read");
        armed = 0;
        continue;
      }
      conn_t *c = &conns[id - 1];
      ssize_t got = read(c->fd, c->buf + c->len, BUF_CAP - c->len);
      if (got <= 0) {
        /* The server closed it: an idle one (its keep-alive timeout) is reopened when next
           used; one with a request in flight is that request's failure. */
        epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        c->fd = -1;
        if (c->busy && completed < total) {
          long long t = now_ns();
          samples[completed] = (sample_t){ (double)(t - c->scheduled) / 1e6, (double)(t - c->sent) / 1e6, (double)(c->sent - c->scheduled) / 1e6, 2, (double)(c->scheduled - t0) / 1e6 };
          completed++;
        }
        c->busy = 0;
        continue;
      }
      c->len += (size_t)got;
      int code;
      size_t whole = reply_length(c, &code);
      if (whole == 0) {
        if (c->len == BUF_CAP) { fprintf(stderr, "loadgen: a reply over %d bytes\n", BUF_CAP); return 2; }
        continue;
      }
      long long t = now_ns();
      if (c->busy && completed < total) {
        samples[completed].latency = (double)(t - c->scheduled) / 1e6;
        samples[completed].service = (double)(t - c->sent) / 1e6;
        samples[completed].lag = (double)(c->sent - c->scheduled) / 1e6;
        samples[completed].code = code;
        samples[completed].at = (double)(c->scheduled - t0) / 1e6;
        completed++;
      }
      c->busy = 0;
      c->len = 0;
    }
  }
  long long stop = now_ns();
  FILE *out = fopen(argv[6], "w");
  if (!out) die("out file");
  long long unfinished = 0;
  for (int i = 0; i < nconns; i++) unfinished += conns[i].busy;
  double secs = (double)((stop < end ? stop : end) - t0) / 1e9;
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double cpu = (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) + (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  fprintf(out, "%lld %lld %lld %lld %.6f %.6f\n", issued, completed, dropped, unfinished, secs, cpu);
  for (long long i = 0; i < completed; i++) fprintf(out, "%.4f %.4f %.4f %d %.3f\n", samples[i].latency, samples[i].service, samples[i].lag, samples[i].code, samples[i].at);
  for (int i = 0; i < nconns; i++)
    if (conns[i].busy) fprintf(out, "%.4f -1 %.4f -1 %.3f\n", (double)(stop - conns[i].scheduled) / 1e6, (double)(conns[i].sent - conns[i].scheduled) / 1e6, (double)(conns[i].scheduled - t0) / 1e6);
  fclose(out);
  return 0;
}
