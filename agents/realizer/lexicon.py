"""Word pools the phrase banks share, as grammar alternations (``(a|b|c)``), and their rules.

A template draws a whole pool where one word stands, so one template gives hundreds of sentences and
the words around an aspect or an item vary from turn to turn. The sentiment pools hold only words
whose VADER valence has the pool's sign or none (the validators read stances with VADER, masking
aspect words): ``GOOD`` never reads as a complaint, ``BAD`` never as praise. Words VADER lacks
("top-notch", "subpar") read as neutral, which no stance check refuses.
"""

from __future__ import annotations

__all__ = ["AMPLY", "BAD", "BAD_VERB", "GOOD", "GOOD_VERB", "HAPPY", "MATTERS", "NEEDED", "SOFT", "THANKS",
           "UPSET", "alternation"]


def alternation(*words: str) -> str:
    """The words as one grammar alternation."""
    return "(" + "|".join(words) + ")"


GOOD = alternation("great", "excellent", "superb", "fantastic", "wonderful", "amazing", "outstanding",
                   "terrific", "brilliant", "lovely", "perfect", "impressive", "really good", "very good",
                   "top-notch", "first-rate", "splendid", "marvelous", "superior", "remarkable", "awesome",
                   "flawless")
# Only words VADER reads as negative: a complaint must read as one whatever surrounds it.
BAD = alternation("poor", "bad", "weak", "terrible", "awful", "lousy", "horrible", "disappointing",
                  "dreadful", "inferior", "pathetic", "useless", "crappy", "miserable", "nasty", "unpleasant",
                  "horrid")
# Verb phrases of a shopper bothered by something ("... really annoys me").
UPSET = alternation("really annoys me", "drives me crazy", "irritates me", "frustrates me",
                    "bothers me a lot", "is a pain", "ruins it for me", "is maddening", "is infuriating",
                    "ruins everything", "makes me miserable", "is my biggest frustration",
                    "is my main complaint", "disappoints me", "is a real disappointment", "is my pet hate")
# Verb phrases of a shopper pleased by something ("... makes me happy").
HAPPY = alternation("makes me happy", "makes all the difference", "wins me over", "makes my day",
                    "is what I love", "keeps me happy", "pleases me a lot", "is a joy", "makes it worth it",
                    "is what I enjoy most", "puts a smile on my face", "delights me")
MATTERS = alternation("matters a lot to me", "matters most to me", "is what I care about most",
                      "is high on my list", "is a top priority for me", "counts a lot for me",
                      "is key for me", "is at the top of my list", "is my first concern",
                      "comes first for me", "weighs heavily for me", "is near the top of my list")
NEEDED = alternation("a must", "essential", "non-negotiable", "the main thing", "crucial", "vital",
                     "a requirement", "what I need", "indispensable", "the priority", "a top priority")
AMPLY = alternation("really ", "truly ", "genuinely ", "honestly ", "")
SOFT = alternation("I think", "I guess", "probably", "to be honest", "honestly")
GOOD_VERB = alternation("praise", "like", "speak highly of", "are happy with", "love", "appreciate",
                        "are pleased with", "are impressed by", "enjoy", "are satisfied with", "compliment",
                        "rave about", "applaud", "admire")
BAD_VERB = alternation("complain about", "are unhappy with", "criticize", "are disappointed by",
                       "are frustrated by", "grumble about", "are annoyed by", "dislike", "are let down by",
                       "gripe about", "find fault with", "are critical of")
THANKS = alternation("Thanks", "Thank you", "Many thanks", "Thanks a lot", "Thanks so much",
                     "Thank you so much", "Thanks a bunch", "Thank you kindly", "Thanks a million")
