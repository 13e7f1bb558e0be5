"""Reads indicator upload files (CSV, TXT, XLSX from Excel or WPS) into typed long rows, errors and warnings."""

from __future__ import annotations

import codecs
import contextlib
import csv
import datetime as dt
import hashlib
import io
import itertools
import re
import unicodedata
import warnings
import zipfile
from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import PurePath
from typing import Any, ClassVar

import numpy as np
import openpyxl
import pandas as pd
import pyarrow as pa
from openpyxl.utils import get_column_letter
from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from indicators import xlsx_reader
from indicators.catalog import Catalog, Indicator
from indicators.periods import current_month

LAYOUT_WIDE = "wide"
LAYOUT_LONG = "long"

MAX_PROBLEMS = 1000  # per list (errors, warnings); the rest is summarised in one final problem
HEADER_SEARCH_ROWS = 30  # title and note rows above the header row
STRING_DTYPE = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' default `str` dtype
SAMPLE_CHARS = 1 << 16  # the header search reads the first records from this much text first
BLANK_PROBE = 4096  # bytes or characters looked at before a whole file is checked for content
MAX_VALUE_CHARS = 200  # longer cell texts are cut short in problems
DELIMITERS = (",", "\t", ";")
EXTRA_TEXT_COLUMNS = 8  # room for data rows wider than the first lines before the slow path
MISSPELT_SIMILARITY = 75.0  # rapidfuzz ratio (0–100) from which a header is a misspelt indicator
MISSPELT_MIN_LENGTH = 3  # ...or one edit away from a name at least this long
EARLIEST_YEAR = 2000
CODE_LENGTH = 12
NON_COMMUNITY_SUFFIX = "000"  # street and district codes end in 000

TEXT_SUFFIXES = frozenset({".csv", ".txt", ".tsv"})
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")  # .xls and password-protected workbooks
PDF_MAGIC = b"%PDF"

MISSING_MARKERS = frozenset({"", "na", "n/a", "-", "--", "—", "——", "–", "/", "无", "空"})
EXCEL_ERRORS = frozenset(
    {
        "#DIV/0!",
        "#N/A",
        "#VALUE!",
        "#REF!",
        "#NAME?",
        "#NUM!",
        "#NULL!",
        "#SPILL!",
        "#CALC!",
        "#GETTING_DATA",
    }
)
TOTAL_ROW_LABELS = frozenset({"合计", "总计", "小计", "汇总", "平均", "平均值"})

FIELD_CODE = "community_code"
FIELD_NAME = "community_name"
FIELD_PERIOD = "period"
FIELD_INDICATOR = "indicator"
FIELD_VALUE = "value"
FIELD_HEADERS: dict[str, tuple[str, ...]] = {
    FIELD_CODE: ("社区代码", "community_code", "社区编码", "代码", "code"),
    FIELD_NAME: ("社区名称", "community_name", "社区名", "社区", "名称", "name"),
    FIELD_PERIOD: (
        "统计期",
        "period",
        "统计月份",
        "月份",
        "期间",
        "统计期间",
        "统计月",
        "统计时间",
        "年月",
        "month",
    ),
    FIELD_INDICATOR: ("指标", "indicator", "指标名称", "指标代码", "指标编号", "指标id"),
    FIELD_VALUE: ("数值", "值", "value", "指标值"),
}
FIELD_LABELS_ZH = {
    FIELD_CODE: "社区代码",
    FIELD_NAME: "社区名称",
    FIELD_PERIOD: "统计期",
    FIELD_INDICATOR: "指标",
    FIELD_VALUE: "数值",
}
FIELD_LABELS_EN = {
    FIELD_CODE: "community_code",
    FIELD_NAME: "community_name",
    FIELD_PERIOD: "period",
    FIELD_INDICATOR: "indicator",
    FIELD_VALUE: "value",
}
REQUIRED_FIELDS = {
    LAYOUT_WIDE: (FIELD_CODE, FIELD_PERIOD),
    LAYOUT_LONG: (FIELD_CODE, FIELD_PERIOD, FIELD_INDICATOR, FIELD_VALUE),
}
MISSING_INDICATOR_COLUMNS = "indicators"

# Value cell states after parsing.
MISSING, NUMBER, TEXT, EXCEL_ERROR = 0, 1, 2, 3

_CODE_PATTERN = rf"[0-9]{{{CODE_LENGTH}}}"
_SCIENTIFIC_PATTERN = r"[+-]?[0-9]+(?:\.[0-9]+)?[eE][+-]?[0-9]+"
_CODE_LIKE_PATTERN = r"[0-9][0-9.eE+\-]*"
_NUMBER_PATTERN = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_THOUSANDS_PATTERN = r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?"
_MONTH_PATTERN = r"^([0-9]{4})[-/.年]([0-9]{1,2})(?:月份?)?$"
_COMPACT_MONTH_PATTERN = r"^([0-9]{4})([0-9]{2})$"
_AMBIGUOUS_MONTH_PATTERN = r"[0-9]{4}\.1"  # January, or October once Excel made 2025.10 a number
_DATE_PATTERN = (
    r"^([0-9]{4})[-/.年]([0-9]{1,2})[-/.月]([0-9]{1,2})日?"
    r"(?:T?[0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?$"
)
_INVISIBLE = "[\\s\x0b\x1c-\x1f\x85\u200b-\u200d\u2060\ufeff]+"
_INVISIBLE_RE = re.compile(_INVISIBLE)
_UNIT_SUFFIX_RE = re.compile(r"[(\[【〔][^()\[\]【】〔〕]*[)\]】〕]$")
_FORMAT_LITERALS_RE = re.compile(r'"[^"]*"|\\.|\[[^\]]*\]')


@dataclass(frozen=True)
class Problem:
    """One error or warning about an upload, with a stable code and a sentence in both languages."""

    code: str
    row: int | None
    column: str | None
    value: str | None
    message_zh: str
    message_en: str

    def message(self, language: str) -> str:
        return self.message_en if language.lower().startswith("en") else self.message_zh


@dataclass
class ParsedUpload:
    """Everything an import needs from one file: the valid values and every problem found."""

    file_name: str
    sha256: str
    layout: str | None
    header_row: int | None
    values: pd.DataFrame
    rows_total: int
    error_rows: set[int]
    errors: list[Problem]
    warnings: list[Problem]
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None

    @property
    def ok(self) -> bool:
        return not self.errors


# ---------------------------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------------------------


def parse_upload(
    file_name: str,
    data: bytes,
    catalog: Catalog,
    registry_codes: Collection[str] | None = None,
    today: dt.date | None = None,
) -> ParsedUpload:
    """Parses one uploaded file; bad input never raises, it comes back as errors."""
    report = _Report(file_name, catalog, today or dt.date.today())
    result = ParsedUpload(
        file_name=file_name,
        sha256=hashlib.sha256(data).hexdigest(),
        layout=None,
        header_row=None,
        values=empty_values(),
        rows_total=0,
        error_rows=set(),
        errors=[],
        warnings=[],
    )
    vocabulary = _Vocabulary.of(catalog)
    grid = _read_grid(file_name, data, vocabulary, report, result)
    if grid is not None:
        _parse_grid(grid, vocabulary, catalog, registry_codes, report, result)
    result.errors, result.warnings = report.finish()
    return result


VALUE_DTYPES = {
    "community_code": "str",
    "period": "str",
    "indicator": "str",
    "value": "float64",
    "row": "int64",
}


@dataclass(frozen=True)
class Table:
    """A file read as rows of cell texts, for tables other than uploads (the org registry)."""

    rows: list[list[str]]  # from the first non-empty row (the header) to the last; all one width
    first_row: int  # the row a person sees for rows[0]
    error: Problem | None  # why the file could not be read; rows is empty then
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None


def read_table(file_name: str, data: bytes) -> Table:
    """Reads any CSV/TXT/XLSX the way uploads are read (encodings, delimiters, Excel cells).

    Blank rows inside the table are kept (as empty cells) so that row numbers stay the ones a
    person sees; leading and trailing blank rows and trailing empty columns are dropped.
    """
    report = _Report(file_name, None, dt.date.today())
    result = ParsedUpload(file_name, "", None, None, empty_values(), 0, set(), [], [])
    grid = _read_grid(file_name, data, _Vocabulary({}, {}), report, result)
    errors, _ = report.finish()
    if grid is None or errors:
        return Table(
            [], 1, errors[0] if errors else None, result.encoding, result.delimiter, result.sheet
        )
    filled = _filled_cells(grid)
    used_rows = (
        np.flatnonzero(filled.any(axis=1)) if filled.shape[1] else np.array([], dtype=np.int64)
    )
    if not len(used_rows):
        report.file_error("empty_file")
        return Table([], 1, report.finish()[0][0], result.encoding, result.delimiter, result.sheet)
    first, last = int(used_rows[0]), int(used_rows[-1])
    width = int(np.flatnonzero(filled.any(axis=0))[-1]) + 1
    rows = grid.iloc[first : last + 1, :width].to_numpy(dtype=object).tolist()
    return Table(rows, first + 1, None, result.encoding, result.delimiter, result.sheet)


def empty_values() -> pd.DataFrame:
    """The `values` frame with its columns and dtypes and no rows."""
    return pd.DataFrame({name: pd.Series([], dtype=dtype) for name, dtype in VALUE_DTYPES.items()})


def problems_frame(problems: list[Problem], language: str) -> pd.DataFrame:
    """One row per problem: row, column, code, value and the message in `language`."""
    return pd.DataFrame(
        {
            "row": pd.array([p.row for p in problems], dtype="Int64"),
            "column": pd.Series([p.column for p in problems], dtype="str"),
            "code": pd.Series([p.code for p in problems], dtype="str"),
            "value": pd.Series([p.value for p in problems], dtype="str"),
            "message": pd.Series([p.message(language) for p in problems], dtype="str"),
        }
    )


PROBLEM_CSV_HEADERS = {
    "zh": ("行号", "列", "错误代码", "值", "说明"),
    "en": ("row", "column", "code", "value", "message"),
}
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def problems_csv(problems: list[Problem], language: str) -> bytes:
    """The problems as a CSV that Excel opens correctly (UTF-8 with BOM, formulas neutralised)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(PROBLEM_CSV_HEADERS["en" if language.lower().startswith("en") else "zh"])
    for problem in problems:
        cells = [
            problem.row,
            problem.column,
            problem.code,
            problem.value,
            problem.message(language),
        ]
        writer.writerow(["" if cell is None else _neutralise_formula(str(cell)) for cell in cells])
    return buffer.getvalue().encode("utf-8-sig")


def normalise_header(text: str) -> str:
    """The matching key of a header: NFKC, no spaces, no unit suffix, case-folded, no _ or -."""
    key = _INVISIBLE_RE.sub("", unicodedata.normalize("NFKC", text)).strip("*")
    previous = None
    while previous != key:
        previous, key = key, _UNIT_SUFFIX_RE.sub("", key)
    return key.casefold().replace("_", "").replace("-", "")


def is_percent_unit(indicator: Indicator) -> bool:
    return unicodedata.normalize("NFKC", indicator.unit).strip() == "%"


def _neutralise_formula(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


# ---------------------------------------------------------------------------------------------
# Header vocabulary
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Column:
    index: int
    header: str  # as it appears in the file, without surrounding spaces
    kind: str  # "field" | "indicator" | "misspelt" | "unknown" | "empty"
    target: str | None  # field name or indicator id


@dataclass(frozen=True)
class _Vocabulary:
    fields: dict[str, str]
    indicators: dict[str, str]

    @classmethod
    def of(cls, catalog: Catalog) -> _Vocabulary:
        fields = {
            normalise_header(h): name for name, headers in FIELD_HEADERS.items() for h in headers
        }
        indicators: dict[str, str] = {}
        for indicator in catalog.indicators:
            for name in (indicator.id, indicator.name_zh, indicator.name_en, *indicator.aliases):
                key = normalise_header(name)
                if key and key not in fields:
                    indicators.setdefault(key, indicator.id)
        return cls(fields, indicators)

    def classify(self, index: int, cell: str, *, with_suggestions: bool) -> _Column:
        header = cell.strip()
        key = normalise_header(cell)
        if not key:
            return _Column(index, header, "empty", None)
        if key in self.fields:
            return _Column(index, header, "field", self.fields[key])
        if key in self.indicators:
            return _Column(index, header, "indicator", self.indicators[key])
        suggestion = self.resembles(key) if with_suggestions else None
        if suggestion is not None:
            return _Column(index, header, "misspelt", suggestion)
        return _Column(index, header, "unknown", None)

    def resembles(self, key: str) -> str | None:
        """The indicator an unknown header key most resembles, when it is close enough."""
        best_score, best_id = 0.0, None
        for name, indicator_id in self.indicators.items():
            score = fuzz.ratio(key, name)
            near = (
                min(len(key), len(name)) >= MISSPELT_MIN_LENGTH
                and Levenshtein.distance(key, name) <= 1
            )
            if (score >= MISSPELT_SIMILARITY or near) and score > best_score:
                best_score, best_id = score, indicator_id
        return best_id

    def indicator_of(self, cell: str) -> str | None:
        return self.indicators.get(normalise_header(cell))


@dataclass(frozen=True)
class _Header:
    first_row: int  # 0-based grid index of the (first) header line
    last_row: int  # 0-based grid index of the last header line; data starts below it
    columns: tuple[_Column, ...]
    layout: str
    strict: bool

    @property
    def recognised(self) -> int:
        return sum(c.kind in ("field", "indicator") for c in self.columns)

    def field_column(self, name: str) -> _Column | None:
        return next((c for c in self.columns if c.kind == "field" and c.target == name), None)

    @property
    def indicator_columns(self) -> list[_Column]:
        return [c for c in self.columns if c.kind == "indicator"]


def _header_of(columns: list[_Column], first: int, last: int) -> _Header | None:
    fields = {c.target for c in columns if c.kind == "field"}
    has_indicators = any(c.kind == "indicator" for c in columns)
    if set(REQUIRED_FIELDS[LAYOUT_LONG]) <= fields:
        return _Header(first, last, tuple(columns), LAYOUT_LONG, strict=True)
    if set(REQUIRED_FIELDS[LAYOUT_WIDE]) <= fields and has_indicators:
        return _Header(first, last, tuple(columns), LAYOUT_WIDE, strict=True)
    if sum(c.kind in ("field", "indicator") for c in columns) >= 2:
        layout = LAYOUT_LONG if fields & {FIELD_INDICATOR, FIELD_VALUE} else LAYOUT_WIDE
        return _Header(first, last, tuple(columns), layout, strict=False)
    return None


def _merge_header_lines(upper: list[_Column], lower: list[_Column]) -> list[_Column]:
    """A two-line header (a group row above the names): each column takes the line that is known."""
    merged = []
    for index in range(max(len(upper), len(lower))):
        top = upper[index] if index < len(upper) else _Column(index, "", "empty", None)
        bottom = lower[index] if index < len(lower) else _Column(index, "", "empty", None)
        if bottom.kind in ("field", "indicator") or (
            bottom.kind != "empty" and top.kind not in ("field", "indicator")
        ):
            merged.append(bottom)
        else:
            merged.append(top)
    return merged


def _is_group_line_above(upper: list[_Column], lower: list[_Column]) -> bool:
    """`upper` names code and period over vertically merged (empty) cells, `lower` names indicators."""
    fields_above = [c for c in upper if c.kind == "field"]
    if not {c.target for c in fields_above} & {FIELD_CODE, FIELD_PERIOD}:
        return False
    if {c.target for c in fields_above} & {FIELD_INDICATOR, FIELD_VALUE}:
        return False
    if any(c.index < len(lower) and lower[c.index].kind != "empty" for c in fields_above):
        return False
    return any(c.kind == "indicator" for c in lower)


def _find_header(lines: Sequence[Sequence[str]], vocabulary: _Vocabulary) -> _Header | None:
    """The first line (or pair of lines) that holds a complete header; else the first partial one."""
    classified = [
        [vocabulary.classify(i, str(cell), with_suggestions=False) for i, cell in enumerate(line)]
        for line in lines[: HEADER_SEARCH_ROWS + 1]
    ]
    partial: _Header | None = None
    for position, columns in enumerate(classified[:HEADER_SEARCH_ROWS]):
        header = _header_of(columns, position, position)
        if header is not None and header.strict:
            return header
        below = classified[position + 1] if position + 1 < len(classified) else []
        if _is_group_line_above(columns, below):
            merged = _header_of(_merge_header_lines(columns, below), position, position + 1)
            if merged is not None and merged.strict:
                return merged
        if partial is None and header is not None:
            partial = header
    return partial


def _with_suggestions(header: _Header, vocabulary: _Vocabulary) -> _Header:
    """The header with unknown columns checked for misspelt indicator names."""
    columns = tuple(
        vocabulary.classify(c.index, c.header, with_suggestions=True) if c.kind == "unknown" else c
        for c in header.columns
    )
    return _Header(header.first_row, header.last_row, columns, header.layout, header.strict)


# ---------------------------------------------------------------------------------------------
# Reading bytes into a grid of cell texts
# ---------------------------------------------------------------------------------------------


def _read_grid(
    file_name: str, data: bytes, vocabulary: _Vocabulary, report: _Report, result: ParsedUpload
) -> pd.DataFrame | None:
    """The file's cells as text (grid index + 1 = the row a person sees), or None after an error."""
    if _is_blank(data):
        report.file_error("empty_file")
        return None
    suffix = PurePath(file_name).suffix.lower()
    if data.startswith(ZIP_MAGIC):
        names = _zip_names(data)
        if names is None:  # a workbook cut short by the upload, or a damaged archive
            report.file_error("file_unreadable")
        elif "xl/workbook.xml" in names:
            return _read_workbook(data, vocabulary, report, result)
        else:
            report.file_error("unsupported_format", "zip")
        return None
    if data.startswith(OLE_MAGIC):
        report.file_error("unsupported_format", "xls")
        return None
    if data.startswith(PDF_MAGIC):
        report.file_error("unsupported_format", "pdf")
        return None
    if suffix not in TEXT_SUFFIXES:
        reasons = {".xls": "xls", ".xlsx": "xlsx_content", ".xlsm": "xlsx_content", ".pdf": "pdf"}
        report.file_error("unsupported_format", reasons.get(suffix, "suffix"))
        return None
    decoded = _decode(data)
    if decoded is None:
        report.file_error("encoding")
        return None
    text, encoding = decoded
    result.encoding = encoding
    utf8 = data.removeprefix(codecs.BOM_UTF8) if encoding in ("utf-8", "utf-8-sig") else None
    if _is_blank(text):
        report.file_error("empty_file")
        return None
    return _read_text(text, vocabulary, report, result, utf8)


def _zip_names(data: bytes) -> set[str] | None:
    """The member names of a zip archive, or None when it cannot be opened."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return set(archive.namelist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return None


def _decode(data: bytes) -> tuple[str, str] | None:
    """BOM → UTF-8/UTF-16; else strict UTF-8; else GB18030 (a superset of GBK); else None."""
    attempts: list[tuple[bytes, str]]
    if data.startswith(codecs.BOM_UTF8):
        attempts = [(data[len(codecs.BOM_UTF8) :], "utf-8-sig")]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        attempts = [(data, "utf-16")]
    elif b"\x00" in data[:4096]:
        attempts = [(data, _utf16_without_bom(data))]
    else:
        attempts = [(data, "utf-8"), (data, "gb18030")]
    for payload, encoding in attempts:
        try:
            text = payload.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        if "\x00" in text:
            return None
        return text.removeprefix("\ufeff"), encoding
    return None


def _utf16_without_bom(data: bytes) -> str:
    sample = data[:4096]
    zeros_even = sample[0::2].count(0)
    zeros_odd = sample[1::2].count(0)
    return "utf-16-le" if zeros_odd > zeros_even else "utf-16-be"


def _is_blank(data: bytes | str) -> bool:
    """Nothing but whitespace; looks at the start first, so a large file is not copied."""
    return not data[:BLANK_PROBE].strip() and not data.strip()


def _sample_lines(text: str, delimiter: str) -> list[list[str]]:
    """The first HEADER_SEARCH_ROWS + 1 records as the csv module reads them.

    They are read from the start of the text when it holds one record more (so the last one
    wanted is complete), else from the whole text: a large file is not copied three times.
    """
    wanted = HEADER_SEARCH_ROWS + 1
    if len(text) > SAMPLE_CHARS:
        lines, failed = _csv_records(text[:SAMPLE_CHARS], delimiter, wanted + 1)
        if not failed and len(lines) > wanted:
            return lines[:wanted]
    return _csv_records(text, delimiter, wanted)[0]


def _csv_records(text: str, delimiter: str, limit: int) -> tuple[list[list[str]], bool]:
    """Up to `limit` records, and whether the csv module stopped at an error before them."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    lines: list[list[str]] = []
    try:
        for line in itertools.islice(reader, limit):
            lines.append(line)
    except csv.Error:
        return lines, True
    return lines, False


def _consistency(lines: list[list[str]]) -> tuple[int, int]:
    """How many of the first lines share the most common field count (>1), and that count."""
    counts = Counter(len(line) for line in lines if len(line) > 1)
    if not counts:
        return (0, 0)
    width, frequency = max(counts.items(), key=lambda item: (item[1], item[0]))
    return (frequency, width)


def _read_text(
    text: str,
    vocabulary: _Vocabulary,
    report: _Report,
    result: ParsedUpload,
    utf8: bytes | None = None,
) -> pd.DataFrame | None:
    """The text as a grid; `utf8` (the same text as UTF-8 bytes, when the file was UTF-8)
    goes to the C parser as it is, saving it from encoding the text again."""
    samples = {d: _sample_lines(text, d) for d in DELIMITERS}

    def rank(delimiter: str) -> tuple[int, int, tuple[int, int]]:
        header = _find_header(samples[delimiter], vocabulary)
        return (
            int(header is not None and header.strict),
            header.recognised if header is not None else 0,
            _consistency(samples[delimiter]),
        )

    delimiter = max(DELIMITERS, key=rank)  # max keeps the first of equals: comma, then tab
    result.delimiter = delimiter
    width = max((len(line) for line in samples[delimiter]), default=1) + EXTRA_TEXT_COLUMNS
    try:
        grid = pd.read_csv(
            io.BytesIO(utf8) if utf8 is not None else io.StringIO(text),
            encoding="utf-8",
            sep=delimiter,
            header=None,
            names=range(width),
            dtype=str,
            na_filter=False,
            skip_blank_lines=False,
            engine="c",
            quotechar='"',
            doublequote=True,
            low_memory=False,
        )
    except (pd.errors.ParserError, ValueError, csv.Error):
        grid = None
    if grid is not None and not _agrees_with_sample(grid, samples[delimiter]):
        grid = None
    if grid is None:
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        lines: list[list[str]] = []
        last_line = 0
        try:
            for line in reader:
                lines.append(line)
                last_line = reader.line_num
        except csv.Error:  # an unbalanced quote swallowed more than the csv module's field limit
            report.file_error("csv_malformed", row=last_line + 1)
            return None
        grid = _grid_of(lines)
    return grid


def _agrees_with_sample(grid: pd.DataFrame, sample: list[list[str]]) -> bool:
    """The fast reader split the first lines like the csv module did (else use the csv module)."""
    head = grid.iloc[: len(sample)].to_numpy(dtype=object).tolist()
    if len(head) < len(sample):
        return False
    for fast, exact in zip(head, sample, strict=False):
        if [str(cell) for cell in fast[: len(exact)]] != exact or any(
            str(cell) for cell in fast[len(exact) :]
        ):
            return False
    return True


def _grid_of(lines: list[list[str]]) -> pd.DataFrame:
    width = max((len(line) for line in lines), default=0)
    padded = [line + [""] * (width - len(line)) for line in lines]
    if not padded or width == 0:
        return pd.DataFrame(index=range(len(lines)))
    return pd.DataFrame(padded, dtype=object).astype("str")


def _read_workbook(
    data: bytes, vocabulary: _Vocabulary, report: _Report, result: ParsedUpload
) -> pd.DataFrame | None:
    """The first visible sheet with a recognised header (else with any data) as a grid.

    The fast reader (xlsx_reader) gives the cell texts openpyxl gives; a workbook it does not
    understand, or fails on, is read again by openpyxl.
    """
    with (
        contextlib.suppress(Exception),
        xlsx_reader.FastWorkbook(data, _cell_text, _is_percent_format) as workbook,
    ):
        return _workbook_grid(workbook, vocabulary, report, result)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception:
            report.file_error("file_unreadable")
            return None
        try:
            return _workbook_grid(workbook, vocabulary, report, result)
        except Exception:
            report.file_error("file_unreadable")
            return None
        finally:
            workbook.close()


def _workbook_grid(
    workbook: Any, vocabulary: _Vocabulary, report: _Report, result: ParsedUpload
) -> pd.DataFrame | None:
    """The chosen sheet's grid; a sheet that cannot be read raises before any warning is given."""
    candidates: list[tuple[Any, _Header | None]] = []
    for sheet in workbook.worksheets:
        if getattr(sheet, "sheet_state", "visible") != "visible":
            continue
        if hasattr(sheet, "reset_dimensions"):
            sheet.reset_dimensions()
        head = _sheet_lines(sheet, HEADER_SEARCH_ROWS + 1)
        if not any(cell.strip() for line in head for cell in line):
            continue
        candidates.append((sheet, _find_header(head, vocabulary)))
    if not candidates:
        report.file_error("empty_file")
        return None
    chosen = next(
        (c for c in candidates if c[1] is not None and c[1].strict),
        next((c for c in candidates if c[1] is not None), candidates[0]),
    )
    grid = (
        chosen[0].grid()
        if isinstance(chosen[0], xlsx_reader.FastSheet)
        else _grid_of(_sheet_lines(chosen[0], None))
    )
    for sheet, header in candidates:
        if sheet is not chosen[0] and header is not None and header.strict:
            report.file_warning("sheet_ignored", sheet=sheet.title, used=chosen[0].title)
    result.sheet = chosen[0].title
    return grid


def _sheet_lines(sheet: Any, limit: int | None) -> list[list[str]]:
    if isinstance(sheet, xlsx_reader.FastSheet):
        return sheet.lines(limit)
    return [[_cell_text(cell) for cell in cells] for cells in sheet.iter_rows(max_row=limit)]


@lru_cache(maxsize=256)
def _is_percent_format(number_format: str) -> bool:
    """True for formats that show a number times 100 with a % sign (not a literal "%" text)."""
    return "%" in _FORMAT_LITERALS_RE.sub("", number_format)


def _cell_text(cell: Any) -> str:
    """A cell as the text a person sees: numbers plainly, percent cells ×100, dates as YYYY-MM-DD."""
    value = cell.value
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        number_format = getattr(cell, "number_format", None)
        if isinstance(number_format, str) and _is_percent_format(number_format):
            value = round(value * 100, 10)
        return _number_text(value)
    if isinstance(value, dt.datetime | dt.date):
        return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
    return str(value)


def _number_text(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


# ---------------------------------------------------------------------------------------------
# Validating the grid
# ---------------------------------------------------------------------------------------------


def _parse_grid(
    grid: pd.DataFrame,
    vocabulary: _Vocabulary,
    catalog: Catalog,
    registry_codes: Collection[str] | None,
    report: _Report,
    result: ParsedUpload,
) -> None:
    head = grid.iloc[: HEADER_SEARCH_ROWS + 1].to_numpy(dtype=object).tolist()
    header = _find_header(head, vocabulary)
    if header is None:
        report.file_error("header_not_found")
        return
    header = _with_suggestions(header, vocabulary)
    result.layout = header.layout
    result.header_row = header.last_row + 1
    header_row = header.last_row + 1

    body = grid.iloc[header.last_row + 1 :]
    rows = body.index.to_numpy(dtype=np.int64) + 1
    report.sheet = _DataRows(body, rows, {c.index: c.header for c in header.columns})

    filled = _filled_cells(body)
    has_content = filled.any(axis=1) if filled.shape[1] else np.zeros(len(body), dtype=bool)

    header_failed = _check_header(header, header_row, filled, report)
    checks = _RowChecks.run(body, header, catalog, vocabulary, registry_codes, report.today)
    report.labels = checks.labels

    counted = has_content & ~checks.ignored
    ignored = np.flatnonzero(has_content & checks.ignored)
    report.cell_warnings(_problem_frame(ignored, -1, "row_ignored", checks.ignored_reason[ignored]))
    result.rows_total = int(counted.sum())
    if result.rows_total == 0:
        report.file_warning("no_data_rows")

    for chunk in checks.errors:
        report.cell_errors(chunk[counted[chunk["position"].to_numpy()]])

    cells = _cells_of_rows(checks.cells, counted)
    # In the wide layout a cell can only repeat when its row's community and period do.
    keyed = checks.group[counted & (checks.group >= 0)]
    cells_repeat = header.layout == LAYOUT_LONG or bool(pd.Series(keyed).duplicated().any())
    conflicts = _conflicting_cells(cells) if cells_repeat else cells.iloc[:0]
    if len(conflicts):
        report.cell_errors(
            _problem_frame(
                conflicts["position"].to_numpy(),
                conflicts["column"].to_numpy(),
                "duplicate_conflict",
                conflicts["key"].astype(str).to_numpy(dtype=object),
            )
        )
        report.conflicts = conflicts

    error_positions = np.flatnonzero(counted) if header_failed else report.error_positions()
    result.error_rows = set(rows[error_positions].tolist())
    clean_rows = counted & (checks.group >= 0)
    clean_rows[error_positions] = False
    clean = _cells_of_rows(cells, clean_rows)
    _warn_repeated_rows(clean_rows, clean, checks, header.layout, report)
    result.values = _values_of(clean, checks.labels, rows, cells_repeat)


def _filled_cells(body: pd.DataFrame) -> np.ndarray:
    """rows × columns: the cell has something other than spaces."""
    if body.shape[1] == 0:
        return np.zeros((len(body), 0), dtype=bool)
    return np.column_stack(
        [body[c].astype("str").str.strip().ne("").to_numpy(dtype=bool) for c in body.columns]
    )


def _check_header(header: _Header, header_row: int, filled: np.ndarray, report: _Report) -> bool:
    """Reports misspelt, duplicate, missing and ignored columns; True when a header error exists."""
    failed = False
    seen: dict[tuple[str, str | None], _Column] = {}
    for column in header.columns:
        if column.kind == "misspelt":
            report.header_error(
                "header_misspelt", header_row, column.header, detail=column.target or ""
            )
            failed = True
        elif column.kind == "unknown":
            report.header_warning("column_ignored", header_row, column.header)
        elif (
            column.kind == "field" and column.target == FIELD_NAME and header.layout == LAYOUT_LONG
        ):
            continue
        elif column.kind in ("field", "indicator"):
            if header.layout == LAYOUT_LONG and column.kind == "indicator":
                report.header_warning("column_ignored", header_row, column.header)
                continue
            key = (column.kind, column.target)
            if key in seen:
                report.header_error(
                    "column_duplicate", header_row, column.header, detail=seen[key].header
                )
                failed = True
            else:
                seen[key] = column
    header_width = len(header.columns)
    for index in range(filled.shape[1]):
        kind = header.columns[index].kind if index < header_width else "empty"
        if kind == "empty" and filled[:, index].any():
            report.header_warning(
                "column_ignored", header_row, get_column_letter(index + 1), detail="unnamed"
            )
    present = {c.target for c in header.columns if c.kind == "field"}
    for name in REQUIRED_FIELDS[header.layout]:
        if name not in present:
            report.header_error("column_missing", header_row, None, detail=name)
            failed = True
    if (
        header.layout == LAYOUT_WIDE
        and not header.indicator_columns
        and not any(c.kind == "misspelt" for c in header.columns)
    ):
        report.header_error("column_missing", header_row, None, detail=MISSING_INDICATOR_COLUMNS)
        failed = True
    return failed


@dataclass(frozen=True)
class _Labels:
    """Distinct normalised texts of a column and, per row, the index of its text and its error."""

    index: np.ndarray
    texts: pd.Series
    status: np.ndarray

    @classmethod
    def of(cls, positions: np.ndarray, texts: pd.Series, status: np.ndarray) -> _Labels:
        """Labels from per-unique-raw-text results; equal normalised texts share one index."""
        canonical, distinct = pd.factorize(texts.astype("str"), use_na_sentinel=False)
        distinct_texts = pd.Series(np.asarray(distinct, dtype=object), dtype="str")
        return cls(canonical[positions], distinct_texts, status[positions])

    def text_at(self, position: int) -> str:
        return str(self.texts.iat[int(self.index[position])])

    def take(self, positions: np.ndarray) -> pd.Series:
        return _taken_texts(self.texts, self.index[positions])


@dataclass(frozen=True)
class _RowLabels:
    codes: _Labels
    periods: _Labels
    indicator_ids: tuple[str, ...]


@dataclass
class _RowChecks:
    """Cell-level checks over whole columns: problems, valid cells and rows to ignore."""

    errors: list[pd.DataFrame]
    # position, column, indicator (catalog index), value and key; only rows with a valid key
    cells: pd.DataFrame
    group: np.ndarray  # per row: community and period as one number, -1 when either is invalid
    labels: _RowLabels
    ignored: np.ndarray
    ignored_reason: np.ndarray

    @classmethod
    def run(
        cls,
        body: pd.DataFrame,
        header: _Header,
        catalog: Catalog,
        vocabulary: _Vocabulary,
        registry_codes: Collection[str] | None,
        today: dt.date,
    ) -> _RowChecks:
        count = len(body)
        errors: list[pd.DataFrame] = []
        code_column = header.field_column(FIELD_CODE)
        period_column = header.field_column(FIELD_PERIOD)
        name_column = header.field_column(FIELD_NAME)
        indicator_ids = tuple(i.id for i in catalog.indicators)

        codes, code_like = _check_codes(_column_text(body, code_column, count), registry_codes)
        periods = _check_periods(_column_text(body, period_column, count), today)
        if code_column is not None:
            errors.append(_problem_chunk(codes.status, code_column.index))
        if period_column is not None:
            errors.append(_problem_chunk(periods.status, period_column.index))
        key_valid = (codes.status == "") & (periods.status == "")
        if code_column is None or period_column is None:
            key_valid[:] = False
        group = np.where(key_valid, codes.index * max(len(periods.texts), 1) + periods.index, -1)

        if header.layout == LAYOUT_LONG:
            cells, attempted = _check_long(body, header, catalog, vocabulary, errors)
        else:
            cells, attempted = _check_wide(body, header, catalog, errors)

        total = _is_total_label(_column_text(body, code_column, count))
        if name_column is not None:
            total |= _is_total_label(_column_text(body, name_column, count))
        total &= codes.status != ""
        ignored = total | (~attempted & ~code_like)
        reason = np.where(total, "total", "note")

        cells = _cells_of_rows(cells, key_valid)
        cells = cells.assign(
            key=group[cells["position"].to_numpy()] * len(indicator_ids)
            + cells["indicator"].to_numpy()
        ).reset_index(drop=True)
        labels = _RowLabels(codes, periods, indicator_ids)
        return cls(errors, cells, group, labels, ignored, reason)


def _cells_frame(
    positions: np.ndarray, column: np.ndarray | int, indicator: np.ndarray | int, value: np.ndarray
) -> pd.DataFrame:
    """Valid cells: data row position, grid column, catalog indicator index and value."""
    count = len(positions)
    return pd.DataFrame(
        {
            "position": np.asarray(positions, dtype=np.int64),
            "column": np.broadcast_to(np.asarray(column, dtype=np.int64), (count,)).copy(),
            "indicator": np.broadcast_to(np.asarray(indicator, dtype=np.int64), (count,)).copy(),
            "value": np.asarray(value, dtype="float64"),
        }
    )


def _cells_of_rows(cells: pd.DataFrame, rows: np.ndarray) -> pd.DataFrame:
    """The cells whose row is selected by the boolean `rows`; no copy when all are."""
    keep = rows[cells["position"].to_numpy()]
    return cells if keep.all() else cells[keep]


def _column_text(body: pd.DataFrame, column: _Column | None, count: int) -> pd.Series:
    if column is None or column.index not in body.columns:
        return pd.Series([""] * count, dtype="str")
    return body[column.index].astype("str").reset_index(drop=True)


def _compact(series: pd.Series) -> pd.Series:
    """NFKC (full-width → half-width) and no whitespace anywhere."""
    text = series.astype("str")
    return text.str.normalize("NFKC").str.replace(_INVISIBLE, "", regex=True)


def _is_total_label(raw: pd.Series) -> np.ndarray:
    """Per row: the cell says 合计, 平均 or the like (a summary row, not a community)."""
    positions, uniques = _by_unique(raw)
    return _compact(uniques).isin(TOTAL_ROW_LABELS).to_numpy(dtype=bool)[positions]


def _by_unique(series: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Factorises a text column: work on the distinct texts, then `take` back by the codes."""
    positions, uniques = pd.factorize(series.astype("str"), use_na_sentinel=False)
    return positions, pd.Series(np.asarray(uniques, dtype=object), dtype="str")


def _problem_chunk(
    status: np.ndarray, column: int, detail: Callable[[np.ndarray], Sequence[str]] | None = None
) -> pd.DataFrame:
    """Cell problems where `status` (an error code per row, '' when fine) is not empty."""
    positions = np.flatnonzero(status != "")
    details = list(detail(positions)) if detail is not None else ""
    return _problem_frame(positions, column, status[positions], details)


def _problem_frame(
    positions: Sequence[int] | np.ndarray,
    column: int | np.ndarray,
    code: str | np.ndarray,
    detail: str | Sequence[str] | np.ndarray,
) -> pd.DataFrame:
    """A frame of problems: data row position, grid column (-1: the whole row), code, detail."""
    count = len(positions)

    def spread(value: object, dtype: type) -> np.ndarray:
        if isinstance(value, str | int):
            return np.full(count, value, dtype=dtype)
        return np.asarray(value, dtype=dtype).reshape(count)

    return pd.DataFrame(
        {
            "position": np.asarray(positions, dtype=np.int64).reshape(count),
            "column": spread(column, np.int64),
            "code": spread(code, object),
            "detail": spread(detail, object),
        }
    )


def _check_codes(
    raw: pd.Series, registry_codes: Collection[str] | None
) -> tuple[_Labels, np.ndarray]:
    """Normalised codes with an error code per row ('' when valid), and whether each looks like a code."""
    positions, uniques = _by_unique(raw)
    text = _compact(uniques).str.lstrip("'=").str.strip('"')
    empty = (text == "").to_numpy(dtype=bool)
    well_formed = text.str.fullmatch(_CODE_PATTERN).to_numpy(dtype=bool)
    scientific = text.str.fullmatch(_SCIENTIFIC_PATTERN).to_numpy(dtype=bool)
    code_like = text.str.fullmatch(_CODE_LIKE_PATTERN).to_numpy(dtype=bool)
    not_community = well_formed & text.str.endswith(NON_COMMUNITY_SUFFIX).to_numpy(dtype=bool)
    if registry_codes is None:
        unknown = np.zeros(len(text), dtype=bool)
    else:
        registry = (
            registry_codes if isinstance(registry_codes, set | frozenset) else set(registry_codes)
        )
        unknown = well_formed & ~not_community & ~text.isin(registry).to_numpy(dtype=bool)
    status = np.select(
        [empty, scientific, ~well_formed, not_community, unknown],
        ["code_missing", "code_scientific", "code_format", "code_not_community", "code_unknown"],
        default="",
    ).astype(object)
    return _Labels.of(positions, text, status), code_like[positions]


def _check_periods(raw: pd.Series, today: dt.date) -> _Labels:
    """`YYYY-MM` labels with an error code per row ('' when valid)."""
    positions, uniques = _by_unique(raw)
    text = _compact(uniques)
    month = text.str.extract(_MONTH_PATTERN)
    compact = text.str.extract(_COMPACT_MONTH_PATTERN)
    date = text.str.extract(_DATE_PATTERN)
    year = month[0].fillna(compact[0]).fillna(date[0])
    month_number = month[1].fillna(compact[1]).fillna(date[1])
    matched = year.notna().to_numpy()
    year_value = pd.to_numeric(year, errors="coerce").fillna(0).to_numpy()
    month_value = pd.to_numeric(month_number, errors="coerce").fillna(0).to_numpy()
    day_value = pd.to_numeric(date[2], errors="coerce").fillna(1).to_numpy()
    valid = matched & (year_value >= EARLIEST_YEAR) & (month_value >= 1) & (month_value <= 12)
    valid &= (day_value >= 1) & (day_value <= 31)
    ambiguous = text.str.fullmatch(_AMBIGUOUS_MONTH_PATTERN).to_numpy(dtype=bool)
    valid &= ~ambiguous
    labels = [
        f"{int(y):04d}-{int(m):02d}" if ok else ""
        for y, m, ok in zip(year_value, month_value, valid, strict=True)
    ]
    future = valid & (np.array(labels, dtype=object) > current_month(today))
    status = np.select(
        [(text == "").to_numpy(dtype=bool), ambiguous, ~valid, future],
        ["period_missing", "period_ambiguous", "period_invalid", "period_future"],
        default="",
    ).astype(object)
    return _Labels.of(positions, pd.Series(labels, dtype="str"), status)


@dataclass(frozen=True)
class _Numbers:
    status: np.ndarray  # MISSING / NUMBER / TEXT / EXCEL_ERROR
    value: np.ndarray  # float64, NaN unless NUMBER
    percent: np.ndarray  # written with a trailing %


def _parse_numbers(raw: pd.Series) -> _Numbers:
    positions, uniques = _by_unique(raw)
    text = _compact(uniques)
    missing = text.str.casefold().isin(MISSING_MARKERS).to_numpy(dtype=bool)
    excel_error = text.str.upper().isin(EXCEL_ERRORS).to_numpy(dtype=bool)
    percent = text.str.endswith("%").to_numpy(dtype=bool)
    body = text.str.removesuffix("%")
    thousands = body.str.fullmatch(_THOUSANDS_PATTERN).to_numpy(dtype=bool)
    body = body.where(~thousands, body.str.replace(",", "", regex=False))
    numeric = body.str.fullmatch(_NUMBER_PATTERN).to_numpy(dtype=bool) & ~missing
    value = pd.to_numeric(body.where(numeric, ""), errors="coerce").to_numpy(dtype="float64")
    value = np.where(numeric, value, np.nan)
    status = np.select(
        [missing, excel_error, numeric], [MISSING, EXCEL_ERROR, NUMBER], default=TEXT
    ).astype(np.int8)
    return _Numbers(status[positions], value[positions], percent[positions])


@dataclass(frozen=True)
class _Bounds:
    low: np.ndarray
    high: np.ndarray
    low_inclusive: np.ndarray
    percent_allowed: np.ndarray


def _value_checks(numbers: _Numbers, bounds: _Bounds) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per row: an error code ('' when fine), a detail, and whether the cell is a valid value."""
    is_number = numbers.status == NUMBER
    with np.errstate(invalid="ignore"):
        above_low = np.where(
            bounds.low_inclusive, numbers.value >= bounds.low, numbers.value > bounds.low
        )
        in_range = above_low & (numbers.value <= bounds.high)
    percent_wrong = is_number & numbers.percent & ~bounds.percent_allowed
    out_of_range = is_number & ~percent_wrong & ~in_range
    status = np.select(
        [numbers.status == TEXT, numbers.status == EXCEL_ERROR, percent_wrong, out_of_range],
        ["value_text", "value_excel_error", "value_text", "value_range"],
        default="",
    ).astype(object)
    detail = np.where(percent_wrong, "percent", "").astype(object)
    valid = is_number & ~percent_wrong & in_range
    return status, detail, valid


def _bounds_of(indicators: Sequence[Indicator | None]) -> _Bounds:
    return _Bounds(
        low=np.array([i.valid_min if i else np.nan for i in indicators], dtype="float64"),
        high=np.array([i.valid_max if i else np.nan for i in indicators], dtype="float64"),
        low_inclusive=np.array(
            [i.valid_min_inclusive if i else True for i in indicators], dtype=bool
        ),
        percent_allowed=np.array(
            [is_percent_unit(i) if i else True for i in indicators], dtype=bool
        ),
    )


def _check_wide(
    body: pd.DataFrame, header: _Header, catalog: Catalog, errors: list[pd.DataFrame]
) -> tuple[pd.DataFrame, np.ndarray]:
    count = len(body)
    attempted = np.zeros(count, dtype=bool)
    chunks: list[pd.DataFrame] = [_cells_frame(np.array([], dtype=np.int64), 0, 0, np.array([]))]
    seen: set[str] = set()
    order = {i.id: n for n, i in enumerate(catalog.indicators)}
    for column in header.indicator_columns:
        if column.target is None or column.target in seen:
            continue  # a duplicate column is a header error; its cells are not read twice
        seen.add(column.target)
        indicator = catalog.indicator_by_id[column.target]
        numbers = _parse_numbers(_column_text(body, column, count))
        attempted |= numbers.status != MISSING
        status, reason, valid = _value_checks(numbers, _bounds_of([indicator]))
        errors.append(
            _problem_chunk(
                status,
                column.index,
                lambda at, r=reason, i=indicator.id: [f"{i}:{x}" for x in r[at]],
            )
        )
        positions = np.flatnonzero(valid)
        chunks.append(
            _cells_frame(positions, column.index, order[indicator.id], numbers.value[positions])
        )
    return pd.concat(chunks, ignore_index=True), attempted


def _check_long(
    body: pd.DataFrame,
    header: _Header,
    catalog: Catalog,
    vocabulary: _Vocabulary,
    errors: list[pd.DataFrame],
) -> tuple[pd.DataFrame, np.ndarray]:
    count = len(body)
    indicator_column = header.field_column(FIELD_INDICATOR)
    value_column = header.field_column(FIELD_VALUE)
    numbers = _parse_numbers(_column_text(body, value_column, count))
    positions, uniques = _by_unique(_column_text(body, indicator_column, count))
    order = {i.id: n for n, i in enumerate(catalog.indicators)}
    unique_texts = uniques.tolist()
    unique_ids = [vocabulary.indicator_of(u) or "" for u in unique_texts]
    unique_empty = (_compact(uniques) == "").to_numpy(dtype=bool)
    unique_order = np.array([order.get(i, -1) for i in unique_ids], dtype=np.int64)
    suggestions = np.array(
        [
            "" if known or empty else (vocabulary.resembles(normalise_header(text)) or "")
            for text, known, empty in zip(unique_texts, unique_ids, unique_empty, strict=True)
        ],
        dtype=object,
    )
    indicator_index = unique_order[positions]
    empty = unique_empty[positions]
    known = indicator_index >= 0
    attempted = (numbers.status != MISSING) | ~empty
    if indicator_column is not None:
        status = np.select(
            [empty & (numbers.status != MISSING), ~empty & ~known],
            ["indicator_missing", "indicator_unknown"],
            default="",
        ).astype(object)
        errors.append(
            _problem_chunk(status, indicator_column.index, lambda at: suggestions[positions[at]])
        )
    bounds = _bounds_of([*catalog.indicators, None])  # index -1: the unknown indicator
    row_bounds = _Bounds(
        bounds.low[indicator_index],
        bounds.high[indicator_index],
        bounds.low_inclusive[indicator_index],
        bounds.percent_allowed[indicator_index],
    )
    status, reason, valid = _value_checks(numbers, row_bounds)
    status = np.where(
        known | np.isin(status, ["value_text", "value_excel_error"]), status, ""
    ).astype(object)
    ids = np.array([*(i.id for i in catalog.indicators), ""], dtype=object)
    if value_column is not None:
        errors.append(
            _problem_chunk(
                status,
                value_column.index,
                lambda at: [
                    f"{ids[n]}:{r}" for n, r in zip(indicator_index[at], reason[at], strict=True)
                ],
            )
        )
    if value_column is None or indicator_column is None:
        return _cells_frame(np.array([], dtype=np.int64), 0, 0, np.array([])), attempted
    usable = np.flatnonzero(valid & known)
    return _cells_frame(
        usable, value_column.index, indicator_index[usable], numbers.value[usable]
    ), attempted


def _conflicting_cells(cells: pd.DataFrame) -> pd.DataFrame:
    """Cells whose community, period and indicator appear again with a different value."""
    repeated = cells[cells["key"].duplicated(keep=False).to_numpy()]
    if repeated.empty:
        return repeated
    distinct = repeated.groupby("key")["value"].transform("nunique").to_numpy()
    return repeated[distinct > 1]


def _warn_repeated_rows(
    clean_rows: np.ndarray,
    clean: pd.DataFrame,
    checks: _RowChecks,
    layout: str,
    report: _Report,
) -> None:
    """A warning for each error-free row that repeats an earlier one without conflicting values."""
    if layout == LAYOUT_WIDE:
        positions = np.flatnonzero(clean_rows)
        groups = checks.group[positions]
        columns: int | np.ndarray = -1
    else:
        positions = clean["position"].to_numpy()
        groups = clean["key"].to_numpy()
        columns = clean["column"].to_numpy()
    repeat = pd.Series(groups).duplicated(keep="first").to_numpy()
    if not repeat.any():
        return
    first = pd.Series(positions).groupby(groups).transform("first").to_numpy()
    report.cell_warnings(
        _problem_frame(
            positions[repeat],
            columns if isinstance(columns, int) else columns[repeat],
            "duplicate_row",
            first[repeat].astype(str),
        )
    )


def _taken_texts(texts: pd.Series, indices: np.ndarray) -> pd.Series:
    """texts[indices] as a `str` Series. Texts of one ASCII width (codes, months) are copied
    as fixed-width bytes, several times faster for millions of rows than taking strings."""
    encoded = [] if texts.isna().any() else [text.encode("utf-8") for text in texts.tolist()]
    width = len(encoded[0]) if encoded else 0
    if width and all(len(text) == width and text.isascii() for text in encoded):
        table = np.frombuffer(b"".join(encoded), dtype=f"S{width}")
        data = table[indices].view(np.uint8)
        offsets = np.arange(len(indices) + 1, dtype=np.int64) * width
        array = pa.LargeStringArray.from_buffers(
            len(indices), pa.py_buffer(offsets), pa.py_buffer(data)
        )
    else:
        dictionary = pa.array(texts.to_numpy(dtype=object, na_value=None), type=pa.large_string())
        array = pa.DictionaryArray.from_arrays(
            pa.array(indices, type=pa.int64()), dictionary
        ).dictionary_decode()
    return pd.Series(pd.arrays.ArrowStringArray(array, dtype=STRING_DTYPE))


def _values_of(
    clean: pd.DataFrame, labels: _RowLabels, rows: np.ndarray, cells_repeat: bool = True
) -> pd.DataFrame:
    """The valid cells of error-free rows; a value repeated for one cell is kept once
    (`cells_repeat` False: no cell occurs twice, nothing to look for)."""
    position = clean["position"].to_numpy(dtype=np.int64)
    column = clean["column"].to_numpy(dtype=np.int64)
    width = int(column.max(initial=0)) + 1
    order = np.argsort(position * width + column, kind="stable")  # by position, then column
    if cells_repeat:
        keys = clean["key"].to_numpy()[order]
        order = order[~pd.Series(keys).duplicated(keep="first").to_numpy()]
    clean = clean.take(order)
    if clean.empty:
        return empty_values()
    positions = clean["position"].to_numpy()
    indicator_ids = pd.Series(labels.indicator_ids, dtype="str")
    return pd.DataFrame(
        {
            "community_code": labels.codes.take(positions),
            "period": labels.periods.take(positions),
            "indicator": _taken_texts(indicator_ids, clean["indicator"].to_numpy()),
            "value": clean["value"].to_numpy(dtype="float64"),
            "row": pd.Series(rows[positions], dtype="int64"),
        }
    )


# ---------------------------------------------------------------------------------------------
# Collecting and rendering problems
# ---------------------------------------------------------------------------------------------


@dataclass
class _DataRows:
    body: pd.DataFrame
    rows: np.ndarray
    headers: dict[int, str]


PROBLEM_FRAME_COLUMNS = ("position", "column", "code", "detail")


class _NoCatalog:
    """Stands in for a catalog when reading a plain table: no indicators to name."""

    indicators: ClassVar[tuple[Indicator, ...]] = ()
    indicator_by_id: ClassVar[dict[str, Indicator]] = {}


_NO_CATALOG = _NoCatalog()


@dataclass
class _Report:
    """Collects problems: file and header problems as they come, cell problems as frames."""

    file_name: str
    catalog: Catalog | None
    today: dt.date
    sheet: _DataRows | None = None
    conflicts: pd.DataFrame | None = None
    labels: _RowLabels | None = None
    _conflicts_by_key: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None = None
    early_errors: list[Problem] = field(default_factory=list)
    early_warnings: list[Problem] = field(default_factory=list)
    error_cells: list[pd.DataFrame] = field(default_factory=list)
    warning_cells: list[pd.DataFrame] = field(default_factory=list)

    def file_error(self, code: str, detail: str = "", row: int | None = None) -> None:
        self.early_errors.append(self._render(code, row, None, None, detail))

    def file_warning(self, code: str, **detail: str) -> None:
        self.early_warnings.append(self._render(code, None, None, None, detail))

    def header_error(self, code: str, row: int, column: str | None, detail: str = "") -> None:
        self.early_errors.append(self._render(code, row, column, column, detail))

    def header_warning(self, code: str, row: int, column: str, detail: str = "") -> None:
        self.early_warnings.append(
            self._render(code, row, column, column if detail != "unnamed" else None, detail)
        )

    def cell_errors(self, chunk: pd.DataFrame) -> None:
        if len(chunk):
            self.error_cells.append(chunk.loc[:, list(PROBLEM_FRAME_COLUMNS)])

    def cell_warnings(self, chunk: pd.DataFrame) -> None:
        if len(chunk):
            self.warning_cells.append(chunk.loc[:, list(PROBLEM_FRAME_COLUMNS)])

    def error_positions(self) -> np.ndarray:
        if not self.error_cells:
            return np.array([], dtype=np.int64)
        return np.unique(
            np.concatenate([c["position"].to_numpy(dtype=np.int64) for c in self.error_cells])
        )

    def finish(self) -> tuple[list[Problem], list[Problem]]:
        """Errors and warnings: file and header problems first, then cells by row and column."""
        return (
            self._capped(self.early_errors, self.error_cells, "too_many_errors"),
            self._capped(self.early_warnings, self.warning_cells, "too_many_warnings"),
        )

    def _capped(
        self, early: list[Problem], chunks: list[pd.DataFrame], summary_code: str
    ) -> list[Problem]:
        """At most MAX_PROBLEMS problems (messages built only for those) and a summary of the rest."""
        cells = pd.concat(chunks, ignore_index=True) if chunks else _problem_frame([], -1, "", "")
        total = len(early) + len(cells)
        shown = list(early[:MAX_PROBLEMS])
        room = MAX_PROBLEMS - len(shown)
        if room > 0 and len(cells) and self.sheet is not None:
            ordered = cells.sort_values(["position", "column"], kind="stable").head(room)
            for position, column, code, detail in ordered.itertuples(index=False):
                shown.append(self._cell_problem(int(position), int(column), str(code), str(detail)))
        if total > len(shown):
            shown.append(
                self._render(
                    summary_code, None, None, None, {"shown": str(len(shown)), "total": str(total)}
                )
            )
        return shown

    def _cell_problem(self, position: int, index: int, code: str, detail: str) -> Problem:
        assert self.sheet is not None
        row = int(self.sheet.rows[position])
        if index < 0:  # a problem of the whole row
            return self._render(code, row, None, None, detail)
        header = self.sheet.headers.get(index) or get_column_letter(index + 1)
        value = (
            _shortened(str(self.sheet.body.iat[position, index]))
            if index < self.sheet.body.shape[1]
            else None
        )
        return self._render(code, row, header, value, detail)

    def _render(
        self,
        code: str,
        row: int | None,
        column: str | None,
        value: str | None,
        detail: str | dict[str, str],
    ) -> Problem:
        zh, en = _messages(code, row, column, value, detail, self)
        return Problem(code=code, row=row, column=column, value=value, message_zh=zh, message_en=en)

    def repeated_row(self, first_position: int) -> tuple[int, str, str]:
        """The earlier row a repeated row matches, with the community and period they share."""
        if self.sheet is None or self.labels is None:
            return (0, "", "")
        return (
            int(self.sheet.rows[first_position]),
            self.labels.codes.text_at(first_position),
            self.labels.periods.text_at(first_position),
        )

    def conflict(self, key: str) -> tuple[str, str, str, list[tuple[int, float]]]:
        """Community, period, indicator id and the rows with their values of one conflicting cell."""
        if self.conflicts is None or self.sheet is None or self.labels is None:
            return ("", "", "", [])
        if self._conflicts_by_key is None:
            ordered = self.conflicts.sort_values(["key", "position"], kind="stable")
            self._conflicts_by_key = (
                ordered["key"].to_numpy(dtype=np.int64),
                ordered["position"].to_numpy(dtype=np.int64),
                ordered["value"].to_numpy(dtype="float64"),
                ordered["indicator"].to_numpy(dtype=np.int64),
            )
        keys, positions, values, indicators = self._conflicts_by_key
        start = int(np.searchsorted(keys, int(key), side="left"))
        stop = int(np.searchsorted(keys, int(key), side="right"))
        if start == stop:
            return ("", "", "", [])
        first = int(positions[start])
        return (
            self.labels.codes.text_at(first),
            self.labels.periods.text_at(first),
            self.labels.indicator_ids[int(indicators[start])],
            [
                (int(self.sheet.rows[p]), float(v))
                for p, v in zip(positions[start:stop], values[start:stop], strict=True)
            ],
        )


def _shortened(text: str) -> str:
    """A cell's text for a problem, cut short when a broken file glued many lines into one cell."""
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "…"


def _plain(number: float) -> str:
    return np.format_float_positional(number, trim="-")


def range_text(indicator: Indicator, language: str) -> str:
    """The valid range of an indicator as words, e.g. "0到100之间（含0和100），单位：%"."""
    low, high = _plain(indicator.valid_min), _plain(indicator.valid_max)
    if language == "en":
        unit = indicator.unit_label_en
        if indicator.valid_min_inclusive:
            return f"from {low} to {high} inclusive, in {unit}"
        return f"greater than {low} and at most {high}, in {unit}"
    if indicator.valid_min_inclusive:
        return f"{low}到{high}之间（含{low}和{high}），单位：{indicator.unit}"
    return f"大于{low}且不超过{high}，单位：{indicator.unit}"


UNSUPPORTED_ZH = {
    "xls": "这是旧版Excel（.xls）文件或设置了密码的工作簿",
    "pdf": "这是PDF文件",
    "zip": "这是压缩包或其他Office文件，不是Excel工作簿",
    "xlsx_content": "文件扩展名是.xlsx，但内容不是Excel工作簿",
    "suffix": "只支持.xlsx、.csv和.txt文件",
}
UNSUPPORTED_EN = {
    "xls": "it is an old Excel (.xls) file or a password-protected workbook",
    "pdf": "it is a PDF file",
    "zip": "it is an archive or another Office file, not an Excel workbook",
    "xlsx_content": "its name ends in .xlsx but its content is not an Excel workbook",
    "suffix": "only .xlsx, .csv and .txt files are accepted",
}


def _messages(
    code: str,
    row: int | None,
    column: str | None,
    value: str | None,
    detail: str | dict[str, str],
    report: _Report,
) -> tuple[str, str]:
    """The Chinese and English sentence for one problem."""
    catalog = report.catalog or _NO_CATALOG
    file = report.file_name
    info = detail if isinstance(detail, dict) else {}
    text = detail if isinstance(detail, str) else ""
    cell_zh = f"第{row}行“{column}”列的值“{value}”"
    cell_en = f'Row {row}, column "{column}": the value "{value}"'
    example = catalog.indicators[0].name_zh if catalog.indicators else ""
    example_en = catalog.indicators[0].id if catalog.indicators else ""
    match code:
        case "empty_file":
            return (
                f"文件“{file}”是空的，没有可读取的内容。请填写模板后重新上传。",
                f'The file "{file}" is empty. Fill in the template and upload it again.',
            )
        case "unsupported_format":
            return (
                f"无法读取文件“{file}”：{UNSUPPORTED_ZH.get(text, UNSUPPORTED_ZH['suffix'])}。请在Excel或WPS中用“另存为”保存为Excel工作簿（.xlsx）或CSV（逗号分隔）文件后重新上传。",
                f'The file "{file}" cannot be read: {UNSUPPORTED_EN.get(text, UNSUPPORTED_EN["suffix"])}. In Excel or WPS use "Save as" to save it as an Excel workbook (.xlsx) or as CSV (comma-separated) and upload it again.',
            )
        case "encoding":
            return (
                f"文件“{file}”的文字编码无法识别（支持UTF-8、GBK/GB18030和UTF-16），或者它不是文本文件。请在Excel或WPS中另存为“CSV UTF-8（逗号分隔）”或Excel工作簿（.xlsx）后重新上传。",
                f'The text encoding of "{file}" is not recognised (UTF-8, GBK/GB18030 and UTF-16 are supported), or it is not a text file. Save it from Excel or WPS as "CSV UTF-8 (comma delimited)" or as an Excel workbook (.xlsx) and upload it again.',
            )
        case "file_unreadable":
            return (
                f"文件“{file}”无法作为Excel工作簿打开（可能已损坏、没有完整上传或设置了密码）。请在Excel或WPS中打开后重新另存为.xlsx，或另存为CSV后上传。",
                f'The file "{file}" cannot be opened as an Excel workbook (it may be damaged, incompletely uploaded or password-protected). Open it in Excel or WPS and save it again as .xlsx, or save it as CSV, and upload it again.',
            )
        case "csv_malformed":
            return (
                f"文件“{file}”第{row}行附近的引号不配对，无法按CSV格式读取。请在Excel或WPS中打开后重新另存为CSV或.xlsx后上传。",
                f'The file "{file}" has unbalanced quotes near line {row} and cannot be read as CSV. Open it in Excel or WPS, save it again as CSV or .xlsx and upload it again.',
            )
        case "header_not_found":
            return (
                f"在文件“{file}”的前{HEADER_SEARCH_ROWS}行中没有找到表头行。表头行应包含“社区代码”“统计期”和至少一个指标列（如“{example}”），或者长表的“社区代码、统计期、指标、数值”四列。请下载模板，按模板的表头填写后重新上传。",
                f'No header row was found in the first {HEADER_SEARCH_ROWS} rows of "{file}". The header row needs "community_code", "period" and at least one indicator column (such as "{example_en}"), or the four long-layout columns "community_code, period, indicator, value". Download the template, use its headers and upload again.',
            )
        case "header_misspelt":
            indicator = catalog.indicator_by_id[text]
            return (
                f"第{row}行的表头“{column}”不是已知的指标名称，看起来像是指标“{indicator.name_zh}”（编号{indicator.id}）。如果这一列就是“{indicator.name_zh}”，请把表头改为“{indicator.name_zh}”；如果不是指标，请删除这一列。改正后重新上传。",
                f'Row {row}: the header "{column}" is not a known indicator name; it looks like the indicator "{indicator.name_zh}" ({indicator.id}, {indicator.name_en}). If this column is that indicator, rename the header to "{indicator.name_zh}"; if it is not an indicator, delete the column. Then upload again.',
            )
        case "column_duplicate":
            return (
                f"第{row}行的表头“{column}”与“{text}”指的是同一列，同一项只能有一列。请删除或改正其中一列后重新上传。",
                f'Row {row}: the headers "{column}" and "{text}" name the same column; each may appear only once. Delete or rename one of them and upload again.',
            )
        case "column_missing":
            if text == MISSING_INDICATOR_COLUMNS:
                return (
                    f"第{row}行的表头中没有任何指标列。请按模板用指标名称（如“{example}”）作列名后重新上传。",
                    f'Row {row}: the header has no indicator column. Use the indicator names of the template (such as "{example}") as column headers and upload again.',
                )
            accepted_zh = "、".join(f"“{h}”" for h in FIELD_HEADERS[text][:3])
            accepted_en = ", ".join(f'"{h}"' for h in FIELD_HEADERS[text][:3])
            return (
                f"第{row}行的表头中缺少“{FIELD_LABELS_ZH[text]}”列（可写作{accepted_zh}）。请按模板补上这一列后重新上传。",
                f'Row {row}: the header has no "{FIELD_LABELS_EN[text]}" column (write it as {accepted_en}). Add the column as in the template and upload again.',
            )
        case "column_ignored":
            if text == "unnamed":
                return (
                    f"第{column}列没有表头，但填有内容；这一列已忽略，不会导入。",
                    f"Column {column} has no header but contains data; it was ignored and will not be imported.",
                )
            return (
                f"第{row}行的表头“{column}”不是模板中的列，这一列已忽略，不会导入。",
                f'Row {row}: the header "{column}" is not a template column; the column was ignored and will not be imported.',
            )
        case "sheet_ignored":
            return (
                f"工作表“{info.get('sheet')}”也像是数据表，但只导入了工作表“{info.get('used')}”。如需导入它，请另存为单独的文件上传。",
                f'The sheet "{info.get("sheet")}" also looks like a data sheet, but only the sheet "{info.get("used")}" was imported. To import it, save it as a separate file and upload that.',
            )
        case "no_data_rows":
            return (
                f"文件“{file}”找到了表头，但表头下面没有任何数据行。请填写各社区的数据后重新上传。",
                f'The file "{file}" has a header row but no data rows below it. Fill in the rows of the communities and upload again.',
            )
        case "row_ignored":
            if text == "total":
                return (
                    f"第{row}行是合计或平均行，已忽略；只需填写各社区的数据。",
                    f"Row {row} is a total or average row and was ignored; only the rows of communities are needed.",
                )
            return (
                f"第{row}行没有社区代码和指标数值，看起来是说明或备注行，已忽略。",
                f"Row {row} has no community code and no indicator value; it looks like a note and was ignored.",
            )
        case "code_missing":
            return (
                f"第{row}行“{column}”列为空。请填写12位社区代码。",
                f'Row {row}, column "{column}" is empty. Fill in the 12-digit community code.',
            )
        case "code_scientific":
            return (
                f"{cell_zh}被Excel显示为科学计数法，请将该列设置为“文本”格式后重新填写完整的12位代码。",
                f'{cell_en} was turned into scientific notation by Excel. Format the column as "Text" and type the full 12-digit code again.',
            )
        case "code_format":
            return (
                f"{cell_zh}不是12位数字的社区代码。请填写完整的12位代码（只含数字，不含空格、小数点或其他字符）。",
                f"{cell_en} is not a 12-digit community code. Write the full 12-digit code (digits only, no spaces, decimal point or other characters).",
            )
        case "code_not_community":
            return (
                f"{cell_zh}末三位是000，是街道或区县的代码，不是社区代码。请填写该社区的12位代码。",
                f"{cell_en} ends in 000, which is the code of a street or district, not of a community. Write the community's 12-digit code.",
            )
        case "code_unknown":
            return (
                f"{cell_zh}不在机构名录中。请核对社区代码；如果是新设立的社区，请先联系管理员把它加入机构名录。",
                f"{cell_en} is not in the organisation registry. Check the community code; for a new community, ask an administrator to add it to the registry first.",
            )
        case "period_missing":
            return (
                f"第{row}行“{column}”列为空。请填写统计期，如“2025-08”。",
                f'Row {row}, column "{column}" is empty. Fill in the period, such as "2025-08".',
            )
        case "period_invalid":
            return (
                f"{cell_zh}不是有效的统计期。请填写年和月，如“2025-08”“2025年8月”或“202508”（月份在1到12之间，年份不早于{EARLIEST_YEAR}年）。",
                f'{cell_en} is not a valid period. Write the year and month, such as "2025-08", "2025年8月" or "202508" (month 1 to 12, year {EARLIEST_YEAR} or later).',
            )
        case "period_ambiguous":
            year = _INVISIBLE_RE.sub("", unicodedata.normalize("NFKC", value or ""))[:4]
            return (
                f"{cell_zh}无法确定是哪个月：可能是{year}年1月，也可能是{year}年10月（在Excel中输入“{year}.10”会被当作数字{year}.1，末尾的0会丢失）。请把该列设置为“文本”格式后重新填写，或改写为“{year}-01”或“{year}-10”。",
                f'{cell_en} does not say which month: it may be January {year}, or October {year} if Excel turned "{year}.10" into the number {year}.1 and dropped the trailing zero. Format the column as "Text" and type the period again, or write "{year}-01" or "{year}-10".',
            )
        case "period_future":
            current = current_month(report.today)
            return (
                f"{cell_zh}是晚于本月（{current}）的统计期，不能填报未来月份的数据。请核对年份和月份。",
                f"{cell_en} is a period after the current month ({current}); future months cannot be reported. Check the year and the month.",
            )
        case "value_text" | "value_excel_error" | "value_range":
            indicator_id, _, reason = text.partition(":")
            indicator = catalog.indicator_by_id.get(indicator_id)
            if code == "value_excel_error":
                return (
                    f"第{row}行“{column}”列是Excel公式错误“{value}”，没有有效数值。请改正该单元格的公式或直接填写数值；没有数据请留空。",
                    f'Row {row}, column "{column}" holds the Excel error "{value}" instead of a number. Fix the formula or type the number; leave the cell empty when there is no data.',
                )
            if code == "value_range" and indicator is not None:
                return (
                    f"{cell_zh}超出指标“{indicator.name_zh}”的有效范围（{range_text(indicator, 'zh')}）。请核对后重新填写。",
                    f'{cell_en} is outside the valid range of "{indicator.name_en}" ({range_text(indicator, "en")}). Check it and write it again.',
                )
            if reason == "percent" and indicator is not None:
                return (
                    f"{cell_zh}带有百分号，但指标“{indicator.name_zh}”的单位是“{indicator.unit}”，不是百分比。请去掉百分号，按“{indicator.unit}”填写数字。",
                    f'{cell_en} has a percent sign, but "{indicator.name_en}" is measured in {indicator.unit_label_en}, not in percent. Remove the % and write the number in {indicator.unit_label_en}.',
                )
            return (
                f"{cell_zh}不是数字。请填写数字（如“68.3”）；没有数据请留空。",
                f'{cell_en} is not a number. Write a number (such as "68.3"); leave the cell empty when there is no data.',
            )
        case "indicator_missing":
            return (
                f"第{row}行“{column}”列为空，但这一行填有数值。请填写指标名称或编号（见模板的填报说明）。",
                f'Row {row}, column "{column}" is empty although the row has a value. Write the indicator name or id (see the instructions sheet of the template).',
            )
        case "indicator_unknown":
            suggestion = catalog.indicator_by_id.get(text)
            hint_zh = f"，是不是“{suggestion.name_zh}”（{suggestion.id}）？" if suggestion else "。"
            hint_en = (
                f'; did you mean "{suggestion.name_zh}" ({suggestion.id})?' if suggestion else "."
            )
            return (
                f"{cell_zh}不是已知的指标{hint_zh}请填写指标名称或编号（见模板的填报说明）。",
                f"{cell_en} is not a known indicator{hint_en} Write the indicator name or id (see the instructions sheet of the template).",
            )
        case "duplicate_conflict":
            community, period, indicator_id, group = report.conflict(text)
            indicator = catalog.indicator_by_id.get(indicator_id)
            name_zh = indicator.name_zh if indicator else indicator_id
            name_en = indicator.name_en if indicator else indicator_id
            others = [r for r, _ in group if r != row]
            others_zh = "、".join(str(r) for r in others)
            others_en = ", ".join(str(r) for r in others)
            values_zh = "，".join(f"第{r}行为{_plain(v)}" for r, v in group)
            values_en = ", ".join(f"row {r}: {_plain(v)}" for r, v in group)
            return (
                f"第{row}行与第{others_zh}行是同一社区（{community}）同一统计期（{period}）的数据，但“{name_zh}”的值不同（{values_zh}）。请删除重复的行或改正数值后重新上传。",
                f'Rows {row} and {others_en} are for the same community ({community}) and period ({period}) but give different values of "{name_en}" ({values_en}). Delete the duplicate row or correct the value and upload again.',
            )
        case "duplicate_row":
            first, community, period = report.repeated_row(int(text))
            return (
                f"第{row}行与第{first}行是同一社区（{community}）同一统计期（{period}）的重复数据，数值没有冲突，已合并导入（相同的数值只导入一次）。",
                f"Row {row} repeats row {first} (community {community}, period {period}) without conflicting values; the rows were merged (equal values are imported once).",
            )
        case "too_many_errors" | "too_many_warnings":
            noun_zh = "错误" if code == "too_many_errors" else "提示"
            noun_en = "errors" if code == "too_many_errors" else "warnings"
            hidden = int(info.get("total", "0")) - int(info.get("shown", "0"))
            return (
                f"……另有{hidden}个{noun_zh}未逐条列出（共{info.get('total')}个）。请先改正上面列出的问题，再重新上传检查。",
                f"… and {hidden} more {noun_en} not listed ({info.get('total')} in all). Correct the problems above first, then upload again to check.",
            )
    return (f"第{row}行：{code}", f"Row {row}: {code}")
