/* Like tests/programs/driver.c, but with no update point of its own. */
#include <stdio.h>
#include <string.h>

void handle(const char *cmd);

int main(void)
{
    char line[512];
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("ready\n");
    while (fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\n")] = '\0';
        handle(line);
    }
    return 0;
}
