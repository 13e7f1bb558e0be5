"""Reads .xlsx cells straight from the zip with vectorised string kernels, as openpyxl would read them."""

from __future__ import annotations

import io
import posixpath
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from openpyxl.styles.numbers import (
    BUILTIN_FORMATS,
    BUILTIN_FORMATS_MAX_SIZE,
    is_date_format,
    is_timedelta_format,
)
from openpyxl.utils.datetime import CALENDAR_MAC_1904, WINDOWS_EPOCH, from_excel

MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONSHIPS_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELATIONSHIPS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
CONTENT_TYPES_NS = "http://schemas.openxmlformats.org/package/2006/content-types"
WORKBOOK_PART = "xl/workbook.xml"
WORKBOOK_RELATIONSHIPS_PART = "xl/_rels/workbook.xml.rels"
STYLES_PART = "xl/styles.xml"
WORKBOOK_CONTENT_TYPES = (  # the order openpyxl looks for them in
    "application/vnd.ms-excel.template.macroEnabled.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template.main+xml",
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
)
SHARED_STRINGS_CONTENT_TYPE = (
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"
)
WORKSHEET_RELATIONSHIP = (
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet"
)
CHARTSHEET_MARK = "chartsheet"  # openpyxl leaves sheets of such relationships out of worksheets
HIDDEN_STATES = frozenset({"hidden", "veryHidden"})
FALSE_TEXTS = frozenset({"", "false", "f", "0"})  # openpyxl's reading of a boolean attribute
CELL_ATTRIBUTES = frozenset({"s", "t", "cm", "vm", "ph"})
MAX_COLUMN = 16384
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
DIGITS = "0123456789"
STREAM_CHUNK = 1 << 16
INTEGRAL_LIMIT = 1e15  # integral floats below it read as their integer (ingest's _number_text)
SHORTEST_LIMIT = 1e9  # below it Arrow formats a float exactly as Python's repr
PERCENT_FACTOR = 100  # ingest shows a number under a percent format as round(x × 100, 10)
PERCENT_DIGITS = 10
TIE_MARGIN = 0.01  # percent values this close to a rounding tie are rounded by the callback

_V = f"{{{MAIN_NS}}}v"
_IS = f"{{{MAIN_NS}}}is"
_T = f"{{{MAIN_NS}}}t"
_R = f"{{{MAIN_NS}}}r"
_SI = f"{{{MAIN_NS}}}si"

_ROOT_RE = re.compile(
    rb'\A(?:\xef\xbb\xbf)?\s*(?:<\?xml(?P<prolog>[^>]*)\?>\s*)?<worksheet\b[^>]*\sxmlns="'
    + re.escape(MAIN_NS.encode())
    + rb'"'
)
_ENCODING_RE = re.compile(rb'encoding\s*=\s*["\']([A-Za-z0-9._-]+)["\']')
_SHEET_DATA_RE = re.compile(rb"<sheetData\s*(/?)>")
_ATTRIBUTES = r'(?:\s+[A-Za-z_][\w:.-]*\s*=\s*"[^"<&\x00-\x08\x0b\x0c\x0e-\x1f]*")*'
_ROW_HEAD = r'(?s)^\s+r="(?P<r>[0-9]{1,7})"(?P<rest>.*)$'  # r first, as Excel and WPS write it
_ROW_REST_RE = re.compile(rf"(?P<attrs>{_ATTRIBUTES})\s*(?:(?P<closed>/>|>\s*</row>)|>)\s*\Z")
_REFERENCE_SHAPE = r'^[A-Z]{1,3}[0-9]{1,7}"'
_TAIL_RE = re.compile(
    rf'"(?P<attrs>{_ATTRIBUTES})\s*(?:/>|>(?P<body>.*)</c>)\s*(?P<row_end></row>\s*)?\Z',
    re.DOTALL,
)
_ATTRIBUTE_RE = re.compile(r'([A-Za-z_][\w:.-]*)\s*=\s*"([^"]*)"')
_NESTED_CELL_RE = re.compile(r"</?c[\s/>]|</?row[\s/>]")
_VALUE_BODY_RE = re.compile(
    rf"(?:<f(?P<formula>{_ATTRIBUTES})\s*(?:/>|>[^<&]*</f>))?(?:<v>(?P<v>[^<]*)</v>|<v\s*/>)?\Z"
)
_INLINE_BODY_RE = re.compile(r'<is><t(?:\s+xml:space="preserve")?>(?P<t>[^<]*)</t></is>\Z')
_VALUE_TAIL = r'(?s)^(?P<attrs>"[^<>]*)><v>(?P<v>[^<]*)</v></c>(?P<row_end></row>)?\s*$'
_FORMULA_VALUE_TAIL = (
    r'(?s)^(?P<attrs>"[^<>]*)><f(?P<formula>[^<>/]*)(?:/>|>(?P<formula_text>[^<]*)</f>)'
    r"<v>(?P<v>[^<]*)</v></c>(?P<row_end></row>)?\s*$"
)
_ATTRIBUTES_RE = re.compile(_ATTRIBUTES + r"\s*")
_REFERENCE = r"&(?:amp|lt|gt|quot|apos|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});"
_NOT_XML_TEXT = r"[\x00-\x08\x0b\x0c\x0e-\x1f]|]]>"
_CANONICAL_INTEGER = r"^(?:0|-?[1-9][0-9]{0,17})$"
_DECIMAL = r"^-?[0-9]{1,20}(?:\.[0-9]{1,20})?(?:[eE][+-]?[0-9]{1,3})?$"
_PREFIX_RE = re.compile(rb"\sxmlns:([A-Za-z_][\w.-]*)\s*=")
_NOT_XML_TEXT_RE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|]]>")
_ENTITY_RE = re.compile(r"&([^;&<]*);")
_EMPTY_TEXT = pa.array([""], pa.large_string())
_NAMED_ENTITIES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


class NotFast(Exception):
    """The workbook holds something the fast reader does not handle: read it with openpyxl."""


@dataclass(frozen=True)
class CellValue:
    """One distinct cell as openpyxl's read-only reader gives it: its value and number format."""

    value: Any
    number_format: str


CellText = Callable[[CellValue], str]


@dataclass(frozen=True)
class _Style:
    number_format: str
    is_date: bool
    is_timedelta: bool


@dataclass(frozen=True)
class _Cells:
    """A sheet's row elements and cells; texts are indices into `texts` (the last one is "")."""

    row_numbers: np.ndarray  # the r of every row element, increasing
    cell_rows: np.ndarray  # per cell: its row element's r
    cell_columns: np.ndarray  # per cell: its column, 1-based, increasing within a row
    cell_texts: np.ndarray  # per cell: index into texts
    texts: pa.Array  # large_string
    truncated: bool  # rows after the last one read exist


class FastWorkbook:
    """A workbook's worksheets, read like openpyxl's read-only, data-only workbook does.

    `cell_text` turns a cell's value and number format into its text as ingest does: strings
    unchanged, numbers as `str(int)` / `repr(float)` (integral floats below 1e15 without ".0"),
    under a format where `is_percent(format)` as round(x × 100, 10) first. Many numbers are
    formatted in bulk by these rules; dates and the rest go through `cell_text` one distinct
    value at a time.
    """

    def __init__(self, data: bytes, cell_text: CellText, is_percent: Callable[[str], bool]) -> None:
        try:
            self._archive = zipfile.ZipFile(io.BytesIO(data))
            names = set(self._archive.namelist())
            shared_path = _check_content_types(self._archive.read("[Content_Types].xml"))
            workbook = ET.fromstring(self._archive.read(WORKBOOK_PART))
            relationships = _relationships(self._archive.read(WORKBOOK_RELATIONSHIPS_PART))
            styles = _styles(self._archive.read(STYLES_PART))
            shared = (
                _shared_strings(self._archive.read(shared_path)) if shared_path is not None else []
            )
        except (KeyError, ET.ParseError, zipfile.BadZipFile, ValueError, OSError) as error:
            raise NotFast(str(error)) from error
        properties = workbook.find(f"{{{MAIN_NS}}}workbookPr")
        date1904 = properties is not None and (properties.get("date1904") or "") not in FALSE_TEXTS
        epoch = CALENDAR_MAC_1904 if date1904 else WINDOWS_EPOCH
        self._decoder = _Decoder(styles, shared, epoch, cell_text, is_percent)
        self.worksheets: list[FastSheet] = []
        for sheet in workbook.iter(f"{{{MAIN_NS}}}sheet"):
            relationship_id = sheet.get(f"{{{RELATIONSHIPS_NS}}}id")
            if not relationship_id:
                continue  # openpyxl drops such a sheet too
            if relationship_id not in relationships:
                raise NotFast(f"sheet relationship {relationship_id} is missing")
            kind, target = relationships[relationship_id]
            if target not in names:
                continue
            if CHARTSHEET_MARK in kind:
                continue
            if kind != WORKSHEET_RELATIONSHIP:
                raise NotFast(f"sheet of relationship type {kind}")
            state = sheet.get("state", "visible")
            if state != "visible" and state not in HIDDEN_STATES:
                raise NotFast(f"sheet state {state}")
            self.worksheets.append(
                FastSheet(self._archive, target, sheet.get("name", ""), state, self._decoder)
            )

    def close(self) -> None:
        self._archive.close()

    def __enter__(self) -> FastWorkbook:
        return self

    def __exit__(self, *exception: object) -> None:
        self.close()


class FastSheet:
    """One worksheet: its first lines (to find the header) and the whole grid of cell texts."""

    def __init__(
        self, archive: zipfile.ZipFile, path: str, title: str, state: str, decoder: _Decoder
    ) -> None:
        self._archive = archive
        self._path = path
        self.title = title
        self.sheet_state = state
        self._decoder = decoder

    def lines(self, limit: int | None) -> list[list[str]]:
        """What openpyxl's iter_rows(max_row=limit) gives, as cell texts (a missing row is [])."""
        cells = self._cells(limit)
        if not len(cells.row_numbers):
            return []
        last = int(cells.row_numbers[-1])
        count = last if limit is None else (limit if cells.truncated or last > limit else last)
        lines: list[list[str]] = [[] for _ in range(count)]
        row_ends: dict[int, int] = {}
        for row, column in zip(cells.cell_rows.tolist(), cells.cell_columns.tolist(), strict=True):
            row_ends[row] = column
        for row, width in row_ends.items():
            if row <= count:
                lines[row - 1] = [""] * width
        texts = cells.texts.take(pa.array(cells.cell_texts)).to_pylist()
        for row, column, text in zip(
            cells.cell_rows.tolist(), cells.cell_columns.tolist(), texts, strict=True
        ):
            if row <= count:
                lines[row - 1][column - 1] = text
        return lines

    def grid(self) -> pd.DataFrame:
        """The sheet as ingest's grid: one str column per sheet column, "" for empty cells."""
        cells = self._cells(None)
        height = int(cells.row_numbers[-1]) if len(cells.row_numbers) else 0
        width = int(cells.cell_columns.max()) if len(cells.cell_columns) else 0
        if width == 0:
            return pd.DataFrame(index=range(height))
        empty = len(cells.texts) - 1
        positions = np.full((height, width), empty, dtype=np.int64)
        positions[cells.cell_rows - 1, cells.cell_columns - 1] = cells.cell_texts
        dtype = pd.StringDtype("pyarrow", na_value=np.nan)
        grid = pd.DataFrame(
            {
                column: pd.Series(cells.texts.take(positions[:, column]), dtype=dtype)
                for column in range(width)
            }
        )
        grid.columns = pd.RangeIndex(width)
        return grid

    def _cells(self, limit: int | None) -> _Cells:
        try:
            xml, start, end, truncated, prefixes = self._sheet_data(limit)
            return _parse_sheet_data(xml, start, end, truncated, prefixes, self._decoder)
        except (KeyError, zipfile.BadZipFile, OSError, EOFError, pa.ArrowException) as error:
            raise NotFast(str(error)) from error

    def _sheet_data(self, limit: int | None) -> tuple[bytes, int, int, bool, frozenset[str]]:
        """The sheet's XML (only its start when `limit` rows suffice), where sheetData lies, and
        the namespace prefixes the root declares."""
        with self._archive.open(self._path) as stream:
            xml = b""
            while True:
                chunk = stream.read(STREAM_CHUNK if limit is not None else -1)
                xml += chunk
                if not chunk or limit is None:
                    complete = True
                    break
                if _row_starts_after_data(xml, limit + 1):
                    complete = False
                    break
        root = _ROOT_RE.match(xml[:4096])
        if root is None:
            raise NotFast("the worksheet is not in the SpreadsheetML main namespace")
        root_tag = xml[root.start() : xml.find(b">", root.end())]
        prefixes = frozenset(["xml", *(p.decode() for p in _PREFIX_RE.findall(root_tag))])
        prolog = root.group("prolog") or b""
        encoding = _ENCODING_RE.search(prolog)
        if encoding is not None and encoding.group(1).lower() not in (b"utf-8", b"utf8"):
            raise NotFast("the worksheet is not UTF-8")
        sheet_data = _SHEET_DATA_RE.search(xml)
        if sheet_data is None:
            raise NotFast("the worksheet has no sheetData")
        start = sheet_data.end()
        if sheet_data.group(1):
            return xml, start, start, False, prefixes
        end = xml.rfind(b"</sheetData>", start) if complete else xml.find(b"</sheetData>", start)
        truncated = False
        if limit is not None:
            cut = _nth_row_start(xml, start, limit + 1)
            if cut is not None and (end < 0 or cut < end):
                end, truncated = cut, True
        if end < 0:
            if complete:
                raise NotFast("the worksheet's sheetData is not closed")
            raise NotFast("the first rows of the worksheet are too long")
        return xml, start, end, truncated, prefixes


def _row_starts_after_data(xml: bytes, count: int) -> bool:
    """The sheetData has ended or `count` row elements have started in the XML read so far."""
    sheet_data = _SHEET_DATA_RE.search(xml)
    if sheet_data is None:
        return False
    return (
        sheet_data.group(1) != b""
        or xml.find(b"</sheetData>", sheet_data.end()) >= 0
        or _nth_row_start(xml, sheet_data.end(), count) is not None
    )


def _nth_row_start(xml: bytes, start: int, count: int) -> int | None:
    position = start - 1
    for _ in range(count):
        position = xml.find(b"<row", position + 1)
        if position < 0:
            return None
    return position


def _parse_sheet_data(
    xml: bytes, start: int, end: int, truncated: bool, prefixes: frozenset[str], decoder: _Decoder
) -> _Cells:
    """Row numbers, cell positions and texts of the sheetData between `start` and `end`."""
    if end <= start:
        return _without_cells(np.zeros(0, np.int64), truncated)
    offsets = pa.py_buffer(np.array([start, end], dtype=np.int64).tobytes())
    body = pa.LargeStringArray.from_buffers(1, offsets, pa.py_buffer(xml))
    body.validate(full=True)  # UTF-8
    pieces = pc.list_flatten(pc.split_pattern(body, "<row"))
    if pc.utf8_trim_whitespace(pieces[0]).as_py() != "":
        raise NotFast("something other than rows in sheetData")
    rows = pieces[1:]
    if not len(rows):
        return _without_cells(np.zeros(0, np.int64), truncated)
    split = pc.split_pattern(rows, '<c r="')
    bounds = split.offsets.to_numpy()
    flat = split.values
    del split
    head_positions = bounds[:-1] - bounds[0]
    heads = flat.take(pa.array(head_positions))
    numbers = pc.extract_regex(heads, _ROW_HEAD)
    if numbers.null_count:
        raise NotFast("a row without its number first")
    row_numbers = pc.cast(numbers.field("r"), pa.int64()).to_numpy()
    rests = numbers.field("rest").dictionary_encode()
    closed = np.array(
        [_row_closed(rest, prefixes) for rest in rests.dictionary.to_pylist()], dtype=bool
    )
    cells_per_row = np.diff(bounds) - 1
    if (cells_per_row[closed[rests.indices.to_numpy()]] > 0).any():
        raise NotFast("cells after a closed row")
    if (row_numbers < 1).any() or (np.diff(row_numbers) <= 0).any():
        raise NotFast("rows out of order")
    keep = np.ones(len(flat), dtype=bool)
    keep[head_positions] = False
    cells = flat.filter(pa.array(keep))
    del flat, heads
    if not len(cells):
        return _without_cells(row_numbers, truncated)
    cell_rows = np.repeat(row_numbers, cells_per_row)
    cell_columns = _columns(cells)
    same_row = cell_rows[1:] == cell_rows[:-1]
    if (np.diff(cell_columns)[same_row] <= 0).any():
        raise NotFast("cells out of order within a row")
    tails = pc.ascii_ltrim(cells, characters=LETTERS + DIGITS)  # from the quote closing r="…"
    del cells
    encoded = tails.dictionary_encode()
    del tails
    texts, row_ends = decoder.texts(encoded.dictionary)
    if texts.null_count:
        raise NotFast("a cell without a text")
    indices = encoded.indices.to_numpy()
    last_in_row = np.ones(len(indices), dtype=bool)
    last_in_row[:-1] = ~same_row
    if (row_ends[indices] != last_in_row).any():
        raise NotFast("a row element not closed after its last cell")
    texts = pa.concat_arrays([texts, _EMPTY_TEXT])
    return _Cells(row_numbers, cell_rows, cell_columns, indices, texts, truncated)


def _without_cells(row_numbers: np.ndarray, truncated: bool) -> _Cells:
    none = np.zeros(0, np.int64)
    return _Cells(row_numbers, none, none, none, _EMPTY_TEXT, truncated)


def _row_closed(rest: str, prefixes: frozenset[str]) -> bool:
    """Whether a row element's start tag (after its r) closes the row; checks it is well-formed."""
    match = _ROW_REST_RE.match(rest)
    if match is None:
        raise NotFast("a row element this reader does not understand")
    _attributes(match.group("attrs"), prefixes)
    return match.group("closed") is not None


def _attributes(text: str, prefixes: frozenset[str] = frozenset()) -> dict[str, str]:
    """Attributes of a start tag (already checked against _ATTRIBUTES): no repeated names, no
    undeclared namespace prefixes."""
    pairs = _ATTRIBUTE_RE.findall(text)
    attributes = dict(pairs)
    if len(attributes) != len(pairs) or "r" in attributes:
        raise NotFast("a repeated attribute")
    if any(name.partition(":")[0] not in prefixes for name in attributes if ":" in name):
        raise NotFast("an attribute of an undeclared namespace")
    return attributes


def _columns(cells: pa.Array) -> np.ndarray:
    """Per cell its 1-based column, from the letters of its reference (`cells` start with it)."""
    if not pc.all(pc.match_substring_regex(cells, _REFERENCE_SHAPE)).as_py():
        raise NotFast("a cell reference this reader does not understand")
    starts = pc.utf8_slice_codeunits(cells, 0, 3).dictionary_encode()
    numbers = np.array(
        [_column_number(text.rstrip(DIGITS + '"')) for text in starts.dictionary.to_pylist()],
        dtype=np.int64,
    )
    columns = numbers[starts.indices.to_numpy()]
    if (columns > MAX_COLUMN).any():
        raise NotFast("a column beyond XFD")
    return columns


def _column_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


def _valid_formulas(attributes: pa.Array, texts: pa.Array) -> np.ndarray:
    """Per formula: well-formed attributes (no repeats) and text."""
    openings = attributes.dictionary_encode()
    checked = [_well_formed(text) for text in openings.dictionary.to_pylist()]
    valid = np.array(checked, dtype=bool)[openings.indices.to_numpy()]
    ampersands = pc.count_substring(texts, "&").to_numpy()
    references = pc.count_substring_regex(texts, _REFERENCE).to_numpy()
    return valid & (ampersands == references) & ~_matches(texts, _NOT_XML_TEXT)


def _well_formed(attributes: str) -> bool:
    if _ATTRIBUTES_RE.fullmatch(attributes) is None:
        return False
    try:
        _attributes(attributes)
    except NotFast:
        return False
    return True


def _number_texts(
    values: pa.Array, plain: np.ndarray, percent: np.ndarray
) -> tuple[pa.Array, np.ndarray]:
    """Texts of numbers as ingest's cell text gives them, where kernels are known to agree:
    plain numbers as `str(int)` / `repr(float)`, percent ones as round(x × 100, 10) first.

    Left undone (for the callback): floats outside 1e-4 to 1e9 that are not integral, percent
    values within 0.01 of a rounding tie or too large for the extended-precision check.
    """
    wanted = plain | percent
    if not wanted.any():
        return pa.nulls(len(values), pa.large_string()), wanted
    integer = plain & _matches(values, _CANONICAL_INTEGER)
    decimal = wanted & ~integer & _matches(values, _DECIMAL)
    numbers = pc.cast(pc.if_else(pa.array(decimal), values, "0"), pa.float64()).to_numpy()
    with np.errstate(over="ignore", invalid="ignore"):
        # x × 100 in doubles as Python does, then × 1e10 in extended precision: where that
        # product's error bound stays well inside the margin, rint gives Python's rounding
        scaled = (numbers * PERCENT_FACTOR).astype(np.longdouble) * np.longdouble(
            10**PERCENT_DIGITS
        )
        size = np.abs(scaled)
        tie = np.abs(np.abs(scaled - np.trunc(scaled)) - 0.5) < TIE_MARGIN
        precise = (size < 2.0**53) & (size * np.finfo(np.longdouble).eps < TIE_MARGIN / 4)
        exact = decimal & percent & precise & ~tie
        rounded = np.rint(scaled).astype(np.float64) / float(10**PERCENT_DIGITS)
        numbers = np.where(exact, rounded, numbers)
    decimal &= plain | exact
    size = np.abs(numbers)
    integral = decimal & (numbers == np.trunc(numbers)) & (size < INTEGRAL_LIMIT)
    fraction = decimal & (numbers != np.trunc(numbers)) & (size >= 1e-4) & (size < SHORTEST_LIMIT)
    whole = np.where(integral, numbers, 0).astype(np.int64)
    texts = pc.if_else(
        pa.array(integral),
        pc.cast(pa.array(whole), pa.large_string()),
        pc.cast(pa.array(np.where(fraction, numbers, 0.5)), pa.large_string()),
    )
    texts = pc.if_else(pa.array(integer), pc.cast(values, pa.large_string()), texts)
    return texts, integer | integral | fraction


def _matches(values: pa.Array, pattern: str) -> np.ndarray:
    return pc.match_substring_regex(values, pattern).to_numpy(zero_copy_only=False)


class _Decoder:
    """Turns distinct cell tails (attributes after the reference, and the body) into texts."""

    def __init__(
        self,
        styles: list[_Style],
        shared: list[str],
        epoch: Any,
        cell_text: CellText,
        is_percent: Callable[[str], bool],
    ) -> None:
        self._styles = styles
        self._shared = shared
        self._epoch = epoch
        self._cell_text = cell_text
        self._is_percent = is_percent
        self._shared_text = pa.array(shared, pa.large_string())

    def texts(self, tails: pa.Array) -> tuple[pa.Array, np.ndarray]:
        """Per distinct tail: the cell text, and whether the row element closes after it.

        A cell holding only a value (and perhaps a formula) is read in bulk: plain numbers and
        shared strings with vectorised kernels, other values one by one from their <v> text;
        any other cell goes through the full parse of `_text`.
        """
        parts = pc.extract_regex(tails, _VALUE_TAIL)
        matched = np.array(parts.is_valid(), dtype=bool)
        attributes, values, row_end = (parts.field(n) for n in ("attrs", "v", "row_end"))
        with_formula = np.flatnonzero(~matched & _matches(tails, "<f[ />]"))
        if len(with_formula):
            found = pc.extract_regex(tails.take(pa.array(with_formula)), _FORMULA_VALUE_TAIL)
            valid = np.array(found.is_valid(), dtype=bool)
            valid[valid] = _valid_formulas(
                found.field("formula").filter(pa.array(valid)),
                found.field("formula_text").filter(pa.array(valid)),
            )
            replaced = np.zeros(len(tails), dtype=bool)
            replaced[with_formula[valid]] = True
            mask, chosen = pa.array(replaced), pa.array(valid)
            attributes, values, row_end = (
                pc.replace_with_mask(old, mask, found.field(n).filter(chosen))
                for old, n in ((attributes, "attrs"), (values, "v"), (row_end, "row_end"))
            )
            matched |= replaced
        row_ends = np.array(pc.not_equal(row_end, ""), dtype=bool)
        openings = attributes.dictionary_encode()
        cell_kinds = [self._kind(attrs) for attrs in openings.dictionary.to_pylist()]
        opening = openings.indices.to_numpy()
        lanes = np.array([k[2] if k is not None else "" for k in cell_kinds], dtype=object)[opening]
        plain, percent = matched & (lanes == "plain"), matched & (lanes == "percent")
        shared = (
            matched & np.array([k is not None and k[0] == "s" for k in cell_kinds], bool)[opening]
        )
        texts, done = _number_texts(values, plain, percent)
        shared_texts, shared_done = self._shared_texts(values, shared)
        texts = pc.if_else(pa.array(shared_done), shared_texts, texts)
        done |= shared_done
        by_value = np.flatnonzero(matched & ~done)
        value_texts = [
            self._value_text(cell_kinds[opening[position]], value)
            for position, value in zip(
                by_value.tolist(), values.take(pa.array(by_value)).to_pylist(), strict=True
            )
        ]
        by_tail = np.flatnonzero(~matched)
        tail_texts = []
        for position, tail in zip(
            by_tail.tolist(), tails.take(pa.array(by_tail)).to_pylist(), strict=True
        ):
            text, row_ends[position] = self._text(tail)
            tail_texts.append(text)
        rest = np.concatenate([by_value, by_tail])
        if len(rest):
            mask = np.zeros(len(tails), dtype=bool)
            mask[rest] = True
            order = np.argsort(rest, kind="stable")
            filled = pa.array([*value_texts, *tail_texts], pa.large_string()).take(pa.array(order))
            texts = pc.replace_with_mask(texts, pa.array(mask), filled)
        return texts, row_ends

    def _kind(self, attributes_text: str) -> tuple[str, _Style, str] | None:
        """A cell's type, its style, and how its numbers read ("plain", "percent" or "")."""
        match = _TAIL_RE.match(attributes_text + "/>")
        if match is None:
            return None
        attributes = _attributes(match.group("attrs"))
        if not attributes.keys() <= CELL_ATTRIBUTES:
            return None
        style_text = attributes.get("s", "0")
        if not style_text.isdigit() or int(style_text) >= len(self._styles):
            raise NotFast("a cell style that does not exist")
        style = self._styles[int(style_text)]
        kind = attributes.get("t", "n")
        lane = ""
        if kind == "n" and not style.is_date:
            lane = "percent" if self._is_percent(style.number_format) else "plain"
        return kind, style, lane

    def _value_text(self, kind: tuple[str, _Style, str] | None, raw: str) -> str:
        if kind is None:
            raise NotFast("a cell attribute this reader does not understand")
        value = self._value(kind[0], _xml_text(raw), None, kind[1])
        return self._cell_text(CellValue(value, kind[1].number_format))

    def _shared_texts(self, values: pa.Array, wanted: np.ndarray) -> tuple[pa.Array, np.ndarray]:
        """Texts of shared-string cells whose <v> is a plain index into the table."""
        if not wanted.any():
            return pa.nulls(len(values), pa.large_string()), wanted
        digits = wanted & pc.match_substring_regex(values, "^[0-9]{1,9}$").to_numpy(
            zero_copy_only=False
        )
        index = np.array(pc.cast(pc.if_else(pa.array(digits), values, "0"), pa.int64()))
        done = digits & (index < len(self._shared_text))
        index[~done] = 0
        if not len(self._shared_text):
            return pa.nulls(len(values), pa.large_string()), done
        return self._shared_text.take(pa.array(index)), done

    def _text(self, tail: str) -> tuple[str, bool]:
        match = _TAIL_RE.match(tail)
        if match is None:
            raise NotFast("a cell this reader does not understand")
        attributes = _attributes(match.group("attrs"))
        if not attributes.keys() <= CELL_ATTRIBUTES:
            raise NotFast("a cell attribute this reader does not understand")
        style_text = attributes.get("s", "0")
        if not style_text.isdigit() or int(style_text) >= len(self._styles):
            raise NotFast("a cell style that does not exist")
        style = self._styles[int(style_text)]
        kind = attributes.get("t", "n")
        raw, inline = _cell_body(match.group("body"), kind)
        value = self._value(kind, raw, inline, style)
        return self._cell_text(CellValue(value, style.number_format)), bool(match.group("row_end"))

    def _value(self, kind: str, raw: str | None, inline: str | None, style: _Style) -> Any:
        """The value openpyxl's worksheet parser gives this cell (data_only)."""
        if kind == "inlineStr":
            return inline
        if not raw:
            return None
        if kind == "n":
            number = _cast_number(raw)
            if not style.is_date:
                return number
            try:
                return from_excel(number, self._epoch, timedelta=style.is_timedelta)
            except (OverflowError, ValueError):
                return "#VALUE!"
        if kind == "s":
            if not raw.isdigit() or int(raw) >= len(self._shared):
                raise NotFast("a shared string that does not exist")
            return self._shared[int(raw)]
        if kind == "b":
            try:
                return bool(int(raw))
            except ValueError as error:
                raise NotFast("a boolean cell that is not a number") from error
        if kind in ("str", "e"):
            return raw
        raise NotFast(f"a cell of type {kind}")


def _cast_number(raw: str) -> int | float:
    """openpyxl's reading of a number cell: int unless it has a point or an exponent."""
    try:
        if "." in raw or "E" in raw or "e" in raw:
            return float(raw)
        return int(raw)
    except ValueError as error:
        raise NotFast("a number cell that is not a number") from error


def _cell_body(body: str | None, kind: str) -> tuple[str | None, str | None]:
    """The cell's <v> text and its inline string (None where absent)."""
    if not body:
        return None, None
    if _NESTED_CELL_RE.search(body):
        raise NotFast("a cell or row inside a cell")
    if kind == "inlineStr":
        inline = _INLINE_BODY_RE.match(body)
        if inline is not None:
            return None, _xml_text(inline.group("t"))
    else:
        value = _VALUE_BODY_RE.match(body)
        if value is not None and value.group("formula") is not None:
            _attributes(value.group("formula"))
        if value is not None:
            return (None if value.group("v") is None else _xml_text(value.group("v"))), None
    try:
        element = ET.fromstring(f'<c xmlns="{MAIN_NS}">{body}</c>')
    except ET.ParseError as error:
        raise NotFast("a cell body that is not well-formed") from error
    inline_element = element.find(_IS)
    return element.findtext(_V), (
        _text_content(inline_element) if inline_element is not None else None
    )


def _xml_text(raw: str) -> str:
    """Character data as an XML parser reports it: line ends normalised, references resolved."""
    if _NOT_XML_TEXT_RE.search(raw):
        raise NotFast("characters XML does not allow")
    if "\r" in raw:
        raw = raw.replace("\r\n", "\n").replace("\r", "\n")
    if "&" not in raw:
        return raw
    if raw.count("&") != len(_ENTITY_RE.findall(raw)):
        raise NotFast("an ampersand that is not a reference")
    return _ENTITY_RE.sub(_resolve_reference, raw)


def _resolve_reference(match: re.Match[str]) -> str:
    name = match.group(1)
    if name in _NAMED_ENTITIES:
        return _NAMED_ENTITIES[name]
    try:
        if name.startswith("#x"):
            code = int(name[2:], 16)
        elif name.startswith("#"):
            code = int(name[1:], 10)
        else:
            raise NotFast(f"the entity &{name};")
    except ValueError as error:
        raise NotFast(f"the reference &{name};") from error
    allowed = code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0x10FFFF
    if allowed and code not in (0xFFFE, 0xFFFF):
        return chr(code)
    raise NotFast(f"the reference &{name}; is not an XML character")


def _text_content(element: ET.Element) -> str:
    """openpyxl's Text.content: the plain <t> (the last one) and then the <t> of every <r> run."""
    plain = None
    runs = []
    for child in element:
        if child.tag == _T:
            plain = child.text
        elif child.tag == _R:
            run = None
            for part in child:
                if part.tag == _T:
                    run = part.text
            runs.append(run)
    return (plain or "") + "".join(run for run in runs if run is not None)


def _shared_strings(xml: bytes) -> list[str]:
    """The shared string table as openpyxl reads it (rich text flattened, phonetics left out)."""
    strings = []
    for _, element in ET.iterparse(io.BytesIO(xml)):
        if element.tag == _SI:
            strings.append(_text_content(element).replace("x005F_", ""))
            element.clear()
    return strings


def _check_content_types(xml: bytes) -> str | None:
    """Checks the workbook part is xl/workbook.xml; returns the shared strings part, if any."""
    root = ET.fromstring(xml)
    overrides = {
        element.get("ContentType"): element.get("PartName", "")
        for element in reversed(root.findall(f"{{{CONTENT_TYPES_NS}}}Override"))
    }
    workbook = next((overrides[t] for t in WORKBOOK_CONTENT_TYPES if t in overrides), None)
    if workbook != "/" + WORKBOOK_PART:
        raise NotFast(f"the workbook part is {workbook}")
    shared = overrides.get(SHARED_STRINGS_CONTENT_TYPE)
    return shared[1:] if shared else None


def _relationships(xml: bytes) -> dict[str, tuple[str, str]]:
    """The workbook's relationships: id → (type, member name in the zip)."""
    relationships = {}
    for element in ET.fromstring(xml).iter(f"{{{PACKAGE_RELATIONSHIPS_NS}}}Relationship"):
        if element.get("TargetMode") == "External":
            continue
        target = element.get("Target", "")
        target = target[1:] if target.startswith("/") else posixpath.normpath("xl/" + target)
        relationships[element.get("Id", "")] = (element.get("Type", ""), target)
    return relationships


def _styles(xml: bytes) -> list[_Style]:
    """Per cellXfs entry: its number format as openpyxl reports it, and date/timedelta flags."""
    root = ET.fromstring(xml)
    custom = {
        int(element.get("numFmtId", "")): element.get("formatCode", "")
        for element in root.iterfind(f"{{{MAIN_NS}}}numFmts/{{{MAIN_NS}}}numFmt")
    }
    styles = []
    for element in root.iterfind(f"{{{MAIN_NS}}}cellXfs/{{{MAIN_NS}}}xf"):
        number_format_id = int(element.get("numFmtId", "0"))
        if number_format_id in custom:
            code = custom[number_format_id]
            styles.append(_Style(code, is_date_format(code), is_timedelta_format(code)))
        elif number_format_id >= BUILTIN_FORMATS_MAX_SIZE:
            raise NotFast(f"the number format {number_format_id} is not defined")
        else:
            code = BUILTIN_FORMATS.get(number_format_id)
            styles.append(
                _Style(code or "General", is_date_format(code), is_timedelta_format(code))
            )
    if not styles:
        raise NotFast("no cell styles")
    return styles
