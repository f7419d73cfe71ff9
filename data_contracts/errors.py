"""The one exception bad input raises: a blocking contract failure that stops the build.

Row-level problems never raise; they are quarantined (see validate.py). A BlockingError is for a
file that cannot be read as the contract describes at all, and its ``str()`` is the one line the
CLI prints, naming the file, column, row and rule.
"""

from __future__ import annotations

# Source rows use spreadsheet numbering: the header is row 1, so a frame's row i is source row i + 2.
FIRST_DATA_ROW = 2


class BlockingError(Exception):
    """A failure that stops the build: the previous warehouse keeps serving."""

    def __init__(
        self,
        file: str,
        rule: str,
        message: str,
        *,
        column: str | None = None,
        row: int | None = None,
    ) -> None:
        self.file = file
        self.column = column
        self.row = row  # spreadsheet numbering: header = row 1
        self.rule = rule
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.file
        if self.column:
            where += f", column {self.column}"
        if self.row is not None and f"row {self.row}" not in self.message:
            where += f", row {self.row}"
        return f"{where}: rule {self.rule} — {self.message}"

    def __reduce__(self):  # keep attributes across pickling (e.g. multiprocessing)
        return (_rebuild, (self.file, self.rule, self.message, self.column, self.row))


def _rebuild(file, rule, message, column, row) -> BlockingError:
    return BlockingError(file, rule, message, column=column, row=row)


class ContractError(ValueError):
    """A contract YAML file that is itself wrong (a developer error, not bad input)."""
