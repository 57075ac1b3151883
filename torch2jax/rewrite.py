"""The rewriting walk: one LibCST transformer whose concerns live in small methods.

Order matters only where one concern feeds another, and LibCST's bottom-up
``leave_*`` order settles it: arguments are rewritten before the call that
receives them; calls before the statement that holds them; statements before the
function (``rngs`` parameter, ``forward`` -> ``__call__``) and the class (bases).
One walk instead of one per concern keeps conversion near the parse+codegen floor.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from torch2jax.analyze import FileFacts, mro
from torch2jax.diagnostics import marker
from torch2jax.emit import Imports, arg, bind, build, call, target_arguments
from torch2jax.handlers import HANDLERS, _module_fn
from torch2jax.names import bound_names, dotted_name
from torch2jax.rules import Rule, RuleSet
from torch2jax.transforms import NotTorch, Unsupported, code_of, literal, value_expr

ELEMENTWISE = {"jax.nn.relu", "jax.nn.gelu", "jax.nn.silu", "jax.nn.sigmoid", "jax.numpy.tanh", "jax.nn.leaky_relu"}


# nn.Module methods a module may call on itself that nnx.Module does not have.
MODULE_API = {
    "apply": "nn.Module.apply has no NNX equivalent; initialise in __init__ or loop over nnx.iter_graph(self)",
    "modules": "use nnx.iter_graph(self) to walk submodules",
    "named_modules": "use nnx.iter_graph(self) to walk submodules",
    "children": "use nnx.iter_graph(self) to walk submodules",
    "parameters": "use nnx.state(self, nnx.Param)",
    "named_parameters": "use nnx.state(self, nnx.Param)",
    "buffers": "use nnx.state(self, nnx.Variable)",
    "state_dict": "use nnx.state(self)",
    "load_state_dict": "use nnx.update(self, state) or torch2jax.load_torch_weights",
    "register_forward_hook": "NNX has no hooks; call the code explicitly",
    "register_forward_pre_hook": "NNX has no hooks; call the code explicitly",
    "register_full_backward_hook": "NNX has no hooks; transform the gradient explicitly",
    "register_parameter": "assign an nnx.Param attribute",
    "add_module": "assign the submodule as an attribute",
    "zero_grad": "JAX computes gradients functionally; there is nothing to zero",
}

INPLACE_OPERATORS = {"add_": "+", "sub_": "-", "mul_": "*", "div_": "/"}
INPLACE_NODES = {"+": cst.Add, "-": cst.Subtract, "*": cst.Multiply, "/": cst.Divide}

_STATEMENTS = frozenset(
    {cst.SimpleStatementLine, cst.If, cst.For, cst.While, cst.With, cst.Try, cst.TryStar, cst.FunctionDef, cst.ClassDef, cst.Match}
)


@dataclass
class _Scope:
    cls: str | None
    key: tuple | None
    has_rngs: bool
    shadowed: frozenset


class Rewriter(cst.CSTTransformer):
    def __init__(self, facts: FileFacts, rules: RuleSet):
        super().__init__()
        self.facts = facts
        self.rules = rules
        self.imports = Imports()
        self.pending: list[tuple[cst.CSTNode, str, str, bool, str]] = []  # node, code, message, handled, severity
        self._scopes: list[_Scope] = [_Scope(None, None, False, frozenset())]
        self._class_stack: list[str | None] = []
        self._markers: list[list[str]] = []
        self._callee_ids: set[int] = set()
        self._statement_calls: set[int] = set()
        self._pairs: dict[int, tuple] = {}
        self._unpacked: dict[int, int] = {}
        self._inner_ids: set[int] = set()
        self._to_first: dict[int, tuple[cst.BaseExpression, int]] = {}  # node id -> (inner, rank)
        self._keep_alive: list = []
        self._current_call: list[cst.Call] = []
        self._module_rngs = False  # a module-level `rngs = nnx.Rngs(seed)` exists (from torch.manual_seed)

    # ------------------------------------------------------------------ context for handlers
    @property
    def scope(self) -> _Scope:
        return self._scopes[-1]

    def qualify(self, node) -> str | None:
        if node is None:
            return None
        return self.facts.imports.qualify(node, self.scope.shadowed)

    def report(self, code: str, message: str, *, node=None, handled=False, severity: str = "", mark=None) -> None:
        node = node if node is not None else (self._current_call[-1] if self._current_call else None)
        self.pending.append((node, code, message, handled, severity))
        if mark is None:
            mark = not handled
        if mark and self._markers:
            text = marker(code, message)
            if text not in self._markers[-1]:
                self._markers[-1].append(text)

    def rngs_expr(self) -> cst.BaseExpression:
        if self.scope.has_rngs or (self.scope.key is None and self._module_rngs):
            return cst.Name("rngs")
        return call(self.imports.ref("flax.nnx.Rngs"), [value_expr(0)])

    def key_expr(self) -> cst.BaseExpression | None:
        if not self.scope.has_rngs:
            return None
        return cst.parse_expression("rngs.params()")

    @staticmethod
    def _perms(rank: int) -> tuple[tuple, tuple]:
        to_last = (0, *range(2, rank), 1)
        to_first = (0, rank - 1, *range(1, rank - 1))
        return to_last, to_first

    def to_last(self, x: cst.BaseExpression, rank: int) -> cst.BaseExpression:
        """NC... -> N...C, cancelling a transpose this walk just emitted the other way."""
        found = self._to_first.get(id(x))
        if found and found[1] == rank:
            return found[0]
        if isinstance(x, cst.Call) and len(x.args) == 1 and not x.args[0].keyword:
            inner = self._to_first.get(id(x.args[0].value))
            if inner and inner[1] == rank and dotted_name(x.func) and self._elementwise(x.func):
                return x.with_changes(args=[x.args[0].with_changes(value=inner[0])])
        to_last, _ = self._perms(rank)
        return call(self.imports.ref("jax.numpy.transpose"), [x, value_expr(to_last)])

    def _elementwise(self, func) -> bool:
        name = dotted_name(func) or ""
        for prefix, local in (("jax.numpy.", "jnp."), ("jax.nn.", "jax.nn.")):
            if name.startswith(local) and prefix + name[len(local):] in ELEMENTWISE:
                return True
        return False

    def channels_last(self, y: cst.BaseExpression, rank: int) -> cst.BaseExpression:
        """Wrap a channels-last result back to torch's channels-first layout."""
        _, to_first = self._perms(rank)
        out = call(self.imports.ref("jax.numpy.transpose"), [y, value_expr(to_first)])
        self._to_first[id(out)] = (y, rank)
        self._keep_alive.append(out)
        return out

    def values_indices(self, values, indices) -> cst.Tuple:
        """torch's (values, indices) result; ``.values`` / ``.indices`` on it pick one."""
        pair = cst.Tuple([cst.Element(values), cst.Element(indices)])
        self._pairs[id(pair)] = (values, indices)
        self._keep_alive.append(pair)
        return pair

    def wrap_layer(self, layer: cst.BaseExpression, rank: int) -> cst.BaseExpression:
        """A channels-last Flax layer made to take and return channels-first arrays."""
        to_last, to_first = self._perms(rank)
        partial = self.imports.ref("functools.partial")
        transpose = self.imports.ref("jax.numpy.transpose")
        before = call(partial, [transpose], {"axes": value_expr(to_last)})
        after = call(partial, [transpose], {"axes": value_expr(to_first)})
        return call(self.imports.ref("flax.nnx.Sequential"), [before, layer, after])

    # ------------------------------------------------------------------ statements and markers
    def on_visit(self, node: cst.CSTNode) -> bool:
        if type(node) in _STATEMENTS:  # exact types: an ABC isinstance per node is measurably slow
            self._markers.append([])
        return super().on_visit(node)

    def on_leave(self, original_node, updated_node):
        result = super().on_leave(original_node, updated_node)
        if type(original_node) in _STATEMENTS:
            texts = self._markers.pop()
            if texts and isinstance(result, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
                existing = {line.comment.value for line in result.leading_lines if line.comment}
                new = [cst.EmptyLine(comment=cst.Comment(t)) for t in texts if t not in existing]
                result = result.with_changes(leading_lines=[*result.leading_lines, *new])
        return result

    # ------------------------------------------------------------------ classes and functions
    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        name = node.name.value
        is_module = name in self.facts.module_classes and len(self._scopes) == 1
        self._class_stack.append((name, is_module))
        if is_module:  # bases are rewritten in leave_ClassDef
            self._inner_ids.update(id(base.value) for base in node.bases)

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        _, is_module = self._class_stack.pop()
        if not is_module:
            return updated
        bases = []
        for base in updated.bases:
            if self.facts.imports.qualify(base.value) == "torch.nn.Module":
                bases.append(base.with_changes(value=self.imports.ref("flax.nnx.Module")))
            else:
                bases.append(base)
        return updated.with_changes(bases=bases)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        parent = self.scope
        if len(self._scopes) == 1:  # a module-level function or a method
            owner = self._class_stack[-1] if self._class_stack else None
            key = (owner[0] if owner else None, node.name.value)
            cls = owner[0] if owner and owner[1] else None
            has_rngs = key in self.facts.needs_rngs
        else:  # a nested function sees its parent's names, rngs included
            key, cls, has_rngs = parent.key, parent.cls, parent.has_rngs
        shadowed = frozenset(bound_names(node) & set(self.facts.imports.aliases)) | parent.shadowed
        self._scopes.append(_Scope(cls, key, has_rngs, shadowed))

    def visit_Import(self, node) -> bool:
        return False

    def visit_ImportFrom(self, node) -> bool:
        return False

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        scope = self._scopes.pop()
        if len(self._scopes) > 1:
            return updated
        name = scope.key[1]
        cls = scope.cls
        if cls is not None and name == "forward":
            updated = updated.with_changes(name=cst.Name("__call__"))
        if scope.key in self.facts.needs_rngs:
            updated = self._add_rngs_param(updated)
        if cls is not None and name == "__init__" and cls in self.facts.uses_training:
            stmt = cst.parse_statement("self.deterministic = False  # nnx: .train()/.eval() set this")
            updated = self._insert_first(updated, stmt)
        return updated

    def _add_rngs_param(self, func: cst.FunctionDef) -> cst.FunctionDef:
        params = func.params
        names = {p.name.value for p in (*params.params, *params.kwonly_params, *params.posonly_params)}
        if "rngs" in names:
            return func
        annotation = cst.Annotation(self.imports.ref("flax.nnx.Rngs"))
        new = cst.Param(name=cst.Name("rngs"), annotation=annotation)
        star = params.star_arg if not isinstance(params.star_arg, cst.MaybeSentinel) else cst.ParamStar()
        return func.with_changes(params=params.with_changes(kwonly_params=[*params.kwonly_params, new], star_arg=star))

    @staticmethod
    def _insert_first(func: cst.FunctionDef, stmt) -> cst.FunctionDef:
        """Insert ``stmt`` at the top of the body, after a docstring."""
        body = list(func.body.body)
        index = 0
        if body and isinstance(body[0], cst.SimpleStatementLine) and isinstance(body[0].body[0], cst.Expr) and isinstance(
            body[0].body[0].value, (cst.SimpleString, cst.ConcatenatedString)
        ):
            index = 1
        body.insert(index, stmt)
        return func.with_changes(body=func.body.with_changes(body=body))

    # ------------------------------------------------------------------ simple statements
    def leave_SimpleStatementLine(self, original, updated):
        body = []
        for small_orig, small in zip(original.body, updated.body):
            replaced = self._statement(small_orig, small)
            if replaced is not None:
                body.append(replaced)
        # An emptied line is dropped by its block, which keeps its comments (see _drop_empty).
        return updated.with_changes(body=body)

    def leave_IndentedBlock(self, original, updated):
        body = _drop_empty(updated.body)
        return updated.with_changes(body=body or [cst.SimpleStatementLine([cst.Pass()])])

    def leave_Module(self, original, updated):
        return updated.with_changes(body=_drop_empty(updated.body))

    def _statement(self, original, updated):
        """Statement-level rewrites; None removes the statement."""
        if isinstance(original, cst.Expr) and isinstance(original.value, cst.Call):
            c = original.value
            func = c.func
            # super().__init__() of a direct nn.Module subclass: nnx.Module needs no call.
            if (
                isinstance(func, cst.Attribute)
                and func.attr.value == "__init__"
                and isinstance(func.value, cst.Call)
                and dotted_name(func.value.func) == "super"
                and self.scope.cls is not None
                and not self.facts.class_bases.get(self.scope.cls)
            ):
                return None
            # self.register_buffer("name", value) -> self.name = nnx.Variable(value)
            if (
                isinstance(func, cst.Attribute)
                and func.attr.value == "register_buffer"
                and self.scope.cls is not None
                and isinstance(updated.value, cst.Call)
            ):
                return self._register_buffer(original, updated.value)
            inplace = self._inplace_on_name(c)
            if inplace is not None:
                value = updated.value.args[0].value if isinstance(updated.value, cst.Call) else c.args[0].value
                self.report("T2J202", f"`{code_of(original)}` became `{func.value.value} = {func.value.value} {inplace} ...`",
                            node=original, handled=True, severity="info")
                return cst.Assign(
                    targets=[cst.AssignTarget(func.value)],
                    value=cst.BinaryOperation(func.value, INPLACE_NODES[inplace](), value),
                )
            qname = self.qualify(func)
            if qname == "torch.manual_seed" and len(c.args) == 1:
                if self.scope.key is None:
                    self._module_rngs = True
                return cst.Assign(
                    targets=[cst.AssignTarget(cst.Name("rngs"))],
                    value=call(self.imports.ref("flax.nnx.Rngs"), [c.args[0].value]),
                )
        if isinstance(original, cst.Assign) and len(original.targets) == 1:
            target = updated.targets[0].target
            if isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name):
                return self._functional_update(original, updated, target, "set", updated.value)
        if isinstance(original, cst.AugAssign) and isinstance(updated.target, cst.Subscript):
            op = {cst.AddAssign: "add", cst.MultiplyAssign: "multiply", cst.SubtractAssign: "subtract",
                  cst.DivideAssign: "divide"}.get(type(updated.operator))
            target = updated.target
            if op and isinstance(target.value, cst.Name):
                value = updated.value
                if op == "subtract":
                    op, value = "add", cst.UnaryOperation(cst.Minus(), value)
                elif op == "divide":
                    op, value = "multiply", cst.BinaryOperation(value_expr(1), cst.Divide(), value)
                return self._functional_update(original, updated, target, op, value)
        return updated

    def _inplace_on_name(self, c: cst.Call) -> str | None:
        """The operator of ``x.add_(y)`` used as a statement on a plain name, else None."""
        func = c.func
        if (
            isinstance(func, cst.Attribute)
            and isinstance(func.value, cst.Name)
            and id(c) in self._statement_calls
            and len(c.args) == 1
            and not c.args[0].keyword
            and not c.args[0].star
            and self.facts.imports.imports_torch
        ):
            return INPLACE_OPERATORS.get(func.attr.value)
        return None

    def _functional_update(self, original, updated, target: cst.Subscript, op: str, value):
        if not self.facts.imports.imports_torch:
            return updated
        name = target.value
        at = cst.Subscript(value=cst.Attribute(value=name, attr=cst.Name("at")), slice=target.slice)
        new_value = call(cst.Attribute(value=at, attr=cst.Name(op)), [value])
        self.report("T2J202", f"`{code_of(original)}` became a functional update (`.at[...].{op}`)",
                    node=original, handled=True, severity="info")
        return cst.Assign(targets=[cst.AssignTarget(name)], value=new_value)

    def _register_buffer(self, original, c: cst.Call):
        args = c.args
        if len(args) < 2 or not isinstance(args[0].value, cst.SimpleString) or args[0].keyword:
            self.report("T2J201", "register_buffer with a computed name is not translated", node=original)
            return original
        name = literal(args[0].value)
        value = args[1].value
        if isinstance(value, cst.Name) and value.value == "None":
            return cst.Assign(targets=[cst.AssignTarget(cst.Attribute(cst.Name("self"), cst.Name(name)))], value=value)
        variable = call(self.imports.ref("flax.nnx.Variable"), [value])
        return cst.Assign(targets=[cst.AssignTarget(cst.Attribute(cst.Name("self"), cst.Name(name)))], value=variable)

    # ------------------------------------------------------------------ expressions
    def visit_Assign(self, node: cst.Assign) -> None:
        target = node.targets[0].target
        if len(node.targets) == 1 and isinstance(target, (cst.Tuple, cst.List)) and isinstance(node.value, cst.Call):
            if not any(isinstance(e, cst.StarredElement) for e in target.elements):
                self._unpacked[id(node.value)] = len(target.elements)

    def unpacked_into(self) -> int | None:
        """How many names the call being translated is unpacked into (``q, k, v = ...``)."""
        return self._unpacked.get(id(self._current_call[-1])) if self._current_call else None

    def visit_Expr(self, node: cst.Expr) -> None:
        self._statement_calls.add(id(node.value))

    def visit_Call(self, node: cst.Call) -> None:
        self._callee_ids.add(id(node.func))
        self._current_call.append(node)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        self._inner_ids.add(id(node.value))

    def leave_Attribute(self, original: cst.Attribute, updated: cst.Attribute):
        pair = self._pairs.get(id(updated.value))
        if pair is not None and updated.attr.value in ("values", "indices"):
            return pair[updated.attr.value == "indices"]
        if id(original) in self._callee_ids or id(original) in self._inner_ids:
            return updated
        if (
            isinstance(original.value, cst.Name)
            and original.value.value == "self"
            and original.attr.value == "training"
            and self.scope.cls is not None
        ):
            return cst.UnaryOperation(
                operator=cst.Not(),
                expression=cst.Attribute(cst.Name("self"), cst.Name("deterministic")),
                lpar=[cst.LeftParen()],
                rpar=[cst.RightParen()],
            )
        return self._reference(original, updated)

    def leave_Name(self, original: cst.Name, updated: cst.Name):
        if id(original) in self._callee_ids or id(original) in self._inner_ids:
            return updated
        qname = self.qualify(original)
        if qname and qname.startswith("torch.") and qname in self.rules.by_name:
            return self._reference(original, updated)
        return updated

    def _reference(self, original, updated):
        """A torch name used as a value (``torch.float32``, ``F.relu`` passed as an argument)."""
        qname = self.qualify(original)
        if not qname or not (qname == "torch" or qname.startswith("torch.")):
            return updated
        rule = self.rules.get(qname)
        if rule is not None and rule.kind == "constant":
            return self.imports.source(rule.target)
        if rule is not None and rule.kind == "function" and not rule.handler and not rule.target_is_method:
            return self.imports.ref(rule.target)
        if qname in ("torch", "torch.nn", "torch.nn.functional"):
            return updated
        if rule is not None:
            self.report("T2J901", f"`{qname}` used as a value (not called) is not translated; left as is", node=original)
        else:
            self.report("T2J901", f"`{qname}` has no rule; left as is", node=original)
        return updated

    def leave_Arg(self, original, updated):
        return updated.with_changes(value=self._strip_parens(updated.value))

    def leave_Return(self, original, updated):
        return updated.with_changes(value=self._strip_parens(updated.value)) if updated.value else updated

    def leave_Assign(self, original, updated):
        return updated.with_changes(value=self._strip_parens(updated.value))

    def leave_If(self, original, updated):
        return updated.with_changes(test=self._strip_parens(updated.test))

    def leave_While(self, original, updated):
        return updated.with_changes(test=self._strip_parens(updated.test))

    @staticmethod
    def _strip_parens(test):
        if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not) and test.lpar:
            return test.with_changes(lpar=[], rpar=[])
        return test

    def leave_Call(self, original: cst.Call, updated: cst.Call):
        try:
            return self._call(original, updated)
        except NotTorch:
            return updated
        except Unsupported as exc:
            self.report(exc.code, exc.message, node=original)
            return updated
        except Exception as exc:  # a handler bug must not lose the file
            self.report("T2J903", f"internal error while translating `{code_of(original)[:60]}`: {exc!r}", node=original)
            return updated
        finally:
            self._current_call.pop()

    def _call(self, original: cst.Call, updated: cst.Call):
        qname = self.qualify(original.func)
        if qname is not None and (qname == "torch" or qname.startswith("torch.")):
            rule = self.rules.get(qname)
            if qname == "torch.manual_seed" and id(original) in self._statement_calls and len(original.args) == 1:
                return updated  # the statement becomes `rngs = nnx.Rngs(seed)`
            if rule is None or rule.kind in ("method", "constant"):
                self.report("T2J901", f"`{qname}` has no rule; left as is", node=original)
                return updated
            return self._apply(rule, original, updated, receiver=None)
        func = original.func
        scope = self.scope
        # Construction of a module class of this file, or a call that builds layers: pass rngs on.
        if isinstance(func, cst.Name) and func.value not in scope.shadowed:
            if (
                func.value in self.facts.module_classes
                or (None, func.value) in self.facts.needs_rngs
                or func.value in self.facts.class_params.get(scope.key, ())
            ):
                return self._with_rngs(updated)
        if isinstance(func, cst.Attribute):
            receiver_is_self = isinstance(func.value, cst.Name) and func.value.value == "self"
            if receiver_is_self and scope.cls is not None:
                attr = func.attr.value
                rank = self.facts.direct_channels_last.get(scope.cls, {}).get(attr)
                if rank is not None and len(updated.args) == 1:
                    inner = updated.with_changes(args=[updated.args[0].with_changes(value=self.to_last(updated.args[0].value, rank))])
                    return self.channels_last(inner, rank)
                if attr == "forward":
                    return updated.with_changes(func=cst.Name("self"))
                owners = mro(self.facts, scope.cls)
                if any((c, attr) in self.facts.needs_rngs for c in owners):
                    return self._with_rngs(updated)
                if attr in MODULE_API and not any((c, attr) in self.facts.functions for c in owners):
                    self.report("T2J201", f"`self.{attr}(...)`: {MODULE_API[attr]}; left as is", node=original)
                    return updated
            if (
                func.attr.value == "forward"
                and isinstance(func.value, cst.Call)
                and dotted_name(func.value.func) == "super"
                and scope.cls is not None
            ):
                return updated.with_changes(func=updated.func.with_changes(attr=cst.Name("__call__")))
            if (
                func.attr.value == "__init__"
                and isinstance(func.value, cst.Call)
                and dotted_name(func.value.func) == "super"
                and scope.cls is not None
                and self.facts.class_bases.get(scope.cls)
            ):
                return self._with_rngs(updated)
            receiver_q = self.qualify(func.value)
            if receiver_q is None and self.facts.imports.imports_torch:
                rule = self.rules.method(func.attr.value)
                if rule is not None:
                    return self._apply(rule, original, updated, receiver=updated.func.value)
                name = func.attr.value
                if receiver_is_self:
                    pass  # the module's own methods
                elif name.endswith("_") and not name.endswith("__"):
                    if self._inplace_on_name(original) is None:
                        self.report("T2J202", f"in-place `.{name}(...)`: rewrite as `x = ...` (JAX arrays are immutable)",
                                    node=original)
                elif name in self.rules.untranslated_methods:
                    self.report("T2J901", f"`.{name}(...)`: {self.rules.untranslated_methods[name]}; left as is",
                                node=original)
        return updated

    def _with_rngs(self, node: cst.Call) -> cst.Call:
        if any(a.keyword and a.keyword.value == "rngs" for a in node.args):
            return node
        if any(a.star == "**" for a in node.args):
            return node
        return node.with_changes(args=[*node.args, arg(self.rngs_expr(), "rngs")])

    def _apply(self, rule: Rule, original: cst.Call, updated: cst.Call, receiver):
        if rule.handler:
            new = HANDLERS[rule.handler](rule, updated, self, receiver)
        else:
            bound = bind(rule, updated, receiver)
            kwargs = target_arguments(rule, bound, self.imports)
            if rule.rngs:
                kwargs["rngs"] = self.rngs_expr()
            if rule.target_is_method:
                x = kwargs.pop("input", None)
                if x is None:
                    x = receiver
                method = cst.Name(rule.target[1:])
                func = updated.func.with_changes(value=x, attr=method) if isinstance(updated.func, cst.Attribute) else cst.Attribute(value=x, attr=method)
                new = build(rule, func, kwargs)  # the original `.` keeps its line break in a chain
            elif rule.kind == "module_fn":
                new = _module_fn(self, self.imports.ref(rule.target), kwargs)
            else:
                first = [kwargs.pop("input", receiver)] if rule.kind == "method" else []
                new = build(rule, self.imports.ref(rule.target), kwargs, extra_first=first)
        new = _keep_layout(updated, new)
        if updated.lpar and isinstance(new, cst.BaseExpression):  # `(x.view(...)\n .sum())` keeps its parentheses
            new = new.with_changes(lpar=updated.lpar, rpar=updated.rpar)
        if rule.status == "approximate":
            code = "T2J104" if "BatchNorm" in rule.torch else ("T2J101" if rule.kind in ("layer", "module_fn") else "T2J301")
            self.report(code, f"`{rule.torch}`: {rule.note}", node=original, handled=True)
        if rule.layout == "channels_last" and rule.kind in ("layer", "module_fn"):
            if id(original) not in self.facts.direct_layer_calls:
                new = self.wrap_layer(new, rule.spatial_dims + 2)
        return new


def _drop_empty(body) -> list:
    """Remove statement lines emptied by a rewrite, moving their comments to the next statement."""
    out, carried = [], []
    for stmt in body:
        if isinstance(stmt, cst.SimpleStatementLine) and not stmt.body:
            carried += [line for line in stmt.leading_lines if line.comment]
            continue
        if carried:
            stmt = stmt.with_changes(leading_lines=[*carried, *stmt.leading_lines])
            carried = []
        out.append(stmt)
    return out


def _keep_layout(old: cst.Call, new):
    """Carry a multi-line call's line breaks and comments over to its translation."""
    if not isinstance(new, cst.Call) or not old.args or "\n" not in code_of(old):
        return new
    args = list(new.args)
    n_old, n_new = len(old.args), len(args)
    separator = _without_comments(old.args[-2].comma) if n_old >= 2 else cst.MaybeSentinel.DEFAULT
    for i in range(n_new - 1):
        comma = old.args[i].comma if i < n_old - 1 else separator
        args[i] = args[i].with_changes(comma=comma)
    args[-1] = args[-1].with_changes(comma=old.args[-1].comma)
    return new.with_changes(args=args, whitespace_before_args=old.whitespace_before_args)


def _without_comments(comma):
    if not isinstance(comma, cst.Comma) or not isinstance(comma.whitespace_after, cst.ParenthesizedWhitespace):
        return comma
    ws = comma.whitespace_after
    return comma.with_changes(
        whitespace_after=ws.with_changes(first_line=cst.TrailingWhitespace(), empty_lines=[])
    )
