/* v3: helper() changed. */
int more_version = 1;

int helper(int x)
{
    return x + 100;
}
