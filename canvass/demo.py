"""A demo organization made up from scratch: a multilingual neighbourhood, its campaign, staff, and contact history.

``build_demo`` only writes to an empty database or to one an earlier demo built (marked ``demo=1`` in app_meta).
"""

from __future__ import annotations

import random
import uuid
from datetime import date, datetime, timedelta

import pandas as pd
import sqlalchemy as sa
from sqlmodel import Session, SQLModel, select

from canvass import accounts, bulk, campaigns, db, opt_outs, queue_schema, relational
from canvass.importing.names import name_key
from canvass.models import (
    AppMeta,
    CallEntry,
    CallList,
    CallListAssignment,
    Campaign,
    Channel,
    ContactAttempt,
    ExternalId,
    Household,
    OptOut,
    OptOutReason,
    OptOutScope,
    OptOutSource,
    Person,
    Phone,
    QuestionKind,
    RelationalPerson,
    ResultCode,
    Role,
    Script,
    SurveyOption,
    SurveyQuestion,
    SurveyResponse,
    Tag,
    TagKind,
    Turf,
    TurfDoor,
    User,
    utcnow,
)

DEMO_PASSWORD = "canvass-demo"
DEMO_CAMPAIGN = "fall-gotv"


class NotADemoDatabase(RuntimeError):
    """The target database holds real data; the demo will not touch it."""


# Santa Ana, CA: a dense, multilingual city of the kind canvass is built for. Streets and coordinates are made up
# on a grid near its centre; nobody here is real.
ORIGIN = (33.7470, -117.8830)
EAST_WEST = ["W 1st St", "W 2nd St", "W 3rd St", "W 4th St", "W 5th St", "W Civic Center Dr", "W 8th St",
             "W 9th St", "W 10th St", "W Washington Ave", "W 14th St", "W 15th St"]
NORTH_SOUTH = ["N Bristol St", "N Flower St", "N Ross St", "N Broadway", "N Main St", "N Sycamore St",
               "N Spurgeon St", "N French St", "N Lacy St"]
BLOCK_LAT, BLOCK_LON = 0.00235, 0.0029  # about 260 m between streets, 270 m between avenues

NAMES = {
    "es": (["Maria", "Jose", "Guadalupe", "Juan", "Rosa", "Luis", "Ana", "Carlos", "Veronica", "Miguel", "Yesenia",
            "Francisco", "Leticia", "Jesus", "Alejandra", "Ricardo"],
           ["Garcia", "Hernandez", "Martinez", "Lopez", "Gonzalez", "Rodriguez", "Perez", "Sanchez", "Ramirez",
            "Torres", "Flores", "Rivera", "Gomez", "Diaz", "Reyes", "Cruz", "Morales", "Ortiz"]),
    "vi": (["Minh", "Lan", "Hung", "Thu", "Tuan", "Huong", "Duc", "Mai", "Quang", "Linh", "Phuong", "Bao"],
           ["Nguyen", "Tran", "Le", "Pham", "Hoang", "Huynh", "Phan", "Vu", "Vo", "Dang", "Bui", "Do"]),
    "ko": (["Jisoo", "Minjun", "Seoyeon", "Hyun", "Eunji", "Sungmin", "Yuna", "Dongho"],
           ["Kim", "Lee", "Park", "Choi", "Jung", "Kang", "Cho", "Yoon"]),
    "zh": (["Wei", "Mei", "Jun", "Xiu", "Lei", "Ying", "Hao", "Lin"],
           ["Wang", "Li", "Zhang", "Liu", "Chen", "Yang", "Huang", "Wu"]),
    "en": (["James", "Mary", "Robert", "Linda", "Michael", "Patricia", "David", "Jennifer", "Denise", "Marcus",
            "Tanya", "Kevin"],
           ["Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Jackson", "Harris"]),
}
LANGUAGE_WEIGHTS = {"es": 0.48, "en": 0.24, "vi": 0.17, "ko": 0.06, "zh": 0.05}
PARTIES = ["DEM", "DEM", "DEM", "NPP", "NPP", "REP", "GRN"]
PRECINCTS = ["SA-101", "SA-102", "SA-103", "SA-104"]

SCRIPTS = {
    "en": "Hi, I'm {volunteer}, a volunteer with Orange County Workers United. We're talking with neighbours about "
          "Measure W, which raises the minimum wage for hotel and restaurant workers. Can I ask you a few questions?",
    "es": "Hola, soy {volunteer}, voluntario/a de Trabajadores Unidos del Condado de Orange. Estamos hablando con los "
          "vecinos sobre la Medida W, que sube el salario mínimo de los trabajadores de hoteles y restaurantes. "
          "¿Le puedo hacer unas preguntas?",
    "vi": "Xin chào, tôi là {volunteer}, tình nguyện viên của Orange County Workers United. Chúng tôi đang nói chuyện "
          "với hàng xóm về Dự luật W, tăng lương tối thiểu cho nhân viên khách sạn và nhà hàng. Tôi có thể hỏi "
          "anh/chị vài câu không?",
    "ko": "안녕하세요, 저는 오렌지 카운티 노동자 연합의 자원봉사자 {volunteer}입니다. 호텔과 식당 노동자의 최저임금을 "
          "올리는 W 법안에 대해 이웃분들과 이야기하고 있습니다. 몇 가지 여쭤봐도 될까요?",
    "zh": "您好，我是橙县工人联合会的志愿者{volunteer}。我们正在和邻居们聊W提案，它将提高酒店和餐馆工人的最低工资。"
          "我可以问您几个问题吗？",
}

SURVEY = [
    ("SUPPORT", "Do you support Measure W?", QuestionKind.scale,
     {"es": "¿Apoya la Medida W?", "vi": "Anh/chị có ủng hộ Dự luật W không?"},
     [("1", "Strong yes", {"es": "Sí, totalmente", "vi": "Rất ủng hộ"}),
      ("2", "Lean yes", {"es": "Probablemente sí", "vi": "Có lẽ ủng hộ"}),
      ("3", "Undecided", {"es": "Indeciso", "vi": "Chưa quyết định"}),
      ("4", "Lean no", {"es": "Probablemente no", "vi": "Có lẽ không"}),
      ("5", "Strong no", {"es": "Definitivamente no", "vi": "Hoàn toàn không"})]),
    ("ISSUE", "What issue matters most to your family?", QuestionKind.single,
     {"es": "¿Qué tema le importa más a su familia?", "vi": "Vấn đề nào quan trọng nhất với gia đình anh/chị?"},
     [("RENT", "Rent and housing", {"es": "Renta y vivienda", "vi": "Tiền thuê nhà"}),
      ("WAGE", "Wages", {"es": "Salarios", "vi": "Tiền lương"}),
      ("HEALTH", "Health care", {"es": "Salud", "vi": "Chăm sóc sức khỏe"}),
      ("SCHOOL", "Schools", {"es": "Escuelas", "vi": "Trường học"}),
      ("IMMIG", "Immigration", {"es": "Inmigración", "vi": "Di trú"})]),
    ("PLEDGE", "Will you vote on November 3?", QuestionKind.yesno,
     {"es": "¿Va a votar el 3 de noviembre?", "vi": "Anh/chị sẽ đi bầu ngày 3 tháng 11 chứ?"},
     [("Y", "Yes", {"es": "Sí", "vi": "Có"}), ("N", "No", {"es": "No", "vi": "Không"})]),
]

STAFF = [
    ("admin", "admin@example.org", "Alex Admin", "en", ["en"]),
    ("lead", "lead@example.org", "Rosa Field Lead", "es", ["es", "en"]),
    ("data", "data@example.org", "Dana Data", "en", ["en"]),
    ("volunteer", "volunteer@example.org", "Victor Volunteer", "en", ["en", "es"]),
    ("volunteer", "maria@example.org", "María Ortiz", "es", ["es", "en"]),
    ("volunteer", "minh@example.org", "Minh Tran", "vi", ["vi", "en"]),
    ("volunteer", "jisoo@example.org", "Jisoo Park", "en", ["ko", "en"]),
    ("volunteer", "wei@example.org", "Wei Chen", "en", ["zh", "en"]),
    ("volunteer", "tanya@example.org", "Tanya Harris", "en", ["en"]),
]


def guard(engine) -> None:
    """Raises NotADemoDatabase unless the database is empty or was built by the demo."""
    tables = set(sa.inspect(engine).get_table_names())
    if not tables:
        return
    known = SQLModel.metadata.tables
    with engine.connect() as conn:
        if "app_meta" in tables and conn.execute(
                select(AppMeta.value).where(AppMeta.key == "demo")).scalar() == "1":
            return
        holds_data = any(conn.execute(sa.select(sa.literal(1)).select_from(known[name]).limit(1)).first()
                         for name in ("user", "campaign", "person") if name in tables)
    foreign = {name for name in tables - set(known) - {"alembic_version"} if not queue_schema.is_queue_table(name)}
    if holds_data or foreign:
        raise NotADemoDatabase(f"{engine.url.render_as_string(hide_password=True)} holds data that the demo did not "
                               "create, so the demo will not touch it. Choose another place with --database.")


def build_demo(url: str, *, people: int = 3000, seed: int = 7) -> list[tuple[str, str]]:
    """(Re)builds the demo at ``url``. Returns the logins as (role, email)."""
    engine = db.make_engine(url)
    try:
        guard(engine)
        _reset(engine)
        db.upgrade(engine)
        with db.write_session(engine) as session:
            session.add(AppMeta(key="demo", value="1"))
            session.flush()
            _populate(session, random.Random(seed), people)
            bulk.refresh_statistics(session, *SQLModel.metadata.sorted_tables)
    finally:
        engine.dispose()
    return [(role, email) for role, email, *_ in STAFF]


def _reset(engine) -> None:
    if not db.has_tables(engine):
        return
    SQLModel.metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS alembic_version"))
    if not db.is_sqlite(engine):
        queue_schema.empty(engine)  # no job of the old demo may run in the new one


def _populate(session: Session, rng: random.Random, people: int) -> None:
    users = _staff(session)
    campaign = campaigns.create_campaign(session, "Fall GOTV: Measure W", DEMO_CAMPAIGN)
    for user in users.values():
        campaigns.add_member(session, campaign, user)
    _setup(session, campaign)
    households = _households(session, campaign, rng, people)
    person_rows = _people(session, campaign, rng, households, people)
    turfs = _turfs(session, campaign, households, users)
    _history(session, campaign, rng, users, turfs, person_rows)
    _relational(session, campaign, users["volunteer@example.org"])
    _shifts(session, campaign, users, turfs)


def _relational(session: Session, campaign: Campaign, user: User) -> None:
    """Victor's relational list: three voters he knows (one confirmed) and a friend who is not in the voter file."""
    known = [session.execute(select(Person.first_name, Person.last_name, Household.city)
                             .join(Household, Household.id == Person.household_id)
                             .where(Person.campaign_id == campaign.id, Person.language == language)
                             .order_by(Person.id).limit(1)).one() for language in ("es", "vi", "en")]
    rows = [{"name": f"{first} {last}", "first_name": first, "last_name": last, "phones": [f"+1714555{n:04d}"],
             "email": "", "city": city, "age": None} for n, (first, last, city) in enumerate(known, start=100)]
    rows.append({"name": "Coach Dee", "first_name": "", "last_name": "", "phones": ["+17145550199"], "email": "",
                 "city": "Santa Ana", "age": None})
    people = pd.DataFrame(rows).assign(age=pd.Series([None] * len(rows), dtype="Int64"))
    relational.add_people(session, user, campaign, people, "typed", today=date(2026, 10, 1))
    session.flush()
    first = session.exec(select(RelationalPerson).where(RelationalPerson.user_id == user.id,
                                                        RelationalPerson.suggested_id.is_not(None))
                         .order_by(RelationalPerson.id)).first()
    if first is not None:
        relational.decide_match(session, first, confirmed=True)


def _staff(session: Session) -> dict[str, User]:
    users = {}
    for role, email, name, language, spoken in STAFF:
        user = accounts.create_user(session, email, Role(role), password=DEMO_PASSWORD, name=name, language=language,
                                    languages_spoken=spoken)
        users[email] = user
    return users


#: The text volunteers send from their own phone to people they know (relational lists).
RELATIONAL_TEXTS = {
    "en": "Hi {name}, it's {volunteer}. I'm volunteering for Measure W, a raise for hotel and restaurant workers. "
          "Can I count on your vote on November 3?",
    "es": "Hola {name}, soy {volunteer}. Soy voluntario/a por la Medida W, un aumento para los trabajadores de hoteles "
          "y restaurantes. ¿Puedo contar con tu voto el 3 de noviembre?",
    "vi": "Chào {name}, mình là {volunteer}. Mình đang làm tình nguyện cho Dự luật W, tăng lương cho nhân viên khách "
          "sạn và nhà hàng. Bạn sẽ bỏ phiếu ủng hộ vào ngày 3 tháng 11 chứ?",
}


def _setup(session: Session, campaign: Campaign) -> None:
    for language, body in RELATIONAL_TEXTS.items():
        session.add(Script(campaign_id=campaign.id, channel=Channel.relational, language=language, body=body))
    for language, body in SCRIPTS.items():
        session.add(Script(campaign_id=campaign.id, channel=Channel.door, language=language, body=body))
        session.add(Script(campaign_id=campaign.id, channel=Channel.phone, language=language,
                           body=body.replace("{volunteer}", "{volunteer}")))
    for position, (code, text, kind, translations, options) in enumerate(SURVEY):
        question = SurveyQuestion(campaign_id=campaign.id, code=code, text=text, kind=kind, translations=translations,
                                  position=position)
        session.add(question)
        session.flush()
        for opt_pos, (opt_code, label, opt_tr) in enumerate(options):
            session.add(SurveyOption(question_id=question.id, code=opt_code, label=label, translations=opt_tr,
                                     position=opt_pos))
    for name, kind in [("Union member", TagKind.tag), ("Wants to volunteer", TagKind.followup),
                       ("Needs a ride", TagKind.followup), ("Issue follow-up", TagKind.followup)]:
        session.add(Tag(campaign_id=campaign.id, name=name, kind=kind))
    session.flush()


def _households(session: Session, campaign: Campaign, rng: random.Random, people: int) -> list[dict]:
    """Doors along a street grid: houses on both sides (odd north/west, even south/east) and apartment buildings."""
    rows: list[dict] = []
    target_doors = max(50, people * 10 // 24)
    streets = [(name, "ew", i) for i, name in enumerate(EAST_WEST)] + [(n, "ns", i) for i, n in enumerate(NORTH_SOUTH)]
    while len(rows) < target_doors:
        name, axis, index = rng.choice(streets)
        block = rng.randrange(len(NORTH_SOUTH) - 1 if axis == "ew" else len(EAST_WEST) - 1)
        slot = rng.randrange(1, 24)
        number = (block + 1) * 100 + slot * 2 + rng.choice((0, 1))
        side = 1 if number % 2 else -1
        along = block + slot / 25
        if axis == "ew":
            lat = ORIGIN[0] + index * BLOCK_LAT + side * 0.00009
            lon = ORIGIN[1] - along * BLOCK_LON
        else:
            lat = ORIGIN[0] + along * BLOCK_LAT
            lon = ORIGIN[1] - index * BLOCK_LON + side * 0.00011
        units = [""] if rng.random() > 0.12 else [f"{floor}{u:02d}" for floor in (1, 2, 3) for u in (1, 2, 3, 4)]
        for unit in units:
            key = f"{number} {name.upper()}|{unit}|92701"
            if any(r["address_key"] == key for r in rows[-40:]):
                continue
            rows.append({"campaign_id": campaign.id, "address_key": key, "building_key": f"{number} {name.upper()}|92701",
                         "address": f"{number} {name}", "house_number": str(number), "house_number_int": number,
                         "street": name.upper(), "unit": f"Apt {unit}" if unit else "", "city": "Santa Ana",
                         "state": "CA", "zip5": "92701", "zip4": "", "precinct": PRECINCTS[(index + block) % 4],
                         "lat": round(lat + rng.uniform(-0.00002, 0.00002), 7),
                         "lon": round(lon + rng.uniform(-0.00002, 0.00002), 7), "created_at": utcnow()})
    unique = {r["address_key"]: r for r in rows}
    session.execute(sa.insert(Household), list(unique.values()))
    return [dict(r._mapping) for r in session.execute(
        select(Household.id, Household.street, Household.house_number_int, Household.building_key, Household.unit,
               Household.precinct, Household.lat, Household.lon).where(Household.campaign_id == campaign.id))]


def _people(session: Session, campaign: Campaign, rng: random.Random, households: list[dict], people: int) -> list[dict]:
    languages, weights = zip(*LANGUAGE_WEIGHTS.items(), strict=True)
    rows, per_household = [], {}
    for n in range(people):
        household = households[n % len(households)] if n < len(households) else rng.choice(households)
        language = per_household.setdefault(household["id"], rng.choices(languages, weights)[0])
        firsts, lasts = NAMES[language]
        first, last = rng.choice(firsts), rng.choice(lasts)
        rows.append({"campaign_id": campaign.id, "household_id": household["id"], "first_name": first,
                     "last_name": last, "language": "" if language == "en" and rng.random() < 0.5
                     else language, "language_source": "file", "party": rng.choice(PARTIES),
                     "precinct": household["precinct"], "birth_year": rng.randint(1940, 2006),
                     "gender": rng.choice("FM"),
                     "match_key": f"{name_key(last)}|{name_key(first)}||demo{n}", "custom": {"union_local": rng.choice(
                         ["", "", "UNITE HERE 11", "SEIU 2015"])}, "vote_history": {"General22": rng.choice("YN"),
                                                                                    "General24": rng.choice("YYN")},
                     "created_at": utcnow(), "updated_at": utcnow()})
    session.execute(sa.insert(Person), rows)
    ids = session.execute(select(Person.id, Person.household_id, Person.language).where(
        Person.campaign_id == campaign.id).order_by(Person.id)).all()
    session.execute(sa.insert(ExternalId), [{"campaign_id": campaign.id, "person_id": pid, "source": "van_id",
                                             "value": str(100000 + pid)} for pid, _, _ in ids])
    phones = []
    for pid, _, _ in ids:
        if rng.random() < 0.7:
            kind = rng.choice(["cell", "cell", "landline"])
            phones.append({"person_id": pid, "e164": f"+1714{rng.randint(2000000, 9999999)}", "type": kind,
                           "status": "ok", "rank": 0, "source": "demo"})
    session.execute(sa.insert(Phone), phones)
    return [{"id": pid, "household_id": hid, "language": lang} for pid, hid, lang in ids]


def _turfs(session: Session, campaign: Campaign, households: list[dict], users: dict[str, User]) -> list[Turf]:
    """Compact turfs of about 45 doors cut from the map, two for each volunteer."""
    from canvass import turfs as turf_module
    from canvass import walk_lists
    from canvass.universe import Universe

    volunteers = [u for u in users.values() if u.role == Role.volunteer]
    lead = next(u for u in users.values() if u.role == Role.lead)
    ids = turf_module.cut_turfs(session, campaign, Universe(), by="geo", target=45, user=lead)
    created = [session.get(Turf, turf_id) for turf_id in ids]
    for turf in created:
        walk_lists.route_turf(session, turf)
    for index, turf in enumerate(created[: len(volunteers) * 2]):
        turf_module.assign_turf(session, turf, volunteers[index % len(volunteers)], by=lead)
    return created


def _shifts(session: Session, campaign: Campaign, users: dict[str, User], turfs: list[Turf]) -> None:
    """Saturday's house visits (10:00 to 13:00 in New York, with three turfs no one has yet to hand out) and a
    citizenship clinic the Saturday after, with a few volunteers signed up; and last Saturday's visits, attended."""
    from datetime import UTC, datetime, time, timedelta

    from canvass import shifts
    from canvass.models import ShiftKind

    today = datetime.now(UTC).date()
    saturday = today + timedelta(days=(5 - today.weekday()) % 7 or 7)
    start = datetime.combine(saturday, time(15, 0), UTC)
    lead = users["lead@example.org"]
    spare = turfs[sum(u.role == Role.volunteer for u in users.values()) * 2:][:3]
    visits = shifts.create_shift(session, campaign, shifts.ShiftIn(
        kind=ShiftKind.canvass, title="Saturday house visits", starts_at=start, ends_at=start + timedelta(hours=3),
        address="Iglesia San Juan, 410 Main St", directions="Side door on Elm St; ask for Rosa.", head_count=8,
        languages_needed={"es": 3, "vi": 1}, turf_ids=[t.id for t in spare]), by=lead)
    clinic = shifts.create_shift(session, campaign, shifts.ShiftIn(
        kind=ShiftKind.clinic, title="Citizenship clinic", starts_at=start + timedelta(days=7),
        ends_at=start + timedelta(days=7, hours=4), address="Community Center, 22 Oak Ave", head_count=4,
        languages_needed={"es": 2, "vi": 1, "zh": 1}), by=lead)
    for email in ("volunteer@example.org", "maria@example.org", "minh@example.org"):
        shifts.sign_up(session, visits, users[email], now=datetime.now(UTC))
    shifts.sign_up(session, clinic, users["maria@example.org"], now=datetime.now(UTC))
    # Last Saturday's visits, over: four came and María led them (a volunteer's path has a history to show).
    before = start - timedelta(days=7)
    last_week = shifts.create_shift(session, campaign, shifts.ShiftIn(
        kind=ShiftKind.canvass, title="Last Saturday's house visits", starts_at=before,
        ends_at=before + timedelta(hours=3), address="Iglesia San Juan, 410 Main St", head_count=6), by=lead)
    for email in ("volunteer@example.org", "maria@example.org", "minh@example.org", "jisoo@example.org"):
        shifts.sign_up(session, last_week, users[email], now=before - timedelta(days=2))
        shifts.check_in(session, last_week, users[email], by=lead, now=before + timedelta(minutes=5))
    shifts.set_leader(session, last_week, users["maria@example.org"], True)


def _history(session: Session, campaign: Campaign, rng: random.Random, users: dict[str, User], turfs: list[Turf],
             person_rows: list[dict]) -> None:
    """Three days of door knocks and calls, so dashboards and exports have something to show."""
    codes = {c.code: c for c in session.exec(select(ResultCode).where(ResultCode.campaign_id == campaign.id))}
    questions = session.exec(select(SurveyQuestion).where(SurveyQuestion.campaign_id == campaign.id)).all()
    options = {q.id: session.exec(select(SurveyOption).where(SurveyOption.question_id == q.id)).all() for q in questions}
    volunteers = [u for u in users.values() if u.role == Role.volunteer]
    by_household: dict[int, list[dict]] = {}
    for person in person_rows:
        by_household.setdefault(person["household_id"], []).append(person)
    door_results = ["NH"] * 55 + ["TK"] * 22 + ["RF"] * 8 + ["CB"] * 5 + ["IN"] * 3 + ["LB"] * 3 + ["MV"] * 2 + ["HO"]
    phone_results = ["NA"] * 45 + ["LM"] * 15 + ["TK"] * 18 + ["RF"] * 6 + ["WN"] * 5 + ["DS"] * 5 + ["BZ"] * 3
    now = utcnow()
    contacts, answers = [], []
    door_ids = session.execute(select(TurfDoor.turf_id, TurfDoor.household_id).where(
        TurfDoor.campaign_id == campaign.id).order_by(TurfDoor.turf_id, TurfDoor.position)).all()
    clocks: dict[tuple[int, int], datetime] = {}  # each volunteer's time on each day, a door every 2-7 minutes
    for index, (turf_id, household_id) in enumerate(door_ids):
        if index % 3 == 2:
            continue  # a third of the doors not knocked yet
        day = index % 3
        volunteer = volunteers[turf_id % len(volunteers)]
        start = (now - timedelta(days=day)).replace(hour=16, minute=0, second=0, microsecond=0)
        at = clocks.get((volunteer.id, day), start) + timedelta(minutes=rng.uniform(2, 7))
        clocks[(volunteer.id, day)] = at
        for person in by_household.get(household_id, [])[:2]:
            code = rng.choice(door_results)
            contacts.append(_contact(campaign, person, household_id, volunteer, Channel.door, codes[code], at,
                                     turf_id=turf_id))
            if code == "TK":
                answers.append((contacts[-1]["client_uuid"], _answers(rng, questions, options)))
    call_list = CallList(campaign_id=campaign.id, name="Spanish & Vietnamese speakers: phone bank",
                         filters={"language": ["es", "vi"]}, open_to_all=True)
    session.add(call_list)
    session.flush()
    callers = volunteers[:3]
    for caller in callers:
        session.add(CallListAssignment(call_list_id=call_list.id, user_id=caller.id))
    phone_people = [p for p in person_rows if p["language"] in ("es", "vi")]
    session.execute(sa.insert(CallEntry), [{"call_list_id": call_list.id, "person_id": p["id"], "priority": 0,
                                            "status": "pending", "attempts": 0} for p in phone_people])
    for index, person in enumerate(phone_people[: len(phone_people) // 3]):
        code = rng.choice(phone_results)
        at = (now - timedelta(days=index % 3)).replace(hour=18, minute=0, second=0) + timedelta(minutes=index % 120)
        contacts.append(_contact(campaign, person, person["household_id"], callers[index % 3], Channel.phone,
                                 codes[code], at, call_list_id=call_list.id))
        if code == "TK":
            answers.append((contacts[-1]["client_uuid"], _answers(rng, questions, options)))
    session.execute(sa.insert(ContactAttempt), contacts)
    contact_ids = dict(session.execute(select(ContactAttempt.client_uuid, ContactAttempt.id).where(
        ContactAttempt.campaign_id == campaign.id)).all())
    responses = [{"contact_id": contact_ids[cid], **answer} for cid, picked in answers for answer in picked]
    if responses:
        session.execute(sa.insert(SurveyResponse), responses)
    session.execute(sa.update(CallEntry).where(CallEntry.call_list_id == call_list.id, CallEntry.person_id.in_(
        [p["id"] for p in phone_people[: len(phone_people) // 3]])).values(attempts=1))
    _refusals_listed(session, campaign, volunteers)


def _refusals_listed(session: Session, campaign: Campaign, volunteers: list[User]) -> None:
    """What logging the refusals one by one would have done: each refuser on the do-not-contact list (their first
    refusal), so door pages show them greyed and call lists leave them out."""
    first = select(ContactAttempt.person_id, sa.func.min(ContactAttempt.id).label("id")).where(
        ContactAttempt.campaign_id == campaign.id, ContactAttempt.result_code == "RF").group_by(
        ContactAttempt.person_id).subquery()
    rows = session.execute(select(ContactAttempt.person_id, ContactAttempt.id, ContactAttempt.user_id,
                                  ContactAttempt.contacted_at).join(first, first.c.id == ContactAttempt.id)).all()
    if rows:
        session.execute(sa.insert(OptOut), [
            {"campaign_id": campaign.id, "person_id": person_id, "e164": "", "scope": OptOutScope.all.value,
             "reason": OptOutReason.refused.value, "note": "", "source": OptOutSource.contact.value,
             "contact_id": contact_id, "import_name": "", "created_by_id": user_id, "created_at": at, "lift_note": ""}
            for person_id, contact_id, user_id, at in rows])
        opt_outs.sync_flags(session, [row[0] for row in rows])


def _contact(campaign, person, household_id, user, channel, code, at, **extra) -> dict:
    return {"client_uuid": uuid.uuid4(), "campaign_id": campaign.id, "person_id": person["id"],
            "household_id": household_id, "user_id": user.id, "channel": channel, "result_code": code.code,
            "is_contact": code.is_contact, "notes": "", "language_heard": "", "contacted_at": at,
            "received_at": at + timedelta(seconds=5), "turf_id": extra.get("turf_id"),
            "call_list_id": extra.get("call_list_id")}


def _answers(rng: random.Random, questions, options) -> list[dict]:
    picked = []
    for question in questions:
        if rng.random() < 0.85:
            weights = [5, 4, 3, 2, 1][: len(options[question.id])]
            option = rng.choices(options[question.id], weights)[0]
            picked.append({"question_id": question.id, "option_id": option.id, "value": ""})
    return picked
