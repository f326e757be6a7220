"""The engine: the main command, scheduler, executor, trace store, resume and replay."""
