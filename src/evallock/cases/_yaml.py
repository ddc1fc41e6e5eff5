"""YAML with bounds: case files and ``evallock.yaml`` parsed without surprises.

PyYAML's ``SafeLoader`` refuses arbitrary objects but not arbitrary sizes: nine
nested aliases of ten ("billion laughs") stand for 10⁹ nodes, which every later
reader (hashing, validation) expands; and deep nesting recurses until Python's
stack gives out. :class:`BoundedLoader` refuses both while composing, at the
line of the alias or the node that crosses the bound:

* aliases may stand for at most :data:`MAX_ALIAS_EXPANSION` nodes and scalar
  characters in all (anchors for a shared ``assert`` list stay well inside);
  an alias to the node that contains it is refused;
* nesting is at most :data:`MAX_YAML_DEPTH` levels.

What it builds is JSON data, as a JSONL line would be: timestamps stay the
text they were written as; ``!!binary``, ``!!set``, ``!!omap`` and ``!!pairs``,
mapping keys that are not text and integers past 64 bits are refused.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.constructor import ConstructorError
from yaml.nodes import MappingNode, Node, ScalarNode

__all__ = [
    "MAX_ALIAS_EXPANSION",
    "MAX_YAML_DEPTH",
    "BoundedLoader",
    "CoreSchemaLoader",
    "YamlLimitError",
    "compose_yaml",
    "construct_yaml",
    "load_yaml",
]

MAX_ALIAS_EXPANSION = 1_000_000
"""Nodes and scalar characters that all aliases of a document may stand for together."""
MAX_YAML_DEPTH = 64
"""Deepest nesting of sequences and mappings."""

_INT_MIN, _INT_MAX = -(2**63), 2**64 - 1  # what a JSON writer (orjson) can write


class YamlLimitError(yaml.MarkedYAMLError):
    """The document crosses a bound (alias expansion, depth); ``problem_mark`` is where."""


class BoundedLoader(yaml.SafeLoader):
    """``SafeLoader`` that bounds alias expansion and depth, and builds JSON data only."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0
        self._weight = 0  # nodes and scalar characters composed so far, aliases expanded
        self._aliased = 0  # the part of _weight that aliases stand for
        self._sizes: dict[str, int] = {}  # anchor → its node's expanded weight, once complete

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        """Compose one node, counting what aliases expand to and how deep it nests."""
        if self.check_event(yaml.AliasEvent):
            event: Any = self.peek_event()  # type: ignore[no-untyped-call]
            anchor = event.anchor
            if anchor in self.anchors:
                size = self._sizes.get(anchor)
                if size is None:
                    raise YamlLimitError(
                        problem=f"alias *{anchor} refers to a node that contains it",
                        problem_mark=event.start_mark,
                    )
                self._aliased += size
                self._weight += size
                if self._aliased > MAX_ALIAS_EXPANSION:
                    raise YamlLimitError(
                        problem=(
                            f"aliases expand to more than {MAX_ALIAS_EXPANSION:,} nodes and"
                            f" characters (at *{anchor}); refusing an alias bomb"
                        ),
                        problem_mark=event.start_mark,
                    )
            return super().compose_node(parent, index)
        event = self.peek_event()  # type: ignore[no-untyped-call]
        if self._depth >= MAX_YAML_DEPTH:
            raise YamlLimitError(
                problem=f"nested deeper than {MAX_YAML_DEPTH} levels",
                problem_mark=event.start_mark,
            )
        anchor = event.anchor
        before = self._weight
        self._depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if node is None:  # pragma: no cover - the composer always makes a node here
            return None
        self._weight += 1 + (len(node.value) if isinstance(node, ScalarNode) else 0)
        if anchor is not None:
            self._sizes[anchor] = self._weight - before
        return node

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        """A mapping whose keys are all text, as in JSON."""
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        for key in mapping:
            if not isinstance(key, str):
                raise ConstructorError(
                    None,
                    None,
                    f"mapping keys must be text, got {type(key).__name__} {key!r:.40}"
                    " (quote the key)",
                    node.start_mark,
                )
        return mapping

    def _json_int(self, node: ScalarNode) -> int:
        try:
            value: int = self.construct_yaml_int(node)
        except ValueError as exc:
            raise ConstructorError(None, None, f"bad integer: {exc}", node.start_mark) from None
        if not _INT_MIN <= value <= _INT_MAX:
            raise ConstructorError(
                None, None, "integer out of the 64-bit range of JSON data", node.start_mark
            )
        return value

    def _text(self, node: ScalarNode) -> str:
        # A timestamp stays the text it was written as, as a JSONL line would have it.
        return str(self.construct_scalar(node))

    def _refuse_tag(self, node: Node) -> Any:
        raise ConstructorError(
            None,
            None,
            f"{node.tag.replace('tag:yaml.org,2002:', '!!')} is not JSON data",
            node.start_mark,
        )


BoundedLoader.add_constructor("tag:yaml.org,2002:int", BoundedLoader._json_int)
BoundedLoader.add_constructor("tag:yaml.org,2002:timestamp", BoundedLoader._text)
for _tag in ("binary", "set", "omap", "pairs"):
    BoundedLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", BoundedLoader._refuse_tag)


class CoreSchemaLoader(BoundedLoader):
    """:class:`BoundedLoader` reading plain scalars as YAML 1.2's core schema does (as
    JavaScript's js-yaml does, so promptfoo configs mean what they meant there): only
    ``true`` / ``false`` are booleans (``Yes``, ``no``, ``on`` stay text), ``12:30`` is text
    (not 750), ``010`` is ten and ``0o10`` eight."""

    def _core_int(self, node: ScalarNode) -> int:
        text = str(self.construct_scalar(node))
        sign, digits = (-1, text[1:]) if text.startswith("-") else (1, text.lstrip("+"))
        if digits.startswith(("0o", "0x")):
            value = sign * int(digits[2:], 8 if digits[1] == "o" else 16)
        else:
            value = sign * int(digits, 10)
        if not _INT_MIN <= value <= _INT_MAX:
            raise ConstructorError(
                None, None, "integer out of the 64-bit range of JSON data", node.start_mark
            )
        return value


CoreSchemaLoader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
    ]
    for first, resolvers in BoundedLoader.yaml_implicit_resolvers.items()
}
CoreSchemaLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)
CoreSchemaLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
    list("-+0123456789"),
)
CoreSchemaLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+0123456789."),
)
CoreSchemaLoader.add_constructor("tag:yaml.org,2002:int", CoreSchemaLoader._core_int)


def compose_yaml(text: str, *, core_schema: bool = False) -> Node | None:
    """The document's node tree, bounds checked (YAML 1.2's core schema if asked).

    Raises:
        yaml.YAMLError: not YAML, or past a bound (:class:`YamlLimitError`).
    """
    loader = (CoreSchemaLoader if core_schema else BoundedLoader)(text)
    try:
        node: Node | None = loader.get_single_node()
        return node
    finally:
        loader.dispose()


def construct_yaml(node: Node, *, core_schema: bool = False) -> Any:
    """The JSON data of a node from :func:`compose_yaml`.

    Raises:
        yaml.YAMLError: a value that is not JSON data (with its mark).
    """
    loader = (CoreSchemaLoader if core_schema else BoundedLoader)("")
    try:
        return loader.construct_document(node)
    finally:
        loader.dispose()


def load_yaml(text: str, *, core_schema: bool = False) -> Any:
    """Parse a whole YAML document into JSON data, bounds checked (``yaml.safe_load`` else;
    with ``core_schema``, plain scalars as YAML 1.2 reads them: :class:`CoreSchemaLoader`).

    Raises:
        yaml.YAMLError: not YAML, past a bound, or not JSON data.
    """
    node = compose_yaml(text, core_schema=core_schema)
    return None if node is None else construct_yaml(node, core_schema=core_schema)
