"""Find an extract's file and turn its bytes into text: the blocking checks on the file itself.

A missing file (or both .csv and .parquet), a link that loops or leads nowhere, bytes that are not
CSV text (Parquet, gzip, zip/xlsx, UTF-16: named by their first bytes) and bytes that are not UTF-8
each stop the build with one line naming the file.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from data_contracts.errors import BlockingError


def find_extract_file(data_dir: Path, extract: str) -> Path:
    csv_path, parquet_path = data_dir / f"{extract}.csv", data_dir / f"{extract}.parquet"
    for path in (csv_path, parquet_path):
        _check_link(path)
    if csv_path.exists() and parquet_path.exists():
        raise BlockingError(
            csv_path.name,
            "ambiguous_file",
            f"both {csv_path.name} and {parquet_path.name} are in {data_dir}; keep only one",
        )
    if csv_path.exists():
        return csv_path
    if parquet_path.exists():
        return parquet_path
    raise BlockingError(
        csv_path.name,
        "missing_file",
        f"extract {extract!r} is missing: expected {csv_path.name} (or {parquet_path.name}) in {data_dir}",
    )


def _check_link(path: Path) -> None:
    """A path that is a link but leads nowhere: say which, rather than 'missing'."""
    if not os.path.islink(path):
        return
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise BlockingError(path.name, "symlink_loop",
                                f"{path} is a symbolic link that loops back on itself ({os.readlink(path)!r}); "
                                "point it at the extract file") from None
        raise BlockingError(path.name, "broken_link",
                            f"{path} is a symbolic link to {os.readlink(path)!r}, which does not exist") from None


def sniff_binary(data: bytes, name: str) -> None:
    """Files that are not text at all, named by what their first bytes say they are."""
    if data.startswith(b"PAR1"):
        stem = name.rsplit(".", 1)[0]
        raise BlockingError(name, "not_csv", f"the file is Parquet, not CSV (it starts with the Parquet mark PAR1); "
                                             f"name it {stem}.parquet")
    if data.startswith(b"\x1f\x8b"):
        raise BlockingError(name, "not_csv", "the file is gzip-compressed (it starts with the gzip mark 1F 8B); "
                                             "decompress it first (gunzip)")
    if data.startswith(b"PK\x03\x04"):
        what = "an Excel workbook (.xlsx)" if b"xl/" in data[:4096] or b"[Content_Types].xml" in data[:4096] else "a zip archive"
        raise BlockingError(name, "not_csv", f"the file is {what}, not CSV (it starts with the zip mark PK); "
                                             "save or extract it as CSV UTF-8")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise BlockingError(name, "encoding", "the file is UTF-16 encoded (it starts with a UTF-16 byte-order mark); re-export it as UTF-8")
    head = data[:4096]
    if len(head) >= 4:
        even, odd = head[0::2], head[1::2]
        # ASCII text in UTF-16 has a zero byte in every other position
        for zeros, order in ((odd, "little-endian"), (even, "big-endian")):
            if zeros.count(0) > 0.9 * len(zeros) and (even if zeros is odd else odd).count(0) < 0.1 * len(zeros):
                raise BlockingError(name, "encoding", f"the file is UTF-16 ({order}) without a byte-order mark: every "
                                                      "other byte is zero; re-export it as UTF-8")


def decode(data: bytes, name: str) -> str:
    sniff_binary(data, name)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        bad = data[exc.start : exc.start + 1].hex().upper()
        raise BlockingError(
            name,
            "encoding",
            f"byte 0x{bad} at byte offset {exc.start} (line {line}) is not valid UTF-8 — the file looks "
            "Latin-1/Windows-1252 encoded; re-export it as UTF-8",
            row=None,
        ) from None

