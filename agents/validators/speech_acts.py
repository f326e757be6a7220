"""Speech acts in a turn: questions, offers, acceptance, refusal, farewell, greeting, and slips out of role.

Read as a reader would: a question may end without a question mark ("Anything else you'd like me to
keep in mind", "Curious whether it runs small") or sit after a colon; an acceptance may never say
"take" ("the Everly P20 it is", "put me down for it", "I'm getting them"); a refusal may be a bare
"Hmm, no." or "Nope"; a goodbye may be "Cheers!", "Safe travels" or "Happy running!".
"""

from __future__ import annotations

import re

from agents.validators.sentiment import sentences

__all__ = ["accepts", "declines", "farewell", "greets", "is_question", "recommends", "role_slips"]

# A question opens a clause with one of these (after a colon, a dash or a comma, too).
_QUESTION_START = re.compile(
    r"^(?:what|which|how|why|when|where|who|do|does|did|are|is|would|could|can|should|have|has|will|shall|"
    r"any|anything|tell me|let me know|please (?:tell|share|describe)|walk me through|share|describe)\b",
    re.I)
# An indirect question anywhere: "I'm curious about", "I wonder", "I'd love to know".
_INDIRECT = re.compile(
    r"\b(?:curious (?:about|whether|if|how|what|to)|i (?:was )?wonder(?:ing)?|"
    r"wondering (?:about|whether|if|how|what)|i'?d (?:love|like) to (?:know|hear)|"
    r"want(?:ed)? to (?:know|check)|any (?:thoughts|idea)s?)\b", re.I)
_QUESTION_PARTS = re.compile(r"[:;,—–]|\s-\s")


def is_question(text: str) -> bool:
    """Whether the text asks something: a question mark, a clause opening like a question, an indirect one."""
    if "?" in text or _INDIRECT.search(text):
        return True
    for s in sentences(text):
        if any(_QUESTION_START.match(p.strip(" *-•")) for p in _QUESTION_PARTS.split(s)):
            return True
    return False


_OFFER = re.compile(
    r"\b(?:i(?:'d| would)? (?:recommend|suggest)|i recommend|my (?:top )?(?:pick|recommendation|suggestion)|"
    r"how about|what about|you (?:might|may|could|should) (?:like|love|enjoy|try|consider|go with|check out)|"
    r"(?:consider|try|check out) the|one option is|(?:a|my|the) (?:good|great|solid) (?:option|choice|fit) "
    r"(?:is|would be)|(?:fits|suits) you (?:well|best)|i think the .{1,60} (?:fits|suits|works))\b", re.I)


def recommends(text: str) -> bool:
    """Whether the text proposes an item in so many words ("I recommend", "how about the", ...)."""
    return bool(_OFFER.search(text))


_ACCEPT = re.compile(
    r"\b(?:i(?:'ll| will| would like to|'d like to)? (?:take|buy|get|go with|order|choose|pick)|"
    r"(?:sounds|looks) (?:good|great|perfect)|that(?:'s| is) (?:the one|perfect|great)|deal|sold|"
    r"i(?:'m| am) (?:convinced|sold|happy with)|let'?s (?:go with|do (?:it|this|that|the))|"
    r"yes,? (?:please|i will|i'll)|"
    r"i(?:'m| am) (?:going to|gonna) (?:take|buy|get|go (?:with|for)|order)|i(?:'m| am) getting|"
    r"i(?:'m| am) going (?:with|for)|"
    r"(?:put|sign) me down for|count me in|go(?:ing)? for it|convinced me|works for me|"
    r"i(?:'ll| will) give (?:it|them|the .{1,60}) a (?:try|go|shot)|"
    r"add(?:ing)? (?:it|them|the .{1,60}) to (?:my )?(?:cart|basket|order)|decision made)\b|"
    r"\b(?:it|that|this|them|those|the .{1,60}) it is\b|\bi(?:'m| am) in[.!]", re.I)
_DECLINE = re.compile(
    r"\b(?:no,? thanks|no thank you|i(?:'ll| will) (?:pass|skip)|pass on|not (?:for me|that one|interested|"
    r"convinced|sold|my thing|really my thing)|"
    r"i (?:do not|don't) (?:think|want|like)|i(?:'d| would) rather not|not really|i(?:'m| am) not sure about|"
    r"doesn't (?:work|suit)|does not (?:work|suit)|skip|avoid|rather not|(?:is|are)n't for me|(?:is|are) not "
    r"for me|say no|but no\b|nope|nah)|"
    r"(?:^|[.!?]\s*|\b(?:hmm+|um+|uh|oh|well|sorry),?\s*)no\b\s*(?:[,.!—–-]|$)|"
    r"(?:^|[.!?]\s*)pass[.!]", re.I)


def declines(text: str) -> bool:
    """Whether the text turns an offer down ("I'll pass", "not for me", "Hmm, no.", "Nope")."""
    return bool(_DECLINE.search(text))


def accepts(text: str) -> bool:
    """Whether the text accepts an offer ("I'll take it", "the Everly P20 it is") and declines nothing."""
    return bool(_ACCEPT.search(text)) and not declines(text)


_FAREWELL = re.compile(
    r"\b(?:bye|goodbye|good bye|farewell|take care|see (?:you|ya)|thanks?|thank you|thx|ty|cheers|enjoy|"
    r"appreciated?|good ?night|safe (?:travels|trip|cycling|flight|journey)|good luck|have fun|"
    r"have (?:a|an) (?:\w+ ){0,2}(?:day|one|trip|run|evening|night|weekend|flight|time|morning)|"
    r"happy \w+ing|you too|all the best|take it easy|talk soon|later)\b|👋", re.I)
_GREET = re.compile(r"\b(?:hi|hello|hey|welcome|good (?:morning|afternoon|evening)|greetings)\b|"
                    r"\bhow can i help\b|\bwhat (?:are you|can i help you)\b", re.I)


def farewell(text: str) -> bool:
    """Whether the text thanks, wishes well or says goodbye."""
    return bool(_FAREWELL.search(text))


def greets(text: str) -> bool:
    """Whether the text greets or opens with an offer of help."""
    return bool(_GREET.search(text))


# A role prefix opens a line, or a sentence ("... wishlist? User: build quality.").
_ROLE_PREFIX = re.compile(
    r"(?:^|(?<=[.!?])\s+)\s*\**\s*(?:system|assistant|user|customer|shopper|seller|agent|bot|ai)\s*\**\s*:",
    re.I | re.M)
_ASSISTANT_VOICE = re.compile(
    r"\b(?:as an? (?:ai|language model|assistant)|i(?:'m| am) an? (?:ai|assistant|language model|chatbot)|"
    r"how (?:can|may) i (?:help|assist) you|what can i help you (?:with|find)|i(?:'d| would) recommend|"
    r"i recommend|i suggest|let me (?:find|search|look up)(?: for)? (?:some|options|items) (?:\w+ )?for you|"
    r"here are (?:some|a few) (?:options|recommendations))\b", re.I)
# "I'll take it" is the shopper's; "I'll take that into account" is anyone's.
_USER_VOICE = re.compile(
    r"\b(?:i(?:'m| am) (?:looking|shopping) for (?:a|an|some|new)\b|"
    r"i(?:'ll| will) (?:take|buy) (?:it|the)\b"
    r"(?!.{0,40}\b(?:into (?:account|consideration)|note|a look|off))|"
    r"can you (?:recommend|suggest) (?:me )?(?:a|an|some|something))\b", re.I)

# Prompt markup: chat-template role tokens, Llama-2 tags, our quote tags (raw or escaped) and directive
# markers. Review text quoted into a prompt can carry them, and an agent that repeats review words (the
# scripted user's paraphrased evidence does) would put them in the dataset and, unquoted, in the other
# agent's transcript: no shopper or assistant writes them.
_MARKUP = re.compile(r"<\|[\w-]{1,30}\|>|\[/?INST\]|<</?SYS>>|(?:<|&lt;)/?quote(?:>|&gt;)|<<<|>>>|"
                     r"CONVREC-DIRECTIVE", re.I)


def role_slips(text: str, speaker: str) -> list[str]:
    """Why the text does not read as ``speaker``'s own message (empty list when it does)."""
    found: list[str] = []
    if not text.strip():
        return ["the reply is empty"]
    m = _ROLE_PREFIX.search(text)
    if m:
        found.append(f"it carries a role prefix {m.group(0).strip()!r}")
    m = _MARKUP.search(text)
    if m:
        found.append(f"it contains prompt markup ({m.group(0)!r})")
    voice = _ASSISTANT_VOICE if speaker == "user" else _USER_VOICE
    m = voice.search(text)
    if m:
        other = "the assistant" if speaker == "user" else "the shopper"
        found.append(f"it speaks as {other} ({m.group(0)!r})")
    return found
