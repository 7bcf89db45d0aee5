"""CPU time of ``ordercare --help`` and of a command's own help, in fresh processes (target: under 0.3 s).

    python bench/cli_startup.py [--repeat N] [--json] [--smoke]

Each run is a new interpreter (``python -m connector.cli ...``), so the figure is what an operator waits
for: start-up plus the imports a command needs. CPU time (user + system of the child), not wall time, so
a busy machine does not move it much; the median of ``--repeat`` runs is reported, with the interpreter's
own start-up (``python -c pass``) beside it for comparison.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys

from _support import ROOT, emit, median

TARGET_CPU_S = 0.3
COMMANDS = {"help": ["--help"], "serve_help": ["serve", "--help"], "version": ["--version"]}


def cpu_seconds(argv: list[str]) -> float:
    """User + system CPU time of one child process running ``argv``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(argv, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def run(repeat: int) -> dict[str, object]:
    result: dict[str, object] = {"repeat": repeat, "target_cpu_s": TARGET_CPU_S}
    result["python_cpu_s"] = round(median([cpu_seconds([sys.executable, "-c", "pass"]) for _ in range(repeat)]), 3)
    for name, words in COMMANDS.items():
        runs = [cpu_seconds([sys.executable, "-m", "connector.cli", *words]) for _ in range(repeat)]
        result[f"{name}_cpu_s"] = round(median(runs), 3)
    result["met"] = all(float(str(result[f"{name}_cpu_s"])) < TARGET_CPU_S for name in COMMANDS)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=9, help="runs per command; the median is reported")
    parser.add_argument("--smoke", action="store_true", help="3 runs per command")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run(3 if args.smoke else args.repeat)
    summary = (
        f"cli start-up, CPU median of {result['repeat']}: --help {result['help_cpu_s']} s, serve --help "
        f"{result['serve_help_cpu_s']} s, --version {result['version_cpu_s']} s (python itself "
        f"{result['python_cpu_s']} s; target < {TARGET_CPU_S} s: {'met' if result['met'] else 'not met'})"
    )
    emit(summary, result, args.json)


if __name__ == "__main__":
    main()
