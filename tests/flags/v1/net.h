int net_listen(void);
int net_port(int fd);
int net_accept(int fd);
