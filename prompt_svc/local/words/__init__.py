"""Word tables of the local analyser, one module per language (format: see `lexicon`)."""
