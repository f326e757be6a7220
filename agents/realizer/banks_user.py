"""The user's phrase banks: per act, per persona register (``*`` for every persona without its own).

Templates use :mod:`agents.realizer.grammar` (``(a|b)`` one of, ``[x]`` maybe, ``{slot}``) and the word
pools of :mod:`agents.realizer.lexicon`. What each act's sentences must keep, because the validators
read it (agents.validators.signals):

- a stated preference names its aspect (``{name}``) and leans the profile's way: a liked aspect is
  praised or wanted, a disliked one complained about (VADER's sign, with the aspect's own words
  masked); no "can't stand bad X" (VADER negates the "bad"), no "deal" (reads as accepting an offer);
- a decline says no in so many words and gives its aspect; a consideration never says no nor accepts;
- an acceptance says it takes the item and refers to it; no turn of the user recommends anything.
"""

from __future__ import annotations

from agents.realizer.lexicon import AMPLY, BAD, GOOD, HAPPY, MATTERS, NEEDED, THANKS, UPSET
from agents.realizer.writer import Bank

__all__ = ["USER_BANKS"]

_HI = "(Hi|Hello|Hey|Hi there|Hello there|Hey there|Good morning|Good afternoon|Morning|Hiya)"
_SEEK = ("(looking for|shopping for|in the market for|hunting for|after|searching for|on the lookout for|"
         "trying to find|out to buy|hoping to find)")
_NEW = "(some |a few |)(new |good |decent |nice |)"
_NOW = "[ (today|this week|at the moment|right now|for a change|these days|this time|again)]"
_FOR_ME = "(for me|in my book|to me|personally|as far as I am concerned|in my experience)"

USER_BANKS: Bank = {
    "greet": {
        "*": (
            f"{_HI}(!|,|.) I('m| am) {_SEEK} {_NEW}{{need}}{_NOW}.",
            f"{_HI}! (Could|Can|Would) you help me (find|choose|pick out|track down|decide on) {_NEW}{{need}}?",
            f"{_HI}[, (hope you are well|nice to meet you|how are you)]. I (need|want|would like) {_NEW}{{need}}"
            "[ and (could use|would love|would appreciate) (some help|a hand|your advice|a pointer or two)].",
            f"{_HI}, I('m| am) (trying|hoping|planning|about) to (find|buy|get|pick up) {_NEW}{{need}}{_NOW}.",
            f"{_HI}! (My old|My current|The) {{need}} (are|have) (worn out|seen better days|had it|given up), so I('m| am) "
            f"{_SEEK} (new|replacement|fresh) {{need}}.",
            f"{_HI}. (I'd like|I want|I'm hoping) to (buy|order|find) {_NEW}{{need}}[ (soon|this month|before the weekend)].",
            f"{_HI}! (I am|I'm) (finally |)(shopping|browsing) (for|around for) {{need}}{_NOW}.",
            "(I need|I want) {need}[, please]. (Can|Could) you help?",
        ),
        "terse": ("(Hi|Hello|Hey). (Looking for|Need|Shopping for|After) {need}.", "{Need}, please.",
                  "(Hi|Hey), (need|want|after) (new |)({need}|some {need})."),
        "expert": (
            f"{_HI}. I('m| am) (replacing|upgrading|retiring) my (current|old|aging) {{need}} and (know|have) "
            "(roughly|a fair idea of|more or less) what I (want|am after).",
            f"{_HI}, I('m| am) (comparing|researching|shortlisting) {{need}} (and have a few criteria|before I (buy|commit))"
            "[ (this time|again)].",
        ),
    },
    "like": {
        "*": (
            f"{GOOD} {{name}} is {NEEDED} {_FOR_ME}.",
            f"I {AMPLY}(care about|pay (close |)attention to|look closely at|prize) (the |){{name}}"
            "[ (above all|more than anything|first|before anything else)].",
            f"{{Name}} {MATTERS}[, and I (love|enjoy|adore) it when it is {GOOD}].",
            f"I('m| am) (always |)(happiest|most satisfied|really pleased|delighted) when the {{name}} is {GOOD}.",
            f"(I want|I'd like|I'm hoping for|Give me|I'm after) {GOOD} {{name}}[, (please|if possible|ideally)].",
            f"{GOOD} {{name}} {HAPPY}[ (every time|each time|, honestly)].",
            f"I (love|really like|enjoy|appreciate|adore) (one|something|anything) with {GOOD} {{name}}.",
            f"(For me|Personally|Honestly), it('s| is) (all about|mostly about|really about) (the |){{name}}"
            f"[, and I want it {GOOD}].",
            f"(One|The) thing I (look for|check|care about) first is {GOOD} {{name}}.",
            f"{GOOD} {{name}} (is|would be) (the|my) (biggest|main|first|top) (wish|priority|requirement|hope).",
            f"(If there's one thing|Above everything), I want the {{name}} to be {GOOD}.",
            f"I (enjoy|love|appreciate) it when the {{name}} is {GOOD}[ {_FOR_ME}].",
        ),
        "terse": (f"{GOOD} {{name}}[, please].", "{Name} (matters|counts) (most|a lot).",
                  f"(Need|Want) {GOOD} {{name}}.", f"{GOOD} {{name}} is (key|a must)."),
        "expert": (
            f"(I have learned to|I) (prioritise|prioritize|insist on) {GOOD} {{name}}[ after owning a few of these].",
            f"(In my experience|From experience), {GOOD} {{name}} is (what separates the good ones|worth paying for|"
            "the thing to get right).",
            f"{{Name}} is (my|the) first (criterion|thing I check), and I want it {GOOD}.",
        ),
        "budget_minded": (
            f"(Even on a budget|Whatever I spend|Even when I shop carefully), I want {GOOD} {{name}}.",
            f"If I('m| am) (spending|paying) (good|hard-earned) (cash|savings), {GOOD} {{name}} (is a must|had better be there).",
            f"{{Name}} {MATTERS}[; I (love|like) getting {GOOD} {{name}}].",
        ),
    },
    "dislike": {
        "*": (
            f"{BAD} {{name}} {UPSET}.",
            f"I (have been|was|got) (disappointed|annoyed|frustrated|burned) by {BAD} {{name}} (before|in the past|more "
            "than once|too often)[, and I (hate|dislike|loathe) that].",
            f"I('m| am) (tired|sick|weary) of {BAD} {{name}}.",
            f"I (really |)(hate|dislike|loathe) it when the {{name}} is {BAD}.",
            f"{BAD} {{name}} is (the|my) (biggest|main|number one|first) (worry|complaint|frustration|gripe)"
            "[ with {need}].",
            f"(My last one|The last one I (had|bought)|My previous pair) had {BAD} {{name}}, and (it annoyed me|I hated "
            "it|I regret it|it drove me crazy).",
            f"I (worry|am worried|fret) about {BAD} {{name}}[ (above all|most of all|more than anything)].",
            f"{BAD} {{name}} is (a real problem|a constant annoyance|a nightmare) for me.",
            f"{BAD} {{name}} was (a real problem|a letdown|a nightmare) for me (before|last time|in the past).",
        ),
        "terse": (f"No {BAD} {{name}}, please.", f"{BAD} {{name}} annoys me.", f"I hate {BAD} {{name}}.",
                  f"{BAD} {{name}} is a problem."),
        "expert": (
            f"(I have seen|I know) {BAD} {{name}} (ruin|spoil|wreck) (otherwise good|decent) {{need}}[ more than once].",
            f"(In my experience|From experience), {BAD} {{name}} is (the usual weak point|what fails first|"
            "a common problem), and I (hate|dislike) it.",
        ),
        "budget_minded": (
            f"I (hate|dislike|resent) paying for {BAD} {{name}}.",
            f"{BAD} {{name}} (is|feels like) cash wasted, and (it annoys me|I hate that|that frustrates me).",
        ),
    },
    "evidence": {
        "*": (
            "(Last time|Once|Before|In a review|Not long ago) I (wrote|noted|said|mentioned|remarked) that {clause}.",
            "As I (wrote|said|noted|put it) (before|once|in a review|last time), {clause}.",
            "I (remember|recall) (writing|saying|noting) that {clause}.",
            "My (last|old|previous) review (said|put it this way|summed it up): {clause}.",
            "{Clause}, (as I wrote|I noted|I said|I once wrote) (before|once|in a review).",
            "(From|Going by) my own (review|experience): {clause}.",
        ),
    },
    "also": {"*": ("Also,", "And", "Besides that,", "On top of that,", "Plus,", "Another thing:", "Oh, and",
                   "What's more,", "Apart from that,", "In addition,", "Secondly,", "Next,")},
    "answer": {"*": ("(Good question|Let me think|Hmm, let me see|Great question)(.|!)", "Well,",
                     "(For me|Honestly|Personally|Frankly),", "(Okay|Sure|Right)(,|.)")},
    # Leads that share a clause with a complaint: no word VADER reads as praise ("Yes", "clear", "well").
    "answer.neutral": {"*": ("(Good question|Let me think|Hmm, let me see|Great question)(.|!)",
                             "(For me|Personally|Frankly),", "(Right|Hmm),")},
    "clarify": {"*": ("(To be clear|Just to be clear|Let me be clear|To put it plainly|To be precise),",
                      "(Yes|Yeah|Right|Definitely|Absolutely),", "(As I said|As I mentioned)[ (earlier|before)],",
                      "(Honestly|Really|Truly),", "(Good question|Fair question). ")},
    "clarify.neutral": {"*": ("(To put it plainly|To be precise|Frankly),", "(Right|Exactly),",
                              "(As I said|As I mentioned)[ (earlier|before)],", "(Good question|Fair question). ")},
    "decline.reason.negative": {
        "*": ("{who} (complain about|are unhappy with|criticize|are disappointed by) its {name}",
              "reviews say its {name} is (poor|weak|disappointing|subpar|lacking)",
              "(other |)(buyers|owners|people) are (unhappy|disappointed|not happy) with its {name}",
              "its {name} (gets|draws) (complaints|bad reviews|criticism) from {who}"),
    },
    "decline.reason.worse": {
        "*": ("reviews say its {name} has been getting worse lately",
              "(buyers|owners|reviewers) say its {name} has slipped (recently|lately|of late)",
              "its {name} (has been|is) (declining|getting worse|going downhill) in (recent|the latest|newer) reviews"),
    },
    "decline": {
        "*": (
            "(Thanks, but|Hmm,|Sorry,|Hmm, thanks, but) (I will|I'll) pass on the {title}: {reason}, and {name} "
            "(matters to me|is important to me|counts for me).",
            "(Hmm, no|No, thanks|Nah), not that one; {reason}, and I care about {name}.",
            "I do not think the {title} is for me. {Reason}, and {name} is (important|vital|key) to me.",
            "(I'd rather not|I would rather skip|I'd rather avoid) the {title}[, thanks]. {Reason}, (and|while) {name} "
            "(matters|counts) a lot to me.",
            "(Not for me, I think|That one is not for me|That is not for me). {Reason}[, and (you know|remember) {name} "
            "matters to me].",
            "(You know|As I said), {name} matters to me, and {reason}, so (I'll pass|I'll skip it).",
            "(I'll pass|I'll skip that one)[, thanks]. {Reason}.",
        ),
        "terse": ("No, thanks: {reason}.", "(I'll pass|Not that one); {reason}."),
    },
    "critique.like": {
        "*": (
            "I (really |)want {good} {name}, and I('m| am) not (convinced|sure) the {title} has it.",
            "{Good} {name} matters to me too, and I doubt (that one|the {title}) (delivers|offers) it.",
            "(What I (really |)need is|I'm after) {good} {name}; could you find something (stronger|better) there than "
            "the {title}?",
            "The {title} (seems|looks) (short|behind) on {name}, and I want {good} {name}.",
        ),
    },
    "critique.dislike": {
        "*": (
            "I('m| am) worried about the {name} of the {title}; {bad} {name} has (annoyed|frustrated|burned) me before.",
            "{Bad} {name} is a problem for me, and I fear (that one|the {title}) has it.",
            "(My worry|The trouble|My concern) with the {title} is its {name}; I hate {bad} {name}.",
            "I suspect the {title} has {bad} {name}, which (annoys|bothers) me.",
        ),
    },
    "consider": {
        "*": (
            "(That|It|This) (sounds|looks|seems) (promising|interesting|worth a look|like a real option|appealing|"
            "tempting)[, (actually|indeed|I admit)].",
            "(Okay|Alright|Hmm|Oh), the {title} (could work|might be it|is a candidate|is worth considering).",
            "(Interesting|Nice|Oh|Ooh), I('ll| will) (consider|think about|look into) the {title}.",
            "I like the sound of (the {title}|that|it)[ so far].",
            "(The|That) {title} (has|had) not (been|come) on my radar[ before], but it (sounds|looks) (promising|interesting).",
            "(Hmm|Well), (maybe|perhaps) the {title} (is|could be) (the one|a fit|right).",
        ),
    },
    "consider.why": {
        "*": ("(What you said about|The point about|The news about) its {just} (is|sounds) (reassuring|encouraging|"
              "appealing|welcome).",
              "(Good|Nice|Great) to hear about the {just}[, (since|as) that matters to me].",
              "The {just} (part|bit|detail) (is|sounds) (encouraging|reassuring|promising).",
              "(I'm glad|It's good) (to hear|that) the {just} (holds up|gets praise|does well)."),
    },
    "consider.wait": {
        "*": ("(Let me|I need to|I'd like to) (think (about it|it over)|mull it over|sleep on it for a moment|weigh it up).",
              "I('m| am) (thinking it over|weighing it up|turning it over)[ (for a second|now|a little)].",
              "(Give me a moment|One moment|Bear with me); I want to (think|weigh) it (through|over).",
              "I('ll| will) think it (over|through) before (I decide|deciding|I commit).",
              "(Not decided yet|I haven't decided yet), (though|but) (it's|it is) on my (list|shortlist)."),
        "terse": ("Thinking.", "Let me think.", "Maybe.", "Hmm, maybe."),
    },
    "inquire.lead": {
        "*": ("{Name} matters to me.", "I want to check one thing.", "(One|A) (question|thing) before I decide:",
              "(Since|As) {name} is important to me, (one|a) question:", "(Quick|One more) question:",
              "Before I decide, (tell me|let me ask) this:"),
    },
    "inquire": {
        "*": (
            "How is the {name} on the {title}?", "What do (buyers|owners|reviewers|people) say about its {name}?",
            "And (how about|what about) the {name} of the {title}?", "How do (reviewers|owners|buyers) rate its {name}?",
            "(Is|Would) the {name} of the {title} (any good|up to scratch|something I can count on|reliable)?",
            "What (is|are) (people|buyers|owners) saying about the {name}[ of the {title}]?",
            "(How does|How well does) the {title} do on {name}?", "(Any|What) feedback on its {name}?",
            "Is the {name} (a strength|a weak spot) of the {title}?",
        ),
        "terse": ("And its {name}?", "How is its {name}?", "{Name}?"),
    },
    "accept": {
        "*": (
            "(Great|Perfect|Alright|Okay|Lovely|Excellent|Brilliant|Right), I('ll| will) (take|buy|go with|order|get) "
            "the {title}[ (then|today|now)].",
            "(Sounds good|That's the one|Sounds great|Looks good)[, thanks]. I('ll| will) (take|go with|order|get) the {title}.",
            "(Yes|Right|Yes, please), I('ll| will) (buy|take|get|order) (it|the {title})[ (then|now|today)].",
            "I('ll| will) go with the {title}[, (thanks|thank you|I think)].",
            "Let's go with the {title}[ (then|please)].",
            "(You|That) (convinced|persuaded) me: I('ll| will) (take|buy|get) the {title}.",
            "(Okay|Fine|Alright), (sold|deal). I('ll| will) take (it|the {title}).",
        ),
        "terse": ("I'll take it.", "(Okay|Fine), I'll take the {title}.", "Sold, I'll take it."),
    },
    "accept.why": {
        "*": ("(The|Its) {name} (convinced me|won me over|tipped it|sold me).",
              "(The|Its) {name} (sealed it|made up my mind)[ for me].",
              "(In the end|Really|Honestly), (it was|it's) the {name} that (decided it|won me over|tipped the balance).",
              "(What you said about|The reviews of) its {name} (convinced me|won me over|did it)."),
    },
    "farewell": {
        "*": (f"{THANKS}[ for (your help|the help|everything|your time)](!|.) (Bye|Goodbye|Bye for now)!",
              f"{THANKS}, (goodbye|bye)!", f"{THANKS}, have a (nice|good|great|lovely) (day|afternoon|evening). Bye.",
              "(Great|Perfect|Lovely), thanks[ for the help]! (Bye|See you|Take care).",
              "Thank you, that (was|is) (helpful|a big help|very useful). Goodbye!",
              "(That's all|That is everything)[ I need], thanks. Bye!"),
        "terse": ("Thanks. Bye.", "Thanks!", "Bye, thanks."),
    },
}

