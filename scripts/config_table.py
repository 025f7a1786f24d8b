"""Print the README's config reference: every key, its default, allowed values and meaning.

    python scripts/config_table.py
"""
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


if __name__ == "__main__":
    print(table())
