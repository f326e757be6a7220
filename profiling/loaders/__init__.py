"""Streaming loaders for the real datasets: Yelp, Amazon 2018 and 2023, MobileRec, generic, clothing.

Every loader reads plain or gzip files (recognised by content) line by line, maps records to a
:class:`~profiling.corpus.Corpus` and returns a :class:`LoadResult` with a :class:`LoadReport`.

Bad input (``on_error``):

* ``"raise"`` (default): the first bad record raises :class:`~profiling.errors.DataError` naming
  file, line, field and kind (``malformed``, ``encoding``, ``missing_field``, ``bad_type``,
  ``out_of_range``, ``bad_date``, ``empty_text``);
* ``"skip"``: bad records are dropped and counted per kind in ``report.skipped``, with the first
  message of each kind in ``report.examples``.

Always, whatever the policy: a file that is not the expected format raises
:class:`~profiling.errors.WrongFormatError` on its first lines, naming the expected format; an
unreadable stream (truncated gzip) raises DataError kind ``corrupt_file``; duplicate reviews (same
user, item and text) are dropped and counted in ``report.duplicates``, never raised, because real
dumps repeat reviews verbatim.

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
