"""Every package a rule's script imports (directly or through the
brainmets modules it uses) is listed in that rule's conda environment."""

import ast
import re
import sys
from pathlib import Path

import pytest
import yaml

from .conftest import REPO

SRC = REPO / "src"
# Import name -> conda or pip package name.
PACKAGE_OF = {
    "PIL": "pillow",
    "yaml": "pyyaml",
    "matplotlib": "matplotlib-base",
    "ants": "antspyx",
    "skimage": "scikit-image",
    "sklearn": "scikit-learn",
}
# Alternative Keras backends, and the optional deepbet engine (the
# .[deepbet] extra), imported only when selected or installed.
OPTIONAL = {"jax", "torch", "deepbet"}
# Provided by Snakemake itself inside every job.
PROVIDED = {"snakemake"}


def rules():
    """(rule, environment file, script file) of every rule with a script."""
    for smk in sorted((REPO / "rules").glob("*.smk")):
        text = smk.read_text()
        for block in re.split(r"\n(?=(?:rule|checkpoint) \w+:)", text):
            name = re.match(r"(?:rule|checkpoint) (\w+):", block.strip())
            conda = re.search(r'conda:\s*\n\s*"([^"]+)"', block)
            script = re.search(r'script:\s*\n\s*"([^"]+)"', block)
            if name and script:
                yield name.group(1), conda and (smk.parent / conda.group(1)).resolve(), (smk.parent / script.group(1)).resolve()


def module_file(name: str) -> Path | None:
    base = SRC.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.exists():
            return candidate
    return None


def imports_of(path: Path, package: str | None) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the module's package
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
                found.add(base)
                found.update(f"{base}.{alias.name}" for alias in node.names)
            else:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def third_party_imports(script: Path) -> set[str]:
    todo, seen, external = [(script, None)], set(), set()
    while todo:
        path, package = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in imports_of(path, package):
            top = name.split(".")[0]
            if top == "brainmets":
                parts = name.split(".")
                for i in range(1, len(parts) + 1):  # packages' __init__ run too
                    f = module_file(".".join(parts[:i]))
                    if f:
                        pkg = ".".join(parts[:i]) if f.name == "__init__.py" else ".".join(parts[: i - 1])
                        todo.append((f, pkg))
            elif top not in sys.stdlib_module_names and top not in PROVIDED | OPTIONAL:
                external.add(PACKAGE_OF.get(top, top))
    return external


def environment_packages(env: Path) -> set[str]:
    spec = yaml.safe_load(env.read_text())
    names = set()
    for dep in spec["dependencies"]:
        entries = dep["pip"] if isinstance(dep, dict) else [dep]
        for entry in entries:
            names.add(re.split(r"[\s=<>\[]", entry.strip())[0].lower())
    return names


RULES = list(rules())


def test_rules_were_found():
    assert len(RULES) >= 15


@pytest.mark.parametrize("rule, env, script", RULES, ids=[r[0] for r in RULES])
def test_rule_environment_has_every_import(rule, env, script):
    assert env is not None and env.exists(), f"rule {rule} declares no existing conda environment"
    missing = third_party_imports(script) - environment_packages(env)
    assert not missing, f"rule {rule}: {env.name} lacks {sorted(missing)}"
