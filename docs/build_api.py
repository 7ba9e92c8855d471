"""Render the public Python API's numpydoc docstrings into ``docs/api.md``.

Run it from the repository root after changing a public docstring::

    .venv/bin/python docs/build_api.py

What it documents: every name in ``engagekit.__all__``, then the public names of the submodules
listed in :data:`SUBMODULES` that the package root does not re-export (so the reference is whole
even before a name is re-exported). Each object appears once, under the section of the module that
defines it, with the shortest way to reach it (``ek.Workspace`` or ``engagekit.segments.store.PREBUILT``).

The numpydoc parser here is deliberately small: it knows the section headings numpydoc uses
(``Parameters``, ``Returns``, ``Raises``, ``Attributes``, ``Examples``, ...) and turns Sphinx roles
(:class:`~a.B`) into code spans. It needs nothing but the standard library and engagekit.
"""

from __future__ import annotations

import ast
import dataclasses
import enum
import importlib
import inspect
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "toolkit"))

import engagekit  # noqa: E402

OUT = ROOT / "docs" / "api.md"

# Submodules whose public names belong in the reference, in this order: their ``__all__`` (None)
# or the names given.
SUBMODULES: dict[str, tuple[str, ...] | None] = {
    "engagekit.data.sample": ("generate_sample", "write_sample", "SAMPLE_SEED", "SAMPLE_END"),
    "engagekit.data.io.detect": None,
    "engagekit.data.io.canonical": None,
    "engagekit.data.io.canonical_writer": ("write_canonical",),
    "engagekit.data.io.constant_contact": ("read_constant_contact",),
    "engagekit.data.io.mailchimp": ("read_mailchimp", "read_mailchimp_folder"),
    "engagekit.segments": None,
    "engagekit.segments.store": ("SegmentStore", "Segment", "PREBUILT", "MAX_NAME_LENGTH",
                                 "ReadOnlySegmentError", "InvalidNameError"),
    "engagekit.segments.operations": None,
}
# Names of those submodules left out (internal helpers exported for the library's own use).
SKIP = {"bump_data_version", "migrate", "OPERATORS", "report_kind", "audience_status", "Catalog",
        "FieldSpec", "OperatorSpec", "ValueSpec", "export_fields", "narrow_limit"}

# Sections of the reference: title and the modules whose objects go there.
SECTIONS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Session: the settings in force", ("engagekit.session",)),
    ("Workspace and data", ("engagekit.workspace", "engagekit.workspace.workspace",
                            "engagekit.workspace.database", "engagekit.workspace.importer",
                            "engagekit.workspace.lists", "engagekit.data.dataset",
                            "engagekit.data.schema", "engagekit.data.safe_csv", "engagekit.timeutil",
                            "engagekit.names")),
    ("Importing and sample data", ("engagekit.data.io.detect", "engagekit.data.io.canonical",
                                   "engagekit.data.io.canonical_writer", "engagekit.data.io.constant_contact",
                                   "engagekit.data.io.mailchimp", "engagekit.data.sample")),
    ("Settings", ("engagekit.config",)),
    ("Features and levels", ("engagekit.data.activity", "engagekit.engagement.features", "engagekit.engagement.tiers",
                             "engagekit.engagement.levels", "engagekit.engagement.report", "engagekit.engagement.explain")),
    ("Transitions", ("engagekit.engagement.transitions",)),
    ("Segments: definitions", ("engagekit.segments.definition", "engagekit.segments.tree",
                               "engagekit.segments.sentences", "engagekit.segments.validation",
                               "engagekit.segments.catalog", "engagekit.segments.errors",
                               "engagekit.segments.constant_contact")),
    ("Segments: engines", ("engagekit.segments.memory_engine", "engagekit.segments.sql_engine",
                           "engagekit.segments.evaluate")),
    ("Segments: saved segments and operations", ("engagekit.segments.store",
                                                 "engagekit.segments.operations")),
    ("Campaigns: plans, lift, slip risk and sunset", ("engagekit.campaigns.planning",
                                                       "engagekit.campaigns.power",
                                                       "engagekit.campaigns.lift",
                                                       "engagekit.engagement.slip_risk",
                                                       "engagekit.engagement.sunset",
                                                       "engagekit.data.sample_winback")),
    ("Errors and import reports", ("engagekit.errors",)),
)

SECTION_HEADINGS = {
    "Parameters", "Other Parameters", "Returns", "Yields", "Raises", "Warns", "Attributes",
    "Methods", "See Also", "Notes", "References", "Examples",
}
FIELD_SECTIONS = {"Parameters", "Other Parameters", "Returns", "Yields", "Raises", "Attributes"}
ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|exc|obj):`~?([^`]+)`")


# -- collecting ----------------------------------------------------------------------------------
@dataclasses.dataclass
class Entry:
    name: str
    access: str  # how a user reaches it
    obj: object
    module: str


def collect() -> list[Entry]:
    entries: list[Entry] = []
    seen: set[int] = set()

    def add(name: str, access: str, obj: object, fallback_module: str) -> None:
        key = id(obj)
        if key in seen and not _is_value(obj):
            return
        seen.add(key)
        module = getattr(obj, "__module__", None) if not _is_value(obj) else fallback_module
        entries.append(Entry(name, access, obj, module or fallback_module))

    for name in engagekit.__all__:
        obj = getattr(engagekit, name)
        add(name, f"ek.{name}", obj, _defining_module(engagekit, name))
    root_ids = {id(getattr(engagekit, name)) for name in engagekit.__all__}
    for module_name, wanted in SUBMODULES.items():
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:  # a submodule still being written
            print(f"skipped {module_name}: {error}", file=sys.stderr)
            continue
        names = wanted or getattr(module, "__all__", None) or _public_names(module)
        for name in names:
            if name in SKIP or name.startswith("_") or not hasattr(module, name):
                continue
            obj = getattr(module, name)
            if id(obj) in root_ids:
                continue
            add(name, f"{module_name}.{name}", obj, _defining_module(module, name))
    return entries


def _public_names(module) -> list[str]:
    return [
        name for name, obj in vars(module).items()
        if not name.startswith("_") and (inspect.isclass(obj) or inspect.isfunction(obj))
        and getattr(obj, "__module__", None) == module.__name__
    ]


def _defining_module(module, name: str) -> str:
    """The module that defines ``module.name``: its ``__module__``, or for a constant the module
    its value is imported from (followed through re-exports), else ``module`` itself."""
    obj = getattr(module, name)
    if not _is_value(obj) and getattr(obj, "__module__", None):
        return obj.__module__
    try:
        tree = ast.parse(inspect.getsource(module))
    except (OSError, TypeError):
        return module.__name__
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and (node.module or "").startswith("engagekit")
            and any(alias.name == name and alias.asname in (None, name) for alias in node.names)
        ):
            return _defining_module(importlib.import_module(node.module), name)
    return module.__name__


def _is_value(obj: object) -> bool:
    return not (inspect.isclass(obj) or inspect.isroutine(obj) or inspect.ismodule(obj))


# -- rendering docstrings ------------------------------------------------------------------------
def parse(doc: str) -> tuple[list[str], dict[str, list[str]]]:
    """(text before the first section, {section: lines})."""
    lines = inspect.cleandoc(doc).splitlines()
    head: list[str] = []
    sections: dict[str, list[str]] = {}
    current = head
    i = 0
    while i < len(lines):
        line = lines[i]
        nxt = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() in SECTION_HEADINGS and nxt.strip() and set(nxt.strip()) == {"-"}:
            current = sections.setdefault(line.strip(), [])
            i += 2
            continue
        current.append(line)
        i += 1
    return head, sections


def inline(text: str) -> str:
    text = ROLE.sub(lambda m: f"`{m.group(1)}`", text)
    return re.sub(r"``([^`]+)``", r"`\1`", text)


def prose(lines: list[str]) -> str:
    """Docstring prose to Markdown: roles to code spans, ``::`` blocks and RST tables fenced."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.rstrip().endswith("::"):
            stripped = line.rstrip()[:-2].rstrip()
            out.append(inline(stripped + (":" if stripped and not stripped.endswith(":") else "")))
            block, i = _indented_block(lines, i + 1)
            out += ["", "```python", *block, "```", ""]
            continue
        if re.match(r"^=+(\s+=+)+\s*$", line.strip()):  # an RST simple table: keep it as text
            table = [line]
            i += 1
            borders = 1
            while i < len(lines) and borders < 3:
                table.append(lines[i])
                if re.match(r"^=+(\s+=+)+\s*$", lines[i].strip()):
                    borders += 1
                i += 1
            out += ["", "```text", *table, "```", ""]
            continue
        if line.startswith(">>>"):
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i])
                i += 1
            out += ["", "```pycon", *block, "```", ""]
            continue
        out.append(inline(line))
        i += 1
    return "\n".join(out).strip()


def _indented_block(lines: list[str], start: int) -> tuple[list[str], int]:
    i = start
    while i < len(lines) and not lines[i].strip():
        i += 1
    block = []
    while i < len(lines) and (not lines[i].strip() or lines[i].startswith((" ", "\t"))):
        block.append(lines[i])
        i += 1
    while block and not block[-1].strip():
        block.pop()
    width = min((len(b) - len(b.lstrip()) for b in block if b.strip()), default=0)
    return [b[width:] for b in block], i


def fields(lines: list[str]) -> str:
    """A numpydoc field list (``name : type`` then indented text) as a Markdown list."""
    items: list[tuple[str, list[str]]] = []
    for line in lines:
        if not line.strip():
            if items:
                items[-1][1].append("")
            continue
        if not line.startswith((" ", "\t")):
            items.append((line.strip(), []))
        elif items:
            items[-1][1].append(line.strip())
    out = []
    for head, body in items:
        name, _, kind = head.partition(" : ")
        names = ", ".join(f"`{n.strip()}`" for n in name.split(","))
        label = f"{names} ({inline(kind.strip())})" if kind.strip() else names
        text = " ".join(part for part in body if part)
        out.append(f"- {label}" + (f": {inline(text)}" if text else ""))
    return "\n".join(out)


def examples(lines: list[str]) -> str:
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    while lines and not lines[0].strip():
        lines = lines[1:]
    return "```pycon\n" + "\n".join(lines) + "\n```"


def render_doc(doc: str | None, level: int) -> str:
    if not doc:
        return ""
    head, sections = parse(doc)
    parts = [prose(head)]
    for title, lines in sections.items():
        if title in FIELD_SECTIONS:
            body = fields(lines)
        elif title == "Examples":
            body = examples(lines)
        else:
            body = prose(lines)
        if body.strip():
            parts.append(f"**{title}**\n\n{body}")
    return "\n\n".join(part for part in parts if part.strip())


# -- rendering objects ---------------------------------------------------------------------------
def signature(obj: object, name: str) -> str:
    try:
        sig = inspect.signature(obj)
    except (TypeError, ValueError):
        return f"{name}(...)"
    text = str(sig)
    text = re.sub(r"<([\w.]+) '([^']*)'>", r"\1", text)
    text = re.sub(r"(:\s|->\s)'([^']*)'", r"\1\2", text)  # postponed annotations, unquoted
    return f"{name}{text}"


def class_signature(cls: type, name: str) -> str:
    if issubclass(cls, enum.Enum):
        return f"class {name}"
    if hasattr(cls, "model_fields"):  # a pydantic model: its fields with defaults
        params = []
        for field_name, info in cls.model_fields.items():
            default = "" if info.is_required() else f"={info.default!r}"
            params.append(f"{field_name}{default}")
        return f"class {name}({', '.join(params)})"
    return "class " + signature(cls, name)


def methods(cls: type) -> list[tuple[str, object]]:
    found = []
    for attr, value in cls.__dict__.items():
        if attr.startswith("_") or attr in ("model_config", "model_fields"):
            continue
        function = value.__func__ if isinstance(value, (classmethod, staticmethod)) else value
        is_property = isinstance(value, property) or type(value).__name__ == "cached_property"
        own_method = inspect.isfunction(function) and function.__qualname__.startswith(cls.__name__ + ".")
        if is_property or own_method:
            found.append((attr, value))
    return found


def render_entry(entry: Entry) -> str:
    obj, name = entry.obj, entry.name
    out = [f"### `{entry.access}`", ""]
    if inspect.isclass(obj):
        out += ["```python", class_signature(obj, name), "```", "", render_doc(obj.__doc__, 3)]
        if issubclass(obj, enum.Enum):
            out += ["", "Members: " + ", ".join(f"`{m.name}` (`{m.value!r}`)" for m in obj)]
        for attr, value in methods(obj):
            if isinstance(value, property) or type(value).__name__ == "cached_property":
                doc = (value.__doc__ or "").strip()
                if doc:
                    out += ["", f"#### `{name}.{attr}` *(property)*", "", render_doc(doc, 4)]
                continue
            function = value.__func__ if isinstance(value, (classmethod, staticmethod)) else value
            if not function.__doc__ and attr in ("fit", "transform"):
                continue
            prefix = "classmethod " if isinstance(value, classmethod) else ""
            out += ["", f"#### `{name}.{attr}`", "", "```python",
                    prefix + signature(function, attr).replace("(self, ", "(").replace("(self)", "()")
                    .replace("(cls, ", "(").replace("(cls)", "()"),
                    "```", "", render_doc(function.__doc__, 4)]
    elif inspect.isroutine(obj):
        out += ["```python", signature(obj, name), "```", "", render_doc(obj.__doc__, 3)]
    else:
        value = repr(_plain(obj))
        if len(value) > 300:
            value = value[:300] + " ..."
        out += ["```python", f"{name} = {value}", "```"]
        doc = _attribute_doc(entry)
        if doc:
            out += ["", inline(doc)]
    return "\n".join(out)


def _plain(value: object) -> object:
    """Enum members as their values, inside tuples, lists and dicts too."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (tuple, list)):
        return type(value)(_plain(item) for item in value)
    if isinstance(value, dict):
        return {_plain(key): _plain(item) for key, item in value.items()}
    return value


def _attribute_doc(entry: Entry) -> str | None:
    """The string literal right after ``NAME = ...`` in its module (attribute docstrings)."""
    try:
        source = inspect.getsource(importlib.import_module(entry.module))
    except (OSError, TypeError, ImportError):
        return None
    match = re.search(
        rf'^{re.escape(entry.name)}\b[^\n]*=.*?\n"""(.*?)"""', source, re.MULTILINE | re.DOTALL
    )
    return " ".join(match.group(1).split()) if match else None


def build() -> str:
    entries = collect()
    by_section: dict[str, list[Entry]] = {title: [] for title, _ in SECTIONS}
    other: list[Entry] = []
    for entry in entries:
        for title, modules in SECTIONS:
            if entry.module in modules:
                by_section[title].append(entry)
                break
        else:
            other.append(entry)
    if other:
        by_section["Other"] = other
    lines = [
        "# Python API reference",
        "",
        "<!-- Generated by docs/build_api.py from the docstrings; do not edit by hand. -->",
        "",
        "Everything a notebook or script needs is one import away:",
        "",
        "```python",
        "import engagekit as ek",
        "```",
        "",
        "Names shown as `ek.NAME` are re-exported by the package root; the others are reached by "
        "their module path. Every function that depends on time takes an explicit `as_of`.",
        "",
        "## Contents",
        "",
    ]
    for title, items in by_section.items():
        if not items:
            continue
        anchor = re.sub(r"[^a-z0-9 -]", "", title.lower()).replace(" ", "-")
        names = ", ".join(f"`{entry.name}`" for entry in items)
        lines.append(f"- [{title}](#{anchor}): {names}")
    for title, items in by_section.items():
        if not items:
            continue
        lines += ["", f"## {title}", ""]
        for entry in items:
            lines += [render_entry(entry), ""]
    return "\n".join(lines).rstrip() + "\n"


def main() -> None:
    OUT.write_text(build(), encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
