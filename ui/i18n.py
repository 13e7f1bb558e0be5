"""Every UI string in Chinese and English, and the names of catalog items, states and trends."""

from __future__ import annotations

import string
from typing import Any

import pandas as pd

from indicators.catalog import Catalog, Dimension, Indicator

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"

# States that are not alert levels. "withheld" is an index held back for low coverage
# (数据不足), never red; "not_reported" is a community with no values after the deadline.
SPECIAL_STATES = ("withheld", "not_reported", "escalated", "no_data")
TRENDS = ("improving", "declining", "stable", "not_assessable")

# key → {"zh": ..., "en": ...}. Parameters use str.format fields; both languages must use the
# same fields (tests/test_i18n.py walks every key).
STRINGS: dict[str, dict[str, str]] = {
    # ---- application and pages ----
    "app.title": {"zh": "社区治理健康指数", "en": "Community Governance Health Index"},
    "app.caption": {
        "zh": "区、街道、社区三级治理健康监测",
        "en": "Governance health monitoring for districts, streets and communities",
    },
    "page.overview": {"zh": "总览", "en": "Overview"},
    "page.community": {"zh": "社区详情", "en": "Community"},
    "page.alerts": {"zh": "预警", "en": "Alerts"},
    "page.methodology": {"zh": "方法", "en": "Methodology"},
    "page.upload": {"zh": "数据上报", "en": "Upload"},
    "page.screen": {"zh": "大屏", "en": "Wall screen"},
    "page.login": {"zh": "登录", "en": "Login"},
    # ---- sidebar and filters ----
    "sidebar.district": {"zh": "区", "en": "District"},
    "sidebar.street": {"zh": "街道", "en": "Street"},
    "sidebar.community": {"zh": "社区", "en": "Community"},
    "sidebar.period": {"zh": "统计期", "en": "Period"},
    "sidebar.granularity": {"zh": "统计周期", "en": "Period type"},
    "sidebar.language": {"zh": "语言", "en": "Language"},
    "sidebar.all": {"zh": "全部", "en": "All"},
    "sidebar.user": {"zh": "当前用户：{name}", "en": "Signed in as {name}"},
    "sidebar.logout": {"zh": "退出登录", "en": "Sign out"},
    "granularity.month": {"zh": "月", "en": "Month"},
    "granularity.quarter": {"zh": "季度", "en": "Quarter"},
    "granularity.year": {"zh": "年", "en": "Year"},
    "language.zh": {"zh": "中文", "en": "中文"},
    "language.en": {"zh": "English", "en": "English"},
    "unit.district": {"zh": "区", "en": "District"},
    "unit.street": {"zh": "街道", "en": "Street"},
    "unit.community": {"zh": "社区", "en": "Community"},
    # ---- data provenance ----
    "demo.label": {"zh": "示例数据（虚构）", "en": "Demo data (synthetic)"},
    "demo.notice": {
        "zh": "当前显示的是虚构的示例数据，仅供演示，不代表任何真实社区。",
        "en": "This is synthetic demo data for demonstration only; it describes no real community.",
    },
    "data.as_of": {"zh": "数据截至 {date}", "en": "Data as of {date}"},
    "data.methodology_version": {"zh": "方法版本 {version}", "en": "Methodology version {version}"},
    # ---- empty states ----
    "empty.database": {
        "zh": "数据库为空：请先导入组织机构名录和指标数据，或用示例数据初始化（python -m indicators init --demo）。",
        "en": "The database is empty: import the org registry and indicator data first, or initialise it with demo data (python -m indicators init --demo).",
    },
    "empty.period": {"zh": "本统计期暂无数据。", "en": "No data for this period."},
    "empty.community": {"zh": "该社区暂无数据。", "en": "This community has no data yet."},
    "empty.selection": {
        "zh": "当前筛选条件下没有社区。",
        "en": "No community matches the current filters.",
    },
    "empty.no_alerts": {"zh": "本统计期没有预警。", "en": "No alerts for this period."},
    "empty.figure": {"zh": "暂无数据", "en": "No data"},
    "empty.figure_withheld": {
        "zh": "数据不足，无法计算指数",
        "en": "Insufficient data: no index can be computed",
    },
    # ---- metrics ----
    "metric.index": {"zh": "指数", "en": "Index"},
    "metric.level": {"zh": "等级", "en": "Level"},
    "metric.coverage": {"zh": "覆盖率", "en": "Coverage"},
    "metric.trend": {"zh": "趋势", "en": "Trend"},
    "metric.change": {"zh": "较上期", "en": "vs previous period"},
    "metric.rank": {"zh": "排名", "en": "Rank"},
    "metric.rank_of": {"zh": "第 {rank} / {total} 名", "en": "{rank} of {total}"},
    "metric.communities": {"zh": "社区数", "en": "Communities"},
    "metric.with_index": {"zh": "有指数的社区", "en": "Communities with an index"},
    "metric.with_index_share": {
        "zh": "有指数的社区占比",
        "en": "Share of communities with an index",
    },
    "metric.median": {"zh": "中位数", "en": "Median"},
    "metric.count_of": {"zh": "{state}（个）", "en": "{state} (count)"},
    "metric.dimension_scores": {"zh": "分维度得分", "en": "Dimension scores"},
    "metric.jumps": {"zh": "异常波动", "en": "Suspicious jumps"},
    # ---- special states and trends ----
    "state.withheld": {"zh": "数据不足", "en": "Insufficient data"},
    "state.not_reported": {"zh": "未报送", "en": "Not reported"},
    "state.escalated": {"zh": "整改约谈", "en": "Rectification talk"},
    "state.no_data": {"zh": "暂无数据", "en": "No data"},
    "trend.improving": {"zh": "改善", "en": "Improving"},
    "trend.declining": {"zh": "下降", "en": "Declining"},
    "trend.stable": {"zh": "平稳", "en": "Stable"},
    "trend.not_assessable": {"zh": "无法判断", "en": "Not assessable"},
    # ---- ranking table columns ----
    "column.code": {"zh": "代码", "en": "Code"},
    "column.name": {"zh": "名称", "en": "Name"},
    "column.index": {"zh": "指数", "en": "Index"},
    "column.level": {"zh": "等级", "en": "Level"},
    "column.coverage": {"zh": "覆盖率（%）", "en": "Coverage (%)"},
    "column.trend": {"zh": "趋势", "en": "Trend"},
    "column.sparkline": {"zh": "近期走势", "en": "Recent index"},
    "column.period": {"zh": "统计期", "en": "Period"},
    "column.reason": {"zh": "原因", "en": "Reason"},
    "column.indicator": {"zh": "指标", "en": "Indicator"},
    "column.value": {"zh": "数值", "en": "Value"},
    "column.score": {"zh": "得分", "en": "Score"},
    # ---- figures ----
    "figure.index_trend": {"zh": "指数走势", "en": "Index over time"},
    "figure.distribution": {"zh": "社区指数分布", "en": "Distribution of community indices"},
    "figure.hierarchy": {"zh": "区—街道—社区指数", "en": "Index by district, street and community"},
    "figure.level_counts": {"zh": "预警等级分布", "en": "Units by alert level"},
    "figure.dimensions": {"zh": "分维度得分", "en": "Dimension scores"},
    "figure.indicators": {"zh": "各项指标走势", "en": "Indicators over time"},
    "figure.alert_timeline": {"zh": "预警等级变化", "en": "Alert level over time"},
    "figure.waterfall": {
        "zh": "指数变化归因：{period_from} → {period_to}",
        "en": "What moved the index: {period_from} → {period_to}",
    },
    "figure.this_community": {"zh": "本社区", "en": "This community"},
    "figure.street_median": {"zh": "街道中位数", "en": "Street median"},
    "figure.district_median": {"zh": "全区中位数", "en": "District median"},
    "figure.goal_best": {"zh": "最优 {value}", "en": "Best {value}"},
    "figure.goal_worst": {"zh": "最差 {value}", "en": "Worst {value}"},
    "figure.other": {"zh": "其他", "en": "Other"},
    "figure.unattributed": {"zh": "未归因差额", "en": "Unattributed"},
    "figure.index_at": {"zh": "{period} 指数", "en": "Index {period}"},
    "figure.level_with_count": {"zh": "{level}（{count}）", "en": "{level} ({count})"},
    "axis.period": {"zh": "统计期", "en": "Period"},
    "axis.index": {"zh": "指数", "en": "Index"},
    "axis.score": {"zh": "得分", "en": "Score"},
    "axis.communities": {"zh": "社区数", "en": "Communities"},
    "axis.count": {"zh": "数量", "en": "Count"},
    "axis.change": {"zh": "指数变化", "en": "Index change"},
    "hover.index": {"zh": "指数", "en": "Index"},
    "hover.level": {"zh": "等级", "en": "Level"},
    "hover.score": {"zh": "得分", "en": "Score"},
    "hover.value": {"zh": "数值", "en": "Value"},
    "hover.reason": {"zh": "原因", "en": "Reason"},
    "hover.contribution": {"zh": "贡献", "en": "Contribution"},
    "hover.communities": {"zh": "社区数", "en": "Communities"},
    # ---- login ----
    "login.username": {"zh": "用户名", "en": "User name"},
    "login.password": {"zh": "密码", "en": "Password"},
    "login.submit": {"zh": "登录", "en": "Sign in"},
    "login.failed": {"zh": "用户名或密码错误。", "en": "Wrong user name or password."},
    "login.disabled": {
        "zh": "该账号已停用，请联系管理员。",
        "en": "This account is disabled; ask an administrator.",
    },
    "login.required": {"zh": "请先登录。", "en": "Please sign in first."},
    "screen.invalid_token": {
        "zh": "大屏链接无效或已过期，请联系管理员重新生成。",
        "en": "This wall-screen link is invalid or has expired; ask an administrator for a new one.",
    },
    "screen.refresh_every": {"zh": "每 {seconds} 秒自动刷新", "en": "Refreshes every {seconds} s"},
    # ---- upload ----
    "upload.dry_run": {
        "zh": "试运行（只检查，不写入）",
        "en": "Dry run (check only, write nothing)",
    },
    "upload.accept_valid": {"zh": "只导入有效行", "en": "Import valid rows only"},
    "upload.errors_download": {"zh": "下载错误清单", "en": "Download the error list"},
    # ---- methodology and alerts ----
    "methodology.weights": {"zh": "维度权重", "en": "Dimension weights"},
    "methodology.goalposts": {"zh": "指标目标值（最优 / 最差）", "en": "Goalposts (best / worst)"},
    "methodology.levels": {"zh": "预警等级", "en": "Alert levels"},
    "methodology.level_rule": {"zh": "指数 ≥ {min}", "en": "Index ≥ {min}"},
    "alerts.reason": {"zh": "预警原因", "en": "Why"},
    "alerts.since": {"zh": "自 {period} 起", "en": "Since {period}"},
    "alerts.download": {"zh": "下载预警清单", "en": "Download the alert list"},
    "alerts.states": {"zh": "显示的状态", "en": "States shown"},
    "alerts.streak": {"zh": "连续期数", "en": "Periods in a row"},
    # ---- keys the pages already use ----
    "guard.open_from_home": {
        "zh": "请从首页打开本页面（需要先登录并选择范围）。",
        "en": "Open this page from the home page (sign in and choose an area first).",
    },
    "guard.home": {"zh": "返回首页", "en": "Go to the home page"},
    "overview.ranking": {"zh": "{unit}排名", "en": "{unit} ranking"},
    "overview.movers": {"zh": "变化最大的社区", "en": "Biggest movers"},
    "overview.movers_up": {"zh": "较 {since} 上升", "en": "Up since {since}"},
    "overview.movers_down": {"zh": "较 {since} 下降", "en": "Down since {since}"},
    "overview.drivers": {"zh": "主要原因", "en": "Main drivers"},
    "overview.no_previous": {
        "zh": "没有上一统计期的数据，无法比较变化。",
        "en": "There is no previous period to compare with.",
    },
    "overview.no_movers": {
        "zh": "与上一统计期相比没有变化。",
        "en": "Nothing changed since the previous period.",
    },
    "overview.hierarchy_streets_only": {
        "zh": "本范围有 {count} 个社区，图中只画到街道；在左侧选择区县或街道即可看到其中的社区。",
        "en": "This area has {count} communities, so the chart stops at streets; choose a "
        "district or street on the left to see its communities.",
    },
    "community.pick": {"zh": "选择社区", "en": "Choose a community"},
    "community.search": {
        "zh": "按名称或代码查找社区",
        "en": "Find a community by name or code",
    },
    "community.search_shown": {
        "zh": "列出 {shown} 个（共 {total} 个）；输入名称或代码的一部分可缩小范围，也可在左侧选择街道。",
        "en": "Showing {shown} of {total}; type part of a name or code to narrow them, or choose "
        "a street on the left.",
    },
    "community.search_none": {
        "zh": "没有名称或代码包含“{text}”的社区。",
        "en": "No community's name or code contains “{text}”.",
    },
    "community.not_this_period": {
        "zh": "该社区在 {period} 没有指数（未报送或数据不足）。",
        "en": "This community has no index for {period} (not reported or insufficient data).",
    },
    "community.revisions": {"zh": "数据修订记录", "en": "Revision history"},
    "community.no_revisions": {"zh": "暂无修订记录。", "en": "No revisions yet."},
    "methodology.dimension": {"zh": "维度", "en": "Dimension"},
    "methodology.weight": {"zh": "权重", "en": "Weight"},
    "methodology.unit": {"zh": "单位", "en": "Unit"},
    "methodology.best": {"zh": "最优值（100 分）", "en": "Best (scores 100)"},
    "methodology.worst": {"zh": "最差值（0 分）", "en": "Worst (scores 0)"},
    "methodology.valid_range": {"zh": "有效范围", "en": "Valid range"},
    "methodology.source": {"zh": "依据", "en": "Source"},
    "methodology.range": {"zh": "指数范围", "en": "Index range"},
    "methodology.rules": {
        "zh": (
            "- 覆盖率低于 {coverage} 或任一维度无数据时，不计算指数（数据不足），不视为红色预警。\n"
            "- 维度汇总方式：{aggregation}。\n"
            "- 等级变差立即生效；回升到更好的等级需超过该等级下限 {margin} 分。\n"
            "- 连续 {n} 个考核期（{granularity}）处于{level}或更差，进入整改约谈。\n"
            "- 次月 {deadline} 日后仍无数据的社区记为未报送。\n"
            "- 某指标偏离本社区前 {window} 期数值超过 {z} 个稳健标准差，标记为异常波动（仍计入）。\n"
            "- 趋势：最近 {trend_window} 期的斜率 ≥ {improving} 为改善，≤ {declining} 为下降，其余为平稳。"
        ),
        "en": (
            "- Below {coverage} coverage, or with a dimension without data, the index is withheld "
            "(insufficient data) — never red.\n"
            "- Dimensions are combined with the {aggregation} mean.\n"
            "- A worse level applies at once; moving back up needs {margin} points above that "
            "level's threshold.\n"
            "- {n} assessment periods ({granularity}) in a row at {level} or worse lead to a "
            "rectification talk.\n"
            "- A community with no values after day {deadline} of the next month is not reported.\n"
            "- A value more than {z} robust standard deviations from the community's previous "
            "{window} values is flagged as a suspicious jump (it still counts).\n"
            "- Trend: a slope over the last {trend_window} periods of at least {improving} is "
            "improving, at most {declining} declining, else stable."
        ),
    },
}


def _merge_feature_strings() -> None:
    """Adds each feature's table from ui/strings/ (one file per feature keeps edits apart);
    a key defined twice is a programming error, caught at import."""
    from ui.strings import FEATURE_TABLES

    for table in FEATURE_TABLES:
        clash = set(table) & set(STRINGS)
        if clash:
            raise KeyError(f"UI string keys defined twice: {sorted(clash)}")
        STRINGS.update(table)


_merge_feature_strings()

_FORMATTER = string.Formatter()


def placeholders(text: str) -> set[str]:
    """The str.format field names used in `text`."""
    return {field for _, field, _, _ in _FORMATTER.parse(text) if field is not None}


def normalise_language(value: object) -> str:
    """`value` when it is a supported language code, else the default (Chinese)."""
    return value if isinstance(value, str) and value in LANGUAGES else DEFAULT_LANGUAGE


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise KeyError(f"unknown language {language!r}; expected one of {LANGUAGES}")


def t(key: str, language: str, **params: Any) -> str:
    """The string `key` in `language`, formatted with `params`; KeyError for an unknown key."""
    _check_language(language)
    try:
        text = STRINGS[key][language]
    except KeyError:
        raise KeyError(f"no UI string {key!r} in ui/i18n.py STRINGS") from None
    return text.format(**params) if params else text


def is_missing(value: object) -> bool:
    """True for None, NaN and pandas NA: a level or number the store does not have."""
    if value is None:
        return True
    if isinstance(value, str | list | tuple | dict):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def format_number(value: object, digits: int = 1) -> str:
    """A number with `digits` decimals, or an em dash when it is missing."""
    if is_missing(value):
        return "—"
    return f"{float(value):.{digits}f}"  # type: ignore[arg-type]


def format_signed(value: float, digits: int = 2) -> str:
    """A change with an explicit sign (+1.25, −0.40) so its direction is never colour only."""
    text = f"{abs(value):.{digits}f}"
    return f"+{text}" if value >= 0 else f"−{text}"


def indicator_name(indicator: Indicator, language: str) -> str:
    """The indicator's name in `language`."""
    _check_language(language)
    return indicator.name_zh if language == "zh" else indicator.name_en


def indicator_unit(indicator: Indicator, language: str) -> str:
    """The indicator's unit in `language` (the Chinese unit when no English one is set)."""
    _check_language(language)
    return indicator.unit if language == "zh" else indicator.unit_label_en


def indicator_title(indicator: Indicator, language: str) -> str:
    """Name and unit, e.g. 群众满意度（%） / Resident satisfaction (%)."""
    name, unit = indicator_name(indicator, language), indicator_unit(indicator, language)
    return f"{name}（{unit}）" if language == "zh" else f"{name} ({unit})"


def dimension_name(dimension: Dimension, language: str) -> str:
    """The dimension's name in `language`."""
    _check_language(language)
    return dimension.name_zh if language == "zh" else dimension.name_en


def state_name(state: str, language: str) -> str:
    """The name of a special state (withheld, not_reported, escalated, no_data) or a trend."""
    if state in SPECIAL_STATES:
        return t(f"state.{state}", language)
    if state in TRENDS:
        return t(f"trend.{state}", language)
    raise KeyError(f"unknown state {state!r}; expected one of {SPECIAL_STATES + TRENDS}")


def count_label(status: str | None, catalog: Catalog, language: str) -> str:
    """A metric label counting units in a level or state, e.g. 红色预警（个）."""
    return t("metric.count_of", language, state=level_name(status, catalog, language))


def level_name(level_id: str | None, catalog: Catalog, language: str) -> str:
    """The name of an alert level of the catalog; a missing level (None, NaN) is 数据不足.

    Special states (not_reported, escalated, ...) are accepted too, so one call names any
    status a unit can be in.
    """
    _check_language(language)
    if is_missing(level_id):
        return t("state.withheld", language)
    assert level_id is not None
    level = catalog.level_by_id.get(level_id)
    if level is not None:
        return level.name_zh if language == "zh" else level.name_en
    if level_id in SPECIAL_STATES:
        return state_name(level_id, language)
    raise KeyError(f"unknown level {level_id!r}; the catalog defines {catalog.level_ids}")
