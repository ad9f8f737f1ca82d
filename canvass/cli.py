"""The ``canvass`` command. Commands that scripts use take ``--json`` and then print one JSON object as their last line."""

from __future__ import annotations

import json
import os
import secrets
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import Any

import click
from sqlalchemy.engine import Engine, make_url

from canvass import accounts, allocators, audit, campaigns, config, db
from canvass.models import Role


def _web_app(overrides: dict[str, Any] | None = None):
    """The whole web app, for the commands that serve it."""
    from canvass.app import create_app

    try:
        return create_app(overrides)
    except config.ConfigError as exc:  # a configuration problem is one sentence, not a traceback
        raise click.ClickException(str(exc)) from exc


@dataclass
class Runtime:
    """What a command needs: the settings and an engine on the database. No web app is built for a command."""

    config: dict[str, Any]
    engine: Engine
    instance_path: Path


def _runtime(overrides: dict[str, Any] | None = None) -> Runtime:
    settings = config.load_settings(overrides=overrides)
    if settings["SECRET_KEY"] == config.DEFAULT_SECRET_KEY:
        settings["SECRET_KEY"] = secrets.token_hex(32)  # commands sign no cookies
    instance_path = Path(settings["INSTANCE_PATH"] or Path.cwd() / "instance").resolve()
    try:
        config.validate_settings(settings, instance_path)
    except config.ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    return Runtime(settings, db.make_engine(settings["DATABASE_URL"]), instance_path)


def safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def emit(data: dict[str, Any], as_json: bool, text: str) -> None:
    click.echo(json.dumps(data, default=str) if as_json else text)


@contextmanager
def cli_runtime(overrides: dict[str, Any] | None = None):
    """The runtime of one command; its connection pool is closed when the command ends."""
    runtime = _runtime(overrides)
    try:
        yield runtime
    finally:
        runtime.engine.dispose()


def needs_schema(command):
    """Stops with a clear sentence when the database was never initialised or needs an upgrade."""

    @wraps(command)
    def wrapped(*args, **kwargs):
        with cli_runtime() as runtime:
            current = db.current_revision(runtime.engine)
            if current != db.head_revision():
                action = "initialise it" if current is None else "upgrade it"
                raise click.ClickException(f"The database at {safe_url(runtime.config['DATABASE_URL'])} is not ready: "
                                           f"run `canvass init` to {action}.")
            return command(runtime, *args, **kwargs)

    return wrapped


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="canvass")
def main() -> None:
    """canvass: import lists, cut turf, walk and call lists, log contacts, export results.

    Settings come from CANVASS_* environment variables (see the README); the database is CANVASS_DATABASE_URL,
    a SQLite file in ./instance by default.
    """
    allocators.tune_memory_for_bulk_work()  # commands import and export files


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def init(as_json: bool) -> None:
    """Create the database, or upgrade it to this version keeping all data."""
    with cli_runtime() as runtime:
        before, after = db.upgrade(runtime.engine)
    verb = "Created" if before is None else ("Upgraded" if before != after else "Already up to date:")
    emit({"database": safe_url(runtime.config["DATABASE_URL"]), "before": before, "after": after}, as_json,
         f"{verb} {safe_url(runtime.config['DATABASE_URL'])} (schema {after}).")


# ------------------------------------------------------------------------------------------------------------------
# Users


@main.group()
def user() -> None:
    """Manage accounts."""


@user.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True, help="What the account may do.")
@click.option("--name", default="", help="Display name.")
@click.option("--language", default="en", type=click.Choice(["en", "es", "vi", "ko", "zh"]), help="Interface language.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of a prompt.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@needs_schema
def user_add(runtime, email: str, role: str, name: str, language: str, password_stdin: bool, as_json: bool) -> None:
    """Create an account with a password (from a prompt, or --password-stdin)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        with db.write_session(runtime.engine) as session:
            created = accounts.create_user(session, email, role, password=password, name=name, language=language)
            result = {"id": created.id, "email": created.email, "role": created.role}
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    emit(result, as_json, f"Created {result['role']} {result['email']}.")


@user.command("invite")
@click.argument("email")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--name", default="")
@click.option("--base-url", default="http://127.0.0.1:5000", show_default=True, help="Where the app is reached.")
@click.option("--json", "as_json", is_flag=True)
@needs_schema
def user_invite(runtime, email: str, role: str, name: str, base_url: str, as_json: bool) -> None:
    """Create an account without a password and print its invite link."""
    from canvass.models import User

    try:
        with db.write_session(runtime.engine) as session:
            system = User(email="cli@localhost", role=Role.admin)  # the CLI acts with admin rights
            issued = accounts.invite_user(session, system, email, role, name=name,
                                          hours=runtime.config["INVITE_HOURS"])
            link = f"{base_url.rstrip('/')}/invite/{issued.token}"
    except accounts.AccountError as exc:
        raise click.ClickException(str(exc)) from exc
    emit({"email": email.lower(), "role": role, "link": link}, as_json,
         f"Invite link (valid {runtime.config['INVITE_HOURS']} hours): {link}")


@user.command("list")
@click.option("--json", "as_json", is_flag=True)
@needs_schema
def user_list(runtime, as_json: bool) -> None:
    """List accounts."""
    from sqlmodel import Session, select

    from canvass.models import User

    with Session(runtime.engine) as session:
        users = [{"id": u.id, "email": u.email, "role": u.role, "active": u.is_active, "joined": u.password_hash is not None}
                 for u in session.exec(select(User).order_by(User.role, User.email))]
    lines = [f"{u['role']:<10} {u['email']}{'' if u['active'] else ' (inactive)'}" for u in users]
    emit({"users": users}, as_json, "\n".join(lines) or "No accounts yet.")


# ------------------------------------------------------------------------------------------------------------------
# Campaigns


@main.group()
def campaign() -> None:
    """Manage campaigns."""


@campaign.command("add")
@click.argument("name")
@click.option("--slug", default=None, help="Short name used in commands and links (made from NAME if omitted).")
@click.option("--json", "as_json", is_flag=True)
@needs_schema
def campaign_add(runtime, name: str, slug: str | None, as_json: bool) -> None:
    """Create a campaign with the default result codes."""
    try:
        with db.write_session(runtime.engine) as session:
            created = campaigns.create_campaign(session, name, slug)
            result = {"id": created.id, "name": created.name, "slug": created.slug}
    except campaigns.CampaignError as exc:
        raise click.ClickException(str(exc)) from exc
    emit(result, as_json, f"Created campaign {result['name']} ({result['slug']}).")


@campaign.command("list")
@click.option("--json", "as_json", is_flag=True)
@needs_schema
def campaign_list(runtime, as_json: bool) -> None:
    """List campaigns with their counts of people, doors and contacts."""
    from sqlmodel import Session

    from canvass.overview import campaign_rows

    with Session(runtime.engine) as session:
        rows = [{"id": r["campaign"].id, "name": r["campaign"].name, "slug": r["campaign"].slug,
                 "people": r["people"], "doors": r["doors"], "turfs": r["turfs"], "contacts": r["contacts"]}
                for r in campaign_rows(session)]
    lines = [f"{r['slug']:<24} {r['name']}  ({r['people']} people, {r['doors']} doors)" for r in rows]
    emit({"campaigns": rows}, as_json, "\n".join(lines) or "No campaigns yet.")


@campaign.command("close")
@click.argument("slug")
@click.option("--days", type=click.IntRange(0, 3650), default=None,
              help="Keep its personal data this many days (default CANVASS_RETENTION_DAYS).")
@click.option("--json", "as_json", is_flag=True)
@needs_schema
def campaign_close(runtime, slug: str, days: int | None, as_json: bool) -> None:
    """Close a campaign to new contacts; its personal data may be purged after the retention period."""
    from canvass import retention
    from canvass.models import utcnow

    try:
        with db.write_session(runtime.engine) as session:
            found = campaigns.require_campaign(session, slug)
            retention.close_campaign(session, found, None, now=utcnow(),
                                     days=runtime.config["RETENTION_DAYS"] if days is None else days)
            result = {"campaign": found.slug, "purge_after": found.purge_after.isoformat()}
    except (campaigns.CampaignError, retention.RetentionError) as exc:
        raise click.ClickException(str(exc)) from exc
    emit(result, as_json, f"Closed {result['campaign']}; its personal data may be purged from {result['purge_after']}.")


@campaign.command("reopen")
@click.argument("slug")
@click.option("--json", "as_json", is_flag=True)
@needs_schema
def campaign_reopen(runtime, slug: str, as_json: bool) -> None:
    """Reopen a closed campaign (before its purge)."""
    from canvass import retention

    try:
        with db.write_session(runtime.engine) as session:
            retention.reopen_campaign(session, campaigns.require_campaign(session, slug), None)
    except (campaigns.CampaignError, retention.RetentionError) as exc:
        raise click.ClickException(str(exc)) from exc
    emit({"campaign": slug}, as_json, f"Reopened {slug}.")


@campaign.command("purge")
@click.argument("slug", required=False)
@click.option("--dry-run", is_flag=True, help="Say what would be deleted and kept; change nothing.")
@click.option("--json", "as_json", is_flag=True)
@needs_schema
def campaign_purge(runtime, slug: str | None, dry_run: bool, as_json: bool) -> None:
    """Purge the personal data of every closed campaign whose purge date has passed (or of SLUG only), keeping its
    tallies; each purge is one transaction and is recorded in the audit log. Meant for a daily cron job."""
    from canvass import retention
    from canvass.models import Campaign, utcnow

    now, reports = utcnow(), []
    folder = Path(runtime.config["EXPORT_FOLDER"]).resolve()
    try:
        with db.read_session(runtime.engine) as session:
            due = [campaigns.require_campaign(session, slug).id] if slug else \
                [c.id for c in retention.due_campaigns(session, now)]
        for campaign_id in due:
            with (db.read_session if dry_run else db.write_session)(runtime.engine) as session:
                report = retention.purge_campaign(session, session.get(Campaign, campaign_id), None,
                                                  timezone=runtime.config["TIMEZONE"], now=now, export_folder=folder,
                                                  dry_run=dry_run)
            if not dry_run:
                retention.remove_files(report)
            reports.append(report)
    except (campaigns.CampaignError, retention.RetentionError) as exc:
        raise click.ClickException(str(exc)) from exc
    verb = "Would purge" if dry_run else "Purged"
    lines = [f"{verb} {r.slug}: {r.deleted['people']} people, {r.deleted['doors']} doors, "
             f"{r.deleted['contacts']} contacts (tallies of {r.kept['contacts_tallied']} contacts kept)."
             for r in reports]
    emit({"dry_run": dry_run, "campaigns": [r.as_dict() for r in reports]}, as_json,
         "\n".join(lines) or "No campaign is due for a purge.")


# ------------------------------------------------------------------------------------------------------------------
# Importing


@main.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--campaign", "slug", required=True, help="Short name of the campaign to import into.")
@click.option("--mapping", "mapping_file", type=click.Path(exists=True, dir_okay=False),
              help='JSON object {"column header": "field"} overriding the automatic mapping (see --fields).')
@click.option("--dry-run", is_flag=True, help="Check the file and show what would change, without writing.")
@click.option("--problems", "problems_file", type=click.Path(dir_okay=False), help="Write the row problems to this CSV.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON (last line).")
@needs_schema
def import_command(runtime, file: str, slug: str, mapping_file: str | None, dry_run: bool, problems_file: str | None,
                   as_json: bool) -> None:
    """Import a voter file or contact list (CSV, TSV, pipe, fixed width, XLSX/XLS/ODS, or a zip of one).

    People already in the campaign are matched (by ID, else name and address) and updated, never duplicated;
    what canvassing learned is never overwritten. The import is all or nothing."""
    from canvass import importing

    mapping = _read_mapping(mapping_file) if mapping_file else None
    progress, finish = _progress_bar(enabled=not as_json and sys.stderr.isatty())
    try:
        with db.write_session(runtime.engine) as session:
            campaign = campaigns.require_campaign(session, slug)
            if dry_run:
                report = importing.check_file(session, campaign, file, mapping=mapping, progress=progress)
                finish()
                if report.error:
                    raise importing.MappingError(report.error)
                _print_check(report, as_json)
                problems = report.problems
                session.rollback()
            else:
                problems: list[dict] = []
                summary = importing.import_file(session, campaign, file, mapping=mapping, progress=progress,
                                                problems_out=problems)
                finish()
                _print_summary(summary, as_json)
    except (importing.UnreadableFile, importing.MappingError, campaigns.CampaignError) as exc:
        finish()
        if as_json:
            click.echo(json.dumps({"error": str(exc)}))
            sys.exit(1)
        raise click.ClickException(str(exc)) from exc
    if problems_file:
        _write_problems(problems_file, problems)


def _read_mapping(path: str) -> dict[str, str]:
    try:
        mapping = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise click.ClickException(f"{path} is not a JSON object of column -> field ({exc}).") from exc
    if not isinstance(mapping, dict) or not all(isinstance(v, str) for v in mapping.values()):
        raise click.ClickException(f'{path} must be a JSON object like {{"First": "first_name"}}.')
    return mapping


def _progress_bar(enabled: bool):
    if not enabled:
        return (lambda fraction, message="": None), (lambda: None)
    bar = click.progressbar(length=100, label="Importing", file=sys.stderr, show_percent=True)
    bar.__enter__()
    state = {"done": 0}

    def progress(fraction: float, message: str = "") -> None:
        target = int(fraction * 100)
        if message:
            bar.label = f"{message:<48}"
        if target > state["done"]:
            bar.update(target - state["done"])
            state["done"] = target

    def finish() -> None:
        bar.__exit__(None, None, None)

    return progress, finish


def _print_summary(summary: dict[str, Any], as_json: bool) -> None:
    keys = ("rows", "inserted", "updated", "unchanged", "rejected", "households", "phones", "seconds")
    if as_json:
        click.echo(json.dumps({**{k: summary[k] for k in keys}, **{k: v for k, v in summary.items() if k not in keys}}))
        return
    click.echo(f"{summary['rows']:,} rows: {summary['inserted']:,} new people, {summary['updated']:,} updated, "
               f"{summary['unchanged']:,} unchanged, {summary['rejected']:,} rejected, {summary['merged']:,} merged "
               f"into another row; {summary['households']:,} new doors, {summary['phones']:,} new phones "
               f"({summary['seconds']} s).")
    if summary.get("problems"):
        click.echo(f"{summary['problems']:,} row problems (use --problems FILE.csv to list them).")


def _print_check(report, as_json: bool) -> None:
    counts = report.counts
    if as_json:
        click.echo(json.dumps({"rows": report.rows, "layout": report.layout, "encoding": report.encoding,
                               "delimiter": report.delimiter, "mapping": report.mapping, "would": counts,
                               "rejected": report.rejected, "problems": report.problem_count,
                               "changes": report.changes, "warnings": report.warnings}, default=str))
        return
    details = ", ".join(d for d in (report.encoding, report.delimiter) if d)
    click.echo(f"{report.rows:,} rows, {report.file_format}{f' ({details})' if details else ''}, "
               f"layout: {report.layout or 'not a known layout'}.")
    for warning in report.warnings:
        click.echo(f"Note: {warning}")
    for header, field_name in report.mapping.items():
        click.echo(f"  {header!r:>40} -> {field_name}")
    click.echo(f"Would add {counts['insert']:,} people, update {counts['update']:,}, leave {counts['unchanged']:,} "
               f"unchanged, merge {counts['merged']:,}, reject {report.rejected:,}; {counts['households']:,} new doors.")
    for problem in report.problems[:10]:
        click.echo(f"  row {problem['row']}, {problem['column'] or 'row'}: {problem['message']} ({problem['value']!r})")


def _write_problems(path: str, problems: list[dict]) -> None:
    """The same file as the import page's "Download the problems" (English here)."""
    from canvass.importing.problems import problems_csv

    with open(path, "w", newline="", encoding="utf-8") as handle:
        handle.write(problems_csv(problems))


# ------------------------------------------------------------------------------------------------------------------
# Vote history


@main.group()
def history() -> None:
    """Import vote history (the files states publish beside their voter files)."""


@history.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--campaign", "slug", required=True, help="Short name of the campaign whose people voted.")
@click.option("--dry-run", is_flag=True, help="Read and match the file without writing.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON (last line).")
@needs_schema
def history_import(runtime, file: str, slug: str, dry_run: bool, as_json: bool) -> None:
    """Import a vote-history file: North Carolina ncvhis, Florida's _H_ extract, Minnesota's election history,
    Washington's, or a voter file with history columns (General16 ...), or a zip of one.

    Rows are matched to the campaign's people by the voter ID their voter file gave them; the same rows imported
    again add nothing. All or nothing."""
    from canvass import history as vote_history

    try:
        with db.write_session(runtime.engine) as session:
            campaign = campaigns.require_campaign(session, slug)
            run = vote_history.check_history if dry_run else vote_history.import_history
            report = run(session, campaign, file)
            if dry_run:
                session.rollback()
    except (vote_history.HistoryFileError, campaigns.CampaignError) as exc:
        if as_json:
            click.echo(json.dumps({"error": str(exc)}))
            sys.exit(1)
        raise click.ClickException(str(exc)) from exc
    summary = report.summary()
    verb = "Would add" if dry_run else "Added"
    emit(summary, as_json, f"{summary['rows']:,} rows ({report.label}): {summary['matched']:,} matched, "
                           f"{summary['unmatched']:,} unmatched, {summary['rejected']:,} rejected; "
                           f"{summary['elections']:,} elections. {verb} {summary['votes_added']:,} votes "
                           f"({summary['seconds']} s).")


# ------------------------------------------------------------------------------------------------------------------
# The do-not-contact list


@main.group()
def optout() -> None:
    """The do-not-contact list as a CSV file: export it, import one."""


@optout.command("export")
@click.option("--campaign", "slug", required=True, help="Short name of the campaign.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="The CSV file to write.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON (last line).")
@needs_schema
def optout_export(runtime, slug: str, out: str, as_json: bool) -> None:
    """Write the campaign's active do-not-contact list (formula-safe CSV, the file the web page downloads)."""
    from canvass import opt_out_files, opt_outs

    with db.write_session(runtime.engine) as session:
        campaign = campaigns.require_campaign(session, slug)
        text = opt_out_files.export_csv(session, campaign)
        rows = opt_outs.count_active(session, campaign.id)
        audit.record(session, None, "opt_out.exported", object_type="campaign", object_id=campaign.id)
    Path(out).write_text("\ufeff" + text, encoding="utf-8")
    emit({"rows": rows, "path": out}, as_json, f"{rows:,} entries written to {out}.")


@optout.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--campaign", "slug", required=True, help="Short name of the campaign whose list it is.")
@click.option("--dry-run", is_flag=True, help="Check the file without writing.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON (last line).")
@needs_schema
def optout_import(runtime, file: str, slug: str, dry_run: bool, as_json: bool) -> None:
    """Add a do-not-contact file (a column Voter ID, Phone or Email, and Reason) to the campaign's list. Rows that
    cannot be used are named and left out; entries already on the list are not repeated."""
    from canvass import opt_out_files

    try:
        with db.write_session(runtime.engine) as session:
            campaign = campaigns.require_campaign(session, slug)
            check = opt_out_files.check_file(session, campaign, Path(file))
            added = 0 if dry_run else opt_out_files.import_file(session, campaign, Path(file), None, Path(file).name)
    except (opt_out_files.OptOutFileError, campaigns.CampaignError) as exc:
        if as_json:
            click.echo(json.dumps({"error": str(exc)}))
            sys.exit(1)
        raise click.ClickException(str(exc)) from exc
    for problem in check.problems[:20]:
        click.echo(f"Row {problem['row']}, {problem['column']}: {problem['message']} ({problem['value']})", err=True)
    summary = {"rows": check.rows, "matched": check.matched, "already": check.already, "added": added,
               "would_add": check.new, "problems": len(check.problems)}
    verb = f"would add {check.new:,}" if dry_run else f"added {added:,}"
    emit(summary, as_json, f"{check.rows:,} rows: {check.matched:,} matched, {check.already:,} on the list already, "
                           f"{len(check.problems):,} cannot be used; {verb}.")


# ------------------------------------------------------------------------------------------------------------------
# Turf


def universe_options(command):
    """The filters that choose people (turf cutting, call lists and exports share them)."""
    options = [
        click.option("--precinct", "precincts", multiple=True, help="Only these precincts (repeat the option)."),
        click.option("--zip", "zips", multiple=True, help="Only these ZIP codes."),
        click.option("--party", "parties", multiple=True, help="Only people of these parties."),
        click.option("--language", "languages", multiple=True, help="Only people speaking these languages (es, vi)."),
        click.option("--min-age", type=int, help="Only people at least this old."),
        click.option("--max-age", type=int, help="Only people at most this old."),
        click.option("--tag", "tag_ids", multiple=True, type=int, help="Only people with this tag id."),
        click.option("--custom", multiple=True, help="Only people whose custom field FIELD=VALUE."),
        click.option("--not-reached", is_flag=True, help="Only people (doors) nobody has talked to yet."),
        click.option("--next-pass", is_flag=True, help="Only people the result codes' re-contact rules bring back "
                                                       "(never tried, or their wait over with attempts left); doors "
                                                       "of closed turfs too."),
        click.option("--elections", "election_kind", type=click.Choice(["general", "primary", "municipal", "other"]),
                     default="general", show_default=True, help="The kind of election the vote-history options count."),
        click.option("--last", "last_elections", type=int,
                     help="Count the last N elections of that kind (with --voted-at-least / --voted-at-most)."),
        click.option("--voted-at-least", type=int, help="Only people who voted in at least this many of them."),
        click.option("--voted-at-most", type=int, help="Only people who voted in at most this many of them "
                                                       "(--last 4 --voted-at-most 1: rarely votes)."),
        click.option("--max-turnout", type=int, help="Only people who voted in at most this percent of the "
                                                     "elections of that kind they were registered for."),
        click.option("--never-voted", is_flag=True, help="Only people with no vote on record."),
        click.option("--registered-since", help="Only people registered on or after this day (YYYY-MM-DD)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def universe_from(filters: dict[str, Any]):
    """The universe the options describe; a wrong value stops the command with its sentence."""
    from canvass.universe import Universe, UniverseError

    try:
        return _universe(Universe, filters)
    except UniverseError as exc:
        raise click.BadParameter(str(exc)) from exc


def _universe(Universe, filters: dict[str, Any]):  # noqa: N803 (the class, imported late)
    return Universe.from_dict({
        "precincts": list(filters["precincts"]), "zips": list(filters["zips"]), "parties": list(filters["parties"]),
        "languages": list(filters["languages"]), "min_age": filters["min_age"], "max_age": filters["max_age"],
        "tag_ids": list(filters["tag_ids"]), "not_reached": filters["not_reached"],
        "next_pass": filters.get("next_pass", False),
        "custom": dict(item.split("=", 1) for item in filters["custom"] if "=" in item),
        **{key: filters.get(key) for key in ("election_kind", "last_elections", "voted_at_least", "voted_at_most",
                                             "max_turnout", "never_voted", "registered_since")}})


@main.group()
def turf() -> None:
    """Cut, list and assign turf."""


@turf.command("cut")
@click.option("--campaign", "slug", required=True, help="Short name of the campaign.")
@click.option("--by", type=click.Choice(["geo", "precinct", "zip", "street"]), default="geo", show_default=True,
              help="geo: compact turfs from the map (streets where there are no coordinates).")
@click.option("--doors", type=click.IntRange(min=1), required=True, help="About how many doors per turf.")
@universe_options
@click.option("--json", "as_json", is_flag=True)
@needs_schema
def turf_cut(runtime, slug, by, doors, as_json, **filters) -> None:
    """Cut the campaign's doors that are in no turf yet into turfs of about --doors doors."""
    from canvass import turfs, walk_lists
    from canvass.universe import universe_counts

    universe = universe_from(filters)
    try:
        with db.write_session(runtime.engine) as session:
            campaign = campaigns.require_campaign(session, slug)
            counts = universe_counts(session, campaign, universe)
            ids = turfs.cut_turfs(session, campaign, universe, by=by, target=doors)
    except (turfs.TurfError, campaigns.CampaignError) as exc:
        raise click.ClickException(str(exc)) from exc
    walk_lists.route_new_turfs(lambda *_: None, runtime.engine, ids)
    emit({"turfs": len(ids), "doors": counts["doors"], "people": counts["people"], "ids": ids}, as_json,
         f"Cut {counts['doors']:,} doors ({counts['people']:,} people) into {len(ids):,} turfs.")


@turf.command("list")
@click.option("--campaign", "slug", required=True)
@click.option("--json", "as_json", is_flag=True)
@needs_schema
def turf_list(runtime, slug: str, as_json: bool) -> None:
    """List the campaign's turfs with their doors, people and volunteers."""
    from sqlmodel import Session

    from canvass import turfs

    try:
        with Session(runtime.engine) as session:
            rows = turfs.turf_summaries(session, campaigns.require_campaign(session, slug))
    except campaigns.CampaignError as exc:
        raise click.ClickException(str(exc)) from exc
    lines = [f"{r['id']:>6}  {r['name']:<44} {r['doors']:>5} doors {r['people']:>5} people  {', '.join(r['assigned'])}"
             for r in rows]
    emit({"turfs": rows}, as_json, "\n".join(lines) or "No turfs yet.")


@turf.command("assign")
@click.argument("turf_ref", metavar="TURF")
@click.argument("email")
@click.option("--campaign", "slug", default=None, help="Needed when TURF is a name rather than an id.")
@click.option("--json", "as_json", is_flag=True)
@needs_schema
def turf_assign(runtime, turf_ref: str, email: str, slug: str | None, as_json: bool) -> None:
    """Assign TURF (id or name) to the account EMAIL."""
    from canvass import turfs

    try:
        with db.write_session(runtime.engine) as session:
            campaign = campaigns.require_campaign(session, slug) if slug else None
            target = turfs.find_turf(session, campaign, turf_ref)
            user = accounts.get_user_by_email(session, email)
            if user is None:
                raise turfs.TurfError(f"No account for {email}.")
            turfs.assign_turf(session, target, user)
            result = {"turf": target.id, "name": target.name, "assigned": user.email}
    except (turfs.TurfError, campaigns.CampaignError) as exc:
        raise click.ClickException(str(exc)) from exc
    emit(result, as_json, f"{result['name']} is assigned to {result['assigned']}.")


# ------------------------------------------------------------------------------------------------------------------
# Phone banking


@main.group()
def calllist() -> None:
    """Make call lists for phone banking."""


@calllist.command("create")
@click.option("--campaign", "slug", required=True, help="Short name of the campaign.")
@click.option("--name", required=True, help="Name callers see.")
@click.option("--open", "open_to_all", is_flag=True, help="Open to every caller, not only those assigned.")
@universe_options
@click.option("--json", "as_json", is_flag=True)
@needs_schema
def calllist_create(runtime, slug: str, name: str, open_to_all: bool, as_json: bool, **filters) -> None:
    """Create a call list of everyone callable in the campaign matching the filters (cell phones first)."""
    from canvass import phonebank

    try:
        with db.write_session(runtime.engine) as session:
            campaign = campaigns.require_campaign(session, slug)
            call_list = phonebank.create_call_list(session, campaign, name, universe_from(filters),
                                                   open_to_all=open_to_all)
            result = {"id": call_list.id, "name": call_list.name, "people": phonebank.progress(session, call_list)["total"],
                      "open_to_all": open_to_all}
    except (phonebank.CallingError, campaigns.CampaignError) as exc:
        raise click.ClickException(str(exc)) from exc
    emit(result, as_json, f"Call list {result['name']} (#{result['id']}): {result['people']:,} people to call.")


# ------------------------------------------------------------------------------------------------------------------
# Exports


@main.command("export")
@click.option("--campaign", "slug", required=True, help="Short name of the campaign.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="PATH.xlsx (every sheet) or PATH.csv (one sheet, see --sheet).")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="First day (organization's time zone).")
@click.option("--until", type=click.DateTime(["%Y-%m-%d"]), help="Last day, included.")
@click.option("--sheet", default="contacts", show_default=True,
              type=click.Choice(["summary", "contacts", "by_volunteer", "by_turf", "by_day", "by_result", "survey",
                                 "survey_by_turf", "survey_by_precinct"]), help="The sheet a CSV holds.")
@click.option("--van", is_flag=True, help="A CSV of results and survey responses for VoteBuilder's bulk upload.")
@universe_options
@click.option("--json", "as_json", is_flag=True)
@needs_schema
def export_command(runtime, slug: str, out: str, since, until, sheet: str, van: bool, as_json: bool,
                   **people) -> None:
    """Export contact results and tallies to XLSX or CSV (formula-safe; written to the audit log). The people
    options keep only the contacts with the people they choose."""
    import time
    from pathlib import Path

    from canvass import exports

    started = time.perf_counter()
    filters = exports.Filters(since=since.date() if since else None, until=until.date() if until else None,
                              people=universe_from(people))
    try:
        with db.read_session(runtime.engine) as session:
            campaign = campaigns.require_campaign(session, slug)
        result = exports.make_export(runtime.engine, campaign.id, filters, path=Path(out),
                                     timezone=runtime.config["TIMEZONE"], sheet=sheet, van=van)
    except (exports.ExportError, campaigns.CampaignError) as exc:
        raise click.ClickException(str(exc)) from exc
    result = {"path": result["path"], "rows": result["rows"], "kind": result["kind"],
              "seconds": round(time.perf_counter() - started, 2)}
    emit(result, as_json, f"Wrote {result['rows']:,} contacts to {result['path']} ({result['seconds']} s).")


# ------------------------------------------------------------------------------------------------------------------
# Backups


@main.command("backup")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True)
def backup_command(path: str, as_json: bool) -> None:
    """Write a consistent backup of the database to PATH while the app runs (SQLite file, or pg_dump archive)."""
    from pathlib import Path

    from canvass import backups

    with cli_runtime() as runtime:
        url = runtime.config["DATABASE_URL"]
        try:
            written = backups.backup(url, Path(path))
        except backups.BackupError as exc:
            raise click.ClickException(str(exc)) from exc
    size = written.stat().st_size
    emit({"path": str(written), "bytes": size}, as_json, f"Backed up {safe_url(url)} to {written} ({size:,} bytes).")


@main.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Confirm: the database's current content is replaced.")
def restore_command(path: str, yes: bool) -> None:
    """Replace the database's content with the backup at PATH (stop the app first)."""
    from pathlib import Path

    from canvass import backups

    if not yes:
        raise click.ClickException("This replaces everything in the database with the backup. Stop the app, then "
                                   "run again with --yes.")
    with cli_runtime() as runtime:
        try:
            backups.restore(runtime.config["DATABASE_URL"], Path(path))
        except backups.BackupError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"Restored {safe_url(runtime.config['DATABASE_URL'])} from {path}. Run `canvass init` if the backup "
                   "is from an older version.")


# ------------------------------------------------------------------------------------------------------------------
# Background jobs


@main.command()
@click.option("--concurrency", type=click.IntRange(min=1), default=None,
              help="Jobs run at a time (default: CANVASS_JOB_THREADS, 2). Each job is a thread.")
@needs_schema
def worker(runtime, concurrency: int | None) -> None:
    """Run background jobs (imports, exports, walk routes) from the queue until stopped (PostgreSQL only).

    Start any number, on any machine that reaches the database. App processes queue jobs and run them too, unless
    CANVASS_APP_RUNS_JOBS=false. Ctrl+C or SIGTERM lets the running jobs finish first; a worker killed outright
    has its jobs started again by another worker."""
    import logging

    from canvass import queue, queue_schema

    url = runtime.config["DATABASE_URL"]
    if db.is_sqlite(runtime.engine):
        raise click.ClickException("On SQLite, jobs run inside the app process (canvass serve); there is no queue "
                                   "for a worker. Use PostgreSQL to run jobs in workers of their own.")
    if not queue_schema.is_current(runtime.engine):
        raise click.ClickException(f"The job queue at {safe_url(url)} is not ready: run `canvass init`.")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("procrastinate").setLevel(logging.WARNING)
    threads = concurrency or max(runtime.config["JOB_THREADS"], 1)
    click.echo(f"canvass worker: running jobs from {safe_url(url)}, {threads} at a time (Ctrl+C stops it once "
               "the running jobs end).")
    queue.QueueWorker(runtime.engine, url, threads, runtime.config["JOB_STALLED_SECONDS"]).run()


# ------------------------------------------------------------------------------------------------------------------
# Serving


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Use 0.0.0.0 to reach it from phones on the LAN.")
@click.option("--port", default=5000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Run the development server (for a laptop). In production use gunicorn, see the README."""
    os.environ.setdefault("CANVASS_MODE", "development")
    app = _web_app()
    if db.current_revision(app.extensions["canvass.engine"]) != db.head_revision():
        raise click.ClickException("The database is not ready: run `canvass init` first.")
    click.echo(f"canvass on http://{host}:{port}/  database {safe_url(app.config['DATABASE_URL'])}")
    app.run(host=host, port=port, debug=False, threaded=True)


@main.command()
@click.option("--database", "database_url", default=None,
              help="Where to build the demo (default: a SQLite file demo.db in the instance folder).")
@click.option("--people", default=3000, show_default=True, help="How many people to make up.")
@click.option("--seed", default=7, show_default=True, help="Random seed, for a repeatable demo.")
@click.option("--no-serve", is_flag=True, help="Build the demo database and exit.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--json", "as_json", is_flag=True)
def demo(database_url: str | None, people: int, seed: int, no_serve: bool, host: str, port: int, as_json: bool) -> None:
    """Build a demo organization (synthetic people, turfs, volunteers, contact history), print the logins and serve it.

    It only ever writes to an empty database or one an earlier demo built; it refuses any other."""
    from canvass import demo as demo_module

    os.environ.setdefault("CANVASS_MODE", "development")
    with cli_runtime() as probe:
        url = database_url or f"sqlite:///{probe.instance_path / 'demo.db'}"
    try:
        logins = demo_module.build_demo(url, people=people, seed=seed)
    except demo_module.NotADemoDatabase as exc:
        raise click.ClickException(str(exc)) from exc
    lines = [f"Demo database: {safe_url(url)}", "Logins (password for all: " + demo_module.DEMO_PASSWORD + "):"]
    lines += [f"  {role:<10} {email}" for role, email in logins]
    if no_serve or as_json:
        emit({"database": safe_url(url), "password": demo_module.DEMO_PASSWORD,
              "logins": [{"role": r, "email": e} for r, e in logins]}, as_json, "\n".join(lines))
        return
    click.echo("\n".join(lines))
    app = _web_app({"DATABASE_URL": url})
    click.echo(f"Open http://{host}:{port}/ and log in (Ctrl+C stops the server).")
    app.run(host=host, port=port, debug=False, threaded=True)


if __name__ == "__main__":
    main()
