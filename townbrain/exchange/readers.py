"""Reading an uploaded file into a grid of cells, whatever it is — or saying clearly why not.

xlsx / xls / ods through python-calamine (cached formula values, real dates), CSV in UTF-8
or GBK (detected), JSON (a list of objects, or {"rows": [...]}) . Limits guard the server:
upload size, rows, and the unzipped size of xlsx/ods (zip bombs).
"""

import csv
import io
import json
import re
import zipfile
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext as _
from python_calamine import CalamineWorkbook

MIB = 1024 * 1024  # the limits are set in MB of 1024² bytes, and reported the same way
OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP = b"PK\x03\x04"
ENCRYPTED_MARK = "EncryptedPackage".encode("utf-16-le")
# Files people upload by mistake (a PDF, a photo of the table, an archive): say so rather than
# reading them as text. Text files are checked for NULs below; these may have none in their first KB.
OTHER_FORMATS = (b"%PDF-", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"Rar!\x1a\x07",
                 b"7z\xbc\xaf\x27\x1c", b"\x1f\x8b\x08", b"{\\rtf")
# "Excel" files that web systems export are often an HTML table or Excel 2003 XML renamed .xls.
MARKUP = re.compile(rb"^(?:\xef\xbb\xbf)?\s*<(?:!doctype html|html|table|\?xml[^>]*>\s*(?:<\?mso[^>]*>\s*)?<workbook)",
                    re.IGNORECASE)
# A spreadsheet is read into a dense grid: its extent (last row × last column holding a value)
# must stay within this many cells per allowed row, whatever few bytes describe it.
CELLS_PER_ROW = 32


class UnreadableFile(ValueError):
    """The whole file cannot be read (exit code 2 in the CLI); the message says why."""


@dataclass
class Grid:
    rows: list[list]  # every row of the first sheet, as cell values
    fmt: str
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)  # (r0, c0, r1, c1), 0-based
    json_keys: bool = False  # rows[0] are keys taken from JSON objects


def limits() -> dict:
    return {
        "bytes": getattr(settings, "IMPORT_MAX_BYTES", 50 * 1024 * 1024),
        "rows": getattr(settings, "IMPORT_MAX_ROWS", 200_000),
        "unzipped": getattr(settings, "IMPORT_MAX_UNZIPPED_BYTES", 500 * 1024 * 1024),
    }


def read_grid(data: bytes, filename: str = "") -> Grid:
    lim = limits()
    if len(data) > lim["bytes"]:
        raise UnreadableFile(_("The file is %(size).1f MB; the limit is %(limit).0f MB.")
                             % {"size": len(data) / MIB, "limit": lim["bytes"] / MIB})
    if not data.removeprefix(b"\xef\xbb\xbf").strip():  # an empty CSV that Excel saved as UTF-8 is just a BOM
        raise UnreadableFile(_("The file is empty."))
    if data.startswith(OTHER_FORMATS):
        raise UnreadableFile(_("This is not a spreadsheet: use .xlsx, .xls, .ods, .csv or .json."))
    if MARKUP.match(data[:1024]):
        raise UnreadableFile(_("This file is a web page or Excel 2003 XML saved under a spreadsheet name; open it "
                               "in Excel or WPS and save it as .xlsx."))
    if data.startswith(OLE2):
        if ENCRYPTED_MARK in data:
            raise UnreadableFile(_("The workbook is password-protected; save it without a password and try again."))
        return _read_workbook(data, "xls", lim)
    if data.startswith(ZIP):
        _check_zip(data, lim)
        return _read_workbook(data, "ods" if b"opendocument" in data[:200] else "xlsx", lim)
    head = data.lstrip()[:1]
    if head in (b"[", b"{") or filename.lower().endswith(".json"):
        return _read_json(data, lim)
    if b"\x00" in data[:4096]:
        raise UnreadableFile(_("This is not a spreadsheet: use .xlsx, .xls, .ods, .csv or .json."))
    return _read_csv(data, lim)


def _check_zip(data: bytes, lim) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            total = sum(info.file_size for info in zf.infolist())
            names = set(zf.namelist())
    except zipfile.BadZipFile:
        raise UnreadableFile(_("The file is damaged or truncated (not a complete xlsx/ods archive).")) from None
    if total > lim["unzipped"] or (len(data) and total / len(data) > 1000 and total > 50 * 1024 * 1024):
        raise UnreadableFile(_("The workbook unpacks to %(size).0f MB, more than the server accepts; "
                               "it may be a zip bomb.") % {"size": total / MIB})
    if not ({"xl/workbook.xml", "content.xml"} & names):
        raise UnreadableFile(_("This zip file is not a spreadsheet: use .xlsx, .xls, .ods, .csv or .json."))
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            height, width = _xlsx_extent(zf) if "xl/workbook.xml" in names else _ods_extent(zf)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError, RuntimeError):
        # zlib errors, bad CRC, an encrypted member: let the workbook reader report it
        return
    if height is None or height > lim["rows"] + 1:
        raise UnreadableFile(_("The file has more than %(limit)s rows; split it.") % {"limit": f"{lim['rows']:,}"})
    if height * width > (lim["rows"] + 1) * CELLS_PER_ROW:
        raise UnreadableFile(_("The sheet reaches row %(rows)s and column %(cols)s, more cells than the server "
                               "accepts; it may be a zip bomb, or stray cells far from the table.")
                             % {"rows": f"{height:,}", "cols": f"{width:,}"})


def _members(zf, name, chunk=1 << 20):
    """The member's XML in pieces that each end before a tag, so no tag is cut in two."""
    tail = b""
    with zf.open(name) as f:
        while piece := f.read(chunk):
            buf = tail + piece
            cut = buf.rfind(b"<")
            if cut <= 0:  # no tag starts here (a megabyte of text): nothing to carry over
                yield buf
                tail = b""
                continue
            yield buf[:cut]
            tail = buf[cut:]
    yield tail


def _column_number(letters: bytes) -> int:
    number = 0
    for ch in letters:
        number = number * 26 + ch - 64
    return number


def _first_sheet(zf) -> str | None:
    """Path of the workbook's first sheet (the one that is read), from workbook.xml and its rels."""
    m = re.search(rb"<(?:\w+:)?sheet\b[^>]*?\s[\w]+:id=\"([^\"]+)\"", zf.read("xl/workbook.xml"))
    if not m:
        return None
    rels = zf.read("xl/_rels/workbook.xml.rels")
    for rel in re.findall(rb"<(?:\w+:)?Relationship\b[^>]*>", rels):
        if re.search(rb'\sId="%s"' % re.escape(m.group(1)), rel):
            target = re.search(rb'\sTarget="([^"]+)"', rel)
            if target:
                path = target.group(1).decode()
                return path.lstrip("/") if path.startswith("/") else "xl/" + path
    return None


def _refs(pattern, part):
    """The first groups of `pattern` (which starts with r=") where r is a whole attribute name."""
    return [m.group(1) for m in pattern.finditer(part) if part[m.start() - 1:m.start()] in (b" ", b"\t", b"\n", b"\r")]


def _xlsx_extent(zf) -> tuple[int | None, int]:
    """(last row, last column) the cell references of the first sheet point at, without building the grid;
    None for the row when some reference is past the row limit.

    A few bytes saying `<c r="XFD1000000">` would make the reader allocate the whole rectangle.
    Kept fast (a fifth of the read itself) by matching only what may be too far: row numbers with
    the limit's digit count and first digit or more, columns past Z; the exact last row is only
    computed for wide sheets. (Rows and cells without a reference are real bytes, bounded by the
    unzipped-size limit, and the row count is checked again once the sheet is read.)
    """
    names = set(zf.namelist())
    try:
        sheet = _first_sheet(zf)
    except KeyError:
        sheet = None
    sheets = [sheet] if sheet in names else sorted(n for n in names if n.startswith("xl/worksheets/"))
    limit = str(limits()["rows"] + 1)
    far = re.compile(rb'r="[A-Z]{0,3}0*([1-9]\d{%d,}|[%s-9]\d{%d})"' % (len(limit), limit[0].encode(),
                                                                        len(limit) - 1))
    wide = re.compile(rb'r="([A-Z]{2,3})\d')
    height, width = 0, 1
    for name in sheets:
        for part in _members(zf, name):
            if any(int(number) > int(limit) for number in _refs(far, part)):
                return None, width
            found = _refs(wide, part)
            if found:
                width = max(width, *(_column_number(c) for c in set(found)))
    if width > CELLS_PER_ROW:  # a wide sheet: its exact last row decides
        numbers = re.compile(rb'r="[A-Z]{0,3}0*(\d+)"')
        for name in sheets:
            for part in _members(zf, name):
                found = _refs(numbers, part)
                if found:
                    height = max(height, int(max(found, key=lambda d: (len(d), d))))
    return height, width


_ODS_TAG = re.compile(rb"<(/?)table:(table-row|table-cell|covered-table-cell|table)(?=[\s/>])([^>]*?)(/?)>")
_REPEAT = re.compile(rb'number-(?:rows|columns)-repeated="(\d+)"')


def _ods_extent(zf) -> tuple[int, int]:
    """(last row, last column) holding anything in the first table of content.xml, counting the
    number-rows-repeated / number-columns-repeated that let a few bytes stand for millions of cells."""
    row = col = height = width = 0
    repeat_rows, filled, tables = 1, False, 0
    for part in _members(zf, "content.xml"):
        for closing, tag, attrs, empty in _ODS_TAG.findall(part):
            if tag == b"table":
                if closing:
                    return height, width
                tables += 1
                if tables > 1:  # a table nested in a cell: ignore its insides
                    return height, width
            elif tag == b"table-row":
                if closing:
                    if filled:
                        height = max(height, row + repeat_rows)
                    row += repeat_rows
                else:
                    m = _REPEAT.search(attrs)
                    repeat_rows, col, filled = int(m.group(1)) if m else 1, 0, False
                    if empty:
                        row += repeat_rows
            else:
                m = _REPEAT.search(attrs)
                repeat = int(m.group(1)) if m else 1
                if not closing:
                    if not empty or b"value-type" in attrs:
                        filled = True
                        width = max(width, col + repeat)
                    col += repeat
    return height, width


def _read_workbook(data: bytes, fmt: str, lim) -> Grid:
    try:
        book = CalamineWorkbook.from_filelike(io.BytesIO(data))
        if not book.sheet_names:
            raise UnreadableFile(_("The workbook has no sheets."))
        sheet = book.get_sheet_by_index(0)
        if sheet.height > lim["rows"] + 1:
            raise UnreadableFile(_("The sheet has %(n)s rows; at most %(limit)s rows can be imported at once.")
                                 % {"n": f"{sheet.height:,}", "limit": f"{lim['rows']:,}"})
        rows = sheet.to_python(skip_empty_area=False)
        merged = [(r0, c0, r1, c1) for (r0, c0), (r1, c1) in (sheet.merged_cell_ranges or [])]
    except UnreadableFile:
        raise
    except Exception as exc:  # calamine raises its own error kinds for damaged files
        name = type(exc).__name__
        if "Password" in name:
            raise UnreadableFile(_("The workbook is password-protected; save it without a password and "
                                   "try again.")) from None
        raise UnreadableFile(_("The workbook cannot be read; it may be damaged or truncated (%(error)s).")
                             % {"error": name}) from None
    return Grid(rows=rows, fmt=fmt, merged=merged)


def _decode(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnreadableFile(_("The text file is neither UTF-8 nor GBK encoded."))


def _read_csv(data: bytes, lim) -> Grid:
    text = _decode(data)
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    rows = []
    for row in csv.reader(io.StringIO(text), dialect):
        rows.append(row)
        if len(rows) > lim["rows"] + 1:
            raise UnreadableFile(_("The file has more than %(limit)s rows; split it.") % {"limit": f"{lim['rows']:,}"})
    return Grid(rows=rows, fmt="csv")


def _read_json(data: bytes, lim) -> Grid:
    try:
        doc = json.loads(_decode(data))
    except json.JSONDecodeError as exc:
        raise UnreadableFile(_("The JSON is not valid (line %(line)s, column %(col)s).")
                             % {"line": exc.lineno, "col": exc.colno}) from None
    items = doc.get("rows") if isinstance(doc, dict) else doc
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise UnreadableFile(_('JSON must be a list of objects, or {"rows": [objects]}.'))
    if len(items) > lim["rows"]:
        raise UnreadableFile(_("The file has more than %(limit)s rows; split it.") % {"limit": f"{lim['rows']:,}"})
    keys = list(dict.fromkeys(k for item in items for k in item))
    return Grid(rows=[keys] + [[item.get(k) for k in keys] for item in items], fmt="json", json_keys=True)
