"""Structural problems, told where they are: pydantic's errors mapped back to the YAML
position they concern, with a sentence and a hint (the nearest valid key, the anchors
that exist, how a time is written)."""

from __future__ import annotations

import difflib
import typing
from typing import Any

from pydantic import BaseModel, ValidationError

from iba_workflow.errors import Problem

from .model import STEP_KINDS, Definition
from .words import suggest, suggest_anchor

PathT = tuple[str | int, ...]


class Positions:
    """Where each value (and each mapping key) sits in the YAML text (1-based)."""

    def __init__(self) -> None:
        self.values: dict[PathT, tuple[int, int]] = {}
        self.keys: dict[PathT, tuple[int, int]] = {}

    def of(self, path: PathT, *, key: bool = False) -> tuple[int | None, int | None]:
        table = self.keys if key else self.values
        probe = path
        while probe:
            if probe in table:
                return table[probe]
            if key and probe in self.values:
                return self.values[probe]
            probe = probe[:-1]
            table = self.values
        return self.values.get((), (None, None))  # type: ignore[return-value]


def _clean_loc(loc: tuple[Any, ...], data: Any) -> tuple[PathT, Any]:
    """Drop the parts of a pydantic loc that are union tags, not YAML keys."""
    path: list[str | int] = []
    node = data
    for part in loc:
        if (isinstance(node, dict) and isinstance(part, str) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        ):
            path.append(part)
            node = node[part]  # type: ignore[index]
        elif isinstance(part, str) and (
            part in STEP_KINDS or part in _UNION_MEMBER_NAMES or "[" in part or part[:1].isupper()
        ):
            continue  # a discriminator tag or union member name, never a YAML key
        else:
            path.append(part)
            node = None
    return tuple(path), node


_UNION_MEMBER_NAMES = {"float", "rolling", "cohort", "int", "str", "bool", "date"}


def _model_at(path: PathT, data: Any) -> type[BaseModel] | None:
    """The pydantic model that validates the mapping at ``path`` (for key hints)."""
    annotation: Any = Definition
    node = data
    for part in path:
        if isinstance(part, int):
            node = node[part] if isinstance(node, list) and 0 <= part < len(node) else None
            continue
        model = _resolve_model(annotation, node)
        field = model.model_fields.get(part) if model is not None else None
        if field is None:
            return None
        annotation = field.annotation
        node = node.get(part) if isinstance(node, dict) else None
    return _resolve_model(annotation, node)


def _resolve_model(annotation: Any, node: Any) -> type[BaseModel] | None:
    """Unwrap Annotated / list / dict / unions down to the model that fits ``node``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _resolve_model(args[0], node)
    if origin in (list, dict):
        return _resolve_model(args[-1], node)
    models = [m for m in (_resolve_model(a, node) for a in args) if m is not None]
    kind = node.get("kind") if isinstance(node, dict) else None
    for candidate in models:
        tag = candidate.model_fields.get("kind")
        if tag is not None and kind in typing.get_args(tag.annotation):
            return candidate
    untagged = [m for m in models if "kind" not in m.model_fields]
    return untagged[0] if len(untagged) == 1 else None


def _describe_where(path: PathT, data: Any) -> str:
    if len(path) >= 2 and path[0] == "steps" and isinstance(path[1], int):
        steps = data.get("steps") if isinstance(data, dict) else None
        if isinstance(steps, list) and path[1] < len(steps) and isinstance(steps[path[1]], dict):
            sid = steps[path[1]].get("id")
            if isinstance(sid, str):
                return f" in step '{sid}'"
        return f" in steps[{path[1]}]"
    if len(path) >= 2 and path[0] == "roles" and isinstance(path[1], int):
        return f" in roles[{path[1]}]"
    return ""


def structure_problems(exc: ValidationError, data: Any, pos: Positions, file: str) -> list[Problem]:
    grouped: dict[tuple[PathT, str], list[Any]] = {}
    first_item: dict[PathT, PathT] = {}
    for err in exc.errors(include_url=False):
        path, _ = _clean_loc(tuple(err["loc"]), data)
        kind = err["type"]
        if kind == "union_tag_invalid":
            path = (*path, "kind")
        if path and isinstance(path[-1], int) and len(path) >= 2 and path[-2] == "weekdays":
            # every wrong weekday of one list in one problem, placed at the first of them
            first_item.setdefault(path[:-1], path)
            path = path[:-1]
        group = "value" if kind not in ("extra_forbidden", "missing") else kind
        grouped.setdefault((path, group), []).append(err)

    problems: list[Problem] = []
    for (path, group), errs in grouped.items():
        err = errs[0]
        where = _describe_where(path, data)
        name = _key_name(path)
        hint: str | None = None
        if group == "extra_forbidden":
            parent = _model_at(path[:-1], data)
            valid = sorted(_keys_of(parent)) if parent else []
            close = difflib.get_close_matches(name, valid, n=1, cutoff=0.6)
            if close:
                hint = f"did you mean '{close[0]}'?"
            elif valid:
                hint = "valid keys here: " + ", ".join(valid)
            line, col = pos.of(path, key=True)
            problems.append(
                Problem(
                    f"unknown key '{name}'{where}",
                    file=file,
                    line=line,
                    column=col,
                    hint=hint,
                    path=path,
                )
            )
            continue
        if group == "missing":
            parent = _model_at(path[:-1], data)
            desc = None
            if parent is not None and name in parent.model_fields:
                desc = parent.model_fields[name].description
            hint = f"add '{name}:'" + (f" ({desc})" if desc else "")
            line, col = pos.of(path[:-1])
            problems.append(
                Problem(
                    f"missing required key '{name}'{where}",
                    file=file,
                    line=line,
                    column=col,
                    hint=hint,
                    path=path,
                )
            )
            continue
        messages = []
        explained = (
            _explain_weekdays(errs)
            if name == "weekdays" and path and path[-1] == "weekdays"
            else None
        )
        explained = explained or _explain_field(name, errs) or [_explain(e, name) for e in errs]
        for msg, h in explained:
            if msg not in messages:
                messages.append(msg)
            hint = hint or h
        line, col = pos.of(first_item.get(path, path))
        text = " or ".join(messages) if len(messages) <= 3 else messages[0]
        problems.append(
            Problem(
                f"{_label(path)}{where}: {text}",
                file=file,
                line=line,
                column=col,
                hint=hint,
                path=path,
            )
        )
    return sorted(problems, key=lambda p: (p.line or 0, p.column or 0))


def _keys_of(model: type[BaseModel]) -> set[str]:
    keys = set()
    for fname, field in model.model_fields.items():
        keys.add(field.alias or fname)
    return keys


def _key_name(path: PathT) -> str:
    """The YAML key a problem is about (for an item of a list, the list's key)."""
    keys = [p for p in path if isinstance(p, str)]
    return keys[-1] if keys else "document"


def _label(path: PathT) -> str:
    """How a message names the value: 'weekdays', or 'reminders' (item 2)."""
    label = f"'{_key_name(path)}'"
    if path and isinstance(path[-1], int):
        label += f" (item {path[-1] + 1})"
    return label


def _shown(value: Any) -> str:
    """A value as a person wrote it, in words where its type matters."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return f"'{str(value).lower()}'"
    if hasattr(value, "isoformat"):
        return f"the date {value.isoformat()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    return repr(value)


# What a key expects, in words, and how to write it: used when a value has the wrong type.
EXPECTED: dict[str, tuple[str, str]] = {
    "hours_per_week": (
        "a number of hours (e.g. 25) or a range of hours",
        "write a range as '{min: 2, max: 6}'",
    ),
    "offset": (
        "a distance in time from the anchor",
        "write '{days: N}', '{weeks: N}' or '{working_days: N}' (negative goes back); "
        "a fixed date for a cohort belongs under the cohort's 'dates:'",
    ),
    "after": ("a distance in time", "write e.g. '{working_days: 3}'"),
    "lead": ("a distance in time before the start", "write e.g. '{weeks: 2}'"),
    "when": (
        "a mapping with anchor, offset, shift and time",
        "write e.g. '{anchor: start, offset: {working_days: 2}, time: \"10:00\"}'",
    ),
    "repeat": (
        "a mapping with weekdays, start and until or count",
        "write e.g. '{weekdays: [tue], start: {anchor: start}, until: {anchor: end}}'",
    ),
    "duration": (
        "a mapping with weeks (or min_weeks, max_weeks and default_weeks)",
        "write e.g. '{weeks: 13}'",
    ),
    "time": (
        "a time of day, HH:MM",
        'write the time in quotes, e.g. time: "10:00"',
    ),
    "weekdays": ("a list of weekdays", "write e.g. '[mon, wed]'"),
    "version": ("a whole number", "write e.g. 'version: 2'"),
    "capacity": ("a whole number of participants", "write e.g. 'capacity: 15'"),
    "start": ("a date (YYYY-MM-DD) or an anchor mapping", "write e.g. '{anchor: start}'"),
}
VALUE_ERROR_HINTS: tuple[tuple[str, str], ...] = (
    ("give exactly one of days", "keep one unit, e.g. '{working_days: 2}'"),
    ("a repeat needs 'until'", "add 'until: {anchor: end}' or 'count: 3'"),
    ("an outcome cannot both end", "remove 'ends: true' or 'extend:'"),
    ("scale min", "swap them, e.g. '{min: 1, max: 10}'"),
    ("give either 'weeks'", "a fixed course has 'weeks'; a 9–12 week course the other three"),
    ("a duration needs", "e.g. '{min_weeks: 9, max_weeks: 12, default_weeks: 12}'"),
    ("default_weeks", "choose default_weeks between min_weeks and max_weeks"),
    ("extendable_to_weeks is shorter", "give the longest total, at least the course's weeks"),
)
_TYPE_ERRORS = {
    "int_parsing",
    "int_type",
    "int_from_float",
    "float_parsing",
    "float_type",
    "model_type",
    "model_attributes_type",
    "dict_type",
    "list_type",
    "string_type",
    "date_type",
    "date_parsing",
    "date_from_datetime_parsing",
    "bool_type",
    "bool_parsing",
}


def _explain_field(name: str, errs: list[dict[str, Any]]) -> list[tuple[str, str | None]] | None:
    """One message for a key whose value has the wrong type, in the key's own words."""
    base = name
    if base not in EXPECTED or not all(e["type"] in _TYPE_ERRORS for e in errs):
        return None
    words, hint = EXPECTED[base]
    value = errs[0].get("input")
    if base == "time" and isinstance(value, int | float) and not isinstance(value, bool):
        hint = (
            f"YAML read {value!r} as a number (e.g. 10.00, or 10:00 under YAML 1.1); "
            'write the time in quotes, e.g. time: "10:00"'
        )
    return [(f"must be {words}, not {_shown(value)}", hint)]


def _explain_weekdays(errs: list[dict[str, Any]]) -> list[tuple[str, str | None]] | None:
    """All wrong weekdays of one list in one sentence, with the right spelling of each."""
    if not all(e["type"] == "literal_error" for e in errs):
        return None
    options = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    wrong = [str(e.get("input")) for e in errs]
    fixes = [suggest(w, options) for w in wrong]
    shown = ", ".join(f"'{w}'" for w in wrong)
    noun = "is not a weekday" if len(wrong) == 1 else "are not weekdays"
    hint = "write weekdays as mon, tue, wed, thu, fri, sat, sun"
    if all(fixes):
        hint = f"did you mean [{', '.join(str(f) for f in fixes)}]? ({hint})"
    return [(f"{shown} {noun}", hint)]


def _explain(err: dict[str, Any], name: str) -> tuple[str, str | None]:
    kind = err["type"]
    msg = str(err["msg"])
    ctx = err.get("ctx") or {}
    value = err.get("input")
    if kind == "value_error":
        text = msg.removeprefix("Value error, ")
        return text, next((h for start, h in VALUE_ERROR_HINTS if text.startswith(start)), None)
    if kind == "union_tag_invalid":
        tag = ctx.get("tag")
        expected = ctx.get("expected_tags", "")
        options = [t.strip(" '") for t in str(expected).split(",")]
        close = suggest(tag, options)
        hint = f"did you mean '{close}'?" if close else f"use one of: {expected}"
        return f"unknown kind '{tag}'", hint
    if kind == "union_tag_not_found":
        return "'kind' is missing", f"add 'kind:' with one of {', '.join(STEP_KINDS)}"
    if kind == "literal_error":
        expected = str(ctx.get("expected", ""))
        options = [o.strip(" '") for o in expected.replace(" or ", ",").split(",")]
        close = suggest(value, options)
        if close:
            literal_hint = f"did you mean '{close}'?"
            if close != str(value).lower() and str(value).lower() not in options:
                literal_hint += " (the language writes these in English)"
        else:
            literal_hint = f"write one of {expected}"
        return f"must be one of {expected}, not {value!r}", literal_hint
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        if "visitation|start" in pattern:
            close = suggest_anchor(value)
            hint = "use visitation, start, midway, end, step.<id> or completion.<id>"
            if close:
                hint = f"did you mean '{close}'? ({hint})"
            return f"{value!r} is not an anchor", hint
        if "[0-5][0-9]" in pattern:
            return f"{value!r} is not a time", "write times as HH:MM, e.g. '09:30'"
        return (
            f"{value!r} is not a valid identifier",
            "use lower-case letters, digits and _, starting with a letter (e.g. 'opstartsmoede')",
        )
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"must be a whole number, not {_shown(value)}", "write digits only, e.g. 13"
    if kind in ("float_parsing", "float_type"):
        return f"must be a number, not {_shown(value)}", "write digits, e.g. 2.5"
    if kind in ("date_parsing", "date_type", "date_from_datetime_parsing"):
        return f"must be a date, not {_shown(value)}", "write dates as YYYY-MM-DD, e.g. 2027-02-01"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return (
            f"must be a mapping (key: value lines), not {_shown(value)}",
            "write it as 'key: value' lines under it, or '{key: value}'",
        )
    if kind == "list_type":
        return (
            f"must be a list, not {_shown(value)}",
            "write it as '[a, b]' or as lines starting with '- '",
        )
    if kind in ("string_type",):
        return f"must be text, not {_shown(value)}", "put the text in quotes"
    if kind in ("bool_type", "bool_parsing"):
        return f"must be true or false, not {_shown(value)}", "write true or false"
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return msg[0].lower() + msg[1:], "change the number"
    if kind in ("too_short", "string_too_short"):
        return msg[0].lower() + msg[1:], "add at least one"
    return msg[0].lower() + msg[1:] if msg else kind, None
