"""Records of the runtime's ABI (runtime/include/dsu_internal.h) as C text.

Generated program code and generated patches describe themselves to the
runtime in records: table entries, transformers, the patch descriptor.
Every one of them is written here, as a designated initialiser
(`{.name = "x", .kind = DSU_VAR, ...}`), from the field names listed
once below.  A field added to a struct of the header then cannot shift
the others; a field renamed or removed makes the generated C fail to
compile (tests/test_records.py compiles every kind against the header
and checks that the lists below name every field it has).
"""

from .literals import c_string

# struct name in dsu_internal.h -> its fields, in the header's order
FIELDS = {
    'dsu_sym': ('name', 'type_hash', 'file', 'kind', 'size', 'slot', 'addr'),
    'dsu_import': ('name', 'type_hash', 'kind', 'cell'),
    'dsu_update': ('name', 'type_hash', 'body'),
    'dsu_type': ('name', 'layout', 'tag', 'size', 'tag_offset', 'reserved'),
    'dsu_size': ('tag', 'size', 'tag_offset'),
    'dsu_xform': ('type', 'from_layout', 'to_layout', 'from_tag', 'to_tag', 'size',
                  'tag_offset', 'convert'),
    'dsu_state': ('name', 'transform'),
    'dsu_point': ('file', 'line', 'reserved', 'function', 'restricted'),
    'dsu_patch': ('magic', 'abi', 'program', 'from_version', 'from_id', 'to_version',
                  'to_id', 'defs', 'ndefs', 'imports', 'nimports', 'updates', 'nupdates',
                  'summary', 'xforms', 'nxforms', 'states', 'nstates', 'points',
                  'npoints', 'types', 'ntypes'),
}


def record(struct, /, **values):
    """The initialiser of one `struct STRUCT`: VALUES maps field names to C
    expressions (text).  Fields left out are zero, as C says."""
    fields = FIELDS[struct]
    unknown = set(values) - set(fields)
    if unknown:
        raise ValueError('struct %s has no field %s' % (struct, ', '.join(sorted(unknown))))
    return '{%s}' % ', '.join('.%s = %s' % (f, values[f]) for f in fields if f in values)


def section_table(entries, section, kind, prefix, const=False):
    """Static records that the linker gathers into one array per section
    (__start_SECTION .. __stop_SECTION)."""
    return ''.join(
        'static %sstruct %s __dsu_%s_%d __attribute__((used, section("%s"), '
        'aligned(8))) = %s;\n' % ('const ' if const else '', kind, prefix, i, section, init)
        for i, init in enumerate(entries))


def var_sym(ent, storage):
    """The table entry of variable ENT (model.tu.Entity), whose storage is
    the C object named STORAGE."""
    return record('dsu_sym', name=c_string(ent.link), type_hash=c_string(ent.hash),
                  file=c_string(ent.file), kind='DSU_VAR', size='sizeof(%s)' % storage,
                  addr='(void *)&%s' % storage)


def func_sym(ent, slot, stub):
    """The table entry of function ENT, called through SLOT, whose address
    is STUB (both C names)."""
    return record('dsu_sym', name=c_string(ent.link), type_hash=c_string(ent.hash),
                  file=c_string(ent.file), kind='DSU_FUNC', slot='(void **)&%s' % slot,
                  addr='__extension__ (void *)&%s' % stub)
    # (a function's address as void * is POSIX, not ISO C: __extension__
    # keeps -pedantic quiet about it)


def import_record(name, type_hash, kind, cell):
    """A patch's import of NAME (KIND: a DSU_IMPORT_* constant) into CELL."""
    return record('dsu_import', name=c_string(name), type_hash=c_string(type_hash),
                  kind=kind, cell='(void **)&%s' % cell)
