"""The Binder configuration, checked without building anything.

``make test-install`` (tests/install/test_install.sh) builds the environment from binder/
and runs every notebook in it, then runs the README's commands in a fresh clone. The checks
here take a fraction of a second and catch the mistakes that break a Binder build or leave
widgets blank. The one slow test runs the Binder half of the script.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet

REPO = Path(__file__).resolve().parents[2]
BINDER = REPO / "binder"
CPU_INDEX_LINE = "--extra-index-url https://download.pytorch.org/whl/cpu"
TOUR = "notebooks/00_tour.ipynb"
NESTED_ENV_VAR = "GPTVIZ_INSIDE_INSTALL_TEST"
# Major versions of the front end that work together: JupyterLab 4 loads the ipywidgets 8
# front end from jupyterlab_widgets 3
FRONT_END_MAJORS = {"jupyterlab": 4, "ipywidgets": 8, "jupyterlab_widgets": 3}


def requirement_lines() -> list[str]:
    lines = []
    for raw in (BINDER / "requirements.txt").read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            lines.append(line)
    return lines


def pinned_requirements() -> dict[str, Requirement]:
    requirements = {}
    for line in requirement_lines():
        if line.startswith("-"):
            continue
        requirement = Requirement(line)
        requirements[requirement.name.lower().replace("-", "_")] = requirement
    return requirements


def pinned_version(requirement: Requirement) -> str:
    (specifier,) = requirement.specifier
    assert specifier.operator == "==", f"{requirement}: pin an exact version with =="
    return specifier.version


def test_postbuild_is_executable_and_exactly_named():
    names = [path.name for path in BINDER.iterdir()]
    misnamed = [name for name in names if name.lower().replace("_", "").startswith("postbuild") and name != "postBuild"]
    assert misnamed == [], "repo2docker only runs binder/postBuild"
    postbuild = BINDER / "postBuild"
    assert os.access(postbuild, os.X_OK), "binder/postBuild must be executable: chmod +x binder/postBuild"
    assert postbuild.read_text().startswith("#!/usr/bin/env bash\n")


def test_postbuild_is_committed_executable():
    stage = subprocess.run(["git", "ls-files", "--stage", "--", "binder/postBuild"], cwd=REPO,
                           capture_output=True, text=True, check=False).stdout
    if not stage:
        pytest.skip("binder/postBuild is not committed yet")
    assert stage.split()[0] == "100755", "run: git update-index --chmod=+x binder/postBuild"


def test_requirements_use_cpu_torch():
    lines = requirement_lines()
    torch = pinned_requirements()["torch"]
    assert lines.count(CPU_INDEX_LINE) == 1
    assert pinned_version(torch).endswith("+cpu")


def test_requirements_pin_front_end():
    requirements = pinned_requirements()
    for name, major in FRONT_END_MAJORS.items():
        assert pinned_version(requirements[name]).split(".")[0] == str(major), name
    for name in ("anywidget", "plotly"):
        assert pinned_version(requirements[name])


def test_requirements_have_no_local_references():
    # A local path (".", "-e .", "-r file") makes repo2docker install the requirements after
    # copying the repository, so every commit would reinstall PyTorch
    for line in requirement_lines():
        assert not line.startswith(("-e", "--editable", "-r", "--requirement", "-c", "--constraint")), line
        assert not re.match(r"^(\.|/|file:)", line), line


def test_requirements_cover_runtime_dependencies():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pinned = pinned_requirements()
    for dependency in map(Requirement, project["dependencies"]):
        name = dependency.name.lower().replace("-", "_")
        assert name in pinned, f"binder/requirements.txt does not pin {dependency.name}; postBuild installs with --no-deps"
        assert dependency.specifier.contains(pinned_version(pinned[name]).split("+")[0]), (
            f"binder pins {pinned[name]}, outside pyproject's {dependency}"
        )


def test_runtime_python_meets_requires_python():
    runtime = (BINDER / "runtime.txt").read_text().strip()
    match = re.fullmatch(r"python-(3\.\d+)", runtime)
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["requires-python"]
    assert match, f"binder/runtime.txt must read python-3.X, got {runtime!r}"
    assert SpecifierSet(requires).contains(match.group(1) + ".0")


def test_notebooks_use_python3_kernel():
    notebooks = sorted((REPO / "notebooks").glob("*.ipynb"))
    assert (REPO / TOUR) in notebooks, f"{TOUR}, the page Binder opens, is missing"
    for path in notebooks:
        kernelspec = json.loads(path.read_text(encoding="utf-8"))["metadata"].get("kernelspec", {})
        assert kernelspec.get("name") == "python3", f"{path.name}: kernelspec {kernelspec}"


def test_readme_binder_link_opens_tour():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    links = re.findall(r"https://mybinder\.org/v2/gh/[^\s)\"']+", readme)
    assert links, "README.md has no mybinder.org link"
    for link in links:
        target = re.search(r"urlpath=lab(?:/|%2F)tree(?:/|%2F)([^&\s)]+)", link)
        assert target, f"{link} does not open JupyterLab on a notebook (urlpath=lab/tree/...)"
        assert target.group(1).replace("%2F", "/") == TOUR


def test_install_script_parses():
    subprocess.run(["bash", "-n", str(REPO / "tests" / "install" / "test_install.sh")], check=True)


@pytest.mark.slow
def test_binder_environment_runs_notebooks():
    # The readme part of the script runs `make test` in a fresh clone, which includes this
    # test. The script marks that nested run, so this test skips itself there
    if os.environ.get(NESTED_ENV_VAR):
        pytest.skip("running inside tests/install/test_install.sh, which builds the Binder environment itself")
    env = {**os.environ, "INSTALL_TEST_PARTS": "binder", "INSTALL_TEST_SOURCE": "worktree"}
    result = subprocess.run(["bash", str(REPO / "tests" / "install" / "test_install.sh")], cwd=REPO, env=env,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
    assert "install test: passed" in result.stdout
