#include <math.h>
#include "tally.h"

int root_of(int n)
{
    return (int)sqrt((double)n);
}
