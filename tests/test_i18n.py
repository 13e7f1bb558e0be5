"""The UI string table is complete in both languages, and every catalog item has both names."""

from __future__ import annotations

import math
import re

import pandas as pd
import pytest

from indicators.catalog import Catalog, load_catalog
from ui import i18n
from ui.i18n import LANGUAGES, STRINGS, placeholders, t

CJK = re.compile(r"[\u3400-\u9fff]")
# Keys whose text is deliberately the same script in both languages (a language's own name).
SAME_SCRIPT = {"language.zh", "language.en"}

# Strings the pages rely on: a rename here must be a deliberate change.
REQUIRED = {
    "app.title": ("社区治理健康指数", "Community Governance Health Index"),
    "page.overview": ("总览", "Overview"),
    "page.community": ("社区详情", "Community"),
    "page.alerts": ("预警", "Alerts"),
    "page.methodology": ("方法", "Methodology"),
    "page.upload": ("数据上报", "Upload"),
    "page.screen": ("大屏", "Wall screen"),
    "page.login": ("登录", "Login"),
    "sidebar.district": ("区", "District"),
    "sidebar.street": ("街道", "Street"),
    "sidebar.community": ("社区", "Community"),
    "sidebar.period": ("统计期", "Period"),
    "granularity.month": ("月", "Month"),
    "granularity.quarter": ("季度", "Quarter"),
    "granularity.year": ("年", "Year"),
    "sidebar.language": ("语言", "Language"),
    "sidebar.all": ("全部", "All"),
    "demo.label": ("示例数据（虚构）", "Demo data (synthetic)"),
    "state.withheld": ("数据不足", "Insufficient data"),
    "state.not_reported": ("未报送", "Not reported"),
    "state.escalated": ("整改约谈", "Rectification talk"),
    "state.no_data": ("暂无数据", "No data"),
    "trend.improving": ("改善", "Improving"),
    "trend.declining": ("下降", "Declining"),
    "trend.stable": ("平稳", "Stable"),
    "trend.not_assessable": ("无法判断", "Not assessable"),
    "metric.index": ("指数", "Index"),
    "metric.level": ("等级", "Level"),
    "metric.coverage": ("覆盖率", "Coverage"),
    "metric.trend": ("趋势", "Trend"),
}


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


@pytest.mark.parametrize("key", sorted(STRINGS))
def test_every_key_has_both_languages_and_no_empty_text(key: str) -> None:
    entry = STRINGS[key]
    assert set(entry) == set(LANGUAGES), f"{key}: languages {sorted(entry)}"
    for language in LANGUAGES:
        assert isinstance(entry[language], str)
        assert entry[language].strip(), f"{key}: empty {language} text"
        assert entry[language] == entry[language].strip(), f"{key}: stray spaces ({language})"


@pytest.mark.parametrize("key", sorted(STRINGS))
def test_parameters_are_the_same_in_both_languages(key: str) -> None:
    assert placeholders(STRINGS[key]["zh"]) == placeholders(STRINGS[key]["en"]), key


@pytest.mark.parametrize("key", sorted(STRINGS))
def test_every_key_formats_with_its_parameters(key: str) -> None:
    params = dict.fromkeys(placeholders(STRINGS[key]["zh"]), "X")
    for language in LANGUAGES:
        text = t(key, language, **params)
        assert "{" not in text and "}" not in text, (key, language, text)


@pytest.mark.parametrize("key", sorted(set(STRINGS) - SAME_SCRIPT))
def test_each_language_is_written_in_its_own_script(key: str) -> None:
    """Catches an entry pasted untranslated: Chinese text has CJK, English text has none."""
    words = re.sub(r"\{[^}]*\}", "", STRINGS[key]["en"])
    if re.search(r"[A-Za-z]", words):  # a pure pattern such as "{level} ({count})" has no words
        assert CJK.search(STRINGS[key]["zh"]), f"{key}: zh text has no Chinese"
    assert not CJK.search(STRINGS[key]["en"]), f"{key}: en text has Chinese"


@pytest.mark.parametrize(("key", "expected"), sorted(REQUIRED.items()))
def test_required_strings(key: str, expected: tuple[str, str]) -> None:
    assert (t(key, "zh"), t(key, "en")) == expected


def test_parameters_are_substituted() -> None:
    assert t("data.as_of", "zh", date="2025-11-10") == "数据截至 2025-11-10"
    assert t("data.as_of", "en", date="2025-11-10") == "Data as of 2025-11-10"
    assert t("figure.waterfall", "en", period_from="2025-10", period_to="2025-11") == (
        "What moved the index: 2025-10 → 2025-11"
    )


def test_unknown_key_and_language_raise() -> None:
    with pytest.raises(KeyError, match=r"no\.such\.key"):
        t("no.such.key", "zh")
    with pytest.raises(KeyError, match="language"):
        t("app.title", "fr")


def test_missing_parameter_raises() -> None:
    with pytest.raises(KeyError):
        t("data.as_of", "zh", day="x")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("zh", "zh"),
        ("en", "en"),
        ("fr", "zh"),
        (None, "zh"),
        ("", "zh"),
        (3, "zh"),
    ],
)
def test_normalise_language(value: object, expected: str) -> None:
    assert i18n.normalise_language(value) == expected


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_indicator_has_a_name_and_unit(catalog: Catalog, language: str) -> None:
    for indicator in catalog.indicators:
        name = i18n.indicator_name(indicator, language)
        unit = i18n.indicator_unit(indicator, language)
        assert name.strip() and unit.strip(), indicator.id
        assert bool(CJK.search(name)) == (language == "zh"), (indicator.id, name)
        assert name in i18n.indicator_title(indicator, language)


def test_english_units_are_english(catalog: Catalog) -> None:
    training = catalog.indicator_by_id["training_hours"]
    assert i18n.indicator_unit(training, "zh") == "小时/年"
    assert i18n.indicator_unit(training, "en") == "hours/year"
    assert i18n.indicator_title(training, "zh") == "人均培训学时（小时/年）"
    assert i18n.indicator_title(training, "en") == "Training hours per worker (hours/year)"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_dimension_has_a_name(catalog: Catalog, language: str) -> None:
    names = [i18n.dimension_name(d, language) for d in catalog.dimensions]
    assert all(n.strip() for n in names)
    assert len(set(names)) == len(names)
    assert all(bool(CJK.search(n)) == (language == "zh") for n in names)


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_level_has_a_name(catalog: Catalog, language: str) -> None:
    names = [i18n.level_name(level_id, catalog, language) for level_id in catalog.level_ids]
    assert all(n.strip() for n in names)
    assert len(set(names)) == len(names)
    expected = [lv.name_zh if language == "zh" else lv.name_en for lv in catalog.levels]
    assert names == expected


@pytest.mark.parametrize("missing", [None, math.nan, float("nan"), pd.NA])
def test_a_missing_level_is_insufficient_data(catalog: Catalog, missing: object) -> None:
    assert i18n.level_name(missing, catalog, "zh") == "数据不足"  # type: ignore[arg-type]
    assert i18n.level_name(missing, catalog, "en") == "Insufficient data"  # type: ignore[arg-type]


def test_level_name_accepts_special_states_and_rejects_unknown(catalog: Catalog) -> None:
    assert i18n.level_name("not_reported", catalog, "zh") == "未报送"
    assert i18n.level_name("escalated", catalog, "en") == "Rectification talk"
    with pytest.raises(KeyError, match="purple"):
        i18n.level_name("purple", catalog, "zh")


@pytest.mark.parametrize("state", i18n.SPECIAL_STATES + i18n.TRENDS)
def test_every_state_and_trend_has_both_names(state: str) -> None:
    zh, en = i18n.state_name(state, "zh"), i18n.state_name(state, "en")
    assert zh.strip() and en.strip() and zh != en


def test_unknown_state_raises() -> None:
    with pytest.raises(KeyError):
        i18n.state_name("red", "zh")


def test_count_label(catalog: Catalog) -> None:
    assert i18n.count_label("red", catalog, "zh") == "红色预警（个）"
    assert i18n.count_label("not_reported", catalog, "en") == "Not reported (count)"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (72.456, "72.5"),
        (0.0, "0.0"),
        (None, "—"),
        (math.nan, "—"),
        (pd.NA, "—"),
    ],
)
def test_format_number(value: object, expected: str) -> None:
    assert i18n.format_number(value) == expected


@pytest.mark.parametrize(("value", "expected"), [(1.234, "+1.23"), (-0.4, "−0.40"), (0.0, "+0.00")])
def test_format_signed(value: float, expected: str) -> None:
    assert i18n.format_signed(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, True),
        (math.nan, True),
        (pd.NA, True),
        (pd.NaT, True),
        ("", False),
        ("red", False),
        (0, False),
        (0.0, False),
        ([], False),
    ],
)
def test_is_missing(value: object, expected: bool) -> None:
    assert i18n.is_missing(value) is expected
