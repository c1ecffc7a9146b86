"""pyproject.toml declares what the code imports, and nothing else.

- every third-party module the packages import (crawler, spiders, pipelines, archive) comes from a distribution in
  ``[project] dependencies``, even one another dependency happens to bring (Scrapy brings Twisted and parsel);
- every one that tests, bench and scripts import is in ``dependencies`` or the ``dev`` extra;
- every declared distribution is imported where it is declared for (a runtime dependency by the packages, a dev one
  anywhere), unless ``NOT_IMPORTED`` says how it is used instead.

Imports are read from the source (``ast``: module-level and function-level alike, ``try``/``except ImportError``
included); modules are matched to distributions through the installed metadata (``packages_distributions``), so
the test runs in the environment ``make install`` builds."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNTIME = ("crawler", "spiders", "pipelines", "archive")
DEV = ("tests", "bench", "scripts")
# declared, used other than by an import statement
NOT_IMPORTED = {
    "pyarrow": "pandas' Parquet engine: pipelines/export.py calls to_parquet(engine='pyarrow')",
    "pytest-timeout": "pytest plugin: timeout in [tool.pytest.ini_options]",
    "ruff": "command: make lint, .ci/run",
    "mypy": "command: make lint, .ci/run",
    "import-linter": "command: lint-imports (layer contracts)",
    "scrapyd": "command: scrapyd, run by tests/test_ops_scrapyd.py",
    "scrapyd-client": "command: scrapyd-deploy, run by tests/test_ops_scrapyd.py",
}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> tuple[set[str], set[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]

    def names(reqs: list[str]) -> set[str]:
        out = set()
        for req in reqs:
            match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", req)
            assert match, f"pyproject.toml: cannot read the requirement {req!r}"
            out.add(_norm(match.group(1)))
        return out

    return names(project["dependencies"]), names(project.get("optional-dependencies", {}).get("dev", []))


def _local_names(folder: Path) -> set[str]:
    """Modules a script in ``folder`` can import by bare name (its siblings), besides our packages."""
    return {p.stem for p in folder.glob("*.py")} | {p.name for p in folder.iterdir() if (p / "__init__.py").is_file()}


@cache
def _imports(tops: tuple[str, ...]) -> dict[str, set[str]]:
    """Third-party top-level module -> files under the folders ``tops`` importing it."""
    own = set(RUNTIME) | set(DEV) | {"conftest"}
    found: dict[str, set[str]] = {}
    for path in sorted(p for top in tops for p in (ROOT / top).rglob("*.py")):
        if ".venv" in path.parts:
            continue
        local = _local_names(path.parent)
        for node in ast.walk(ast.parse(path.read_bytes(), str(path))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                name = module.split(".")[0]
                if name in sys.stdlib_module_names or name in own or name in local:
                    continue
                found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


@cache
def _modules() -> dict[str, set[str]]:
    """Installed top-level module -> normalised names of the distributions providing it."""
    return {module: {_norm(d) for d in dists} for module, dists in packages_distributions().items()}


def _dists(module: str) -> set[str]:
    return _modules().get(module, set())


def _provides(dist: str) -> set[str]:
    return {module for module, dists in _modules().items() if dist in dists}


def _undeclared(tops: tuple[str, ...], allowed: set[str]) -> list[str]:
    out = []
    for module, files in sorted(_imports(tops).items()):
        dists = _dists(module)
        if not dists:
            out.append(f"{module} (in {', '.join(sorted(files))}): no installed distribution provides it")
        elif not dists & allowed:
            out.append(f"{module} (in {', '.join(sorted(files))}): from {' or '.join(sorted(dists))}, not declared")
    return out


def test_runtime_imports_are_dependencies() -> None:
    runtime, _ = _declared()
    problems = _undeclared(RUNTIME, runtime)
    assert not problems, "add to [project] dependencies in pyproject.toml:\n" + "\n".join(problems)


def test_test_and_bench_imports_are_declared() -> None:
    runtime, dev = _declared()
    problems = _undeclared(DEV, runtime | dev)
    assert not problems, "add to [project.optional-dependencies] dev in pyproject.toml:\n" + "\n".join(problems)


def test_every_declared_distribution_is_used() -> None:
    runtime, dev = _declared()
    used_by_packages = set(_imports(RUNTIME))
    used_anywhere = used_by_packages | set(_imports(DEV))
    unused = []
    for dist in sorted(runtime):
        if dist not in NOT_IMPORTED and not _provides(dist) & used_by_packages:
            where = "only by tests, bench or scripts: move it to dev" if _provides(dist) & used_anywhere else "never"
            unused.append(f"{dist} (dependencies): imported {where}")
    for dist in sorted(dev - runtime):
        if dist not in NOT_IMPORTED and not _provides(dist) & used_anywhere:
            unused.append(f"{dist} (dev): never imported")
    assert not unused, ("declared but not used; drop it, or say in NOT_IMPORTED how it is used:\n"
                        + "\n".join(unused))
