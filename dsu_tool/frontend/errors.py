"""Errors that name the user's file and line."""


class DsuError(Exception):
    """A problem in the user's input, reported as `file:line: message`.

    `file` and `line` are the user's own source position (mapped back
    through preprocessor line markers), never a temporary file.
    """

    def __init__(self, message, file=None, line=None, column=None):
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.column = column

    def __str__(self):
        where = ''
        if self.file:
            where = self.file
            if self.line:
                where += ':%d' % self.line
                if self.column:
                    where += ':%d' % self.column
            where += ': '
        return where + 'error: ' + self.message


def error_at(coord, message):
    """A DsuError located at a pycparser Coord (or None)."""
    if coord is None:
        return DsuError(message)
    return DsuError(message, coord.file, coord.line, coord.column or None)
