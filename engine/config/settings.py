"""RunSettings: every setting of ``python -m engine.run``, typed, in one model with its defaults.

Where a value comes from, in this order (a later source wins over an earlier one):

1. the defaults declared here;
2. the TOML file named by ``--config`` (:mod:`engine.config.config_file`);
3. the command line (:mod:`engine.config.options`).

The settings are stored with the run (``runs.config_json``, no secrets: a key is only ever named by
``api_key_env``). A resumed or replayed run takes the settings that decide its dialogs from the store
(:meth:`RunSettings.resumed`), whatever the command line says, so that the dialogs it completes or
replays are the ones the run started with; scheduling and output settings stay the command line's.
Run, resume, replay and the Ray shards read nothing else.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from agents.secrets import url_credentials
from profiling.errors import ConvRecError

if TYPE_CHECKING:
    from agents.backends.config import BackendConfig
    from profiling.pipeline import ProfilingConfig

__all__ = ["GROUPS", "RunSettings", "SettingsError"]

# The option groups of --help, in order.
GROUPS = ("data", "generation", "scheduling", "model", "store and output", "replay (debugging)")


class SettingsError(ConvRecError):
    """Raised when settings contradict each other (a backend without its model, several endpoints
    without a cluster, a judge without a model) or a server URL carries credentials."""


def _renamed_client(value: object) -> object:
    # Runs stored and config files written when the lean client was httpx-based say "httpx".
    return "lean" if value == "httpx" else value


# In the type, not a model validator: a config file's values are checked one by one against it.
OpenAIClientName = Annotated[Literal["lean", "sdk"], BeforeValidator(_renamed_client)]


def _opt(default: Any, help: str, group: str, *, kept: bool = False, stored: bool = True,
         in_file: bool = True, metavar: str | None = None, **bounds: float) -> Any:
    """A setting: its default, its --help text and option group, its bounds, and how it travels.

    ``kept``: it decides the run's dialogs, so a resumed or replayed run takes it from the store.
    ``stored``: it is written to the store with the run (per-invocation settings are not).
    ``in_file``: it may be set in a TOML config file (actions such as --resume may not).
    ``bounds``: pydantic's ``ge``, ``gt``, ``le`` (checked wherever the value comes from, before any
    work: a concurrency of 0 or a dialog count of -5 is refused as an option, not found out later).
    """
    extra = {"group": group, "kept": kept, "stored": stored, "in_file": in_file, "metavar": metavar}
    return Field(default=default, description=help, json_schema_extra=extra, **bounds)  # type: ignore[arg-type]


class RunSettings(BaseModel):
    """What a run is asked to do; see the module docstring for where each value comes from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # -- data (the same options as profiling.datasets.add_data_arguments) --------------------------------
    data: Literal["sample", "amazon2023", "amazon2018", "yelp", "mobilerec"] = _opt(
        "sample", "dataset kind; 'sample' is the generated sample world (no files needed)", "data", kept=True)
    reviews: Path | None = _opt(None, "review file, plain or gzip (required unless --data sample)", "data",
                                kept=True)
    meta: Path | None = _opt(None, "item metadata file (Yelp: the business file); optional", "data",
                             kept=True)
    limit: int | None = _opt(None, "keep at most this many reviews; None = all", "data", kept=True, ge=1)
    on_error: Literal["raise", "skip"] = _opt(
        "raise", "stop at the first bad record, or skip bad records and count them", "data", kept=True)
    # Bounds of profiling.sample_world.WorldConfig, checked here so a bad size fails before any work.
    world_reviews: int = _opt(15000, "sample world only: number of reviews", "data", kept=True, ge=10)
    world_users: int = _opt(500, "sample world only: number of users", "data", kept=True, ge=5)
    world_items: int = _opt(300, "sample world only: number of items", "data", kept=True, ge=12)
    world_aspects: int = _opt(16, "sample world only: planted aspects (12-20)", "data", kept=True, ge=12,
                              le=20)
    world_seed: int = _opt(0, "sample world only: generator seed", "data", kept=True, ge=0)

    # -- generation --------------------------------------------------------------------------------------
    dialogs: int = _opt(3, "number of dialogs (seeds picked deterministically, spread over users and time)",
                        "generation", kept=True, ge=1)
    budget_usd: float | None = _opt(
        None, "stop starting dialogs once model calls cost this much (prices: --price-input / "
        "--price-output); the run can be resumed to go on", "generation", gt=0)
    split: Literal["all", "train", "validation", "test"] = _opt(
        "all", "take seeds of this chronological split only", "generation", kept=True)
    select: Literal["hash", "random", "stratified", "kcenter", "js", "hybrid"] = _opt(
        "hash", "how the seeds to simulate are chosen under the --dialogs budget: hash (a seeded spread over "
        "users and time), or active selection on seed features: random, stratified (category x "
        "popularity), kcenter (coreset), js (Jensen-Shannon information), hybrid (k-center + JS - "
        "popularity); see README", "generation", kept=True)
    min_mentions: int = _opt(
        5, "other buyers' mentions a community fact (praise, criticism, 'most buyers say') needs before a "
        "plan may bind it; a falling trend needs this many on each side of its time cut", "generation",
        kept=True, ge=1)
    max_attempts: int = _opt(4, "attempts per node before rolling back to an alternative path", "generation",
                             kept=True, ge=1)
    user_persona: str = _opt(
        "default", "user persona: a name under agents/personas (default, terse, chatty, indecisive, expert, "
        "budget_minded) or a TOML path", "generation", kept=True)
    system_persona: str = _opt(
        "default", "system persona: a name (default, concise, explanatory, enthusiastic) or a TOML path",
        "generation", kept=True)
    judge: Literal["off", "on"] = _opt(
        "off", "on: add the two LLM-judge validators (executional, behavioral) after the rule validators, "
        "and score each accepted dialog 1-5 for naturalness and faithfulness to its plan; their calls go "
        "through the same endpoint limits (needs local or openai)", "generation", kept=True)
    realize: Literal["auto", "free", "polish", "scripted"] = _opt(
        "auto", "who writes the turns: free (the model writes each turn from its instructions, the paper's "
        "mode), polish (the scripted realizer drafts each turn, the model rewrites it; a rewrite that loses "
        "the draft's meaning or fails a validator is refused and the turn keeps its draft, labelled), "
        "scripted (the deterministic realizer, no model); auto: polish for --backend local, free for "
        "openai, scripted for scripted", "generation", kept=True)
    polish_tries: int = _opt(2, "polish: rewrites asked for per turn before it keeps its draft", "generation",
                             kept=True)
    polish_context: int = _opt(
        0, "polish: turns of the transcript shown to the model as context (0: none; SmolLM2 tends to "
        "comment on them instead of rewriting)", "generation", kept=True)
    encoder: Literal["fast", "minilm"] = _opt(
        "fast", "stage-1 sentence encoder (fast = model2vec distilled from MiniLM)", "generation", kept=True)
    seed: int = _opt(0, "run seed: seeds picked, plans, sampling, jitter", "generation", kept=True)

    # -- scheduling ----------------------------------------------------------------------------------------
    concurrency: int = _opt(4, "dialogs live at the same time", "scheduling", ge=1)
    llm_concurrency: int = _opt(8, "model calls in flight at once per endpoint (validator calls included)",
                                "scheduling", ge=1)
    rpm: float | None = _opt(None, "requests per minute per endpoint (None: no limit)", "scheduling", gt=0)
    tpm: float | None = _opt(None, "tokens per minute per endpoint (None: no limit)", "scheduling", gt=0)
    max_retries: int = _opt(
        4, "retries of a failed model call (429, 5xx, timeout, dropped connection), with jittered "
        "exponential backoff that honours Retry-After", "scheduling", ge=0)
    call_timeout: float = _opt(120.0, "seconds one model call may take", "scheduling", gt=0)
    loop_lag_target_ms: float = _opt(
        50.0, "how late (ms) the event loop may run before new model calls and dialog starts are held: "
        "calls in flight are capped at what the loop can read in a round trip (measured), times a share "
        "that shrinks while the loop lags and grows while it keeps up; at least one call always goes, "
        "held calls go in arrival order, calls already sent are never held. So thousands of live dialogs "
        "cannot pile answers up faster than one core reads them (every task, timeouts included, would "
        "run seconds late). 0 = off", "scheduling",
        ge=0)
    executor: Literal["local", "ray"] = _opt(
        "local", "local: one event loop in this process; ray: the dialogs are split into shards, each played "
        "by an async Ray actor with its own --concurrency, the endpoint limits holding across the cluster, "
        "everything written to the one --db (see README). (--backend names the model, so Ray is an "
        "executor, not a backend)", "scheduling")
    address: str | None = _opt(
        None, "ray only: the cluster to join (e.g. auto, or ray://head:10001; default: start a local one on "
        "this machine's CPUs)", "scheduling")
    actors: int | None = _opt(None, "ray only: shard actors (default: the cluster's CPUs)", "scheduling",
                              ge=1)
    embed_on: Literal["local", "ray"] = _opt(
        "local", "where stage 1 embeds the review sentences when they are not cached: here, or as a Ray Data "
        "job over --actors workers (same vectors; for corpora too big for one machine)", "scheduling")
    max_restarts: int = _opt(
        3, "ray only: restarts of a shard's dead worker; its unfinished dialogs play again", "scheduling",
        ge=0)

    # -- model ----------------------------------------------------------------------------------------------
    backend: Literal["local", "scripted", "openai"] = _opt(
        "local", "local = embedded SmolLM2-135M in process; scripted = deterministic realizer (no model); "
        "openai = any OpenAI-compatible server (vLLM, Ollama, llama.cpp, OpenAI)", "model", kept=True)
    model: str | None = _opt(None, "model name (default: SmolLM2-135M-Instruct for local; required for "
                             "openai)", "model", kept=True)
    base_url: str | None = _opt(
        None, "openai only: server root, e.g. http://127.0.0.1:8000/v1; with --executor ray, several "
        "comma-separated roots (shard i calls root i mod n, each with its own cluster-wide limits)", "model",
        kept=True)
    api_key_env: str = _opt(
        "OPENAI_API_KEY", "openai only: NAME of the environment variable holding the key (never stored)",
        "model", kept=True)
    json_mode: Literal["json_schema", "json_object_schema", "json_object", "none"] = _opt(
        "json_schema", "openai only: how structured output is requested (llama.cpp server: "
        "json_object_schema)", "model", kept=True)
    openai_client: OpenAIClientName = _opt(
        "lean", "openai only: how requests are sent; lean = posted with a pooled keep-alive aiohttp session "
        "(the default: the least client CPU, 0.23 ms per call in a bare loop against the SDK's 3.5 ms, "
        "BENCHMARKS.md; no streaming), sdk = through the openai SDK (streams); a stored run or config "
        "file saying httpx, the lean client's earlier name, means lean", "model")
    directive: Literal["auto", "on", "off"] = _opt(
        "auto", "put the machine-readable turn directive in the prompts (auto: only for the scripted "
        "backend; 'on' lets a test server answer with the scripted realizer)", "model", kept=True)
    threads: int | None = _opt(
        None, "local only: CPU threads llama.cpp computes with (default: its own, half the cores; more "
        "threads than free cores slows it down badly)", "model", ge=1)
    price_input: float = _opt(0.0, "USD per 1M input tokens (for costs)", "model", ge=0)
    price_output: float = _opt(0.0, "USD per 1M output tokens (for costs)", "model", ge=0)
    max_tokens: int = _opt(256, "upper bound on tokens per model call (prompts ask for at most 80 words, "
                           "so a full turn fits; a reply that reaches it is cut off, and retried)", "model",
                           kept=True, ge=1)
    max_answer_chars: int = _opt(
        4000, "longest answer accepted from a model, in characters (a longer one, or one of more than "
        "2 x --max-tokens + 32 tokens counted locally, fails its attempt as too long: a server that "
        "ignores max_tokens cannot fill the store)", "model", kept=True, ge=1)
    temperature: float = _opt(0.7, "sampling temperature", "model", kept=True, ge=0, le=2)

    # -- store and output (per invocation: not stored with the run) -------------------------------------
    db: Path = _opt(Path("convrec.db"), "SQLite trace store (created if missing; one file can hold many "
                    "runs)", "store and output", stored=False)
    out: Path | None = _opt(None, "folder for dialogs.jsonl, summary.json and run.log (default: runs/<run "
                            "id>, with runs/latest pointing at the last run started there)",
                            "store and output", stored=False)
    run_id: str | None = _opt(
        None, "run to resume or replay (default: the latest run in --db); for a new run, its id (default: "
        "time + random suffix)", "store and output", stored=False)
    resume: bool = _opt(
        False, "complete the run --run-id (default: latest) of --db: its settings come from the store; only "
        "scheduling and output options may change", "store and output", stored=False, in_file=False)
    quiet: bool = _opt(False, "no progress bars", "store and output", stored=False)

    # -- replay (debugging) --------------------------------------------------------------------------------
    replay: bool = _opt(
        False, "re-play run --run-id from its recorded model answers (zero model calls when nothing changed) "
        "and compare with what was recorded", "replay (debugging)", stored=False, in_file=False)
    replay_dialog: str | None = _opt(
        None, "replay only this dialog and print it with node boundaries, attempts, superseded turns and "
        "verdicts", "replay (debugging)", stored=False, metavar="DIALOG_ID")
    replay_mode: Literal["strict", "lenient"] = _opt(
        "strict", "strict: stop at the first call whose request differs from the recording; lenient: warn "
        "and go live from there", "replay (debugging)", stored=False)
    replay_from_node: int | None = _opt(
        None, "go live from node N on (with --user-persona / --system-persona: see how a persona changes the "
        "dialog from there)", "replay (debugging)", stored=False, metavar="N", ge=0)

    @field_validator("base_url")
    @classmethod
    def _no_credentials_in_url(cls, value: str | None) -> str | None:
        # SettingsError, not ValueError: pydantic would quote the input (the secret) in its message.
        for url in (value or "").split(","):
            found = url_credentials(url)
            if found:
                raise SettingsError(
                    f"--base-url holds credentials ({found}); a URL is stored with the run and written in "
                    "every call's trace. Take them out of the URL, put the key in an environment variable "
                    "and name it with --api-key-env (default OPENAI_API_KEY)")
        return value

    # -- sources ---------------------------------------------------------------------------------------------
    @classmethod
    def merged(cls, file_values: dict[str, Any] | None = None,
               cli_values: dict[str, Any] | None = None) -> RunSettings:
        """The defaults, overridden by ``file_values`` (the TOML file), overridden by ``cli_values``."""
        return cls.model_validate({**(file_values or {}), **(cli_values or {})})

    @classmethod
    def field_extra(cls, name: str) -> dict[str, Any]:
        """The --help group and travel flags of one setting (see ``_opt``)."""
        extra = cls.model_fields[name].json_schema_extra
        return dict(extra) if isinstance(extra, dict) else {}

    @classmethod
    def names(cls, **flags: bool) -> tuple[str, ...]:
        """The settings whose flags match, in declaration order (``names(kept=True)``: what decides
        the dialogs)."""
        return tuple(n for n in cls.model_fields
                     if all(cls.field_extra(n).get(k) == v for k, v in flags.items()))

    def stored(self) -> dict[str, Any]:
        """What is written with the run: every setting but the per-invocation ones, JSON-ready."""
        return self.model_dump(mode="json", include=set(self.names(stored=True)))

    def resumed(self, stored: dict[str, Any], *, run_id: str) -> RunSettings:
        """These settings with what decides the dialogs taken from a stored run (resume and replay).

        A setting the stored run lacks (a run recorded by an older version) keeps its default.
        """
        kept = {k: stored[k] for k in self.names(kept=True) if k in stored}
        fields = type(self).model_fields
        defaults = {k: fields[k].default for k in self.names(kept=True) if k not in stored}
        return self.model_validate({**self.model_dump(), **defaults, **kept, "run_id": run_id})

    # -- what the settings mean for the parts of a run ----------------------------------------------------
    @property
    def realization(self) -> Literal["free", "polish", "scripted"]:
        """Who writes the turns (``realize`` with auto resolved by the backend)."""
        if self.realize != "auto":
            return self.realize
        return {"local": "polish", "openai": "free", "scripted": "scripted"}[self.backend]  # type: ignore[return-value]

    @property
    def embed_directive(self) -> bool:
        """Whether prompts carry the directive block (a real model reads the instructions; the block only
        eats a small model's context). Drafts (polish) and scripted turns are written from it."""
        return self.directive == "on" or (self.directive == "auto" and self.realization != "free")

    @property
    def judge_on(self) -> bool:
        """Whether LLM-judge validators run after the rule validators."""
        return self.judge == "on"

    @property
    def split_filter(self) -> Literal["train", "validation", "test"] | None:
        """The seed split to keep (None: every split)."""
        return None if self.split == "all" else self.split

    def base_urls(self) -> list[str]:
        """``base_url`` split at commas (several endpoints only with ``executor="ray"``)."""
        urls = [u.strip() for u in (self.base_url or "").split(",") if u.strip()]
        if len(urls) > 1 and self.executor != "ray":
            raise SettingsError("several --base-url endpoints need --executor ray (one machine calls one)")
        return urls

    def out_dir(self, run_id: str) -> Path:
        """Where the run ``run_id`` writes its outputs: ``--out``, or ``runs/<run id>`` by default."""
        return self.out if self.out is not None else Path("runs") / run_id

    def check(self) -> None:
        """Refuse contradictory settings before any work is done (nothing is written before this)."""
        if self.judge_on and self.backend == "scripted":
            raise SettingsError("--judge on needs a model backend (local or openai): the scripted backend "
                                "writes dialog turns only")
        if self.backend == "scripted" and self.realization != "scripted":
            raise SettingsError(f"--realize {self.realize} needs a model backend (local or openai): the "
                                "scripted backend is no model")
        if self.polish_tries < 1 or self.polish_context < 0:
            raise SettingsError("--polish-tries must be at least 1 and --polish-context at least 0")
        self.base_urls()
        self.backend_config()

    def backend_config(self) -> BackendConfig:
        """The model endpoint these settings describe (also what replay rebuilds to match request hashes)."""
        from agents.backends.config import BackendConfig

        fields: dict[str, object] = {"kind": self.backend, "max_tokens": self.max_tokens,
                                     "max_answer_chars": self.max_answer_chars,
                                     "temperature": self.temperature, "seed": self.seed,
                                     "price_input_per_1m": self.price_input,
                                     "price_output_per_1m": self.price_output}
        if self.realization == "scripted" and not self.judge_on:
            # Nothing calls a model: the run's client is the scripted realizer, recorded as such.
            return BackendConfig(**{**fields, "kind": "scripted"})  # type: ignore[arg-type]
        if self.model:
            fields["model"] = self.model
        if self.backend == "local" and self.threads is not None:
            fields["n_threads"] = self.threads
        if self.backend == "openai":
            if not self.model:
                raise SettingsError("--backend openai needs --model NAME")
            fields.update(base_url=(self.base_url or "").split(",")[0].strip() or None,
                          api_key_env=self.api_key_env, json_mode=self.json_mode, timeout_s=self.call_timeout,
                          openai_client=self.openai_client)
        return BackendConfig(**fields)  # type: ignore[arg-type]

    def profiling_config(self) -> ProfilingConfig:
        """Stage 1 as these settings configure it."""
        from profiling.pipeline import ProfilingConfig

        return ProfilingConfig(encoder=self.encoder, seed=self.seed)
