"""Phrase banks of the sample world: aspects with their words, sentence templates, catalog vocabulary.

Every clause here is written so that a sentence made from it never contains ". ", "! " or "? "
inside it (no abbreviations, no inner sentence ends): the sample world's joining rule depends on it
(see :mod:`profiling.sample_world`). Phrasings of one aspect share its topic words on purpose, so a
sentence encoder can group them, while templates, hedges and negations vary the rest.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

__all__ = ["ASPECT_BANK", "BRANDS", "CATEGORY_INFO", "COLORS", "GENERIC_NEG", "GENERIC_POS", "HEDGED_NEG",
           "HEDGED_POS", "NEGATED_NEG", "NEGATED_POS", "NEG_EMOJI", "OCCASIONS", "OFF_TOPIC", "PAIR_MIXED",
           "PAIR_NEG", "PAIR_POS", "PLAIN_NEG", "PLAIN_POS", "POS_EMOJI", "RELATIVES", "TITLES",
           "AspectLexicon", "CategoryInfo", "Sentence", "SentenceWriter"]


@dataclass(frozen=True, slots=True)
class AspectLexicon:
    """An aspect's words: singular noun phrases, adjectives and full clauses for each polarity."""

    key: str
    name: str
    categories: tuple[str, ...]  # () = applies to every category
    nouns: tuple[str, ...]
    pos_adj: tuple[str, ...]
    neg_adj: tuple[str, ...]
    pos_clauses: tuple[str, ...]
    neg_clauses: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CategoryInfo:
    """How a category appears in Amazon metadata, and the words reviews use for it."""

    main_category: str
    path: tuple[str, ...]  # general -> specific, as the metadata ``categories`` field
    products: tuple[str, ...]
    noun: str
    usage: tuple[str, ...]
    price_range: tuple[float, float]
    features: tuple[str, ...]


GENERIC_POS = ("great", "excellent", "fantastic", "solid", "impressive", "outstanding", "superb", "top-notch")
GENERIC_NEG = ("terrible", "poor", "disappointing", "awful", "mediocre", "weak", "subpar", "lousy")

# Ordered by priority: a world with n aspects uses the first n that apply to its categories, and the
# order keeps the aspects that apply everywhere few (they are mentioned in every category and would
# swamp the rest) and gives every default category at least three aspects from n = 16 on.
ASPECT_BANK: tuple[AspectLexicon, ...] = (
    AspectLexicon(
        "price", "price and value", (),
        ("the price", "the value for money", "the price tag", "the cost"),
        ("fair", "reasonable", "unbeatable", "affordable"),
        ("steep", "outrageous", "excessive", "inflated"),
        ("it was worth every penny", "you get a lot for the money", "the price is hard to beat",
         "it costs half of what the big brands charge", "it is a real bargain for the price"),
        ("it is way overpriced for what you get", "the price is far too high for this",
         "it is not worth the money", "I paid too much for it", "cheaper ones do the same for less money"),
    ),
    AspectLexicon(
        "durability", "durability", ("headphones", "laptops", "coffee makers", "running shoes", "backpacks"),
        ("the durability", "the build quality", "the longevity", "the construction"),
        ("sturdy", "rock solid", "robust", "tough"),
        ("flimsy", "fragile", "cheaply made", "shoddy"),
        ("it still looks new after a year of daily use", "it has held up perfectly so far",
         "it survived a few drops without a scratch", "it feels built to last for years",
         "nothing has worn out or broken yet"),
        ("it broke after just two months", "it started falling apart within weeks",
         "a seam split after a few uses", "it cracked the first time I dropped it",
         "it wore out much faster than it should"),
    ),
    AspectLexicon(
        "sound", "sound quality", ("headphones",),
        ("the sound quality", "the sound", "the bass", "the audio"),
        ("crisp", "rich", "balanced", "clear"),
        ("muddy", "tinny", "flat", "distorted"),
        ("the bass hits deep without drowning the vocals", "music sounds rich and detailed",
         "the audio is clear even at high volume", "I hear details in songs I never noticed",
         "the sound stage feels wide and natural"),
        ("the bass is boomy and drowns everything", "music sounds thin and tinny",
         "the audio crackles at high volume", "the sound is muffled like a cheap radio",
         "vocals sound distant and muddy"),
    ),
    AspectLexicon(
        "battery", "battery life", ("headphones", "laptops"),
        ("the battery life", "the battery", "the battery runtime", "the charge life"),
        ("long-lasting", "amazing", "all-day", "excellent"),
        ("short", "pathetic", "unreliable", "feeble"),
        ("the battery easily lasts a full day", "I only charge it twice a week",
         "one charge lasts through a long flight", "the battery barely drops overnight",
         "it charges fast and runs for hours"),
        ("the battery dies before lunch", "I have to charge it constantly",
         "the battery drains even when switched off", "it runs out of charge after two hours",
         "the battery lost half its capacity in a month"),
    ),
    AspectLexicon(
        "screen", "screen and display", ("laptops",),
        ("the screen", "the display", "the screen brightness", "the display panel"),
        ("bright", "sharp", "vivid", "gorgeous"),
        ("dim", "washed out", "grainy", "blurry"),
        ("the display is bright enough to use outdoors", "colors on the screen look vivid and accurate",
         "text on the display is razor sharp", "the screen has great viewing angles",
         "movies look gorgeous on this display"),
        ("the screen is too dim to use near a window", "colors on the display look washed out",
         "the display has annoying backlight bleed", "text on the screen looks fuzzy",
         "the screen flickers at low brightness"),
    ),
    AspectLexicon(
        "performance", "speed and performance", ("laptops",),
        ("the performance", "the speed", "the processor speed", "the responsiveness"),
        ("snappy", "blazing fast", "smooth", "quick"),
        ("sluggish", "laggy", "painfully slow", "choppy"),
        ("apps open instantly and multitasking is smooth", "it boots in seconds",
         "it handles video editing without breaking a sweat", "dozens of browser tabs never slow it down",
         "the processor keeps up with everything I throw at it"),
        ("it lags with just a few browser tabs open", "apps take forever to open",
         "it freezes whenever I run a video call", "the processor throttles and everything slows down",
         "it stutters even on simple tasks"),
    ),
    AspectLexicon(
        "taste", "coffee taste", ("coffee makers",),
        ("the coffee taste", "the flavor of the coffee", "the brew quality", "the coffee"),
        ("rich", "delicious", "smooth", "full-bodied"),
        ("bitter", "watery", "bland", "burnt-tasting"),
        ("the coffee comes out rich and smooth", "every cup tastes like it came from a cafe",
         "the brew is full-bodied and never bitter", "my morning coffee tastes better than ever",
         "the espresso has a lovely crema and deep flavor"),
        ("the coffee comes out bitter and burnt", "every cup tastes weak and watery",
         "the brew has a strange plastic aftertaste", "the coffee is lukewarm and bland",
         "the espresso tastes sour no matter the beans"),
    ),
    AspectLexicon(
        "cleaning", "ease of cleaning", ("coffee makers",),
        ("the cleaning", "the cleanup", "the descaling process", "the ease of cleaning"),
        ("effortless", "easy", "quick", "painless"),
        ("tiresome", "messy", "tedious", "awkward"),
        ("all the parts go straight in the dishwasher", "cleaning it takes less than a minute",
         "the carafe and filter basket rinse clean easily", "descaling is simple and quick",
         "the drip tray pops out for easy cleaning"),
        ("cleaning it is a real chore", "coffee grounds get stuck in every corner",
         "the carafe stains and is hard to scrub clean", "descaling takes forever and makes a mess",
         "the water tank cannot be removed for cleaning"),
    ),
    AspectLexicon(
        "fit", "fit and sizing", ("running shoes",),
        ("the fit", "the sizing", "the shoe size", "the toe box fit"),
        ("true to size", "perfect", "snug", "spot on"),
        ("too narrow", "too tight", "off", "inconsistent"),
        ("they fit true to size right out of the box", "the fit is snug without pinching my toes",
         "my usual size fits perfectly", "the heel fits securely with no slipping",
         "there is plenty of room in the toe box"),
        ("they run a full size small", "the fit is so narrow it pinches my toes",
         "my heel slips out with every step", "I had to return them twice to get the size right",
         "the toe box is cramped even in a bigger size"),
    ),
    AspectLexicon(
        "cushioning", "cushioning and support", ("running shoes",),
        ("the cushioning", "the arch support", "the midsole cushioning", "the support"),
        ("plush", "springy", "supportive", "responsive"),
        ("hard", "flat", "unsupportive", "stiff"),
        ("the cushioning absorbs every impact on long runs", "my knees feel fine even after ten miles",
         "the midsole feels springy and responsive", "the arch support is exactly what my feet needed",
         "running on pavement feels soft with these"),
        ("the cushioning flattened out after a few weeks", "my knees ache after every run in them",
         "the midsole feels like running on a board", "there is almost no arch support",
         "every impact goes straight to my heels"),
    ),
    AspectLexicon(
        "storage", "storage and compartments", ("backpacks",),
        ("the storage space", "the compartment layout", "the pocket layout", "the organization"),
        ("roomy", "spacious", "well organized", "clever"),
        ("cramped", "poorly organized", "tiny", "useless"),
        ("there is a pocket for everything", "my laptop, charger and lunch all fit with room to spare",
         "the compartments keep everything organized", "the main compartment is huge",
         "small pockets make it easy to find my keys"),
        ("barely anything fits in the main compartment", "the pockets are too small to be useful",
         "everything ends up jumbled at the bottom", "my laptop does not fit in the sleeve",
         "there are no small pockets for keys or a phone"),
    ),
    AspectLexicon(
        "hydration", "hydration and skin feel", ("skincare",),
        ("the hydration", "the moisturizing effect", "the skin feel", "the texture"),
        ("hydrating", "silky", "nourishing", "lightweight"),
        ("greasy", "drying", "sticky", "heavy"),
        ("my skin feels soft and hydrated all day", "it absorbs quickly without any greasy film",
         "the dry patches on my cheeks are gone", "it leaves my face smooth and plump",
         "a small amount keeps my skin moisturized until evening"),
        ("it leaves a greasy film on my face", "my skin feels tight and dry within an hour",
         "it sits on top of the skin and never absorbs", "the texture is sticky and heavy",
         "it made my dry patches even flakier"),
    ),
    AspectLexicon(
        "comfort", "comfort", ("headphones", "running shoes", "backpacks"),
        ("the comfort", "the padding", "the wearing comfort", "the comfort level"),
        ("comfy", "cozy", "soft", "pleasant"),
        ("uncomfortable", "painful", "scratchy", "unbearable"),
        ("I can wear it for hours without noticing", "the padding feels soft and pleasant",
         "it stays comfortable all day long", "nothing pinches or rubs even after hours",
         "it is so comfortable I forget I have it on"),
        ("it starts to hurt after twenty minutes", "the padding rubs and leaves sore spots",
         "it pinches so much that I need breaks", "wearing it all day is unbearable",
         "it digs into me and is just uncomfortable"),
    ),
    AspectLexicon(
        "scent", "scent and fragrance", ("skincare",),
        ("the scent", "the fragrance", "the smell", "the perfume note"),
        ("lovely", "subtle", "fresh", "delicate"),
        ("overpowering", "chemical", "sickly sweet", "unpleasant"),
        ("the scent is light and fresh", "it smells subtly of cucumber and fades quickly",
         "I love the delicate fragrance", "the smell is calming and not overpowering",
         "the fragrance reminds me of a spa"),
        ("the scent is overpowering and gave me a headache", "it smells like cheap chemicals",
         "the fragrance lingers way too long", "the smell is sickly sweet",
         "the perfume note is so strong my partner complained"),
    ),
    AspectLexicon(
        "waterproofing", "water resistance", ("backpacks", "running shoes"),
        ("the waterproofing", "the water resistance", "the rain protection", "the water repellency"),
        ("reliable", "watertight", "excellent", "effective"),
        ("useless", "leaky", "poor", "nonexistent"),
        ("everything stayed dry in a heavy downpour", "water beads right off the fabric",
         "I walked through puddles and stayed completely dry", "it kept the rain out on a wet hike",
         "the water resistance held up through a whole rainy week"),
        ("water soaked through in light rain", "everything inside got wet in a drizzle",
         "the fabric soaks up water like a sponge", "puddles leak right through the seams",
         "it claims to be water resistant but it is not"),
    ),
    AspectLexicon(
        "brew_speed", "brewing speed", ("coffee makers",),
        ("the brewing speed", "the heat-up time", "the brew time", "the brewing cycle"),
        ("quick", "speedy", "impressively fast", "efficient"),
        ("glacial", "painfully slow", "sluggish", "endless"),
        ("it brews a full pot in about five minutes", "the water heats up almost instantly",
         "my coffee is ready before I finish showering", "it is ready to brew seconds after switching on",
         "a full carafe is done before the toast pops"),
        ("it takes forever to heat up in the morning", "brewing a single cup takes ten minutes",
         "the brew cycle drags on and on", "I wait ages for the water to get hot",
         "it is so slow that I am late for work"),
    ),
    AspectLexicon(
        "irritation", "gentleness on skin", ("skincare",),
        ("the gentleness", "the formula", "the skin tolerance", "the mildness"),
        ("gentle", "soothing", "calming", "mild"),
        ("harsh", "irritating", "stinging", "aggressive"),
        ("it is gentle enough for my sensitive skin", "no redness or breakouts at all",
         "it soothes my skin after shaving", "even my eczema-prone skin tolerates it",
         "it calms the redness on my cheeks"),
        ("it made my skin red and itchy", "I broke out in a rash after two days",
         "it stings every time I apply it", "it caused little bumps all over my chin",
         "my sensitive skin burned after using it"),
    ),
    AspectLexicon(
        "keyboard", "keyboard and trackpad", ("laptops",),
        ("the keyboard", "the trackpad", "the typing experience", "the key travel"),
        ("tactile", "precise", "comfortable", "responsive"),
        ("mushy", "cramped", "unresponsive", "jumpy"),
        ("typing on the keyboard feels tactile and quiet", "the trackpad is smooth and precise",
         "the keys have just the right amount of travel", "I can type for hours on this keyboard",
         "the backlit keys are easy to read at night"),
        ("the keys feel mushy and shallow", "the trackpad registers random clicks",
         "half the keystrokes do not register", "the keyboard layout is cramped and awkward",
         "the trackpad cursor jumps around"),
    ),
    AspectLexicon(
        "shipping", "shipping and packaging", (),
        ("the shipping", "the delivery", "the packaging", "the shipping speed"),
        ("fast", "quick", "careful", "prompt"),
        ("slow", "sloppy", "late", "damaged"),
        ("it arrived two days early", "the delivery was fast and the box was well packed",
         "the package came wrapped carefully with no damage", "shipping was quicker than promised",
         "it was delivered right on time in perfect condition"),
        ("the package arrived a week late", "the box showed up crushed and torn",
         "the delivery got delayed three times", "it came in damaged packaging with parts loose",
         "shipping took almost a month"),
    ),
    AspectLexicon(
        "service", "customer service", (),
        ("the customer service", "the customer support", "the warranty service", "the seller support"),
        ("helpful", "responsive", "friendly", "excellent"),
        ("unhelpful", "rude", "unresponsive", "useless"),
        ("customer support replaced it without any hassle", "the seller answered my question within an hour",
         "the warranty claim was handled quickly", "support walked me through the setup patiently",
         "they refunded me right away when I asked"),
        ("customer support never answered my emails", "the seller refused to honor the warranty",
         "support kept me on hold for an hour", "getting a refund was a battle",
         "the support agent was rude and dismissive"),
    ),
    AspectLexicon(
        "design", "design and looks", (),
        ("the design", "the look", "the color", "the style"),
        ("sleek", "beautiful", "stylish", "elegant"),
        ("ugly", "dated", "tacky", "bland"),
        ("it looks sleek and modern", "the color is even prettier in person",
         "I get compliments on the design", "the minimalist style looks great on my desk",
         "it looks much more expensive than it is"),
        ("it looks cheap and dated", "the color is nothing like the photos", "the design is clunky and ugly",
         "the logo is huge and tacky", "it looks like a toy in person"),
    ),
)

# Single-aspect templates. Slots: {np} noun phrase, {pos}/{neg} adjective, {clause} a polarity clause.
PLAIN_POS = ("{np} is {pos}", "{np} is really {pos}", "really happy with {np}", "{clause}",
             "I love that {clause}", "I was impressed by how {pos} {np} is",
             "{np} is {pos} for sure", "{np} turned out {pos}")
HEDGED_POS = ("I guess {np} is {pos}", "{np} is kind of {pos}, I think", "I think {clause}",
              "{np} seems {pos} so far", "I'd say {np} is pretty {pos}", "sort of surprised that {clause}",
              "from what I can tell, {clause}")
NEGATED_POS = ("{np} is not {neg} at all", "{np} wasn't {neg} in the slightest",
               "I can't complain about {np}", "no issues with {np} whatsoever",
               "never had a problem with {np}", "{np} is far from {neg}")
PLAIN_NEG = ("{np} is {neg}", "{np} is really {neg}", "really disappointed with {np}", "{clause}",
             "I hate that {clause}", "sadly, {np} is {neg}", "why is {np} so {neg}?",
             "{np} turned out {neg}")
HEDGED_NEG = ("I guess {np} is a little {neg}", "{np} is kind of {neg}, to be honest",
              "maybe it's just me, but {clause}", "{np} seems somewhat {neg}", "I think {clause}",
              "not sure, but {np} feels {neg}")
NEGATED_NEG = ("{np} is not {pos} at all", "{np} wasn't {pos}", "I wouldn't call {np} {pos}",
               "can't say I'm happy with {np}", "{np} is not what I'd call {pos}",
               "{np} is far from {pos}")

# Two-aspect templates. Slots: {np1} {np2} {a1} {a2} (adjectives of each side's polarity), {g}
# (a generic adjective of the shared polarity), {c1} {c2} (clauses). ``negated`` marks the ones
# whose second half is a negation.
PAIR_POS = (("both {np1} and {np2} are {g}", False), ("{np1} is {a1} and {np2} is {a2} too", False),
            ("{c1}, and {c2}", False), ("{np1} is {a1}, and I can't complain about {np2} either", True))
PAIR_NEG = (("both {np1} and {np2} are {g}", False), ("{np1} is {a1} and {np2} is no better", False),
            ("{c1}, and on top of that {c2}", False), ("{np1} is {a1}, and {np2} isn't {p2} either", True))
# (pos, neg) order in the slots: {np1} is the positive side unless the template says otherwise.
PAIR_MIXED = (("{np1} is {a1}, but {np2} is {a2}", False), ("{c1}, but {c2}", False),
              ("{np1} is {a1}, although {np2} wasn't {p2}", True), ("{c1}, though sadly {c2}", False))

# Sentences about no aspect. Slots: {relative}, {occasion}, {noun} (the category noun), {usage}.
OFF_TOPIC = ("Bought this for my {relative}'s {occasion}.", "My {relative} recommended it to me.",
             "This replaced my old {noun}.", "I use it mostly {usage}.",
             "Will update this review in a few weeks.",
             "I did a lot of research before buying.", "Got it as a gift from my {relative}.",
             "Picked it up on a whim.", "This is my second {noun} this year.",
             "A friend at work has the same one.", "I have been using it {usage} for a while now.",
             "Ordered it after reading a bunch of reviews.", "First time writing a review here.")
RELATIVES = ("sister", "brother", "mom", "dad", "wife", "husband", "son", "daughter", "best friend",
             "roommate")
OCCASIONS = ("birthday", "graduation", "anniversary", "housewarming", "retirement party")

POS_EMOJI = ("😍", "👍", "🙂", "🔥")
NEG_EMOJI = ("😞", "👎", "🙁", "😡")

TITLES: dict[int, tuple[str, ...]] = {
    5: ("Love it", "Excellent {noun}", "Five stars", "Exactly what I needed", "Highly recommend"),
    4: ("Very good", "Solid {noun}", "Happy with it", "Pretty great", "Would buy again"),
    3: ("It's okay", "Mixed feelings", "Decent but not great", "Average {noun}", "Some pros, some cons"),
    2: ("Disappointed", "Not what I hoped", "Meh", "Expected more", "Would not buy again"),
    1: ("Avoid", "Returned it", "Terrible {noun}", "Do not buy", "Very disappointed"),
}

BRANDS = ("Aurelo", "Brisko", "Calder", "Dunmore", "Everly", "Fenwick", "Glenmark", "Halvard", "Iverly",
          "Kestrel", "Lumora", "Mistral", "Norden", "Orbis", "Pelham", "Quillon", "Rowanby", "Solace",
          "Tavish", "Vantor")
COLORS = ("Black", "White", "Navy", "Gray", "Olive", "Red", "Silver", "Rose")

CATEGORY_INFO: dict[str, CategoryInfo] = {
    "headphones": CategoryInfo(
        "All Electronics", ("Electronics", "Headphones, Earbuds & Accessories", "Headphones"),
        ("Wireless Over-Ear Headphones", "Noise Cancelling Headphones", "Bluetooth Earbuds",
         "Studio Headphones"),
        "pair of headphones", ("on my commute", "at the gym", "while working from home"), (25.0, 350.0),
        ("Bluetooth 5.3 with multipoint pairing", "{n}-hour playback", "{n} mm dynamic drivers",
         "Foldable design with carrying case")),
    "laptops": CategoryInfo(
        "Computers", ("Electronics", "Computers & Accessories", "Computers & Tablets", "Laptops"),
        ("14-inch Laptop", "Ultrabook", "2-in-1 Touchscreen Laptop", "15.6-inch Laptop"),
        "laptop", ("for work", "for school", "for photo editing"), (300.0, 2200.0),
        ("{n} GB RAM", "{n}-core processor", "Full HD IPS display", "Wi-Fi 6 and USB-C charging")),
    "coffee makers": CategoryInfo(
        "Amazon Home", ("Home & Kitchen", "Kitchen & Dining", "Coffee, Tea & Espresso", "Coffee Makers"),
        ("12-Cup Drip Coffee Maker", "Single Serve Coffee Maker", "Espresso Machine", "Pour-Over Brewer"),
        "coffee maker", ("in the mornings", "at the office", "on weekends"), (20.0, 600.0),
        ("Programmable {n}-hour timer", "Keep-warm plate", "{n}-cup glass carafe",
         "Reusable filter included")),
    "running shoes": CategoryInfo(
        "AMAZON FASHION", ("Clothing, Shoes & Jewelry", "Shoes", "Athletic", "Running Shoes"),
        ("Road Running Shoe", "Trail Running Shoe", "Lightweight Trainer", "Stability Running Shoe"),
        "pair of running shoes", ("for weekend runs", "on the treadmill", "for marathon training"),
        (45.0, 220.0),
        ("Breathable mesh upper", "{n} mm heel drop", "Rubber outsole", "Removable insole")),
    "backpacks": CategoryInfo(
        "Sports & Outdoors", ("Sports & Outdoors", "Outdoor Recreation", "Camping & Hiking", "Backpacks"),
        ("Travel Backpack", "Hiking Daypack", "Laptop Backpack", "Rolltop Commuter Pack"),
        "backpack", ("for hiking", "for my daily commute", "when I travel"), (20.0, 250.0),
        ("{n} L capacity", "Padded laptop sleeve", "Adjustable chest strap", "Side bottle pockets")),
    "skincare": CategoryInfo(
        "All Beauty", ("Beauty & Personal Care", "Skin Care", "Face", "Moisturizers"),
        ("Daily Face Moisturizer", "Hydrating Night Cream", "Gel Moisturizer", "Barrier Repair Cream"),
        "moisturizer", ("at night", "every morning", "after the gym"), (8.0, 90.0),
        ("{n} ml jar", "With hyaluronic acid", "Fragrance notes of cucumber", "Dermatologist tested")),
}


@dataclass(slots=True)
class Sentence:
    """A written sentence and what it says: aspect ids with polarities (+1/-1), and its style flags."""

    text: str
    aspects: list[int] = field(default_factory=list)
    polarity: list[int] = field(default_factory=list)
    hedged: bool = False
    negated: bool = False


class SentenceWriter:
    """Writes sentences about the aspects of a lexicon list (aspect id = position in ``lexicon``)."""

    def __init__(self, lexicon: list[AspectLexicon]) -> None:
        self.lex = lexicon

    def _adj(self, r: random.Random, lx: AspectLexicon, pol: int) -> str:
        own, generic = (lx.pos_adj, GENERIC_POS) if pol > 0 else (lx.neg_adj, GENERIC_NEG)
        # Mostly the aspect's own adjectives (they carry its topic); generic ones make it harder.
        return r.choice(own if r.random() < 0.8 else generic)

    def _slots(self, r: random.Random, a: int, pol: int) -> dict[str, str]:
        lx = self.lex[a]
        return {"np": r.choice(lx.nouns), "pos": self._adj(r, lx, 1), "neg": self._adj(r, lx, -1),
                "clause": r.choice(lx.pos_clauses if pol > 0 else lx.neg_clauses)}

    def single(self, r: random.Random, a: int, pol: int) -> Sentence:
        """A sentence about aspect ``a`` with polarity ``pol``: plain, hedged or negated."""
        style = r.random()
        hedged, negated = style < 0.18, 0.18 <= style < 0.38
        if pol > 0:
            bank = HEDGED_POS if hedged else NEGATED_POS if negated else PLAIN_POS
        else:
            bank = HEDGED_NEG if hedged else NEGATED_NEG if negated else PLAIN_NEG
        text = r.choice(bank).format(**self._slots(r, a, pol))
        return Sentence(self._finish(r, text, pol), [a], [pol], hedged, negated)

    def pair(self, r: random.Random, a1: int, p1: int, a2: int, p2: int) -> Sentence:
        """One sentence about two different aspects; a mixed one names the liked aspect first."""
        if p1 < 0 < p2:
            a1, p1, a2, p2 = a2, p2, a1, p1
        bank = PAIR_POS if p1 > 0 and p2 > 0 else PAIR_NEG if p1 < 0 and p2 < 0 else PAIR_MIXED
        template, negated = r.choice(bank)
        s1, s2 = self._slots(r, a1, p1), self._slots(r, a2, p2)
        text = template.format(
            np1=s1["np"], np2=s2["np"], a1=s1["pos" if p1 > 0 else "neg"], a2=s2["pos" if p2 > 0 else "neg"],
            p2=s2["pos"], c1=s1["clause"], c2=s2["clause"],
            g=r.choice(GENERIC_POS if p1 > 0 else GENERIC_NEG))
        return Sentence(self._finish(r, text, p1 if p1 == p2 else -1), [a1, a2], [p1, p2], False, negated)

    def off_topic(self, r: random.Random, category: str) -> Sentence:
        """A sentence about no aspect (gift, habits, purchase story)."""
        info = CATEGORY_INFO[category]
        text = r.choice(OFF_TOPIC).format(relative=r.choice(RELATIVES), occasion=r.choice(OCCASIONS),
                                          noun=info.noun, usage=r.choice(info.usage))
        return Sentence(text)

    @staticmethod
    def _finish(r: random.Random, text: str, pol: int) -> str:
        """Capitalise and end a sentence: '.', '!', '...' or an emoji, sometimes an emoji after the end."""
        text = text[0].upper() + text[1:]
        if text.endswith("?"):
            return text
        draw = r.random()
        emoji = r.choice(POS_EMOJI if pol > 0 else NEG_EMOJI)
        if draw < 0.02:
            return f"{text} {emoji}"
        # Praise gets more exclamation marks, complaints more trailing dots.
        bang, dots = (0.32, 0.36) if pol > 0 else (0.14, 0.26)
        end = "!" if draw < bang else "..." if draw < dots else "."
        if r.random() < 0.03:
            return f"{text}{end} {emoji}"
        return text + end
