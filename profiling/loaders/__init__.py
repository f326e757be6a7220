"""Streaming loaders for the real datasets: Yelp, Amazon 2018 and 2023, MobileRec, generic, clothing.

Every loader reads plain or gzip files (recognised by content) line by line, maps records to a
:class:`~profiling.corpus.Corpus` and returns a :class:`LoadResult` with a :class:`LoadReport`.

Bad input (``on_error``):

* ``"raise"`` (default): the first bad record raises :class:`~profiling.errors.DataError` naming
  file, line, field and kind (``malformed``, ``encoding``, ``missing_field``, ``bad_type``,
  ``out_of_range``, ``bad_date``, and ``empty_text`` from the generic loader, whose text is required);
* ``"skip"``: bad records are dropped and counted per kind in ``report.skipped``, with the first
  message of each kind in ``report.examples``.

A bad record is one that lacks what an interaction needs (user, item, rating, time) or is damaged.
Fields that real upstream files leave out, empty or null are not faults: a review with a rating and
no text is an interaction, kept with ``""`` as its text (stage 1 finds no sentence in it) and counted
in ``report.notes["no_text"]``; other optional fields get defaults. Each loader's docstring lists
what it requires.

Always, whatever the policy: a file that is not the expected format raises
:class:`~profiling.errors.WrongFormatError` on its first lines, naming the expected format; an
unreadable stream (truncated gzip) raises DataError kind ``corrupt_file``; duplicate reviews (same
user, item and text; without text, same user, item and time) are dropped and counted in
``report.duplicates``, never raised, because real dumps repeat reviews verbatim.

Metadata is read after the reviews and only for the items they mention. ``python -m profiling.loaders``
loads one file and prints its report and corpus statistics.
"""

from profiling.loaders.amazon2018 import load_amazon2018
from profiling.loaders.amazon2023 import load_amazon2023
from profiling.loaders.clothing import ReviewSet, load_clothing_reviews
from profiling.loaders.generic import GenericConfig, load_generic
from profiling.loaders.mobilerec import load_mobilerec
from profiling.loaders.report import LoadReport, LoadResult
from profiling.loaders.yelp import load_yelp

__all__ = [
    "GenericConfig",
    "LoadReport",
    "LoadResult",
    "ReviewSet",
    "load_amazon2018",
    "load_amazon2023",
    "load_clothing_reviews",
    "load_generic",
    "load_mobilerec",
    "load_yelp",
]
