/* The session a forking server keeps on main's stack (v2: a motto). */
#ifndef SESSION_H
#define SESSION_H

struct session {
    int port;           /* asked for on the command line; 0: any */
    int served;         /* connections accepted so far (the parent counts) */
    char name[16];
    char motto[24];     /* new in v2 */
};

/* Accept connections for ever; returns only in a forked child, with the
 * client's socket. */
int serve(struct session *s);

#endif
