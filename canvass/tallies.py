"""Tallies of contact attempts: pure functions from the contacts frame (one row per attempt) to the tables data staff
and field leads read (summary, per volunteer, turf, day and result, survey answers and their crosstabs), and the flags
that mark a volunteer's implausible numbers."""

from __future__ import annotations

from typing import Any

import pandas as pd


def _rate(contacts: pd.Series, attempts: pd.Series) -> pd.Series:
    return (contacts / attempts.where(attempts > 0)).round(4).fillna(0.0)


def summary(frame: pd.DataFrame) -> pd.DataFrame:
    """Attempts, people reached, contact rate, doors knocked and calls made, overall and by channel."""
    def figures(part: pd.DataFrame) -> dict[str, Any]:
        attempts, contacts = len(part), int(part["is_contact"].sum())
        door = part[part["channel"] == "door"]
        return {"Attempts": attempts, "Contacts": contacts,
                "People reached": int(part.loc[part["is_contact"], "person_id"].nunique()),
                "Contact rate": round(contacts / attempts, 4) if attempts else 0.0,
                "Doors knocked": int(door["household_id"].nunique()),
                "Calls made": int((part["channel"] == "phone").sum())}

    rows = [{"Channel": "All", **figures(frame)}]
    rows += [{"Channel": channel.capitalize(), **figures(frame[frame["channel"] == channel])}
             for channel in ("door", "phone", "relational")]
    return pd.DataFrame(rows)


def tally_by(frame: pd.DataFrame, key: str, label: str) -> pd.DataFrame:
    """Attempts, contacts, contact rate, doors and calls per value of ``key`` (volunteer, turf, day...)."""
    work = frame.assign(door=frame["channel"] == "door", phone=frame["channel"] == "phone",
                        household=frame["household_id"].where(frame["channel"] == "door"))
    grouped = work.groupby(key, dropna=False)
    table = pd.DataFrame({"Attempts": grouped.size(), "Contacts": grouped["is_contact"].sum().astype("int64"),
                          "Doors knocked": grouped["household"].nunique(), "Calls": grouped["phone"].sum()
                          .astype("int64"), "People reached": work[work["is_contact"]].groupby(key, dropna=False)
                          ["person_id"].nunique()}).fillna(0)
    table["Contact rate"] = _rate(table["Contacts"], table["Attempts"])
    table = table.astype({"People reached": "int64"})
    return table.reset_index(names=label).sort_values(label, key=lambda s: s.astype(str), kind="stable")


def by_day(frame: pd.DataFrame) -> pd.DataFrame:
    return tally_by(frame.assign(day=frame["contacted_at"].dt.date), "day", "Day")


def by_result(frame: pd.DataFrame) -> pd.DataFrame:
    grouped = frame.groupby(["result_code", "result"], dropna=False)
    table = grouped.agg(Attempts=("id", "size"), door=("channel", lambda c: int((c == "door").sum())),
                        phone=("channel", lambda c: int((c == "phone").sum()))).reset_index()
    table["Share"] = (table["Attempts"] / max(len(frame), 1)).round(4)
    return table.rename(columns={"result_code": "Code", "result": "Result", "door": "At doors", "phone": "On phone"})


def survey_results(frame: pd.DataFrame) -> pd.DataFrame:
    """Counts and shares of each answer, per question (multiple answers each count): the answer's code, and its
    label beside it."""
    rows = []
    for column in [c for c in frame.columns if c.startswith("Q_")]:
        pairs = frame[[column, "L_" + column[2:]]].dropna(subset=[column]).astype(str)
        codes = pairs[column].str.split("; ").explode()
        labels = pairs["L_" + column[2:]].str.split("; ").explode()
        label_of = dict(zip(codes, labels, strict=True)) if len(codes) == len(labels) else {}
        counts = codes.value_counts()
        total = len(pairs)
        rows += [{"Question": column[2:], "Answer": answer, "Label": label_of.get(answer, answer), "Count": int(count),
                  "Share of answers": round(count / total, 4) if total else 0.0} for answer, count in counts.items()]
    return pd.DataFrame(rows, columns=["Question", "Answer", "Label", "Count", "Share of answers"])


def survey_crosstab(frame: pd.DataFrame, by: str, label: str) -> pd.DataFrame:
    """Answers (in words) per question counted across turfs (or precincts)."""
    columns = [c for c in frame.columns if c.startswith("L_")]
    if not columns:
        return pd.DataFrame(columns=[label, "Question"])
    long = frame[[by, *columns]].melt(id_vars=by, var_name="Question", value_name="Answer").dropna(subset=["Answer"])
    long["Answer"] = long["Answer"].astype(str).str.split("; ")
    long = long.explode("Answer")
    long["Question"] = long["Question"].str.slice(2)
    table = pd.crosstab([long[by].fillna("(none)"), long["Question"]], long["Answer"])
    return table.reset_index().rename(columns={by: label})


LOW_RATE, HIGH_RATE = 0.05, 0.50  # far outside the usual 10-30% contact rate
MIN_ATTEMPTS = 20  # too few attempts say nothing about a rate
SHORT_GAP_MINUTES = 0.5  # a median under 30 s between doors is not plausible on foot


def quality_flags(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Volunteers whose contact rate or pace between doors is implausible, with the numbers behind each flag."""
    flags = []
    named = frame.assign(who=frame["volunteer"].fillna(frame["volunteer_email"]))
    for who, part in named.groupby("who"):
        attempts = len(part)
        rate = part["is_contact"].mean() if attempts else 0.0
        if attempts >= MIN_ATTEMPTS and not LOW_RATE <= rate <= HIGH_RATE:
            flags.append({"volunteer": who, "kind": "contact rate", "attempts": attempts, "contact_rate": round(rate, 3),
                          "detail": f"{rate:.0%} of {attempts} attempts were contacts (usual: 10-30%)."})
        doors = part[part["channel"] == "door"].drop_duplicates("household_id").sort_values("contacted_at")
        if len(doors) >= 10:
            gaps = doors["contacted_at"].diff().dt.total_seconds().div(60).dropna()
            gaps = gaps[gaps < 120]  # a longer gap is a break, not a walk between doors
            if len(gaps) >= 9 and gaps.median() < SHORT_GAP_MINUTES:
                flags.append({"volunteer": who, "kind": "pace", "attempts": attempts,
                              "median_minutes": round(float(gaps.median()), 2),
                              "detail": f"Median {gaps.median():.1f} minutes between {len(doors)} doors."})
    return flags
