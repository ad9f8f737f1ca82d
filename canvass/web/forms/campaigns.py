"""The campaign pages' forms: a new campaign, and its set-up (scripts, survey, result codes, tags, settings)."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, InputRequired, Regexp

from canvass.campaigns import LANGUAGE_CODES, Setup
from canvass.models import LANGUAGE_NAMES, Channel, QuestionKind, Suppression, TagKind
from canvass.web.forms import Form, Switch, at_most, whole_number, word_choices

#: Languages a campaign's texts are written in besides English (questions); result codes and tags carry the two
#: the app is translated into.
OTHER_LANGUAGES = tuple(code for code in LANGUAGE_CODES if code != "en")
TRANSLATED = ("es", "vi")
TAMPERED = _l("This form was changed after the page was drawn. Load the page again.")
TIME = Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", message=_l("A time like 09:00 or 17:30."))


class CampaignForm(Form):
    name = StringField(_l("Name"), [DataRequired(_l("Give the campaign a name.")), at_most(120)])
    slug = StringField(_l("Short name (optional)"), [at_most(63)])


class ScriptForm(Form):
    channel = HiddenField(validators=[AnyOf([c.value for c in Channel], message=TAMPERED)])
    language = HiddenField(validators=[AnyOf(LANGUAGE_CODES, message=TAMPERED)])
    body = TextAreaField(_l("Script"), [at_most(4000)])


class QuestionForm(Form):
    code = StringField(_l("Code (column in exports)"), [
        DataRequired(_l("Give the question a short code, such as SUPPORT.")), at_most(32),
        Regexp(r"^\s*[A-Za-z0-9_]+\s*$", message=_l("Letters, digits and _ only, such as SUPPORT or TOP_ISSUE."))])
    kind = SelectField(_l("Kind"), choices=[
        SelectChoice(QuestionKind.scale.value, _l("Support scale 1-5")),
        SelectChoice(QuestionKind.single.value, _l("One choice")),
        SelectChoice(QuestionKind.multi.value, _l("Several choices")),
        SelectChoice(QuestionKind.yesno.value, _l("Yes / no")), SelectChoice(QuestionKind.text.value, _l("Free text"))],
        invalid_choice_message=_l("Choose one from the list."))
    text = StringField(_l("Question (English)"), [DataRequired(_l("Write the question.")), at_most(500)])
    options = TextAreaField(_l("Options, one per line: CODE = Label"), [at_most(4000)])

    def translations(self) -> dict[str, str]:
        return {code: self[f"text_{code}"].data or "" for code in OTHER_LANGUAGES}


for _code in OTHER_LANGUAGES:
    setattr(QuestionForm, f"text_{_code}", StringField(_l("Question in %(language)s", language=LANGUAGE_NAMES[_code]),
                                                       [at_most(500)]))


class QuestionActiveForm(Form):
    active = Switch()


class CodeForm(Form):
    """A result code and its rules: the rows of the set-up page, and the row that adds one."""

    code = StringField(_l("Code"), [DataRequired(_l("Give the result a short code, such as NH.")), at_most(16),
                                    Regexp(r"^\s*[A-Za-z0-9]+\s*$", message=_l("Letters and digits only, such as NH."))])
    label = StringField(_l("Label"), [DataRequired(_l("Give the result a label, such as Not home.")), at_most(80)])
    label_es = StringField(_l("Spanish"), [at_most(80)])
    label_vi = StringField(_l("Vietnamese"), [at_most(80)])
    channel = SelectField(_l("Used for"), choices=word_choices(("door", "phone", "both")), default="door",
                          invalid_choice_message=_l("Choose one from the list."))
    is_contact = Switch(_l("Counts as a contact"))
    is_final = Switch(_l("Final"))
    retry_after_hours = whole_number(_l("Try again after (hours)"), 0, 24 * 365)
    max_attempts = whole_number(_l("Stop after (attempts)"), 1, 100)
    suppresses = SelectField(_l("Also"), choices=word_choices(Suppression), default=Suppression.none.value,
                             invalid_choice_message=_l("Choose one from the list."))
    active = Switch(_l("In use"), default=True)

    def translations(self) -> dict[str, str]:
        return {code: self[f"label_{code}"].data or "" for code in TRANSLATED}


class TagForm(Form):
    name = StringField(_l("Name"), [DataRequired(_l("Give the tag a name.")), at_most(80)])
    kind = SelectField(_l("Kind"), choices=[
        SelectChoice(TagKind.followup.value, _l("Follow-up volunteers tick at the door")),
        SelectChoice(TagKind.tag.value, _l("Tag for lists"))],
                       invalid_choice_message=_l("Choose one from the list."))
    name_es = StringField(_l("Spanish"), [at_most(80)])
    name_vi = StringField(_l("Vietnamese"), [at_most(80)])

    def translations(self) -> dict[str, str]:
        return {code: self[f"name_{code}"].data or "" for code in TRANSLATED}


class SettingsForm(Form):
    calling_from = StringField(_l("Calls from"), [InputRequired(_l("A time like 09:00 or 17:30.")), TIME])
    calling_to = StringField(_l("Calls until"), [InputRequired(_l("A time like 09:00 or 17:30.")), TIME])
    no_answer_retry_hours = whole_number(_l("Call a no-answer again after (hours)"), 0, 24 * 14, required=True)
    max_call_attempts = whole_number(_l("Most call attempts per person"), 1, 20, required=True)
    lease_minutes = whole_number(_l("A caller holds a person for (minutes)"), 1, 120, required=True)
    shift_expected_minutes = whole_number(_l("A checked-in volunteer is overdue after (minutes)"), 15, 24 * 60,
                                          required=True)
    show_party = Switch(_l("Volunteers see people's party"))

    def values(self) -> dict:
        """The settings as ``campaigns.update_settings`` takes them."""
        return {"calling_hours": [self.calling_from.data.strip(), self.calling_to.data.strip()],
                "no_answer_retry_hours": self.no_answer_retry_hours.data,
                "max_call_attempts": self.max_call_attempts.data, "lease_minutes": self.lease_minutes.data,
                "shift_expected_minutes": self.shift_expected_minutes.data, "show_party": self.show_party.data}


@dataclass
class SetupForms:
    """Every form of the set-up page, filled from the campaign; the one just sent, when it failed, in its place."""

    scripts: dict[tuple[str, str], ScriptForm] = field(default_factory=dict)
    codes: list[CodeForm] = field(default_factory=list)
    new_code: CodeForm | None = None
    question: QuestionForm | None = None
    tag: TagForm | None = None
    settings: SettingsForm | None = None


def setup_forms(setup: Setup, sent: Form | None = None) -> SetupForms:
    """The set-up page's forms. ``sent`` (a form that failed) replaces the one it was drawn as, so its errors and
    what was typed show where it was typed; each field gets an id unique on the page."""
    waiting = [sent] if sent is not None else []

    def placed(drawn: Form, prefix: str) -> Form:
        form = waiting.pop() if waiting and _same(drawn, waiting[0]) else drawn
        for item in form:
            item.id = item.label.field_id = f"{prefix}-{item.name}"
        return form

    forms = SetupForms()
    for channel in (Channel.door.value, Channel.phone.value, Channel.relational.value):
        for language in LANGUAGE_NAMES:
            forms.scripts[channel, language] = placed(ScriptForm(
                formdata=None, channel=channel, language=language, body=setup.scripts.get((channel, language), "")),
                f"script-{channel}-{language}")
    forms.codes = [placed(CodeForm(formdata=None, obj=code, label_es=code.translations.get("es", ""),
                                   label_vi=code.translations.get("vi", "")), f"code-{code.code}")
                   for code in setup.codes]
    forms.new_code = placed(CodeForm(formdata=None), "new-code")
    forms.question = placed(QuestionForm(formdata=None), "q")
    forms.tag = placed(TagForm(formdata=None), "tag")
    calling_from, calling_to = setup.settings["calling_hours"]
    forms.settings = placed(SettingsForm(formdata=None, data={**setup.settings, "calling_from": calling_from,
                                                             "calling_to": calling_to}), "settings")
    return forms


def _same(drawn: Form, sent: Form) -> bool:
    """Whether the form ``sent`` is the one ``drawn`` stands for on the page (a new result code's form stands for
    any code that has no row yet: rows come first)."""
    if type(drawn) is not type(sent):
        return False
    if isinstance(sent, ScriptForm):
        return (drawn.channel.data, drawn.language.data) == (sent.channel.data, sent.language.data)
    if isinstance(sent, CodeForm) and drawn.code.data:
        return drawn.code.data == (sent.code.data or "").strip().upper()
    return True


# ------------------------------------------------------------------------------------------------------------------
# Retention (admins): close, reopen, purge


class CloseForm(Form):
    days = whole_number(_l("Keep its personal data for (days)"), 0, 3650, required=True)


class ReopenForm(Form):
    pass


class PurgeForm(Form):
    name = StringField(_l("Type the campaign's name to confirm"),
                       [DataRequired(_l("Type the campaign's name to confirm.")), at_most(120)])
