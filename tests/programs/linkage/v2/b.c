int helper(int x);
int via_b(int x) { return helper(x) + 2000; }
