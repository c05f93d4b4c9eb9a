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

/* ---- validating a patch from its bytes ------------------------------- */

#if defined(__x86_64__)
#define DSU_MACHINE EM_X86_64
#define DSU_R_RELATIVE R_X86_64_RELATIVE
#define DSU_R_IRELATIVE R_X86_64_IRELATIVE
#elif defined(__aarch64__)
#define DSU_MACHINE EM_AARCH64
#define DSU_R_RELATIVE R_AARCH64_RELATIVE
#define DSU_R_IRELATIVE R_AARCH64_IRELATIVE
#else /* patches are refused: their relocations are unknown here */
#define DSU_MACHINE EM_NONE
#define DSU_R_RELATIVE 0xffffffffu
#define DSU_R_IRELATIVE 0xfffffffeu
#endif

#if __SIZEOF_POINTER__ == 8
#define DSU_R_TYPE ELF64_R_TYPE
#define DSU_R_SYM ELF64_R_SYM
#define DSU_ST_TYPE ELF64_ST_TYPE
#else
#define DSU_R_TYPE ELF32_R_TYPE
#define DSU_R_SYM ELF32_R_SYM
#define DSU_ST_TYPE ELF32_ST_TYPE
#endif

/* What the bytes of a patch say, for the checks before and after dlopen.
 * `from_id` points into `bytes`. */
struct patch_file {
    const unsigned char *bytes;
    size_t size;
    char digest[65];
    ElfW(Addr) record;   /* where dsu_patch lies, relative to the load base */
    unsigned magic, abi;
    const char *program, *from_version, *from_id; /* NULL if the file has none */
};

struct elf_view {
    const unsigned char *b;
    size_t size;
    const ElfW(Phdr) *ph;
    unsigned nph;
};

/* The file bytes holding [ADDR, ADDR+N) of the loaded image, or NULL when
 * no segment holds them all in the file. */
static const void *at_addr(const struct elf_view *e, ElfW(Addr) addr, size_t n)
{
    for (unsigned i = 0; i < e->nph; i++) {
        const ElfW(Phdr) *ph = &e->ph[i];
        if (ph->p_type != PT_LOAD || addr < ph->p_vaddr || addr - ph->p_vaddr > ph->p_filesz ||
            n > ph->p_filesz - (addr - ph->p_vaddr))
            continue;
        return e->b + ph->p_offset + (addr - ph->p_vaddr);
    }
    return NULL;
}

/* The NUL-terminated string at ADDR, if the file holds all of it. */
static const char *str_at(const struct elf_view *e, ElfW(Addr) addr)
{
    for (unsigned i = 0; i < e->nph; i++) {
        const ElfW(Phdr) *ph = &e->ph[i];
        if (ph->p_type != PT_LOAD || addr < ph->p_vaddr || addr - ph->p_vaddr >= ph->p_filesz)
            continue;
        const char *s = (const char *)e->b + ph->p_offset + (addr - ph->p_vaddr);
        if (memchr(s, '\0', ph->p_filesz - (addr - ph->p_vaddr)))
            return s;
    }
    return NULL;
}

static uint32_t gnu_hash(const char *s)
{
    uint32_t h = 5381;
    for (; *s; s++)
        h = h * 33 + (unsigned char)*s;
    return h;
}

static unsigned long sysv_hash(const char *s)
{
    unsigned long h = 0, g;
    for (; *s; s++) {
        h = (h << 4) + (unsigned char)*s;
        if ((g = h & 0xf0000000))
            h ^= g >> 24;
        h &= ~g;
    }
    return h;
}

/* The dynamic symbol table, as the loader sees it. */
struct dynsyms {
    ElfW(Addr) symtab, strtab, gnu_hash, hash;
    size_t strsz;
};

static const ElfW(Sym) *sym_at(const struct elf_view *e, const struct dynsyms *d, size_t i)
{
    return at_addr(e, d->symtab + i * sizeof(ElfW(Sym)), sizeof(ElfW(Sym)));
}

static int sym_is(const struct elf_view *e, const struct dynsyms *d, const ElfW(Sym) *sym,
                  const char *name)
{
    if (!sym || sym->st_name >= d->strsz)
        return 0;
    const char *s = str_at(e, d->strtab + sym->st_name);
    return s && strcmp(s, name) == 0;
}

/* Finds NAME through the hash table the loader uses (GNU first, like
 * glibc), so dlsym can find no other symbol by that name. */
static const ElfW(Sym) *find_sym(const struct elf_view *e, const struct dynsyms *d,
                                 const char *name)
{
    if (d->gnu_hash) {
        const uint32_t *hd = at_addr(e, d->gnu_hash, 16);
        if (!hd || hd[0] == 0)
            return NULL;
        uint32_t nbuckets = hd[0], symoffset = hd[1], bloom = hd[2];
        ElfW(Addr) buckets = d->gnu_hash + 16 + (ElfW(Addr))bloom * sizeof(ElfW(Addr));
        uint32_t h = gnu_hash(name);
        const uint32_t *bucket = at_addr(e, buckets + (h % nbuckets) * 4, 4);
        if (!bucket || *bucket < symoffset)
            return NULL;
        ElfW(Addr) chains = buckets + (ElfW(Addr))nbuckets * 4;
        for (uint32_t i = *bucket; i < (1u << 30); i++) {
            const uint32_t *c = at_addr(e, chains + (ElfW(Addr))(i - symoffset) * 4, 4);
            if (!c)
                return NULL;
            const ElfW(Sym) *sym = sym_at(e, d, i);
            if ((*c | 1) == (h | 1) && sym_is(e, d, sym, name))
                return sym;
            if (*c & 1)
                return NULL;
        }
        return NULL;
    }
    if (d->hash) {
        const uint32_t *hd = at_addr(e, d->hash, 8);
        if (!hd || hd[0] == 0)
            return NULL;
        uint32_t nbucket = hd[0], nchain = hd[1];
        const uint32_t *i = at_addr(e, d->hash + 8 + (sysv_hash(name) % nbucket) * 4, 4);
        for (uint32_t n = 0; i && *i && *i < nchain && n < nchain; n++) {
            const ElfW(Sym) *sym = sym_at(e, d, *i);
            if (sym_is(e, d, sym, name))
                return sym;
            i = at_addr(e, d->hash + 8 + ((ElfW(Addr))nbucket + *i) * 4, 4);
        }
    }
    return NULL;
}

/* The value the loader gives the pointer at ADDR: the addend of its
 * relative relocation, else (packed relative relocations) the word the
 * file holds there. */
static int pointer_at(const struct elf_view *e, const ElfW(Rela) *rela, size_t nrela,
                      ElfW(Addr) addr, ElfW(Addr) *value)
{
    for (size_t i = 0; i < nrela; i++)
        if (rela[i].r_offset == addr && DSU_R_TYPE(rela[i].r_info) == DSU_R_RELATIVE) {
            *value = (ElfW(Addr))rela[i].r_addend;
            return 0;
        }
    const ElfW(Addr) *w = at_addr(e, addr, sizeof *w);
    if (!w)
        return -1;
    *value = *w;
    return 0;
}

/* No code of the patch may run when it is loaded: refuses initialisers
 * and finalisers (a patch is linked with -nostartfiles), auditors, IFUNC
 * resolvers, and libraries the process has not loaded already (theirs
 * would run). */
static const char *check_load_runs_nothing(const struct elf_view *e, const ElfW(Dyn) *dyn,
                                           size_t ndyn, const struct dynsyms *d,
                                           const ElfW(Rela) *rela, size_t nrela, char *why,
                                           size_t n)
{
    for (size_t i = 0; i < ndyn && dyn[i].d_tag != DT_NULL; i++) {
        switch (dyn[i].d_tag) {
        case DT_INIT:
        case DT_FINI:
            return "a shared object with initialisation or finalisation code (_init/_fini): "
                   "a patch must be linked with -nostartfiles";
        case DT_INIT_ARRAYSZ:
        case DT_PREINIT_ARRAYSZ:
        case DT_FINI_ARRAYSZ:
            if (dyn[i].d_un.d_val)
                return "a shared object with constructors or destructors of its own; a patch "
                       "must have none (link it with -nostartfiles)";
            break;
        case DT_AUDIT:
        case DT_DEPAUDIT:
            return "a shared object that names an auditing library";
        case DT_NEEDED: {
            const char *lib = dyn[i].d_un.d_val < d->strsz
                                  ? str_at(e, d->strtab + dyn[i].d_un.d_val) : NULL;
            if (!lib)
                return "corrupt (a needed library has no name)";
            void *h = dlopen(lib, RTLD_LAZY | RTLD_NOLOAD);
            if (!h) {
                snprintf(why, n, "a patch that needs the library %s, which the process has "
                         "not loaded (loading it would run its initialisers)", lib);
                return why;
            }
            dlclose(h);
            break;
        }
        }
    }
    for (size_t i = 0; i < nrela; i++) {
        size_t s = DSU_R_SYM(rela[i].r_info);
        if (DSU_R_TYPE(rela[i].r_info) == DSU_R_IRELATIVE)
            return "a shared object with an IFUNC resolver, which would run when it is loaded";
        const ElfW(Sym) *sym = s ? sym_at(e, d, s) : NULL;
        if (s && !sym)
            return "corrupt (a relocation names a symbol outside the file)";
        if (sym && sym->st_shndx != SHN_UNDEF && DSU_ST_TYPE(sym->st_info) == STT_GNU_IFUNC)
            return "a shared object with an IFUNC resolver, which would run when it is loaded";
    }
    return NULL;
}

/* Checks the bytes B[0..SIZE) of a would-be patch before anything loads
 * it: an ELF shared object for this machine whose headers and segments
 * lie within the file (a mangled one can fault the dynamic loader), whose
 * loading runs none of its code, and that exports a dsu_patch record.
 * Fills PF from the record.  Returns NULL, or why the file is refused. */
static const char *validate_patch(const unsigned char *b, size_t size, struct patch_file *pf,
                                  char *why, size_t n)
{
    ElfW(Ehdr) eh;
    if (DSU_MACHINE == EM_NONE)
        return "a file this runtime cannot check: it knows the relocations of x86-64 and "
               "AArch64 only";
    if (size < sizeof eh || memcmp(b, ELFMAG, SELFMAG))
        return "not an ELF file";
    memcpy(&eh, b, sizeof eh);
    if (eh.e_ident[EI_CLASS] != (sizeof(void *) == 8 ? ELFCLASS64 : ELFCLASS32) ||
        eh.e_ident[EI_DATA] != (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB : ELFDATA2MSB))
        return "an ELF file for another kind of machine";
    if (eh.e_type != ET_DYN)
        return "not a shared object";
    if (eh.e_machine != DSU_MACHINE)
        return "a shared object for another architecture";
    if (eh.e_phentsize != sizeof(ElfW(Phdr)) || eh.e_phnum == 0 || eh.e_phoff % 8 ||
        eh.e_phoff > size || (size_t)eh.e_phnum * sizeof(ElfW(Phdr)) > size - eh.e_phoff)
        return "truncated or corrupt (program headers)";
    if (eh.e_shoff && (eh.e_shentsize != sizeof(ElfW(Shdr)) || eh.e_shoff > size ||
                       (size_t)eh.e_shnum * sizeof(ElfW(Shdr)) > size - eh.e_shoff))
        return "truncated or corrupt (section headers)";
    struct elf_view e = {b, size, (const ElfW(Phdr) *)(b + eh.e_phoff), eh.e_phnum};
    const ElfW(Phdr) *dynph = NULL;
    for (unsigned i = 0; i < e.nph; i++) {
        const ElfW(Phdr) *ph = &e.ph[i];
        if (ph->p_filesz && (ph->p_offset > size || ph->p_filesz > size - ph->p_offset)) {
            snprintf(why, n, "truncated or corrupt: segment %u needs bytes up to %llu, "
                     "the file has %llu", i, (unsigned long long)(ph->p_offset + ph->p_filesz),
                     (unsigned long long)size);
            return why;
        }
        if (ph->p_type == PT_LOAD && ph->p_filesz > ph->p_memsz)
            return "corrupt (a segment larger on file than in memory)";
        if (ph->p_type == PT_DYNAMIC)
            dynph = ph;
    }
    if (!dynph || dynph->p_offset % 8)
        return "not a shared object the dynamic loader can link (no dynamic section)";
    const ElfW(Dyn) *dyn = (const ElfW(Dyn) *)(b + dynph->p_offset);
    size_t ndyn = dynph->p_filesz / sizeof *dyn;
    struct dynsyms d = {0};
    ElfW(Addr) rela_at = 0, jmprel_at = 0;
    size_t relasz = 0, jmprelsz = 0;
    for (size_t i = 0; i < ndyn && dyn[i].d_tag != DT_NULL; i++) {
        ElfW(Addr) v = dyn[i].d_un.d_ptr;
        switch (dyn[i].d_tag) {
        case DT_SYMTAB: d.symtab = v; break;
        case DT_STRTAB: d.strtab = v; break;
        case DT_STRSZ: d.strsz = v; break;
        case DT_GNU_HASH: d.gnu_hash = v; break;
        case DT_HASH: d.hash = v; break;
        case DT_RELA: rela_at = v; break;
        case DT_RELASZ: relasz = v; break;
        case DT_JMPREL: jmprel_at = v; break;
        case DT_PLTRELSZ: jmprelsz = v; break;
        case DT_REL:
            return "a shared object with REL relocations, which this runtime does not check";
        case DT_SYMENT:
            if (v != sizeof(ElfW(Sym)))
                return "corrupt (symbol size)";
            break;
        }
    }
    if (!d.symtab || !d.strtab || !at_addr(&e, d.strtab, d.strsz))
        return "corrupt (no dynamic symbol or string table)";
    /* .rela.dyn and .rela.plt are usually adjacent: DT_RELASZ may cover both */
    const ElfW(Rela) *rela = relasz ? at_addr(&e, rela_at, relasz) : NULL;
    const ElfW(Rela) *jmprel = jmprelsz ? at_addr(&e, jmprel_at, jmprelsz) : NULL;
    if ((relasz && (!rela || relasz % sizeof *rela)) || (jmprelsz && (!jmprel || jmprelsz % sizeof *jmprel)))
        return "corrupt (relocations)";
    const char *bad = check_load_runs_nothing(&e, dyn, ndyn, &d, rela, relasz / sizeof *rela,
                                              why, n);
    if (!bad)
        bad = check_load_runs_nothing(&e, dyn, 0, &d, jmprel, jmprelsz / sizeof *jmprel, why, n);
    if (bad)
        return bad;
    const ElfW(Sym) *sym = find_sym(&e, &d, "dsu_patch");
    if (!sym || sym->st_shndx == SHN_UNDEF)
        return "not a dsu patch (it defines no dsu_patch)";
    const struct dsu_patch *rec = at_addr(&e, sym->st_value, offsetof(struct dsu_patch, to_version));
    if (DSU_ST_TYPE(sym->st_info) != STT_OBJECT || sym->st_size < sizeof(struct dsu_patch) ||
        !rec)
        return "not a dsu patch (its dsu_patch is not a patch record held in the file)";
    pf->record = sym->st_value;
    pf->magic = rec->magic;
    pf->abi = rec->abi;
    static const size_t fields[3] = {offsetof(struct dsu_patch, program),
                                     offsetof(struct dsu_patch, from_version),
                                     offsetof(struct dsu_patch, from_id)};
    const char **strs[3] = {&pf->program, &pf->from_version, &pf->from_id};
    for (int i = 0; i < 3; i++) {
        ElfW(Addr) a;
        *strs[i] = NULL;
        if (pointer_at(&e, rela, relasz / sizeof *rela, sym->st_value + fields[i], &a) == 0 && a)
            *strs[i] = str_at(&e, a);
    }
    return NULL;
}

/* Reads the whole file FD (SIZE bytes) into memory: what is checked is
 * then what gets loaded (from a sealed copy, see sealed_copy).  The bytes
 * are a mapping of their own, given back whole by release_all: a patch
 * is often a megabyte, and from malloc it would stay in the heap of the
 * process after each update. */
static unsigned char *read_all(int fd, size_t size)
{
    unsigned char *b = mmap(NULL, size ? size : 1, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (b == MAP_FAILED)
        return NULL;
    for (size_t got = 0; got < size;) {
        ssize_t r = pread(fd, b + got, size - got, (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            int e = r == 0 ? EIO : errno; /* it shrank */
            munmap(b, size ? size : 1);
            errno = e;
            return NULL;
        }
        got += (size_t)r;
    }
    return b;
}

/* Gives back what read_all (SIZE bytes) read. */
static void release_all(unsigned char *b, size_t size)
{
    if (b)
        munmap(b, size ? size : 1);
}

/* A memory file holding B[0..SIZE), sealed against every change, for the
 * dynamic loader to map: nobody can alter the bytes after they were
 * checked.  -1 with errno set when the kernel offers no such file. */
static int sealed_copy(const unsigned char *b, size_t size)
{
    int fd = (int)syscall(SYS_memfd_create, "dsu-patch", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return -1;
    for (size_t put = 0; put < size;) {
        ssize_t w = write(fd, b + put, size - put);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int e = w == 0 ? EIO : errno;
            close(fd);
            errno = e;
            return -1;
        }
        put += (size_t)w;
    }
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
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
