#include <stdio.h>
int level = 3;
void handle(const char *cmd)
{
    int level = 40;              /* hides the global... */
    {
        extern int level;        /* ...which this declaration brings back */
        level++;
        printf("%s level=%d v2\n", cmd, level);
    }
    (void)level;
}
