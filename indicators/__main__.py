"""The command line: `python -m indicators <command>` (see docs/cli.md)."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlencode

import duckdb
import pandas as pd

from indicators import accounts, audit, operations, store, tokens, views
from indicators.access import ROLES, Principal, effective_scope, require
from indicators.catalog import Catalog, CatalogError, load_catalog
from indicators.orgs import is_valid_code
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
    """Writes a table as CSV (plain decimals, empty = no value, text that a spreadsheet would
    run as a formula quoted) or a JSON list of objects."""
    if fmt == "json":
        records = json.loads(frame.to_json(orient="records", force_ascii=False, date_format="iso"))
        json.dump(records, sys.stdout, ensure_ascii=False, indent=1)
        sys.stdout.write("\n")
    else:
        operations.neutralised(frame).to_csv(
            sys.stdout, index=False, float_format="%.6g", lineterminator="\n"
        )


def cmd_init(args: argparse.Namespace) -> int:
    catalog = _catalog(args)
    con = operations.init_database(args.db, catalog, demo=args.demo)
    orgs = store.registry(con, scope=None)
    print(
        f"数据库已就绪 / database ready: {args.db} — {len(orgs)} org units, "
        f"{store.value_count(con)} values, methodology {catalog.version}"
        + ("，含示例数据（虚构）/ with synthetic demo data" if store.is_demo(con) else "")
    )
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
    principal = _principal(con, args.user)
    require(principal, "import_orgs")
    changed = operations.import_registry(
        con, catalog, parsed.units, principal.name, Path(args.file).name, data
    )
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
            con,
            catalog,
            Path(name).name,
            data,
            principal=principal,
            dry_run=args.dry_run,
            accept_valid=args.accept_valid,
            source=audit.cli_source(),
        )
        if report.status == "rejected":
            exit_code = EXIT_REJECTED
        if args.json:
            print(json.dumps(report.to_dict(_language(args)), ensure_ascii=False))
        else:
            _print_import_report(report, _language(args))
    return exit_code


# Who acts when no --user is given: the operator at the server's shell, who can open the
# database file anyway, so acts as an admin over the whole registry. The name is reserved.
OPERATOR = Principal("cli", "admin", None)


def _principal(con: duckdb.DuckDBPyConnection, user: str | None) -> Principal:
    """Who `--user NAME` acts as: the named account with its role and subtree (its password is
    not asked: whoever runs the command line holds the database file). Without --user, or
    before any account exists, the operator acts as an admin under that name."""
    if user is None or user == OPERATOR.name:
        return OPERATOR
    account = accounts.get_account(con, user)
    if account is not None and account.active:
        return account.principal
    if account is None and accounts.account_count(con) == 0:
        return Principal(user, "admin", None)
    raise CommandFailed(
        f"没有名为“{user}”的有效账号；请用 python -m indicators users list 查看账号。"
        f" / No active account named '{user}'; see python -m indicators users list.",
        EXIT_USAGE,
    )


def _read_scope(
    con: duckdb.DuckDBPyConnection, args: argparse.Namespace, action: str = "view"
) -> str | None:
    """The subtree a reading command shows: --unit narrowed to what --user may see (refused
    outside it), or the account's whole subtree."""
    principal = _principal(con, args.user)
    require(principal, action)
    unit = getattr(args, "unit", None)
    if unit is not None and not is_valid_code(unit):
        raise CommandFailed(
            f"单位代码“{unit}”无效：应为 12 位区划代码。 / Invalid unit code '{unit}': "
            "use a 12-digit division code.",
            EXIT_USAGE,
        )
    return effective_scope(principal, unit)


def _print_import_report(report: operations.ImportReport, language: str) -> None:
    labels = {
        "committed": ("已导入", "committed"),
        "rejected": ("已拒绝", "rejected"),
        "dry_run": ("试运行（未写入）", "dry run (nothing written)"),
        "unchanged": ("内容未变化，未写入", "unchanged: nothing to write"),
    }
    zh, en = labels[report.status]
    status = en if language == "en" else zh
    batch = f" batch {report.batch_id}" if report.batch_id else ""
    print(
        f"{report.file}: {status}{batch} — rows {report.rows_total} "
        f"(accepted {report.rows_accepted}, rejected {report.rows_rejected}); values new "
        f"{report.values_new}, changed {report.values_changed}, unchanged {report.values_unchanged}"
    )
    for problem in report.errors:
        print(f"  ✗ [{problem.code}] {problem.message(language)}")
    for problem in report.warnings:
        print(f"  ! [{problem.code}] {problem.message(language)}")


def cmd_batches(args: argparse.Namespace) -> int:
    con = _open(args)
    frame = store.batches(con, scope=_read_scope(con, args))
    if args.json:
        _emit(frame, "json")
    else:
        _emit(frame, "csv")
    return EXIT_OK


def cmd_rollback(args: argparse.Namespace) -> int:
    catalog = _catalog(args)
    con = _open(args, catalog)
    try:
        outcome = operations.rollback_batch(
            con, catalog, args.batch_id, _principal(con, args.user), source=audit.cli_source()
        )
    except store.StoreError as error:
        print(error.message(_language(args)), file=sys.stderr)
        return EXIT_REJECTED
    print(
        f"batch {args.batch_id} rolled back by batch {outcome.batch_id}: "
        f"{outcome.values_changed} values restored"
    )
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    con = _open(args)
    _check_period(args.period, month_only=True)
    frame = store.current_values(con, period=args.period, scope=_read_scope(con, args, "export"))
    _emit(frame[["community_code", "period", "indicator", "value"]], args.format)
    return EXIT_OK


def cmd_history(args: argparse.Namespace) -> int:
    con = _open(args)
    frame = store.cell_history(con, args.community, args.indicator, scope=_read_scope(con, args))
    if frame.empty:
        print(
            f"社区 {args.community} 没有修订记录 / no revisions for {args.community}",
            file=sys.stderr,
        )
    _emit(frame, "json" if args.json else "csv")
    return EXIT_OK


def cmd_scores(args: argparse.Namespace) -> int:
    catalog = _catalog(args)
    con = _open(args, catalog)
    _check_period(args.period)
    granularity = granularity_of(args.period) if args.period else "month"
    frame = store.scores(
        con,
        catalog,
        granularity=granularity,
        unit_level=args.level,
        period=args.period,
        scope=_read_scope(con, args),
    )
    columns = [
        "code",
        "name",
        "period",
        "index",
        "level",
        "coverage",
        *[d.id for d in catalog.weighted_dimensions],
        "trend",
    ]
    _emit(frame[columns], args.format)
    return EXIT_OK


def cmd_alerts(args: argparse.Namespace) -> int:
    catalog = _catalog(args)
    con = _open(args, catalog)
    _check_period(args.period)
    frame = views.alert_list(con, catalog, period=args.period, scope=_read_scope(con, args))
    language = _language(args)
    frame["reason"] = frame["reason_en"] if language == "en" else frame["reason_zh"]
    _emit(
        frame[["code", "name", "unit_level", "period", "state", "index", "streak", "reason"]],
        args.format,
    )
    return EXIT_OK


def cmd_report(args: argparse.Namespace) -> int:
    import time

    from indicators import reports
    from reporting import files as report_files

    language, out = _language(args), Path(args.out)
    try:
        suffix = report_files.check_suffix(out.suffix)
        catalog = _catalog(args)
        con = _open(args, catalog)
        started = time.perf_counter()
        report = reports.build_report(
            con, catalog, args.unit, args.period, _principal(con, args.user)
        )
    except reports.ReportError as error:
        raise CommandFailed(error.message(language), EXIT_USAGE) from None
    data = report_files.report_bytes(report, catalog, language, suffix)
    try:
        out.write_bytes(data)
    except OSError as error:
        raise CommandFailed(
            f"无法写入 {out}：{error.strerror} / cannot write {out}: {error.strerror}", EXIT_USAGE
        ) from None
    seconds = time.perf_counter() - started
    unit = f"{report.unit.name} {report.unit.code} {report.meta.period}"
    print(
        f"wrote {out} ({unit}): {len(data) / 1024:.0f} KB in {seconds:.2f}s"
        if language == "en"
        else f"已生成 {out}（{unit}）：{len(data) / 1024:.0f} KB，用时 {seconds:.2f} 秒"
    )
    return EXIT_OK


def cmd_recompute(args: argparse.Namespace) -> int:
    catalog = _catalog(args)
    con = _open(args, catalog)
    stats = operations.recompute(con, catalog)
    parts = ", ".join(f"{name} {seconds:.2f}s" for name, seconds in stats.seconds.items())
    print(
        f"recomputed {stats.communities} communities under methodology {catalog.version} "
        f"in {stats.total_seconds:.2f}s ({parts})"
    )
    return EXIT_OK


def cmd_tokens(args: argparse.Namespace) -> int:
    """`tokens add|list|revoke`: wall-screen tokens; `add` prints the secret and the URL once."""
    con = _open(args)
    principal = _principal(con, args.user)
    language = _language(args)
    if args.tokens_action == "add":
        issued = tokens.issue(con, principal, args.unit, days=args.days, label=args.label)
        url = f"{args.base_url.rstrip('/')}/?" + urlencode(
            {"view": "screen", "token": issued.token, "unit": issued.org_code}
        )
        print(
            f"令牌 / token {issued.token_id} — {issued.org_code} «{issued.label}», "
            f"有效期至 / expires {issued.expires_at:%Y-%m-%d %H:%M} UTC"
        )
        print("只显示这一次，请妥善保存 / shown only this once, keep it safe:")
        print(f"  token: {issued.token}")
        print(f"  大屏地址 / screen URL: {url}")
    elif args.tokens_action == "list":
        frame = tokens.token_list(con, principal)
        _emit(frame, "json" if args.json else "csv")
    else:
        try:
            tokens.revoke(con, principal, args.token_id)
        except store.StoreError as error:
            print(error.message(language), file=sys.stderr)
            return EXIT_REJECTED
        print(f"令牌 {args.token_id} 已撤销 / token {args.token_id} revoked")
    return EXIT_OK


def cmd_users(args: argparse.Namespace) -> int:
    """`users add|list|disable|enable|set-password|unlock`, acting as the operator; audited."""
    con = _open(args)
    source = audit.cli_source()
    action = args.users_action
    if action == "list":
        frame = accounts.list_accounts(con, scope=None)
        _emit(frame, "json" if args.json else "csv")
        return EXIT_OK
    if action == "add":
        accounts.check_new_account(con, args.name, args.role, args.unit, actor=OPERATOR)
        password = None if args.sso else _read_password(args)
        account = accounts.create_account(
            con,
            args.name,
            args.role,
            args.unit,
            password,
            actor=OPERATOR,
            source=source,
            display_name=args.display_name,
        )
        print(
            f"账号 {account.name} 已创建 / account {account.name} created — role {account.role}, "
            f"unit {account.org_code or '*'}"
            + (", single sign-on only" if account.sso_only else "")
        )
    elif action == "set-password":
        accounts.set_password(con, args.name, _read_password(args), actor=OPERATOR, source=source)
        print(f"账号 {args.name} 的密码已更新 / password of {args.name} changed")
    elif action == "unlock":
        accounts.unlock(con, args.name, actor=OPERATOR, source=source)
        print(f"账号 {args.name} 已解锁 / {args.name} unlocked")
    else:
        active = action == "enable"
        accounts.set_active(con, args.name, active, actor=OPERATOR, source=source)
        print(
            f"账号 {args.name} 已{'启用' if active else '停用'} / {args.name} "
            f"{'enabled' if active else 'disabled'}"
        )
    return EXIT_OK


def _read_password(args: argparse.Namespace) -> str:
    """The new password: one line of standard input with --password-stdin, else typed twice
    at the terminal without echo."""
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise CommandFailed("标准输入中没有密码 / no password on standard input", EXIT_USAGE)
        return password
    if not sys.stdin.isatty():
        raise CommandFailed(
            "标准输入不是终端：请用 --password-stdin 传入密码。 / Standard input is not "
            "a terminal: pass the password with --password-stdin.",
            EXIT_USAGE,
        )
    first = getpass.getpass("密码 / password: ")
    if getpass.getpass("再输入一次 / again: ") != first:
        raise CommandFailed("两次输入的密码不一致 / the two passwords differ", EXIT_USAGE)
    return first


def _check_period(period: str | None, month_only: bool = False) -> None:
    if period is None:
        return
    try:
        kind = granularity_of(period)
    except ValueError:
        raise CommandFailed(
            f"无法识别的统计期“{period}”：应为 YYYY-MM、YYYY-Qn 或 YYYY。"
            f" / Unknown period '{period}': use YYYY-MM, YYYY-Qn or YYYY.",
            EXIT_USAGE,
        ) from None
    if month_only and kind != "month":
        raise CommandFailed(
            f"此命令的统计期须为月份 YYYY-MM / this command takes a month (YYYY-MM), not '{period}'.",
            EXIT_USAGE,
        )


def _read_file(name: str) -> bytes:
    try:
        return Path(name).read_bytes()
    except OSError as error:
        raise CommandFailed(
            f"无法读取文件 {name}：{error.strerror} / cannot read {name}: {error.strerror}",
            EXIT_USAGE,
        ) from None


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--db", default=str(store.DEFAULT_DB_PATH), help="database file (default: %(default)s)"
    )
    common.add_argument(
        "--catalog", default=None, help="methodology catalog TOML (default: built-in)"
    )
    common.add_argument("--lang", choices=["zh", "en"], default="zh", help="message language")
    fmt = argparse.ArgumentParser(add_help=False)
    fmt.add_argument("--format", choices=["csv", "json"], default="csv")

    parser = argparse.ArgumentParser(
        prog="python -m indicators", description="社区治理健康指数 — command line"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    init = commands.add_parser("init", parents=[common], help="create the database")
    init.add_argument("--demo", action="store_true", help="load the synthetic demo city (示例数据)")
    init.set_defaults(handler=cmd_init)

    orgs = commands.add_parser(
        "import-orgs", parents=[common], help="load or update the org registry"
    )
    orgs.add_argument("file")
    orgs.add_argument(
        "--user", default=OPERATOR.name, help="acting account, an admin (default: the operator)"
    )
    orgs.set_defaults(handler=cmd_import_orgs)

    imp = commands.add_parser("import", parents=[common], help="import upload files")
    imp.add_argument("files", nargs="+", metavar="FILE")
    imp.add_argument(
        "--dry-run", action="store_true", help="report what would happen; write nothing"
    )
    imp.add_argument(
        "--accept-valid", action="store_true", help="write the valid rows, report the rest"
    )
    imp.add_argument(
        "--user",
        default=OPERATOR.name,
        help="account whose upload rights and subtree apply (default: the operator)",
    )
    imp.add_argument("--json", action="store_true", help="one JSON object per file")
    imp.set_defaults(handler=cmd_import)

    reader = argparse.ArgumentParser(add_help=False)
    reader.add_argument(
        "--user",
        default=OPERATOR.name,
        help="account whose subtree is shown (default: the operator, everything)",
    )
    narrow = argparse.ArgumentParser(add_help=False)
    narrow.add_argument(
        "--unit", help="only this district, street or community (within --user's subtree)"
    )

    bat = commands.add_parser("batches", parents=[common, reader], help="list import batches")
    bat.add_argument("--json", action="store_true")
    bat.set_defaults(handler=cmd_batches)

    rb = commands.add_parser("rollback", parents=[common], help="undo one batch")
    rb.add_argument("batch_id", type=int, metavar="BATCH_ID")
    rb.add_argument(
        "--user",
        default=OPERATOR.name,
        help="acting account: the batch's uploader or an admin (default: the operator)",
    )
    rb.set_defaults(handler=cmd_rollback)

    exp = commands.add_parser(
        "export", parents=[common, fmt, reader, narrow], help="current values, long layout"
    )
    exp.add_argument("--period")
    exp.set_defaults(handler=cmd_export)

    his = commands.add_parser("history", parents=[common, reader], help="revisions of cells")
    his.add_argument("--community", required=True)
    his.add_argument("--indicator")
    his.add_argument("--json", action="store_true")
    his.set_defaults(handler=cmd_history)

    sco = commands.add_parser(
        "scores", parents=[common, fmt, reader, narrow], help="index, level, coverage, dimensions"
    )
    sco.add_argument("--period")
    sco.add_argument("--level", choices=["community", "street", "district"], default="community")
    sco.set_defaults(handler=cmd_scores)

    alr = commands.add_parser(
        "alerts", parents=[common, fmt, reader, narrow], help="units in alert, with reasons"
    )
    alr.add_argument("--period")
    alr.set_defaults(handler=cmd_alerts)

    rpt = commands.add_parser(
        "report",
        parents=[common],
        help="a community's health report or a street's / district's bulletin",
    )
    rpt.add_argument(
        "--unit",
        required=True,
        help="12-digit code: a community gets its report, a street or district its bulletin",
    )
    rpt.add_argument("--period", required=True, help="YYYY-MM, YYYY-Qn or YYYY")
    rpt.add_argument("--out", required=True, help="output file, .html (printable) or .xlsx")
    rpt.add_argument(
        "--user", default=None, help="account whose scope applies (default: the operator)"
    )
    rpt.set_defaults(handler=cmd_report)

    rec = commands.add_parser(
        "recompute", parents=[common], help="rebuild all scores and alert states"
    )
    rec.set_defaults(handler=cmd_recompute)

    tok = commands.add_parser("tokens", help="read-only wall-screen tokens (add, list, revoke)")
    tok_actions = tok.add_subparsers(dest="tokens_action", required=True, metavar="ACTION")
    tok_add = tok_actions.add_parser("add", parents=[common], help="issue a token; prints it once")
    tok_add.add_argument("--unit", required=True, help="org unit whose subtree the screen shows")
    tok_add.add_argument(
        "--days",
        type=int,
        default=tokens.DEFAULT_DAYS,
        help=f"lifetime in days, 1–{tokens.MAX_DAYS} (default: %(default)s)",
    )
    tok_add.add_argument("--label", help="where the screen hangs, e.g. 三楼会议室")
    tok_add.add_argument(
        "--base-url",
        default="http://localhost:8501",
        help="the dashboard's address, for the printed URL (default: %(default)s)",
    )
    tok_list = tok_actions.add_parser("list", parents=[common], help="tokens with their status")
    tok_list.add_argument("--json", action="store_true")
    tok_revoke = tok_actions.add_parser("revoke", parents=[common], help="revoke a token by its id")
    tok_revoke.add_argument("token_id", metavar="ID")
    for action in (tok_add, tok_list, tok_revoke):
        action.add_argument("--user", default="cli", help="account acting (an admin)")
        action.set_defaults(handler=cmd_tokens)

    usr = commands.add_parser(
        "users", help="accounts: add, list, disable, enable, set-password, unlock"
    )
    usr_actions = usr.add_subparsers(dest="users_action", required=True, metavar="ACTION")
    password = argparse.ArgumentParser(add_help=False)
    password.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from one line of standard input (else: typed, not echoed)",
    )
    usr_add = usr_actions.add_parser("add", parents=[common, password], help="create an account")
    usr_add.add_argument("name", metavar="NAME")
    usr_add.add_argument("--role", required=True, choices=list(ROLES))
    usr_add.add_argument(
        "--unit",
        help="district or street code whose subtree the account uses "
        "(required for leader and staff; none = everything)",
    )
    usr_add.add_argument("--display-name", help="the person's name as shown in the dashboard")
    usr_add.add_argument(
        "--sso",
        action="store_true",
        help="no password: signs in only through single sign-on (NAME = e-mail)",
    )
    usr_list = usr_actions.add_parser(
        "list", parents=[common], help="accounts with role, unit and state"
    )
    usr_list.add_argument("--json", action="store_true")
    usr_disable = usr_actions.add_parser(
        "disable", parents=[common], help="refuse sign-in, keep history"
    )
    usr_enable = usr_actions.add_parser(
        "enable", parents=[common], help="allow a disabled account again"
    )
    usr_password = usr_actions.add_parser(
        "set-password", parents=[common, password], help="set a new password (also lifts a lock)"
    )
    usr_unlock = usr_actions.add_parser(
        "unlock", parents=[common], help="lift a lock after failed sign-ins"
    )
    for action in (usr_disable, usr_enable, usr_password, usr_unlock):
        action.add_argument("name", metavar="NAME")
    for action in (usr_add, usr_list, usr_disable, usr_enable, usr_password, usr_unlock):
        action.set_defaults(handler=cmd_users)
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
