#include <stdio.h>
struct point { int x, y; };
struct shape { char name[8]; struct point corner; int sides; };
static struct shape shapes[2] = { { "sq", { 1, 2 }, 4 }, { "tri", { 3, 4 }, 3 } };
void handle(const char *cmd)
{
    shapes[0].corner.x++;
    printf("%s %s x=%d y=%d sides=%d %s x=%d\n", cmd, shapes[0].name, shapes[0].corner.x,
           shapes[0].corner.y, shapes[0].sides, shapes[1].name, shapes[1].corner.x);
}
