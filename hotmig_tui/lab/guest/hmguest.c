/*
 * hmguest: the workload of a hotmig lab guest (see ../README.md for the console format).
 *
 *   hmguest MEM_WS MEM_RATE DISK_DEV DISK_WS DISK_RATE      (sizes in bytes, rates in bytes/s)
 *
 * Memory: a working set of MEM_WS bytes of self-describing 4 KiB pages (magic, index, generation, a pattern
 * derived from index and generation, the generation again in the last word). After an initial fill it rewrites
 * pages in order at MEM_RATE bytes/s, each time moving the page to the next generation, so it knows the
 * generation every page must hold; it re-verifies every page in full every few seconds.
 * Disk: the same for DISK_WS bytes of 4 KiB blocks at the start of the raw block device DISK_DEV, written and
 * read with O_DIRECT so the check reads the device, not the guest's page cache (which lives in RAM).
 * A heartbeat line goes to the console every second.
 *
 * CPU: the host has few cores shared by every guest, so work is done in short bursts every 50 ms with the
 * process asleep in between; the amount per burst follows the clock, so the rate holds even when a sleep
 * oversleeps. Time lost while the VM was paused (e.g. a migration's switch-over) is not made up in a rush.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096u
#define WORDS (PAGE / 8u)
#define MEM_MAGIC 0x4d454d2d4d474d48ull  /* "HMGM-MEM" */
#define DISK_MAGIC 0x4b53442d4d474d48ull /* "HMGM-DSK" */
#define TICK_NS 50000000ll               /* 50 ms between bursts */
#define TICKS_PER_S 20
#define MEM_SWEEP_S 5   /* every page verified in full at least every ~5 s */
#define DISK_SWEEP_S 8  /* every block read back and verified every ~8 s */
#define MAX_BACKLOG_TICKS 2
#define DISK_CHUNK 16   /* blocks per I/O */

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

static uint64_t mix(uint64_t x) { /* splitmix64 finaliser */
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static void fill(uint64_t *w, uint64_t magic, uint64_t index, uint64_t gen) {
    uint64_t base = mix(magic ^ (index << 24) ^ gen);
    w[0] = magic;
    w[1] = index;
    w[2] = gen;
    for (unsigned j = 3; j < WORDS - 1; j++)
        w[j] = base + j * 0x9e3779b97f4a7c15ull;
    w[WORDS - 1] = gen;
}

/* 0 when the unit holds exactly (magic, index, gen); else 1 + the first differing word. */
static unsigned check(const uint64_t *w, uint64_t magic, uint64_t index, uint64_t gen, int full) {
    if (w[0] != magic) return 1;
    if (w[1] != index) return 2;
    if (w[2] != gen) return 3;
    if (w[WORDS - 1] != gen) return WORDS;
    if (full) {
        uint64_t base = mix(magic ^ (index << 24) ^ gen);
        for (unsigned j = 3; j < WORDS - 1; j++)
            if (w[j] != base + j * 0x9e3779b97f4a7c15ull) return j + 1;
    }
    return 0;
}

/* A region of self-describing units being rewritten in order: units [0, cur) hold gen, [cur, n) gen - 1. */
struct region {
    uint64_t n, cur, gen;
    uint64_t vcur, sweeps, per_tick_verify;
    double per_s;             /* units rewritten per second */
    uint64_t done;            /* units rewritten since t0, for pacing */
    int64_t t0;
    int bad;                  /* sticky: once bad, every later heartbeat says so */
    uint64_t bad_index;
};

static uint64_t expected(const struct region *r, uint64_t i) { return i < r->cur ? r->gen : r->gen - 1; }

static uint64_t due(struct region *r, int64_t now) {
    if (r->per_s <= 0 || r->n == 0) return 0;
    uint64_t target = (uint64_t)((double)(now - r->t0) / 1e9 * r->per_s);
    uint64_t cap = (uint64_t)(r->per_s * MAX_BACKLOG_TICKS / TICKS_PER_S) + 1;
    if (target > r->done + cap) r->done = target - cap; /* paused or starved: drop the backlog */
    uint64_t todo = target > r->done ? target - r->done : 0;
    r->done += todo;
    return todo;
}

static void advance(struct region *r) {
    if (++r->cur == r->n) {
        r->cur = 0;
        r->gen++;
    }
}

static int disk_err; /* errno of a failed disk read or write */

static void report(const char *what, const char *unit, struct region *r, uint64_t i, uint64_t want, unsigned word,
                   const uint64_t *w) {
    if (!r->bad) {
        r->bad = 1;
        r->bad_index = i;
        printf("HOTMIG %s BAD %s=%" PRIu64 " want_gen=%" PRIu64 " got_gen=%" PRIu64 " word=%u errno=%d\n", what,
               unit, i, want, w ? w[2] : 0, word, w ? 0 : disk_err);
        fflush(stdout);
    }
}

/* -- memory ------------------------------------------------------------------------------------------------ */

static uint64_t *mem;

static void mem_tick(struct region *r, int64_t now) {
    for (uint64_t k = due(r, now); k > 0; k--) {
        uint64_t *w = mem + r->cur * WORDS;
        uint64_t want = expected(r, r->cur);
        unsigned word = check(w, MEM_MAGIC, r->cur, want, 0);
        if (word) report("MEM", "page", r, r->cur, want, word, w);
        fill(w, MEM_MAGIC, r->cur, r->gen);
        advance(r);
    }
    for (uint64_t k = 0; k < r->per_tick_verify && r->n; k++) {
        uint64_t *w = mem + r->vcur * WORDS;
        uint64_t want = expected(r, r->vcur);
        unsigned word = check(w, MEM_MAGIC, r->vcur, want, 1);
        if (word) report("MEM", "page", r, r->vcur, want, word, w);
        if (++r->vcur == r->n) {
            r->vcur = 0;
            r->sweeps++;
        }
    }
}

/* -- disk -------------------------------------------------------------------------------------------------- */

static int disk_fd = -1;
static uint64_t *dbuf;

static void disk_write(struct region *r, uint64_t first, uint64_t count, uint64_t gen) {
    for (uint64_t k = 0; k < count; k++) fill(dbuf + k * WORDS, DISK_MAGIC, first + k, gen);
    ssize_t got = pwrite(disk_fd, dbuf, count * PAGE, (off_t)(first * PAGE));
    if (got != (ssize_t)(count * PAGE)) {
        disk_err = got < 0 ? errno : EIO;
        report("DISK", "block", r, first, gen, 0, NULL);
    }
}

static void disk_tick(struct region *r, int64_t now) {
    uint64_t todo = due(r, now);
    while (todo > 0) { /* contiguous runs up to the end of the region */
        uint64_t count = todo < DISK_CHUNK ? todo : DISK_CHUNK;
        if (count > r->n - r->cur) count = r->n - r->cur;
        disk_write(r, r->cur, count, r->gen);
        for (uint64_t k = 0; k < count; k++) advance(r);
        todo -= count;
    }
    uint64_t left = r->per_tick_verify;
    while (left > 0 && r->n) {
        uint64_t count = left < DISK_CHUNK ? left : DISK_CHUNK;
        if (count > r->n - r->vcur) count = r->n - r->vcur;
        ssize_t got = pread(disk_fd, dbuf, count * PAGE, (off_t)(r->vcur * PAGE));
        if (got != (ssize_t)(count * PAGE)) {
            disk_err = got < 0 ? errno : EIO;
            report("DISK", "block", r, r->vcur, 0, 0, NULL);
        } else {
            for (uint64_t k = 0; k < count; k++) {
                uint64_t i = r->vcur + k, want = expected(r, i);
                unsigned word = check(dbuf + k * WORDS, DISK_MAGIC, i, want, 1);
                if (word) report("DISK", "block", r, i, want, word, dbuf + k * WORDS);
            }
        }
        r->vcur += count;
        if (r->vcur == r->n) {
            r->vcur = 0;
            r->sweeps++;
        }
        left -= count;
    }
}

/* -- main -------------------------------------------------------------------------------------------------- */

static void setup(struct region *r, uint64_t bytes, double rate, unsigned sweep_s) {
    memset(r, 0, sizeof *r);
    r->n = bytes / PAGE;
    r->gen = 2; /* the initial fill wrote generation 1 everywhere */
    r->per_s = rate / PAGE;
    r->per_tick_verify = (r->n + (uint64_t)sweep_s * TICKS_PER_S - 1) / ((uint64_t)sweep_s * TICKS_PER_S);
}

static int status(char *out, size_t size, const char *what, const char *unit, const struct region *r) {
    if (r->bad) return snprintf(out, size, "%s BAD %s=%" PRIu64 " sweeps=%" PRIu64, what, unit, r->bad_index, r->sweeps);
    return snprintf(out, size, "%s OK gen=%" PRIu64 " sweeps=%" PRIu64, what, r->gen - 1, r->sweeps);
}

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: hmguest MEM_WS MEM_RATE DISK_DEV DISK_WS DISK_RATE\n");
        return 2;
    }
    uint64_t mem_ws = strtoull(argv[1], NULL, 0), disk_ws = strtoull(argv[4], NULL, 0);
    double mem_rate = strtod(argv[2], NULL), disk_rate = strtod(argv[5], NULL);
    const char *disk_dev = argv[3];
    setvbuf(stdout, NULL, _IOLBF, 0);

    struct region m, d;
    setup(&m, mem_ws, mem_rate, MEM_SWEEP_S);
    setup(&d, disk_ws, disk_rate, DISK_SWEEP_S);
    int64_t start = now_ns();
    if (m.n) {
        mem = mmap(NULL, m.n * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        if (mem == MAP_FAILED) {
            printf("HOTMIG ERROR mmap %" PRIu64 " bytes: %s\n", m.n * PAGE, strerror(errno));
            return 1;
        }
        for (uint64_t i = 0; i < m.n; i++) fill(mem + i * WORDS, MEM_MAGIC, i, 1);
    }
    if (d.n && strcmp(disk_dev, "none") != 0) {
        disk_fd = open(disk_dev, O_RDWR | O_DIRECT);
        if (disk_fd < 0 || posix_memalign((void **)&dbuf, PAGE, DISK_CHUNK * PAGE) != 0) {
            printf("HOTMIG ERROR open %s: %s\n", disk_dev, strerror(errno));
            return 1;
        }
        for (uint64_t i = 0; i < d.n; i += DISK_CHUNK)
            disk_write(&d, i, d.n - i < DISK_CHUNK ? d.n - i : DISK_CHUNK, 1);
        fdatasync(disk_fd);
    }
    int64_t t0 = now_ns();
    m.t0 = d.t0 = t0;
    printf("HOTMIG READY mem_pages=%" PRIu64 " disk_blocks=%" PRIu64 " fill_ms=%" PRId64 "\n", m.n,
           disk_fd >= 0 ? d.n : 0, (t0 - start) / 1000000);

    int64_t next = t0, next_hb = t0 + 1000000000ll;
    uint64_t seq = 0;
    for (;;) {
        int64_t now = now_ns();
        if (m.n) mem_tick(&m, now);
        if (disk_fd >= 0) disk_tick(&d, now);
        if (now >= next_hb) {
            char ms[96], ds[96];
            status(ms, sizeof ms, "MEM", "page", &m);
            if (disk_fd >= 0) {
                status(ds, sizeof ds, "DISK", "block", &d);
                if (d.per_s > 0) fdatasync(disk_fd);
            } else {
                snprintf(ds, sizeof ds, "DISK NONE");
            }
            printf("HOTMIG HB seq=%" PRIu64 " up_ms=%" PRId64 " %s %s\n", ++seq, (now - start) / 1000000, ms, ds);
            next_hb += 1000000000ll;
            if (next_hb < now) next_hb = now + 1000000000ll; /* after a pause: one line, not a burst */
        }
        next += TICK_NS;
        if (next < now) next = now + TICK_NS;
        struct timespec ts = {next / 1000000000ll, next % 1000000000ll};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
        }
    }
}
