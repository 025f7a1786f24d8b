"""The config reference (docs/config.md): every key, its default, allowed values and meaning.

    python scripts/config_table.py          # print it
    python scripts/config_table.py --write  # put it into docs/config.md between its markers
"""
import sys

from rnn_trainer_datasets import TASKS
from trainer.config.keys import SECTIONS


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


if __name__ == "__main__":
    if "--write" in sys.argv[1:]:
        from readme_io import write_block
        write_block("config-table", table())
    else:
        print(table())
