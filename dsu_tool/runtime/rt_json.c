/* rt_json.c -- JSON answers, failure reasons and verbose messages.
 * Part of the single translation unit dsu_runtime.c (everything stays
 * static there); not compiled on its own. */

/* ---- JSON output ------------------------------------------------------ */

struct jbuf {
    char *p;
    size_t len, cap;
    int oom;
};

static void jb_put(struct jbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 512;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *np = realloc(b->p, cap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void jb_raw(struct jbuf *b, const char *s) { jb_put(b, s, strlen(s)); }

static void jb_fmt(struct jbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void jb_fmt(struct jbuf *b, const char *fmt, ...)
{
    char tmp[128];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        jb_put(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* Length of the valid UTF-8 sequence at s, or 0.  Paths and symbol names
 * are bytes; JSON must be UTF-8, so invalid bytes become U+FFFD. */
static int utf8_len(const unsigned char *s)
{
    int n = s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 && s[0] < 0xE0 ? 2 : 0;
    if (s[0] >= 0xF5)
        return 0;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return n;
}

static void jb_str(struct jbuf *b, const char *str)
{
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    jb_put(b, "\"", 1);
    while (*s) {
        if (*s == '"' || *s == '\\') {
            char e[2] = {'\\', (char)*s};
            jb_put(b, e, 2);
            s++;
        } else if (*s == '\n') {
            jb_raw(b, "\\n"), s++;
        } else if (*s == '\t') {
            jb_raw(b, "\\t"), s++;
        } else if (*s < 0x20) {
            jb_fmt(b, "\\u%04x", *s++);
        } else if (*s < 0x80) {
            jb_put(b, (const char *)s++, 1);
        } else {
            int n = utf8_len(s);
            if (n) {
                jb_put(b, (const char *)s, (size_t)n);
                s += n;
            } else {
                jb_raw(b, "\\ufffd"), s++;
            }
        }
    }
    jb_put(b, "\"", 1);
}

/* ---- messages --------------------------------------------------------- */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    if (!verbose)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("dsu: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* Fills OUT with a failure answer; returns -1 for the caller to pass on. */
static int fail(struct jbuf *out, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct jbuf *out, const char *code, const char *fmt, ...)
{
    char reason[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    jb_raw(out, "{\"ok\":false,\"code\":");
    jb_str(out, code);
    jb_raw(out, ",\"reason\":");
    jb_str(out, reason);
    jb_raw(out, "}");
    say("%s: %s", code, reason);
    return -1;
}
