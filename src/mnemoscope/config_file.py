"""Reading a YAML config file: ``yaml.safe_load``, strict about what it accepts.

The one way mnemoscope reads a config (``mnemoscope train`` / ``run``, the packaged demo configs,
the config of a run directory in a report). On top of ``safe_load`` (no Python objects, ever):

* the file must be UTF-8 (a byte-order mark is allowed); otherwise the byte offset is named;
* a key written twice in one mapping is refused, naming the key and both lines (YAML says keys
  are unique; PyYAML silently keeps the last);
* aliases (``*name``) are allowed -- they share a block between two places -- but the document
  they expand to may hold at most ``MAX_NODES`` values, and an alias may not contain itself: a
  "billion laughs" file is refused after reading a few hundred bytes, before anything walks it;
* an empty file, or one whose top level is not a mapping (``key: value`` lines), is refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from mnemoscope.errors import BadInput, shorten, shorten_text

# Values in the expanded document (scalars, lists and mappings, each alias counted at its full
# size): far above any real config (a data.subset of 100,000 indices), far below a memory bomb.
MAX_NODES = 1_000_000
MERGE_TAG = "tag:yaml.org,2002:merge"


class StrictLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses duplicate keys and alias bombs (see the module doc)."""

    def get_single_node(self) -> Node | None:
        node = super().get_single_node()
        if node is not None:
            check_expansion(node, self.name)
        return node

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        if isinstance(node, MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == MERGE_TAG or not isinstance(key_node, ScalarNode):
                    continue  # "<<: *base" merges are meant to be overridden
                key = self.construct_object(key_node)
                line = key_node.start_mark.line + 1
                if key in seen:
                    raise BadInput(
                        f"{self.name}: key {shorten(key)} is written twice (lines {seen[key]} and "
                        f"{line}); keep one"
                    )
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


def check_expansion(root: Node, name: str) -> None:
    """Refuse a node graph whose aliases expand beyond ``MAX_NODES`` values or into a cycle.

    Sizes are memoized per node, so the check costs one visit per distinct node whatever the
    expansion: a billion-laughs file is measured, never expanded.
    """
    sizes: dict[int, int] = {}
    # Iterative post-order walk (a deep document must not exhaust Python's stack).
    stack: list[tuple[Node, bool]] = [(root, False)]
    open_nodes: set[int] = set()
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            sizes[key] = 1 + sum(sizes[id(child)] for child in _children(node))
            open_nodes.discard(key)
            if sizes[key] > MAX_NODES:
                if sizes[key] <= len(sizes):  # every value counted once: no alias involved
                    raise BadInput(
                        f"{name}: holds more than {MAX_NODES:,} values (line "
                        f"{node.start_mark.line + 1}), far more than any config needs"
                    )
                raise BadInput(
                    f"{name}: its aliases (*name) expand to more than {MAX_NODES:,} values (line "
                    f"{node.start_mark.line + 1}); write the values out or share fewer"
                )
            continue
        if key in sizes:
            continue
        if key in open_nodes:
            raise BadInput(
                f"{name}: an alias contains itself (line {node.start_mark.line + 1}); a config "
                "must be a finite tree"
            )
        open_nodes.add(key)
        stack.append((node, True))
        stack.extend((child, False) for child in _children(node) if id(child) not in sizes)


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def parse_config(text: str | bytes, name: str) -> dict[str, Any]:
    """The mapping in YAML ``text`` (read from ``name``, which every message names)."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise BadInput(
                f"{name} is not UTF-8 text: byte {error.start} (0x{text[error.start]:02x}) "
                "cannot be decoded; save the file as UTF-8"
            ) from None
    loader = StrictLoader(text)
    loader.name = name  # marks (line numbers in messages) name the file, not "<unicode string>"
    try:
        value = loader.get_single_data()
    except yaml.YAMLError as error:
        raise BadInput(shorten_text(f"{name} is not valid YAML: {error}")) from None
    except RecursionError:
        raise BadInput(f"{name} is nested too deeply to be a config") from None
    finally:
        loader.dispose()
    if value is None:
        raise BadInput(f"{name} is empty: a config is a mapping of keys to values (key: value)")
    if not isinstance(value, dict):
        raise BadInput(
            f"{name} holds a {type(value).__name__} ({shorten(value)}) at the top level: a config "
            "is a mapping of keys to values (key: value lines)"
        )
    return value


def read_config(path: str | Path) -> dict[str, Any]:
    """The mapping in the YAML file ``path`` (see the module docstring for what is refused)."""
    path = Path(path)
    if not path.is_file():
        what = "is a directory, not a file" if path.is_dir() else "does not exist"
        raise BadInput(f"config file {path} {what}")
    return parse_config(path.read_bytes(), str(path))


def packaged_config(name: str) -> dict[str, Any]:
    """The config ``configs/NAME.yaml`` shipped inside the package (e.g. ``sslmem-quick``)."""
    import importlib.resources

    resource = importlib.resources.files("mnemoscope") / "configs" / f"{name}.yaml"
    if not resource.is_file():
        raise FileNotFoundError(f"no packaged config {name}.yaml in mnemoscope/configs")
    return parse_config(resource.read_bytes(), f"mnemoscope/configs/{name}.yaml")
