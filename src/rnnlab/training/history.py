"""History: one row per epoch, kept by the trainer, written to ``history.csv``."""

from __future__ import annotations

import csv
import io as _io
import math

from rnnlab.errors import DataError
from rnnlab.io import atomic_write_text


class History:
    """One row per epoch: epoch, train_loss, train_accuracy, val_loss, val_accuracy, lr,
    time_s, seq_per_s, threads (validation columns are None without validation data; threads is
    the number BLAS computed on, None where threadpoolctl is not installed).

    ``history["train_loss"]`` gives a column as a list; ``history.rows`` the rows as dicts.
    """

    columns = ("epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr", "time_s", "seq_per_s",
               "threads")
    # the columns of runs written before the threads column: still read, threads None
    older_columns = columns[:-1]

    def __init__(self, rows=None):
        self.rows: list[dict] = []
        for r in rows or []:
            self.append(r)

    def append(self, row: dict) -> None:
        """Add one epoch's row (keys from ``columns``)."""
        self.rows.append({c: row.get(c) for c in self.columns})

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, column: str) -> list:
        if column not in self.columns:
            raise KeyError(f"no column {column!r}; columns are {', '.join(self.columns)}")
        return [r[column] for r in self.rows]

    def __repr__(self) -> str:
        return f"History({len(self)} epochs)"

    def to_csv(self) -> str:
        """The history as CSV text, with a header row."""
        buf = _io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(self.columns)
        for r in self.rows:
            writer.writerow(["" if r[c] is None else r[c] for c in self.columns])
        return buf.getvalue()

    def save_csv(self, path) -> None:
        """Write :meth:`to_csv` to ``path`` atomically."""
        atomic_write_text(path, self.to_csv())

    @classmethod
    def from_csv(cls, text: str) -> History:
        """Parse what :meth:`to_csv` wrote (empty fields are None)."""
        reader = csv.reader(_io.StringIO(text))
        header = next(reader, None)
        if header is None or tuple(header) not in (cls.columns, cls.older_columns):
            raise DataError(f"a history CSV should start with the header {','.join(cls.columns)}")
        rows = []
        for line_no, values in enumerate(reader, start=2):
            if len(values) != len(header):
                raise DataError(f"history CSV line {line_no} has {len(values)} fields, expected {len(header)}")
            try:
                row = {c: (None if v == "" else float(v)) for c, v in zip(header, values, strict=True)}
            except ValueError as exc:
                raise DataError(f"history CSV line {line_no}: {exc}") from None
            row["epoch"] = int(row["epoch"]) if row["epoch"] is not None and math.isfinite(row["epoch"]) else None
            rows.append(row)
        return cls(rows)
