"""Load a definition from YAML: every problem at once, each with file, line, column and hint.

Three passes, each collecting rather than stopping at the first problem:

1. YAML syntax (ruamel.yaml round-trip, which keeps the position of every key and item
   and never constructs Python objects from tags);
2. structure (pydantic), errors mapped back to the YAML position they concern;
3. meaning (:mod:`.checks`): references, branches, cycles.

Anything that goes wrong, on any input, is a :class:`DefinitionError`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import weakref
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from iba_workflow.errors import DefinitionError, Problem

from . import checks
from .diagnostics import Positions, structure_problems
from .model import Definition

PathT = tuple[str | int, ...]
MAX_BYTES = 1_000_000
# Brackets inside brackets ([ ] and { }) a definition may have. The YAML scanner's work
# grows with the depth at every token: 5,000 levels took it 7.5 s before it gave up.
MAX_FLOW_DEPTH = 100
_PLAIN_TAGS = {None, "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}


def _plain(node: Any, path: PathT, pos: Positions, problems: list[tuple[PathT, str]]) -> Any:
    """Turn ruamel's round-trip nodes into plain Python data, noting positions."""
    tag = getattr(getattr(node, "tag", None), "value", None)
    if isinstance(node, CommentedMap | CommentedSeq) and tag not in _PLAIN_TAGS:
        problems.append(
            (
                path,
                f"{_dotted(path) or 'document'}: unsupported YAML value "
                f"(tag {tag}); use plain text, numbers, dates, lists and mappings",
            )
        )
        return None
    if isinstance(node, CommentedMap):
        out: dict[str, Any] = {}
        for key in node:
            child = (*path, str(key))
            try:
                kline, kcol = node.lc.key(key)
                pos.keys[child] = (kline + 1, kcol + 1)
                vline, vcol = node.lc.value(key)
                pos.values[child] = (vline + 1, vcol + 1)
            except (KeyError, TypeError, AttributeError):
                pass
            if not isinstance(key, str):
                problems.append(
                    (child, f"{_dotted(child)}: keys must be text, not {type(key).__name__}")
                )
                continue
            out[key] = _plain(node[key], child, pos, problems)
        return out
    if isinstance(node, CommentedSeq):
        items = []
        for i, item in enumerate(node):
            child = (*path, i)
            try:
                line, col = node.lc.item(i)
                pos.values[child] = (line + 1, col + 1)
            except (KeyError, TypeError, AttributeError):
                pass
            items.append(_plain(item, child, pos, problems))
        return items
    if node is None or isinstance(node, bool | int | float | str | dt.date):
        if isinstance(node, dt.datetime):
            return node.date() if node.time() == dt.time() else node
        if isinstance(node, str):
            return str(node)  # drop ruamel's scalar-string subclasses
        if isinstance(node, float):
            return float(node)
        if isinstance(node, int) and not isinstance(node, bool):
            return int(node)
        return node
    if isinstance(node, TaggedScalar) and tag == "tag:yaml.org,2002:str":
        return str(node.value)
    what = f"tag {tag}" if tag else type(node).__name__
    problems.append(
        (
            path,
            f"{_dotted(path) or 'document'}: unsupported YAML value ({what}); "
            "use plain text, numbers, dates, lists and mappings",
        )
    )
    return None


def _dotted(path: Iterable[str | int]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load_definition(
    path: str | Path, *, known_templates: Iterable[str] | None = None
) -> Definition:
    """Read and validate one definition file. Raises :class:`DefinitionError`."""
    return load_located(path, known_templates=known_templates)[0]


def parse_definition(
    text: str, *, file: str = "<text>", known_templates: Iterable[str] | None = None
) -> Definition:
    """Validate definition YAML given as text. Raises :class:`DefinitionError`."""
    return parse_located(text, file=file, known_templates=known_templates)[0]


def load_located(
    path: str | Path, *, known_templates: Iterable[str] | None = None
) -> tuple[Definition, Positions]:
    """As :func:`load_definition`, with where each key and value sits in the file (so that
    later checks, such as the every-path validator, can name a line)."""
    file = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise DefinitionError(
            [Problem(f"cannot read the file ({exc.strerror or exc})", file=file)]
        ) from None
    if len(raw) > MAX_BYTES:
        raise DefinitionError(
            [Problem(f"file is larger than {MAX_BYTES} bytes", file=file, hint="split it")]
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DefinitionError(
            [Problem("file is not UTF-8 text", file=file, hint=f"byte {exc.start} is invalid")]
        ) from None
    return parse_located(text, file=file, known_templates=known_templates)


def parse_located(
    text: str, *, file: str = "<text>", known_templates: Iterable[str] | None = None
) -> tuple[Definition, Positions]:
    """As :func:`parse_definition`, with the positions of keys and values."""
    deep = too_deep(text)
    if deep is not None:
        line, column = deep
        raise DefinitionError(
            [
                Problem(
                    "the document is nested too deeply",
                    file=file,
                    line=line,
                    column=column,
                    hint=f"at most {MAX_FLOW_DEPTH} levels of [ ] or {{ }} inside each other",
                )
            ]
        )
    try:
        return _parse(text, file, set(known_templates) if known_templates is not None else None)
    except DefinitionError:
        raise
    except RecursionError:
        raise DefinitionError([Problem("the document is nested too deeply", file=file)]) from None
    except Exception as exc:
        raise DefinitionError(
            [Problem(f"could not read the definition ({type(exc).__name__}: {exc})", file=file)]
        ) from None


_FLOW_SCAN = re.compile(r"[\[\]{}\"'#\n\\]")


def too_deep(text: str, limit: int = MAX_FLOW_DEPTH) -> tuple[int, int] | None:
    """Line and column of the first ``[`` or ``{`` that opens more than ``limit`` levels,
    in one pass over the text, before the YAML parser sees it. Quoted text and comments
    are passed over; a quote counts only where a value can start (after a space, a line
    start or ``[{,:``), so the apostrophe in a plain word is not one."""
    if text.count("[") + text.count("{") <= limit:
        return None
    depth, line, start, quote, skip_to = 0, 1, 0, "", -1
    for match in _FLOW_SCAN.finditer(text):
        i, char = match.start(), match.group()
        if char == "\n":
            line, start = line + 1, i + 1
            continue
        if i < skip_to:
            continue
        previous = text[i - 1] if i else "\n"
        if quote == '"':
            if char == "\\":
                skip_to = i + 2  # the escaped character
            elif char == '"':
                quote = ""
        elif quote == "'":
            if char == "'":
                if text[i + 1 : i + 2] == "'":
                    skip_to = i + 2  # '' is a quote inside the quotes
                else:
                    quote = ""
        elif char == "#" and previous in " \t\n":
            skip_to = text.find("\n", i)  # a comment, to the end of its line
            if skip_to < 0:
                return None
        elif char in "\"'" and previous in " \t\n[{,:":
            quote = char
        elif char in "[{":
            depth += 1
            if depth > limit:
                return line, i - start + 1
        elif char in "]}":
            depth = max(depth - 1, 0)
    return None


def _parse(text: str, file: str, known_templates: set[str] | None) -> tuple[Definition, Positions]:
    yaml = YAML(typ="rt", pure=True)
    yaml.allow_duplicate_keys = False
    try:
        doc = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        col = mark.column + 1 if mark is not None else None
        what = (exc.problem or exc.context or "invalid YAML").strip()
        if exc.context and exc.context_mark is not None and exc.problem:
            what += (
                f" ({exc.context.strip()} that began at line {exc.context_mark.line + 1}, "
                f"column {exc.context_mark.column + 1})"
            )
        hint = (
            "a key appears twice in one mapping"
            if "duplicate" in str(exc).lower()
            else ("check indentation, colons and quotes near this position")
        )
        if "expected ':'" in what and exc.context_mark is not None:
            # The scanner notices a missing colon only on the next line; the key that
            # lacks it is where the scan began.
            line, col = exc.context_mark.line + 1, exc.context_mark.column + 1
            lines = text.splitlines()
            text_line = lines[line - 1].strip() if line <= len(lines) else ""
            key, _, rest = text_line.partition(" ")
            what = f"'{text_line[:60]}' has no ':' after its key"
            hint = f"write '{key}: {rest}'" if rest else "write 'key: value'"
        raise DefinitionError(
            [Problem(f"YAML syntax error: {what}", file=file, line=line, column=col, hint=hint)]
        ) from None
    except YAMLError as exc:
        raise DefinitionError([Problem(f"YAML error: {exc}", file=file)]) from None

    if not isinstance(doc, CommentedMap):
        kind = (
            "empty"
            if doc is None
            else "a list"
            if isinstance(doc, CommentedSeq)
            else f"a single value ({doc!r:.40})"
        )
        raise DefinitionError(
            [
                Problem(
                    "a definition must be a YAML mapping (key: value lines), "
                    f"this document is {kind}",
                    file=file,
                    line=1,
                    column=1,
                    hint="start with 'id: my_intervention' and 'name: ...'",
                )
            ]
        )
    pos = Positions()
    pos.values[()] = (1, 1)
    value_problems: list[tuple[PathT, str]] = []
    data = _plain(doc, (), pos, value_problems)
    if value_problems:
        raise DefinitionError(
            [
                Problem(
                    m,
                    file=file,
                    line=pos.of(p)[0],
                    column=pos.of(p)[1],
                    path=p,
                    hint="remove the tag (the '!...' part)" if "tag" in m else None,
                )
                for p, m in value_problems
            ]
        )

    try:
        definition = Definition.model_validate(data)
    except ValidationError as exc:
        raise DefinitionError(structure_problems(exc, data, pos, file)) from None

    found = checks.check_definition(definition, known_templates=known_templates)
    if found:
        out = []
        for issue in found:
            line, col = pos.of(issue.path, key=issue.at_key)
            out.append(
                Problem(
                    issue.message,
                    file=file,
                    line=line,
                    column=col,
                    hint=issue.hint,
                    path=issue.path,
                )
            )
        raise DefinitionError(sorted(out, key=lambda p: (p.line or 0, p.column or 0)))
    return definition, pos


# --------------------------------------------------------------------------- helpers


_HASHES: dict[int, str] = {}


def content_hash(definition: Definition) -> str:
    """A stable hash of what a definition means (not how its YAML is formatted).

    Computed once per definition object (definitions are frozen), not once per plan: the
    entry is dropped when the object is garbage collected, before its id can be reused."""
    key = id(definition)
    found = _HASHES.get(key)
    if found is None:
        found = _HASHES[key] = _content_hash(definition)
        weakref.finalize(definition, _HASHES.pop, key, None)
    return found


def _content_hash(definition: Definition) -> str:
    canonical = json.dumps(
        definition.model_dump(mode="json"),
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
