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


# The functions of the C standard library (C11, clause 7): their names
# are reserved for it as external identifiers (7.1.3), so a program that
# calls one by name calls the library's, even where it declared the
# function itself (`void abort(void);`) instead of including the header.
_MATH = '''acos asin atan atan2 cos sin tan acosh asinh atanh cosh sinh tanh exp exp2
expm1 frexp ilogb ldexp log log10 log1p log2 logb modf scalbn scalbln cbrt fabs hypot
pow sqrt erf erfc lgamma tgamma ceil floor nearbyint rint lrint llrint round lround
llround trunc fmod remainder remquo copysign nan nextafter nexttoward fdim fmax fmin
fma'''.split()
_COMPLEX = '''cabs cacos cacosh carg casin casinh catan catanh ccos ccosh cexp cimag clog
conj cpow cproj creal csin csinh csqrt ctan ctanh'''.split()
_STANDARD = '''
isalnum isalpha isblank iscntrl isdigit isgraph islower isprint ispunct isspace isupper
isxdigit tolower toupper feclearexcept fegetexceptflag feraiseexcept fesetexceptflag
fetestexcept fegetround fesetround fegetenv feholdexcept fesetenv feupdateenv imaxabs
imaxdiv strtoimax strtoumax wcstoimax wcstoumax setlocale localeconv longjmp signal raise
remove rename tmpfile tmpnam fclose fflush fopen freopen setbuf setvbuf fprintf fscanf
printf scanf snprintf sprintf sscanf vfprintf vfscanf vprintf vscanf vsnprintf vsprintf
vsscanf fgetc fgets fputc fputs getc getchar gets putc putchar puts ungetc fread fwrite
fgetpos fseek fsetpos ftell rewind clearerr feof ferror perror atof atoi atol atoll
strtod strtof strtold strtol strtoll strtoul strtoull rand srand aligned_alloc calloc
free malloc realloc abort atexit at_quick_exit exit _Exit getenv quick_exit system
bsearch qsort abs labs llabs div ldiv lldiv mblen mbtowc wctomb mbstowcs wcstombs memcpy
memmove strcpy strncpy strcat strncat memcmp strcmp strcoll strncmp strxfrm memchr
strchr strcspn strpbrk strrchr strspn strstr strtok memset strerror strlen clock
difftime mktime time asctime ctime gmtime localtime strftime timespec_get btowc wctob
mbrtowc wcrtomb mbsinit mbrlen mbsrtowcs wcsrtombs wcslen wcscpy wcsncpy wcscat wcsncat
wcscmp wcsncmp wcschr wcsrchr wcsstr wcstol wcstoul wcstod fwprintf wprintf swprintf
vfwprintf vwprintf vswprintf fwscanf wscanf swscanf fgetwc fgetws fputwc fputws getwc
getwchar putwc putwchar ungetwc fwide wmemcpy wmemmove wmemset wmemcmp wmemchr
iswalnum iswalpha iswblank iswcntrl iswdigit iswgraph iswlower iswprint iswpunct
iswspace iswupper iswxdigit towlower towupper wctype iswctype wctrans towctrans
'''.split()
STANDARD_NAMES = frozenset(_STANDARD + _COMPLEX + [n + s for n in _MATH + _COMPLEX
                                                   for s in ('', 'f', 'l')])


def is_library_name(name):
    """Is NAME a function of the C library whatever the program declares:
    a standard one, one gcc knows as a builtin, or a reserved `__` name?"""
    return name in STANDARD_NAMES or is_builtin_name(name) or name.startswith('__')
