"""The methodology catalog: strict pydantic models, loading from TOML and plain-language errors."""

from __future__ import annotations

import difflib
import hashlib
import itertools
import math
import re
import tomllib
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

DEFAULT_CATALOG_PATH = Path(__file__).with_name("catalog.toml")
WEIGHT_TOLERANCE = 1e-6

Aggregation = Literal["arithmetic", "geometric"]
Granularity = Literal["month", "quarter", "year"]


class CatalogError(ValueError):
    """A catalog file that cannot be used, with the file, the key and a plain sentence."""

    def __init__(self, file: str, key: str, message: str) -> None:
        self.file = file
        self.key = key
        self.message = message
        super().__init__(f"{file}: {key}: {message}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=False, allow_inf_nan=False)


class Level(_Strict):
    id: str
    min: float = Field(ge=0, le=100)
    name_zh: str
    name_en: str
    color: str = Field(pattern=r"^#[0-9A-Fa-f]{6}$")
    symbol: str


class Aggregations(_Strict):
    within_dimension: Aggregation = "arithmetic"
    across_dimensions: Aggregation = "arithmetic"
    geometric_floor: float = Field(default=1.0, gt=0, le=100)


class CoverageRule(_Strict):
    minimum: float = Field(ge=0, le=1)
    require_every_dimension: bool = True


class RollupRule(_Strict):
    weighting: Literal["equal", "population"] = "equal"


class EscalationRule(_Strict):
    granularity: Granularity = "year"
    consecutive: int = Field(ge=1)
    level: str = "yellow"


class NotReportedRule(_Strict):
    deadline_day: int = Field(ge=1, le=28)


class JumpRule(_Strict):
    robust_z: float = Field(gt=0)
    window: int = Field(ge=2)
    min_history: int = Field(ge=2)


class TrendRule(_Strict):
    window: int = Field(ge=2)
    min_points: int = Field(ge=2)
    improving: float
    declining: float


class AlertRules(_Strict):
    recovery_margin: float = Field(ge=0)
    escalation: EscalationRule
    not_reported: NotReportedRule
    jump: JumpRule
    trend: TrendRule


class Dimension(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name_zh: str
    name_en: str
    weight: float = Field(ge=0, le=1)


class Indicator(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    name_zh: str
    name_en: str
    unit: str
    unit_en: str | None = None
    dimension: str
    weight: float = Field(default=1.0, ge=0)
    best: float
    worst: float
    transform: Literal["identity", "log"] = "identity"
    valid_min: float
    valid_max: float
    valid_min_inclusive: bool = True
    aliases: tuple[str, ...] = ()
    source: str = ""
    description_zh: str = ""
    description_en: str = ""

    @property
    def higher_is_better(self) -> bool:
        return self.best > self.worst

    @property
    def unit_label_en(self) -> str:
        return self.unit_en or self.unit


class Catalog(_Strict):
    version: str = Field(min_length=1)
    name_zh: str
    name_en: str
    base_period: Literal["month"] = "month"
    aggregation: Aggregations = Aggregations()
    coverage: CoverageRule
    rollup: RollupRule = RollupRule()
    levels: tuple[Level, ...]
    alerts: AlertRules
    dimensions: tuple[Dimension, ...]
    indicators: tuple[Indicator, ...]

    @model_validator(mode="after")
    def _check_consistency(self) -> Catalog:
        _check_unique([d.id for d in self.dimensions], "dimensions", "维度")
        _check_unique([i.id for i in self.indicators], "indicators", "指标")
        _check_unique([lv.id for lv in self.levels], "levels", "预警等级")
        dimension_ids = {d.id for d in self.dimensions}
        for position, indicator in enumerate(self.indicators):
            key = f"indicators[{position}] ({indicator.id})"
            if indicator.dimension not in dimension_ids:
                raise _Problem(
                    f"{key}.dimension",
                    f"指标归属的维度“{indicator.dimension}”未在 [[dimensions]] 中定义"
                    f"（已定义：{', '.join(sorted(dimension_ids))}）。",
                )
            if indicator.best == indicator.worst:
                raise _Problem(
                    f"{key}.best",
                    f"最优值与最差值相同（{indicator.best}），无法换算得分：两个端点必须不同。",
                )
            if indicator.valid_min >= indicator.valid_max:
                raise _Problem(f"{key}.valid_min", "有效范围下限必须小于上限。")
            if indicator.transform == "log" and min(indicator.best, indicator.worst) <= 0:
                raise _Problem(f"{key}.transform", "对数变换要求最优值和最差值都大于 0。")
        weighted = [d for d in self.dimensions if d.weight > 0]
        total = sum(d.weight for d in weighted)
        if not math.isclose(total, 1.0, abs_tol=WEIGHT_TOLERANCE):
            raise _Problem(
                "dimensions.weight",
                f"各维度权重之和应为 1，现为 {total:g}"
                f"（{' + '.join(f'{d.id} {d.weight:g}' for d in weighted)}）。",
            )
        for dimension in weighted:
            members = [i for i in self.indicators if i.dimension == dimension.id]
            if not members or sum(i.weight for i in members) <= 0:
                raise _Problem(
                    f"dimensions ({dimension.id})",
                    f"维度“{dimension.name_zh}”有权重 {dimension.weight:g}，但没有权重大于 0 的指标。",
                )
        for dimension in self.dimensions:
            if dimension.weight == 0:
                heavy = [
                    i.id for i in self.indicators if i.dimension == dimension.id and i.weight > 0
                ]
                if heavy:
                    raise _Problem(
                        f"dimensions ({dimension.id})",
                        f"维度“{dimension.name_zh}”权重为 0（背景维度），其指标 {', '.join(heavy)} 的权重也须为 0。",
                    )
        if not self.levels:
            raise _Problem("levels", "至少需要一个预警等级。")
        mins = [lv.min for lv in self.levels]
        if any(a <= b for a, b in itertools_pairwise(mins)):
            raise _Problem(
                "levels.min",
                f"预警等级须从好到坏排列，下限严格递减；现为 {', '.join(f'{m:g}' for m in mins)}。",
            )
        if mins[-1] != 0:
            raise _Problem("levels.min", "最差一级的下限必须是 0，否则部分得分没有等级。")
        level_ids = [lv.id for lv in self.levels]
        if self.alerts.escalation.level not in level_ids:
            raise _Problem(
                "alerts.escalation.level",
                f"约谈等级“{self.alerts.escalation.level}”不是已定义的预警等级（{', '.join(level_ids)}）。",
            )
        if self.alerts.trend.min_points > self.alerts.trend.window:
            raise _Problem("alerts.trend.min_points", "最少点数不能大于窗口长度。")
        if self.alerts.trend.declining >= self.alerts.trend.improving:
            raise _Problem("alerts.trend.declining", "下降阈值必须小于改善阈值。")
        if self.alerts.jump.min_history > self.alerts.jump.window:
            raise _Problem("alerts.jump.min_history", "最少历史值个数不能大于窗口长度。")
        return self

    # ---- derived lookups (cached: the catalog is frozen) ----

    @cached_property
    def indicator_by_id(self) -> dict[str, Indicator]:
        return {i.id: i for i in self.indicators}

    @cached_property
    def dimension_by_id(self) -> dict[str, Dimension]:
        return {d.id: d for d in self.dimensions}

    @cached_property
    def level_by_id(self) -> dict[str, Level]:
        return {lv.id: lv for lv in self.levels}

    @property
    def weighted_dimensions(self) -> tuple[Dimension, ...]:
        return tuple(d for d in self.dimensions if d.weight > 0)

    @property
    def indexed_indicators(self) -> tuple[Indicator, ...]:
        """Indicators that count towards the index (weight > 0 in a weighted dimension)."""
        weighted = {d.id for d in self.weighted_dimensions}
        return tuple(i for i in self.indicators if i.weight > 0 and i.dimension in weighted)

    @property
    def level_ids(self) -> tuple[str, ...]:
        """Level ids from best to worst."""
        return tuple(lv.id for lv in self.levels)

    @cached_property
    def nominal_weights(self) -> dict[str, float]:
        """Each indexed indicator's weight in the index when every indicator is present."""
        result: dict[str, float] = {}
        for dimension in self.weighted_dimensions:
            members = [i for i in self.indexed_indicators if i.dimension == dimension.id]
            total = sum(i.weight for i in members)
            for indicator in members:
                result[indicator.id] = dimension.weight * indicator.weight / total
        return result

    @cached_property
    def fingerprint(self) -> str:
        """SHA-256 of the catalog's content: two catalogs with one version must agree on it."""
        return hashlib.sha256(self.model_dump_json().encode("utf-8")).hexdigest()

    def level_of(self, score: float) -> str | None:
        """The level whose band holds `score` (no hysteresis); None for a missing score, which
        is insufficient data and never the worst level."""
        if score is None or math.isnan(score):
            return None
        for level in self.levels:
            if score >= level.min:
                return level.id
        return self.levels[-1].id

    def level_rank(self, level_id: str) -> int:
        """0 for the best level, growing towards the worst."""
        return self.level_ids.index(level_id)


class _Problem(ValueError):
    """Raised inside validators; carries the key that is wrong."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        self.message = message
        super().__init__(message)


def itertools_pairwise(values: list[float]) -> list[tuple[float, float]]:
    """Successive pairs (a, b), (b, c), … of a list."""
    return list(itertools.pairwise(values))


def _check_unique(ids: list[str], key: str, noun: str) -> None:
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            raise _Problem(key, f"{noun}编号“{item}”重复出现。")
        seen.add(item)


_PYDANTIC_SENTENCES = {
    "extra_forbidden": "不认识的配置项（可能拼写有误），请删除或改正",
    "missing": "缺少必填项",
    "literal_error": "取值不在允许范围内",
    "greater_than_equal": "数值过小",
    "less_than_equal": "数值过大",
    "greater_than": "数值过小",
    "string_pattern_mismatch": "格式不正确",
    "float_parsing": "应为数字",
    "float_type": "应为数字",
    "finite_number": "应为有限的数字（不能是 nan 或 inf）",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "bool_type": "应为 true 或 false",
    "string_type": "应为文本",
}


def _key_of(location: tuple[int | str, ...], raw: dict) -> str:
    parts: list[str] = []
    node: object = raw
    for part in location:
        if isinstance(part, int):
            label = f"[{part}]"
            if isinstance(node, list) and part < len(node):
                node = node[part]
                if isinstance(node, dict) and "id" in node:
                    label += f" ({node['id']})"
            parts.append(label)
        else:
            parts.append(("." if parts else "") + part)
            node = node.get(part) if isinstance(node, dict) else None
    return "".join(parts)


def parse_catalog(raw: dict, file: str = "<catalog>") -> Catalog:
    """Validates a parsed TOML document into a Catalog, or raises CatalogError."""
    try:
        return Catalog.model_validate(raw)
    except ValidationError as error:
        errors = error.errors()
        # A misspelt key shows up twice: as an unknown key and as the missing key it was meant
        # to be. The unknown key is the one a person has to fix, so it is reported first.
        first = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
        context = first.get("ctx") or {}
        inner = context.get("error")
        if isinstance(inner, _Problem):
            raise CatalogError(file, inner.key, inner.message) from None
        key = _key_of(tuple(first["loc"]), raw)
        sentence = _PYDANTIC_SENTENCES.get(first["type"], first["msg"])
        value = first.get("input")
        shown = (
            "" if isinstance(value, dict | list) or first["type"] == "missing" else f"：{value!r}"
        )
        hint = _spelling_hint(first, errors)
        raise CatalogError(file, key, f"{sentence}{shown}{hint}（{first['msg']}）") from None


def _spelling_hint(first: dict, errors: list[dict]) -> str:
    """ "，是否应为“weight”？" when an unknown key resembles a missing key beside it."""
    if first["type"] != "extra_forbidden":
        return ""
    parent, name = tuple(first["loc"][:-1]), str(first["loc"][-1])
    missing = [
        str(e["loc"][-1])
        for e in errors
        if e["type"] == "missing" and tuple(e["loc"][:-1]) == parent
    ]
    close = difflib.get_close_matches(name, missing, n=1, cutoff=0.6)
    return f"，是否应为“{close[0]}”？" if close else ""


def load_catalog(path: str | Path | None = None) -> Catalog:
    """Loads the built-in catalog, or the TOML file at `path`."""
    source = Path(path) if path is not None else DEFAULT_CATALOG_PATH
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as error:
        raise CatalogError(str(source), "-", f"无法读取文件：{error.strerror or error}") from None
    except UnicodeDecodeError:
        raise CatalogError(str(source), "-", "文件不是 UTF-8 编码的 TOML。") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        where = re.search(r"line (\d+), column (\d+)", str(error))
        key = f"line {where.group(1)}, column {where.group(2)}" if where else "-"
        raise CatalogError(str(source), key, f"TOML 语法错误，无法解析：{error}") from None
    return parse_catalog(raw, str(source))
