"""Every config key with its type, default and description, generated from the pydantic models.

``mnemoscope config-schema`` prints it; nothing is written by hand, so it cannot go stale.
"""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined


def config_rows(model: type[BaseModel], prefix: str = "") -> list[dict[str, str]]:
    """One row per leaf key: ``key`` (dotted path), ``type``, ``default``, ``description``.

    Nested models are expanded; a union of models (e.g. the objective) is expanded once per
    member, keyed ``objective[name=simclr].temperature``.
    """
    rows: list[dict[str, str]] = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        members = _model_members(field.annotation)
        if members:
            for member in members:
                tag = member.model_fields.get("name") or member.model_fields.get("study")
                label = (
                    f"{key}[name={tag.default}]" if tag is not None and len(members) > 1 else key
                )
                rows.extend(config_rows(member, f"{label}."))
            continue
        rows.append(
            {
                "key": key,
                "type": _type_name(field.annotation),
                "default": _default(field),
                "description": field.description or "",
            }
        )
    return rows


def markdown(model: type[BaseModel], title: str) -> str:
    lines = [f"## {title}", "", "| key | type | default | description |", "|---|---|---|---|"]
    for row in config_rows(model):
        cells = [row["key"], row["type"], row["default"], row["description"]]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def _model_members(annotation: Any) -> list[type[BaseModel]]:
    """The BaseModel classes an annotation is made of (through Optional/Union/Annotated)."""
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if members and all(isinstance(m, type) and issubclass(m, BaseModel) for m in members):
            return members
    return []


def _type_name(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) if isinstance(annotation, type) else None
    return text or str(annotation).replace("typing.", "")


def _default(field: Any) -> str:
    if field.default is not PydanticUndefined:
        return repr(field.default)
    if field.default_factory is not None:
        value = field.default_factory()
        return repr(value.model_dump() if isinstance(value, BaseModel) else value)
    return "required"
