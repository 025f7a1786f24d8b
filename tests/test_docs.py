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


@pytest.fixture(scope="module")
def tutorial(tmp_path_factory):
    """tutorial(page): its commands run once, in turn, in a fresh folder with configs/ and
    examples/: (folder, {command: completed process}), shared by the tests of this module."""
    done = {}

    def run(page):
        if page not in done:
            folder = tmp_path_factory.mktemp(page.stem)
            for name in ("configs", "examples"):
                shutil.copytree(ROOT / name, folder / name)
            env = {**os.environ,
                   "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
            done[page] = folder, {command: subprocess.run(
                ["bash", "-c", command], cwd=folder, env=env, capture_output=True, text=True,
                timeout=300) for command, _ in commands(page)}
        return done[page]
    return run


@pytest.mark.slow
@pytest.mark.parametrize("page", TUTORIALS, ids=lambda p: p.stem)
def test_every_command_of_a_tutorial_runs(page, tutorial):
    _, ran = tutorial(page)
    for command, expected in commands(page):
        done = ran[command]
        assert done.returncode == expected, f"{page.name}: $ {command}\n{done.stdout}\n{done.stderr}"


def test_the_run_directory_reference_is_made_from_the_code_and_covers_a_real_run(tmp_path):
    from trainer.api.runs import train
    from trainer.rundir.run_files import FILES, SUMMARY, files_table, summary_table
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


def claim(text, pattern):
    """The groups of the one place `pattern` matches the page's text (whitespace-insensitive)."""
    found = re.findall(pattern, re.sub(r"\s+", " ", text))
    assert len(found) == 1, f"the tutorial should state {pattern!r} once, found {found}"
    return found[0]


def eval_mse(done):
    """(model, baseline) val_mse and the BLAS kernel the run trained with, from `train eval`."""
    model, baseline = re.search(r"^val_mse\s+(\S+)\s+(\S+)", done.stdout, re.M).groups()
    kernel = re.search(r"kernel (\w+)", done.stdout).group(1)
    return float(model), float(baseline), kernel


def rounds_into(value, low, high, digits=2):
    """`value`, rounded to `digits` significant figures, lies in [low, high] as written."""
    return float(low) <= float(f"{value:.{digits - 1}e}") <= float(high)


def test_the_bptt_tutorial_states_what_its_commands_print(tutorial):
    """Every number docs/tutorial-bptt.md states is compared with what its commands print (or
    write in the run directory): on every BLAS kernel, with the range the page states where
    kernels differ, and a kernel's own figure where the page names that kernel."""
    import json
    page = DOCS / "tutorial-bptt.md"
    text = page.read_text()
    folder, ran = tutorial(page)
    out = {command: done.stdout for command, done in ran.items()}

    # step 2: both layers pass every check
    n, = [claim(text, r"both pass all (\d+) checks in well under a second")]
    for spec in ("textbook-rnn", "examples/my_rnn.py:MyRNN"):
        last = out[f"train gradcheck {spec}"].strip().splitlines()[-1]
        seconds = re.fullmatch(rf"all {n} checks passed in (\d+\.\d+) s", last)
        assert seconds and float(seconds.group(1)) < 1.0, last

    # step 3: the output shown is the output printed, "..." standing for lines left out
    blocks = re.findall(r"```console\n(.*?)```\s*```text\n(.*?)```", text, re.S)
    assert blocks
    for console, shown in blocks:
        command = [line[2:] for line in console.splitlines() if line.startswith("$ ")][-1]
        printed = " ".join(out[command].split())
        for chunk in re.split(r"^\.\.\.$", shown, flags=re.M):
            words = " ".join(chunk.split())
            if words:
                pattern = re.escape(words).replace(r"in\ 0\.02\ s", r"in\ 0\.\d\d\ s")
                assert re.search(pattern, printed), f"{words!r} is not in:\n{printed}"

    # step 4: the right layer, the layer without the carried dh, the one not multiplied
    right, baseline, kernel = eval_mse(ran["train eval runs/my-rnn"])
    assert f"{baseline:.2g}" == claim(text, r"persistence baseline's (\d\.\d+)")
    assert f"{right:.1e}" == claim(text, r"\(predict the last value\): (\S+) on seed 0")
    no_carry, base2, _ = eval_mse(ran["train eval runs/no-carry"])
    assert base2 == baseline
    low, high = claim(text, r"never carries the gradient back .*?ends at (\S+) to (\S+) on seed 0")
    assert rounds_into(no_carry, low, high), (no_carry, kernel)
    on_kernel = dict((k, v) for v, k in re.findall(
        r"(\d\.\de-\d\d) on (\w+)", claim(text, r"\(the figure depends on the BLAS kernel: (.*?)\)")))
    if kernel in on_kernel:
        assert f"{no_carry:.1e}" == on_kernel[kernel], (no_carry, kernel)
    low, high = claim(text, r"(\d+) to (\d+) times below the baseline")
    assert rounds_into(baseline / no_carry, low, high), (baseline / no_carry, kernel)
    assert "less than twice the right layer's" in " ".join(text.split()) and no_carry < 2 * right
    unmultiplied, _, _ = eval_mse(ran["train eval runs/unmultiplied"])
    value, times = claim(text, r"learns nothing: it ends at (\S+) on seed 0 on every kernel, "
                               r"(\d+) times worse than the baseline")
    assert f"{unmultiplied:.2f}" == value and round(unmultiplied / baseline) == int(times)
    for run in ("no-carry", "unmultiplied"):
        summary = json.loads((folder / "runs" / run / "summary.json").read_text())
        assert summary["plugins"]["cell"]["checked"] is False

    # step 5: the gradient reach of runs/my-rnn, before and after training
    import numpy as np
    reach = np.loadtxt(folder / "runs" / "my-rnn" / "gradient_reach.csv", delimiter=",",
                       skiprows=1)
    before, after = reach[reach[:, 0] == 0, 2], reach[reach[:, 0] == reach[:, 0].max(), 2]
    low, high = claim(text, r"signal is between (\S+) and (\S+) at every step of the window")
    assert rounds_into(before.min(), low, high, 1) and rounds_into(before.max(), low, high, 1)
    assert float(f"{after[0]:.0e}") == float(claim(text, r"it is about (\S+) at the window's start"))
    assert claim(text, r"falls by more than (two) orders of magnitude") and \
        after[0] / after[-10:].min() > 100
    low, high = claim(text, r"\((\S+) to (\S+) over its last ten steps\)")
    assert float(f"{after[-10:].min():.0e}") == float(low)
    assert float(f"{after[-10:].max():.0e}") == float(high)
