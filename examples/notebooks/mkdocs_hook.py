"""The documentation site's notebook pages: puts examples/notebooks/*.ipynb into the site as
notebooks/<name>.ipynb, so mkdocs-jupyter renders them (with their saved outputs; it runs
nothing) and the nav can name them, without a second copy under docs/ to keep in step.

mkdocs.yml names this file under `hooks:`; it runs before mkdocs-jupyter's own on_files."""
from pathlib import Path

from mkdocs.plugins import event_priority
from mkdocs.structure.files import File

HERE = Path(__file__).resolve().parent


@event_priority(50)   # before mkdocs-jupyter (priority 0) turns .ipynb files into pages
def on_files(files, config):
    for notebook in sorted(HERE.glob("*.ipynb")):
        # a file of the site at notebooks/NAME.ipynb read from examples/notebooks/NAME.ipynb
        # (src_dir + src_uri: mkdocs-jupyter reads abs_src_path, which File.generated leaves unset
        # in the page it wraps)
        files.append(File(f"{HERE.name}/{notebook.name}", src_dir=str(HERE.parent),
                          dest_dir=config["site_dir"],
                          use_directory_urls=config["use_directory_urls"]))
    return files
