"""Rule files: the knowledge of what each torch API becomes, as data.

A rule file is TOML with an array of ``[[rule]]`` tables; the schema is checked here
and every bad entry is reported with its file, entry and reason (RuleError). This module
holds data only: the handlers and value transforms a rule names are looked up in the
registry they registered themselves in (importing ``torch2jax`` imports them all), so a
name nobody registered is reported when the file is loaded.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from torch2jax.registry import HANDLERS, PARAM_TRANSFORMS, VALUE_TRANSFORMS

KINDS = ("layer", "module_fn", "function", "method", "constant", "loss", "optimizer", "scheduler")
STATUSES = ("exact", "approximate", "manual")
LAYOUTS = ("channels_last", "channels_axis")
ARG_KEYS = {"rename", "drop", "transform", "supported", "note"}
RULE_KEYS = {
    "torch", "kind", "target", "signature", "positional", "args", "defaults", "const",
    "rngs", "layout", "spatial_dims", "params", "buffers", "ignore", "handler", "status",
    "note", "examples", "aliases",
}


class RuleError(ValueError):
    """A rule file entry that does not follow the schema."""


@dataclass(frozen=True)
class ArgSpec:
    rename: str | None = None
    drop: bool = False
    transform: str | None = None
    supported: tuple | None = None  # literal values the target can express; others are reported
    note: str = ""


@dataclass(frozen=True)
class ParamSpec:
    path: str
    transform: str = "none"


@dataclass(frozen=True)
class Rule:
    torch: str
    kind: str
    target: str
    signature: tuple[str, ...] = ()
    positional: tuple[str, ...] = ()
    args: dict[str, ArgSpec] = field(default_factory=dict)
    defaults: dict[str, Any] = field(default_factory=dict)
    const: dict[str, Any] = field(default_factory=dict)
    rngs: bool = False
    layout: str | None = None
    spatial_dims: int = 0
    params: dict[str, ParamSpec] = field(default_factory=dict)
    buffers: dict[str, ParamSpec] = field(default_factory=dict)
    ignore: tuple[str, ...] = ()
    handler: str | None = None
    status: str = "exact"
    note: str = ""
    examples: tuple[tuple[str, str], ...] = ()
    source: str = ""

    @property
    def target_is_method(self) -> bool:
        return self.target.startswith(".")


def _fail(source: str, entry: str, reason: str) -> RuleError:
    return RuleError(f"{source}: rule {entry}: {reason}")


def _param_specs(source: str, name: str, table: Any, what: str) -> dict[str, ParamSpec]:
    if not isinstance(table, dict):
        raise _fail(source, name, f"`{what}` must be a table")
    out = {}
    for pname, spec in table.items():
        if isinstance(spec, str):
            spec = {"path": spec}
        if not isinstance(spec, dict) or not isinstance(spec.get("path"), str):
            raise _fail(source, name, f"`{what}.{pname}` needs a string `path`")
        transform = spec.get("transform", "none")
        if transform not in PARAM_TRANSFORMS:
            raise _fail(source, name, f"`{what}.{pname}.transform` must be one of {sorted(PARAM_TRANSFORMS)}")
        out[pname] = ParamSpec(spec["path"], transform)
    return out


def parse_rule(raw: dict, source: str, index: int) -> Rule:
    name = raw.get("torch") if isinstance(raw.get("torch"), str) else f"#{index}"
    unknown = set(raw) - RULE_KEYS
    if unknown:
        raise _fail(source, name, f"unknown key(s) {sorted(unknown)}")
    for key in ("torch", "kind", "target"):
        if not isinstance(raw.get(key), str) or not raw[key]:
            raise _fail(source, name, f"`{key}` is required and must be a non-empty string")
    if raw["kind"] not in KINDS:
        raise _fail(source, name, f"`kind` must be one of {KINDS}")
    if raw["kind"] == "method" and not raw["torch"].startswith("Tensor."):
        raise _fail(source, name, "method rules are keyed `Tensor.<name>`")
    status = raw.get("status", "exact")
    if status not in STATUSES:
        raise _fail(source, name, f"`status` must be one of {STATUSES}")
    if status != "exact" and not raw.get("note"):
        raise _fail(source, name, f"status `{status}` needs a `note` saying what differs or what to do")
    signature = raw.get("signature", [])
    if not isinstance(signature, list) or not all(isinstance(s, str) for s in signature):
        raise _fail(source, name, "`signature` must be a list of argument names")
    args = {}
    for aname, spec in raw.get("args", {}).items():
        if aname not in signature:
            raise _fail(source, name, f"`args.{aname}` is not in the signature")
        if not isinstance(spec, dict) or set(spec) - ARG_KEYS:
            raise _fail(source, name, f"`args.{aname}` must be a table with keys from {sorted(ARG_KEYS)}")
        if spec.get("transform") and spec["transform"] not in VALUE_TRANSFORMS:
            raise _fail(source, name, f"`args.{aname}.transform` {spec['transform']!r} is not a known transform")
        supported = spec.get("supported")
        args[aname] = ArgSpec(
            rename=spec.get("rename"),
            drop=bool(spec.get("drop", False)),
            transform=spec.get("transform"),
            supported=tuple(supported) if supported is not None else None,
            note=spec.get("note", ""),
        )
    for aname in raw.get("defaults", {}):
        if aname not in signature:
            raise _fail(source, name, f"`defaults.{aname}` is not in the signature")
    handler = raw.get("handler")
    if handler is not None and handler not in HANDLERS:
        raise _fail(source, name, f"`handler` {handler!r} is not a known handler")
    layout = raw.get("layout")
    if layout is not None and layout not in LAYOUTS:
        raise _fail(source, name, f"`layout` must be one of {LAYOUTS}")
    examples = raw.get("examples", [])
    if not examples:
        raise _fail(source, name, "at least one example (before/after) is required")
    pairs = []
    for ex in examples:
        if not isinstance(ex, dict) or not isinstance(ex.get("before"), str) or not isinstance(ex.get("after"), str):
            raise _fail(source, name, "each example needs string `before` and `after`")
        pairs.append((ex["before"], ex["after"]))
    return Rule(
        torch=raw["torch"],
        kind=raw["kind"],
        target=raw["target"],
        signature=tuple(signature),
        positional=tuple(raw.get("positional", [])),
        args=args,
        defaults=dict(raw.get("defaults", {})),
        const=dict(raw.get("const", {})),
        rngs=bool(raw.get("rngs", False)),
        layout=layout,
        spatial_dims=int(raw.get("spatial_dims", 0)),
        params=_param_specs(source, name, raw.get("params", {}), "params"),
        buffers=_param_specs(source, name, raw.get("buffers", {}), "buffers"),
        ignore=tuple(raw.get("ignore", [])),
        handler=handler,
        status=status,
        note=raw.get("note", ""),
        examples=tuple(pairs),
        source=source,
    )


class RuleSet:
    """Rules by torch qualified name (aliases included)."""

    def __init__(self, rules: list[Rule]):
        self.rules: list[Rule] = []
        self.by_name: dict[str, Rule] = {}
        self.untranslated_methods: dict[str, str] = {}  # Tensor method name -> why it is reported
        for rule in rules:
            self.add(rule)

    def add(self, rule: Rule, aliases: tuple[str, ...] = ()) -> None:
        self.rules = [r for r in self.rules if r.torch != rule.torch] + [rule]
        for key in (rule.torch, *aliases):
            self.by_name[key] = rule

    def get(self, name: str) -> Rule | None:
        return self.by_name.get(name)

    def method(self, name: str) -> Rule | None:
        return self.by_name.get("Tensor." + name)

    def layer_for_class(self, class_name: str) -> Rule | None:
        """The layer rule for a torch module class name (used by weight transfer)."""
        rule = self.by_name.get("torch.nn." + class_name)
        return rule if rule and rule.kind in ("layer", "module_fn") else None


def load_file(path: Path, ruleset: RuleSet | None = None) -> RuleSet:
    ruleset = ruleset or RuleSet([])
    source = str(path)
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise RuleError(f"{source}: cannot read rule file: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise RuleError(f"{source}: not valid TOML: {exc}") from None
    return load_data(data, source, ruleset)


def load_data(data: dict, source: str = "<rules>", ruleset: RuleSet | None = None) -> RuleSet:
    """Rules given as data: a rule file's content (``{"rule": [...]}``) or one rule (``{"torch": ...}``)."""
    ruleset = ruleset or RuleSet([])
    if not isinstance(data, dict):
        raise RuleError(f"{source}: expected a table of rules, got {type(data).__name__}")
    if "torch" in data:
        data = {"rule": [data]}
    if set(data) - {"rule", "untranslated"}:
        raise RuleError(f"{source}: unknown top-level key(s) {sorted(set(data) - {'rule', 'untranslated'})}; expected [[rule]] tables")
    untranslated = data.get("untranslated", {})
    if untranslated:
        methods = untranslated.get("tensor_methods", [])
        if not isinstance(methods, list) or not all(isinstance(m, str) for m in methods) or not untranslated.get("note"):
            raise RuleError(f"{source}: [untranslated] needs `note` and a list of names `tensor_methods`")
        for name in methods:
            ruleset.untranslated_methods[name] = untranslated["note"]
    entries = data.get("rule", [])
    if not isinstance(entries, list):
        raise RuleError(f"{source}: `rule` must be an array of tables ([[rule]])")
    for index, raw in enumerate(entries):
        rule = parse_rule(raw, source, index)
        ruleset.add(rule, tuple(raw.get("aliases", [])))
    return ruleset


def builtin_rules_dir() -> Path:
    installed = Path(__file__).parent / "rules"  # inside a built wheel
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parent.parent / "rules"  # source checkout / editable install


@lru_cache(maxsize=None)
def _builtin() -> RuleSet:
    ruleset = RuleSet([])
    files = sorted(builtin_rules_dir().glob("*.toml"))
    if not files:
        raise RuleError(f"no rule files found in {builtin_rules_dir()}")
    for path in files:
        load_file(path, ruleset)
    return ruleset


def load_rules(extra: list[str | Path | dict] | tuple = ()) -> RuleSet:
    """The built-in rules, overridden entry by entry by the user's rule files (or rule data:
    a dict holding one rule, or a rule file's content)."""
    base = _builtin()
    if not extra:
        return base
    ruleset = RuleSet([])
    ruleset.rules = list(base.rules)
    ruleset.by_name = dict(base.by_name)
    ruleset.untranslated_methods = dict(base.untranslated_methods)
    for index, item in enumerate(extra):
        if isinstance(item, dict):
            load_data(item, f"<rules[{index}]>", ruleset)
        else:
            load_file(Path(item), ruleset)
    return ruleset
