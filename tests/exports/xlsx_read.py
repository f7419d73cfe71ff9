"""Read an XLSX's cell values straight from its sheet XML (no openpyxl in the stack)."""

from __future__ import annotations

import io
import re
import zipfile
from xml.etree import ElementTree as ET

NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
      "r": "http://schemas.openxmlformats.org/officeDocument/2006/relationships",
      "rel": "http://schemas.openxmlformats.org/package/2006/relationships"}


def read_xlsx(data: bytes) -> dict[str, dict[tuple[int, int], object]]:
    """sheet name -> {(row, col) 0-based: value}; numbers as float, booleans as bool."""
    z = zipfile.ZipFile(io.BytesIO(data))
    strings = []
    if "xl/sharedStrings.xml" in z.namelist():
        for si in ET.fromstring(z.read("xl/sharedStrings.xml")).findall("m:si", NS):
            strings.append("".join(t.text or "" for t in si.iter(f"{{{NS['m']}}}t")))
    rels = {r.get("Id"): r.get("Target") for r in
            ET.fromstring(z.read("xl/_rels/workbook.xml.rels")).findall("rel:Relationship", NS)}
    out = {}
    for sheet in ET.fromstring(z.read("xl/workbook.xml")).find("m:sheets", NS):
        target = rels[sheet.get(f"{{{NS['r']}}}id")]
        root = ET.fromstring(z.read("xl/" + target.lstrip("/").removeprefix("xl/")))
        cells = {}
        for c in root.iter(f"{{{NS['m']}}}c"):
            row, col = _ref(c.get("r"))
            v = c.find("m:v", NS)
            t = c.get("t")
            if t == "s":
                cells[(row, col)] = strings[int(v.text)]
            elif t == "b":
                cells[(row, col)] = v.text == "1"
            elif t in ("str", "inlineStr"):
                cells[(row, col)] = v.text if v is not None else "".join(x.text or "" for x in c.iter(f"{{{NS['m']}}}t"))
            elif v is not None:
                cells[(row, col)] = float(v.text)
        out[sheet.get("name")] = cells
    return out


def _ref(ref: str) -> tuple[int, int]:
    letters, digits = re.match(r"([A-Z]+)(\d+)", ref).groups()
    col = 0
    for ch in letters:
        col = col * 26 + ord(ch) - 64
    return int(digits) - 1, col - 1
