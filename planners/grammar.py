"""The grammar: a networkx DAG of dialog states (each of a catalog node type), validated when built.

Rules, checked in this order, each raising :class:`GrammarError` with its tag:

- ``schema`` / ``file_format``: the spec or file is well formed; ``unknown_type``: every state's type
  is in the catalog; ``unknown_state``: every edge ends at a declared state; ``turn_range``: a state's
  turn override satisfies 1 <= min <= max;
- ``acyclic``; ``one_start`` and ``one_end`` (exactly one source and one sink; together with acyclicity
  this makes every state lie on a start-to-end path); ``end_is_close``: the sink is a ``close`` node;
- ``path_limit``: at most ``max_paths`` start-to-end paths (they are enumerated once, so sampling is a
  table look-up);
- on every start-to-end path, every node's preconditions, each under its own rule tag:
  ``elicit_before_recommend`` (no recommendation before an elicitation), ``target_recommended_once``,
  ``accept_follows_target`` (accept right after the target is on the table, no alternative in between),
  ``accept_before_close``, ``clarify_after_elicit``, ``refine_after_declined_alternative``,
  ``inquire_about_recommended_target``, ``no_accept_over_open_concern``. The error shows the offending
  path;
- ``turns_alternate``: on every edge, the state's last speaker is not the next state's opener (no side
  ever speaks twice in a row, whatever the path: replans included).

A plan's bindings add one fact the path alone cannot know: an inquiry answered negatively on an aspect
the user cares about leaves a concern open, which only another inquiry answered well, a declined
alternative or a refinement settles before ``accept`` (:meth:`Grammar.check_path` with ``concerns``;
``planners.validate.check_plan`` passes them).

A grammar file is TOML or JSON (by suffix) with ``name``, ``description`` and ``states``: a table of
state id -> ``{type, next = [...], min_turns?, max_turns?}``; see ``planners/grammars/default.toml``.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import tomllib
from collections.abc import Collection, Sequence
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import networkx as nx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from planners.errors import GrammarError, PathError, PlanError
from planners.nodes import CATALOG, NodeKind, NodeType

__all__ = ["DEFAULT_MAX_PATHS", "Grammar", "GrammarSpec", "StateSpec", "default_grammar", "load_grammar"]

DEFAULT_MAX_PATHS = 20_000


class StateSpec(BaseModel):
    """One state of a grammar: its node type, successors and optional turn-range override."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: str
    next: tuple[str, ...] = ()
    min_turns: int | None = None
    max_turns: int | None = None


class GrammarSpec(BaseModel):
    """A grammar as data (what a file holds); :meth:`Grammar.from_spec` validates it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    description: str = ""
    states: dict[str, StateSpec]


def _facts_violation(
    path: Sequence[str], types: Sequence[NodeType], concerns: Sequence[bool] | None = None
) -> tuple[str, str] | None:
    """(rule, message) for the first precondition the path breaks, or None.

    ``concerns[i]``: node ``i``'s binding leaves a concern open (a plan's inquiry answered negatively).
    """
    facts: set[str] = set()
    for i, (state, nt) in enumerate(zip(path, types, strict=True)):
        for pre in nt.preconditions:
            if pre.absent and pre.fact in facts:
                return (
                    pre.rule,
                    f"state {state!r} ({nt.name}) needs {pre.fact!r} not to hold yet, but it does",
                )
            if not pre.absent and pre.fact not in facts:
                return pre.rule, f"state {state!r} ({nt.name}) needs {pre.fact!r} to hold before it"
        facts.difference_update(nt.clears)
        facts.update(nt.provides)
        if concerns is not None and concerns[i]:
            facts.add("concern_open")
    return None


class Grammar:
    """A validated grammar: the DAG (``graph``), its start and end, and every start-to-end path."""

    def __init__(self, spec: GrammarSpec, *, max_paths: int = DEFAULT_MAX_PATHS) -> None:
        self.spec = spec
        self.name = spec.name
        self.types: dict[str, NodeType] = {}
        for sid, st in spec.states.items():
            if st.type not in CATALOG:
                raise GrammarError(
                    "unknown_type", f"state {sid!r} has type {st.type!r}; known types: {', '.join(CATALOG)}"
                )
            self.types[sid] = CATALOG[st.type]
            lo, hi = self._range(sid)
            if not 1 <= lo <= hi:
                raise GrammarError(
                    "turn_range", f"state {sid!r}: turn range {lo}..{hi} must satisfy 1 <= min <= max"
                )
        graph = nx.DiGraph(name=spec.name)
        for sid in spec.states:
            graph.add_node(sid, type=self.types[sid].name)
        for sid, st in spec.states.items():
            for nxt in st.next:
                if nxt not in spec.states:
                    raise GrammarError(
                        "unknown_state", f"edge {sid!r} -> {nxt!r} ends at an undeclared state"
                    )
                graph.add_edge(sid, nxt)
        if not nx.is_directed_acyclic_graph(graph):
            cycle = [u for u, _ in nx.find_cycle(graph)]
            raise GrammarError("acyclic", "the grammar has a cycle", path=[*cycle, cycle[0]])
        starts = [n for n in graph if graph.in_degree(n) == 0]
        ends = [n for n in graph if graph.out_degree(n) == 0]
        if len(starts) != 1:
            raise GrammarError(
                "one_start", f"need exactly one start state (no incoming edge), found {len(starts)}: {starts}"
            )
        if len(ends) != 1:
            raise GrammarError(
                "one_end", f"need exactly one end state (no outgoing edge), found {len(ends)}: {ends}"
            )
        self.graph = graph
        self.start, self.end = starts[0], ends[0]
        if self.types[self.end].name != "close":
            raise GrammarError(
                "end_is_close",
                f"the end state {self.end!r} has type {self.types[self.end].name!r}, not 'close'",
            )
        self.paths = self._enumerate(max_paths)
        for path in self.paths:
            bad = _facts_violation(path, [self.types[s] for s in path])
            if bad is not None:
                raise GrammarError(bad[0], bad[1], path=path)
        for a, b in graph.edges:
            if self.types[a].closer == self.types[b].opener:
                raise GrammarError(
                    "turns_alternate",
                    f"state {a!r} ends with the {self.types[a].closer} speaking and {b!r} opens with the "
                    f"{self.types[b].opener}: nobody may speak twice in a row",
                    path=[a, b],
                )
        canonical = json.dumps(spec.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
        self.hash = hashlib.sha256(canonical.encode()).hexdigest()[:16]

    @classmethod
    def from_spec(cls, spec: GrammarSpec | dict[str, Any], *, max_paths: int = DEFAULT_MAX_PATHS) -> Grammar:
        """A validated grammar from a spec or its dict form (GrammarError naming the broken rule)."""
        if not isinstance(spec, GrammarSpec):
            try:
                spec = GrammarSpec.model_validate(spec)
            except ValidationError as exc:
                raise GrammarError("schema", _first_error(exc)) from None
        return cls(spec, max_paths=max_paths)

    def _range(self, state: str) -> tuple[int, int]:
        st, nt = self.spec.states[state], self.types[state]
        return (
            st.min_turns if st.min_turns is not None else nt.min_turns,
            st.max_turns if st.max_turns is not None else nt.max_turns,
        )

    def _enumerate(self, max_paths: int) -> tuple[tuple[str, ...], ...]:
        # Depth-first in file order of successors, so the path order (and with it sampling) is stable.
        out: list[tuple[str, ...]] = []
        stack: list[tuple[str, ...]] = [(self.start,)]
        while stack:
            path = stack.pop()
            succ = self.spec.states[path[-1]].next
            if not succ:
                out.append(path)
                if len(out) > max_paths:
                    raise GrammarError(
                        "path_limit",
                        f"more than {max_paths} start-to-end paths; raise max_paths or simplify the grammar",
                    )
                continue
            stack.extend((*path, n) for n in reversed(succ))
        return tuple(out)

    # -- queries ---------------------------------------------------------------------------------
    def type_of(self, state: str) -> NodeKind:
        """The node type of a state."""
        return self.types[state].name

    def turn_range(self, state: str) -> tuple[int, int]:
        """(min, max) turns of a state: its override, else its node type's range."""
        return self._range(state)

    def check_path(self, path: Sequence[str], concerns: Sequence[bool] | None = None) -> None:
        """None when ``path`` is a start-to-end path of this grammar; else PathError naming the rule.

        ``concerns`` (one per state): which states' bindings leave a concern open, for a bound plan.
        """
        for s in path:
            if s not in self.types:
                raise PathError("unknown_state", f"state {s!r} is not in grammar {self.name!r}", path=path)
        if not path or path[0] != self.start:
            raise PathError("path_start", f"a path starts at {self.start!r}", path=path)
        if path[-1] != self.end:
            raise PathError("path_end", f"a path ends at {self.end!r}", path=path)
        for a, b in itertools.pairwise(path):
            if not self.graph.has_edge(a, b):
                raise PathError("edge_not_in_grammar", f"no edge {a!r} -> {b!r}", path=path)
        # Without concerns unreachable for a validated grammar: a hand-built path gets the precise rule.
        bad = _facts_violation(path, [self.types[s] for s in path], concerns)
        if bad is not None:
            raise PathError(bad[0], bad[1], path=path)

    def continuations(self, prefix: Sequence[str], avoid: Collection[str] = ()) -> list[tuple[str, ...]]:
        """Every way to finish the dialog after ``prefix`` (states after it, to the end), in path order.

        ``avoid`` holds state ids or node types that no continuation may contain. An empty prefix asks
        for whole paths. PathError when the prefix is not the beginning of a path of the grammar.
        """
        prefix = tuple(prefix)
        if prefix and not any(p[: len(prefix)] == prefix for p in self.paths):
            raise PathError("not_a_prefix", "these states do not begin a path of the grammar", path=prefix)
        k = len(prefix)
        out = []
        for p in self.paths:
            if len(p) > k and p[:k] == prefix:
                rest = p[k:]
                if not any(s in avoid or self.types[s].name in avoid for s in rest):
                    out.append(rest)
        return out

    def to_dict(self) -> dict[str, Any]:
        """The grammar's spec as a JSON-ready dict (what ``load_grammar`` reads back)."""
        return self.spec.model_dump(mode="json", exclude_none=True)

    def __repr__(self) -> str:
        return (
            f"Grammar({self.name!r}, states={len(self.types)}, edges={self.graph.number_of_edges()}, "
            f"paths={len(self.paths)})"
        )


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    loc = ".".join(str(x) for x in err["loc"])
    return f"{loc}: {err['msg']}" if loc else err["msg"]


def load_grammar(path: str | Path, *, max_paths: int = DEFAULT_MAX_PATHS) -> Grammar:
    """A grammar read from a ``.toml`` or ``.json`` file, validated like any other."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise GrammarError("file_format", f"{p}: cannot read ({exc.strerror})") from None
    try:
        if p.suffix.lower() == ".json":
            data = json.loads(raw)
        elif p.suffix.lower() == ".toml":
            data = tomllib.loads(raw.decode("utf-8"))
        else:
            raise GrammarError("file_format", f"{p}: expected a .toml or .json grammar file")
    except (json.JSONDecodeError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise GrammarError("file_format", f"{p}: {exc}") from None
    try:
        return Grammar.from_spec(data, max_paths=max_paths)
    except PlanError as exc:
        # Same rule, with the file named so a user knows which grammar broke it.
        raise GrammarError(exc.rule, f"{p}: {exc.message}", path=exc.path) from None


@cache
def default_grammar() -> Grammar:
    """The shipped default grammar (``planners/grammars/default.toml``), built once."""
    text = resources.files("planners").joinpath("grammars/default.toml").read_text(encoding="utf-8")
    return Grammar.from_spec(tomllib.loads(text))
