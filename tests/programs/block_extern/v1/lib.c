#include <stdio.h>
int level = 3;
void handle(const char *cmd)
{
    int level = 40;              /* hides the global... */
    {
        extern int level;        /* ...which this declaration brings back */
        level++;
        printf("%s level=%d\n", cmd, level);
    }
    (void)level;
}
