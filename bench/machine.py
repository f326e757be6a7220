"""What every bench prints about the machine it ran on, and how busy it was (measured, not assumed)."""

from __future__ import annotations

import os


def load_note() -> str:
    """The 1-minute load average against the CPU count, and what it means for the figures."""
    load = os.getloadavg()[0]
    cpus = os.cpu_count() or 1
    verdict = ("other work shared the machine: wall-clock figures are pessimistic" if load > cpus + 0.5
               else "machine not oversubscribed")
    return f"load average {load:.1f} on {cpus} CPUs ({verdict})"
