"""A small mutation-testing pass over fluidgan/gan: would the tests notice a wrong formula?

    python benchmarks/mutate_gan.py --max 120 --seed 0          # ~1 h on one busy core
    python benchmarks/mutate_gan.py --files losses.py,regularizers.py --max 40
    python benchmarks/mutate_gan.py --replay data/mutation/mutants.json   # survivors again

Each mutant changes one thing in one file, chosen at random (seeded) from every site the
AST offers: an arithmetic operator (+ ↔ -, * ↔ /, ** -> *), a comparison (< ↔ <=,
> ↔ >=, == ↔ !=, in ↔ not in, is ↔ is not), and ↔ or, a dropped unary minus, a
numeric constant (0 -> 1, n -> n + 1 for other integers, x -> 2x for floats), or a
statement replaced by ``pass``. Docstrings, strings and the text of error messages are
not mutated.

The mutants live in a copy of the repository (``--work``, a temporary directory by
default), never in the working tree. For each mutant the fast tests (everything under
tests/gan except test_presets.py) run first with ``-x -q``; a mutant they do not kill
is then run against test_presets.py. A mutant is *killed* when a test fails or the run
times out, and *survives* when every test passes. Writes ``--out`` (JSON: every mutant
with its file, line, original and mutated source line and outcome) and prints the
survivors.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = Path("fluidgan") / "gan"
COPY = ("fluidgan", "pipelines", "solvers", "configs", "tests", "benchmarks", "pyproject.toml")
SLOW_TESTS = ["tests/gan/test_presets.py"]

BINOPS = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
    ast.Pow: ast.Mult,
    ast.FloorDiv: ast.Div,
}
CMPOPS = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}


@dataclass
class Mutant:
    file: str
    index: int  # position of the node in ast.walk order
    kind: str
    line: int
    original: str = ""
    mutated: str = ""
    outcome: str = ""  # killed | survived | timeout | invalid
    killed_by: str = ""
    seconds: float = 0.0


def _protected(tree: ast.AST) -> set[int]:
    """ids of nodes not to mutate: docstrings, f-strings, raise statements, type
    annotations and decorators (registry names)."""
    skip: set[int] = set()

    def cover(node: ast.AST | None) -> None:
        if node is not None:
            skip.update(id(n) for n in ast.walk(node))

    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            if isinstance(getattr(body[0], "value", None), ast.Constant) and isinstance(
                body[0].value.value, str
            ):
                cover(body[0])
        if isinstance(node, (ast.JoinedStr, ast.Raise, ast.Import, ast.ImportFrom)):
            cover(node)
        if isinstance(node, (ast.AnnAssign, ast.arg)):
            cover(node.annotation)
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            for d in node.decorator_list:
                cover(d)
            cover(getattr(node, "returns", None))
    return skip


def sites(source: str, file: str) -> list[Mutant]:
    """Every mutation this file offers (one Mutant per site and kind)."""
    tree = ast.parse(source)
    skip = _protected(tree)
    out = []
    for i, node in enumerate(ast.walk(tree)):
        if id(node) in skip:
            continue
        line = getattr(node, "lineno", 0)
        if isinstance(node, ast.BinOp) and type(node.op) in BINOPS:
            out.append(Mutant(file, i, "binop", line))
        elif isinstance(node, ast.Compare) and type(node.ops[0]) in CMPOPS:
            out.append(Mutant(file, i, "compare", line))
        elif isinstance(node, ast.BoolOp):
            out.append(Mutant(file, i, "boolop", line))
        elif isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            out.append(Mutant(file, i, "unary", line))
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, (int, float))
            and not isinstance(node.value, bool)
        ):
            out.append(Mutant(file, i, "constant", line))
        elif isinstance(node, (ast.Assign, ast.AugAssign, ast.Expr, ast.Return)):
            out.append(Mutant(file, i, "statement", line))
    return out


class _Apply(ast.NodeTransformer):
    def __init__(self, target: ast.AST, kind: str):
        self.target, self.kind = target, kind

    def visit(self, node: ast.AST) -> ast.AST:
        if node is not self.target:
            return self.generic_visit(node)
        if self.kind == "binop":
            node.op = BINOPS[type(node.op)]()
        elif self.kind == "compare":
            node.ops[0] = CMPOPS[type(node.ops[0])]()
        elif self.kind == "boolop":
            node.op = ast.Or() if isinstance(node.op, ast.And) else ast.And()
        elif self.kind == "unary":
            return node.operand
        elif self.kind == "constant":
            v = node.value
            node.value = 1 if v == 0 else (v + 1 if isinstance(v, int) else 2.0 * v)
        elif self.kind == "statement":
            if isinstance(node, ast.Return):
                return ast.Return(value=ast.Constant(None))
            return ast.Pass()
        return node


def mutate(source: str, m: Mutant) -> str:
    tree = ast.parse(source)
    target = list(ast.walk(tree))[m.index]
    new = ast.fix_missing_locations(_Apply(target, m.kind).visit(tree))
    return ast.unparse(new)


def _line(source: str, m: Mutant) -> tuple[str, str]:
    tree = ast.parse(source)
    target = list(ast.walk(tree))[m.index]
    before = ast.unparse(target)
    after = _Apply(target, m.kind).visit(target)
    return before[:160], ast.unparse(after)[:160] if after is not None else "pass"


def relocate(previous: list[dict], every: list[Mutant], work: Path) -> list[Mutant]:
    """The survivors of an earlier pass, at their sites in the current sources: the site
    of the same file and kind whose original and mutated text match, nearest in line."""
    found = []
    sources = {f: (work / f).read_text() for f in {m.file for m in every}}
    for old in (m for m in previous if m["outcome"] == "survived"):
        candidates = []
        for m in every:
            if m.file == old["file"] and m.kind == old["kind"]:
                if _line(sources[m.file], m) == (old["original"], old["mutated"]):
                    candidates.append(m)
        if candidates:
            found.append(min(candidates, key=lambda m: abs(m.line - old["line"])))
        else:
            print(f"gone: {old['file']}:{old['line']} {old['original']!r}", flush=True)
    return found


def run_tests(work: Path, tests: list[str], timeout: float) -> tuple[str, str]:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    cmd = ["nice", "-n", "10", sys.executable, "-m", "pytest", "-x", "-q", "-p",
           "no:cacheprovider", *tests]  # fmt: skip
    try:
        r = subprocess.run(cmd, cwd=work, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "timeout", ""
    if r.returncode == 0:
        return "survived", ""
    failed = [ln for ln in r.stdout.splitlines() if ln.startswith(("FAILED", "ERROR"))]
    return "killed", (failed[0] if failed else r.stdout.strip().splitlines()[-1])[:200]


def main(argv: list[str] | None = None) -> list[Mutant]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--max", type=int, default=120, help="mutants to run [120]")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--files", default="", help="comma-separated files under fluidgan/gan [all]")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds per test run [300]")
    p.add_argument("--no-slow", action="store_true", help="skip test_presets.py")
    p.add_argument("--work", default="", help="where to copy the repository [a temp dir]")
    p.add_argument("--out", default=str(ROOT / "data" / "mutation" / "mutants.json"))
    p.add_argument(
        "--replay",
        default="",
        help="a previous --out: rerun its survivors, found again by their source text",
    )
    args = p.parse_args(argv)

    work = Path(args.work or tempfile.mkdtemp(prefix="fluidgan-mutants-"))
    for name in COPY:
        src, dst = ROOT / name, work / name
        if dst.exists():
            shutil.rmtree(dst) if dst.is_dir() else dst.unlink()
        if src.is_dir():
            shutil.copytree(src, dst, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(src, dst)
    fast = sorted(
        str(t.relative_to(work))
        for t in (work / "tests" / "gan").glob("test_*.py")
        if t.name not in {Path(s).name for s in SLOW_TESTS}
    )
    slow = [] if args.no_slow else SLOW_TESTS

    files = sorted((work / PACKAGE).rglob("*.py"))
    if args.files:
        wanted = set(args.files.split(","))
        files = [f for f in files if f.name in wanted or str(f.relative_to(work)) in wanted]
    every: list[Mutant] = []
    for f in files:
        every += sites(f.read_text(), str(f.relative_to(work)))
    rng = random.Random(args.seed)
    if args.replay:
        chosen = relocate(json.loads(Path(args.replay).read_text()), every, work)
    else:
        chosen = rng.sample(every, min(args.max, len(every)))
    chosen.sort(key=lambda m: (m.file, m.line))
    print(f"{len(every)} mutation sites in {len(files)} files; running {len(chosen)}", flush=True)

    outcome, _ = run_tests(work, fast + slow, args.timeout * 3)
    if outcome != "survived":
        raise SystemExit("the unmutated copy does not pass its tests; fix that first")

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for k, m in enumerate(chosen, 1):
        path = work / m.file
        original = path.read_text()
        m.original, m.mutated = _line(original, m)
        t0 = time.perf_counter()
        try:
            path.write_text(mutate(original, m))
            compile(path.read_text(), str(path), "exec")
        except (SyntaxError, ValueError, TypeError) as e:
            m.outcome, m.killed_by = "invalid", str(e)[:200]
        else:
            m.outcome, m.killed_by = run_tests(work, fast, args.timeout)
            if m.outcome == "survived" and slow:
                m.outcome, m.killed_by = run_tests(work, slow, args.timeout)
        finally:
            path.write_text(original)
        m.seconds = round(time.perf_counter() - t0, 1)
        print(f"[{k}/{len(chosen)}] {m.outcome:8s} {m.file}:{m.line} {m.kind}: "
              f"{m.original!r} -> {m.mutated!r}", flush=True)  # fmt: skip
        out.write_text(json.dumps([asdict(x) for x in chosen[:k]], indent=1))
    kinds = ("killed", "timeout", "survived", "invalid")
    counts = {s: sum(m.outcome == s for m in chosen) for s in kinds}
    print(json.dumps(counts))
    for m in chosen:
        if m.outcome == "survived":
            print(f"SURVIVED {m.file}:{m.line} {m.kind}: {m.original!r} -> {m.mutated!r}")
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)
    return chosen


if __name__ == "__main__":
    main()
