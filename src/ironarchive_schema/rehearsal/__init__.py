"""What a migration does to a database when it runs: the locks each statement takes and
holds (:mod:`.locks`)."""
