"""``torch2jax verify`` on the command line: its arguments, and exit status 0 / 1 / 2."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import traceback

from torch2jax.verify.errors import VerifyError, exc_text
from torch2jax.verify.run import verify
from torch2jax.verify.specs import SPEC_HELP


EPILOG = f"""\
input specs:
  {SPEC_HELP}

examples:
  torch2jax verify model.py --model "ResNet18()" --input "float32[2,3,32,32]"
  torch2jax verify lm.py --model "GPT(vocab_size=64)" --input "int64[2,8]:0..64" --mode eval
  torch2jax verify model.py --model "Net()" --input "float32[4,10]" --translated model_jax.py --json

The model expression is evaluated in the PyTorch file's namespace and, with
rngs=nnx.Rngs(SEED) added to its outermost call, in the translation's. The
translation is made in memory unless --translated names an existing file (a
missing one is written). Nothing else is written.

exit status: 0 every stage that ran passed, 1 a mismatch, 2 the check could not run.
"""


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add ``torch2jax verify``'s arguments to ``parser`` (a subcommand parser)."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    if not parser.epilog:
        parser.epilog = EPILOG
    parser.add_argument("source", metavar="SOURCE.py", help="the PyTorch file")
    parser.add_argument("--model", metavar="EXPR", help='expression building the model, e.g. "ResNet18()"')
    parser.add_argument("--input", action="append", default=[], metavar="SPEC",
                        help="one model input (repeatable, in call order), e.g. float32[2,3,32,32], int64[4,16]:0..10000, or a tuple such as an LSTM state (float32[1,4,8],float32[1,4,8])")
    parser.add_argument("--translated", metavar="OUT.py",
                        help="use this translation instead of translating in memory (written there if missing)")
    parser.add_argument("--mode", choices=("train", "eval", "both"), default="both",
                        help="forward modes to compare (default: both); gradients are always taken in eval mode")
    parser.add_argument("--rtol", type=float, default=1e-4, help="relative tolerance (default: 1e-4)")
    parser.add_argument("--atol", type=float, default=1e-5, help="absolute tolerance (default: 1e-5)")
    parser.add_argument("--seed", type=int, default=0, help="seed for inputs, torch init and nnx.Rngs (default: 0)")
    parser.add_argument("--loss", metavar="EXPR", help="scalar loss over `out`, valid for torch and JAX alike "
                        "(e.g. '(out ** 2).mean()'); default: the sum of every float output")
    behavioral = parser.add_argument_group("behavioral stage (training compared step by step)")
    behavioral.add_argument("--optimizer", metavar="EXPR", help="torch optimizer over `model`, e.g. "
                            "'torch.optim.AdamW(model.parameters(), lr=1e-3)': the model is trained on both sides")
    behavioral.add_argument("--scheduler", metavar="EXPR", help="torch scheduler over `optimizer`, stepped after each step")
    behavioral.add_argument("--steps", type=int, metavar="K", help="optimizer steps to compare (default 5 with "
                            "--optimizer; all of them with --run)")
    behavioral.add_argument("--run", nargs="?", const="", metavar="EXPR", help="compare the file's own training code: "
                            "EXPR, e.g. 'train(Net(), B)', or without EXPR the file run as a script")
    behavioral.add_argument("--data", action="append", default=[], metavar="NAME=SPEC",
                            help="bind one seeded array to NAME, e.g. x=float32[100,1] (repeatable)")
    behavioral.add_argument("--batches", action="append", default=[], metavar="NAME=N:SPEC[,SPEC...]",
                            help="bind N seeded tuples to NAME (a stand-in for a DataLoader), "
                            "e.g. B=3:float32[4,3,32,32],int64[4]:0..10 (repeatable)")
    behavioral.add_argument("--device", default="cpu", help="one device for both frameworks (default: cpu)")
    parser.add_argument("--rules", action="append", default=[], metavar="FILE.toml", help="extra rule file (repeatable)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    parser.add_argument("--debug", action="store_true", help="print tracebacks for errors")
    return parser


def _missing_dependencies() -> list[str]:
    import importlib.util

    missing = []
    for name in ("numpy", "torch", "jax", "flax"):
        try:
            if importlib.util.find_spec(name) is None:
                missing.append(name)
        except (ImportError, ValueError):
            missing.append(name)
    return missing


def main(args: argparse.Namespace) -> int:
    """Run ``torch2jax verify`` with parsed ``args``; returns the exit status (0 / 1 / 2)."""
    debug = getattr(args, "debug", False)

    def fail(message: str, exc: BaseException | None = None) -> int:
        if debug and exc is not None:
            traceback.print_exception(exc, file=sys.stderr)
        print(f"torch2jax verify: error: {message}", file=sys.stderr)
        return 2

    missing = _missing_dependencies()
    if missing:
        return fail(f"{', '.join(missing)} not installed; verify needs them: pip install 'torch2jax[verify]'")
    inputs = list(getattr(args, "input", None) or [])
    run = getattr(args, "run", None)
    if getattr(args, "model", None) is None and run is None:
        return fail("give the model to check (--model EXPR with --input SPEC) or training code to run (--run [EXPR])")
    if getattr(args, "model", None) is not None and not inputs:
        return fail("give the model's inputs with --input SPEC (e.g. --input 'float32[2,3,32,32]')")
    as_json = getattr(args, "json", False)
    try:
        rules = None
        if getattr(args, "rules", None):
            from torch2jax.rules import load_rules

            rules = load_rules(args.rules)
        # User code may print: keep stdout for the report (one JSON object with --json).
        with contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext():
            report = verify(
                args.source,
                getattr(args, "model", None),
                inputs,
                run=True if run == "" else run,
                data=getattr(args, "data", []),
                batches=getattr(args, "batches", []),
                optimizer=getattr(args, "optimizer", None),
                scheduler=getattr(args, "scheduler", None),
                steps=getattr(args, "steps", None),
                device=getattr(args, "device", "cpu"),
                translated=getattr(args, "translated", None),
                mode=getattr(args, "mode", "both"),
                rtol=getattr(args, "rtol", 1e-4),
                atol=getattr(args, "atol", 1e-5),
                seed=getattr(args, "seed", 0),
                loss=getattr(args, "loss", None),
                rules=rules,
            )
    except VerifyError as exc:
        return fail(str(exc), exc)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # a bug here, or something the user's code did that we did not foresee
        return fail(f"{exc_text(exc)} (rerun with --debug for the traceback)" if not debug else exc_text(exc), exc)
    if debug:
        for text in report.tracebacks:
            print(text, file=sys.stderr)
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.table())
    return 0 if report.ok else 1
