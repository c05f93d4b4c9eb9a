/* main.c -- kvd, a tiny line-oriented key-value server (v3).
 *
 * kvd is the example program for dsu.  main() is byte-identical in every
 * version: it is always on the stack, so an update can never replace it.
 * It only reaches the update point and calls net_poll(); everything that
 * changes between versions lives in the functions below it.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <dsu.h>

#include "net.h"
#include "store.h"

/* Reported by VERSION and in the startup line. */
static const char kvd_version[] = "kvd v3";

/* Request lines from all clients since the server started.  v2 starts
 * counting at 100, so a freshly started v2 is easy to tell apart; a process
 * updated from v1 keeps the count it had, because an update carries the
 * running value over and never re-runs an initialiser. */
static unsigned long total_requests = 100;

/* The message of the day, shown and replaced by MOTD (new in v2). */
static char motd[64] = "welcome to kvd";

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* Splits the next space-separated word off *REST; "" when none is left. */
static char *next_word(char **rest)
{
    char *word = *rest + strspn(*rest, " ");
    char *end = word + strcspn(word, " ");

    *rest = *end ? end + 1 : end;
    *end = '\0';
    return word;
}

/* The same in every version; only the constant it reads changes. */
static void cmd_version(struct client *c)
{
    net_reply(c, "%s", kvd_version);
}

static void cmd_set(struct client *c, char *args)
{
    char *key = next_word(&args);
    char *val = args + strspn(args, " "); /* the rest, spaces and all */

    if (!*key || !*val) {
        net_reply(c, "ERR usage: SET key value");
        return;
    }
    switch (store_set(key, val)) {
    case STORE_OK:       net_reply(c, "OK"); break;
    case STORE_BAD_KEY:  net_reply(c, "ERR bad key"); break;
    case STORE_TOO_LONG: net_reply(c, "ERR value too long"); break;
    default:             net_reply(c, "ERR store full"); break;
    }
}

static void cmd_get(struct client *c, char *args)
{
    char *key = next_word(&args);
    const char *val;

    if (!*key || *args) {
        net_reply(c, "ERR usage: GET key");
        return;
    }
    val = store_get(key);
    net_reply(c, "%s", val ? val : "NOT_FOUND");
}

static void cmd_del(struct client *c, char *args)
{
    char *key = next_word(&args);
    char old[VAL_LEN];

    if (!*key || *args) {
        net_reply(c, "ERR usage: DEL key");
        return;
    }
    if (store_del(key, old, sizeof old))
        net_reply(c, "DELETED %s", old);
    else
        net_reply(c, "NOT_FOUND");
}

static void cmd_stats(struct client *c)
{
    /* How often STATS was asked, over the server's whole life.  A
     * function-local static on purpose: when cmd_stats is replaced, the
     * count must carry over to the new version. */
    static unsigned long calls;
    int nclients = 0;

    calls++;
    for (int i = 0; i < MAX_CLIENTS; i++)
        nclients += clients[i].fd >= 0;
    net_reply(c, "keys=%d/%d clients=%d/%d requests=%lu stats_calls=%lu",
              store_count(NULL), STORE_SLOTS, nclients, MAX_CLIENTS,
              total_requests, calls);
}

/* COUNT [prefix]: how many keys there are, or how many start with PREFIX. */
static void cmd_count(struct client *c, char *args)
{
    char *prefix = next_word(&args);

    if (*args) {
        net_reply(c, "ERR usage: COUNT [prefix]");
        return;
    }
    net_reply(c, "%d", store_count(prefix));
}

/* EXISTS key: 1 if KEY is stored, else 0. */
static void cmd_exists(struct client *c, char *args)
{
    char *key = next_word(&args);

    if (!*key || *args) {
        net_reply(c, "ERR usage: EXISTS key");
        return;
    }
    net_reply(c, "%d", store_find(key) >= 0);
}

static void cmd_reads(struct client *c, char *args)
{
    char *key = next_word(&args);
    long n;

    if (!*key || *args) {
        net_reply(c, "ERR usage: READS key");
        return;
    }
    n = store_reads(key);
    if (n < 0)
        net_reply(c, "NOT_FOUND");
    else
        net_reply(c, "%ld", n);
}

static void cmd_hello(struct client *c, char *args)
{
    char *name = next_word(&args);

    if (!*name || *args) {
        net_reply(c, "ERR usage: HELLO name");
        return;
    }
    if (strlen(name) >= sizeof c->name) {
        net_reply(c, "ERR name too long");
        return;
    }
    strcpy(c->name, name);
    net_reply(c, "OK");
}

static void cmd_who(struct client *c)
{
    net_reply(c, "name=%s requests=%lu", c->name[0] ? c->name : "-",
              c->requests);
}

/* INCR key: adds one to an integer value; a missing key counts as 0. */
static void cmd_incr(struct client *c, char *args)
{
    char *key = next_word(&args);
    const char *old;
    char buf[32];
    long long n = 0;

    if (!*key || *args) {
        net_reply(c, "ERR usage: INCR key");
        return;
    }
    old = store_get(key);
    if (old) {
        char *end;
        errno = 0;
        n = strtoll(old, &end, 10);
        if (end == old || *end || errno) {
            net_reply(c, "ERR not an integer");
            return;
        }
    }
    if (n == LLONG_MAX) {
        net_reply(c, "ERR overflow");
        return;
    }
    snprintf(buf, sizeof buf, "%lld", n + 1);
    switch (store_set(key, buf)) {
    case STORE_OK:      net_reply(c, "%s", buf); break;
    case STORE_BAD_KEY: net_reply(c, "ERR bad key"); break;
    default:            net_reply(c, "ERR store full"); break;
    }
}

/* MOTD shows the message of the day; MOTD text replaces it. */
static void cmd_motd(struct client *c, char *args)
{
    args += strspn(args, " ");
    if (!*args) {
        net_reply(c, "%s", motd);
        return;
    }
    if (strlen(args) >= sizeof motd) {
        net_reply(c, "ERR motd too long");
        return;
    }
    strcpy(motd, args);
    net_reply(c, "OK");
}

void handle_line(struct client *c, char *line)
{
    char *args = line;
    char *cmd = next_word(&args);

    total_requests++;
    c->requests++;
    if (!*cmd)
        net_reply(c, "ERR empty line");
    else if (!strcasecmp(cmd, "SET"))
        cmd_set(c, args);
    else if (!strcasecmp(cmd, "GET"))
        cmd_get(c, args);
    else if (!strcasecmp(cmd, "DEL"))
        cmd_del(c, args);
    else if (!strcasecmp(cmd, "COUNT"))
        cmd_count(c, args);
    else if (!strcasecmp(cmd, "EXISTS"))
        cmd_exists(c, args);
    else if (!strcasecmp(cmd, "READS"))
        cmd_reads(c, args);
    else if (!strcasecmp(cmd, "STATS"))
        cmd_stats(c);
    else if (!strcasecmp(cmd, "HELLO"))
        cmd_hello(c, args);
    else if (!strcasecmp(cmd, "WHO"))
        cmd_who(c);
    else if (!strcasecmp(cmd, "INCR"))
        cmd_incr(c, args);
    else if (!strcasecmp(cmd, "MOTD"))
        cmd_motd(c, args);
    else if (!strcasecmp(cmd, "VERSION"))
        cmd_version(c);
    else if (!strcasecmp(cmd, "QUIT")) {
        net_reply(c, "BYE");
        net_close(c);
    } else
        net_reply(c, "ERR unknown command");
}

static int usage(const char *prog)
{
    fprintf(stderr, "usage: %s [port]   (0 or none: any free port)\n", prog);
    return 2;
}

int main(int argc, char **argv)
{
    struct sigaction sa;
    long port = 0;
    int listen_fd, bound;

    if (argc > 2)
        return usage(argv[0]);
    if (argc == 2) {
        char *end;
        port = strtol(argv[1], &end, 10);
        if (end == argv[1] || *end || port < 0 || port > 65535)
            return usage(argv[0]);
    }

    /* No SA_RESTART: a signal makes poll() fail with EINTR, so the loop
     * sees stop_requested at once (at worst after one 100 ms timeout). */
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    /* A client that hangs up must not kill the server on the next send. */
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);

    listen_fd = net_listen((int)port, &bound);
    if (listen_fd < 0) {
        perror("kvd: listen");
        return 1;
    }
    printf("%s listening on %d\n", kvd_version, bound);
    fflush(stdout);

    /* The 100 ms poll timeout bounds how long a requested update waits
     * for the update point when no client is talking. */
    while (!stop_requested) {
        DSU_update();
        if (net_poll(listen_fd, 100) < 0) {
            perror("kvd: poll");
            break;
        }
    }
    net_shutdown(listen_fd);
    return 0;
}
