"""Drug database: the official BDPM files (ANSM) imported, searched and shown; the ANSM thesaurus
of drug interactions.

- ``bdpm/``: reading the BDPM files (``files``: discovery, encodings, lines; ``rows``: one parser
  per file) and storing them (``store``);
- ``services``: the only code that changes state (``do_*`` imports, audited);
- ``search`` and ``search_index``: the in-process search index (see docs/decisions);
- ``interactions``: the thesaurus import and ``interactions_for(products)``;
- ``views``, ``views_imports``, ``api``: thin entry points.

The data is public reference data, not health data: any signed-in user may read it; only the
platform operator (an active superuser) may import it.
"""
