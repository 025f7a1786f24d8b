"""Where a run ran: versions, the git commit of the checkout, the BLAS library and kernel, the
machine and the command line, for summary.json's `env`.

The same config and seed give the same bits only with the same BLAS kernel and threads; this
records which ran. Nothing here fails a run: what cannot be found is null.
"""
import os
import platform
import subprocess
import sys
from pathlib import Path

GIT_TIMEOUT_S = 2.0
BLAS_FIELDS = ("internal_api", "version", "architecture", "num_threads", "filepath")


def environment(argv=None):
    """A JSON-ready dict: python, numpy, package, git, blas, platform, cpu, argv."""
    import numpy

    from trainer.version import __version__
    return {
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "package": __version__,
        "git": git_state(Path(__file__).resolve().parents[2]),
        "blas": blas_info(),
        "platform": platform.platform(),
        "cpu": cpu_name(),
        "argv": list(sys.argv if argv is None else argv),
    }


def git_state(root):
    """{"commit", "dirty"} of the checkout the package runs from (dirty: changed or untracked,
    not ignored, files); None when it is not one (an installed copy) or git is missing or slow.
    One `git status` call, with a timeout."""
    if not (Path(root) / ".git").exists():
        return None
    try:
        out = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain=v2", "--branch",
             "--untracked-files=normal"],
            capture_output=True, text=True, timeout=GIT_TIMEOUT_S,
            env={**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"})
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    commit, dirty = None, False
    for line in out.stdout.splitlines():
        if line.startswith("# branch.oid "):
            oid = line.split()[2]
            commit = None if oid == "(initial)" else oid
        elif not line.startswith("#"):
            dirty = True
    return {"commit": commit, "dirty": dirty}


def blas_info():
    """threadpoolctl's view of the loaded BLAS libraries: API, version, kernel (architecture),
    threads; an empty list when there is none to see, None when threadpoolctl is missing."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    try:
        infos = threadpool_info()
    except Exception:  # a library threadpoolctl cannot query must not fail the run
        return None
    return [{k: info.get(k) for k in BLAS_FIELDS} for info in infos
            if info.get("user_api") == "blas"]


def cpu_name():
    """The CPU's model name (Linux /proc/cpuinfo, else platform.processor()), or None."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def describe(env):
    """Short lines for a terminal: versions and commit, BLAS kernel and threads, the machine."""
    if not isinstance(env, dict) or not env:   # read back from a summary: any shape may come
        return []
    git = env.get("git")
    where = "not a git checkout"
    if isinstance(git, dict):
        where = f"git {str(git.get('commit') or '?')[:12]}" + (" (dirty)" if git.get("dirty") else "")
    lines = [f"python {env.get('python')}, numpy {env.get('numpy')}, "
             f"package {env.get('package')}, {where}"]
    blas = env.get("blas")
    if isinstance(blas, list) and blas and all(isinstance(b, dict) for b in blas):
        for b in blas:
            lines.append(f"blas {b.get('internal_api')} {b.get('version')}, kernel "
                         f"{b.get('architecture')}, threads {b.get('num_threads')}")
    else:
        lines.append("blas unknown")
    lines.append(f"{env.get('platform')}, {env.get('cpu')}")
    return lines
