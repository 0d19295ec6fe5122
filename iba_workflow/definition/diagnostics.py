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
        elif (
            isinstance(node, dict)
            and isinstance(part, str)
            and (part in STEP_KINDS or part in _UNION_MEMBER_NAMES or "[" in part)
        ):
            continue  # a discriminator tag or union member name
        else:
            path.append(part)
            node = None
    return tuple(path), node


_UNION_MEMBER_NAMES = {"float", "HoursRange", "rolling", "cohort", "int", "str"}


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
    for err in exc.errors(include_url=False):
        path, _ = _clean_loc(tuple(err["loc"]), data)
        kind = err["type"]
        if kind == "union_tag_invalid":
            path = (*path, "kind")
        group = "value" if kind not in ("extra_forbidden", "missing") else kind
        grouped.setdefault((path, group), []).append(err)

    problems: list[Problem] = []
    for (path, group), errs in grouped.items():
        err = errs[0]
        where = _describe_where(path, data)
        name = str(path[-1]) if path else "document"
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
        for e in errs:
            msg, h = _explain(e, name)
            if msg not in messages:
                messages.append(msg)
            hint = hint or h
        line, col = pos.of(path)
        text = " or ".join(messages) if len(messages) <= 3 else messages[0]
        problems.append(
            Problem(
                f"'{name}'{where}: {text}", file=file, line=line, column=col, hint=hint, path=path
            )
        )
    return sorted(problems, key=lambda p: (p.line or 0, p.column or 0))


def _keys_of(model: type[BaseModel]) -> set[str]:
    keys = set()
    for fname, field in model.model_fields.items():
        keys.add(field.alias or fname)
    return keys


def _explain(err: dict[str, Any], name: str) -> tuple[str, str | None]:
    kind = err["type"]
    msg = str(err["msg"])
    ctx = err.get("ctx") or {}
    if kind == "value_error":
        return msg.removeprefix("Value error, "), None
    if kind == "union_tag_invalid":
        tag = ctx.get("tag")
        expected = ctx.get("expected_tags", "")
        close = difflib.get_close_matches(
            str(tag), [t.strip(" '") for t in str(expected).split(",")], n=1
        )
        hint = f"did you mean '{close[0]}'?" if close else f"use one of: {expected}"
        return f"unknown kind '{tag}'", hint
    if kind == "union_tag_not_found":
        return "'kind' is missing", f"add 'kind:' with one of {', '.join(STEP_KINDS)}"
    if kind == "literal_error":
        expected = str(ctx.get("expected", ""))
        options = [o.strip(" '") for o in expected.replace(" or ", ",").split(",")]
        close = difflib.get_close_matches(str(err.get("input")), options, n=1)
        literal_hint = f"did you mean '{close[0]}'?" if close else None
        return f"must be one of {expected}, not {err.get('input')!r}", literal_hint
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        if "visitation|start" in pattern:
            return (
                f"{err.get('input')!r} is not an anchor",
                "use visitation, start, midway, end, step.<id> or completion.<id>",
            )
        if "[0-5][0-9]" in pattern:
            return f"{err.get('input')!r} is not a time", "write times as HH:MM, e.g. '09:30'"
        return (
            f"{err.get('input')!r} is not a valid identifier",
            "use lower-case letters, digits and _, starting with a letter (e.g. 'opstartsmoede')",
        )
    if kind in ("int_parsing", "int_type", "float_parsing", "float_type"):
        return f"must be a number, not {err.get('input')!r}", None
    if kind in ("date_parsing", "date_type", "date_from_datetime_parsing"):
        return f"must be a date (YYYY-MM-DD), not {err.get('input')!r}", None
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"must be a mapping (key: value lines), not {type(err.get('input')).__name__}", None
    if kind == "list_type":
        return f"must be a list (lines starting with '- '), not {err.get('input')!r}", None
    return msg[0].lower() + msg[1:] if msg else kind, None
