"""The README's config reference: every key, its default, allowed values and meaning.

    python scripts/config_table.py          # print it
    python scripts/config_table.py --write  # put it into README.md between its markers
"""
import re
import sys
from pathlib import Path

from datasets import TASKS
from trainer.config import SECTIONS


def rows():
    for section, keys in SECTIONS.items():
        for key, spec in keys.items():
            yield f"{section}.{key}", spec, ""
        if section == "task":
            for name, module in TASKS.items():
                for key, spec in module.KEYS.items():
                    yield f"task.{key}", spec, name


def table():
    lines = ["| key | default | allowed | meaning |", "| --- | --- | --- | --- |"]
    for dotted, spec, task in rows():
        meaning = f"({task}) {spec.help}" if task else spec.help
        lines.append(f"| `{dotted}` | `{spec.default!r}` | {spec.describe_range()} | {meaning} |")
    return "\n".join(lines)


def write_readme(path=Path(__file__).resolve().parents[1] / "README.md"):
    text = path.read_text()
    begin, end = "<!-- config-table", "<!-- /config-table -->"
    pattern = re.compile(re.escape(begin) + r"[^\n]*\n.*?" + re.escape(end), re.S)
    marker = text[text.index(begin):text.index("\n", text.index(begin))]
    path.write_text(pattern.sub(lambda m: f"{marker}\n{table()}\n{end}", text))


if __name__ == "__main__":
    if "--write" in sys.argv[1:]:
        write_readme()
    else:
        print(table())
