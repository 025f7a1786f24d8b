"""Execute the notebooks in a fresh Jupyter kernel and save them with their outputs.

    .venv/bin/python examples/notebooks/execute.py            # both notebooks, outputs saved
    .venv/bin/python examples/notebooks/execute.py student    # one of them

Each notebook runs in a temporary folder (its runs/ never lands in the repository) with a
kernel on this Python (the one running this script, whatever kernels Jupyter has installed).
The saved outputs are kept small and readable: a progress bar's carriage-return updates are
reduced to what a terminal would finally show, widget state and timings are dropped. The saved
notebooks are what the documentation site renders (mkdocs-jupyter, execute: false; mkdocs_hook.py
puts them in the site) and what tests/test_notebooks.py runs again.
"""
import base64
import io
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NOTEBOOKS = ("student", "researcher")


def kernel_manager():
    """A kernel manager whose python3 kernel is this interpreter (sys.executable)."""
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager
    from jupyter_client.manager import KernelManager

    class ThisPython(KernelSpecManager):
        def get_kernel_spec(self, kernel_name):
            return KernelSpec(argv=[sys.executable, "-m", "ipykernel_launcher", "-f",
                                    "{connection_file}"],
                              display_name="Python 3", language="python", resource_dir="")

    return KernelManager(kernel_name="python3", kernel_spec_manager=ThisPython())


def execute(path, workdir, timeout=120):
    """Run the notebook at `path` in `workdir` (its working directory) in a fresh kernel;
    return it with its outputs. Raises nbclient's CellExecutionError on a cell's error."""
    import nbformat
    from nbclient import NotebookClient
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, km=kernel_manager(), timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(workdir)}})
    client.execute()
    return nb


def _terminal_text(text):
    """What a terminal finally shows of text written with carriage returns (a progress bar)."""
    lines = []
    for line in text.split("\n"):
        parts = [p for p in line.split("\r") if p]
        lines.append(parts[-1] if parts else "")
    return "\n".join(lines)


DATA_URI = re.compile(r"data:image/png;base64,([A-Za-z0-9+/=]+)")


def small_png(b64):
    """A PNG (base64) as a 64-colour palette PNG on white: a third of the bytes for a line plot,
    no visible change."""
    from PIL import Image
    image = Image.open(io.BytesIO(base64.b64decode(b64))).convert("RGBA")
    flat = Image.alpha_composite(Image.new("RGBA", image.size, "white"), image).convert("RGB")
    out = io.BytesIO()
    flat.quantize(colors=64, dither=Image.Dither.NONE).save(out, "PNG", optimize=True)
    return base64.b64encode(out.getvalue()).decode("ascii")


def clean(nb):
    """Drop what bloats or churns a saved notebook: widget state, execution timings, the
    intermediate frames of progress bars (consecutive stream outputs merged); figures saved
    as palette PNGs."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        merged = []
        for out in cell.outputs:
            if out.output_type == "stream" and merged and merged[-1].output_type == "stream" \
                    and merged[-1].name == out.name:
                merged[-1].text += out.text
                continue
            if "data" in out:
                out.data.pop("application/vnd.jupyter.widget-view+json", None)
                if "image/png" in out.data:
                    out.data["image/png"] = small_png(out.data["image/png"])
                if "text/html" in out.data:
                    out.data["text/html"] = DATA_URI.sub(
                        lambda m: "data:image/png;base64," + small_png(m.group(1)),
                        out.data["text/html"])
            merged.append(out)
        for out in merged:
            if out.output_type == "stream":
                out.text = _terminal_text(out.text)
        cell.outputs = merged
    return nb


def main(names):
    import nbformat
    for name in names:
        src = HERE / f"{name}.ipynb"
        with tempfile.TemporaryDirectory(prefix=f"nb-{name}-") as tmp:
            shutil.copy(src, tmp)
            start = time.perf_counter()
            nb = clean(execute(Path(tmp) / src.name, tmp))
            took = time.perf_counter() - start
        nbformat.write(nb, src)
        print(f"{src.relative_to(HERE.parents[1])}: executed in {took:.1f} s, "
              f"{src.stat().st_size / 1024:.0f} KiB", file=sys.stderr)


if __name__ == "__main__":
    main(sys.argv[1:] or NOTEBOOKS)
