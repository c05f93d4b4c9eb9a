/* dsu_internal.h -- the binary contract between generated code and the
 * dsu runtime.  Generated program code, generated patches and the runtime
 * include this header; user code never does.
 *
 * The running program describes itself in a table: every definition the
 * updateability pass made patchable (functions with their slots, global
 * and promoted static variables) contributes one `struct dsu_sym` to the
 * section "dsu_syms".  A patch binds to the program only through that
 * table, by name and type hash, so a patch applies the same way to a fresh
 * build of its base version and to an older build patched up to it.
 */
#ifndef DSU_INTERNAL_H
#define DSU_INTERNAL_H

#define DSU_PATCH_MAGIC 0x50555344u /* "DSUP" */
#define DSU_ABI_VERSION 1u

enum dsu_kind {
    DSU_FUNC = 1, /* a function: slot = where calls go, addr = its stub */
    DSU_VAR = 2   /* a variable: addr = its storage */
};

/* How a patch wants an imported definition. */
enum dsu_import_kind {
    DSU_IMPORT_SLOT = 1, /* cell := the function's slot (to call it) */
    DSU_IMPORT_STUB = 2, /* cell := the function's stub (its address) */
    DSU_IMPORT_VAR = 3   /* cell := the variable's storage */
};

/* One definition, in the program's table or among a patch's new ones. */
struct dsu_sym {
    const char *name;      /* link name: plain, or mangled for statics */
    const char *type_hash; /* hash of the canonical type (and const value) */
    const char *file;      /* defining source file, for messages */
    unsigned kind;         /* enum dsu_kind */
    unsigned size;         /* DSU_VAR: sizeof the object; 0 otherwise */
    void **slot;           /* DSU_FUNC: the slot every call goes through */
    void *addr;            /* DSU_FUNC: stub; DSU_VAR: storage */
};

/* Something a patch uses from the running program. */
struct dsu_import {
    const char *name;
    const char *type_hash;
    unsigned kind; /* enum dsu_import_kind */
    void **cell;   /* filled by the runtime before anything changes */
};

/* A function of the running program that gets a new body. */
struct dsu_update {
    const char *name;
    const char *type_hash;
    void *body;
};

/* Exported by every patch as `dsu_patch`.  Arrays may be empty. */
struct dsu_patch {
    unsigned magic; /* DSU_PATCH_MAGIC */
    unsigned abi;   /* DSU_ABI_VERSION */
    const char *program;
    const char *from_version, *from_id; /* the version it applies to */
    const char *to_version, *to_id;     /* the version it makes */
    const struct dsu_sym *defs;
    unsigned ndefs;
    const struct dsu_import *imports;
    unsigned nimports;
    const struct dsu_update *updates;
    unsigned nupdates;
    const char *summary; /* human-readable, one line per change */
};

/* Each updateable program links one generated object that defines: */
extern const char dsu__program_name[];
extern const char dsu__program_version[]; /* e.g. "v1" */
extern const char dsu__program_version_id[]; /* content hash of v1 */

#endif /* DSU_INTERNAL_H */
