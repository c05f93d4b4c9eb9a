#include <stdio.h>
#include <stdlib.h>
#include "tally.h"

int main(int argc, char **argv)
{
    printf("root=%d\n", root_of(argc > 1 ? atoi(argv[1]) : 0));
    return 0;
}
