/*
 * The timing floor of a machine: the least a client can do to stamp streamed chunks, for comparison
 * with fluxperf (`node bench/clientBench.ts floor --streams N`, which compiles and runs this).
 *
 * Opens N connections to bench/streamServer.ts, sends one streaming request on each (truth id
 * `<prefix>-<i>` in `x-bench-id`), then reads every socket through one epoll loop until each response
 * has sent `[DONE]`. Every content chunk found in a read is stamped with the time that read returned
 * (CLOCK_REALTIME, the clock the server's stamps use). No HTTP parsing beyond that, no JSON, no
 * allocation while streaming. Like fluxperf's event loop on a client confined to one CPU, it moves
 * itself to SCHED_FIFO 1 where permitted.
 *
 * With a seventh argument `busy` it never sleeps: it polls epoll without a timeout, in the normal class
 * (a real-time thread that never sleeps would be throttled). Its CPU is then the whole wall time, and
 * what a packet costs without the wake-up shows in readUs: the time from each poll that returned ready
 * sockets to the end of their reads.
 *
 * Prints one JSON line per request: {"id", "ok", "startedAt", "ttftMs", "chunkOffsetsMs"}; on stderr, from
 * the first send to the last [DONE], its CPU (user + system), the time spent reading after polls that
 * found data, those polls and the ready sockets they returned: {"cpuUs", "readUs", "polls", "ready"}.
 *
 *   cc -O2 -o floorClient bench/floorClient.c
 *   ./floorClient <streams> <port> <id-prefix> <tokens> <ttft-ms> <itl-ms> [busy]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CHUNKS 4096
/* The content event of bench/streamServer.ts; the role event carries "content":"" instead. */
static const char MARK[] = "\"content\":\" tok\"";
#define MARK_LEN (sizeof MARK - 1)

typedef struct {
  int fd;
  int chunks;
  int done;
  double startedAt;
  double *stamps;
  /* The last bytes of the previous read, so a marker split across two reads is still found. */
  char tail[MARK_LEN];
  size_t tailLength;
} Stream;

static long elapsedNs(const struct timespec *from, const struct timespec *to) {
  return (to->tv_sec - from->tv_sec) * 1000000000L + (to->tv_nsec - from->tv_nsec);
}

static double nowMs(void) {
  struct timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
  if (argc != 7 && !(argc == 8 && strcmp(argv[7], "busy") == 0)) {
    fprintf(stderr, "usage: floorClient <streams> <port> <id-prefix> <tokens> <ttft-ms> <itl-ms> [busy]\n");
    return 2;
  }
  int n = atoi(argv[1]);
  int busy = argc == 8;
  struct sched_param fifo = { .sched_priority = 1 };
  if (!busy) sched_setscheduler(0, SCHED_FIFO | SCHED_RESET_ON_FORK, &fifo); /* best effort, as fluxperf */

  Stream *streams = calloc(n, sizeof(Stream));
  int epoll = epoll_create1(0);
  struct sockaddr_in server = { .sin_family = AF_INET, .sin_port = htons(atoi(argv[2])) };
  inet_pton(AF_INET, "127.0.0.1", &server.sin_addr);
  for (int i = 0; i < n; i++) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&server, sizeof server) != 0) {
      perror("floorClient: connect");
      return 1;
    }
    fcntl(fd, F_SETFL, O_NONBLOCK);
    streams[i].fd = fd;
    streams[i].stamps = malloc(sizeof(double) * MAX_CHUNKS);
    struct epoll_event event = { .events = EPOLLIN, .data.u32 = i };
    epoll_ctl(epoll, EPOLL_CTL_ADD, fd, &event);
  }

  /* Connections open before the clock, as fluxperf's preconnect: let the server take them all first. */
  usleep(200000);

  static const char body[] = "{\"model\":\"bench\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"floor\"}]}";
  char request[1024];
  struct rusage before, after;
  getrusage(RUSAGE_SELF, &before);
  for (int i = 0; i < n; i++) {
    int length = snprintf(request, sizeof request,
      "POST /v1/chat/completions HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
      "x-bench-id: %s-%d\r\nx-bench-tokens: %s\r\nx-bench-ttft: %s\r\nx-bench-itl: %s\r\ncontent-length: %zu\r\n\r\n%s",
      argv[3], i, argv[4], argv[5], argv[6], sizeof body - 1, body);
    streams[i].startedAt = nowMs();
    if (write(streams[i].fd, request, length) != length) {
      perror("floorClient: write");
      return 1;
    }
  }

  static char buffer[65536 + MARK_LEN + 1];
  struct epoll_event ready[1024];
  int open = n;
  long readNs = 0, polls = 0, readySockets = 0;
  struct timespec polled, drained;
  while (open > 0) {
    int count;
    if (busy) {
      struct timespec since, now;
      clock_gettime(CLOCK_MONOTONIC, &since);
      do {
        count = epoll_wait(epoll, ready, 1024, 0);
        clock_gettime(CLOCK_MONOTONIC, &now);
      } while (count == 0 && elapsedNs(&since, &now) < 30000000000L);
    } else {
      count = epoll_wait(epoll, ready, 1024, 30000);
    }
    if (count <= 0) {
      fprintf(stderr, "floorClient: no data for 30 s with %d streams open\n", open);
      break;
    }
    clock_gettime(CLOCK_MONOTONIC, &polled);
    polls++;
    readySockets += count;
    for (int e = 0; e < count; e++) {
      Stream *s = &streams[ready[e].data.u32];
      for (;;) {
        memcpy(buffer, s->tail, s->tailLength);
        ssize_t r = read(s->fd, buffer + s->tailLength, 65536);
        if (r <= 0) break;
        double stamp = nowMs();
        size_t length = s->tailLength + (size_t)r;
        for (char *p = buffer; (p = memmem(p, length - (size_t)(p - buffer), MARK, MARK_LEN)) != NULL; p += MARK_LEN) {
          if (s->chunks < MAX_CHUNKS) s->stamps[s->chunks++] = stamp;
        }
        if (!s->done && memmem(buffer, length, "[DONE]", 6) != NULL) {
          s->done = 1;
          open--;
        }
        s->tailLength = length < MARK_LEN - 1 ? length : MARK_LEN - 1;
        memmove(s->tail, buffer + length - s->tailLength, s->tailLength);
        /* A short read emptied the socket: no second read to hear EAGAIN (libuv stops there too; epoll is
         * level-triggered, so anything that arrives meanwhile is reported by the next poll). */
        if (r < 65536) break;
      }
    }
    clock_gettime(CLOCK_MONOTONIC, &drained);
    readNs += elapsedNs(&polled, &drained);
  }

  getrusage(RUSAGE_SELF, &after);
  double cpuUs = (after.ru_utime.tv_sec - before.ru_utime.tv_sec + after.ru_stime.tv_sec - before.ru_stime.tv_sec) * 1e6
    + (after.ru_utime.tv_usec - before.ru_utime.tv_usec + after.ru_stime.tv_usec - before.ru_stime.tv_usec);
  fprintf(stderr, "{\"cpuUs\":%.0f,\"readUs\":%.0f,\"polls\":%ld,\"ready\":%ld}\n", cpuUs, readNs / 1e3, polls, readySockets);

  for (int i = 0; i < n; i++) {
    Stream *s = &streams[i];
    printf("{\"id\":\"%s-%d\",\"ok\":%s,\"startedAt\":%.4f,\"ttftMs\":%.4f,\"chunkOffsetsMs\":[", argv[3], i,
      s->done ? "true" : "false", s->startedAt, s->chunks > 0 ? s->stamps[0] - s->startedAt : 0.0);
    for (int c = 0; c < s->chunks; c++) printf(c > 0 ? ",%.4f" : "%.4f", s->stamps[c] - s->startedAt);
    printf("]}\n");
  }
  return 0;
}
