/* A well-formed shared object that is not a dsu patch. */
int answer(void) { return 42; }
