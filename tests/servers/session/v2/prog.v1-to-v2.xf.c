/* What a session converted from v1 holds in its new field. */
#include <string.h>

int dsu_transform_struct_session(const struct dsu_old_session *old, struct session *new)
{
    (void)old;
    strcpy(new->motto, "converted");
    return 0;
}
