/* What the generated version object of the test program's v1 says. */
#include "dsu_internal.h"

const char dsu__program_name[] = "testprog";
const char dsu__program_version[] = "v1";
const char dsu__program_version_id[] = "id-v1-5e7a";
