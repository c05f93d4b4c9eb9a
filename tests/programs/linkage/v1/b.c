int shared(int x);
int via_b(int x) { return shared(x) + 1000; }
