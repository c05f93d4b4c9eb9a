/* rt_load.c -- checking a patch file and loading it.
 * Part of the single translation unit dsu_runtime.c (everything stays
 * static there); not compiled on its own. */

/* ---- loading a patch -------------------------------------------------- */

static struct loaded *find_loaded(void *h)
{
    for (struct loaded *l = loaded; l; l = l->next)
        if (l->handle == h)
            return l;
    return NULL;
}

static void release(void *h)
{
    struct loaded **pl = &loaded;
    while (*pl && (*pl)->handle != h)
        pl = &(*pl)->next;
    dlclose(h);
    if (*pl && --(*pl)->refs == 0) {
        struct loaded *l = *pl;
        *pl = l->next;
        free(l);
    }
}

/* A truncated or mangled shared object can make the dynamic loader fault
 * inside this process (it maps segments that the file does not hold and
 * touches them).  So before dlopen: the ELF header must be ours (class,
 * byte order, machine, a shared object) and every program header, segment
 * and the section table must lie within the file.  Returns NULL if it is
 * well formed, else why not. */
static const char *check_elf(int fd, off_t size, char *why, size_t n)
{
    ElfW(Ehdr) eh;
#if defined(__x86_64__)
    const unsigned machine = EM_X86_64;
#elif defined(__aarch64__)
    const unsigned machine = EM_AARCH64;
#else
    const unsigned machine = 0;
#endif
    if (pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh || memcmp(eh.e_ident, ELFMAG, SELFMAG))
        return "not an ELF file";
    if (eh.e_ident[EI_CLASS] != (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32) ||
        eh.e_ident[EI_DATA] != (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB : ELFDATA2MSB))
        return "an ELF file for another kind of machine";
    if (eh.e_type != ET_DYN)
        return "not a shared object";
    if (machine && eh.e_machine != machine)
        return "a shared object for another architecture";
    if (eh.e_phentsize != sizeof(ElfW(Phdr)) || eh.e_phnum == 0 ||
        eh.e_phoff > (ElfW(Off))size ||
        (ElfW(Off))eh.e_phnum * sizeof(ElfW(Phdr)) > (ElfW(Off))size - eh.e_phoff)
        return "truncated or corrupt (program headers)";
    if (eh.e_shoff && (eh.e_shentsize != sizeof(ElfW(Shdr)) || eh.e_shoff > (ElfW(Off))size ||
                       (ElfW(Off))eh.e_shnum * sizeof(ElfW(Shdr)) > (ElfW(Off))size - eh.e_shoff))
        return "truncated or corrupt (section headers)";
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        ElfW(Phdr) ph;
        if (pread(fd, &ph, sizeof ph, eh.e_phoff + (off_t)i * sizeof ph) != (ssize_t)sizeof ph)
            return "truncated or corrupt (program headers)";
        if (ph.p_filesz && (ph.p_offset > (ElfW(Off))size ||
                            ph.p_filesz > (ElfW(Off))size - ph.p_offset)) {
            snprintf(why, n, "truncated or corrupt: segment %u needs bytes up to %llu, "
                     "the file has %llu", i, (unsigned long long)(ph.p_offset + ph.p_filesz),
                     (unsigned long long)size);
            return why;
        }
        if (ph.p_type == PT_LOAD && ph.p_filesz > ph.p_memsz)
            return "corrupt (a segment larger on file than in memory)";
    }
    return NULL;
}

/* dlopen()s the already opened and checked file FD through /proc/self/fd,
 * so what gets mapped is exactly the file we looked at.  glibc first
 * compares the *name* with those of loaded objects, so "/proc/self/fd/5"
 * can yield a different patch loaded earlier through fd 5; we detect that
 * by the file identity we recorded and ask again under another fd number.
 * (Re-opening the same file under any name correctly yields its handle.) */
static void *load_patch(int fd, const struct stat *st, const char **err)
{
    void *h = NULL;
    int cur = fd;
    /* each loaded object can hold a few such names (dlopen adds aliases) */
    unsigned tries = 64;
    for (struct loaded *l = loaded; l; l = l->next)
        tries += 2;
    *err = NULL;
    while (tries-- > 0) {
        char name[64];
        snprintf(name, sizeof name, "/proc/self/fd/%d", cur);
        h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
            *err = dlerror();
            break;
        }
        struct loaded *l = find_loaded(h);
        if (!l) {
            if (!(l = calloc(1, sizeof *l))) {
                dlclose(h), h = NULL;
                *err = "out of memory";
                break;
            }
            l->handle = h;
            l->dev = st->st_dev;
            l->ino = st->st_ino;
            l->next = loaded;
            loaded = l;
        }
        if (l->dev == st->st_dev && l->ino == st->st_ino) {
            l->refs++;
            break;
        }
        dlclose(h), h = NULL;
        int next = fcntl(fd, F_DUPFD_CLOEXEC, cur + 1);
        if (cur != fd)
            close(cur);
        cur = next;
        if (cur < 0) {
            *err = strerror(errno);
            cur = fd;
            break;
        }
    }
    if (cur != fd)
        close(cur);
    if (!h && !*err)
        *err = "the dynamic loader keeps returning another patch";
    return h;
}
