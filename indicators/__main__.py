"""The command line: `python -m indicators <command>` (see docs/cli.md)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

import duckdb
import pandas as pd

from indicators import operations, store, views
from indicators.access import Principal
from indicators.catalog import Catalog, CatalogError, load_catalog
from indicators.periods import granularity_of

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_USAGE = 2


class CommandFailed(Exception):
    """A failure with a message for the user and an exit code; never shown as a traceback."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def _language(args: argparse.Namespace) -> str:
    return getattr(args, "lang", "zh")


def _open(args: argparse.Namespace, catalog: Catalog | None = None) -> duckdb.DuckDBPyConnection:
    return operations.open_store(args.db, catalog or _catalog(args))


def _catalog(args: argparse.Namespace) -> Catalog:
    return load_catalog(args.catalog)


def _emit(frame: pd.DataFrame, fmt: str) -> None:
    """Writes a table as CSV (plain decimals, empty = no value) or a JSON list of objects."""
    if fmt == "json":
        records = json.loads(frame.to_json(orient="records", force_ascii=False, date_format="iso"))
        json.dump(records, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    else:
        frame.to_csv(sys.stdout, index=False, float_format="%.6g", lineterminator="\n")


def cmd_init(args: argparse.Namespace) -> int:
    catalog = _catalog(args)
    con = operations.init_database(args.db, catalog, demo=args.demo)
    orgs = store.registry(con)
    print(f"数据库已就绪 / database ready: {args.db} — {len(orgs)} org units, "
          f"{store.value_count(con)} values, methodology {catalog.version}"
          + ("，含示例数据（虚构）/ with synthetic demo data" if store.is_demo(con) else ""))
    return EXIT_OK


def cmd_import_orgs(args: argparse.Namespace) -> int:
    catalog = _catalog(args)
    data = _read_file(args.file)
    parsed = operations.read_registry(Path(args.file).name, data)
    if not parsed.ok:
        for _row, _column, _value, zh, en in parsed.errors:
            print(en if _language(args) == "en" else zh, file=sys.stderr)
        return EXIT_REJECTED
    con = _open(args, catalog)
    changed = operations.import_registry(con, catalog, parsed.units, args.user, Path(args.file).name, data)
    print(f"{len(parsed.units)} org units read, {changed} new or changed")
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    catalog = _catalog(args)
    files = [(name, _read_file(name)) for name in args.files]
    con = _open(args, catalog)
    principal = _principal(con, args.user)
    exit_code = EXIT_OK
    for name, data in files:
        report = operations.import_upload(
            con, catalog, Path(name).name, data, principal=principal, dry_run=args.dry_run,
            accept_valid=args.accept_valid,
        )
        if report.status == "rejected":
            exit_code = EXIT_REJECTED
        if args.json:
            print(json.dumps(report.to_dict(_language(args)), ensure_ascii=False))
        else:
            _print_import_report(report, _language(args))
    return exit_code


def _principal(con: duckdb.DuckDBPyConnection, user: str) -> Principal:
    """Who `--user NAME` acts as: the named account with its role and subtree. Before any
    account exists the operator at the server's shell acts as an admin under that name."""
    row = store.first_row(con, "SELECT role, org_code FROM users WHERE name = ? AND active", [user])
    if row is not None:
        return Principal(user, row[0], row[1])
    if store.scalar(con, "SELECT count(*) FROM users") == 0:
        return Principal(user, "admin", None)
    raise CommandFailed(
        f"没有名为“{user}”的有效账号；请用 python -m indicators users list 查看账号。"
        f" / No active account named '{user}'; see python -m indicators users list.",
        EXIT_USAGE,
    )


def _print_import_report(report: operations.ImportReport, language: str) -> None:
    labels = {
        "committed": ("已导入", "committed"), "rejected": ("已拒绝", "rejected"),
        "dry_run": ("试运行（未写入）", "dry run (nothing written)"),
        "unchanged": ("内容未变化，未写入", "unchanged: nothing to write"),
    }
    zh, en = labels[report.status]
    status = en if language == "en" else zh
    batch = f" batch {report.batch_id}" if report.batch_id else ""
    print(f"{report.file}: {status}{batch} — rows {report.rows_total} "
          f"(accepted {report.rows_accepted}, rejected {report.rows_rejected}); values new "
          f"{report.values_new}, changed {report.values_changed}, unchanged {report.values_unchanged}")
    for problem in report.errors:
        print(f"  ✗ [{problem.code}] {problem.message(language)}")
    for problem in report.warnings:
        print(f"  ! [{problem.code}] {problem.message(language)}")


def cmd_batches(args: argparse.Namespace) -> int:
    con = _open(args)
    frame = store.batches(con)
    if args.json:
        _emit(frame, "json")
    else:
        _emit(frame, "csv")
    return EXIT_OK


def cmd_rollback(args: argparse.Namespace) -> int:
    catalog = _catalog(args)
    con = _open(args, catalog)
    try:
        outcome = operations.rollback_batch(con, catalog, args.batch_id,
                                               _principal(con, args.user))
    except store.StoreError as error:
        print(error.message(_language(args)), file=sys.stderr)
        return EXIT_REJECTED
    print(f"batch {args.batch_id} rolled back by batch {outcome.batch_id}: "
          f"{outcome.values_changed} values restored")
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    con = _open(args)
    _check_period(args.period, month_only=True)
    frame = store.current_values(con, period=args.period)
    _emit(frame[["community_code", "period", "indicator", "value"]], args.format)
    return EXIT_OK


def cmd_history(args: argparse.Namespace) -> int:
    con = _open(args)
    frame = store.cell_history(con, args.community, args.indicator)
    if frame.empty:
        print(f"社区 {args.community} 没有修订记录 / no revisions for {args.community}", file=sys.stderr)
    _emit(frame, "json" if args.json else "csv")
    return EXIT_OK


def cmd_scores(args: argparse.Namespace) -> int:
    catalog = _catalog(args)
    con = _open(args, catalog)
    _check_period(args.period)
    granularity = granularity_of(args.period) if args.period else "month"
    frame = store.scores(con, catalog, granularity=granularity, unit_level=args.level,
                         period=args.period)
    columns = ["code", "name", "period", "index", "level", "coverage",
               *[d.id for d in catalog.weighted_dimensions], "trend"]
    _emit(frame[columns], args.format)
    return EXIT_OK


def cmd_alerts(args: argparse.Namespace) -> int:
    catalog = _catalog(args)
    con = _open(args, catalog)
    _check_period(args.period)
    frame = views.alert_list(con, catalog, period=args.period)
    language = _language(args)
    frame["reason"] = frame["reason_en"] if language == "en" else frame["reason_zh"]
    _emit(frame[["code", "name", "unit_level", "period", "state", "index", "streak", "reason"]],
          args.format)
    return EXIT_OK


def cmd_recompute(args: argparse.Namespace) -> int:
    catalog = _catalog(args)
    con = _open(args, catalog)
    stats = operations.recompute(con, catalog)
    parts = ", ".join(f"{name} {seconds:.2f}s" for name, seconds in stats.seconds.items())
    print(f"recomputed {stats.communities} communities under methodology {catalog.version} "
          f"in {stats.total_seconds:.2f}s ({parts})")
    return EXIT_OK


def _check_period(period: str | None, month_only: bool = False) -> None:
    if period is None:
        return
    try:
        kind = granularity_of(period)
    except ValueError:
        raise CommandFailed(f"无法识别的统计期“{period}”：应为 YYYY-MM、YYYY-Qn 或 YYYY。"
                            f" / Unknown period '{period}': use YYYY-MM, YYYY-Qn or YYYY.", EXIT_USAGE) from None
    if month_only and kind != "month":
        raise CommandFailed(f"此命令的统计期须为月份 YYYY-MM / this command takes a month (YYYY-MM), not '{period}'.", EXIT_USAGE)


def _read_file(name: str) -> bytes:
    try:
        return Path(name).read_bytes()
    except OSError as error:
        raise CommandFailed(f"无法读取文件 {name}：{error.strerror} / cannot read {name}: {error.strerror}",
                            EXIT_USAGE) from None


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", default=str(store.DEFAULT_DB_PATH),
                        help="database file (default: %(default)s)")
    common.add_argument("--catalog", default=None, help="methodology catalog TOML (default: built-in)")
    common.add_argument("--lang", choices=["zh", "en"], default="zh", help="message language")
    fmt = argparse.ArgumentParser(add_help=False)
    fmt.add_argument("--format", choices=["csv", "json"], default="csv")

    parser = argparse.ArgumentParser(prog="python -m indicators",
                                     description="社区治理健康指数 — command line")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    init = commands.add_parser("init", parents=[common], help="create the database")
    init.add_argument("--demo", action="store_true", help="load the synthetic demo city (示例数据)")
    init.set_defaults(handler=cmd_init)

    orgs = commands.add_parser("import-orgs", parents=[common], help="load or update the org registry")
    orgs.add_argument("file")
    orgs.add_argument("--user", default="cli")
    orgs.set_defaults(handler=cmd_import_orgs)

    imp = commands.add_parser("import", parents=[common], help="import upload files")
    imp.add_argument("files", nargs="+", metavar="FILE")
    imp.add_argument("--dry-run", action="store_true", help="report what would happen; write nothing")
    imp.add_argument("--accept-valid", action="store_true", help="write the valid rows, report the rest")
    imp.add_argument("--user", default="cli", help="account name recorded with the batch")
    imp.add_argument("--json", action="store_true", help="one JSON object per file")
    imp.set_defaults(handler=cmd_import)

    bat = commands.add_parser("batches", parents=[common], help="list import batches")
    bat.add_argument("--json", action="store_true")
    bat.set_defaults(handler=cmd_batches)

    rb = commands.add_parser("rollback", parents=[common], help="undo one batch")
    rb.add_argument("batch_id", type=int, metavar="BATCH_ID")
    rb.add_argument("--user", default="cli")
    rb.set_defaults(handler=cmd_rollback)

    exp = commands.add_parser("export", parents=[common, fmt], help="current values, long layout")
    exp.add_argument("--period")
    exp.set_defaults(handler=cmd_export)

    his = commands.add_parser("history", parents=[common], help="revisions of cells")
    his.add_argument("--community", required=True)
    his.add_argument("--indicator")
    his.add_argument("--json", action="store_true")
    his.set_defaults(handler=cmd_history)

    sco = commands.add_parser("scores", parents=[common, fmt], help="index, level, coverage, dimensions")
    sco.add_argument("--period")
    sco.add_argument("--level", choices=["community", "street", "district"], default="community")
    sco.set_defaults(handler=cmd_scores)

    alr = commands.add_parser("alerts", parents=[common, fmt], help="units in alert, with reasons")
    alr.add_argument("--period")
    alr.set_defaults(handler=cmd_alerts)

    rec = commands.add_parser("recompute", parents=[common], help="rebuild all scores and alert states")
    rec.set_defaults(handler=cmd_recompute)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except CommandFailed as failure:
        print(str(failure), file=sys.stderr)
        return failure.exit_code
    except CatalogError as error:
        print(f"指标目录有误 / catalog error — {error}", file=sys.stderr)
        return EXIT_USAGE
    except store.DatabaseBusyError as error:
        print(error.message(_language(args)), file=sys.stderr)
        return EXIT_USAGE
    except store.StoreError as error:
        print(error.message(_language(args)), file=sys.stderr)
        return EXIT_REJECTED
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
