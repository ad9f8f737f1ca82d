"""Campaigns and their setup: settings, default result codes. The caller commits."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from types import EllipsisType
from typing import Any

from sqlmodel import Session, select

from canvass.i18n import N_, Phrase, UserError
from canvass.models import (
    LANGUAGE_NAMES,
    Campaign,
    CampaignMember,
    Channel,
    QuestionKind,
    ResultCode,
    Script,
    Suppression,
    SurveyOption,
    SurveyQuestion,
    Tag,
    TagKind,
    User,
)

LANGUAGE_CODES = tuple(LANGUAGE_NAMES)
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")

#: Per-campaign settings and their defaults; a lead edits them on the campaign's setup page.
DEFAULT_SETTINGS: dict[str, Any] = {
    "calling_hours": ["09:00", "21:00"],  # local time of the organization (or of the person when known)
    "no_answer_retry_hours": 4,  # wait this long before calling a "no answer" again
    "max_call_attempts": 3,  # stop calling a person after this many attempts without a final result
    "lease_minutes": 10,  # how long a caller holds a person before they go back to the list
    "show_party": False,  # volunteers see party affiliation only when the campaign needs it
    "shift_expected_minutes": 180,  # a checked-in volunteer is overdue after this long
}

# (code, label, channel, is_contact, is_final, retry_after_hours, suppresses); Not home comes back after two days and
# Inaccessible after three, each at most 3 attempts (RECONTACT_LIMITS)
DEFAULT_RESULT_CODES: list[tuple[str, str, str, bool, bool, int | None, Suppression]] = [
    ("NH", "Not home", "door", False, False, 48, Suppression.none),
    ("TK", "Talked", "both", True, True, None, Suppression.none),
    ("RF", "Refused", "both", True, True, None, Suppression.refused),
    ("MV", "Moved", "door", False, True, None, Suppression.moved),
    ("DC", "Deceased", "both", False, True, None, Suppression.deceased),
    ("IN", "Inaccessible", "door", False, False, 72, Suppression.none),
    ("HO", "Hostile", "door", True, True, None, Suppression.hostile),
    ("CB", "Come back later", "door", False, False, 4, Suppression.none),
    ("LB", "Language barrier", "both", False, False, None, Suppression.language_barrier),
    ("WA", "Wrong address", "door", False, True, None, Suppression.wrong_address),
    ("NA", "No answer", "phone", False, False, 4, Suppression.none),
    ("LM", "Left message", "phone", False, False, 24, Suppression.none),
    ("BZ", "Busy", "phone", False, False, 1, Suppression.none),
    ("WN", "Wrong number", "phone", False, False, 0, Suppression.wrong_number),
    ("DS", "Disconnected", "phone", False, False, 0, Suppression.disconnected),
    ("CL", "Call back", "phone", False, False, None, Suppression.call_back),
    ("DNC", "Do not call", "phone", True, True, None, Suppression.do_not_call),
]
RECONTACT_LIMITS = {"NH": 3, "IN": 3}


#: The default result codes' labels in the other languages volunteers use (leads can edit them).
RESULT_CODE_TRANSLATIONS: dict[str, dict[str, str]] = {
    "NH": {"es": "No está", "vi": "Không có nhà", "ko": "부재중", "zh": "不在家"},
    "TK": {"es": "Hablamos", "vi": "Đã nói chuyện", "ko": "대화함", "zh": "已交谈"},
    "RF": {"es": "Se negó", "vi": "Từ chối", "ko": "거절", "zh": "拒绝"},
    "MV": {"es": "Se mudó", "vi": "Đã dọn đi", "ko": "이사함", "zh": "已搬走"},
    "DC": {"es": "Falleció", "vi": "Đã qua đời", "ko": "사망", "zh": "已故"},
    "IN": {"es": "Inaccesible", "vi": "Không vào được", "ko": "접근 불가", "zh": "无法进入"},
    "HO": {"es": "Hostil", "vi": "Thù địch", "ko": "적대적", "zh": "有敌意"},
    "CB": {"es": "Volver más tarde", "vi": "Quay lại sau", "ko": "나중에 다시", "zh": "稍后再来"},
    "LB": {"es": "Barrera de idioma", "vi": "Rào cản ngôn ngữ", "ko": "언어 장벽", "zh": "语言障碍"},
    "WA": {"es": "Dirección equivocada", "vi": "Sai địa chỉ", "ko": "잘못된 주소", "zh": "地址错误"},
    "NA": {"es": "No contestó", "vi": "Không trả lời", "ko": "응답 없음", "zh": "无人接听"},
    "LM": {"es": "Dejé mensaje", "vi": "Đã để lại lời nhắn", "ko": "메시지 남김", "zh": "已留言"},
    "BZ": {"es": "Ocupado", "vi": "Máy bận", "ko": "통화 중", "zh": "占线"},
    "WN": {"es": "Número equivocado", "vi": "Sai số", "ko": "잘못된 번호", "zh": "号码错误"},
    "DS": {"es": "Desconectado", "vi": "Số không liên lạc được", "ko": "결번", "zh": "空号"},
    "CL": {"es": "Llamar después", "vi": "Gọi lại sau", "ko": "다시 전화", "zh": "稍后回电"},
    "DNC": {"es": "No llamar", "vi": "Đừng gọi", "ko": "전화 금지", "zh": "勿再致电"},
}


class CampaignError(UserError):
    """A user-facing problem with a campaign request."""


def slugify(name: str) -> str:
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:63] or "campaign"


def create_campaign(session: Session, name: str, slug: str | None = None) -> Campaign:
    """Returns the new campaign, with default settings and result codes. The caller commits."""
    name = (name or "").strip()
    if not name:
        raise CampaignError(N_("Give the campaign a name."))
    slug = (slug or slugify(name)).strip().lower()
    if not SLUG_RE.match(slug):
        raise CampaignError(N_("“%(slug)s” cannot be a short name: use lowercase letters, digits and dashes."),
                            slug=slug)
    if get_campaign(session, slug):
        raise CampaignError(N_("There is already a campaign with the short name “%(slug)s”."), slug=slug)
    campaign = Campaign(name=name, slug=slug, settings=dict(DEFAULT_SETTINGS))
    session.add(campaign)
    session.flush()
    for position, (code, label, channel, contact, final, retry, suppresses) in enumerate(DEFAULT_RESULT_CODES):
        session.add(ResultCode(campaign_id=campaign.id, code=code, label=label, channel=channel, is_contact=contact,
                               is_final=final, retry_after_hours=retry, max_attempts=RECONTACT_LIMITS.get(code),
                               suppresses=suppresses, position=position,
                               translations=RESULT_CODE_TRANSLATIONS.get(code, {})))
    session.flush()
    return campaign


def get_campaign(session: Session, slug: str) -> Campaign | None:
    return session.exec(select(Campaign).where(Campaign.slug == slug)).first()


def require_campaign(session: Session, slug: str) -> Campaign:
    campaign = get_campaign(session, slug)
    if campaign is None:
        known = ", ".join(c.slug for c in list_campaigns(session)) or "none yet"
        raise CampaignError(N_("No campaign with the short name “%(slug)s” (known: %(known)s)."), slug=slug, known=known)
    return campaign


def list_campaigns(session: Session, *, include_archived: bool = False) -> list[Campaign]:
    """The campaigns people pick from, by name (archived ones only when asked)."""
    query = select(Campaign).order_by(Campaign.name, Campaign.id)
    if not include_archived:
        query = query.where(Campaign.archived.is_(False))
    return list(session.exec(query))


def first_campaign(session: Session) -> Campaign | None:
    """The campaign a page opens on when none is chosen: the first one the picker lists."""
    return session.exec(select(Campaign).where(Campaign.archived.is_(False)).order_by(Campaign.name, Campaign.id)
                        ).first()


def campaign_tags(session: Session, campaign_id: int) -> list[Tag]:
    """The campaign's tags and follow-ups, as the filters and the setup page list them."""
    return list(session.exec(select(Tag).where(Tag.campaign_id == campaign_id).order_by(Tag.kind, Tag.name)))


def active_survey(session: Session, campaign_id: int) -> list[tuple[SurveyQuestion, list[SurveyOption]]]:
    """The questions volunteers ask now, in order, each with its options in order."""
    return [(q, options) for q, options in _survey(session, campaign_id) if q.active]


@dataclass
class Setup:
    """Everything the campaign's setup page shows."""
    scripts: dict[tuple[str, str], str]  # (channel, language) -> text
    survey: list[tuple[SurveyQuestion, list[SurveyOption]]]  # every question, asked now or not
    codes: list[ResultCode]
    tags: list[Tag]
    settings: dict[str, Any]


def setup_of(session: Session, campaign: Campaign) -> Setup:
    scripts = {(s.channel, s.language): s.body
               for s in session.exec(select(Script).where(Script.campaign_id == campaign.id))}
    codes = session.exec(select(ResultCode).where(ResultCode.campaign_id == campaign.id).order_by(ResultCode.position))
    return Setup(scripts=scripts, survey=_survey(session, campaign.id), codes=list(codes),
                 tags=campaign_tags(session, campaign.id), settings={**DEFAULT_SETTINGS, **(campaign.settings or {})})


def _survey(session: Session, campaign_id: int) -> list[tuple[SurveyQuestion, list[SurveyOption]]]:
    questions = list(session.exec(select(SurveyQuestion).where(SurveyQuestion.campaign_id == campaign_id)
                                  .order_by(SurveyQuestion.position)))
    options = session.exec(select(SurveyOption).where(SurveyOption.question_id.in_([q.id for q in questions]))
                           .order_by(SurveyOption.position))
    by_question: dict[int, list[SurveyOption]] = {q.id: [] for q in questions}
    for option in options:
        by_question[option.question_id].append(option)
    return [(q, by_question[q.id]) for q in questions]


def setting(campaign: Campaign, key: str) -> Any:
    return (campaign.settings or {}).get(key, DEFAULT_SETTINGS[key])


def add_member(session: Session, campaign: Campaign, user: User) -> None:
    if session.get(CampaignMember, (campaign.id, user.id)) is None:
        session.add(CampaignMember(campaign_id=campaign.id, user_id=user.id))


# ------------------------------------------------------------------------------------------------------------------
# Setup: scripts, survey, result codes, tags, settings (leads edit these)


def set_script(session: Session, campaign: Campaign, channel: str, language: str, body: str) -> None:
    """Sets (or, when ``body`` is empty, removes) the script for a channel in one language."""
    if language not in LANGUAGE_CODES:
        raise CampaignError(N_("Unknown language %(language)s."), language=language)
    channel = Channel(channel)
    script = session.exec(select(Script).where(Script.campaign_id == campaign.id, Script.channel == channel,
                                               Script.language == language)).first()
    body = body.strip()
    if not body:
        if script is not None:
            session.delete(script)
        return
    script = script or Script(campaign_id=campaign.id, channel=channel, language=language)
    script.body = body
    session.add(script)


def parse_options(text: str) -> list[tuple[str, str]]:
    """Lines ``CODE = Label`` (or just ``Label``, coded 1, 2, 3...) -> [(code, label)]."""
    options = []
    for number, line in enumerate((line.strip() for line in text.splitlines() if line.strip()), start=1):
        code, sep, label = line.partition("=")
        code, label = (code.strip(), label.strip()) if sep else (str(number), line)
        if not code or not label:
            raise CampaignError(N_("Option line %(number)s needs a code and a label, like “Y = Yes”."), number=number)
        options.append((code.upper()[:32], label[:200]))
    codes = [c for c, _ in options]
    if len(codes) != len(set(codes)):
        raise CampaignError(N_("Two options have the same code."))
    return options


def add_question(session: Session, campaign: Campaign, *, code: str, text: str, kind: str, options: str = "",
                 translations: dict[str, str] | None = None):
    """Adds a survey question; scale and yes/no questions get their usual options when none are given."""
    code = re.sub(r"[^A-Z0-9_]", "", code.strip().upper())[:32]
    if not code or not text.strip():
        raise CampaignError(N_("A question needs a short code (SUPPORT) and its text."))
    if session.exec(select(SurveyQuestion).where(SurveyQuestion.campaign_id == campaign.id,
                                                 SurveyQuestion.code == code)).first():
        raise CampaignError(N_("There is already a question %(code)s."), code=code)
    kind = QuestionKind(kind)
    parsed = parse_options(options)
    if not parsed and kind == QuestionKind.scale:
        parsed = [(str(n), str(n)) for n in range(1, 6)]
    if not parsed and kind == QuestionKind.yesno:
        parsed = [("Y", "Yes"), ("N", "No")]
    if kind in (QuestionKind.single, QuestionKind.multi) and len(parsed) < 2:
        raise CampaignError(N_("A choice question needs at least two options, one per line."))
    position = len(session.exec(select(SurveyQuestion.id).where(SurveyQuestion.campaign_id == campaign.id)).all())
    question = SurveyQuestion(campaign_id=campaign.id, code=code, text=text.strip(), kind=kind, position=position,
                              translations={k: v.strip() for k, v in (translations or {}).items() if v.strip()})
    session.add(question)
    session.flush()
    for index, (option_code, label) in enumerate(parsed if kind != QuestionKind.text else []):
        session.add(SurveyOption(question_id=question.id, code=option_code, label=label, position=index))
    session.flush()
    return question


def set_question_active(session: Session, campaign: Campaign, question_id: int, active: bool) -> None:
    question = session.get(SurveyQuestion, question_id)
    if question is None or question.campaign_id != campaign.id:
        raise CampaignError(N_("No such question in this campaign."))
    question.active = active  # answers already given are kept; the question stops being asked
    session.add(question)


def update_result_code(session: Session, campaign: Campaign, code: str, *, label: str, channel: str,
                       is_contact: bool, is_final: bool, retry_after_hours: int | None, suppresses: str,
                       active: bool = True, translations: dict[str, str] | None = None,
                       max_attempts: int | None | EllipsisType = ...) -> ResultCode:
    """Creates or edits a result code and its rules (contact or attempt, final or retry and after how many attempts
    to stop, what it suppresses). ``max_attempts`` left out keeps the code's limit."""
    code = re.sub(r"[^A-Z0-9]", "", code.strip().upper())[:16]
    if not code or not label.strip():
        raise CampaignError(N_("A result code needs a code (NH) and a label (Not home)."))
    if channel not in ("door", "phone", "both"):
        raise CampaignError(N_("A result code is for door, phone or both."))
    if retry_after_hours is not None and not 0 <= retry_after_hours <= 24 * 365:
        raise CampaignError(N_("Retry after a number of hours between 0 and 8760, or leave it empty."))
    if max_attempts is not ... and max_attempts is not None and not 1 <= max_attempts <= 100:
        raise CampaignError(N_("Stop after a number of attempts between 1 and 100, or leave it empty."))
    result = session.exec(select(ResultCode).where(ResultCode.campaign_id == campaign.id,
                                                   ResultCode.code == code)).first()
    if result is None:
        position = len(session.exec(select(ResultCode.id).where(ResultCode.campaign_id == campaign.id)).all())
        result = ResultCode(campaign_id=campaign.id, code=code, position=position)
    result.label, result.channel, result.is_contact, result.is_final = label.strip()[:80], channel, is_contact, is_final
    result.retry_after_hours, result.suppresses, result.active = retry_after_hours, Suppression(suppresses), active
    if max_attempts is not ...:
        result.max_attempts = max_attempts
    if translations is not None:
        result.translations = {**(result.translations or {}),
                               **{k: v.strip() for k, v in translations.items() if v.strip()}}
    session.add(result)
    session.flush()
    return result


def add_tag(session: Session, campaign: Campaign, name: str, kind: str = "tag", translations: dict | None = None):
    name = name.strip()
    if not name:
        raise CampaignError(N_("Give the tag a name."))
    if session.exec(select(Tag).where(Tag.campaign_id == campaign.id, Tag.name == name)).first():
        raise CampaignError(N_("There is already a tag “%(name)s”."), name=name)
    tag = Tag(campaign_id=campaign.id, name=name[:80], kind=TagKind(kind),
              translations={k: v.strip() for k, v in (translations or {}).items() if v.strip()})
    session.add(tag)
    session.flush()
    return tag


SETTING_NAMES = {"no_answer_retry_hours": Phrase(N_("Hours before calling again after no answer")),
                 "max_call_attempts": Phrase(N_("Calls per person at most")),
                 "lease_minutes": Phrase(N_("Minutes a caller keeps a person")),
                 "shift_expected_minutes": Phrase(N_("Expected length of a shift, in minutes"))}


def update_settings(session: Session, campaign: Campaign, values: dict[str, Any]) -> None:
    """Validates and stores the campaign's settings (calling hours, retries, what volunteers see)."""
    settings = {**DEFAULT_SETTINGS, **(campaign.settings or {})}
    hours = values.get("calling_hours", settings["calling_hours"])
    if not (isinstance(hours, list | tuple) and len(hours) == 2 and all(re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", h)
                                                                       for h in hours) and hours[0] < hours[1]):
        raise CampaignError(N_("Calling hours are two times like 09:00 and 21:00, the first earlier."))
    settings["calling_hours"] = list(hours)
    for key, low, high in (("no_answer_retry_hours", 0, 24 * 14), ("max_call_attempts", 1, 20),
                           ("lease_minutes", 1, 120), ("shift_expected_minutes", 15, 24 * 60)):
        if key in values:
            try:
                number = int(values[key])
            except (TypeError, ValueError) as exc:
                raise CampaignError(N_("%(setting)s must be a whole number."), setting=SETTING_NAMES[key]) from exc
            if not low <= number <= high:
                raise CampaignError(N_("%(setting)s must be between %(low)s and %(high)s."), setting=SETTING_NAMES[key],
                                    low=low, high=high)
            settings[key] = number
    if "show_party" in values:
        settings["show_party"] = bool(values["show_party"])
    campaign.settings = settings
    session.add(campaign)
