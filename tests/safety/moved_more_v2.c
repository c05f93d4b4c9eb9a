/* v2: helper() moved here from lib.c, unchanged. */
int more_version = 1;

int helper(int x)
{
    return x + 1;
}
