"""Functions longer than a limit (60 lines by default) in the package and
the workflow scripts, longest first.

    python benchmarks/function_lengths.py [--limit 60] [paths ...]

A function's length runs from its ``def`` line (decorators excluded) to
its last line, docstring and comments included; nested functions count
inside their parent and on their own. Prints one line per function over
the limit (lines, file:line, qualified name) and then their count.
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_PATHS = ("src", "workflow_scripts")


def function_lengths(path: Path):
    """(qualified name, first line, length in lines) of every function in
    the Python file ``path``."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []

    def visit(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{prefix}{child.name}"
                found.append((name, child.lineno, child.end_lineno - child.lineno + 1))
                visit(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(tree, "")
    return found


def long_functions(paths, limit: int):
    """(length, file, line, name) of the functions over ``limit`` lines under
    ``paths`` (files or folders), longest first."""
    files = []
    for p in paths:
        p = Path(p)
        files.extend(sorted(p.rglob("*.py")) if p.is_dir() else [p])
    rows = []
    for f in files:
        for name, line, length in function_lengths(f):
            if length > limit:
                rows.append((length, f, line, name))
    return sorted(rows, key=lambda r: (-r[0], str(r[1]), r[2]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*", type=Path, help=f"files or folders (default: {', '.join(DEFAULT_PATHS)} of the repository)")
    parser.add_argument("--limit", type=int, default=60, help="report functions longer than this many lines")
    args = parser.parse_args()
    paths = args.paths or [REPO / p for p in DEFAULT_PATHS]
    rows = long_functions(paths, args.limit)
    for length, f, line, name in rows:
        try:
            f = f.resolve().relative_to(REPO)
        except ValueError:
            pass
        print(f"{length:4d}  {f}:{line}  {name}")
    print(f"{len(rows)} function(s) over {args.limit} lines")


if __name__ == "__main__":
    main()
