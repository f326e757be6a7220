"""Stage 3 agents: LLM backends, user and system agents, personas and fidelity validators."""
