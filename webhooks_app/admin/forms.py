"""Admin forms: event rules (JSON with located errors), the sample event an operator previews
or test-sends, and what the webhook form (:mod:`.webhook_form`) shares."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from django import forms
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.text import capfirst

from webhooks_app.capture.serialization import model_label, registered_models
from webhooks_app.choices import EventType
from webhooks_app.models import EventRule
from webhooks_app.models.validators import (
    MAX_ID,
    InvalidJSON,
    load_json,
    validate_storable_json,
)

__all__ = ["EventRuleForm", "JSONTextField", "SampleEventForm", "code_textarea"]

# django-stubs makes ModelForm generic, but Django's class cannot be subscripted at run time.
if TYPE_CHECKING:
    EventRuleFormBase = forms.ModelForm[EventRule]
    ContentTypeMultipleChoiceField = forms.ModelMultipleChoiceField[ContentType]
else:
    EventRuleFormBase = forms.ModelForm
    ContentTypeMultipleChoiceField = forms.ModelMultipleChoiceField

CODE_CLASS = "vLargeTextField webhooks-code"


def code_textarea(rows: int = 8) -> forms.Textarea:
    """A monospace textarea for templates and JSON (no spell checking, no autocorrect)."""
    return forms.Textarea(
        attrs={"class": CODE_CLASS, "rows": rows, "spellcheck": "false", "autocapitalize": "off"}
    )


class JSONTextField(forms.JSONField):
    """JSON in a monospace textarea: errors give the line and column; empty means null. Decoded
    by the same bounded decoder as the API's bodies, and held to what every database stores."""

    default_validators = [validate_storable_json]

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", code_textarea())
        super().__init__(**kwargs)
        # A ModelForm replaces the message of any model validation error whose code is a key
        # here; the model's own "invalid" messages (e.g. "must be an object") are the useful ones.
        self.error_messages.pop("invalid", None)

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and value.strip() and not self.disabled:
            try:
                load_json(value)
            except InvalidJSON as exc:
                raise ValidationError(exc.describe(), code="invalid_json") from exc
        return super().to_python(value)

    def bound_data(self, data: Any, initial: Any) -> Any:
        # A form shown again (with errors) shows the text as typed, which the errors' lines and
        # columns refer to. Django's own decodes it with json.loads (RecursionError, ValueError)
        # and writes it again (an unpaired surrogate cannot be written to the page).
        if self.disabled or not isinstance(data, str):
            return super().bound_data(data, initial)
        return forms.fields.InvalidJSONInput(data)

    def prepare_value(self, value: Any) -> Any:
        if value is None or isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, indent=2, ensure_ascii=False)


def _content_type_label(content_type: ContentType) -> str:
    model = content_type.model_class()
    if model is None:
        return f"{content_type.app_label}.{content_type.model} (missing model)"
    return f"{capfirst(model._meta.verbose_name)} ({model_label(model)})"


class ContentTypeChoiceField(ContentTypeMultipleChoiceField):
    def label_from_instance(self, obj: ContentType) -> str:
        return _content_type_label(obj)

    def clean(self, value: Any) -> Any:
        # A value that cannot be an id is not a choice; Django would query it, and SQLite
        # cannot even compare an integer beyond 64 bits (OverflowError, a 500).
        for pk in value if isinstance(value, (list, tuple)) else []:
            text = str(pk)
            if not (text.isascii() and text.isdigit()) or not 0 < int(text) <= MAX_ID:
                raise ValidationError(
                    self.error_messages["invalid_choice"],
                    code="invalid_choice",
                    params={"value": pk},
                )
        return super().clean(value)


def registered_content_types(also: list[int] | None = None) -> models.QuerySet[ContentType]:
    """Content types of the models allowed in rules, plus ``also`` (ids already chosen)."""
    registered = ContentType.objects.get_for_models(*registered_models(), for_concrete_models=False)
    ids = {ct.pk for ct in registered.values()}
    return ContentType.objects.filter(Q(pk__in=ids) | Q(pk__in=also or [])).order_by(
        "app_label", "model"
    )


class EventRuleForm(EventRuleFormBase):
    object_types = ContentTypeChoiceField(
        queryset=ContentType.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text="The models whose changes trigger this rule.",
    )
    event_types = forms.MultipleChoiceField(
        choices=EventType.choices,
        widget=forms.CheckboxSelectMultiple,
        help_text="The changes that trigger this rule.",
    )
    conditions = JSONTextField(
        required=False,
        help_text='Optional JSON, for example {"attr": "status.value", "value": "active"} or '
        '{"and": [...]}; operators: eq gt gte lt lte in contains regex, "negate": true.',
    )
    action_data = JSONTextField(
        required=False,
        widget=code_textarea(rows=4),
        help_text="Optional JSON object merged into the payload's data (object fields win).",
    )

    class Meta:
        model = EventRule
        fields = [
            "name",
            "description",
            "enabled",
            "object_types",
            "event_types",
            "conditions",
            "webhook",
            "action_data",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        chosen = (
            list(self.instance.object_types.values_list("pk", flat=True))
            if self.instance.pk
            else []
        )
        field = self.fields["object_types"]
        assert isinstance(field, ContentTypeChoiceField)
        field.queryset = registered_content_types(chosen)

    def clean_action_data(self) -> Any:
        # Checked here as well as by the model: the model validator's message is replaced by
        # JSONField's generic "Value must be valid JSON." (its error code is "invalid").
        value = self.cleaned_data.get("action_data")
        if value is not None and not isinstance(value, dict):
            raise ValidationError(
                "Action data must be a JSON object or null.", code="not_an_object"
            )
        return value


class SampleEventForm(forms.Form):
    """Which event to preview or test-send: a real object of a registered model, or a
    synthetic sample object."""

    object_type = forms.ChoiceField(
        required=False,
        help_text="Leave on the synthetic sample to use a made-up object.",
    )
    object_id = forms.CharField(required=False, max_length=64, label="Object ID")
    event_type = forms.ChoiceField(choices=EventType.choices, initial=EventType.OBJECT_CREATED)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "Synthetic sample object")]
        choices += [
            (model_label(m), f"{capfirst(m._meta.verbose_name)} ({model_label(m)})")
            for m in registered_models()
        ]
        field = self.fields["object_type"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        label = cleaned.get("object_type") or ""
        object_id = (cleaned.get("object_id") or "").strip()
        cleaned["instance"] = None
        if not label:
            if object_id:
                self.add_error("object_type", "Choose the type of object the ID belongs to.")
            return cleaned
        if not object_id:
            self.add_error("object_id", "Enter the ID of an object, or use the synthetic sample.")
            return cleaned
        model = apps.get_model(label)
        try:
            cleaned["instance"] = model._default_manager.get(pk=object_id)
        except (model.DoesNotExist, ValueError, ValidationError):
            self.add_error(
                "object_id", f"There is no {model._meta.verbose_name} with ID {object_id!r}."
            )
        return cleaned

    @property
    def chosen_instance(self) -> models.Model | None:
        """The chosen object (None for the synthetic sample or an invalid form)."""
        return self.cleaned_data.get("instance") if self.is_valid() else None

    @property
    def chosen_event_type(self) -> str:
        if self.is_valid():
            return str(self.cleaned_data["event_type"])
        return EventType.OBJECT_CREATED
