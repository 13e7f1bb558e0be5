"""Alert states: levels with a recovery margin, escalation, not reported, suspicious jumps and trends."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import numpy as np
import pandas as pd

from indicators.catalog import Catalog
from indicators.periods import granularity_of, reporting_deadline

# Rank of "no level" (index withheld). Ranks of real levels count from 0 (best) upwards, so
# indexing an array of level ids followed by None with NO_LEVEL yields None.
NO_LEVEL = -1

REASON_FIRST = "first"
REASON_WORSENED = "worsened"
REASON_RECOVERED = "recovered"
REASON_HELD_BY_MARGIN = "held_by_margin"
REASON_UNCHANGED = "unchanged"
REASON_WITHHELD = "withheld"
REASON_CODES = (
    REASON_FIRST,
    REASON_WORSENED,
    REASON_RECOVERED,
    REASON_HELD_BY_MARGIN,
    REASON_UNCHANGED,
    REASON_WITHHELD,
)

TREND_IMPROVING = "improving"
TREND_DECLINING = "declining"
TREND_STABLE = "stable"
TREND_NOT_ASSESSABLE = "not_assessable"

LEVEL_COLUMNS = [
    "raw_level",
    "level",
    "previous_level",
    "carried_level",
    "level_changed",
    "reason_code",
    "reason_zh",
    "reason_en",
]
ESCALATION_COLUMNS = ["streak", "escalated", "escalation_reason_zh", "escalation_reason_en"]
NOT_REPORTED_COLUMNS = ["community_code", "period", "deadline"]
JUMP_COLUMNS = [
    "community_code",
    "period",
    "indicator",
    "value",
    "median",
    "mad",
    "robust_z",
    "reason_zh",
    "reason_en",
]
TREND_VALUE_COLUMNS = ["slope", "points", "trend"]
# Columns of the arrays _flag_jumps_in_grid returns (series and period as grid positions).
JUMP_STATISTICS = (
    "series",
    "period",
    "value",
    "median",
    "mad",
    "robust_z",
    "mean_deviation",
    "history",
)

# Statistical constants of the robust z-score (Iglewicz and Hoaglin), not tunable thresholds:
# MAD / 0.6745 and 1.253314 × mean absolute deviation both estimate a normal standard deviation.
MAD_CONSISTENCY = 0.6745
MEAN_DEVIATION_CONSISTENCY = 1.253314

# Numbers in sentences show at most two decimals, cut towards −∞, so that a shown number never
# crosses the threshold it is compared with (71.999 shows as 71.99, not 72.0, when it is held
# below 72). The tiny nudge keeps decimal inputs such as 70.1 from showing as 70.09. Python's
# shortest float repr then prints a cut value with one or two decimals ("70.0", "71.99").
DISPLAY_DECIMALS = 2
DISPLAY_NUDGE = 1e-6
# Slopes are compared with the trend thresholds after rounding away float noise, so that a
# series rising exactly 0.5 a period counts as improving at a 0.5 threshold.
SLOPE_COMPARISON_DECIMALS = 9
# Grid cells (series × periods) per block in suspicious_jumps. 400,000 cells keep each block's
# float arrays at 3.2 MB, below the 4 MB from which numpy asks the kernel for transparent huge
# pages: on a kernel in THP `madvise` mode the first huge-page faults of a fresh process made
# the check of one province month take ~1.0 s instead of ~0.35 s (bench/first_call.py).
JUMP_BLOCK_CELLS = 400_000
# Windows up to this length are sorted with a sorting network (see _median_of_columns).
SORTING_NETWORK_MAX_ROWS = 16

GRANULARITY_WORDS = {
    # granularity: (Chinese counter, English singular, English plural)
    "month": ("个月", "month", "months"),
    "quarter": ("个季度", "quarter", "quarters"),
    "year": ("年", "year", "years"),
}


# ---- levels --------------------------------------------------------------------------------


def level_ranks(index: np.ndarray | pd.Series, catalog: Catalog) -> np.ndarray:
    """Rank of the band of each score: 0 for the best level, NO_LEVEL (−1) where NaN."""
    values = _as_float_array(index)
    ascending_minimums = np.array(
        [level.min for level in reversed(catalog.levels)], dtype="float64"
    )
    position = np.searchsorted(ascending_minimums, values, side="right") - 1
    ranks = len(ascending_minimums) - 1 - np.clip(position, 0, None)
    return np.where(np.isnan(values), NO_LEVEL, ranks).astype("int64")


def raw_levels(index: np.ndarray | pd.Series, catalog: Catalog) -> np.ndarray:
    """Level id of the band of each index (score ≥ level.min), None where the index is NaN."""
    return _level_ids_with_none(catalog)[level_ranks(index, catalog)]


def indicator_levels(scores: pd.Series | np.ndarray, catalog: Catalog) -> np.ndarray:
    """Level id of each indicator score on the same bands as the index, no hysteresis."""
    return raw_levels(scores, catalog)


def assign_levels(
    scores: pd.DataFrame,
    catalog: Catalog,
    key: str = "community_code",
    initial: pd.Series | None = None,
) -> pd.DataFrame:
    """Levels with the recovery margin, one row per input row, sorted by key and period.

    Worsening takes effect at once; a better band is reached only when raw_level(index −
    recovery_margin) allows it. A NaN index gives level None and leaves the last known level
    (carried_level) untouched. Columns added: see LEVEL_COLUMNS.

    `initial` (level id by key) is each key's last known level before the first period of
    `scores` — the carried_level of its stored history — so that a recompute of recent periods
    continues the history without reading it all; a key it lacks (or maps to None) starts
    with no level, as without history.
    """
    _require_columns(scores, [key, "period", "index"], "assign_levels")
    frame, unit_codes, period_codes, n_units, n_periods = _sorted_grid(scores, key)
    index_matrix = np.full((n_units, n_periods), np.nan)
    index_values = _as_float_array(frame["index"])
    index_matrix[unit_codes, period_codes] = index_values

    raw_matrix = level_ranks(index_matrix, catalog)
    relaxed_matrix = level_ranks(index_matrix - catalog.alerts.recovery_margin, catalog)
    start = np.full(n_units, NO_LEVEL, dtype="int64")
    if initial is not None and len(initial) and n_units:
        units = pd.Index(pd.unique(frame[key]), dtype="str")  # sorted: unit code order
        carried = pd.Series(initial.to_numpy(dtype=object), index=initial.index.astype("str"))
        start = _ranks_of_level_ids(carried.reindex(units), catalog)
    level_matrix, previous_matrix = _apply_recovery_margin(raw_matrix, relaxed_matrix, start)

    raw = raw_matrix[unit_codes, period_codes]
    level = level_matrix[unit_codes, period_codes]
    previous = previous_matrix[unit_codes, period_codes]
    carried = np.where(level != NO_LEVEL, level, previous)
    reason_code = _level_reason_codes(raw, level, previous)
    reason_zh, reason_en = _level_reasons(
        index_values, raw, level, previous, carried, reason_code, catalog
    )

    ids = _level_ids_with_none(catalog)
    return _with_columns(
        frame,
        {
            "raw_level": ids[raw],
            "level": ids[level],
            "previous_level": ids[previous],
            "carried_level": ids[carried],
            "level_changed": (level != NO_LEVEL) & (previous != NO_LEVEL) & (level != previous),
            "reason_code": reason_code,
            "reason_zh": reason_zh,
            "reason_en": reason_en,
        },
    )


def _apply_recovery_margin(
    raw: np.ndarray, relaxed: np.ndarray, start: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Walks the periods (columns) once, vectorised across units: (level, previous) ranks,
    each unit starting from its last known rank `start` (NO_LEVEL without history)."""
    level = np.full(raw.shape, NO_LEVEL, dtype="int64")
    previous = np.full(raw.shape, NO_LEVEL, dtype="int64")
    last_known = start.astype("int64", copy=True)
    for period in range(raw.shape[1]):
        raw_now = raw[:, period]
        known = raw_now != NO_LEVEL
        improves = known & (last_known != NO_LEVEL) & (raw_now < last_known)
        level[:, period] = np.where(improves, np.minimum(last_known, relaxed[:, period]), raw_now)
        previous[:, period] = last_known
        last_known = np.where(known, level[:, period], last_known)
    return level, previous


def _level_reason_codes(raw: np.ndarray, level: np.ndarray, previous: np.ndarray) -> np.ndarray:
    return np.select(
        [
            level == NO_LEVEL,
            previous == NO_LEVEL,
            level > previous,
            level < previous,
            raw < previous,
        ],
        [REASON_WITHHELD, REASON_FIRST, REASON_WORSENED, REASON_RECOVERED, REASON_HELD_BY_MARGIN],
        default=REASON_UNCHANGED,
    ).astype(object)


def _level_reasons(
    index_values: np.ndarray,
    raw: np.ndarray,
    level: np.ndarray,
    previous: np.ndarray,
    carried: np.ndarray,
    reason_code: np.ndarray,
    catalog: Catalog,
) -> tuple[np.ndarray, np.ndarray]:
    """Sentences "指数71.0，…" per row, each distinct sentence built once.

    A sentence depends only on the shown number and the combination of reason and ranks, so
    rows are grouped by (number, combination) and the few distinct sentences are shared.
    """
    if len(index_values) == 0:
        return np.array([], dtype=object), np.array([], dtype=object)
    withheld = reason_code == REASON_WITHHELD
    shown_numbers, number_code = np.unique(
        _shown(np.where(withheld, 0.0, index_values)), return_inverse=True
    )
    width = len(catalog.levels) + 1  # ranks −1 … n−1 shifted to 0 … n
    code_position = pd.Index(REASON_CODES).get_indexer(reason_code)
    combination = (
        (((code_position * width + raw + 1) * width + level + 1) * width + previous + 1) * width
        + carried
        + 1
    )
    sentence_key = combination * len(shown_numbers) + number_code
    unique_keys, row_sentence = np.unique(sentence_key, return_inverse=True)
    tails: dict[int, tuple[str, str]] = {}
    sentences_zh = np.empty(len(unique_keys), dtype=object)
    sentences_en = np.empty(len(unique_keys), dtype=object)
    for position, sentence in enumerate(unique_keys.tolist()):
        packed, number = divmod(sentence, len(shown_numbers))
        if packed not in tails:
            rest, carried_rank = divmod(packed, width)
            rest, previous_rank = divmod(rest, width)
            rest, level_rank = divmod(rest, width)
            code, raw_rank = divmod(rest, width)
            tails[packed] = _level_reason_tail(
                REASON_CODES[code],
                raw_rank - 1,
                level_rank - 1,
                previous_rank - 1,
                carried_rank - 1,
                catalog,
            )
        tail_zh, tail_en = tails[packed]
        if REASON_CODES[packed // width**4] == REASON_WITHHELD:
            sentences_zh[position], sentences_en[position] = tail_zh, tail_en
        else:
            shown = str(shown_numbers[number].item())
            sentences_zh[position] = f"指数{shown}{tail_zh}"
            sentences_en[position] = f"Index {shown}{tail_en}"
    return sentences_zh[row_sentence], sentences_en[row_sentence]


def _level_reason_tail(
    code: str, raw: int, level: int, previous: int, carried: int, catalog: Catalog
) -> tuple[str, str]:
    """The sentence after "指数x" / "Index x" for one combination of reason and ranks."""
    levels = catalog.levels
    margin = _format_number(catalog.alerts.recovery_margin)
    if code == REASON_WITHHELD:
        if carried == NO_LEVEL:
            return (
                "本期无指数（数据不足），尚无等级",
                "No index this period (insufficient data); no level yet",
            )
        name = levels[carried]
        return (
            f"本期无指数（数据不足），等级不变，仍为{name.name_zh}",
            f"No index this period (insufficient data); level unchanged: still {name.name_en}",
        )
    now = levels[level]
    if code in (REASON_FIRST, REASON_UNCHANGED):
        band_zh, band_en = _band_text(level, catalog)
        verb_zh = "首次评定为" if code == REASON_FIRST else "维持"
        verb_en = "first level:" if code == REASON_FIRST else "stays"
        return (
            f"，处于{now.name_zh}区间（{band_zh}），{verb_zh}{now.name_zh}",
            f" is in the {now.name_en} band ({band_en}); {verb_en} {now.name_en}",
        )
    before = levels[previous]
    if code == REASON_WORSENED:
        crossed = levels[level - 1]
        return (
            f"，低于{crossed.name_zh}线{_format_number(crossed.min)}，"
            f"由{before.name_zh}降为{now.name_zh}",
            f" is below the {crossed.name_en} threshold {_format_number(crossed.min)}; "
            f"falls from {before.name_en} to {now.name_en}",
        )
    if code == REASON_HELD_BY_MARGIN:
        target = levels[previous - 1]
        return (
            f"，未超过{target.name_zh}线{_format_number(target.min)}加恢复余量{margin}分，"
            f"维持{before.name_zh}",
            f" does not clear the {target.name_en} threshold {_format_number(target.min)} "
            f"plus the {margin}-point recovery margin; stays {before.name_en}",
        )
    # REASON_RECOVERED
    cleared = _format_number(now.min + catalog.alerts.recovery_margin)
    zh = (
        f"，达到{now.name_zh}线{_format_number(now.min)}加恢复余量{margin}分（{cleared}），"
        f"由{before.name_zh}升为{now.name_zh}"
    )
    en = (
        f" reaches the {now.name_en} threshold {_format_number(now.min)} plus the {margin}-point "
        f"recovery margin ({cleared}); rises from {before.name_en} to {now.name_en}"
    )
    if raw < level:
        target = levels[level - 1]
        zh += (
            f"；未超过{target.name_zh}线{_format_number(target.min)}加恢复余量{margin}分，"
            f"暂不升为{target.name_zh}"
        )
        en += (
            f"; it does not clear the {target.name_en} threshold {_format_number(target.min)} "
            f"plus the margin, so not yet {target.name_en}"
        )
    return zh, en


def _band_text(rank: int, catalog: Catalog) -> tuple[str, str]:
    low = _format_number(catalog.levels[rank].min)
    if rank == 0:
        return f"不低于{low}", f"at least {low}"
    high = _format_number(catalog.levels[rank - 1].min)
    if rank == len(catalog.levels) - 1:
        return f"低于{high}", f"below {high}"
    return f"不低于{low}且低于{high}", f"at least {low} and below {high}"


# ---- escalation ----------------------------------------------------------------------------


def escalation_states(
    levels: pd.DataFrame, catalog: Catalog, key: str = "community_code"
) -> pd.DataFrame:
    """Adds streak, escalated and the escalation reasons to assign_levels output.

    streak counts consecutive assessment periods whose `level` is the escalation level or worse;
    a period with level None (or no row) neither adds to nor resets it, and keeps the streak
    (and so the escalation) of the last assessed period. A better level resets it to 0.
    Periods must be labels of catalog.alerts.escalation.granularity.
    """
    _require_columns(levels, [key, "period", "level"], "escalation_states")
    rule = catalog.alerts.escalation
    _require_granularity(levels["period"], rule.granularity)
    frame, unit_codes, period_codes, n_units, n_periods = _sorted_grid(levels, key)
    ranks = _ranks_of_level_ids(frame["level"], catalog)
    rank_matrix = np.full((n_units, n_periods), NO_LEVEL, dtype="int64")
    rank_matrix[unit_codes, period_codes] = ranks

    threshold_rank = catalog.level_ids.index(rule.level)
    streak_matrix = np.zeros((n_units, n_periods), dtype="int64")
    streak_now = np.zeros(n_units, dtype="int64")
    for period in range(n_periods):
        rank_now = rank_matrix[:, period]
        assessed = rank_now != NO_LEVEL
        at_or_worse = assessed & (rank_now >= threshold_rank)
        streak_now = np.where(at_or_worse, streak_now + 1, np.where(assessed, 0, streak_now))
        streak_matrix[:, period] = streak_now

    streak = streak_matrix[unit_codes, period_codes]
    escalated = streak >= rule.consecutive
    unique_streaks, inverse = np.unique(np.where(escalated, streak, 0), return_inverse=True)
    texts = [_escalation_reason(int(count), catalog) for count in unique_streaks.tolist()]
    return _with_columns(
        frame,
        {
            "streak": streak,
            "escalated": escalated,
            "escalation_reason_zh": np.array([zh for zh, _ in texts] or [""], dtype=object)[
                inverse
            ],
            "escalation_reason_en": np.array([en for _, en in texts] or [""], dtype=object)[
                inverse
            ],
        },
    )


def _escalation_reason(streak: int, catalog: Catalog) -> tuple[str, str]:
    """ "连续2年黄色预警或更差，触发整改约谈"; empty strings for a streak of 0 (not escalated)."""
    if streak == 0:
        return "", ""
    rule = catalog.alerts.escalation
    level = catalog.levels[catalog.level_ids.index(rule.level)]
    is_worst = rule.level == catalog.level_ids[-1]
    counter_zh, singular_en, plural_en = GRANULARITY_WORDS[rule.granularity]
    unit_en = singular_en if streak == 1 else plural_en
    worse_zh = "" if is_worst else "或更差"
    worse_en = "" if is_worst else " or worse"
    return (
        f"连续{streak}{counter_zh}{level.name_zh}{worse_zh}，触发整改约谈",
        f"{level.name_en}{worse_en} for {streak} consecutive {unit_en}: rectification talk",
    )


# ---- not reported --------------------------------------------------------------------------


def not_reported(
    registry_codes: Iterable[str],
    reported: pd.DataFrame,
    months: list[str],
    today: dt.date,
    catalog: Catalog,
) -> pd.DataFrame:
    """Registry communities × months with no value whose reporting deadline is before today.

    The deadline of a month is periods.reporting_deadline(month, deadline_day): on the deadline
    day itself the month is not yet late; from the day after it is. Sorted by code, then month.
    """
    _require_columns(reported, ["community_code", "period"], "not_reported")
    deadline_day = catalog.alerts.not_reported.deadline_day
    codes = pd.Index(pd.unique(pd.Series(list(registry_codes), dtype="str"))).sort_values()
    due_months = [
        month for month in dict.fromkeys(months) if reporting_deadline(month, deadline_day) < today
    ]
    due_index = pd.Index(due_months, dtype="str")
    deadlines = np.array(
        [reporting_deadline(month, deadline_day) for month in due_months], dtype=object
    )
    has_value = np.zeros((len(codes), len(due_months)), dtype=bool)
    unit_positions = codes.get_indexer(reported["community_code"].astype("str"))
    month_positions = due_index.get_indexer(reported["period"].astype("str"))
    known = (unit_positions >= 0) & (month_positions >= 0)
    has_value[unit_positions[known], month_positions[known]] = True
    missing_units, missing_months = np.nonzero(~has_value)
    return pd.DataFrame(
        {
            "community_code": pd.Series(codes.take(missing_units)),
            "period": pd.Series(due_index.take(missing_months)),
            "deadline": _object_series(deadlines[missing_months]),
        }
    )


# ---- suspicious jumps ----------------------------------------------------------------------


def suspicious_jumps(
    values: pd.DataFrame,
    catalog: Catalog,
    flag_from: str | None = None,
    block_cells: int = JUMP_BLOCK_CELLS,
) -> pd.DataFrame:
    """Values far from the community's own recent history of that indicator (异常波动).

    History = the previous `window` available values (missing values skipped, gaps in time
    ignored). With at least `min_history` of them, robust z = 0.6745 × (x − median) / MAD, and
    |z| > robust_z is flagged. When the MAD is 0 (half the history or more is one value), the
    scale falls back to 1.253314 × the mean absolute deviation from the median, z = (x − median)
    / (1.253314 × mean deviation); the `mad` column then shows 0 and the reason says so. When
    that is 0 too (a perfectly flat history) nothing is flagged: any change from a constant
    would be an infinite z, and flagging every first change of a constant series would flood
    the review list. A flagged value still counts in the index. Sorted by community, indicator
    and period.

    With `flag_from` (a month), only values from that month on are tested; earlier values only
    serve as history. An incremental recompute passes its first changed month, so that the
    months loaded for history are not tested again. The series are checked in blocks of about
    `block_cells` grid cells (series × periods); the flags do not depend on it.
    """
    _require_columns(values, ["community_code", "period", "indicator", "value"], "suspicious_jumps")
    observed = _as_float_array(values["value"])
    present = ~np.isnan(observed)
    unit_codes, units = _sorted_factorize(values["community_code"])
    indicator_codes, indicators = _sorted_factorize(values["indicator"])
    period_codes, periods = _sorted_factorize(values["period"])
    first_tested = 0 if flag_from is None else int(np.searchsorted(periods, flag_from))
    if ((unit_codes < 0) | (indicator_codes < 0) | (period_codes < 0))[present].any():
        raise ValueError("suspicious_jumps: a value without community_code, indicator or period")
    n_indicators, n_periods = max(len(indicators), 1), max(len(periods), 1)
    series = (unit_codes.astype("int64") * n_indicators + indicator_codes)[present]
    period_codes = period_codes[present]
    observed = observed[present]
    n_series = len(units) * n_indicators

    series_per_block = max(1, block_cells // n_periods)
    found: list[np.ndarray] = []
    for first in range(0, n_series, series_per_block):
        last = min(first + series_per_block, n_series)
        in_block = (
            (series >= first) & (series < last) if n_series > series_per_block else slice(None)
        )
        grid = np.full((last - first, n_periods), np.nan)
        cells = (series[in_block] - first) * n_periods + period_codes[in_block]
        if np.bincount(cells, minlength=1).max(initial=0) > 1:
            raise ValueError("suspicious_jumps: two values for one community, indicator and period")
        grid.ravel()[cells] = observed[in_block]
        block = _flag_jumps_in_grid(grid, catalog, first_tested)
        block[:, 0] += first
        found.append(block)
    flagged = np.concatenate(found) if found else np.empty((0, len(JUMP_STATISTICS)))
    flagged = flagged[np.lexsort((flagged[:, 1], flagged[:, 0]))]
    series_of = flagged[:, 0].astype("int64")
    result = pd.DataFrame(
        {
            "community_code": pd.Series(units.take(series_of // n_indicators)),
            "period": pd.Series(periods.take(flagged[:, 1].astype("int64"))),
            "indicator": pd.Series(indicators.take(series_of % n_indicators)),
            "value": flagged[:, 2],
            "median": flagged[:, 3],
            "mad": flagged[:, 4],
            "robust_z": flagged[:, 5],
        }
    )
    reason_zh, reason_en = _jump_reasons(
        result, flagged[:, 6], flagged[:, 7].astype("int64"), catalog
    )
    result["reason_zh"] = _object_series(reason_zh)
    result["reason_en"] = _object_series(reason_en)
    return result[JUMP_COLUMNS]


def _sorted_factorize(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """pd.factorize(column, sort=True) as (codes, uniques): factorised unsorted, then the few
    uniques sorted and the codes renumbered with one numpy take, which is several times faster
    for millions of Arrow strings than pandas' sorting of the codes. Missing values get -1."""
    codes, uniques = pd.factorize(column)
    uniques = np.asarray(uniques, dtype=object)
    order = np.argsort(uniques, kind="stable")
    rank = np.empty(len(order) + 1, dtype="int64")
    rank[order] = np.arange(len(order))
    rank[-1] = -1  # code -1 (missing) indexes the last slot and stays -1
    return rank[codes], uniques[order]


def _flag_jumps_in_grid(grid: np.ndarray, catalog: Catalog, first_tested: int = 0) -> np.ndarray:
    """Flags of a series × periods grid (NaN = no value); one row per flag, JUMP_STATISTICS.
    Only values in columns from `first_tested` on are tested.

    Each series' available values are packed into consecutive positions, so that the k-th
    available value has exactly min(k, window) previous available values right before it.
    Series are laid out as columns, longest first: at position k the series that have a k-th
    value are a prefix of the columns, and the loop runs over positions (at most the number of
    periods), vectorised across series.
    """
    rule = catalog.alerts.jump
    available = ~np.isnan(grid)
    lengths = available.sum(axis=1)
    rows, periods = np.nonzero(available)  # row-major: each series' values in period order
    starts = np.cumsum(lengths) - lengths
    positions = np.arange(len(rows)) - starts[rows]
    packed_by_series = np.full(grid.shape, np.nan)
    packed_by_series[rows, positions] = grid[rows, periods]
    longest_first = np.argsort(-lengths, kind="stable")
    packed = np.ascontiguousarray(packed_by_series[longest_first].T)
    sorted_lengths = lengths[longest_first]
    # A series' values before column first_tested fill its first positions: history only.
    untested = available[:, :first_tested].sum(axis=1)[longest_first]
    first_position = int(untested[sorted_lengths > untested].min(initial=grid.shape[1]))

    found: list[np.ndarray] = []
    for position in range(max(rule.min_history, first_position), grid.shape[1]):
        width = int(np.count_nonzero(sorted_lengths > position))
        if width == 0:
            break
        size = min(position, rule.window)
        history = packed[position - size : position, :width]
        current = packed[position, :width]
        median = _median_of_columns(history)
        deviation = np.abs(history - median)
        mad = _median_of_columns(deviation)
        mean_deviation = deviation.mean(axis=0)
        centred = current - median
        with np.errstate(divide="ignore", invalid="ignore"):
            robust_z = np.where(
                mad > 0,
                MAD_CONSISTENCY * centred / mad,
                np.where(
                    mean_deviation > 0,
                    centred / (MEAN_DEVIATION_CONSISTENCY * mean_deviation),
                    np.nan,
                ),
            )
        tested = np.abs(np.nan_to_num(robust_z, nan=0.0)) > rule.robust_z
        if first_tested:
            tested &= untested[:width] <= position
        hit = np.flatnonzero(tested)
        if len(hit):
            series = longest_first[hit]
            found.append(
                np.column_stack(
                    [
                        series,
                        periods[starts[series] + position],
                        current[hit],
                        median[hit],
                        mad[hit],
                        robust_z[hit],
                        mean_deviation[hit],
                        np.full(len(hit), size),
                    ]
                ).astype("float64")
            )
    return np.concatenate(found) if found else np.empty((0, len(JUMP_STATISTICS)))


def _median_of_columns(matrix: np.ndarray) -> np.ndarray:
    """Median of each column of a matrix without NaN.

    Short columns (the usual windows) are sorted with an odd-even transposition network of
    vectorised row operations, much faster than numpy's per-column sort for a few rows.
    """
    size = matrix.shape[0]
    if size > SORTING_NETWORK_MAX_ROWS:
        ordered = np.sort(matrix, axis=0)
    else:
        ordered = matrix.copy()
        for round_number in range(size):
            for upper in range(round_number % 2, size - 1, 2):
                smaller = np.minimum(ordered[upper], ordered[upper + 1])
                np.maximum(ordered[upper], ordered[upper + 1], out=ordered[upper + 1])
                ordered[upper] = smaller
    return (ordered[(size - 1) // 2] + ordered[size // 2]) / 2


def _jump_reasons(
    flags: pd.DataFrame, mean_deviation: np.ndarray, history: np.ndarray, catalog: Catalog
) -> tuple[np.ndarray, np.ndarray]:
    """Sentences for flagged values.

    Each distinct number is formatted once; the sentences are then assembled with one f-string
    per flagged value (flags are a small share of the values, and this measured faster than
    chains of numpy string additions).
    """
    if len(flags) == 0:
        return np.array([], dtype=object), np.array([], dtype=object)
    indicator = flags["indicator"].astype(object)
    names_zh = indicator.map({i.id: i.name_zh for i in catalog.indicators}).fillna(indicator)
    names_en = indicator.map({i.id: i.name_en for i in catalog.indicators}).fillna(indicator)
    robust_z = flags["robust_z"].to_numpy()
    mad = flags["mad"].to_numpy()
    # Where the MAD is 0 the mean absolute deviation is shown instead (see suspicious_jumps).
    spread = np.where(mad > 0, mad, mean_deviation)
    threshold = _format_number(catalog.alerts.jump.robust_z)
    factor = MEAN_DEVIATION_CONSISTENCY
    reasons_zh: list[str] = []
    reasons_en: list[str] = []
    for name_zh, name_en, value, median, size, scale, count, above, by_mad in zip(
        names_zh.tolist(),
        names_en.tolist(),
        _format_numbers(flags["value"].to_numpy()),
        _format_numbers(flags["median"].to_numpy()),
        _format_numbers(np.abs(robust_z)),
        _format_numbers(spread),
        history.tolist(),
        (robust_z > 0).tolist(),
        (mad > 0).tolist(),
        strict=True,
    ):
        if by_mad:
            scale_zh = f"中位绝对偏差{scale}"
            scale_en = f"median absolute deviation {scale}"
        else:
            scale_zh = f"中位绝对偏差为0，改用平均绝对偏差{scale}×{factor}"
            scale_en = (
                f"the median absolute deviation is 0, so {factor} × the mean absolute "
                f"deviation {scale} is used"
            )
        reasons_zh.append(
            f"{name_zh}本期值{value}{'高于' if above else '低于'}本社区此前{count}个值的中位数"
            f"{median}，稳健z分数{'' if above else '-'}{size}，绝对值超过阈值{threshold}"
            f"（{scale_zh}），请核实"
        )
        reasons_en.append(
            f"{name_en} value {value} is {'above' if above else 'below'} the median {median} of "
            f"this community's previous {count} values by {size} robust z-scores, beyond the "
            f"threshold {threshold} ({scale_en}); please verify"
        )
    return np.array(reasons_zh, dtype=object), np.array(reasons_en, dtype=object)


# ---- trends --------------------------------------------------------------------------------


def trends(
    scores: pd.DataFrame, catalog: Catalog, periods: list[str], key: str = "community_code"
) -> pd.DataFrame:
    """Least-squares slope of the index over the last `window` calendar periods, per key and period.

    One row per key and period of `periods` from the key's first row onwards. The slope is in
    index points per period on the calendar position (gaps count as periods); with fewer than
    `min_points` indices in the window the trend is "not_assessable" and the slope NaN.
    """
    _require_columns(scores, [key, "period", "index"], "trends")
    rule = catalog.alerts.trend
    calendar = pd.Index(list(periods), dtype="str")
    if not calendar.is_unique:
        raise ValueError("trends: `periods` lists a period twice")
    period_positions = calendar.get_indexer(scores["period"].astype("str"))
    if (period_positions < 0).any():
        unknown = sorted(set(scores["period"][period_positions < 0].astype(str)))
        raise ValueError(f"trends: periods missing from `periods`: {', '.join(unknown[:5])}")
    unit_codes, units = pd.factorize(scores[key], sort=True)
    if (unit_codes < 0).any():
        raise ValueError(f"trends: missing {key}")
    n_units, n_periods = len(units), len(calendar)
    cells = unit_codes.astype("int64") * n_periods + period_positions
    if np.bincount(cells, minlength=1).max(initial=0) > 1:
        raise ValueError(f"trends: two rows for one {key} and period")
    index_matrix = np.full((n_units, n_periods), np.nan)
    index_matrix[unit_codes, period_positions] = _as_float_array(scores["index"])
    has_row = np.zeros((n_units, n_periods), dtype=bool)
    has_row[unit_codes, period_positions] = True
    # No periods means no rows at all: every unit (none) starts at position 0.
    first_position = has_row.argmax(axis=1) if n_periods else np.zeros(n_units, dtype="int64")

    slope_matrix = np.full((n_units, n_periods), np.nan)
    points_matrix = np.zeros((n_units, n_periods), dtype="int64")
    for period in range(n_periods):
        start = max(0, period - rule.window + 1)
        offsets = np.arange(start, period + 1, dtype="float64") - period
        slope_matrix[:, period], points_matrix[:, period] = _window_slopes(
            index_matrix[:, start : period + 1], offsets, rule.min_points
        )

    started = np.arange(n_periods)[None, :] >= first_position[:, None]
    unit_rows, period_rows = np.nonzero(started)  # row-major: by key, then period
    slopes = slope_matrix[unit_rows, period_rows]
    compared = np.round(slopes, SLOPE_COMPARISON_DECIMALS)
    trend = np.select(
        [np.isnan(slopes), compared >= rule.improving, compared <= rule.declining],
        [TREND_NOT_ASSESSABLE, TREND_IMPROVING, TREND_DECLINING],
        default=TREND_STABLE,
    ).astype(object)
    return pd.DataFrame(
        {
            key: pd.Series(units.take(unit_rows)),
            "period": pd.Series(calendar.take(period_rows)),
            "slope": slopes,
            "points": points_matrix[unit_rows, period_rows],
            "trend": _object_series(trend),
        }
    )


def _window_slopes(
    window: np.ndarray, offsets: np.ndarray, min_points: int
) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares slope of each row of `window` on `offsets`, skipping NaN; (slope, points)."""
    available = ~np.isnan(window)
    points = available.sum(axis=1)
    y = np.where(available, window, 0.0)
    t = np.where(available, offsets, 0.0)
    sum_t, sum_y = t.sum(axis=1), y.sum(axis=1)
    sum_tt, sum_ty = (t * t).sum(axis=1), (t * y).sum(axis=1)
    denominator = points * sum_tt - sum_t * sum_t
    assessable = (points >= min_points) & (denominator > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = np.where(assessable, (points * sum_ty - sum_t * sum_y) / denominator, np.nan)
    return slope, points


# ---- helpers -------------------------------------------------------------------------------


def _require_columns(frame: pd.DataFrame, columns: list[str], caller: str) -> None:
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"{caller}: missing column(s) {', '.join(missing)}")


def _require_granularity(periods: pd.Series, granularity: str) -> None:
    for label in pd.unique(periods.astype(object)):
        if granularity_of(str(label)) != granularity:
            raise ValueError(
                f"escalation_states: period {label!r} is not a {granularity} "
                f"(catalog alerts.escalation.granularity)"
            )


def _sorted_grid(
    frame: pd.DataFrame, key: str
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, int, int]:
    """Rows sorted by key and period, with their unit and period positions in a units × periods grid.

    Sorting is a counting sort through the grid (linear), and is skipped for sorted input.
    """
    unit_codes, units = pd.factorize(frame[key], sort=True)
    period_codes, periods = pd.factorize(frame["period"], sort=True)
    if (unit_codes < 0).any() or (period_codes < 0).any():
        raise ValueError(f"missing {key} or period")
    n_units, n_periods = len(units), len(periods)
    cells = unit_codes.astype("int64") * n_periods + period_codes
    if np.bincount(cells, minlength=1).max(initial=0) > 1:
        raise ValueError(f"two rows for one {key} and period")
    if np.all(cells[1:] > cells[:-1]):
        return frame.reset_index(drop=True), unit_codes, period_codes, n_units, n_periods
    row_of_cell = np.full(n_units * n_periods, -1, dtype="int64")
    row_of_cell[cells] = np.arange(len(cells))
    order = row_of_cell[row_of_cell >= 0]
    return (
        frame.take(order).reset_index(drop=True),
        unit_codes[order],
        period_codes[order],
        n_units,
        n_periods,
    )


def _ranks_of_level_ids(level_ids: pd.Series, catalog: Catalog) -> np.ndarray:
    positions = pd.Index(catalog.level_ids, dtype=object).get_indexer(level_ids.astype(object))
    unknown = (positions < 0) & level_ids.notna().to_numpy()
    if unknown.any():
        raise ValueError(f"unknown level id(s): {sorted(set(level_ids[unknown].astype(str)))}")
    return positions.astype("int64")


def _level_ids_with_none(catalog: Catalog) -> np.ndarray:
    """Level ids best → worst followed by None, so that NO_LEVEL (−1) maps to None."""
    return np.array([*catalog.level_ids, None], dtype=object)


def _as_float_array(values: np.ndarray | pd.Series) -> np.ndarray:
    if isinstance(values, pd.Series):
        return values.to_numpy(dtype="float64", na_value=np.nan)
    return np.asarray(values, dtype="float64")


def _with_columns(frame: pd.DataFrame, columns: dict[str, np.ndarray]) -> pd.DataFrame:
    """`frame` with these columns appended (replacing same-named ones); object arrays stay
    object, so None stays None."""
    added = pd.DataFrame(
        {
            name: pd.Series(values, dtype=object) if values.dtype == object else values
            for name, values in columns.items()
        },
        index=frame.index,
    )
    return pd.concat([frame.drop(columns=list(columns), errors="ignore"), added], axis=1)


def _object_series(values: np.ndarray) -> pd.Series:
    """Keeps None as None: pandas 3 would turn an array of str and None into str with NaN."""
    return pd.Series(values, dtype=object)


def _shown(values: np.ndarray | float) -> np.ndarray:
    """Values cut towards −∞ to DISPLAY_DECIMALS decimals; str() of each prints them ("70.0")."""
    return np.floor(np.asarray(values, dtype="float64") * 10**DISPLAY_DECIMALS + DISPLAY_NUDGE) / (
        10**DISPLAY_DECIMALS
    )


def _format_number(value: float) -> str:
    """At most two decimals, at least one, cut towards −∞: 70 → "70.0", 71.999 → "71.99"."""
    return "—" if np.isnan(value) else str(float(_shown(value)))


def _format_numbers(values: np.ndarray) -> list[str]:
    """_format_number of each value, formatting each distinct shown number once."""
    if len(values) == 0:
        return []
    distinct, inverse = np.unique(_shown(values), return_inverse=True)
    labels = np.array(
        ["—" if np.isnan(number) else str(number) for number in distinct.tolist()], dtype=object
    )
    return labels[inverse].tolist()
