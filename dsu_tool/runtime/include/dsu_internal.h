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
#define DSU_ABI_VERSION 4u

enum dsu_kind {
    DSU_FUNC = 1, /* a function: slot = where calls go, addr = its stub */
    DSU_VAR = 2   /* a variable: addr = its storage */
};

/* How a patch wants an imported definition. */
enum dsu_import_kind {
    DSU_IMPORT_SLOT = 1, /* cell := the function's slot (to call it) */
    DSU_IMPORT_STUB = 2, /* cell := the function's stub (its address) */
    DSU_IMPORT_VAR = 3,  /* cell := the variable's storage */
    DSU_IMPORT_TYPE = 4  /* cell := the runtime's state of a wrapped type;
                            type_hash is the layout the patch's code was
                            compiled for */
};

/* A struct type the program keeps wrapped, so that its layout can change.
 * Every object of it is laid out as
 *     struct T { union { struct { fields }; unsigned char room[R]; };
 *                unsigned int tag; };
 * The size and the tag's offset stay the same in every version; the tag
 * says which layout the object is in (0 or anything unknown: the layout
 * the program was built with).  The program lists its wrapped types in
 * the section "dsu_types". */
struct dsu_type {
    const char *name;      /* key: "struct client@net.h" */
    const char *layout;    /* hash of the layout */
    unsigned tag;          /* the tag value of that layout (never 0) */
    unsigned size;         /* sizeof the wrapped type */
    unsigned tag_offset;   /* offsetof the tag */
    unsigned reserved;
};

/* The measured layout of a wrapped type, one per type and object in the
 * section "dsu_sizes"; the compiler wrapper and the patch generator read
 * it back from the object (the linker may reorder the entries: each
 * names its type by its tag). */
struct dsu_size {
    unsigned long tag;
    unsigned long size;
    unsigned long tag_offset;
};

/* The runtime's state of a wrapped type, as patch code sees it through a
 * DSU_IMPORT_TYPE cell: `changed` is non-zero once a patch has changed the
 * type's layout in this process; only then must code check tags. */
struct dsu_type_state {
    int changed;
};

/* Converts the object at OBJ, in place, from the layout its tag names to
 * the layout whose tag is TARGET, through every transformer applied so far.
 * Called by patch code; exported by updateable programs. */
void dsu__convert(struct dsu_type_state *type, void *obj, unsigned target);

/* A type transformer in a patch: converts one object in place. */
struct dsu_xform {
    const char *type;                  /* dsu_type.name */
    const char *from_layout, *to_layout;
    unsigned from_tag, to_tag;
    unsigned size, tag_offset;         /* must equal the running program's */
    int (*convert)(void *obj);         /* 0 on success */
};

/* A state transformer: fills a global the patch gives new storage (its type
 * changed) from the old one.  Run by the program's thread at the update
 * point before anything else changes; a non-zero result rejects the patch
 * and nothing is changed. */
struct dsu_state {
    const char *name;
    int (*transform)(void);
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

/* An update point (a DSU_update() call site) and the wrapped types that
 * code which may still be running after it uses concretely (reads or
 * writes their fields): the frame holding the point and every function
 * that may be below it on the stack.  A patch that changes one of these
 * types is not applied at this point; it waits for a point where it is
 * safe.  The program lists its points in the section "dsu_points"; a
 * patch lists the points of the version it makes. */
struct dsu_point {
    const char *file;
    unsigned line;
    unsigned reserved;
    const char *function;
    const char *const *restricted; /* NULL-terminated dsu_type names */
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
    const struct dsu_xform *xforms; /* in the order they apply */
    unsigned nxforms;
    const struct dsu_state *states;
    unsigned nstates;
    const struct dsu_point *points; /* of the version the patch makes */
    unsigned npoints;
    /* Wrapped types the patch introduces: the runtime knows them from
     * then on, as if the program had listed them, so that later patches
     * can change them.  A type the process already has must agree. */
    const struct dsu_type *types;
    unsigned ntypes;
};

/* Each updateable program links one generated object that defines: */
extern const char dsu__program_name[];
extern const char dsu__program_version[]; /* e.g. "v1" */
extern const char dsu__program_version_id[]; /* content hash of v1 */

#endif /* DSU_INTERNAL_H */
