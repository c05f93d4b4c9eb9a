/* v1: nothing here yet. */
int more_version = 1;
