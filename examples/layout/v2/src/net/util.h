#ifndef NET_UTIL_H
#define NET_UTIL_H
const char *net_greeting(const char *who);
#endif
