struct tally {
    int count;
    long sum;
};

void handle(const char *cmd);
int root_of(int n);
