"""The ``scripted`` backend: a deterministic realizer that writes each turn from the prompt's directive.

It is a :class:`ChatCompletionClient` like the LLM backends, so agents, executor and engine run
unchanged; it reads the directive block of the last message (agents.directive) and writes the turn
from the node kind, this role's acts, the bindings and the persona knobs, choosing among several
phrasings with a generator seeded by the directive's seed (dialog, node, attempt, exchange, role):
the same seed always gives the same text, a retry gets a new phrasing. It reads nothing else, so it
never sees what any validator checks. Its calls are labelled ``provider="scripted"`` in usage
records and traces, and its model name is ``scripted-realizer-v1`` unless configured otherwise.

Grounding rules it keeps: the user states only bound preferences with their bound polarity, quotes
their own evidence only as a paraphrased clause whose sentiment agrees with that polarity, and
names the target only once it is on the table; the system names only the bound item of a recommend
node and describes community sentiment by its sign.

Importing this module registers the backend: ``make_client(BackendConfig(kind="scripted"))``.
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, Literal

from autogen_core import CancellationToken
from autogen_core.models import CreateResult, LLMMessage
from autogen_core.tools import Tool, ToolSchema
from pydantic import BaseModel

from agents.backends.base import RecordingClient
from agents.backends.config import SMOLLM2_MODEL, BackendConfig
from agents.backends.factory import register_backend
from agents.backends.tokens import HeuristicCounter, message_text
from agents.catalog import normalise_tokens
from agents.directive import AspectNote, Directive, DirectiveError, parse_directive, speakable_name
from planners.plan import CommunityFact, UserAspectFact

__all__ = ["SCRIPTED_MODEL", "ScriptedClient", "realise"]

SCRIPTED_MODEL = "scripted-realizer-v1"


# -- sentiment of evidence clauses ------------------------------------------------------------------
@lru_cache(maxsize=1)
def _vader() -> Any:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


_CLAUSE_SPLIT = re.compile(r",|;|\bbut\b|\bthough\b|\balthough\b")
_TRAILING = re.compile(r"[\s.!?…]+$")


_NEGATION = re.compile(r"\b(?:no|not|never|nothing|none|without|hardly|cannot)\b|n't\b", re.IGNORECASE)
# Review text is untrusted (issue #11): a clause carrying prompt markup is never spoken. Our own copy of
# the pattern, so the realizer does not depend on the validators.
_MARKUP = re.compile(r"<\|[\w-]{1,30}\|>|\[/?INST\]|<</?SYS>>|</?quote>|<<<|>>>|CONVREC-DIRECTIVE", re.I)


def _clause(sentence: str, polarity: int, name: str | None = None) -> str | None:
    """The sentence's first clause, lower-cased and unterminated, if it plainly agrees with ``polarity``.

    A user's most recent sentences on an aspect need not share their overall stance, and the first
    clause keeps a paraphrase on one point; a clause that disagrees would contradict the statement.
    Kept only when it names the aspect as the statement does (``name``; stage 1's clusters are noisy,
    so a sentence filed under one aspect may be about another) and has no negation ("no issues with
    the comfort" reads either way to a sentiment model, and so to a reader of the dataset).
    """
    first = _CLAUSE_SPLIT.split(sentence, maxsplit=1)[0]
    first = "".join(ch for ch in first if ch.isascii()).strip()
    first = _TRAILING.sub("", first)
    if len(first.split()) < 3 or _NEGATION.search(first) or _MARKUP.search(first):
        return None
    if name is not None:
        want = normalise_tokens(name)
        toks = normalise_tokens(first)
        if not want or not any(toks[i:i + len(want)] == want for i in range(len(toks) - len(want) + 1)):
            return None
    score = _vader().polarity_scores(first)["compound"]
    if (polarity > 0 and score < 0.05) or (polarity < 0 and score > -0.05):
        return None
    return first[0].lower() + first[1:] if not first.startswith("I ") else first


# -- phrase banks ------------------------------------------------------------------------------------
_LIKE = (
    "{Name} really matters to me, and I love it when it is great.",
    "I care a lot about {name}; good {name} makes me happy.",
    "Great {name} is a must for me.",
    "I am always happiest when the {name} is excellent.",
)
_LIKE_TERSE = ("Great {name}, please.", "Good {name} matters.", "Excellent {name} is a must.")
_DISLIKE = (
    "I have been disappointed by poor {name} before, and I hate that.",
    "Bad {name} is my biggest frustration.",
    "I am tired of terrible {name}.",
    "Poor {name} really annoys me.",
)
_DISLIKE_TERSE = ("No poor {name}, please.", "Bad {name} annoys me.", "I hate poor {name}.")
_EVIDENCE = ("Last time I noted that {clause}.", "As I wrote before, {clause}.",
             "I remember saying that {clause}.")


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _lower_first(text: str) -> str:
    # "I" stays a capital; any other opening word continues a sentence begun before it.
    return text if text.startswith("I ") else text[:1].lower() + text[1:]


class _Writer:
    """Builds one turn: seeded choices plus the persona's verbosity, hedges and exclamations."""

    def __init__(self, d: Directive) -> None:
        self.d = d
        self.k = d.knobs
        self.rng = random.Random(int(d.seed, 16))

    def pick(self, options: Sequence[str], **fields: object) -> str:
        text = self.rng.choice(options)
        names: dict[str, object] = {k: speakable_name(v) if k == "name" and isinstance(v, str) else v
                                    for k, v in fields.items()}
        names.update({k[:1].upper() + k[1:]: _cap(str(v)) for k, v in names.items()})
        return text.format(**names)

    def hedge(self, sentence: str) -> str:
        if self.k.hedge_rate and self.k.hedges and self.rng.random() < self.k.hedge_rate:
            h = self.rng.choice(self.k.hedges)
            return f"{h} {_lower_first(sentence)}"
        return sentence

    def excite(self, sentence: str) -> str:
        if sentence.endswith(".") and self.k.exclamation_rate and self.rng.random() < self.k.exclamation_rate:
            return sentence[:-1] + "!"
        return sentence

    def filler(self) -> list[str]:
        # Every other turn or so: a filler in every turn reads like a tic.
        if self.k.verbosity >= 3 and self.k.fillers and self.rng.random() < 0.5:
            return [self.rng.choice(self.k.fillers)]
        return []

    def preference(self, fact: UserAspectFact, prefix: str = "", evidence: bool = True) -> list[str]:
        terse = self.k.verbosity == 1
        if fact.polarity > 0:
            text = self.pick(_LIKE_TERSE if terse else _LIKE, name=fact.name)
        else:
            text = self.pick(_DISLIKE_TERSE if terse else _DISLIKE, name=fact.name)
        text = self.hedge(text)
        out = [prefix + _lower_first(text) if prefix else text]
        if evidence and self.k.verbosity >= 2:
            for ev in fact.evidence:
                clause = _clause(ev, fact.polarity, speakable_name(fact.name))
                if clause is not None:
                    out.append(self.pick(_EVIDENCE, clause=clause))
                    break
        return out


# -- user turns --------------------------------------------------------------------------------------
def _user(w: _Writer) -> list[str]:
    d, b = w.d, w.d.binding
    if d.node == "greet":
        return [w.pick(("Hi! I am looking for new {need}.", "Hello, I need some new {need}.",
                        "Hey there. I am shopping for {need}."), need=d.category)]
    if d.node == "elicit":
        facts = b.reveals if d.exchange == 0 else b.reveals[-1:]
        out: list[str] = []
        for f in facts:
            out.extend(w.preference(f))
        return out
    if d.node == "clarify" and b.clarification is not None:
        prefix = w.rng.choice(("To be clear, ", "Yes, ", "Let me be clear: "))
        # The evidence was quoted when the aspect was revealed; a clarification restates the stance.
        return w.preference(b.clarification.user, prefix=prefix, evidence=False)
    if d.node == "recommend_alternative" and b.negative is not None:
        n = b.negative
        if n.reason == "community_negative":
            reason = w.pick(("buyers complain about its {name}", "reviews say its {name} is poor",
                             "other buyers are unhappy with its {name}"), name=n.user.name)
        else:
            reason = w.pick(("reviews say its {name} has been getting worse lately",
                             "buyers say its {name} has slipped recently"), name=n.user.name)
        line = w.pick(("Thanks, but I will pass on the {title}: {reason}, and {name} matters to me.",
                       "Hmm, no, not that one; {reason}, and I care about {name}.",
                       "I do not think the {title} is for me. {Reason}, and {name} is important to me."),
                      title=n.title, reason=reason, name=n.user.name)
        # No hedge: a decline opens with its own softener ("Thanks, but", "Hmm, no").
        return [line]
    if d.node == "refine" and b.critique is not None:
        c = b.critique
        if c.user.polarity > 0:
            line = w.pick(("I really want great {name}, and I am not convinced the {title} has it.",
                           "Good {name} matters to me too, and I doubt that one delivers it."),
                          name=c.user.name, title=c.title)
        else:
            line = w.pick(("I am worried about the {name} of the {title}; poor {name} has annoyed me before.",
                           "Bad {name} is a problem for me, and I fear that one has it."),
                          name=c.user.name, title=c.title)
        return [w.hedge(line)]
    if d.node == "recommend_target":
        title = b.target.title if b.target is not None else "that"
        return [(w.pick(("That sounds promising; let me think about it.",
                                "Okay, the {title} could work. I am thinking it over.",
                                "Interesting, I will consider the {title}."), title=title))]
    if d.node == "inquire_item" and b.inquiry is not None:
        q = b.inquiry
        out = []
        if q.user is not None and w.k.verbosity >= 2:
            out.append(w.pick(("{Name} matters to me.", "I want to check one thing."), name=q.community.name))
        out.append(w.pick(("How is the {name} on the {title}?", "What do buyers say about its {name}?",
                           "And how about the {name} of the {title}?"), name=q.community.name, title=q.title))
        return out
    if d.node == "accept" and b.acceptance is not None:
        a = b.acceptance
        out = [w.pick(("Great, I will take the {title}.", "Sounds good, I will go with the {title}.",
                       "Yes, I will buy the {title}."), title=a.title)]
        if a.decisive is not None and w.k.verbosity >= 2:
            out.append(w.pick(("The {name} convinced me.", "Its {name} won me over."),
                              name=a.decisive.community.name))
        return out
    if d.node == "close":
        return [w.pick(("Thanks for your help. Bye!", "Thank you, goodbye!",
                        "Thanks a lot, have a nice day. Bye."))]
    raise DirectiveError(f"scripted user cannot realise node {d.node!r} without its slot")


# -- system turns ------------------------------------------------------------------------------------
def _community_clause(w: _Writer, c: CommunityFact | AspectNote) -> str:
    # By the stance the plan bound (the mentions' credible interval), so the words agree with the plan.
    if c.stance == "positive":
        text = w.pick(("buyers are mostly positive about its {name}", "reviewers praise its {name}"),
                      name=c.name)
    elif c.stance == "negative":
        text = w.pick(("honestly, buyers are mostly critical of its {name}",
                       "to be fair, reviewers often complain about its {name}"), name=c.name)
    else:
        text = w.pick(("opinions on its {name} are mixed", "buyers are split on its {name}"), name=c.name)
    if w.k.verbosity >= 2 and c.mentions:
        text += f" ({c.mentions} mention{'s' if c.mentions != 1 else ''})"
    if c.trend > 0.05:
        text += ", and it has been improving lately"
    elif c.trend < -0.05:
        text += ", though it has slipped recently"
    return text


def _system(w: _Writer) -> list[str]:
    d, b = w.d, w.d.binding
    if d.node == "greet":
        return [w.pick(("Hi! What are you looking for today?", "Hello, how can I help you today?",
                        "Welcome! What can I help you find?"))]
    if d.node == "elicit":
        if d.exchange == 0 and not d.revealed_before:
            q = w.pick(("What matters most to you in {cat}?", "Which qualities are most important to you "
                        "in {cat}?", "What would you want from your new {cat}?"), cat=d.category)
        else:
            q = w.pick(("Is there anything else you care about?", "Anything else that is important to you?",
                        "What else should I keep in mind?"))
        return [q]
    if d.node == "clarify" and b.clarification is not None:
        return [w.pick(("Just to be sure, how do you feel about {name}?",
                        "How important is {name} to you, really?",
                        "Could you tell me a bit more about what you want from {name}?"),
                       name=b.clarification.user.name)]
    if d.node == "recommend_alternative" and b.negative is not None:
        out = [w.pick(("How about the {title}?", "You might like the {title}.", "One option is the {title}."),
                      title=b.negative.title)]
        p = d.alternative_praise
        if p is not None:
            out.append(_cap(w.pick(("buyers like its {name}.", "reviewers speak well of its {name}."),
                                   name=p.name)))
        else:
            out.append(w.pick(("It is another option in {cat} you could look at.",
                               "It is one more choice among {cat}."), cat=d.category))
        return out
    if d.node == "refine":
        # The system opens refine (the shopper has just declined): it asks what else matters.
        return [w.pick(("Understood, that one is not for you. Did anything else about it put you off?",
                        "Fair enough. What else would you want done better?",
                        "Got it. Apart from that, what else should I keep in mind?"))]
    if d.node == "recommend_target" and b.target is not None:
        t = b.target
        out = [w.pick(("I would recommend the {title}.", "My top pick for you is the {title}.",
                       "I think the {title} is a strong match for you."), title=t.title)]
        n_just = 1 if w.k.verbosity == 1 else 2
        for j in t.justifications[:n_just]:
            clause = _community_clause(w, j.community)
            if j.basis == "user_and_community":
                clause += w.pick((", which you said matters to you", ", just what you asked for"))
            out.append(_cap(clause) + ".")
        if w.k.verbosity >= 3 and t.justifications:
            ev = t.justifications[0].community.evidence
            name = speakable_name(t.justifications[0].community.name)
            clause = next((c for c in (_clause(e, 1, name) for e in ev) if c is not None), None)
            if clause is not None:
                out.append(f"One buyer wrote that {clause}.")
        if not t.justifications:
            out.append(w.pick(("It matches what you described.",
                               "It is in line with what you are looking for.")))
        return out
    if d.node == "inquire_item" and b.inquiry is not None:
        return [_cap(_community_clause(w, b.inquiry.community)) + "."]
    if d.node == "accept":
        title = b.acceptance.title if b.acceptance is not None else "it"
        return [w.pick(("Excellent choice; the {title} is yours.", "Great, I have noted the {title} for you.",
                        "Wonderful, you are all set with the {title}."), title=title)]
    if d.node == "close":
        return [w.pick(("You are welcome! Enjoy your new {cat}. Goodbye!", "Happy to help. Goodbye!",
                        "My pleasure, take care. Bye!"), cat=d.category)]
    raise DirectiveError(f"scripted system cannot realise node {d.node!r} without its slot")


def realise(directive: Directive) -> str:
    """The turn the directive asks for, written deterministically from its seed."""
    w = _Writer(directive)
    core = _user(w) if directive.role == "user" else _system(w)
    # Fillers go first, so a question stays the turn's last sentence.
    sentences = [*w.filler(), *core]
    return " ".join(w.excite(s) for s in sentences)


# -- the ChatCompletionClient ------------------------------------------------------------------------
class ScriptedClient(RecordingClient):
    """A backend whose every answer is :func:`realise` of the directive in the request's last message."""

    provider = "scripted"

    def __init__(self, config: BackendConfig | None = None) -> None:
        config = config or BackendConfig(kind="scripted", model=SCRIPTED_MODEL, temperature=0.0)
        if config.model == SMOLLM2_MODEL:
            # The config's default model name is the local model's; a scripted call must not be
            # recorded as if SmolLM2 had written it.
            config = config.model_copy(update={"model": SCRIPTED_MODEL})
        super().__init__(config, HeuristicCounter())

    async def create(
        self,
        messages: Sequence[LLMMessage],
        *,
        tools: Sequence[Tool | ToolSchema] = (),
        tool_choice: Tool | Literal["auto", "required", "none"] = "auto",
        json_output: bool | type[BaseModel] | None = None,
        extra_create_args: Mapping[str, Any] = {},
        cancellation_token: CancellationToken | None = None,
    ) -> CreateResult:
        self._check_request(messages, tools, json_output)
        if json_output:
            raise DirectiveError("the scripted backend writes dialog turns only; it has no JSON output")
        started = time.perf_counter()
        text = realise(parse_directive(message_text(messages[-1])))
        return self._finish(messages=messages, content=text, finish="stop", input_tokens=None,
                            output_tokens=None, started=started,
                            req_hash=self._hash(messages, json_output, extra_create_args),
                            response_model=self._config.model, json_output=json_output)

    async def close(self) -> None:
        """Nothing to release."""


register_backend("scripted", ScriptedClient)
