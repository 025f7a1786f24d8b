"""The README and the documentation stay true: the generated config table matches the code, the
README's two commands are what CI runs, every page is in the site's navigation, and every command a
tutorial shows runs (with the exit status it says)."""
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
TUTORIALS = sorted(DOCS.glob("tutorial-*.md"))


def load_script(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_config_table_matches_the_code():
    assert load_script("config_table").table() in (DOCS / "config.md").read_text()


def test_ci_runs_the_readme_test_command_and_builds_the_site_strictly():
    ci = (ROOT / ".ci" / "run").read_text().strip().splitlines()
    assert "pytest" in ci[-1] and ci[-1] in (ROOT / "README.md").read_text()
    assert any("mkdocs build --strict" in line for line in ci)


def test_readme_is_short_and_links_only_to_pages_that_exist():
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 300
    links = re.findall(r"\]\(([^)#]+)", readme)
    assert links
    for link in links:
        if not link.startswith("http"):
            assert (ROOT / link).exists(), link


def test_every_page_is_in_the_navigation_and_every_block_names_its_script():
    nav = (ROOT / "mkdocs.yml").read_text()
    for page in DOCS.glob("*.md"):
        assert f" {page.name}" in nav, f"{page.name} is missing from mkdocs.yml's nav"
        for script in re.findall(r"<!-- [\w-]+: python (scripts/\w+\.py)", page.read_text()):
            assert (ROOT / script).exists(), f"{page.name} names {script}"


def commands(page):
    """The `$ ...` lines of a page's console blocks, each with the exit status its comment says."""
    found = []
    for block in re.findall(r"```console\n(.*?)```", page.read_text(), re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                expected = re.search(r"#\s*exit (\d+)\s*$", line)
                found.append((line[2:], int(expected.group(1)) if expected else 0))
    return found


def test_the_tutorials_show_commands():
    assert TUTORIALS and all(commands(page) for page in TUTORIALS)


@pytest.mark.parametrize("page", TUTORIALS, ids=lambda p: p.stem)
def test_every_command_of_a_tutorial_runs(page, tmp_path):
    for folder in ("configs", "examples"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for command, expected in commands(page):
        done = subprocess.run(["bash", "-c", command], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=300)
        assert done.returncode == expected, f"{page.name}: $ {command}\n{done.stdout}\n{done.stderr}"


def test_the_run_directory_reference_is_made_from_the_code_and_covers_a_real_run(tmp_path):
    from trainer.api import train
    from trainer.run_files import FILES, SUMMARY, files_table, summary_table
    page = (DOCS / "run-directory.md").read_text()
    assert files_table() in page and summary_table() in page
    run = train(ROOT / "configs" / "counting.toml", {"train.epochs": 1}, runs_dir=tmp_path, name="r")
    described = {name for names, _ in FILES for name in names}
    assert {p.name for p in run.path.iterdir()} <= described
    assert set(run.summary) <= {key for key, _ in SUMMARY}


def test_help_texts_render_on_the_cli_page():
    """mkdocs-click renders help paragraphs as markdown: a bare <word> outside a \\b block or a
    backtick span would be swallowed as an HTML tag (RUNS_DIR/<run-id>/ became RUNS_DIR//)."""
    from trainer.cli import main
    texts = [(name, cmd.help or "") for name, cmd in main.commands.items()] + [("train", main.help)]
    for name, text in texts:
        paragraphs = [p for p in text.split("\n\n") if not p.lstrip().startswith("\b")]
        prose = re.sub(r"`[^`]*`", "", "\n\n".join(paragraphs))
        assert not re.search(r"<[A-Za-z]", prose), f"{name}: {prose}"
