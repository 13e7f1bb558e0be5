"""Org units: 12-digit statistical division codes, the hierarchy they imply, and the registry file."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

CODE_PATTERN = re.compile(r"^\d{12}$")
LEVELS = ("district", "street", "community")
REGISTRY_HEADERS = {
    "code": ("code", "代码", "区划代码", "统计用区划代码", "单位代码"),
    "name": ("name", "名称", "单位名称", "区划名称"),
    "population": ("population", "常住人口", "人口"),
}


def is_valid_code(code: str) -> bool:
    """True for a 12-digit district, street or community code."""
    if not CODE_PATTERN.match(code):
        return False
    if code[6:] == "000000":
        return code[:6] != "000000"
    return code[6:9] != "000"


def level_of(code: str) -> str:
    """'district' (DDDDDD000000), 'street' (DDDDDDSSS000) or 'community' (DDDDDDSSSCCC)."""
    if not is_valid_code(code):
        raise ValueError(f"not a 12-digit org code: {code!r}")
    if code[6:] == "000000":
        return "district"
    if code[9:] == "000":
        return "street"
    return "community"


def parent_of(code: str) -> str | None:
    """The street of a community, the district of a street; None for a district."""
    level = level_of(code)
    if level == "community":
        return code[:9] + "000"
    if level == "street":
        return code[:6] + "000000"
    return None


def scope_prefix(code: str) -> str:
    """The code prefix shared by every unit in the subtree of `code`."""
    level = level_of(code)
    return {"district": code[:6], "street": code[:9], "community": code}[level]


def prefix_of_scope(scope_code: str | None) -> str:
    """The code prefix of a scope for SQL `starts_with`; "" (everything) when there is none."""
    return "" if scope_code is None else scope_prefix(scope_code)


def in_scope(code: str, scope_code: str | None) -> bool:
    """True when `code` lies in the subtree of `scope_code` (None = everything)."""
    return scope_code is None or code.startswith(scope_prefix(scope_code))


def street_of(code: str) -> str:
    return code[:9] + "000"


def district_of(code: str) -> str:
    return code[:6] + "000000"


@dataclass
class ParsedRegistry:
    """An org registry file read into rows, with the problems found (messages in zh and en)."""

    units: pd.DataFrame
    errors: list[tuple[int, str, str, str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _normalise_header(text: str) -> str:
    import unicodedata

    cleaned = unicodedata.normalize("NFKC", str(text)).strip().lower()
    return re.sub(r"[\s（(].*?[)）]|\s+", "", cleaned)


def registry_from_frame(frame: pd.DataFrame, header_row: int = 1) -> ParsedRegistry:
    """Validates a registry table whose columns are code, name[, population] (any known alias).

    Errors are (row, column, value, message_zh, message_en) with the row a person sees.
    """
    mapping: dict[str, str] = {}
    for column in frame.columns:
        key = _normalise_header(column)
        for target, aliases in REGISTRY_HEADERS.items():
            if key in {_normalise_header(a) for a in aliases}:
                mapping[column] = target
    frame = frame.rename(columns=mapping)
    errors: list[tuple[int, str, str, str, str]] = []
    for required in ("code", "name"):
        if required not in frame.columns:
            zh = "代码" if required == "code" else "名称"
            errors.append(
                (
                    header_row,
                    required,
                    "",
                    f"缺少“{zh}”列（表头应为：代码, 名称, 常住人口）。",
                    f"The column '{required}' is missing (headers: code, name, population).",
                )
            )
    if errors:
        return ParsedRegistry(
            pd.DataFrame(columns=["code", "name", "level", "parent_code", "population"]), errors
        )
    units = pd.DataFrame(
        {
            "code": frame["code"].astype(str).str.strip(),
            "name": frame["name"].astype(str).str.strip(),
            "population": pd.to_numeric(
                frame["population"].astype(str).str.replace(",", "").str.strip(), errors="coerce"
            )
            if "population" in frame.columns
            else pd.Series([float("nan")] * len(frame)),
        }
    )
    units["row"] = range(header_row + 1, header_row + 1 + len(units))
    units = units[(units["code"] != "") & (units["code"] != "nan")]
    for row, code, name in units[["row", "code", "name"]].itertuples(index=False):
        if re.fullmatch(r"\d(\.\d+)?[eE]\+?\d+", code):
            errors.append(
                (
                    row,
                    "code",
                    code,
                    f"第{row}行“代码”列的值“{code}”被Excel显示为科学计数法，请将该列设置为文本格式后填写完整的12位代码。",
                    f"Row {row}, column 'code': '{code}' was turned into scientific notation by Excel; format the column as text and enter all 12 digits.",
                )
            )
        elif not is_valid_code(code):
            errors.append(
                (
                    row,
                    "code",
                    code,
                    f"第{row}行“代码”列的值“{code}”不是有效的12位统计用区划代码。",
                    f"Row {row}, column 'code': '{code}' is not a valid 12-digit division code.",
                )
            )
        if not name or name == "nan":
            errors.append(
                (row, "name", name, f"第{row}行缺少名称。", f"Row {row}: the name is empty.")
            )
    duplicated = units[units.duplicated("code", keep=False)]
    for code, group in duplicated.groupby("code"):
        rows = "、".join(str(r) for r in group["row"])
        errors.append(
            (
                int(group["row"].iloc[-1]),
                "code",
                code,
                f"代码“{code}”在第{rows}行重复出现。",
                f"The code '{code}' appears more than once (rows {rows.replace('、', ', ')}).",
            )
        )
    if errors:
        return ParsedRegistry(units.iloc[0:0], errors)
    units["level"] = units["code"].map(level_of)
    units["parent_code"] = units["code"].map(parent_of)
    return ParsedRegistry(units[["code", "name", "level", "parent_code", "population", "row"]], [])
