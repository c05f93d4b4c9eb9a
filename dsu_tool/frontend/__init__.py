"""Front end: preprocess with the compile's own flags, tidy GNU C for the
parser, parse, and report errors at the user's file and line."""
