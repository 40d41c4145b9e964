"""Drive the Django admin's user pages the way an administrator does: load the change
form, keep every value it shows, change some, post it back."""

from __future__ import annotations

from typing import Any

from django.forms import CheckboxInput, MultiWidget, SelectMultiple


def _form_data(form: Any, prefix: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        if field.disabled:
            continue
        key = f"{prefix}-{name}" if prefix else name
        value = form[name].value()
        widget = getattr(field.widget, "widget", field.widget)  # unwrap the admin's related-field wrapper
        if isinstance(widget, CheckboxInput):
            if value:
                data[key] = "on"
        elif isinstance(widget, MultiWidget):
            for index, part in enumerate(widget.decompress(value)):
                data[f"{key}_{index}"] = "" if part is None else str(part)
        elif isinstance(widget, SelectMultiple) or isinstance(value, (list, tuple)):
            data[key] = [str(getattr(v, "pk", v)) for v in (value or [])]
        else:
            data[key] = "" if value is None else str(getattr(value, "pk", value))
    return data


def admin_user_change(client: Any, user: Any, *, roles: list[str] | None = None, **changes: Any) -> Any:
    """Post the admin change form of ``user`` with ``changes`` (field name -> value; a
    boolean for check boxes, a model or pk for foreign keys) and, when given, exactly
    these ``roles`` in the roles inline. Returns the response (302 on success)."""
    url = f"/admin/directory/user/{user.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    data = _form_data(page.context["adminform"].form)
    for name, value in changes.items():
        if isinstance(value, bool):
            if value:
                data[name] = "on"
            else:
                data.pop(name, None)
        else:
            data[name] = str(getattr(value, "pk", value))
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        prefix = formset.prefix
        data.update(_form_data(formset.management_form, prefix))
        kept: set[str] = set()
        for index, form in enumerate(formset.initial_forms):
            data.update(_form_data(form, f"{prefix}-{index}"))
            role = form["role"].value()
            if roles is not None and role not in roles:
                data[f"{prefix}-{index}-DELETE"] = "on"
            kept.add(role)
        total = len(formset.initial_forms)
        for role in [r for r in (roles or []) if r not in kept]:
            data[f"{prefix}-{total}-role"] = role
            data[f"{prefix}-{total}-user"] = str(user.pk)
            total += 1
        data[f"{prefix}-TOTAL_FORMS"] = str(total)
    data["_save"] = "保存"
    return client.post(url, data)


def admin_user_set_password(client: Any, user: Any, password: str) -> Any:
    return client.post(
        f"/admin/directory/user/{user.pk}/password/",
        {"usable_password": "true", "password1": password, "password2": password},
    )
