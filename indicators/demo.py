"""The synthetic demo city (示例数据): an org registry, monthly values and the stories they tell."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from indicators.catalog import Catalog, Indicator
from indicators.periods import latest_closed_month, month_range, shift_month
from indicators.scoring import score_raw

DEMO_SEED = 20261
DEMO_DISTRICTS = 3
DEMO_STREETS_PER_DISTRICT = (5, 8)
DEMO_COMMUNITIES_PER_STREET = (8, 15)
DEMO_MONTHS = 36

# No real province uses 99, so a demo code can never be mistaken for a real unit.
PROVINCE_PREFIX = "99"
DISTRICTS_PER_CITY = 99
POPULATION_RANGE = (3_000, 15_000)
POPULATION_STEP = 10

STORY_IMPROVING = "improving_after_reform"
STORY_DECLINING = "declining"
STORY_STUCK_YELLOW = "stuck_yellow"
STORY_RED = "red"
STORY_NOT_REPORTED = "not_reported_last_month"
STORY_GAPS = "gaps"
STORY_JUMP = "suspicious_jump"
STORY_STEADY = "steady"
STORY_IDS = (
    STORY_IMPROVING,
    STORY_DECLINING,
    STORY_STUCK_YELLOW,
    STORY_RED,
    STORY_NOT_REPORTED,
    STORY_GAPS,
    STORY_JUMP,
    STORY_STEADY,
)


@dataclass(frozen=True)
class DemoCity:
    """A synthetic city: registry (code, name, population, level, parent_code), long monthly
    values (community_code, period, indicator, value) and the community codes of each story."""

    registry: pd.DataFrame
    values: pd.DataFrame
    stories: dict[str, list[str]]
    first_month: str
    last_month: str


@dataclass(frozen=True)
class IndicatorProfile:
    """An indicator's value in the source documents before reform, and after reform."""

    baseline: float
    reformed: float
    noise: float = 1.0  # month-to-month noise, as a share of NOISE_AMPLITUDE


# The health scale of the demo runs from the source documents' baseline figures (a community
# scoring about 29) to the figures reform communities reached (about 83). Every community
# moves its indicators along this line, so a value always looks like the sources.
INDICATOR_PROFILES: dict[str, IndicatorProfile] = {
    "satisfaction": IndicatorProfile(68.3, 89.5),  # 基线68.3%，改革后89.5%
    "participation": IndicatorProfile(12.0, 42.0),  # 参与率由45%降至12%
    "council_attendance": IndicatorProfile(55.0, 82.0),  # 出勤率不足60%
    "certified_share": IndicatorProfile(18.0, 45.0),  # 持证社工占比18%
    "training_hours": IndicatorProfile(18.0, 36.0),  # 年培训不足20学时
    "mediation_success": IndicatorProfile(38.0, 86.0),  # 调解成功率不足40%
    "turnover": IndicatorProfile(15.0, 7.0),  # 队伍稳定率目标85%
    "response_hours": IndicatorProfile(72.0, 10.0),  # 72小时响应周期
    "resolution_rate": IndicatorProfile(75.0, 95.0),
    "error_rate": IndicatorProfile(8.7, 1.2),  # 差错率由8.7%降至1.2%
    "digital_usage": IndicatorProfile(28.0, 65.0),  # 智慧系统使用率不足30%
    "innovation_share": IndicatorProfile(13.0, 28.0),  # 创新举措不足15%
    "residents_per_worker": IndicatorProfile(1800.0, 1250.0),  # 每名社工服务1800名居民
}
# Scores an indicator without a profile (a custom catalog) starts from and reaches.
FALLBACK_SCORES = (30.0, 85.0)
# Values are rounded to one decimal (%, hours), whole numbers for counts of people.
UNIT_DECIMALS = {"人": 0}
DEFAULT_DECIMALS = 1
STRING_DTYPE = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' default `str` dtype


@dataclass(frozen=True)
class Trajectory:
    """A family of paths of a community's latent index: a level, a linear change, a level.

    `change_start` is the first month of the change counted from the first month, or from the
    end when negative (−12 = the twelfth month before the end); the change takes
    `change_months`. Communities are shared out by `share` of the city, at least `minimum`;
    trajectories with `fills_remainder` split what is left in proportion to their share.
    """

    name: str
    story: str
    share: float
    minimum: int
    before: tuple[float, float]
    after: tuple[float, float]
    change_start: tuple[int, int] = (0, 0)
    change_months: tuple[int, int] = (1, 1)
    fills_remainder: bool = False


# The stories, as latent index paths (the realised index is on average within a point of it):
# - improving: red/yellow (56–63) until a reform in month 5, then a 20-month climb to 85–89;
#   the year after the reform already averages blue, so no escalation follows it.
# - declining: normal (83–87) until 14 months before the end, then a slide to 65–74.
# - stuck_yellow: 62.5–67 throughout, so every calendar year is yellow: escalated.
# - red: blue (76–79) until 20 months before the end, then a 17-month slide to 52–55.
# - steady: normal (84–90) or blue (74–77.5), a mild season on top.
# Changes take at least 14 months, so they read as trends, not jumps.
TRAJECTORIES: tuple[Trajectory, ...] = (
    Trajectory("improving", STORY_IMPROVING, 0.03, 3, (56.0, 63.0), (85.0, 89.0), (4, 4), (20, 20)),
    Trajectory(
        "declining", STORY_DECLINING, 0.08, 4, (83.0, 87.0), (65.0, 74.0), (-14, -14), (14, 14)
    ),
    Trajectory("stuck_yellow", STORY_STUCK_YELLOW, 0.08, 3, (62.5, 67.0), (62.5, 67.0)),
    Trajectory("red", STORY_RED, 0.08, 3, (76.0, 79.0), (52.0, 55.0), (-20, -20), (17, 17)),
    Trajectory(
        "steady_normal", STORY_STEADY, 0.72, 0, (84.0, 90.0), (84.0, 90.0), fills_remainder=True
    ),
    Trajectory(
        "steady_blue", STORY_STEADY, 0.28, 0, (74.0, 77.5), (74.0, 77.5), fills_remainder=True
    ),
)


@dataclass(frozen=True)
class Overlay:
    """A data-quality story laid over steady communities: their path stays, their data changes."""

    story: str
    share: float
    minimum: int
    maximum: int | None
    trajectories: tuple[str, ...]


OVERLAYS: tuple[Overlay, ...] = (
    Overlay(STORY_NOT_REPORTED, 0.03, 2, None, ("steady_normal", "steady_blue")),
    Overlay(STORY_GAPS, 0.03, 2, None, ("steady_normal", "steady_blue")),
    Overlay(STORY_JUMP, 0.0, 1, 1, ("steady_normal",)),
)

# Noise: each indicator of each community follows a Weyl sequence frac(start + step × month)
# with an irrational step, uniform on [−1, 1] and evenly spread over any 6 consecutive months,
# so that ordinary noise never looks like a suspicious jump (independent draws would: the
# robust z of 6 previous values exceeds 3.5 for about 7% of normal draws). It is this many
# index points carried along the indicator's line (at least MINIMUM_NOISE_SLOPE of them).
# On a trend the sequence can fall into step with the slope and bunch up; such a series
# (about 1 in 12 of the trending ones) draws its noise again, at most JUMP_REDRAW_ROUNDS times
# (a province of 20,000 communities needs 7).
NOISE_AMPLITUDE = 3.5
MINIMUM_NOISE_SLOPE = 0.6
WEYL_STEPS = (0.6180339887, 0.3819660113, 0.4142135624, 0.5857864376)
JUMP_REDRAW_ROUNDS = 20
SEASON_AMPLITUDE = 0.6  # index points, 12-month cycle counted from the first month
PROFILE_SPREAD = 5.0  # sd of a community's own strengths and weaknesses, in score points

# Gaps: months with too little data (coverage below the minimum) and months missing one value.
GAP_INSUFFICIENT_MONTHS = 4
GAP_PARTIAL_MONTHS = 4
JUMP_INDICATOR = "response_hours"
JUMP_FACTOR = 5.0
JUMP_MONTHS_BEFORE_END = 1  # the month before the last one

DISTRICT_NUMERALS = "一二三四五六七八九"
STREET_WORDS = (
    "和平",
    "东湖",
    "西山",
    "南苑",
    "北辰",
    "解放",
    "人民",
    "朝阳",
    "新华",
    "中山",
    "长青",
    "建设",
    "青年",
    "光明",
    "滨江",
    "文昌",
    "兴业",
    "迎宾",
    "望江",
    "团结",
    "胜利",
    "红旗",
    "金桥",
    "花园",
    "育才",
    "城关",
    "龙泉",
    "凤凰",
    "白塔",
    "清河",
    "丰乐",
    "永安",
    "太平",
    "新城",
    "东风",
    "民主",
    "翠屏",
    "锦绣",
    "湖滨",
    "五里",
)
COMMUNITY_WORDS = (
    "枫林",
    "桂园",
    "梧桐",
    "翠竹",
    "兰亭",
    "杏花",
    "松鹤",
    "柳岸",
    "荷塘",
    "梅苑",
    "竹园",
    "桃源",
    "樱花",
    "紫薇",
    "丁香",
    "海棠",
    "玉兰",
    "芙蓉",
    "银杏",
    "香樟",
    "明珠",
    "锦华",
    "福安",
    "康乐",
    "嘉禾",
    "瑞景",
    "春晖",
    "秋实",
    "晨曦",
    "月湖",
    "星河",
    "云台",
    "碧水",
    "青石",
    "金沙",
    "银湾",
    "清泉",
    "朝晖",
    "怡景",
    "和顺",
    "安居",
    "乐业",
    "书香",
    "文华",
    "惠民",
    "幸福",
    "阳光",
    "彩虹",
    "绿洲",
    "东篱",
    "南湖",
    "西岭",
    "北苑",
    "景秀",
    "泰和",
    "长乐",
    "永丰",
    "宝林",
    "天鹅",
    "望湖",
)


def build_demo(catalog: Catalog, seed: int = DEMO_SEED, last_month: str | None = None) -> DemoCity:
    """The demo city: 3 districts, 5–8 streets each, 8–15 communities each, 36 months.

    `last_month` defaults to the latest month whose reporting deadline has passed today; only
    the period labels depend on it, never the numbers.
    """
    if last_month is None:
        last_month = latest_closed_month(dt.date.today(), catalog.alerts.not_reported.deadline_day)
    return build_city(
        catalog,
        DEMO_DISTRICTS,
        DEMO_STREETS_PER_DISTRICT,
        DEMO_COMMUNITIES_PER_STREET,
        DEMO_MONTHS,
        last_month,
        seed,
    )


def build_city(
    catalog: Catalog,
    districts: int,
    streets_per_district: tuple[int, int],
    communities_per_street: tuple[int, int],
    months: int,
    last_month: str,
    seed: int,
) -> DemoCity:
    """A synthetic city of any size; the numbers depend only on the seed and the sizes."""
    if districts < 1 or months < 1:
        raise ValueError("a city needs at least one district and one month")
    if min(*streets_per_district, *communities_per_street) < 1:
        raise ValueError("streets per district and communities per street start at 1")
    registry_rng, story_rng, value_rng, overlay_rng = (
        np.random.default_rng(stream) for stream in np.random.SeedSequence(seed).spawn(4)
    )
    registry = _build_registry(
        registry_rng, districts, streets_per_district, communities_per_street
    )
    codes = registry.loc[registry["level"] == "community", "code"].to_numpy(dtype=object)
    trajectory_of, overlay_members = _assign_stories(story_rng, len(codes))
    latent = _latent_index(story_rng, trajectory_of, months)
    present = _present_cells(overlay_rng, catalog, latent.shape, overlay_members)
    trending = np.flatnonzero(np.ptp(latent, axis=1) > 2 * SEASON_AMPLITUDE + 1e-9)
    values = _indicator_values(value_rng, catalog, latent, present, trending)
    _plant_jump(catalog, values, overlay_members[STORY_JUMP])

    first_month = shift_month(last_month, -(months - 1))
    periods = month_range(first_month, last_month)
    stories = _story_codes(codes, trajectory_of, overlay_members)
    return DemoCity(
        registry=registry,
        values=_long_values(values, present, codes, periods, [i.id for i in catalog.indicators]),
        stories=stories,
        first_month=first_month,
        last_month=last_month,
    )


# ---- registry ------------------------------------------------------------------------------


def _build_registry(
    rng: np.random.Generator,
    districts: int,
    streets_per_district: tuple[int, int],
    communities_per_street: tuple[int, int],
) -> pd.DataFrame:
    """Districts 99CCDD000000, streets …SSS000, communities …SSSCCC, with names and populations."""
    street_counts = rng.integers(streets_per_district[0], streets_per_district[1] + 1, districts)
    n_streets = int(street_counts.sum())
    community_counts = rng.integers(
        communities_per_street[0], communities_per_street[1] + 1, n_streets
    )
    n_communities = int(community_counts.sum())
    populations = POPULATION_STEP * rng.integers(
        POPULATION_RANGE[0] // POPULATION_STEP,
        POPULATION_RANGE[1] // POPULATION_STEP + 1,
        n_communities,
    )
    street_words = _names_within_groups(rng, STREET_WORDS, street_counts, "街道")
    community_words = _names_within_groups(rng, COMMUNITY_WORDS, community_counts, "社区")

    district_codes = [
        f"{PROVINCE_PREFIX}{d // DISTRICTS_PER_CITY + 1:02d}{d % DISTRICTS_PER_CITY + 1:02d}000000"
        for d in range(districts)
    ]
    street_district = np.repeat(np.arange(districts), street_counts)
    street_number = _position_within_groups(street_counts) + 1
    street_codes = [
        f"{district_codes[d][:6]}{s:03d}000"
        for d, s in zip(street_district.tolist(), street_number.tolist(), strict=True)
    ]
    community_street = np.repeat(np.arange(n_streets), community_counts)
    community_number = _position_within_groups(community_counts) + 1
    community_codes = [
        f"{street_codes[s][:9]}{c:03d}"
        for s, c in zip(community_street.tolist(), community_number.tolist(), strict=True)
    ]
    street_population = np.bincount(community_street, weights=populations, minlength=n_streets)
    district_population = np.bincount(
        street_district, weights=street_population, minlength=districts
    )
    codes = district_codes + street_codes + community_codes
    return pd.DataFrame(
        {
            "code": pd.Series(codes, dtype="str"),
            "name": pd.Series(
                [_district_name(d) for d in range(districts)] + street_words + community_words,
                dtype="str",
            ),
            "population": np.concatenate(
                [district_population, street_population, populations]
            ).astype("int64"),
            "level": pd.Series(
                ["district"] * districts + ["street"] * n_streets + ["community"] * n_communities,
                dtype="str",
            ),
            "parent_code": pd.Series(
                [None] * districts
                + [c[:6] + "000000" for c in street_codes]
                + [c[:9] + "000" for c in community_codes],
                dtype=object,
            ),
        }
    )


def _district_name(position: int) -> str:
    """示例一区 … 示例九十九区; plain digits beyond."""
    number = position + 1
    if number >= 100:
        return f"示例{number}区"
    tens, ones = divmod(number, 10)
    numeral = (DISTRICT_NUMERALS[tens - 1] if tens > 1 else "") + ("十" if tens else "")
    numeral += DISTRICT_NUMERALS[ones - 1] if ones else ""
    return f"示例{numeral}区"


def _position_within_groups(counts: np.ndarray) -> np.ndarray:
    """0, 1, … within each consecutive group of the given sizes."""
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    return np.arange(int(counts.sum())) - starts


def _names_within_groups(
    rng: np.random.Generator, words: tuple[str, ...], counts: np.ndarray, suffix: str
) -> list[str]:
    """Names unique within each group: a shuffled word list, numbered when a group outgrows it."""
    size = max(int(counts.max()), len(words))
    shuffled = np.argsort(rng.random((len(counts), size)), axis=1)
    group = np.repeat(np.arange(len(counts)), counts)
    slot = shuffled[group, _position_within_groups(counts)]
    word, round_ = slot % len(words), slot // len(words)
    return [
        f"{words[w]}{'' if r == 0 else r + 1}{suffix}"
        for w, r in zip(word.tolist(), round_.tolist(), strict=True)
    ]


# ---- stories -------------------------------------------------------------------------------


def _assign_stories(
    rng: np.random.Generator, n_communities: int
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Trajectory position of each community, and the community positions of each overlay."""
    counts = [0] * len(TRAJECTORIES)
    for position, trajectory in enumerate(TRAJECTORIES):
        if not trajectory.fills_remainder:
            counts[position] = max(trajectory.minimum, round(trajectory.share * n_communities))
    remainder = max(n_communities - sum(counts), 0)
    fillers = [p for p, t in enumerate(TRAJECTORIES) if t.fills_remainder]
    total_share = sum(TRAJECTORIES[p].share for p in fillers)
    for p in fillers[:-1]:
        counts[p] = round(remainder * TRAJECTORIES[p].share / total_share)
    counts[fillers[-1]] = remainder - sum(counts[p] for p in fillers[:-1])
    labels = np.repeat(np.arange(len(TRAJECTORIES)), counts)[:n_communities]
    trajectory_of = rng.permutation(labels)

    overlay_members: dict[str, np.ndarray] = {}
    taken = np.zeros(n_communities, dtype=bool)
    names = [t.name for t in TRAJECTORIES]
    for overlay in OVERLAYS:
        eligible_trajectories = [names.index(name) for name in overlay.trajectories]
        candidates = np.flatnonzero(np.isin(trajectory_of, eligible_trajectories) & ~taken)
        wanted = min(
            max(overlay.minimum, round(overlay.share * n_communities)),
            len(candidates) if overlay.maximum is None else overlay.maximum,
            len(candidates),
        )
        chosen = np.sort(rng.choice(candidates, size=wanted, replace=False))
        taken[chosen] = True
        overlay_members[overlay.story] = chosen
    return trajectory_of, overlay_members


def _latent_index(rng: np.random.Generator, trajectory_of: np.ndarray, months: int) -> np.ndarray:
    """Communities × months: the index each community's story aims at, season included."""
    n = len(trajectory_of)
    table = {
        field: np.array([getattr(t, field) for t in TRAJECTORIES], dtype="float64")
        for field in ("before", "after", "change_start", "change_months")
    }
    draws = {
        field: bounds[trajectory_of, 0]
        + rng.random(n) * (bounds[trajectory_of, 1] - bounds[trajectory_of, 0])
        for field, bounds in table.items()
    }
    start = np.round(draws["change_start"])
    start = np.where(start < 0, months + start, start)
    length = np.maximum(np.round(draws["change_months"]), 1)
    position = np.arange(months, dtype="float64")
    progress = np.clip((position[None, :] - start[:, None] + 1) / length[:, None], 0.0, 1.0)
    season = SEASON_AMPLITUDE * np.sin(2 * np.pi * position / 12)
    return (
        draws["before"][:, None]
        + (draws["after"] - draws["before"])[:, None] * progress
        + season[None, :]
    )


def _story_codes(
    codes: np.ndarray, trajectory_of: np.ndarray, overlay_members: dict[str, np.ndarray]
) -> dict[str, list[str]]:
    """Story id → community codes; an overlay community belongs to its overlay story only."""
    in_overlay = np.zeros(len(codes), dtype=bool)
    for members in overlay_members.values():
        in_overlay[members] = True
    stories: dict[str, list[str]] = {story: [] for story in STORY_IDS}
    for position, trajectory in enumerate(TRAJECTORIES):
        members = (trajectory_of == position) & ~in_overlay
        stories[trajectory.story].extend(codes[members].tolist())
    for story, members in overlay_members.items():
        stories[story].extend(codes[members].tolist())
    return {story: sorted(members) for story, members in stories.items()}


# ---- values --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _IndicatorArrays:
    """The catalog's indicators as arrays (catalog order), for vectorised value arithmetic."""

    best: np.ndarray
    worst: np.ndarray
    log: np.ndarray
    valid_min: np.ndarray
    valid_max: np.ndarray
    exclusive_min: np.ndarray
    scale: np.ndarray  # 10 ** decimals: values are rounded to 1 / scale

    @classmethod
    def of(cls, indicators: tuple[Indicator, ...]) -> _IndicatorArrays:
        return cls(
            best=np.array([i.best for i in indicators], dtype="float64"),
            worst=np.array([i.worst for i in indicators], dtype="float64"),
            log=np.array([i.transform == "log" for i in indicators]),
            valid_min=np.array([i.valid_min for i in indicators], dtype="float64"),
            valid_max=np.array([i.valid_max for i in indicators], dtype="float64"),
            exclusive_min=np.array([not i.valid_min_inclusive for i in indicators]),
            scale=10.0
            ** np.array([UNIT_DECIMALS.get(i.unit, DEFAULT_DECIMALS) for i in indicators]),
        )


def _indicator_values(
    rng: np.random.Generator,
    catalog: Catalog,
    latent: np.ndarray,
    present: np.ndarray,
    trending_rows: np.ndarray,
) -> np.ndarray:
    """Communities × months × indicators (catalog order), rounded and inside the valid ranges.

    Each indicator's score moves along the line through its baseline score (at the baseline
    index L) and its reformed score (at the reformed index H); the slopes are such that the
    weighted mean of the scores is the latent index itself. A community keeps its own profile
    (a few points stronger here, weaker there, averaging zero). The noise of an indicator is
    NOISE_AMPLITUDE index points carried along its line, and the steady part of its score
    keeps that far from 0 and 100, so every value lies between the goalposts. The noise
    sequence advances only over `present` cells, so a series with gaps is as evenly spread as
    one without. Series of `trending_rows` whose noise happens to trip the jump rule against
    their trend get a new noise sequence (see _redraw_false_jumps).
    """
    indicators = catalog.indicators
    arrays = _IndicatorArrays.of(indicators)
    nominal = np.array([catalog.nominal_weights.get(i.id, 0.0) for i in indicators])
    baseline_scores, reformed_scores = _anchor_scores(indicators, arrays)
    baseline_index = float(nominal @ baseline_scores)
    reformed_index = float(nominal @ reformed_scores)
    slope = (reformed_scores - baseline_scores) / max(reformed_index - baseline_index, 1e-9)
    amplitude = (
        NOISE_AMPLITUDE
        * np.array([_profile(i).noise for i in indicators])
        * np.maximum(np.abs(slope), MINIMUM_NOISE_SLOPE)
    )

    n_communities, n_months = latent.shape
    n_indicators = len(indicators)
    profile = rng.normal(0.0, PROFILE_SPREAD, (n_communities, n_indicators))
    profile -= (profile @ nominal)[:, None] / max(nominal.sum(), 1e-12)
    start = rng.random((n_communities, n_indicators))
    step = _weyl_steps(rng, (n_communities, n_indicators))

    scores = (latent[:, :, None] - baseline_index) * slope
    scores += baseline_scores + profile[:, None, :]
    np.clip(scores, amplitude, 100.0 - amplitude, out=scores)  # the steady part
    incomplete = np.flatnonzero(~present.all(axis=(1, 2)))
    redrawable = np.setdiff1d(trending_rows, incomplete)
    steady_of_redrawable = scores[redrawable]
    noise = _weyl(start[:, None, :], step[:, None, :], np.arange(n_months)[None, :, None])
    if len(incomplete):
        reported_before = np.cumsum(present[incomplete], axis=1) - 1
        noise[incomplete] = _weyl(
            start[incomplete, None, :], step[incomplete, None, :], reported_before
        )
    noise *= amplitude
    scores += noise
    del noise
    values = _values_from_scores(scores, arrays)
    _redraw_false_jumps(rng, catalog, values, redrawable, steady_of_redrawable, amplitude, arrays)
    return values


def _weyl_steps(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return np.asarray(WEYL_STEPS)[rng.integers(0, len(WEYL_STEPS), shape)]


def _weyl(start: np.ndarray, step: np.ndarray, position: np.ndarray) -> np.ndarray:
    """Terms `position` of the sequences frac(start + step × n), mapped onto [−1, 1]."""
    terms = step * position
    terms += start
    np.mod(terms, 1.0, out=terms)
    terms *= 2.0
    terms -= 1.0
    return terms


def _redraw_false_jumps(
    rng: np.random.Generator,
    catalog: Catalog,
    values: np.ndarray,
    rows: np.ndarray,
    steady: np.ndarray,
    amplitude: np.ndarray,
    arrays: _IndicatorArrays,
) -> None:
    """Gives a new noise sequence to each series of `rows` (complete) that the jump rule flags.

    Noise riding on a trend can fall into step with it, so that a window of six values
    bunches up and an ordinary value looks like a jump. The story has no jump there, so such
    a series draws its noise again (a few rounds are always enough in practice). `steady`
    holds the scores of `rows` without noise.
    """
    n_months, n_indicators = values.shape[1], values.shape[2]
    row = np.repeat(np.arange(len(rows)), n_indicators)
    indicator = np.tile(np.arange(n_indicators), len(rows))
    months = np.arange(n_months)[None, :]
    for _ in range(JUMP_REDRAW_ROUNDS):
        flagged = _jump_flags(values[rows[row], :, indicator], catalog)
        row, indicator = row[flagged], indicator[flagged]
        if not len(row):
            return
        start = rng.random((len(row), 1))
        step = _weyl_steps(rng, (len(row), 1))
        scores = _weyl(start, step, months) * amplitude[indicator][:, None]
        scores += steady[row, :, indicator]
        values[rows[row], :, indicator] = _values_from_scores(scores, arrays, indicator[:, None])


def _jump_flags(series: np.ndarray, catalog: Catalog) -> np.ndarray:
    """True for each row (a complete monthly series) with a value the jump rule would flag.

    The rule of alerts.suspicious_jumps: robust z = 0.6745 (x − median) / MAD of the previous
    `window` values when at least `min_history` exist; when the MAD is 0, the scale is 1.253314
    × the mean absolute deviation; a flat history flags nothing.
    """
    rule = catalog.alerts.jump
    flagged = np.zeros(len(series), dtype=bool)
    for month in range(rule.min_history, min(rule.window, series.shape[1])):
        flagged |= _robust_z_exceeds(series[:, :month], series[:, month], rule.robust_z)
    if series.shape[1] > rule.window:
        windows = np.lib.stride_tricks.sliding_window_view(series[:, :-1], rule.window, axis=1)
        exceeds = _robust_z_exceeds(windows, series[:, rule.window :], rule.robust_z)
        flagged |= exceeds.any(axis=1)
    return flagged


def _robust_z_exceeds(history: np.ndarray, current: np.ndarray, threshold: float) -> np.ndarray:
    """|robust z| of `current` against `history` (last axis) above `threshold`."""
    median = np.median(history, axis=-1)
    deviation = np.abs(history - median[..., None])
    mad = np.median(deviation, axis=-1)
    mean_deviation = deviation.mean(axis=-1)
    centred = np.abs(current - median)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(
            mad > 0,
            0.6745 * centred / mad,
            np.where(mean_deviation > 0, centred / (1.253314 * mean_deviation), 0.0),
        )
    return z > threshold


def _profile(indicator: Indicator) -> IndicatorProfile:
    """The indicator's profile, or one at FALLBACK_SCORES on its goalposts."""
    if indicator.id in INDICATOR_PROFILES:
        return INDICATOR_PROFILES[indicator.id]
    arrays = _IndicatorArrays.of((indicator,))
    low, high = _values_from_scores(np.array([list(FALLBACK_SCORES)]).T, arrays)[:, 0]
    return IndicatorProfile(float(low), float(high))


def _anchor_scores(
    indicators: tuple[Indicator, ...], arrays: _IndicatorArrays
) -> tuple[np.ndarray, np.ndarray]:
    """Scores of every indicator's baseline and reformed value."""
    profiles = [_profile(i) for i in indicators]
    baseline = score_raw(
        np.array([p.baseline for p in profiles]), arrays.best, arrays.worst, arrays.log
    )
    reformed = score_raw(
        np.array([p.reformed for p in profiles]), arrays.best, arrays.worst, arrays.log
    )
    return baseline, reformed


def _values_from_scores(
    scores: np.ndarray, arrays: _IndicatorArrays, indicator: np.ndarray | None = None
) -> np.ndarray:
    """Values whose score is `scores`, rounded, within the valid range (overwrites `scores`).

    The indicators run along the last axis of `scores`, or are given by `indicator` (positions
    in catalog order, broadcast against `scores`).
    """

    def pick(column: np.ndarray) -> np.ndarray:
        return column if indicator is None else column[indicator]

    values = np.clip(scores, 0.0, 100.0, out=scores)
    log = pick(arrays.log)
    best, worst = pick(arrays.best), pick(arrays.worst)
    if np.any(log):
        best = np.where(log, np.log(np.maximum(best, 1e-12)), best)
        worst = np.where(log, np.log(np.maximum(worst, 1e-12)), worst)
    values *= (best - worst) / 100.0
    values += worst
    if np.any(log):
        values[...] = np.where(log, np.exp(np.where(log, values, 0.0)), values)
    scale = pick(arrays.scale)
    values *= scale
    np.round(values, out=values)
    values /= scale
    valid_min = pick(arrays.valid_min)
    lowest = np.where(pick(arrays.exclusive_min), valid_min + 1.0 / scale, valid_min)
    return np.clip(values, lowest, pick(arrays.valid_max), out=values)


# ---- overlays: not reported, gaps, the suspicious jump --------------------------------------


def _present_cells(
    rng: np.random.Generator,
    catalog: Catalog,
    shape: tuple[int, int],
    overlay_members: dict[str, np.ndarray],
) -> np.ndarray:
    """Communities × months × indicators: False where the not-reported and gap stories miss data."""
    n_communities, n_months = shape
    present = np.ones((n_communities, n_months, len(catalog.indicators)), dtype=bool)
    present[overlay_members[STORY_NOT_REPORTED], n_months - 1, :] = False
    gap_rows = overlay_members[STORY_GAPS]
    if len(gap_rows) and n_months >= 2:
        _plant_gaps(rng, catalog, present, gap_rows)
    return present


def _plant_jump(catalog: Catalog, values: np.ndarray, rows: np.ndarray) -> None:
    """One absurd value: JUMP_INDICATOR at JUMP_FACTOR times its usual (median) value, recently."""
    month = values.shape[1] - 1 - JUMP_MONTHS_BEFORE_END
    if not len(rows) or month < 1:
        return
    ids = [i.id for i in catalog.indicators]
    position = ids.index(
        JUMP_INDICATOR if JUMP_INDICATOR in ids else catalog.indexed_indicators[0].id
    )
    indicator = catalog.indicators[position]
    history = values[rows, max(0, month - catalog.alerts.jump.window) : month, position]
    usual = np.median(history, axis=1)
    factor = 1.0 / JUMP_FACTOR if indicator.higher_is_better else JUMP_FACTOR
    decimals = UNIT_DECIMALS.get(indicator.unit, DEFAULT_DECIMALS)
    values[rows, month, position] = np.clip(
        np.round(usual * factor, decimals), indicator.valid_min, indicator.valid_max
    )


def _plant_gaps(
    rng: np.random.Generator, catalog: Catalog, present: np.ndarray, rows: np.ndarray
) -> None:
    """Per gap community: months short of the coverage minimum and months missing one value."""
    n_months = present.shape[1]
    ids = [i.id for i in catalog.indicators]
    nominal = catalog.nominal_weights
    indexed = np.array([ids.index(i) for i in nominal])
    weights = np.array(list(nominal.values()))
    # Dropping this many indexed values always leaves coverage below the minimum.
    ascending = np.sort(weights)
    too_few = (
        int(np.searchsorted(np.cumsum(ascending), 1.0 - catalog.coverage.minimum, side="right")) + 1
    )
    too_few = min(too_few, len(indexed) - 1)
    # One of these may go missing without withholding the index.
    dimension_of = np.array([catalog.indicator_by_id[ids[p]].dimension for p in indexed])
    siblings = np.array([(dimension_of == d).sum() for d in dimension_of])
    droppable = indexed[(siblings >= 2) & (weights <= 1.0 - catalog.coverage.minimum)]

    month_order = np.argsort(rng.random((len(rows), n_months)), axis=1)
    insufficient = month_order[:, : min(GAP_INSUFFICIENT_MONTHS, n_months - 1)]
    partial = month_order[:, GAP_INSUFFICIENT_MONTHS : GAP_INSUFFICIENT_MONTHS + GAP_PARTIAL_MONTHS]
    drop_order = np.argsort(rng.random((len(rows), insufficient.shape[1], len(indexed))), axis=2)
    dropped = indexed[drop_order[:, :, :too_few]]
    present[rows[:, None, None], insufficient[:, :, None], dropped] = False
    if len(droppable) and partial.shape[1]:
        choice = droppable[rng.integers(0, len(droppable), partial.shape)]
        present[rows[:, None], partial, choice] = False


# ---- the long table ------------------------------------------------------------------------


def _long_values(
    values: np.ndarray,
    present: np.ndarray,
    codes: np.ndarray,
    periods: list[str],
    indicator_ids: list[str],
) -> pd.DataFrame:
    """community_code, period, indicator, value for every present cell, in that order.

    The text columns are built as Arrow arrays straight from bytes (pandas' `str` dtype is
    Arrow-backed): for a province of 15 million rows that takes about a second, where
    converting Python strings takes half a minute.
    """
    n_communities, n_months, n_indicators = values.shape
    cells = present.reshape(-1)
    kept_per_month = present.sum(axis=2).reshape(-1)
    kept_per_community = kept_per_month.reshape(n_communities, n_months).sum(axis=1)
    indicator_position = np.tile(np.arange(n_indicators, dtype="int32"), n_communities * n_months)
    numbers = values.reshape(-1)
    if not cells.all():
        indicator_position, numbers = indicator_position[cells], numbers[cells]
    period_bytes = np.tile(_fixed_width_bytes(periods), (n_communities, 1))  # one row a month
    return pd.DataFrame(
        {
            "community_code": _as_str_series(
                _repeated_rows(_fixed_width_bytes(codes.tolist()), kept_per_community)
            ),
            "period": _as_str_series(_repeated_rows(period_bytes, kept_per_month)),
            "indicator": _as_str_series(_taken(indicator_ids, indicator_position)),
            "value": numbers.astype("float64", copy=False),
        }
    )


def _fixed_width_bytes(labels: list[str]) -> np.ndarray:
    """Labels of one UTF-8 length as a labels × bytes uint8 matrix."""
    encoded = [label.encode("utf-8") for label in labels]
    width = len(encoded[0]) if encoded else 0
    if any(len(text) != width for text in encoded):
        raise ValueError("labels of one length expected (codes and months are fixed-width)")
    return np.frombuffer(b"".join(encoded), dtype=np.uint8).reshape(len(encoded), width)


def _repeated_rows(label_bytes: np.ndarray, counts: np.ndarray) -> pa.Array:
    """Label k (a row of `label_bytes`) counts[k] times in a row, as an Arrow string array."""
    n_rows = int(counts.sum())
    width = label_bytes.shape[1]
    as_items = np.ascontiguousarray(label_bytes).view(f"S{width}")[:, 0]
    data = np.repeat(as_items, counts).view(np.uint8)
    offsets = np.arange(n_rows + 1, dtype="int64") * width
    return pa.LargeStringArray.from_buffers(n_rows, pa.py_buffer(offsets), pa.py_buffer(data))


def _taken(labels: list[str], positions: np.ndarray) -> pa.Array:
    """labels[positions] as an Arrow string array."""
    dictionary = pa.array(labels, type=pa.large_string())
    return pa.DictionaryArray.from_arrays(pa.array(positions), dictionary).dictionary_decode()


def _as_str_series(array: pa.Array) -> pd.Series:
    return pd.Series(pd.arrays.ArrowStringArray(array, dtype=STRING_DTYPE))
