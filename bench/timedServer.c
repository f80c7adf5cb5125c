/*
 * A second server with known timing, independent of bench/streamServer.ts, as the reference
 * figures came from: C, one epoll loop that spins while any stream is due, on a core of its own.
 * It answers the way vLLM behind uvicorn does, not the way the Node bench server does:
 *   - the response head goes out with the first token (at TTFT), not on arrival;
 *   - vLLM's chunk layout (`"logprobs":null`), tokens of varied text, some with JSON escapes and UTF-8;
 *   - the finish chunk, the usage chunk, `[DONE]` and the chunked terminator go in the same write as
 *     the last token, so a client meets each stream's end while other streams still send tokens.
 *
 * Each content write is stamped (CLOCK_REALTIME, the clock a client's epoch stamps use) before and
 * after; on SIGTERM the server writes one line per finished request to LOG:
 *   <id> <arrived> <before_0> <after_0> <before_1> <after_1> ...      (epoch ms)
 * in the order the requests finished. The id is the `bench-id:<id>` the prompt carries, as
 * bench/streamServer.ts reads it (a repeated id, a second round, gets a line of its own), else `anon<n>`.
 *
 *   cc -O2 -o timedServer bench/timedServer.c
 *   ./timedServer <ttft-ms> <itl-ms> <tokens> <log>      # prints its port on the first line
 *
 * `node bench/clientBench.ts fidelity-cli --server c` compiles and runs it.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_FDS 8192
#define MAX_TOKENS 4096
#define ID_LEN 64

typedef struct {
  int fd;
  int streaming;
  int len;
  double due; /* CLOCK_MONOTONIC ms of the next token */
  int sent;
  char id[ID_LEN];
  double arrived;
  double *stamps; /* before/after each content write */
  char buf[65536]; /* last: a new connection zeroes only the fields above it (see new_conn) */
} Conn;

typedef struct {
  char id[ID_LEN];
  double arrived;
  double *stamps;
} Finished;

static double ttft, itl;
static int tokens;
static Conn *conns[MAX_FDS];
static int streaming;
static Finished *finished;
static int nfinished, capfinished;
static volatile sig_atomic_t stopping;

/* Token texts: plain, a JSON escape (\n, \"), UTF-8 (é). */
static const char *WORDS[] = {" the", " model", " answer", "\\n", " caf\xc3\xa9", " is", " \\\"quoted\\\"", " of", " tokens", ",", " and", " 42"};
#define NWORDS (sizeof WORDS / sizeof WORDS[0])

static double monotonic_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static double epoch_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static void on_term(int sig) {
  (void)sig;
  stopping = 1;
}

/* Blocking-style write on a non-blocking socket: these answers are small, the client reads them. */
static void write_all(int fd, const char *p, int n) {
  while (n > 0) {
    int w = write(fd, p, n);
    if (w < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      return;
    }
    p += w;
    n -= w;
  }
}

/* Appends one HTTP/1.1 chunk holding one SSE event. */
static int put_event(char *out, const char *event) {
  return sprintf(out, "%zx\r\n%s\r\n", strlen(event), event);
}

static void send_token(Conn *c) {
  char event[1024], out[4096];
  int n = 0;
  if (c->sent == 0) {
    n += sprintf(out, "HTTP/1.1 200 OK\r\ndate: Wed, 02 Dec 2026 00:00:00 GMT\r\nserver: uvicorn\r\ncontent-type: text/event-stream; charset=utf-8\r\ntransfer-encoding: chunked\r\n\r\n");
    sprintf(event, "data: {\"id\":\"chatcmpl-%s\",\"object\":\"chat.completion.chunk\",\"created\":1764633600,\"model\":\"timed\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n", c->id);
    n += put_event(out + n, event);
  }
  sprintf(event, "data: {\"id\":\"chatcmpl-%s\",\"object\":\"chat.completion.chunk\",\"created\":1764633600,\"model\":\"timed\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"%s\"},\"logprobs\":null,\"finish_reason\":null}]}\n\n", c->id, WORDS[(c->sent * 7 + c->fd) % NWORDS]);
  n += put_event(out + n, event);
  int last = c->sent + 1 == tokens;
  if (last) {
    sprintf(event, "data: {\"id\":\"chatcmpl-%s\",\"object\":\"chat.completion.chunk\",\"created\":1764633600,\"model\":\"timed\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\"},\"logprobs\":null,\"finish_reason\":\"length\",\"stop_reason\":null}]}\n\n", c->id);
    n += put_event(out + n, event);
    sprintf(event, "data: {\"id\":\"chatcmpl-%s\",\"object\":\"chat.completion.chunk\",\"created\":1764633600,\"model\":\"timed\",\"choices\":[],\"usage\":{\"prompt_tokens\":12,\"total_tokens\":%d,\"completion_tokens\":%d}}\n\ndata: [DONE]\n\n", c->id, 12 + tokens, tokens);
    n += put_event(out + n, event);
    n += sprintf(out + n, "0\r\n\r\n");
  }
  c->stamps[2 * c->sent] = epoch_ms();
  write_all(c->fd, out, n);
  c->stamps[2 * c->sent + 1] = epoch_ms();
  c->sent++;
  if (!last) {
    c->due += itl;
    return;
  }
  if (nfinished == capfinished) {
    capfinished = capfinished ? capfinished * 2 : 4096;
    finished = realloc(finished, capfinished * sizeof(Finished));
  }
  Finished *f = &finished[nfinished++];
  memcpy(f->id, c->id, ID_LEN);
  f->arrived = c->arrived;
  f->stamps = c->stamps;
  c->stamps = NULL;
  c->streaming = 0;
  streaming--;
}

static void answer(Conn *c, const char *head, const char *body, long length) {
  if (strncmp(head, "GET", 3) == 0) {
    const char *models = "{\"object\":\"list\",\"data\":[{\"id\":\"timed\",\"object\":\"model\"}]}";
    char out[512];
    int n = sprintf(out, "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %zu\r\n\r\n%s", strlen(models), models);
    write_all(c->fd, out, n);
    return;
  }
  static long anonymous;
  const char *p = memmem(body, length, "bench-id:", 9);
  int k = 0;
  if (p) {
    for (; k < ID_LEN - 1 && p < body + length && *p != '"' && *p != '\\' && *p != ' '; p++) c->id[k++] = *p;
  }
  c->id[k] = 0;
  if (k == 0) snprintf(c->id, ID_LEN, "anon%ld", anonymous++);
  c->arrived = epoch_ms();
  c->due = monotonic_ms() + ttft;
  c->sent = 0;
  c->stamps = malloc(2 * tokens * sizeof(double));
  c->streaming = 1;
  streaming++;
}

/*
 * A connection's state, its 64 KB buffer left untouched: zeroing it (calloc) faulted in 16 pages, 150-200 us a
 * connection on this repository's VM, so a client's 100 preconnected connections were still being accepted 15 ms
 * later, and the first requests of its burst were read (and stamped as arrived) that late.
 */
static Conn *new_conn(void) {
  Conn *c = malloc(sizeof(Conn));
  memset(c, 0, offsetof(Conn, buf));
  return c;
}

/* Reads what arrived; answers every whole request (head, then Content-Length bytes of body). */
static void on_readable(Conn *c) {
  for (;;) {
    int n = read(c->fd, c->buf + c->len, sizeof c->buf - c->len - 1);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
      if (c->streaming) streaming--;
      free(c->stamps);
      close(c->fd);
      conns[c->fd] = NULL;
      free(c);
      return;
    }
    if (n < 0) break;
    c->len += n;
  }
  for (;;) {
    c->buf[c->len] = 0;
    char *end = strstr(c->buf, "\r\n\r\n");
    if (!end) return;
    int head = end + 4 - c->buf;
    long length = 0;
    char *cl = strcasestr(c->buf, "\r\ncontent-length:");
    if (cl && cl < end) length = strtol(cl + 17, NULL, 10);
    if (c->len < head + length) return;
    if (c->streaming) return; /* one request at a time per connection, as HTTP/1.1 without pipelining */
    answer(c, c->buf, c->buf + head, length);
    memmove(c->buf, c->buf + head + length, c->len - head - length);
    c->len -= head + length;
  }
}

int main(int argc, char **argv) {
  if (argc != 5 || (tokens = atoi(argv[3])) < 1 || tokens > MAX_TOKENS) {
    fprintf(stderr, "usage: %s <ttft-ms> <itl-ms> <tokens 1..%d> <log>\n", argv[0], MAX_TOKENS);
    return 2;
  }
  ttft = atof(argv[1]);
  itl = atof(argv[2]);
  signal(SIGTERM, on_term);
  signal(SIGPIPE, SIG_IGN);
  int one = 1;
  int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = 0};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t addrlen = sizeof addr;
  if (bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(listener, 4096) < 0 ||
      getsockname(listener, (struct sockaddr *)&addr, &addrlen) < 0) {
    perror("timedServer: listen");
    return 1;
  }
  printf("%d\n", ntohs(addr.sin_port));
  fflush(stdout);
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = listener};
  epoll_ctl(ep, EPOLL_CTL_ADD, listener, &ev);
  struct epoll_event ready[256];
  while (!stopping) {
    /* Spin while streams are due (the server has a core of its own), else sleep in epoll. */
    int n = epoll_wait(ep, ready, 256, streaming > 0 ? 0 : 50);
    for (int i = 0; i < n; i++) {
      int fd = ready[i].data.fd;
      if (fd != listener) {
        if (conns[fd]) on_readable(conns[fd]);
        continue;
      }
      for (int c; (c = accept4(listener, NULL, NULL, SOCK_NONBLOCK)) >= 0;) {
        if (c >= MAX_FDS) {
          close(c);
          continue;
        }
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        conns[c] = new_conn();
        conns[c]->fd = c;
        struct epoll_event cev = {.events = EPOLLIN, .data.fd = c};
        epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
      }
    }
    if (streaming == 0) continue;
    double now = monotonic_ms();
    for (int fd = 0; fd < MAX_FDS; fd++) {
      Conn *c = conns[fd];
      if (c && c->streaming && c->due <= now) send_token(c);
    }
  }
  FILE *log = fopen(argv[4], "w");
  if (!log) {
    perror("timedServer: log");
    return 1;
  }
  for (int i = 0; i < nfinished; i++) {
    fprintf(log, "%s %.3f", finished[i].id, finished[i].arrived);
    for (int k = 0; k < 2 * tokens; k++) fprintf(log, " %.3f", finished[i].stamps[k]);
    fputc('\n', log);
  }
  fclose(log);
  return 0;
}
