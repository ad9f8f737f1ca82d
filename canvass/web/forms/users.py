"""The accounts page's forms: inviting someone, changing a role, (de)activating an account."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, SelectField, StringField
from wtforms.validators import DataRequired, Email

from canvass.web.forms import Form, Switch, at_most, word_choices
from canvass.web.forms.auth import LANGUAGE_CHOICES

ROLE_MESSAGE = _l("Choose one of the roles listed.")


class InviteForm(Form):
    email = EmailField(_l("Email"), [DataRequired(_l("Give their email address.")), at_most(254),
                                     Email(_l("That is not an email address, such as ana@example.org."))])
    name = StringField(_l("Name"), [at_most(120)])
    role = SelectField(_l("Role"), invalid_choice_message=ROLE_MESSAGE)
    language = SelectField(_l("Language"), choices=LANGUAGE_CHOICES,
                           invalid_choice_message=_l("Choose one from the list."))

    def offer(self, roles) -> InviteForm:
        """Offers these roles (the ones the user may invite), volunteer first, in words."""
        self.role.choices = word_choices(sorted(roles, key=lambda role: role != "volunteer"))
        return self


class RoleForm(Form):
    role = SelectField(_l("Role"), invalid_choice_message=ROLE_MESSAGE)

    def offer(self, roles) -> RoleForm:
        self.role.choices = word_choices(roles)
        return self


class ActiveForm(Form):
    active = Switch()
