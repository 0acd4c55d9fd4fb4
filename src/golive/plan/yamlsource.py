"""Safe YAML reading that remembers where every value came from.

PyYAML composes the document into nodes (safe: no tag is ever constructed into an object) and
we build plain Python values ourselves, recording the line and column of each field path, so
that a validation error can say ``plan.yaml:12:15: steps[3].shift.weight``. Oversized files,
alias bombs, duplicate keys and non-standard tags are refused before validation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import yaml

from golive.errors import PlanError, PlanIssue

MAX_BYTES = 1_000_000
MAX_NODES = 50_000
MAX_DEPTH = 64  # lists and mappings inside each other; a plan needs a handful

Path = tuple[str | int, ...]

_STANDARD_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:map",
    "tag:yaml.org,2002:seq",
}


def format_path(path: Path) -> str:
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out


@dataclass
class Located:
    """Plain data from a YAML document plus the position (line, column; 1-based) of each path."""

    data: object
    positions: dict[Path, tuple[int, int]] = field(default_factory=dict)
    key_positions: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def position(self, path: Path, *, key: bool = False) -> tuple[int, int]:
        """Position of ``path`` (its key if ``key``), or of its nearest ancestor's value."""
        if key and path in self.key_positions:
            return self.key_positions[path]
        for end in range(len(path), -1, -1):
            found = self.positions.get(path[:end])
            if found is not None:
                return found
        return (1, 1)


class _Builder:
    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.nodes = 0
        self.positions: dict[Path, tuple[int, int]] = {}
        self.key_positions: dict[Path, tuple[int, int]] = {}

    def fail(self, node: yaml.Node, message: str, path: Path = ()) -> PlanError:
        mark = node.start_mark
        return PlanError(
            [PlanIssue(self.filename, mark.line + 1, mark.column + 1, format_path(path), message)]
        )

    def build(self, node: yaml.Node, path: Path) -> object:
        if len(path) > MAX_DEPTH:
            raise self.fail(node, f"nested more than {MAX_DEPTH} levels deep", path[:3])
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.fail(
                node, f"document too large or too deeply aliased (> {MAX_NODES} values)"
            )
        if node.tag not in _STANDARD_TAGS or (
            isinstance(node, yaml.ScalarNode) and node.tag not in _SCALARS
        ):
            raise self.fail(node, f"tag {node.tag!r} is not allowed in a plan", path)
        self.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        value = _SCALARS[node.tag](node)
        if isinstance(value, str):
            self.text(node, value, path)
        return value

    def text(self, node: yaml.Node, value: str, path: Path) -> None:
        """A ``"\\ud800"`` escape alone is half of a character: nothing can store or show it."""
        half = _SURROGATE.search(value)
        if half:
            message = f"U+{ord(half.group()):04X} alone is half of a character, not text"
            raise self.fail(node, f"invalid YAML: {message}", path)

    def _mapping(self, node: yaml.MappingNode, path: Path) -> dict[str, object]:
        out: dict[str, object] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise self.fail(key_node, "merge keys (<<) are not allowed in a plan", path)
            if not isinstance(key_node, yaml.ScalarNode):
                raise self.fail(key_node, "keys must be plain strings", path)
            key = str(key_node.value)
            self.text(key_node, key, path)
            if key in out:
                raise self.fail(key_node, f"duplicate key {key!r}", path)
            child = (*path, key)
            self.key_positions[child] = (
                key_node.start_mark.line + 1,
                key_node.start_mark.column + 1,
            )
            out[key] = self.build(value_node, child)
        return out


_SURROGATE = re.compile(r"[\ud800-\udfff]")
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_SCALARS = {
    "tag:yaml.org,2002:str": _CONSTRUCTOR.construct_yaml_str,
    "tag:yaml.org,2002:int": _CONSTRUCTOR.construct_yaml_int,
    "tag:yaml.org,2002:float": _CONSTRUCTOR.construct_yaml_float,
    "tag:yaml.org,2002:bool": _CONSTRUCTOR.construct_yaml_bool,
    "tag:yaml.org,2002:null": _CONSTRUCTOR.construct_yaml_null,
}


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def read_yaml(text: str, filename: str) -> Located:
    """Parse one YAML document safely into plain values with positions."""
    if len(text.encode("utf-8", "replace")) > MAX_BYTES:
        raise PlanError([PlanIssue(filename, 1, 1, "", f"file is larger than {MAX_BYTES} bytes")])
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.reader.ReaderError as exc:  # a character YAML refuses: where it is, in words
        line, col = _position(text, exc.position)
        what = f"U+{exc.character:04X}" if isinstance(exc.character, int) else "a byte"
        raise PlanError(
            [
                PlanIssue(
                    filename,
                    line,
                    col,
                    "",
                    f"invalid YAML: {what} is a control character, not allowed in a plan",
                )
            ]
        ) from None
    except RecursionError:  # the YAML parser recurses once per level of [ or {
        message = f"nested too deeply (a plan needs a few levels; at most {MAX_DEPTH})"
        raise PlanError([PlanIssue(filename, 1, 1, "", message)]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        problem = exc.problem or exc.context or "invalid YAML"
        raise PlanError([PlanIssue(filename, line, col, "", f"invalid YAML: {problem}")]) from None
    except yaml.YAMLError as exc:
        raise PlanError([PlanIssue(filename, 1, 1, "", f"invalid YAML: {exc}")]) from None
    if node is None:
        raise PlanError([PlanIssue(filename, 1, 1, "", "the plan is empty")])
    builder = _Builder(filename)
    data = builder.build(node, ())
    return Located(data, builder.positions, builder.key_positions)
