"""Performance of the schema that the gate can check quickly: the plans of the archive's
queries on a small data set (the scale benchmark itself is ``make bench``)."""
