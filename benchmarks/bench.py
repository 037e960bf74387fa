"""Build-speed, memory and page-weight benchmark of the vgexamples site.

Run as ``nox -s bench`` (or ``python benchmarks/bench.py`` inside the docs environment).
It measures, on the current machine:

* a cold full build (every build output deleted first), a no-op rebuild, and rebuilds after
  editing one gallery script, one explainer page, one chapter's library module
  (``vgexamples/cliff.py``: only what imports it re-runs) and the training loop
  (``vgexamples/train.py``: everything that trains re-runs); each edit is reverted afterwards;
* each example's execution time and their sum against the cold build's wall time;
* the mean overhead of the training watcher (:class:`vgexamples.watch.Watcher`) on a step,
  at its default sampling, for a 20-layer MLP and a small transformer (interleaved runs);
* peak memory (max RSS) of the docs build and of the slowest examples run alone;
* page weight: bytes each page loads that are not shared by every page.

Results go to ``benchmarks/results/bench.json`` and ``benchmarks/results/bench.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
HTML = DOCS / "_build" / "html"
OUT = ROOT / "benchmarks" / "results"
TARGETS = {
    "cold_build_s": 75,
    "noop_rebuild_s": 10,
    "edit_chapter_module_rebuild_s": 25,
    "example_s": 60,
    "build_peak_rss_mib": 4096,
    "watcher_overhead": 0.05,
    "page_own_bytes": 1.5e6,
    "explorer_page_s": 40,
}
ENV = {**os.environ, "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "2", "PYTHONHASHSEED": "0"}


def _run(cmd: list[str], extra_env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Run ``cmd``; return (wall seconds, max RSS of any descendant in MiB, output)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.run(
        cmd, cwd=ROOT, env={**ENV, **(extra_env or {})}, capture_output=True, text=True
    )
    wall = time.perf_counter() - t0
    rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode != 0:
        sys.exit(f"command failed: {' '.join(cmd)}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return wall, max(rss, before) / 1024, proc.stdout + proc.stderr


def build(extra_env: dict[str, str] | None = None) -> tuple[float, float]:
    wall, rss, _ = _run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-W",
            "--keep-going",
            "-q",
            "-j",
            os.environ.get("VGEXAMPLES_DOCS_JOBS", "2"),  # as `nox -s docs` builds
            "-d",
            str(DOCS / "_build" / "doctrees"),  # as `nox -s docs`: doctrees not in the site
            "-b",
            "html",
            str(DOCS),
            str(HTML),
        ],
        extra_env,
    )
    return wall, rss


def clean() -> None:
    for path in (DOCS / "_build", DOCS / "auto_examples", DOCS / "jupyter_execute"):
        shutil.rmtree(path, ignore_errors=True)


def with_edit(path: Path, suffix: str):
    """Context manager: append ``suffix`` to ``path`` and restore it afterwards."""

    class _Edit:
        def __enter__(self):
            self.original = path.read_text()
            path.write_text(self.original + suffix)

        def __exit__(self, *exc):
            path.write_text(self.original)

    return _Edit()


def watcher_overhead(repeats: int = 4, steps: int = 2048) -> dict[str, dict[str, dict]]:
    """Mean overhead of a :class:`~vgexamples.watch.Watcher` at its default sampling on a
    training step, for a 20-layer MLP and a small transformer.

    One process, one thread. Two copies of a model (same initial weights, same pre-built
    batches, SGD) train side by side, step by step: one plain, one watched, which of the
    two goes first alternating every step, each step timed; ``steps`` steps is about 100
    epochs of the digits. Both copies thus meet the same state of a shared machine. Its
    pauses (a few steps many times slower, in either copy) would swamp a ratio of total
    times, so the overhead is counted from what the watcher adds: the extra time of the
    sampled steps over the plain copy's median step, plus the shift of the median of the
    other steps, against the plain median step times the number of steps (the median over
    ``repeats`` fresh pairs). The plain ratio of total times is reported beside it.
    ``every_1`` is the same over shorter runs with a sample at every step: what one sampled
    step costs.
    """
    import torch
    import torch.nn.functional as F

    from vgexamples.data import load_digits
    from vgexamples.experiments.watching import RowTransformer
    from vgexamples.models import MLP
    from vgexamples.runtime import configure
    from vgexamples.watch import Watcher

    configure(0)  # one thread, as the examples run
    data = load_digits()
    gen = torch.Generator().manual_seed(0)
    order = torch.randperm(len(data.x_train), generator=gen)
    batches = [
        (data.x_train[order[i : i + 64]], data.y_train[order[i : i + 64]])
        for i in range(0, len(order) - 63, 64)
    ]
    models = {
        "mlp20": lambda: MLP(64, 10, depth=20, width=64, activation="tanh", init="xavier"),
        "transformer": RowTransformer,
    }

    def pair(build, watch: dict, steps: int) -> tuple[list[float], list[float], list[int]]:
        """Seconds of every plain and watched step, and the steps the watcher sampled."""
        runs = []
        for _ in range(2):
            torch.manual_seed(0)
            net = build()
            runs.append((net, torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)))
        watcher = Watcher(*runs[1], **watch)
        times: list[list[float]] = [[], []]
        for i in range(steps):
            x, y = batches[i % len(batches)]
            for k in (0, 1) if i % 2 == 0 else (1, 0):
                net, opt = runs[k]
                t0 = time.perf_counter()
                opt.zero_grad()
                F.cross_entropy(net(x), y).backward()
                opt.step()
                times[k].append(time.perf_counter() - t0)
        watcher.remove()
        return times[0], times[1], watcher.steps

    def added(plain: list[float], watched: list[float], sampled: list[int]) -> float:
        base = statistics.median(plain)
        chosen = set(sampled)
        extra = sum(watched[s - 1] - base for s in chosen)
        rest = [t for i, t in enumerate(watched, start=1) if i not in chosen]
        if rest:
            extra += (statistics.median(rest) - base) * len(rest)
        return extra / (base * len(plain))

    out: dict[str, dict[str, dict]] = {}
    for name, build in models.items():
        pair(build, {}, 64)  # warm-up
        for label, watch, n in (("default", {}, steps), ("every_1", {"every": 1}, 128)):
            plain, watched, overheads, totals = [], [], [], []
            for _ in range(repeats):
                p, w, sampled = pair(build, watch, n)
                plain += p
                watched += w
                overheads.append(added(p, w, sampled))
                totals.append(sum(w) / sum(p) - 1)
            out.setdefault(name, {})[label] = {
                "step_plain_ms": 1e3 * statistics.median(plain),
                "step_watched_ms": 1e3 * statistics.median(watched),
                "samples": len(sampled),
                "steps": n,
                "overhead": statistics.median(overheads),
                "overhead_of_totals": statistics.median(totals),
            }
    return out


def example_memory(examples: list[str]) -> dict[str, float]:
    """Max RSS (MiB) of each example run alone in a fresh interpreter."""
    out = {}
    for rel in examples:
        script = ROOT / "gallery" / (rel.split("auto_examples/", 1)[1] + ".py")
        code = (
            "import resource, runpy, sys; runpy.run_path(sys.argv[1], run_name='__main__');"
            "print('MAXRSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
        )
        _, _, text = _run([sys.executable, "-c", code, str(script)])
        out[rel] = int(re.search(r"MAXRSS (\d+)", text).group(1)) / 1024
    return out


_ASSET = re.compile(r"""<(?:script|img|link)\b[^>]*?(?:src|href)=["']([^"'#?]+)""", re.I)


def page_execution_times() -> dict[str, float]:
    """Seconds each executed Markdown page took in the last build (myst-nb's cache records)."""
    from jupyter_cache import get_cache

    latest: dict[str, tuple[object, float]] = {}
    for rec in get_cache(str(DOCS / "_build" / ".jupyter_cache")).list_cache_records():
        path = Path(rec.uri or "")
        if not path.is_relative_to(DOCS):  # a record left by a checkout elsewhere
            continue
        name = path.relative_to(DOCS).as_posix()
        seconds = (rec.data or {}).get("execution_seconds")
        if seconds is not None and (name not in latest or rec.created > latest[name][0]):
            latest[name] = (rec.created, float(seconds))
    return {name: sec for name, (_, sec) in latest.items()}


def page_weights() -> dict[str, int]:
    """Bytes of each page's HTML plus the files it loads that are its own.

    Site-wide files under ``_static/`` (theme, search, MathJax: fetched once and cached for
    every page) are excluded; figures and other page assets count.
    """
    static = (HTML / "_static").resolve()
    pages = [
        p
        for p in HTML.rglob("*.html")
        if not p.relative_to(HTML).as_posix().startswith(("_static/", "_images/"))
    ]
    weights = {}
    for page in pages:
        own = set()
        for ref in _ASSET.findall(page.read_text(encoding="utf-8", errors="replace")):
            if "://" in ref or ref.startswith("data:"):
                continue
            target = (page.parent / ref).resolve()
            if target.is_file() and static not in target.parents:
                own.add(target)
        weights[page.relative_to(HTML).as_posix()] = page.stat().st_size + sum(
            a.stat().st_size for a in own
        )
    return weights


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--skip-rebuilds",
        action="store_true",
        help="only the cold build, overhead, memory and page weight",
    )
    parser.add_argument(
        "--parallel",
        type=int,
        default=0,
        help="also time a cold build with VGEXAMPLES_GALLERY_PARALLEL=N (0 = serial)",
    )
    parser.add_argument(
        "--overhead-only",
        action="store_true",
        help="only the watcher's overhead (no builds); prints its rows",
    )
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    if args.overhead_only:
        print(json.dumps(watcher_overhead(), indent=1))
        return
    results: dict[str, object] = {"python": sys.version.split()[0], "cpus": os.cpu_count()}

    clean()
    cold, cold_rss = build()
    results["cold_build_s"], results["build_peak_rss_mib"] = cold, cold_rss
    times = json.loads((HTML / "_static" / "execution_times.json").read_text())
    results["examples"] = {r["example"]: r["seconds"] for r in times}
    results["examples_sum_s"] = sum(results["examples"].values())
    results["not_example_share"] = 1 - results["examples_sum_s"] / cold
    results["page_bytes"] = page_weights()
    results["pages_s"] = page_execution_times()

    if not args.skip_rebuilds:
        results["noop_rebuild_s"] = build()[0]
        script = sorted((ROOT / "gallery").glob("*/plot_*.py"))[0]
        page = DOCS / "chapters" / "vanishing.md"
        for key, path, suffix in [
            ("edit_script_rebuild_s", script, "\n# benchmark edit\n"),
            ("edit_page_rebuild_s", page, "\n<!-- benchmark edit -->\n"),
            ("edit_chapter_module_rebuild_s", ROOT / "vgexamples" / "cliff.py", "\n# edit\n"),
            ("edit_train_rebuild_s", ROOT / "vgexamples" / "train.py", "\n# edit\n"),
        ]:
            with with_edit(path, suffix):
                results[key] = build()[0]
            build()  # back to the committed state (not timed)

    if args.parallel:
        clean()
        results[f"cold_build_parallel{args.parallel}_s"] = build(
            {"VGEXAMPLES_GALLERY_PARALLEL": str(args.parallel)}
        )[0]
        clean()
        build()

    slowest = sorted(results["examples"], key=results["examples"].get, reverse=True)[:3]
    results["example_peak_rss_mib"] = example_memory(slowest)
    results["watcher"] = watcher_overhead()
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "bench.json").write_text(json.dumps(results, indent=1) + "\n")
    (OUT / "bench.md").write_text(table(results))
    print(table(results))


def table(r: dict) -> str:
    def row(name, value, target, ok):
        return f"| {name} | {value} | {target} | {'yes' if ok else '**no**'} |"

    heaviest = max(r["page_bytes"].items(), key=lambda kv: kv[1])
    slowest = max(r["examples"].items(), key=lambda kv: kv[1])
    lines = [
        "| measure | value | target | met |",
        "|---|---|---|---|",
        row(
            "cold build",
            f"{r['cold_build_s']:.0f} s",
            f"<= {TARGETS['cold_build_s']} s",
            r["cold_build_s"] <= TARGETS["cold_build_s"],
        ),
    ]
    for key, label in [
        ("noop_rebuild_s", "no-op rebuild"),
        ("edit_script_rebuild_s", "rebuild after editing one script"),
        ("edit_page_rebuild_s", "rebuild after editing one page"),
        ("edit_chapter_module_rebuild_s", "rebuild after editing vgexamples/cliff.py"),
        ("edit_train_rebuild_s", "rebuild after editing vgexamples/train.py"),
    ]:
        if key in r:
            target = f"<= {TARGETS[key]} s" if key in TARGETS else "(report)"
            ok = r[key] <= TARGETS[key] if key in TARGETS else True
            lines.append(row(label, f"{r[key]:.1f} s", target, ok))
    lines += [
        row(
            "slowest example",
            f"{slowest[1]:.1f} s ({slowest[0]})",
            "<= 60 s",
            slowest[1] <= TARGETS["example_s"],
        ),
        row(
            "sum of example times",
            f"{r['examples_sum_s']:.0f} s "
            f"({100 * (1 - r['not_example_share']):.0f}% of the cold build)",
            "(report)",
            True,
        ),
        row(
            "docs build peak RSS",
            f"{r['build_peak_rss_mib']:.0f} MiB",
            "<= 4096 MiB",
            r["build_peak_rss_mib"] <= TARGETS["build_peak_rss_mib"],
        ),
    ]
    explorer = r.get("pages_s", {}).get("explorer.md")
    if explorer is not None:
        lines.append(
            row(
                "explorer page (its grid) in the cold build",
                f"{explorer:.1f} s",
                f"<= {TARGETS['explorer_page_s']} s",
                explorer <= TARGETS["explorer_page_s"],
            )
        )
    for name, mib in r["example_peak_rss_mib"].items():
        lines.append(row(f"peak RSS of {name}", f"{mib:.0f} MiB", "(report)", True))
    for model, by_sampling in r["watcher"].items():
        for sampling, rec in by_sampling.items():
            default = sampling == "default"
            lines.append(
                row(
                    f"watcher overhead per step, {model}, "
                    + ("default sampling" if default else "a sample at every step"),
                    f"{100 * rec['overhead']:.1f}% ({rec['samples']} samples in "
                    f"{rec['steps']} steps; median step {rec['step_plain_ms']:.2f} ms; "
                    f"ratio of totals {100 * rec['overhead_of_totals']:+.1f}%)",
                    f"<= {100 * TARGETS['watcher_overhead']:.0f}%" if default else "(report)",
                    rec["overhead"] <= TARGETS["watcher_overhead"] if default else True,
                )
            )
    lines += [
        row(
            "heaviest page (own bytes)",
            f"{heaviest[1] / 1e6:.2f} MB ({heaviest[0]})",
            "<= 1.5 MB",
            heaviest[1] <= TARGETS["page_own_bytes"],
        ),
    ]
    for key in r:
        if key.startswith("cold_build_parallel"):
            lines.append(row(key.replace("_", " "), f"{r[key]:.0f} s", "(report)", True))
    lines.append("")
    lines.append("| example | seconds |")
    lines.append("|---|---|")
    for name, sec in sorted(r["examples"].items(), key=lambda kv: -kv[1]):
        lines.append(f"| {name} | {sec:.1f} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
