#include <stdio.h>
struct item { int id; int qty; int price; };
static struct item items[4];
static int n;
void handle(const char *cmd)
{
    int total = 0, value = 0;
    if (n < 4) {
        items[n].id = n + 1;
        items[n].qty = 10 * (n + 1);
        items[n].price = 5;
        n++;
    }
    for (int i = 0; i < n; i++) {
        total += items[i].qty;
        value += items[i].qty * items[i].price;
    }
    printf("%s n=%d total=%d value=%d\n", cmd, n, total, value);
}
