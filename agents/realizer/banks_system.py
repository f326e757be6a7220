"""The system's phrase banks: per act, per persona register (``*`` for every persona without its own).

Templates use :mod:`agents.realizer.grammar` and the pools of :mod:`agents.realizer.lexicon`. What the
validators need of them (agents.validators.signals): before the first recommend node the system asks
and never offers (no "how about", "what about", "you might like", "consider the", "one option is"),
and never speaks like a shopper ("I am looking for a ..."); a claim about an item's aspect takes the
community's side, so the community acts come in three banks by stance (``.one``: a singular subject).
"""

from __future__ import annotations

from agents.realizer.lexicon import BAD_VERB, GOOD, GOOD_VERB
from agents.realizer.writer import Bank

__all__ = ["SYSTEM_BANKS"]

_HI = "(Hi|Hello|Welcome|Good day|Hi there|Hello there|Hey there|Good morning|Good afternoon|Greetings)"
_ASK = ("(What are you looking for today|How can I help you[ today]|What can I help you find|What brings you in[ today]|"
        "What are you shopping for[ today]|What can I do for you[ today]|What are you hoping to find|"
        "Which products are you after|How may I help[ you]|What would you like to find today)")
_OK = "(Got it|Noted|Thanks|Understood|Good to know|Okay|Right|I see|Makes sense|Clear|Perfect|Great)"
_PICK = "(pick|choice|match|option|candidate|bet)"
_YOU = "(you|your needs|what you told me|what you described|your list)"

SYSTEM_BANKS: Bank = {
    "greet": {
        "*": (f"{_HI}[ and welcome](!|.) {_ASK}?",
              f"{_HI}, (welcome in|thanks for stopping by|nice to see you|good to have you here)! {_ASK}?",
              f"{_HI}! (I'm here to help|Happy to help|I can help you choose)[ today]. {_ASK}?"),
        "concise": ("(Hi|Hello). What are you looking for?", "(Hello|Hi)! How can I help?"),
        "enthusiastic": (f"{_HI} and welcome! (I'd love to help you find something great|Great to see you|"
                         f"So glad you stopped by)! {_ASK}?",),
    },
    "elicit.first": {
        "*": (
            "What (matters|counts) most to you in {need}?",
            "Which (qualities|features|things|details) (are|would be|matter) most (important |)to you in "
            "(your next |new |)({need}|a purchase like this)?",
            "What would you (want|need|expect|like) from your (new|next) {need}?",
            "When you (shop for|pick|compare|choose) {need}, what do you (look at|care about|check) first?",
            "Could you tell me what you (want|need|value) (most |)(in|from) (your next |new |){need}?",
            "What would make (the perfect|an ideal|a great|the right) (choice|pick) (in|among) {need} for you?",
            "(So|Great|Alright|Lovely), what (should|must) your {need} (get right|do well|be good at)?",
            "(To start|First), what (is|would be) most important to you in {need}?",
            "(Which|What) (things|qualities) (make or break|decide) {need} for you?",
            "What (do you|would you) (prioritize|look for) (when buying|in) {need}?",
        ),
        "concise": ("What matters most in {need}?", "Priorities for your {need}?", "What do you need from {need}?"),
        "explanatory": ("(To narrow things down|So I can match reviews to your needs), what matters most to you in {need}?",
                        "Buyers care about different things in {need}; which (qualities|aspects) matter most to you?"),
    },
    "elicit.ack": {
        "*": (f"{_OK}[ (on|about) (the |){{last}}].", "{Last}, (noted|got it|understood|on the list).",
              "(Okay|Right|Good), {last} (is on my list|is noted|counts|is clear).", f"{_OK}, that helps."),
        "concise": ("Noted.", "Got it."),
    },
    "elicit.more": {
        "*": (
            "Is there anything else you (care about|want|value)?", "Anything else that is (important|key) to you?",
            "What else should I keep in mind?", "(Is there|Any) other (quality|feature|aspect|thing) you (care about|want)?",
            "What else (matters|counts) to you[ in {need}]?", "(And|Also), (what|which) other (things|qualities) matter to you?",
            "Anything else (on your list|you would like me to keep in mind|I should know)?",
            "Is there something else you (want|would like|expect) from (them|your {need})?",
            "(Anything|Is there anything) (more|further) (on your wish list|you are hoping for)?",
            "What (other|further) (wishes|requirements) do you have?",
        ),
        "concise": ("Anything else?", "What else?", "Other priorities?"),
    },
    "clarify.lead": {
        "*": ("You mentioned {name} (earlier|before|a moment ago).", "(Let me|I want to) check one thing.",
              "(Just|Quickly), about {name}:", "(Before I search|Before I go on), one question."),
    },
    "clarify": {
        "*": (
            "Just to be sure, how do you feel about {name}?", "How important is {name} to you, really?",
            "Could you tell me a bit more about what you want from (the |){name}?",
            "How much does {name} (matter|count) for you?", "What (exactly|precisely) do you (want|expect) from (the |){name}?",
            "(Is|Would) {name} (a priority|something you (would|will) compromise on) for you?",
            "How strongly do you feel about {name}?", "(Where|How) does {name} (rank|sit) on your list?",
        ),
        "concise": ("How much does {name} matter?", "{Name}: how important?"),
    },
    "alt.offer": {
        "*": ("How about the {title}?", "You might like the {title}.", "One option is the {title}.",
              "(Have a look at|Consider|Take a look at) the {title}.", "What about the {title}?",
              "(There is|There's) also the {title}[, which could suit you].", "(Maybe|Perhaps) the {title}?",
              "(Another|One) (candidate|possibility) is the {title}."),
        "concise": ("How about the {title}?", "Option: the {title}."),
    },
    "alt.other": {
        "*": ("It is another option (in|among) {need} you could look at.", "It is one more choice among {need}.",
              "It('s| is) a (popular|common|well-known) (pick|choice) (in|among) {need}.",
              "It('s| is) (worth a look|an alternative) (in|among) {need}."),
    },
    "refine": {
        # The system opens refine right after the decline: it acknowledges it and asks what else matters
        # (the shopper names the aspect in their answer).
        "*": (
            "(Understood|Fair enough|Got it), that one is not for you. (Did|Was there) anything else about it "
            "(put you off|bother you)?",
            "(Fair enough|Understood|I hear you). What else would you want done better?",
            "(Got it|Noted|Makes sense). Apart from that, what else should I keep in mind?",
            "(Thanks|Thank you), that helps. Is there anything else[ about it] (you did not like|that put you off)?",
            "(Okay|Right|Fair point), (let's|let us) (skip|drop) that one. What else (matters|is important) to you "
            "(in|for) {need}?",
        ),
        "concise": ("Understood. Anything else you did not like?", "Noted. What else matters to you?"),
    },
    "target.offer": {
        "*": ("I would recommend the {title}.", f"My top {_PICK} for you is the {{title}}.",
              f"I think the {{title}} is a strong {_PICK} for {_YOU}.", "(I'd|I would) (suggest|point you to) the {title}.",
              f"(Then|In that case|So) (my|the) (best|top) {_PICK} is the {{title}}.",
              "The {title} (stands out|looks like the one) for you.",
              f"(I'd|I would) (go for|put my money on) the {{title}}[ for {_YOU}].",
              f"The {{title}} (is|looks like) (a|the) (great|strong|good|solid) {_PICK} for {_YOU}."),
        "concise": ("I recommend the {title}.", "Try the {title}."),
        "enthusiastic": ("(Oh, |)I (have|'ve got) (just|exactly) the thing: the {title}!",
                         "You are going to (love|like) the {title}!"),
    },
    "target.after_decline": {
        # No verdict on the declined item ("did not suit you"): the validators read it as a claim about
        # that item's aspects, which its reviews may not back.
        "*": ("(Unlike|Compared with) the {declined},", "After the {declined},",
              "(Setting|Leaving) the {declined} aside,", "(Instead of|Rather than) the {declined},"),
    },
    "target.link": {
        "*": (", which you said matters to you", ", just what you asked for", ", (exactly|precisely) what you wanted",
              ", (and|since) you (care about|mentioned) {name}", ", (right|in line) with what you told me",
              ", which (fits|matches) your (priorities|wishes)"),
    },
    "target.fallback": {
        "*": ("It matches what you described.", "It is in line with what you are looking for.",
              "It (fits|suits) (the|your) (brief|needs) you (gave|described).", "It (covers|meets) the needs you (gave|named)."),
    },
    "community.positive": {
        "*": (f"{{who}} {GOOD_VERB} its {{name}}.", "{who} are (mostly |largely |)positive about its {name}.",
              "Its {name} (gets|earns|wins) (praise|compliments|good marks) from {who}.",
              f"{{who}} (say|report|find) its {{name}} is {GOOD}.", f"{{who}} call its {{name}} {GOOD}."),
        "enthusiastic": ("{who} (love|rave about|adore) its {name}!", "Its {name} (is a real highlight|shines) for {who}!"),
    },
    "community.positive.one": {
        "*": ("{who} (praises|likes|speaks highly of|loves|appreciates) its {name}.", "{who} is positive about its {name}.",
              f"{{who}} (says|finds) its {{name}} is {GOOD}."),
    },
    "community.negative": {
        "*": (f"(Honestly|To be fair|To be honest), {{who}} {BAD_VERB} its {{name}}.",
              "{who} are (mostly |largely |)critical of its {name}.",
              "(I should say|To be honest|In fairness), {who} find its {name} (weak|poor|disappointing|lacking).",
              "Its {name} (draws|gets|earns) (complaints|criticism|bad marks) from {who}."),
    },
    "community.negative.one": {
        "*": ("(Honestly|To be fair), {who} (complains about|is unhappy with|criticizes|dislikes) its {name}.",
              "{who} is critical of its {name}."),
    },
    "community.mixed": {
        "*": ("Opinions on its {name} are (mixed|split)[ among {who}].", "{who} are (split|divided) on its {name}.",
              "Reviews of its {name} are (mixed|a mixed bag)[, going by {who}].", "Its {name} gets a mixed (reception|verdict)."),
    },
    "community.mixed.one": {
        "*": ("Only one buyer mentions its {name}, and not clearly either way.",
              "Just one review mentions its {name}, with no clear verdict."),
    },
    "community.quote": {
        "*": ("(One|A) (buyer|reviewer|customer|owner) wrote that {clause}.", "(As one review puts it|In one review's words): {clause}.",
              "(One|A) review (says|notes|mentions) that {clause}.", "(Quote|To quote a buyer): {clause}."),
    },
    "trend.up": {"*": (", and it has been improving lately", ", and (recent|newer) reviews are even better",
                       ", and it('s| is) trending up (lately|recently)", ", and (lately|recently) it has got better")},
    "trend.down": {"*": (", though it has slipped recently", ", though (recent|newer) reviews are less (kind|happy)",
                         ", though it has dipped (lately|recently)", ", though (lately|recently) it has got worse")},
    "answer.lead": {
        "*": ("(Good question|Sure|Let me check|Fair question|Of course)(.|!)", "(About|On|Regarding) its {name}:",
              "(Going by|From|Judging by) the reviews,"),
        "concise": ("Sure.",),
    },
    "confirm": {
        "*": ("(Excellent|Great|Good|Fine|Smart) choice; the {title} is yours.", "(Great|Done), I have noted the {title} for you.",
              "(Wonderful|Great|Perfect), you are all set with the {title}.",
              "(Done|All set)! The {title} (is yours|is on its way to you|is reserved for you).",
              f"(Great|Lovely|Good|Nice) ({_PICK}). I('ve| have) (added|reserved|put aside) the {{title}} for you.",
              "(Perfect|Excellent|Splendid), the {title} it is."),
        "concise": ("Done: the {title}.", "Noted, the {title}."),
        "enthusiastic": ("(Fantastic|Wonderful) choice! The {title} is yours!", "Yay, the {title} it is!"),
    },
    "confirm.why": {
        "*": ("(Good|Great) call on the {name}.", "(Given|With) what you said about {name}, (it|that) (makes sense|suits you).",
              "I hope you enjoy it[, especially the {name}].", "(You|I) (can't|cannot) go wrong (there|with that), I think."),
    },
    "farewell": {
        "*": ("You('re| are) welcome! Enjoy your new {need}. (Goodbye|Bye)!", "Happy to help. (Goodbye|Bye)!",
              "My pleasure, take care. Bye!", "(Thanks|Thank you) for (shopping|stopping by|visiting)[ today]. (Goodbye|Bye)!",
              "Enjoy (them|your {need})[, and come back any time]. Bye!",
              "(Glad|Happy) I could help[ today]. (Have a (nice|great|good) day|Take care)!",
              "(Anytime|Any time)! (Goodbye|Bye) and enjoy!"),
        "concise": ("Goodbye.", "Bye, enjoy."),
    },
}
