void proto_reply(const char *line, char *out, unsigned long size);
