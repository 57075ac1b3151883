"""What the walk knows at each node, in one object passed to every callback.

The walk (``torch2jax.walk``) keeps it current as it enters and leaves nodes: the scope
(module level, a method of an nn.Module subclass, a function that builds layers and so
takes ``rngs``), the class being walked, the calls being translated, the syntactic role of
nodes (callee, statement, unpacked into names) and the diagnostics reported so far.
Concerns read it and report through it; the few cross-node facts one concern leaves for
another (a transpose just emitted, a (values, indices) pair) are named fields here too.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from torch2jax.analyze import FileFacts, mro
from torch2jax.diagnostics import marker
from torch2jax.imports import Imports
from torch2jax.names import bound_names
from torch2jax.rules import RuleSet
from torch2jax.syntax import arg, call, parse_expr, value_expr

FuncKey = tuple  # (class name or None, function name)


@dataclass(frozen=True)
class Scope:
    cls: str | None  # the nn.Module subclass whose method this is, else None
    key: FuncKey | None  # the enclosing top-level function or method
    has_rngs: bool  # an `rngs` name is in scope (the function takes it)
    shadowed: frozenset  # local names that hide an import alias


@dataclass
class Pending:
    """A diagnostic waiting for its position (computed once, for all of them, at the end)."""

    node: cst.CSTNode | None
    code: str
    message: str
    handled: bool
    severity: str


class State:
    def __init__(self, facts: FileFacts, rules: RuleSet):
        self.facts = facts
        self.rules = rules
        self.imports = Imports()
        self.pending: list[Pending] = []
        self.rules_applied: set[str] = set()  # torch names of the rules that translated something (see applied)
        self.scopes: list[Scope] = [Scope(None, None, False, frozenset())]
        self.classes: list[tuple[str, bool]] = []  # (name, is an nn.Module subclass)
        self.markers: list[list[str]] = []  # per open statement: marker comments to attach
        self.calls: list[cst.Call] = []  # calls being translated, innermost last
        # Syntactic roles, by id of the original node.
        self.callees: set[int] = set()  # the `func` of a call
        self.inner: set[int] = set()  # the value of an attribute (`x` in `x.y`), class bases
        self.statement_calls: set[int] = set()  # calls used as expression statements
        self.targets: set[int] = set()  # assignment targets (`x` in `x = ...`, `x += ...`)
        # Names that label rather than refer: `Tensor` in `torch.ops.aten.slice.Tensor`, `f(Module=m)`,
        # `def relu(...)`: never an imported torch name, whatever the file imports.
        self.labels: set[int] = set()
        self.annotations: list[bool] = []  # open annotations; True: it names a torch type with no JAX one
        # `if isinstance(m, nn.Linear):` -> inside, `m` holds a Linear (innermost first; {} in an `else`).
        self.narrowings: list[dict] = []
        # A parameter read the parameters pass emitted (`self.fc.kernel[...].T`) -> (variable expression, rule, spec).
        self.param_reads: dict[int, tuple] = {}
        self.init_targets: dict[int, cst.BaseExpression] = {}  # an initializer's value -> the variable it fills
        self.unpacked: dict[int, int] = {}  # call -> how many names it is unpacked into
        # Left by one concern for another, by id of the emitted node (kept alive so ids stay unique).
        self.pairs: dict[int, tuple] = {}  # torch's (values, indices) results
        self.transposed: dict[int, tuple[cst.BaseExpression, int]] = {}  # NHWC->NCHW transposes: (inner, rank)
        self.keep_alive: list = []
        self.module: cst.Module | None = None  # the file being rewritten (set when the walk enters it)
        self.compared: set[int] = set()  # names/attributes compared by `is`, `==`, `in` (`type(m) is nn.Identity`)
        self.compared_values: set[int] = set()  # operands of the other comparisons (`act_layer is nn.ReLU`)
        self.tied: dict[str, dict[str, str]] = {}  # class -> tied Linear head -> the Embedding it shares
        self.tied_flags: dict[str, set[str]] = {}  # class -> heads tied only under a condition (a flag says)
        self.split_lines: set[int] = set()  # statement lines whose rewrite is several lines (registry.Lines)
        self.dropped: set[int] = set()  # placeholder lines to drop (their comments move to the next statement)
        self.module_rngs = False  # a module-level `rngs = nnx.Rngs(seed)` exists (from torch.manual_seed)
        self.indent = "    "  # the file's indentation, for code written as text
        # Module-level definitions a concern adds: (the original top-level statement they go before, or
        # None for "after the imports", the definition).
        self.module_definitions: list[tuple[cst.CSTNode | None, cst.BaseStatement]] = []
        self.support: dict[str, str] = {}  # name -> source of a helper definition emitted once
        self.module_statements: list[tuple[cst.CSTNode, cst.BaseStatement]] = []  # (before this top-level statement, stmt)
        self.statements: list[cst.CSTNode] = []  # the statements being walked, outermost first
        # Activation checkpointing (passes/activation_checkpointing.py): functions defined in a method and
        # checkpointed by name, that reach `self` (they take it as a parameter), and their checkpoint calls.
        self.remat_closures: set[int] = set()
        self.remat_calls: set[int] = set()
        # Loops over named_parameters() translated by their names (passes/named_parameter_init.py): ids of the
        # loop, its call, its test strings and initialised targets -> the loop's plan; and the names that stand
        # for an nnx.Variable (an initialiser assigns `p[...] = ...`, not `p = ...`).
        self.parameter_loops: dict[int, object] = {}
        self.variable_names: set[int] = set()
        self.leaving: tuple = (None, None)  # (original, updated) of the node whose callback is running

    # ------------------------------------------------------------------ context
    @property
    def scope(self) -> Scope:
        return self.scopes[-1]

    @property
    def in_module_class(self) -> bool:
        return self.scope.cls is not None

    @property
    def at_top_level_function(self) -> bool:
        """Inside a module-level function or a method, not a function nested in one."""
        return len(self.scopes) == 2

    def enter_class(self, node: cst.ClassDef) -> None:
        name = node.name.value
        self.classes.append((name, name in self.facts.module_classes and len(self.scopes) == 1))

    def exit_class(self, node) -> None:
        self.classes.pop()

    def enter_function(self, node: cst.FunctionDef) -> None:
        parent = self.scope
        if len(self.scopes) == 1:  # a module-level function or a method
            owner = self.classes[-1] if self.classes else None
            key = (owner[0] if owner else None, node.name.value)
            cls = owner[0] if owner and owner[1] else None
            has_rngs = key in self.facts.needs_rngs or key in self.facts.seeded
        else:  # a nested function sees its parent's names, rngs included
            key, cls, has_rngs = parent.key, parent.cls, parent.has_rngs
        shadowed = frozenset(bound_names(node) & set(self.facts.imports.aliases)) | parent.shadowed
        self.scopes.append(Scope(cls, key, has_rngs, shadowed))

    def exit_function(self, node) -> None:
        self.scopes.pop()

    def qualify(self, node) -> str | None:
        """The torch (or other imported) qualified name of a name/attribute chain, in this scope."""
        if node is None:
            return None
        return self.facts.imports.qualify(node, self.scope.shadowed)

    @property
    def self_is_an_instance(self) -> bool:
        """In a method of a class that is not a torch.Tensor subclass: ``self`` is that class's
        instance, so ``self.relu(x)`` is its own method (an nnx.Module's, on a second conversion)."""
        return bool(self.classes) and len(self.scopes) > 1 and self.classes[-1][0] not in self.facts.tensor_classes

    @property
    def in_annotation(self) -> bool:
        return bool(self.annotations)

    def in_type_check(self, original: cst.CSTNode) -> bool:
        """The class argument of ``isinstance(x, C)`` / ``issubclass(...)`` (also inside a tuple of classes)."""
        if not self.calls:
            return False
        call = self.calls[-1]
        if not isinstance(call.func, cst.Name) or call.func.value not in ("isinstance", "issubclass") or len(call.args) < 2:
            return False
        second = call.args[1].value
        if second is original:
            return True
        return isinstance(second, cst.Tuple) and any(e.value is original for e in second.elements)

    def is_value_position(self, original: cst.CSTNode) -> bool:
        """Not called and not the object of an attribute: a name used as a value."""
        return id(original) not in self.callees and id(original) not in self.inner

    def holds(self, node):
        """What a name or attribute chain holds here (see ``analyze.FileFacts.holds``), narrowed by
        an enclosing ``isinstance`` check."""
        if isinstance(node, cst.Name):
            for narrowing in reversed(self.narrowings):
                if node.value in narrowing:
                    return narrowing[node.value]
        elif isinstance(node, cst.Attribute) and self.narrowings:  # `m.bn3` inside `if isinstance(m, Bottleneck):`
            base = self.holds(node.value)
            if base is not None and base.kind == "module":
                for owner in mro(self.facts, base.name):
                    found = self.facts.attributes.get(owner, {}).get(node.attr.value)
                    if found is not None:
                        return found
        return self.facts.holds(self.scope.cls, self.scope.key, node)

    def unpacked_into(self) -> int | None:
        """How many names the call being translated is unpacked into (``q, k, v = ...``)."""
        return self.unpacked.get(id(self.calls[-1])) if self.calls else None

    def drop_line(self, line: cst.SimpleStatementLine) -> cst.SimpleStatementLine:
        """Remove a statement line, keeping its comments: a ``pass`` the enclosing block drops.

        (LibCST itself would drop a line left empty, and its comments with it.)"""
        placeholder = line.with_changes(body=[cst.Pass()])
        self.dropped.add(id(placeholder))
        self.keep_alive.append(placeholder)
        return placeholder

    # ------------------------------------------------------------------ diagnostics
    def report(self, code: str, message: str, *, node=None, handled=False, severity: str = "", mark=None) -> None:
        """Record a diagnostic at ``node`` (default: the call being translated); unless it was
        handled, also mark the enclosing statement with a ``# torch2jax: CODE ...`` comment."""
        node = node if node is not None else (self.calls[-1] if self.calls else None)
        if node is not None and node is self.leaving[1]:  # the rewritten copy is not in the input: no position
            node = self.leaving[0]
        self.pending.append(Pending(node, code, message, handled, severity))
        if mark is None:
            mark = not handled
        if mark and self.markers:
            text = marker(code, message)
            if text not in self.markers[-1]:
                self.markers[-1].append(text)

    def applied(self, rule, reported_before: int) -> None:
        """Record ``rule`` as applied unless its application reported something it did not handle
        (a T2J302, T2J102 ...: the call was left as torch, so the rule translated nothing)."""
        if all(p.handled for p in self.pending[reported_before:]):
            self.rules_applied.add(rule.torch)

    # ------------------------------------------------------------------ randomness
    def rngs_expr(self) -> cst.BaseExpression:
        """The ``rngs`` to pass to a layer built here. At module level with no ``torch.manual_seed``,
        one ``rngs = nnx.Rngs(0)`` is made before the first statement that needs it."""
        if self.scope.has_rngs or (self.scope.key is None and self.module_rngs):
            return cst.Name("rngs")
        if self.scope.key is None and self.statements:
            self._module_rngs_before(self.statements[0])
            return cst.Name("rngs")
        if self.draws_from_module:  # a run-time method: the module's own stream, not a fixed seed
            return parse_expr("self.rngs")
        return call(self.imports.ref("flax.nnx.Rngs"), [value_expr(0)])

    def with_rngs(self, node: cst.Call) -> cst.Call:
        """The call with ``rngs=`` passed on (unless it passes it already). A ``**kwargs`` it forwards
        does not carry it: functions that build modules take ``rngs`` as a parameter of their own."""
        if any(a.keyword and a.keyword.value == "rngs" for a in node.args):
            return node
        return node.with_changes(args=[*node.args, arg(self.rngs_expr(), "rngs")])

    def _module_rngs_before(self, statement) -> None:
        self.module_rngs = True
        seed = cst.parse_statement("rngs = nnx.Rngs(0)\n")
        self.imports.ref("flax.nnx.Rngs")
        self.module_statements.append((statement, seed))

    @property
    def draws_from_module(self) -> bool:
        """In a method (not ``__init__``) of a module class that holds its own ``self.rngs``."""
        cls, key = self.scope.cls, self.scope.key
        return any(c in self.facts.draws_at_call for c in mro(self.facts, cls)) if cls and key[1] != "__init__" else False

    def rngs_at_call(self) -> cst.BaseExpression | None:
        """The ``nnx.Rngs`` to draw from at run time: the module's own, or the one in scope."""
        if self.draws_from_module:
            return parse_expr("self.rngs")
        if self.scope.has_rngs or (self.scope.key is None and (self.module_rngs or self.statements)):
            if self.scope.key is None and not self.module_rngs:
                self._module_rngs_before(self.statements[0])
            return cst.Name("rngs")
        return None

    def key_expr(self, stream: str = "params") -> cst.BaseExpression | None:
        """A fresh random key, when an ``rngs`` is in scope (a module's ``self.rngs`` at run time)."""
        if self.draws_from_module:
            return parse_expr(f"self.rngs.{stream}()")
        if self.scope.key is None and not self.module_rngs and self.statements:
            self._module_rngs_before(self.statements[0])
        if not (self.scope.has_rngs or (self.scope.key is None and self.module_rngs)):
            return None
        return parse_expr("rngs.params()")
