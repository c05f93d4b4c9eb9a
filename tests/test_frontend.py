"""The pass on single units: what it keeps, what it refuses, where it
points, and that the updateable code computes what the original does
(loaded in-process with cffi)."""

import os
import subprocess
import sys
import textwrap

import pytest

from dsu_tool.codegen.unit import RUNTIME_INCLUDE
from dsu_tool.frontend.errors import DsuError
from dsu_tool.frontend.preprocess import preprocess
from dsu_tool.passes.driver import transform_pre


def transform(tmp_path, source, name='unit.c', args=()):
    """Run the pass as `scons dsu=1` does (functions it cannot rewrite
    are compiled as written: frontend.aswritten)."""
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    pre = preprocess('gcc', list(args), str(path), str(tmp_path), cwd=str(tmp_path))
    _, text, model = transform_pre(pre, name, str(tmp_path / (name + '.dsu.c')))
    out = tmp_path / (name + '.dsu.c')
    out.write_text(text)
    return str(path), str(out), text, model


RUNTIME_C = os.path.join(os.path.dirname(RUNTIME_INCLUDE), 'dsu_runtime.c')
VERSION_C = ('const char dsu__program_name[] = "t", dsu__program_version[] = "v1",'
             ' dsu__program_version_id[] = "x";\n')


def build_and_run(tmp_path, src, exe):
    subprocess.run(['gcc', '-O2', '-Wall', '-o', str(tmp_path / exe), src],
                   check=True, cwd=str(tmp_path))
    return subprocess.run([str(tmp_path / exe)], capture_output=True, text=True,
                          check=True).stdout


def build_and_run_updateable(tmp_path, generated, exe='dsu', shared=False):
    """Link generated code with the runtime, as `scons dsu=1` does."""
    version = tmp_path / 'version.c'
    version.write_text(VERSION_C)
    out = str(tmp_path / exe)
    subprocess.run(['gcc', '-O2', '-Wall', '-pthread', '-I', RUNTIME_INCLUDE,
                    '-DDSU_UPDATEABLE', '-o', out, generated, RUNTIME_C, str(version),
                    '-ldl'] + (['-shared', '-fPIC'] if shared else []), check=True)
    if shared:
        return out
    return subprocess.run([out], capture_output=True, text=True, check=True).stdout


ATTRIBUTES = '''
    #include <stdio.h>
    #include <stddef.h>
    struct __attribute__((packed)) wire { char tag; int value; };
    struct tail { char c; long long x; } __attribute__((aligned(32)));
    struct field { char c; int x __attribute__((aligned(16))); };
    static int counter __attribute__((aligned(64)));
    __attribute__((noinline)) static int twice(int x) { return 2 * x; }
    static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
    static void say(const char *fmt, ...) { (void)fmt; }
    static int ignore(int used, int spare __attribute__((unused))) { return used; }
    int main(void)
    {
        say("%d", 1);
        printf("%zu %zu %zu %zu %d %d %d\\n", sizeof(struct wire), _Alignof(struct tail),
               offsetof(struct field, x), (size_t)&counter % 64, twice(3), ignore(4, 5),
               counter);
        return 0;
    }
'''


def test_attributes_of_the_program_are_kept(tmp_path):
    src, out, text, _ = transform(tmp_path, ATTRIBUTES)
    for attr in ('packed', 'aligned(32)', 'aligned(16)', 'aligned(64)', 'noinline',
                 'format(printf, 1, 2)', 'unused'):
        assert attr in text, attr
    assert build_and_run(tmp_path, src, 'plain') == '5 32 16 0 6 4 0\n'
    assert build_and_run_updateable(tmp_path, out) == '5 32 16 0 6 4 0\n'


def test_inline_assembly_is_kept_with_renamed_operands(tmp_path):
    src, out, text, _ = transform(tmp_path, '''
        #include <stdio.h>
        extern int absolute(int) __asm__("abs");
        static int counter;
        int main(void)
        {
            int y;
            counter = 2;
            __asm__ volatile ("" : : : "memory");
            __asm__ ("movl %1, %0" : "=r" (y) : "r" (5 + counter));
            printf("%d %d\\n", y, absolute(-3));
            return 0;
        }
    ''')
    assert '"r" (5 + counter__dsu_unit_c_' in text
    assert 'extern int absolute(int) __asm__("abs")' in text
    assert build_and_run(tmp_path, src, 'plain') == '7 3\n'
    assert build_and_run_updateable(tmp_path, out) == '7 3\n'


AS_WRITTEN_MAIN = '''
int main(void)
{
    printf("%d %d\\n", f(2), other(3));
    return 0;
}
'''


@pytest.mark.parametrize('code, construct', [
    ('int f(int x) { __typeof__(x) y = x; return y; }', 'typeof'),
    ('int f(int x) { __label__ l; if (x) goto l; return 0; l: return x; }', '__label__'),
    ('int f(int x) { l: if (!x) __asm__ goto("jmp %l0" :::: l); return x; }', 'asm goto'),
    ('int f(int x) { return _Generic(x, int: x, default: 0); }', '_Generic'),
    ('int f(int x) { return x ?: 7; }', 'a ?: b'),
    ('int f(int x) { static void *l[] = { &&a }; goto *l[0]; a: return x; }',
     'labels as values'),
    ('int f(int x) { int g(int y) { return y + x; } return g(1); }', 'nested function'),
    ('int f(int x) { switch (x) { case 1 ... 3: return 1; } return x; }', 'case ranges'),
    ('int f(int x) { __auto_type y = x; return y; }', '__auto_type'),
    ('int f(int x) { switch (x) { case 2: x++; __attribute__((fallthrough)); '
     'case 3: x++; } return x; }', 'cannot tell which declaration'),
    ('int f(int x) { int \u00e9t\u00e9 = x; return \u00e9t\u00e9; }', 'has characters outside ASCII'),
])
def test_function_with_unsupported_construct_is_compiled_as_written(
        tmp_path, code, construct):
    """The function is emitted as written and recorded with the reason
    and line; the rest of the unit stays updateable."""
    src, out, text, model = transform(
        tmp_path, '#include <stdio.h>\nstatic int other(int x) { return x + 1; }\n\n'
        + code + '\n' + AS_WRITTEN_MAIN)
    f = model.entities['f']
    assert construct in f.as_written
    assert [e.name for e in model.patchable_functions()] == ['other', 'main']
    assert 'int f(int x) {' in text          # its own text, not regenerated
    expected = build_and_run(tmp_path, src, 'plain')
    assert build_and_run_updateable(tmp_path, out) == expected


@pytest.mark.parametrize('code, construct', [
    ('int x; __typeof__(x) f(void) { return x; }', 'typeof'),
    ('int f(int a[_Generic(1, int: 2, default: 3)]) { return a[0]; }', '_Generic'),
])
def test_unsupported_construct_in_a_function_header_is_refused_at_its_line(
        tmp_path, code, construct):
    with pytest.raises(DsuError) as e:
        transform(tmp_path, '#include <stdio.h>\n\n' + code + '\n')
    assert e.value.line == 3 and construct in str(e.value)


def test_parse_error_is_located_in_the_users_file(tmp_path):
    # in a function's parameters: neither a body nor a declaration the
    # pass could keep as written
    (tmp_path / 'defs.h').write_text('int ok(void);\n')
    with pytest.raises(DsuError) as e:
        transform(tmp_path, '#include "defs.h"\nint a = 1;\n\nint b(int x y) { return 0; }'
                  '\nint c;\n')
    assert e.value.file.endswith('unit.c')
    assert e.value.line == 4


def test_system_headers_are_included_not_regenerated(tmp_path):
    (tmp_path / 'local.h').write_text('#include <string.h>\n#define LOCAL 1\n')
    _, _, text, _ = transform(tmp_path, '''
        #define _GNU_SOURCE
        #include <stdio.h>
        #include <sys/socket.h>
        #include "local.h"
        int main(void) { return EXIT_CODE; }
    ''', args=['-DEXIT_CODE=3'])
    head = text.split('#line', 1)[0]
    assert head.index('#define _GNU_SOURCE') < head.index('#include <stdio.h>') \
        < head.index('#include <sys/socket.h>') < head.index('#include <string.h>') \
        < head.index('#define LOCAL 1')
    assert 'struct sockaddr' not in text      # no system declaration regenerated
    assert 'return 3;' in text


def test_gnu_spellings_and_builtins_round_trip(tmp_path):
    src, out, text, _ = transform(tmp_path, '''
        #include <stdarg.h>
        #include <stddef.h>
        #include <stdio.h>
        struct s { int a; char b[4]; };
        static __inline__ int first(int n, ...)
        {
            va_list ap; va_start(ap, n);
            int v = va_arg(ap, int);
            va_end(ap);
            return v;
        }
        static __int128 big(void) { return (__int128)1 << 100; }
        static unsigned __int128 ubig(void) { return ~(unsigned __int128)0; }
        int old_style(a, b) int a; char *b; { return a + b[0]; }
        static __thread int tls = 7;
        int main(void)
        {
            char z[] = "0";
            printf("%d %zu %d %d %d %d\\n", first(2, 41, 5), offsetof(struct s, b),
                   (int)(big() >> 99), (int)(ubig() & 0xff), old_style(1, z), tls);
            return 0;
        }
    ''')
    assert build_and_run(tmp_path, src, 'plain') == '41 4 2 255 49 7\n'
    assert build_and_run_updateable(tmp_path, out) == '41 4 2 255 49 7\n'


EQUIVALENCE = '''
    #include <stdlib.h>
    #include <string.h>
    struct pair { int a, b; };
    static int calls;
    static int fact(int n) { return n <= 1 ? 1 : n * fact(n - 1); }
    static int by_value(struct pair p) { return p.a * 10 + p.b; }
    static struct pair swap(struct pair p) { struct pair q = { p.b, p.a }; return q; }
    static int cmp(const void *x, const void *y) { return *(const int *)x - *(const int *)y; }
    int count(void) { static int n; return ++n + calls; }
    int compute(int x)
    {
        int v[4] = { x, 3, -x, 1 };
        struct pair p = { x, x + 1 };
        calls++;
        qsort(v, 4, sizeof v[0], cmp);
        return fact(x % 7) + by_value(swap(p)) + v[0] * 1000 + count();
    }
'''


def test_updateable_library_unloaded_leaves_the_process_running(tmp_path):
    """An updateable shared object pins itself: unloading it (dlclose)
    would unmap the code its control thread runs, which wakes within a
    second and would crash the process."""
    pytest.importorskip('cffi')
    _, out, _, _ = transform(tmp_path, EQUIVALENCE)
    dsu_so = build_and_run_updateable(tmp_path, out, 'dsu.so', shared=True)
    script = ('import cffi, sys, time\n'
              'ffi = cffi.FFI()\n'
              'ffi.cdef("int compute(int x);")\n'
              'lib = ffi.dlopen(sys.argv[1])\n'
              'lib.compute(1)\n'
              'ffi.dlclose(lib)\n'
              'time.sleep(2.5)\n'
              'print("alive")\n')
    r = subprocess.run([sys.executable, '-c', script, dsu_so], capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0 and r.stdout == 'alive\n', (r.returncode, r.stderr)


def test_updateable_code_computes_the_same_in_process(tmp_path):
    """Both builds as shared objects, loaded with cffi, called side by side."""
    cffi = pytest.importorskip('cffi')
    src, out, _, _ = transform(tmp_path, EQUIVALENCE)
    plain_so = str(tmp_path / 'plain.so')
    subprocess.run(['gcc', '-O2', '-shared', '-fPIC', '-o', plain_so, src], check=True)
    dsu_so = build_and_run_updateable(tmp_path, out, 'dsu.so', shared=True)
    ffi = cffi.FFI()
    ffi.cdef('int compute(int x); int count(void);')
    plain = ffi.dlopen(plain_so)
    dsu = ffi.dlopen(dsu_so)
    for x in range(-20, 60):
        assert plain.compute(x) == dsu.compute(x)
    assert plain.count() == dsu.count()
    # every call of the updateable one went through a slot: the stub that
    # cffi called is not the body
    nm = subprocess.run(['nm', dsu_so], capture_output=True, text=True).stdout
    assert '__dsu_slot_compute' in nm and '__dsu_body_compute' in nm


def test_structs_an_as_written_function_uses_are_kept_unwrapped(tmp_path):
    """Its code reads fields and sizes as written, with none of what the
    passes do for a wrapped struct: the structs it names (and those they
    hold) keep the ordinary layout; the others are still wrapped."""
    src, out, text, model = transform(tmp_path, '''
        #include <stdio.h>
        #include <string.h>
        struct inner { int a; int b; };
        typedef struct outer { struct inner in; long c; } outer_t;
        struct other { int z; };
        static outer_t last;
        static struct other seen;
        static size_t copy(void *dst)
        {
            int add(int k) { return k + 1; }
            outer_t o = { { add(1), 3 }, 4 };
            memcpy(dst, &o, sizeof o);
            last = o;
            return sizeof(outer_t);
        }
        int main(void)
        {
            char buf[64];
            size_t n = copy(buf);
            seen.z = 5;
            printf("%zu %d %d %ld %d\\n", n, last.in.a, last.in.b, last.c, seen.z);
            return 0;
        }
    ''')
    wrapped = {d.name: d.wrapped for d in model.structs}
    assert wrapped == {'struct inner': False, 'struct outer': False, 'struct other': True}
    assert {r['name'] for r in model.require_fixed} == {'struct inner', 'struct outer'}
    assert 'compiled as written' in model.require_fixed[0]['reason']
    expected = build_and_run(tmp_path, src, 'plain')
    assert expected == '16 2 3 4 5\n'
    assert build_and_run_updateable(tmp_path, out) == expected


def test_declarations_the_parser_cannot_take_are_kept_as_written(tmp_path):
    """Outside functions, a declaration holding a construct the pass cannot
    take is emitted as written and recorded; the structs it names keep the
    ordinary layout; the functions stay updateable."""
    src, out, text, model = transform(tmp_path, '''
        #include <stdio.h>
        struct pair { _Complex double z; int n; };
        static struct pair p = { 1.0 + 2.0i, 3 };
        int pick = __builtin_choose_expr(1, 4, 5.0);
        float sized[__builtin_types_compatible_p(int, __typeof__(pick)) + 1];
        static int count(void) { return pick + 1; }
        int main(void)
        {
            printf("%g %g %d %d %zu\\n", __real__ p.z, __imag__ p.z, p.n, count(),
                   sizeof sized);
            return 0;
        }
    ''')
    assert '{ 1.0 + 2.0i, 3 }' in text
    assert [d.wrapped for d in model.structs] == [False]
    recorded = {r['name']: r for r in model.require_fixed}
    assert 'declaration \'p\'' in recorded['struct pair']['reason']
    assert [e.name for e in model.patchable_functions()] == ['count']
    assert '__real__' in model.entities['main'].as_written
    expected = build_and_run(tmp_path, src, 'plain')
    assert expected == '1 2 3 5 8\n'
    assert build_and_run_updateable(tmp_path, out) == expected


def test_variable_aliasing_a_static_names_its_new_name(tmp_path):
    """The pass gives file statics external names of their own; an alias
    of one must name the new name (a variable's own symbol is unchanged)."""
    src, out, text, model = transform(tmp_path, '''
        #include <stdio.h>
        static int a = 1;
        extern int b __attribute__((alias("a")));
        int main(void)
        {
            b++;
            printf("%d %d\\n", a, b);
            return 0;
        }
    ''')
    assert 'alias("%s")' % model.entities['a'].link in text
    # b is a definition (of the same object): in the table, for patches
    assert {e.name for e in model.variables()} == {'a', 'b'}
    expected = build_and_run(tmp_path, src, 'plain')
    assert expected == '2 2\n'
    assert build_and_run_updateable(tmp_path, out) == expected


@pytest.mark.skipif(os.uname().machine != 'x86_64', reason='names an x86-64 register')
def test_global_register_variable_is_not_in_the_table(tmp_path):
    """It has no address: a table entry taking one would not compile."""
    src, out, text, model = transform(tmp_path, '''
        #include <stdio.h>
        register long kept asm ("r15");
        static int f(void) { kept = 4; return (int)kept; }
        int main(void)
        {
            printf("%d\\n", f());
            return 0;
        }
    ''')
    expected = build_and_run(tmp_path, src, 'plain')
    assert expected == '4\n'
    assert build_and_run_updateable(tmp_path, out) == expected


def test_keywords_respelled_outside_literals_only(tmp_path):
    """`inline` and `restrict` get their GNU spelling (every -std mode
    takes it); a string that holds the words prints them unchanged."""
    src, out, text, _ = transform(tmp_path, '''
        #include <stdio.h>
        static inline int twice(int *restrict p) { return 2 * *p; }
        int main(void)
        {
            int x = 2;
            printf("inline restrict %d %c\\n", twice(&x), 'i');
            return 0;
        }
    ''', args=['-std=c99'])
    assert '__inline__' in text and '__restrict' in text
    expected = build_and_run(tmp_path, src, 'plain')
    assert expected == 'inline restrict 4 i\n'
    assert build_and_run_updateable(tmp_path, out) == expected
