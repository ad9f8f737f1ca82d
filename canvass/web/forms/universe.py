"""The universe filters a lead sets on the turf board and the call-list page: one form, read from a GET's query
(counting) or from the fields a POST carries along (cutting turf, making a call list)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import DateField, IntegerField, SelectChoice, SelectField, StringField
from wtforms.validators import InputRequired, Optional
from wtforms.widgets import HiddenInput

from canvass.models import ElectionKind
from canvass.universe import MAX_AGE, MAX_ELECTIONS, Universe
from canvass.web.forms import Form, PickSome, Switch, at_most, whole_number, word_choices

AGES = _l("Ages are whole numbers of years between 0 and %(max)s, such as 18 or 65.", max=MAX_AGE)
TAMPERED = _l("This form was changed after the page was drawn. Load the page again.")


class UniverseForm(Form):
    precincts = StringField(_l("Precincts"), [at_most(2000)])
    zips = StringField(_l("ZIP codes"), [at_most(2000)])
    parties = StringField(_l("Parties"), [at_most(500)])
    language_list = StringField(_l("Languages"), [at_most(200)])
    min_age = whole_number(_l("Age from"), 0, MAX_AGE, message=AGES)
    max_age = whole_number(_l("Age to"), 0, MAX_AGE, message=AGES)
    custom_key = StringField(_l("Custom field"), [at_most(100)])
    custom_value = StringField(_l("equals"), [at_most(200)])
    tag_ids = PickSome(_l("Tags"), message=_l("Choose the tags from the list."))
    not_reached = Switch()
    next_pass = Switch()
    # Vote history (canvass.turnout)
    election_kind = SelectField(_l("Elections counted"), default=ElectionKind.general.value,
                                choices=word_choices(list(ElectionKind)),
                                invalid_choice_message=_l("Choose one from the list."))
    last_elections = whole_number(_l("Of the last … elections"), 1, MAX_ELECTIONS)
    voted_at_least = whole_number(_l("voted in at least"), 0, MAX_ELECTIONS)
    voted_at_most = whole_number(_l("voted in at most"), 0, MAX_ELECTIONS)
    max_turnout = whole_number(_l("Turnout at most (%)"), 0, 100)
    registered_since = DateField(_l("Registered since"), [Optional()],
                                 invalid_value_message=_l("Give the date as on a calendar, such as 2024-01-31."))
    never_voted = Switch()

    #: The fields a POST form carries along (hidden) from the counting form above it.
    FILTERS = ("precincts", "zips", "parties", "language_list", "min_age", "max_age", "custom_key", "custom_value",
               "tag_ids", "not_reached", "next_pass", "election_kind", "last_elections", "voted_at_least", "voted_at_most",
               "max_turnout", "registered_since", "never_voted")

    @property
    def filters_invalid(self) -> bool:
        """Whether a filter holds a value that cannot be counted (the form's other fields aside)."""
        return any(self[name].errors for name in self.FILTERS)

    @property
    def filters_given(self) -> bool:
        """Whether any filter holds a value or an error (its folded section is then shown open)."""
        return any(self[name].errors or self[name].data not in (None, "", [], False)
                   for name in self.FILTERS if name != "election_kind")

    def offer_tags(self, tags) -> UniverseForm:
        """The campaign's tags are what ``tag_ids`` may hold."""
        self.tag_ids.choices = [SelectChoice(tag.id, tag.name) for tag in tags]
        return self

    def universe(self) -> Universe:
        """The universe the fields describe (a valid form); ``UniverseError`` says which value is wrong."""
        key = (self.custom_key.data or "").strip()
        return Universe.from_dict({
            "precincts": self.precincts.data or "", "zips": self.zips.data or "", "parties": self.parties.data or "",
            "languages": self.language_list.data or "", "min_age": self.min_age.data, "max_age": self.max_age.data,
            "tag_ids": self.tag_ids.data or [], "custom": {key: (self.custom_value.data or "").strip()} if key else {},
            "not_reached": self.not_reached.data, "next_pass": self.next_pass.data, "election_kind": self.election_kind.data,
            "last_elections": self.last_elections.data, "voted_at_least": self.voted_at_least.data,
            "voted_at_most": self.voted_at_most.data, "max_turnout": self.max_turnout.data,
            "registered_since": self.registered_since.data, "never_voted": self.never_voted.data})


def campaign_field() -> IntegerField:
    """The campaign a form is about, carried as a hidden field."""
    return IntegerField(widget=HiddenInput(), validators=[InputRequired(TAMPERED)], invalid_value_message=TAMPERED)


def counting_form(query, tags=()) -> UniverseForm:
    """The filters as the counting form (a GET) sent them, checked; no CSRF token, as nothing is written."""
    form = UniverseForm(formdata=query, meta={"csrf": False}).offer_tags(tags)
    form.validate()
    return form
