"""The methodology catalog: conformance of the built-in file, and every way a file can be wrong."""

from __future__ import annotations

import itertools
import math
import re
import shutil
from pathlib import Path

import pytest

from indicators.catalog import DEFAULT_CATALOG_PATH, CatalogError, load_catalog, parse_catalog

CATALOG = load_catalog()
BUILTIN_TEXT = DEFAULT_CATALOG_PATH.read_text(encoding="utf-8")
FIXTURES = Path(__file__).with_name("catalogs")
HAN = re.compile(r"[\u4e00-\u9fff]")


# ---- conformance of the built-in catalog ----------------------------------------------------


@pytest.mark.parametrize("indicator", CATALOG.indicators, ids=lambda i: i.id)
def test_every_indicator_is_fully_described(indicator):
    assert HAN.search(indicator.name_zh), "name_zh must be Chinese"
    assert indicator.name_en.strip() and not HAN.search(indicator.name_en)
    assert indicator.unit.strip()
    assert indicator.unit_label_en.strip() and not HAN.search(indicator.unit_label_en)
    assert indicator.valid_min < indicator.valid_max
    assert indicator.best != indicator.worst
    assert indicator.dimension in CATALOG.dimension_by_id
    assert indicator.source.strip(), "each goalpost cites the baseline it was set from"


@pytest.mark.parametrize("indicator", CATALOG.indicators, ids=lambda i: i.id)
def test_goalposts_are_values_that_can_be_reported(indicator):
    for goalpost in (indicator.best, indicator.worst):
        assert indicator.valid_min <= goalpost <= indicator.valid_max
        if not indicator.valid_min_inclusive:
            assert goalpost > indicator.valid_min


# The brief's table (shared/design/methodology.md): id, dimension, best, worst, unit.
SPEC_INDICATORS = [
    ("satisfaction", "resident", 95, 50, "%"),
    ("participation", "resident", 60, 10, "%"),
    ("council_attendance", "resident", 90, 40, "%"),
    ("certified_share", "professional", 60, 0, "%"),
    ("training_hours", "professional", 40, 0, "小时/年"),
    ("mediation_success", "professional", 95, 30, "%"),
    ("turnover", "professional", 5, 30, "%"),
    ("response_hours", "process", 2, 72, "小时"),
    ("resolution_rate", "process", 98, 50, "%"),
    ("error_rate", "process", 1, 10, "%"),
    ("digital_usage", "innovation", 90, 10, "%"),
    ("innovation_share", "innovation", 40, 0, "%"),
    ("residents_per_worker", "context", 300, 1800, "人"),
]


@pytest.mark.parametrize(("indicator_id", "dimension", "best", "worst", "unit"), SPEC_INDICATORS)
def test_default_catalog_matches_the_brief(indicator_id, dimension, best, worst, unit):
    indicator = CATALOG.indicator_by_id[indicator_id]
    assert (indicator.dimension, indicator.best, indicator.worst, indicator.unit) == (
        dimension,
        best,
        worst,
        unit,
    )


def test_default_catalog_has_exactly_the_briefs_indicators():
    assert [i.id for i in CATALOG.indicators] == [row[0] for row in SPEC_INDICATORS]
    assert len(CATALOG.indexed_indicators) == 12


@pytest.mark.parametrize(
    ("dimension_id", "weight"),
    [
        ("resident", 0.30),
        ("professional", 0.40),
        ("process", 0.20),
        ("innovation", 0.10),
        ("context", 0.0),
    ],
)
def test_dimension_weights_are_the_four_in_one_split(dimension_id, weight):
    assert CATALOG.dimension_by_id[dimension_id].weight == weight


def test_weighted_dimension_weights_sum_to_one():
    assert math.isclose(sum(d.weight for d in CATALOG.weighted_dimensions), 1.0, abs_tol=1e-12)


def test_nominal_weights_sum_to_one_and_split_each_dimension_equally():
    weights = CATALOG.nominal_weights
    assert math.isclose(sum(weights.values()), 1.0, abs_tol=1e-12)
    assert set(weights) == {i.id for i in CATALOG.indexed_indicators}
    for dimension in CATALOG.weighted_dimensions:
        members = [
            w for i, w in weights.items() if CATALOG.indicator_by_id[i].dimension == dimension.id
        ]
        assert math.isclose(sum(members), dimension.weight, abs_tol=1e-12)
        assert max(members) - min(members) < 1e-12


def test_context_indicator_has_weight_zero_and_counts_for_nothing():
    context = CATALOG.indicator_by_id["residents_per_worker"]
    assert context.weight == 0
    assert CATALOG.dimension_by_id[context.dimension].weight == 0
    assert context not in CATALOG.indexed_indicators
    assert "residents_per_worker" not in CATALOG.nominal_weights


def test_levels_run_best_to_worst_with_strictly_decreasing_minimums_ending_at_zero():
    minimums = [level.min for level in CATALOG.levels]
    assert CATALOG.level_ids == ("normal", "blue", "yellow", "red")
    assert minimums == [80.0, 70.0, 60.0, 0.0]
    assert all(a > b for a, b in itertools.pairwise(minimums))
    assert minimums[-1] == 0
    for level in CATALOG.levels:
        assert HAN.search(level.name_zh) and level.name_en and level.symbol


@pytest.mark.parametrize(
    ("score", "level"),
    [
        (100.0, "normal"),
        (80.0, "normal"),
        (79.99, "blue"),
        (70.0, "blue"),
        (69.99, "yellow"),
        (60.0, "yellow"),
        (59.99, "red"),
        (0.0, "red"),
    ],
)
def test_level_of_uses_at_or_above_the_minimum(score, level):
    assert CATALOG.level_of(score) == level


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (("coverage", "minimum"), 0.75),
        (("coverage", "require_every_dimension"), True),
        (("aggregation", "within_dimension"), "arithmetic"),
        (("aggregation", "across_dimensions"), "arithmetic"),
        (("rollup", "weighting"), "equal"),
        (("alerts", "recovery_margin"), 2.0),
        (("alerts", "escalation", "granularity"), "year"),
        (("alerts", "escalation", "consecutive"), 2),
        (("alerts", "escalation", "level"), "yellow"),
        (("alerts", "not_reported", "deadline_day"), 10),
        (("alerts", "jump", "robust_z"), 3.5),
        (("alerts", "jump", "window"), 6),
        (("alerts", "trend", "window"), 6),
        (("alerts", "trend", "min_points"), 3),
        (("alerts", "trend", "improving"), 0.5),
        (("alerts", "trend", "declining"), -0.5),
    ],
)
def test_rule_defaults_are_the_briefs(path, expected):
    node = CATALOG
    for part in path:
        node = getattr(node, part)
    assert node == expected


def test_aliases_name_one_indicator_each():
    seen: dict[str, str] = {}
    for indicator in CATALOG.indicators:
        for name in (indicator.id, indicator.name_zh, *indicator.aliases):
            assert seen.setdefault(name, indicator.id) == indicator.id, (
                f"{name} names two indicators"
            )


def test_fingerprint_is_stable_and_follows_content():
    assert load_catalog().fingerprint == CATALOG.fingerprint
    assert len(CATALOG.fingerprint) == 64
    other = parse_catalog({**_raw(BUILTIN_TEXT), "version": "other"})
    assert other.fingerprint != CATALOG.fingerprint


# ---- loading other files ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "version", "indicators"),
    [
        ("hdi.toml", "hdi-hdr2023-24", 4),
        ("simple.toml", "test-simple", 5),
    ],
)
def test_other_catalog_files_load_from_a_path(name, version, indicators):
    for path in (FIXTURES / name, str(FIXTURES / name)):
        catalog = load_catalog(path)
        assert (catalog.version, len(catalog.indicators)) == (version, indicators)
        assert math.isclose(sum(catalog.nominal_weights.values()), 1.0, abs_tol=1e-9)


def test_a_copy_of_the_builtin_catalog_loads_identically(tmp_path):
    copy = tmp_path / "副本.toml"
    shutil.copy(DEFAULT_CATALOG_PATH, copy)
    assert load_catalog(copy) == CATALOG
    assert load_catalog(copy).fingerprint == CATALOG.fingerprint


# ---- every way a file can be wrong: one row each ----------------------------------------------


def _raw(text: str) -> dict:
    import tomllib

    return tomllib.loads(text)


def _edit(old: str, new: str) -> str:
    assert BUILTIN_TEXT.count(old) == 1, f"edit anchor must be unique: {old!r}"
    return BUILTIN_TEXT.replace(old, new)


SATISFACTION = 'id = "satisfaction"\n'
BROKEN_FILES = [
    # (case, edited text, expected key, fragment of the Chinese sentence)
    (
        "misspelt key",
        _edit(SATISFACTION, SATISFACTION + "wieght = 1.0\n"),
        "indicators[0] (satisfaction).wieght",
        "不认识的配置项",
    ),
    (
        "misspelt top-level key",
        _edit('version = "2026.1"', 'versoin = "2026.1"'),
        "versoin",
        "不认识的配置项（可能拼写有误），请删除或改正：'2026.1'，是否应为“version”？",
    ),
    (
        "weights not summing to 1",
        _edit("weight = 0.30", "weight = 0.35"),
        "dimensions.weight",
        "各维度权重之和应为 1",
    ),
    (
        "unordered bands",
        _edit('id = "blue"\nmin = 70.0', 'id = "blue"\nmin = 85.0'),
        "levels.min",
        "下限严格递减",
    ),
    (
        "equal band minimums",
        _edit('id = "blue"\nmin = 70.0', 'id = "blue"\nmin = 60.0'),
        "levels.min",
        "下限严格递减",
    ),
    (
        "worst band not starting at 0",
        _edit('id = "red"\nmin = 0.0', 'id = "red"\nmin = 10.0'),
        "levels.min",
        "最差一级的下限必须是 0",
    ),
    (
        "best == worst",
        _edit("best = 95.0\nworst = 50.0", "best = 95.0\nworst = 95.0"),
        "indicators[0] (satisfaction).best",
        "最优值与最差值相同",
    ),
    (
        "unknown dimension",
        _edit(
            SATISFACTION
            + 'name_zh = "群众满意度"\nname_en = "Resident satisfaction"\nunit = "%"\ndimension = "resident"',
            SATISFACTION
            + 'name_zh = "群众满意度"\nname_en = "Resident satisfaction"\nunit = "%"\ndimension = "residents"',
        ),
        "indicators[0] (satisfaction).dimension",
        "未在 [[dimensions]] 中定义",
    ),
    (
        "escalation level not a level",
        _edit('level = "yellow"', 'level = "orange"'),
        "alerts.escalation.level",
        "不是已定义的预警等级",
    ),
    (
        "goalpost not a number",
        _edit("best = 95.0\nworst = 50.0", 'best = "九十五"\nworst = 50.0'),
        "indicators[0] (satisfaction).best",
        "应为数字",
    ),
    (
        "goalpost not finite",
        _edit("best = 95.0\nworst = 50.0", "best = nan\nworst = 50.0"),
        "indicators[0] (satisfaction).best",
        "有限的数字",
    ),
    (
        "duplicate indicator id",
        _edit('id = "participation"', 'id = "satisfaction"'),
        "indicators",
        "重复出现",
    ),
    (
        "context indicator with weight",
        _edit('dimension = "context"\nweight = 0.0', 'dimension = "context"\nweight = 1.0'),
        "dimensions (context)",
        "背景维度",
    ),
    (
        "log transform through zero",
        _edit('id = "certified_share"\n', 'id = "certified_share"\ntransform = "log"\n'),
        "indicators[3] (certified_share).transform",
        "对数变换",
    ),
    (
        "unknown transform",
        _edit('id = "certified_share"\n', 'id = "certified_share"\ntransform = "sqrt"\n'),
        "indicators[3] (certified_share).transform",
        "取值不在允许范围内",
    ),
    (
        "empty valid range",
        _edit("valid_max = 2000.0", "valid_max = 0.0"),
        "indicators[4] (training_hours).valid_min",
        "下限必须小于上限",
    ),
    ("coverage above 1", _edit("minimum = 0.75", "minimum = 1.5"), "coverage.minimum", "数值过大"),
    (
        "bad colour",
        _edit('color = "#2E7D32"', 'color = "green"'),
        "levels[0] (normal).color",
        "格式不正确",
    ),
    (
        "trend thresholds crossed",
        _edit("declining = -0.5", "declining = 0.5"),
        "alerts.trend.declining",
        "下降阈值必须小于改善阈值",
    ),
    (
        "TOML syntax error",
        _edit('version = "2026.1"', 'version = "2026.1'),
        "line 7, column 18",
        "TOML 语法错误",
    ),
]


@pytest.mark.parametrize(
    ("case", "text", "key", "sentence"), BROKEN_FILES, ids=[row[0] for row in BROKEN_FILES]
)
def test_a_broken_file_names_the_file_the_key_and_the_problem_in_chinese(
    tmp_path, case, text, key, sentence
):
    path = tmp_path / "catalog.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    error = caught.value
    assert error.file == str(path)
    assert error.key == key
    assert sentence in error.message
    assert HAN.search(error.message)
    assert str(error).startswith(f"{path}: {key}: ")


@pytest.mark.parametrize(
    ("case", "make_path", "sentence"),
    [
        ("missing file", lambda tmp: tmp / "nope.toml", "无法读取文件"),
        ("a directory", lambda tmp: tmp, "无法读取文件"),
        (
            "not UTF-8",
            lambda tmp: _write_bytes(tmp / "gbk.toml", "version = '指数'".encode("gbk")),
            "不是 UTF-8",
        ),
    ],
)
def test_an_unreadable_file_is_a_catalog_error(tmp_path, case, make_path, sentence):
    path = make_path(tmp_path)
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    assert caught.value.file == str(path)
    assert caught.value.key == "-"
    assert sentence in caught.value.message


def _write_bytes(path: Path, content: bytes) -> Path:
    path.write_bytes(content)
    return path


def test_parse_catalog_without_a_file_names_a_placeholder():
    raw = _raw(BUILTIN_TEXT)
    raw["dimensions"][0]["weight"] = 0.5
    with pytest.raises(CatalogError) as caught:
        parse_catalog(raw)
    assert (caught.value.file, caught.value.key) == ("<catalog>", "dimensions.weight")


def test_a_missing_score_has_no_level_never_red():
    assert CATALOG.level_of(float("nan")) is None
