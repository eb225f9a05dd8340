"""Adopting slakit in another repository: installed with pip from the working tree, used as
`slakit ...` in a fresh Git repository (init, schema, new, validate, render, the hook)."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from conftest import FIXED_EPOCH, ROOT, git


@pytest.fixture(scope="session")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtual environment with slakit pip-installed (not editable) from the working tree.

    The dependencies come from the project's own environment (a .pth line), so nothing is
    downloaded; slakit itself is a real wheel built from this checkout."""
    home = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False).create(home)
    packages = next((home / "lib").glob("python3*/site-packages"))
    (packages / "project-deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    source = tmp_path_factory.mktemp("source") / "slakit"  # a copy: building leaves nothing in the checkout
    shutil.copytree(
        ROOT,
        source,
        ignore=shutil.ignore_patterns(".venv", ".git", "dist", "build", "*.egg-info", "__pycache__", "bench"),
    )
    wheels = source.parent / "wheels"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "-w", str(wheels), str(source)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    wheel = next(wheels.glob("slakit-*.whl"))
    subprocess.run(
        [*pip, "--python", str(home / "bin" / "python"), "install", "--no-deps", "--no-index", str(wheel)],
        check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    return home / "bin"


def slakit(bin_: Path, *args: str, cwd: Path, command: str = "slakit") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(SOURCE_DATE_EPOCH=FIXED_EPOCH, PATH=f"{bin_}{os.pathsep}{env.get('PATH', '')}")
    return subprocess.run([str(bin_ / command), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def test_installed_from_the_working_tree_not_the_checkout(installed: Path, tmp_path: Path) -> None:
    where = subprocess.run(
        [str(installed / "python"), "-c", "import slakit, cli; print(slakit.__file__); print(cli.__file__)"],
        cwd=tmp_path, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert str(ROOT) not in where and "site-packages" in where
    result = slakit(installed, "-V", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.startswith("slakit, version ")
    assert slakit(installed, "--version", cwd=tmp_path).stdout == result.stdout


def test_adoption_path_in_a_fresh_repository(installed: Path, repo: Path) -> None:
    result = slakit(installed, "init", cwd=repo)
    assert result.returncode == 0, result.stderr
    for name in ("sla/", "schema/sla.schema.json", ".vscode/settings.json", ".pre-commit-config.yaml",
                 ".github/workflows/sla.yml", "README.md"):  # fmt: skip
        assert f"{name}: created" in result.stdout, name
    # The schema the starters point at exists, and is the one slakit checks against.
    assert json.loads((repo / "schema" / "sla.schema.json").read_text()) == json.loads(
        (ROOT / "schema" / "sla.schema.json").read_text()
    )
    assert slakit(installed, "schema", cwd=repo).stdout == (ROOT / "schema" / "sla.schema.json").read_text()
    settings = json.loads((repo / ".vscode" / "settings.json").read_text())
    assert "sla/*.yaml" in settings["yaml.schemas"]["./schema/sla.schema.json"]
    hook = YAML(typ="safe").load((repo / ".pre-commit-config.yaml").read_text())["repos"][0]["hooks"][0]
    assert hook["entry"] == "slakit-validate" and hook["language"] == "python"
    workflow = YAML(typ="safe").load((repo / ".github" / "workflows" / "sla.yml").read_text())
    runs = [step.get("run", "") for job in workflow["jobs"].values() for step in job["steps"]]
    assert "slakit validate sla --format github" in runs and not any("cli.py" in r for r in runs)
    # Until the first agreement exists there is nothing to check: the steps wait for one.
    steps = [
        step for job in workflow["jobs"].values() for step in job["steps"] if step.get("run", "").startswith("slakit ")
    ]
    assert [s["run"].split()[1] for s in steps] == ["validate", "diff", "render"]
    assert all("hashFiles('sla/**/*.yaml', 'sla/**/*.yml') != ''" in s["if"] for s in steps)
    assert not any("${{" in s["run"] for s in steps)  # the base branch goes through the environment
    readme = (repo / "README.md").read_text()
    assert "## Service level agreements" in readme and "slakit validate" in readme
    # Not installed from a public source: the placeholder is named, and explained.
    assert "replace OWNER and TAG" in result.stdout and "OWNER" in hook["additional_dependencies"][0]

    result = slakit(installed, "new", "lead-management", "acme-2027", "--timezone", "America/Chicago", cwd=repo)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "created sla/acme-2027.yaml: edit it, then run `slakit validate`\n"
    first = (repo / "sla" / "acme-2027.yaml").read_text().splitlines()[0]
    schema_ref = first.split("$schema=")[1]
    assert (repo / "sla" / schema_ref).resolve() == (repo / "schema" / "sla.schema.json").resolve()
    assert "python cli.py" not in (repo / "sla" / "acme-2027.yaml").read_text()

    result = slakit(installed, "validate", cwd=repo)
    assert result.returncode == 0 and "1 agreement checked: all valid" in result.stdout, result.stdout
    result = slakit(installed, "render", cwd=repo)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Acme" in (repo / "dist" / "acme-2027.html").read_text() or (repo / "dist" / "acme-2027.html").is_file()

    # The hook entry point: a staged file whose id another agreement already uses is refused.
    git(repo, "add", "sla/acme-2027.yaml")
    git(repo, "commit", "-qm", "Acme agreement")
    copy = repo / "sla" / "acme-copy.yaml"
    copy.write_text((repo / "sla" / "acme-2027.yaml").read_text())
    result = slakit(installed, "sla/acme-copy.yaml", cwd=repo, command="slakit-validate")
    assert result.returncode == 1, result.stdout
    assert "sla/acme-copy.yaml:9:5: error[unique]: agreement id 'acme-2027' is also used by sla/acme-2027.yaml" in (
        result.stdout
    )
    assert "1 agreement checked" in result.stdout  # the context is read, not reported on

    # Running init again changes nothing and says so.
    before = {p: p.read_bytes() for p in repo.rglob("*") if p.is_file() and ".git" not in p.parts}
    again = slakit(installed, "init", cwd=repo)
    assert again.returncode == 0 and "created" not in again.stdout and "OWNER" not in again.stdout
    assert {p: p.read_bytes() for p in repo.rglob("*") if p.is_file() and ".git" not in p.parts} == before


def test_shell_completion_for_the_installed_command(installed: Path, tmp_path: Path) -> None:
    env_extra = {"_SLAKIT_COMPLETE": "bash_complete", "COMP_WORDS": "slakit sta", "COMP_CWORD": "1"}
    env = {**os.environ, **env_extra, "PATH": f"{installed}{os.pathsep}{os.environ['PATH']}"}
    result = subprocess.run([str(installed / "slakit")], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.stdout.split() == ["plain,status"]
    script = subprocess.run(
        [str(installed / "slakit")], cwd=tmp_path, env={**env, "_SLAKIT_COMPLETE": "bash_source"},
        capture_output=True, text=True,
    ).stdout  # fmt: skip
    assert "complete -o nosort -F _slakit_completion slakit" in script
