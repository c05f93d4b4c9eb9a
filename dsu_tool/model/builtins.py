"""Library functions gcc knows as builtins.

gcc optimises a call to such a function by its name: `printf("x\\n")`
becomes `puts`, `__fprintf_chk` becomes `fputs`, `strlen` of a constant
folds.  When the program defines a function with one of these names, the
ordinary build's behaviour depends on which calls gcc keeps; calling it
through a slot would keep them all.  So calls to such functions stay
calls by name (through the forwarding stub, so a patch still reaches
them).
"""

import re

_NAMES = '''
_exit abort abs acos acosf acosh acoshf acoshl acosl alloca asin asinf asinh asinhf
asinhl asinl atan atan2 atan2f atan2l atanf atanh atanhf atanhl atanl bcmp bcopy bzero
cabs calloc cbrt cbrtf cbrtl ceil ceilf ceill copysign copysignf copysignl cos cosf cosh
coshf coshl cosl erf erfc exit exp exp2 exp2f exp2l expf expl expm1 fabs fabsf fabsl
fdim ffs floor floorf floorl fma fmax fmin fmod fmodf fmodl fprintf fputc fputs fread
free frexp fscanf fwrite hypot ilogb imaxabs index isalnum isalpha isascii isblank
iscntrl isdigit isgraph islower isprint ispunct isspace isupper isxdigit labs ldexp
lgamma llabs llrint llround log log10 log1p log2 logb lrint lround malloc memchr memcmp
memcpy memmove mempcpy memset modf nearbyint nextafter pow powf powl printf putchar puts
realloc remainder rindex rint round scalbn scanf sin sinf sinh sinhf sinhl sinl snprintf
sprintf sqrt sqrtf sqrtl sscanf stpcpy stpncpy strcasecmp strcat strchr strcmp strcpy
strcspn strdup strfmon strlen strncasecmp strncat strncmp strncpy strndup strnlen strpbrk
strrchr strspn strstr tan tanf tanh tanhf tanhl tanl tgamma toascii tolower toupper
trunc vfprintf vfscanf vprintf vscanf vsnprintf vsprintf vsscanf
'''.split()

BUILTIN_NAMES = frozenset(_NAMES)
_CHECKED = re.compile(r'^__\w+_chk$')


def is_builtin_name(name):
    return name in BUILTIN_NAMES or bool(_CHECKED.match(name))
