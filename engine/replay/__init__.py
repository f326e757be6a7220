"""Replay, the debugger: a recorded run played again from its stored model answers."""

from engine.replay.client import Recording, ReplayClient, ReplayDivergence, ReplayMode, recording_from_events
from engine.replay.command import PersonaSwitch, render_dialog, replay_main

__all__ = [
    "PersonaSwitch",
    "Recording",
    "ReplayClient",
    "ReplayDivergence",
    "ReplayMode",
    "recording_from_events",
    "render_dialog",
    "replay_main",
]
